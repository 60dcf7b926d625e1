SUMMARY = "Console image of the RTD1619B AMP system"
DESCRIPTION = "core-image with the AMP packagegroup and an SSH server. Its \
               SDK (bitbake -c populate_sdk / populate_sdk_ext) carries \
               librtdamp's headers and pkg-config file and a Rust toolchain \
               for aarch64-unknown-linux-gnu applications and \
               aarch64-unknown-none firmware, and the firmware signing \
               tool."
BUGTRACKER = "https://github.com/rtd-amp/meta-rtd1619b-amp/issues"
SECTION = "images"
LICENSE = "MIT"

inherit core-image features_check

REQUIRED_DISTRO_FEATURES = "rtd-amp"
# Needs the AMP overlays, firmware and drivers of these machines.
COMPATIBLE_MACHINE = "(stark|qemuarm64-rtd-amp)"

IMAGE_FEATURES += "ssh-server-dropbear"
IMAGE_INSTALL += "packagegroup-rtd-amp"

# Application developers: the C API (header, pkg-config, library) in the
# SDK's target sysroot; the Rust toolchain with the Linux and bare-metal
# AArch64 standard libraries, the firmware signing tool (rtd-amp-sign-fw),
# the firmware template and its runtime on the SDK host.
TOOLCHAIN_TARGET_TASK += "librtdamp rtd-amp-tools-dev"
TOOLCHAIN_HOST_TASK += "nativesdk-rust-bin-toolchain nativesdk-rtd-amp-sign-fw nativesdk-rtd-amp-fw-template"

# wic: the board layout (FIT yocto.itb with the overlay merged in, the
# overlays in overlays/, ext4 root) or the BSP's overlayfs layout; the QEMU
# twin's machine configuration picks its own.
WKS_FILE:stark = "${@bb.utils.contains('MACHINE_FEATURES', 'overlayfs-root', 'avengers-overlayfs.wks', 'rtd-amp-sdcard.wks', d)}"
IMAGE_BOOT_FILES:append:stark = " rtd-amp/rtd1619b-amp.dtbo;overlays/rtd1619b-amp.dtbo"
do_image_wic[depends] += "rtd-amp-overlays:do_deploy"
# Firmware before Linux (opt-in, RTD_AMP_UBOOT_START = "1"; docs/kernel.md
# "Boot flows"): the flat firmware image U-Boot loads, deployed by the
# U-Boot bbappend (u-boot-rtd-amp-start.inc).
IMAGE_BOOT_FILES:append:stark = " ${@'rtd-amp-fw.bin' if d.getVar('RTD_AMP_UBOOT_START') == '1' else ''}"
do_image_wic[depends] += "${@'virtual/bootloader:do_deploy' if d.getVar('RTD_AMP_UBOOT_START') == '1' else ''}"
