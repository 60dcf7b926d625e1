SUMMARY = "Host side of the RTD1619B AMP system: library, daemon, CLI and C API"
DESCRIPTION = "rtd-ampd starts and supervises the remote-core firmware \
               through remoteproc and RPMsg, ampctl controls it from the \
               shell, and librtdamp gives C applications the same API \
               (amp-host) as Rust ones."
HOMEPAGE = "https://github.com/rtd-amp/meta-rtd1619b-amp"
BUGTRACKER = "https://github.com/rtd-amp/meta-rtd1619b-amp/issues"
SECTION = "utils"
LICENSE = "MIT | Apache-2.0"
LIC_FILES_CHKSUM = "file://${COMMON_LICENSE_DIR}/MIT;md5=0835ade698e0bcf8506ecda2f7b4f302 \
                    file://${COMMON_LICENSE_DIR}/Apache-2.0;md5=89aea4e17d99a7cacdbeed46a0096b10"

DEPENDS += "patchelf-native"

# crates.io packages of rust/Cargo.lock (crate://, generated).
require rtd-amp-tools-crates.inc

# The host workspace (its Cargo.lock pins every crate, see the -crates.inc).
RTD_AMP_SRC_PATHS = "\
    rust/Cargo.lock \
    rust/Cargo.toml \
    rust/crates/* \
    ?rust/.cargo \
    scripts/install-target \
"

SRC_URI += "\
    file://70-rtd-amp.rules \
    file://rtd-ampd.default \
    file://rtd-ampd.init \
    file://rtd-ampd.service \
"

S = "${RTD_AMP_SRCDIR}/rust"

# meta-rust-bin's toolchain (oe-core scarthgap's Rust 1.75 is older than
# the workspace's rust-version), with oe-core style crate:// lists so that
# cargo never reaches the network (rtd_amp_cargo_vendor).
inherit rtd_amp_src cargo_bin rtd_amp_cargo_vendor rtd_amp_fw_select systemd update-rc.d useradd

RTD_AMP_CARGO_LOCK = "${S}/Cargo.lock"
CARGO_MANIFEST_PATH = "${S}/Cargo.toml"
# Only the shipped programs and the C library; benches and test-only crates
# stay out of the target build.
EXTRA_CARGO_FLAGS = "--frozen -p rtd-ampd -p ampctl -p amp-capi"

# ABI version of librtdamp (SONAME librtdamp.so.<this>).
RTDAMP_SOVERSION = "0"
# Who can do what (SECURITY.md): the application group opens /dev/rpmsgN,
# /dev/ttyRPMSGN and reads the daemon's status; the admin group opens
# /dev/rpmsg_ctrlN, writes the remoteproc attributes and starts/stops
# through the daemon; the daemon runs as its own user in both.
RTD_AMP_GROUP ??= "rtdamp"
RTD_AMP_ADMIN_GROUP ??= "rtdamp-admin"
RTD_AMP_USER ??= "rtdampd"

# The shared install step (scripts/install-target, also what the QEMU
# systemd twin installs with), instead of cargo_bin's install-everything.
do_install() {
    sh ${RTD_AMP_INSTALL} tools DESTDIR=${D} prefix=${prefix} bindir=${bindir} \
        sbindir=${sbindir} libdir=${libdir} includedir=${includedir} \
        sysconfdir=${sysconfdir} nonarch_base_libdir=${nonarch_base_libdir} \
        systemd_system_unitdir=${systemd_system_unitdir} \
        udevrulesdir=${nonarch_base_libdir}/udev/rules.d \
        RTD_AMP_GROUP=${RTD_AMP_GROUP} RTD_AMP_ADMIN_GROUP=${RTD_AMP_ADMIN_GROUP} \
        RTD_AMP_USER=${RTD_AMP_USER} PV=${PV} SOVERSION=${RTDAMP_SOVERSION} \
        BUILDDIR=${CARGO_BINDIR} SRCDIR=${S} FILESDIR=${WORKDIR} \
        WITH_LIB=yes PATCHELF=patchelf \
        FIRMWARE_NAME=${RTD_AMP_FIRMWARE_FILE} FIRMWARE_CHANNELS="${RTD_AMP_FIRMWARE_CHANNELS}"
}

PACKAGES =+ "librtdamp ${PN}-daemon ${PN}-cli"
# Without FILES:${PN} content the main package is the meta package below.
FILES:librtdamp += "${libdir}/librtdamp.so.*"
FILES:${PN}-daemon += "\
    ${nonarch_base_libdir}/udev/rules.d/70-rtd-amp.rules \
    ${sbindir}/rtd-ampd \
    ${sysconfdir}/default/rtd-ampd \
    ${sysconfdir}/init.d/rtd-ampd \
    ${sysconfdir}/rtd-ampd.toml \
    ${systemd_system_unitdir}/rtd-ampd.service \
"
FILES:${PN}-cli += "${bindir}/ampctl"
FILES:${PN}-dev += "${includedir}/rtdamp.h ${libdir}/librtdamp.so ${libdir}/pkgconfig/rtdamp.pc"
FILES:${PN}-staticdev += "${libdir}/librtdamp.a"
CONFFILES:${PN}-daemon += "${sysconfdir}/default/rtd-ampd ${sysconfdir}/rtd-ampd.toml"
ALLOW_EMPTY:${PN} = "1"
RDEPENDS:${PN} = "${PN}-cli ${PN}-daemon librtdamp"
# The firmware its configuration starts (RTD_AMP_FIRMWARE,
# rtd_amp_fw_select.bbclass), and rtd-amp-firmware for the signing
# certificate it trusts (/etc/rtd-amp/fw-signing.pem).
RDEPENDS:${PN}-daemon = "${RTD_AMP_FIRMWARE_PROVIDER} rtd-amp-firmware"
RRECOMMENDS:${PN}-daemon = "kernel-module-rtd-amp-mbox kernel-module-rtd-amp-rproc"

SYSTEMD_PACKAGES = "${PN}-daemon"
SYSTEMD_SERVICE:${PN}-daemon = "rtd-ampd.service"
INITSCRIPT_PACKAGES = "${PN}-daemon"
INITSCRIPT_NAME:${PN}-daemon = "rtd-ampd"
INITSCRIPT_PARAMS:${PN}-daemon = "defaults 85 15"

USERADD_PACKAGES = "${PN}-daemon"
GROUPADD_PARAM:${PN}-daemon = "--system ${RTD_AMP_GROUP}; --system ${RTD_AMP_ADMIN_GROUP}"
USERADD_PARAM:${PN}-daemon = "--system --no-create-home --home-dir /nonexistent --shell /sbin/nologin --gid ${RTD_AMP_ADMIN_GROUP} --groups ${RTD_AMP_GROUP} ${RTD_AMP_USER}"

COMPATIBLE_HOST = "aarch64.*-linux"
