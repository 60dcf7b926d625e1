SUMMARY = "Bare-metal Rust firmware for the AMP remote core (CPU3)"
DESCRIPTION = "no_std Rust firmware started by Linux remoteproc on the fourth \
               Cortex-A55: resource table, RPMsg device side (raw echo, tty, \
               control service), trace buffer and crash records. Built for \
               aarch64-unknown-none with meta-rust-bin's toolchain and \
               installed as rtd-amp/rtd-amp-fw.elf in the kernel's firmware \
               directory: /lib/firmware, or /usr/lib/firmware with the \
               usrmerge DISTRO_FEATURE (systemd), where /lib links to \
               /usr/lib."
HOMEPAGE = "https://github.com/rtd-amp/meta-rtd1619b-amp"
BUGTRACKER = "https://github.com/rtd-amp/meta-rtd1619b-amp/issues"
SECTION = "kernel"
LICENSE = "MIT | Apache-2.0"
LIC_FILES_CHKSUM = "file://${COMMON_LICENSE_DIR}/MIT;md5=0835ade698e0bcf8506ecda2f7b4f302 \
                    file://${COMMON_LICENSE_DIR}/Apache-2.0;md5=89aea4e17d99a7cacdbeed46a0096b10"

# crates.io packages of rust/firmware/Cargo.lock (crate://, generated).
require rtd-amp-firmware-crates.inc

# The firmware workspace (rtd_amp_fw_app.bbclass adds the runtime, the
# no_std crates it shares with the host and the install and signing steps).
RTD_AMP_SRC_PATHS = "\
    rust/firmware/Cargo.lock \
    rust/firmware/rtd-amp-fw \
    ?rust/firmware/.cargo \
"

S = "${RTD_AMP_SRCDIR}/rust/firmware"

# Board variant: memory window, GIC addresses, PSCI conduit, remote MPIDR.
# The QEMU twin's machine configuration sets "qemu-virt".
RTD_AMP_FW_BOARD ??= "rtd1619b"
# Production by default. The control protocol's FAULT command (crash
# injection for tests) is built in only with the rtd-amp-debug
# DISTRO_FEATURE (docs/yocto.md, "Debug builds"); without it the firmware
# answers FAULT "not supported".
RTD_AMP_FW_DEBUG_FEATURES = "${@bb.utils.contains('DISTRO_FEATURES', 'rtd-amp-debug', 'fault-injection', '', d)}"
RTD_AMP_FW_FEATURES ??= "board-${RTD_AMP_FW_BOARD} ${RTD_AMP_FW_DEBUG_FEATURES}"
# The application crate of the firmware workspace, which finds the runtime
# by path; installed as rtd-amp/rtd-amp-fw.elf.
RTD_AMP_FW_NAME = "rtd-amp-fw"
RTD_AMP_FW_BIN = "rtd-amp-fw"
RTD_AMP_FW_CARGO_ARGS = "-p rtd-amp-fw"
RTD_AMP_FW_PATCH_RUNTIME = "0"

inherit rtd_amp_fw_app

# With the rtd-amp DISTRO_FEATURE the firmware is signed
# (rtd_amp_fw_sign.bbclass): rtd-amp-fw.elf.p7s beside it, and the
# certificate the kernel driver carries installed for rtd-ampd and ampctl
# (/etc/rtd-amp/fw-signing.pem, their default trusted certificate).
do_install() {
    rtd_amp_fw_app_do_install
    if [ -n "${RTD_AMP_FW_SIGNING_CERT_FILE}" ]; then
        install -d ${D}${sysconfdir}/rtd-amp
        install -m 0644 ${RTD_AMP_FW_SIGNING_CERT_FILE} ${D}${sysconfdir}/rtd-amp/fw-signing.pem
    fi
}
do_install[vardepsexclude] += "RTD_AMP_FW_SIGNING_CERT_FILE"

FILES:${PN} += "${sysconfdir}/rtd-amp"
