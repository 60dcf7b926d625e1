SUMMARY = "Firmware signing tool of the RTD1619B AMP system, for the SDK"
DESCRIPTION = "rtd-amp-sign-fw signs a remote-core firmware ELF with a \
               detached CMS signature (FIRMWARE.p7s: DER, RSA with SHA-256, \
               signed attributes), the format the rtd_amp_rproc kernel \
               driver verifies, checks a signature, and makes development \
               keys. In the SDK an application developer signs their own \
               firmware with it."
HOMEPAGE = "https://github.com/rtd-amp/meta-rtd1619b-amp"
BUGTRACKER = "https://github.com/rtd-amp/meta-rtd1619b-amp/issues"
SECTION = "devel"
LICENSE = "MIT | Apache-2.0"
LIC_FILES_CHKSUM = "file://${COMMON_LICENSE_DIR}/MIT;md5=0835ade698e0bcf8506ecda2f7b4f302 \
                    file://${COMMON_LICENSE_DIR}/Apache-2.0;md5=89aea4e17d99a7cacdbeed46a0096b10"

# The same script the layer's firmware recipe signs with.
RTD_AMP_SRC_PATHS = "scripts/rtd-amp-sign-fw"

S = "${RTD_AMP_SRCDIR}"

inherit rtd_amp_src
inherit_defer nativesdk

do_configure[noexec] = "1"
do_compile[noexec] = "1"

do_install() {
    install -d ${D}${bindir}
    install -m 0755 ${S}/scripts/rtd-amp-sign-fw ${D}${bindir}/rtd-amp-sign-fw
}

# It runs the SDK's openssl (its environment script sets OPENSSL_CONF).
RDEPENDS:${PN} = "nativesdk-openssl-bin"
