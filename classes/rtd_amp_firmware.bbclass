# Install remote-processor firmware ELF files under
# ${nonarch_base_libdir}/firmware/<dir>/: /lib/firmware/<dir>/, or
# /usr/lib/firmware/<dir>/ with the usrmerge DISTRO_FEATURE (there /lib is a
# link to /usr/lib, so the kernel's /lib/firmware search finds them either way).
#
# The files are built for a bare-metal core, not for the Linux userland, so
# the only QA test skipped is "arch" (machine type and ABI of the ELF);
# everything else (file ownership, license, packaging) still applies.
# Stripping is disabled because the symbols are what makes remoteproc
# coredumps and the firmware's crash records readable.
#
#   RTD_AMP_FIRMWARE_DIR    sub-directory of ${nonarch_base_libdir}/firmware
#   RTD_AMP_FIRMWARE_FILES  "built-path:installed-name" pairs, built-path
#                           relative to ${B}
# The recipe inherits rtd_amp_src and lists scripts/install-target in
# RTD_AMP_SRC_PATHS.

RTD_AMP_FIRMWARE_DIR ??= "rtd-amp"
RTD_AMP_FIRMWARE_FILES ??= ""
RTD_AMP_FIRMWARE_INSTALL_DIR = "${nonarch_base_libdir}/firmware/${RTD_AMP_FIRMWARE_DIR}"

# Firmware differs per board (memory map, GIC addresses, PSCI conduit).
PACKAGE_ARCH = "${MACHINE_ARCH}"

# Through the layer's shared install step (scripts/install-target, in
# RTD_AMP_SRC_PATHS), which the QEMU systemd twin uses as well.
rtd_amp_firmware_install() {
    files=
    for pair in ${RTD_AMP_FIRMWARE_FILES}; do
        files="$files ${B}/$pair"
    done
    sh ${RTD_AMP_INSTALL} firmware DESTDIR=${D} \
        firmwaredir=${nonarch_base_libdir}/firmware \
        FIRMWARE_SUBDIR=${RTD_AMP_FIRMWARE_DIR} FIRMWARE="$files"
}

FILES:${PN} += "${RTD_AMP_FIRMWARE_INSTALL_DIR}"
INHIBIT_PACKAGE_STRIP = "1"
INHIBIT_PACKAGE_DEBUG_SPLIT = "1"
INHIBIT_SYSROOT_STRIP = "1"
INSANE_SKIP:${PN} += "arch"
