SUMMARY = "Out-of-tree kernel drivers of the RTD1619B AMP system"
DESCRIPTION = "rtd_amp_mbox: doorbell mailbox controller (SGI to the remote \
               core, SPI back to Linux). rtd_amp_rproc: remoteproc driver \
               that starts the firmware on a spare Cortex-A55 through PSCI \
               and stops it through a shared control page."
HOMEPAGE = "https://github.com/rtd-amp/meta-rtd1619b-amp"
BUGTRACKER = "https://github.com/rtd-amp/meta-rtd1619b-amp/issues"
SECTION = "kernel"
LICENSE = "GPL-2.0-only"
LIC_FILES_CHKSUM = "file://${COMMON_LICENSE_DIR}/GPL-2.0-only;md5=801f80980d171dd6425610833a22dbe6"

SRC_URI = "\
    file://Kbuild \
    file://Makefile \
    file://rtd_amp.h \
    file://rtd_amp_attach.c \
    file://rtd_amp_bulk.c \
    file://rtd_amp_ctrl.h \
    file://rtd_amp_dbg.c \
    file://rtd_amp_dbg.h \
    file://rtd_amp_fw_certs.sh \
    file://rtd_amp_mbox.c \
    file://rtd_amp_pm.c \
    file://rtd_amp_rproc.c \
    file://rtd_amp_selftest.c \
    file://rtd_amp_selftest.h \
"

S = "${WORKDIR}"

inherit module features_check rtd_amp_fw_sign

# CONFIG_REMOTEPROC, CONFIG_MAILBOX and the RPMsg options come from the
# kernel fragment that the rtd-amp DISTRO_FEATURE adds (recipes-kernel/linux).
REQUIRED_DISTRO_FEATURES = "rtd-amp"

# remoteproc_internal.h (rproc_elf_* prototypes) is not part of the exported
# kernel headers; take it from the kernel source tree of this build.
EXTRA_OEMAKE += "RPROC_INTERNAL_DIR=${STAGING_KERNEL_DIR}/drivers/remoteproc"

# The debug build only with the rtd-amp-debug DISTRO_FEATURE (docs/yocto.md,
# "Debug builds"): rtd_amp_rproc then has the doorbell round-trip file in
# debugfs (rtd_amp_dbg.c). Production images never carry that code.
EXTRA_OEMAKE += "${@bb.utils.contains('DISTRO_FEATURES', 'rtd-amp-debug', 'RTD_AMP_DEBUG=1', '', d)}"

# The firmware signing certificate (rtd_amp_fw_sign.bbclass: the one
# rtd-amp-firmware is signed with) built into rtd_amp_rproc, in DER as its
# Kbuild wants it; the driver then enforces signatures (sig_enforce).
RTD_AMP_FW_CERT_DER = "${B}/rtd-amp-fw-signing.der"
EXTRA_OEMAKE += "RTD_AMP_FW_CERTS=${RTD_AMP_FW_CERT_DER}"
do_compile[prefuncs] += "rtd_amp_modules_cert"
rtd_amp_modules_cert() {
    rtd_amp_fw_cert_der ${RTD_AMP_FW_CERT_DER}
}

# module.bbclass packages each module as kernel-module-rtd-amp-mbox and
# kernel-module-rtd-amp-rproc. Both bind through their DT compatibles, so
# udev loads them from the modalias; nothing needs autoloading by name.

# Arm64 system registers (ICC_SGI1R_EL1) and PSCI: AArch64 only.
COMPATIBLE_HOST = "aarch64.*-linux"
