SUMMARY = "Firmware project template and runtime of the RTD1619B AMP system, for the SDK"
DESCRIPTION = "The cargo-generate template of a firmware for the AMP remote \
               core (templates/rtd-amp-firmware) and the runtime it builds \
               on (rtd-amp-rt and its no_std crates), installed under \
               usr/share/rtd-amp of the SDK host; the environment script \
               points RTD_AMP_TEMPLATE and RTD_AMP_RT at them."
HOMEPAGE = "https://github.com/rtd-amp/meta-rtd1619b-amp"
BUGTRACKER = "https://github.com/rtd-amp/meta-rtd1619b-amp/issues"
SECTION = "devel"
LICENSE = "MIT | Apache-2.0"
LIC_FILES_CHKSUM = "file://${COMMON_LICENSE_DIR}/MIT;md5=0835ade698e0bcf8506ecda2f7b4f302 \
                    file://${COMMON_LICENSE_DIR}/Apache-2.0;md5=89aea4e17d99a7cacdbeed46a0096b10"

RTD_AMP_SRC_PATHS = "templates/rtd-amp-firmware"
SRC_URI += "file://rtd-amp-fw-template.sh"

S = "${RTD_AMP_SRCDIR}"

inherit rtd_amp_src rtd_amp_fw_runtime
inherit_defer nativesdk

do_configure[noexec] = "1"
do_compile[noexec] = "1"

# The same layout as in the layer, so the runtime's path dependencies
# (../../crates/...) and workspace manifests resolve.
do_install() {
    install -d ${D}${datadir}/rtd-amp
    for p in templates/rtd-amp-firmware ${RTD_AMP_FW_RUNTIME_PATHS}; do
        install -d ${D}${datadir}/rtd-amp/$(dirname $p)
        cp -R --no-preserve=ownership ${S}/$p ${D}${datadir}/rtd-amp/$p
    done
    install -d ${D}${SDKPATHNATIVE}/environment-setup.d
    install -m 0644 ${WORKDIR}/rtd-amp-fw-template.sh ${D}${SDKPATHNATIVE}/environment-setup.d/
}

FILES:${PN} += "${datadir}/rtd-amp ${SDKPATHNATIVE}/environment-setup.d"
