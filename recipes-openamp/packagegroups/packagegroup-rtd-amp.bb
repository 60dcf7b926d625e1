SUMMARY = "Everything a target needs to run the RTD1619B AMP system"
DESCRIPTION = "Kernel drivers, remote-core firmware, the supervisor daemon, \
               the CLI and the C library, plus the kernel's RPMsg modules \
               when they are built as modules."
HOMEPAGE = "https://github.com/rtd-amp/meta-rtd1619b-amp"
BUGTRACKER = "https://github.com/rtd-amp/meta-rtd1619b-amp/issues"
SECTION = "base"

# The firmware and the overlays differ per machine.
PACKAGE_ARCH = "${MACHINE_ARCH}"

inherit packagegroup features_check rtd_amp_fw_select

# The kernel configuration the drivers need comes with the feature.
REQUIRED_DISTRO_FEATURES = "rtd-amp"

# The default firmware (and the signing certificate), and the one the
# daemon starts (RTD_AMP_FIRMWARE, rtd_amp_fw_select.bbclass).
RDEPENDS:${PN} = "\
    ${RTD_AMP_FIRMWARE_PROVIDER} \
    librtdamp \
    rtd-amp-firmware \
    rtd-amp-modules \
    rtd-amp-tools-cli \
    rtd-amp-tools-daemon \
"
# Built in (=y) or as modules, depending on the kernel configuration.
RRECOMMENDS:${PN} = "\
    kernel-module-rpmsg-char \
    kernel-module-rpmsg-ctrl \
    kernel-module-rpmsg-ns \
    kernel-module-rpmsg-tty \
    kernel-module-virtio-rpmsg-bus \
    rtd-amp-overlays \
"
