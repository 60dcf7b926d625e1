# Build, sign and install a firmware for the AMP remote core (CPU3) made
# on the layer's runtime rtd-amp-rt: a Cargo project of your own, or the
# layer's default
# firmware. docs/yocto.md, "Your own firmware". The recipe of a project is
#
#   SUMMARY = "My CPU3 firmware"
#   LICENSE = "MIT"
#   LIC_FILES_CHKSUM = "file://LICENSE;md5=..."
#   SRC_URI = "git://git.example.com/my-fw.git;protocol=https;branch=main"
#   SRCREV = "..."
#   S = "${WORKDIR}/git"
#   require ${BPN}-crates.inc        # bitbake -c update_crates <recipe>
#   inherit rtd_amp_fw_app
#
# The class fetches the runtime (rtd-amp-rt and the no_std crates it
# uses) from the layer (rtd_amp_src), points the project's rtd-amp-rt
# dependency at it ([patch.crates-io] in cargo's configuration: the
# template depends on rtd-amp-rt 0.1 and patches it to a path), builds with
# meta-rust-bin's toolchain for aarch64-unknown-none offline
# (rtd_amp_rust_baremetal, crates from the crate:// list), installs
# rtd-amp/<RTD_AMP_FW_NAME>.elf in the kernel's firmware directory
# (rtd_amp_firmware) and signs it there (rtd_amp_fw_sign) with the key the
# image's driver trusts.
#
#   RTD_AMP_FW_NAME      installed as rtd-amp/${RTD_AMP_FW_NAME}.elf, and the
#                        name RTD_AMP_FIRMWARE selects (default ${BPN})
#   RTD_AMP_FW_BIN       the cargo binary (default ${BPN})
#   RTD_AMP_FW_BOARD     rtd1619b (default) or qemu-virt (the QEMU twin's
#                        machine configuration sets it)
#   RTD_AMP_FW_FEATURES  cargo features (default board-${RTD_AMP_FW_BOARD})
#   RTD_AMP_FW_CARGO_ARGS  more cargo arguments (default --bin ${RTD_AMP_FW_BIN})
#   RTD_AMP_FW_PATCH_RUNTIME  "1": patch rtd-amp-rt to the layer's copy
#                        (a project outside the layer); "0": the project
#                        finds the runtime by path (the layer's firmware)

RTD_AMP_FW_NAME ??= "${BPN}"
RTD_AMP_FW_BIN ??= "${BPN}"
RTD_AMP_FW_BOARD ??= "rtd1619b"
RTD_AMP_FW_FEATURES ??= "board-${RTD_AMP_FW_BOARD}"
RTD_AMP_FW_CARGO_ARGS ??= "--bin ${RTD_AMP_FW_BIN}"
RTD_AMP_FW_PATCH_RUNTIME ??= "1"

# The runtime (rtd_amp_fw_runtime), and the layer's install and signing
# steps.
RTD_AMP_SRC_PATHS:append = " scripts/install-target scripts/rtd-amp-sign-fw"

inherit rtd_amp_src rtd_amp_fw_runtime rtd_amp_rust_baremetal rtd_amp_firmware rtd_amp_fw_sign rtd_amp_fw_select cargo-update-recipe-crates

RTD_AMP_CARGO_LOCK ??= "${S}/Cargo.lock"
RUST_BAREMETAL_MANIFEST = "${S}/Cargo.toml"
RUST_BAREMETAL_CARGO_ARGS = "--no-default-features --features '${RTD_AMP_FW_FEATURES}' ${RTD_AMP_FW_CARGO_ARGS}"
# From the project's directory, so its .cargo/config.toml (the template's:
# frame pointers for the crash backtraces, no unwind tables) applies.
do_compile[dirs] = "${S}"

RTD_AMP_FIRMWARE_FILES = "${RUST_BAREMETAL_TARGET}/${RUST_BAREMETAL_PROFILE}/${RTD_AMP_FW_BIN}:${RTD_AMP_FW_NAME}.elf"
RPROVIDES:${PN} += "${RTD_AMP_FIRMWARE_RPROVIDES_PREFIX}${RTD_AMP_FW_NAME}"

# A configuration file wins over the project's Cargo.toml for the same
# [patch] entry, and cargo reads CARGO_HOME's (written by
# rtd_amp_cargo_vendor_config before this) wherever it runs.
rtd_amp_fw_app_patch_runtime() {
    if [ "${RTD_AMP_FW_PATCH_RUNTIME}" = "1" ]; then
        printf '\n[patch.crates-io]\nrtd-amp-rt = { path = "%s" }\n' "${RTD_AMP_FW_RUNTIME}" >> "${CARGO_HOME}/config.toml"
    fi
}
do_configure[postfuncs] += "rtd_amp_fw_app_patch_runtime"

# The ELF and, with the "rtd-amp" DISTRO_FEATURE, its signature
# ${RTD_AMP_FW_NAME}.elf.p7s beside it.
rtd_amp_fw_app_do_install() {
    rtd_amp_firmware_install
    rtd_amp_fw_sign ${D}${RTD_AMP_FIRMWARE_INSTALL_DIR}/${RTD_AMP_FW_NAME}.elf
}

# The firmware runs on the AArch64 core of these systems only.
COMPATIBLE_HOST = "aarch64.*-linux"

EXPORT_FUNCTIONS do_install
