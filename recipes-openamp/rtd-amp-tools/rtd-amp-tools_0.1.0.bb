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
inherit rtd_amp_src cargo_bin rtd_amp_cargo_vendor systemd update-rc.d useradd

RTD_AMP_CARGO_LOCK = "${S}/Cargo.lock"
CARGO_MANIFEST_PATH = "${S}/Cargo.toml"
# Only the shipped programs and the C library; benches and test-only crates
# stay out of the target build.
EXTRA_CARGO_FLAGS = "--frozen -p rtd-ampd -p ampctl -p amp-capi"

# ABI version of librtdamp (SONAME librtdamp.so.<this>).
RTDAMP_SOVERSION = "0"
# Group that may open /dev/rpmsg*, /dev/ttyRPMSG* and the daemon's socket.
RTD_AMP_GROUP ??= "rtdamp"

do_install:append() {
    # cargo_bin installs every executable and library it built; keep ours.
    for f in ${D}${bindir}/*; do
        case $(basename $f) in
        rtd-ampd | ampctl) ;;
        *) rm -f "$f" ;;
        esac
    done
    install -d ${D}${sbindir}
    mv ${D}${bindir}/rtd-ampd ${D}${sbindir}/rtd-ampd

    # C API: versioned library, header and pkg-config file.
    rm -f ${D}${libdir}/*.rlib ${D}${libdir}/*.so
    install -d ${D}${libdir} ${D}${includedir} ${D}${libdir}/pkgconfig
    install -m 0755 ${CARGO_BINDIR}/librtdamp.so ${D}${libdir}/librtdamp.so.${PV}
    patchelf --set-soname librtdamp.so.${RTDAMP_SOVERSION} ${D}${libdir}/librtdamp.so.${PV}
    ln -sf librtdamp.so.${PV} ${D}${libdir}/librtdamp.so.${RTDAMP_SOVERSION}
    ln -sf librtdamp.so.${RTDAMP_SOVERSION} ${D}${libdir}/librtdamp.so
    install -m 0644 ${CARGO_BINDIR}/librtdamp.a ${D}${libdir}/librtdamp.a
    install -m 0644 ${S}/crates/amp-capi/include/rtdamp.h ${D}${includedir}/rtdamp.h
    # The pkg-config template is maintained with the C API (amp-capi).
    sed -e 's|@PREFIX@|${prefix}|' -e 's|@LIBDIR@|${libdir}|' \
        -e 's|@INCLUDEDIR@|${includedir}|' -e 's|@VERSION@|${PV}|' \
        ${S}/crates/amp-capi/rtdamp.pc.in > ${D}${libdir}/pkgconfig/rtdamp.pc

    # Daemon: default configuration (maintained with its code), defaults
    # file, udev rule, systemd unit and SysV init script.
    install -d ${D}${sysconfdir}/default
    install -m 0644 ${S}/crates/rtd-ampd/rtd-ampd.toml ${D}${sysconfdir}/rtd-ampd.toml
    install -m 0644 ${WORKDIR}/rtd-ampd.default ${D}${sysconfdir}/default/rtd-ampd
    install -d ${D}${nonarch_base_libdir}/udev/rules.d
    sed -e 's|@GROUP@|${RTD_AMP_GROUP}|' ${WORKDIR}/70-rtd-amp.rules \
        > ${D}${nonarch_base_libdir}/udev/rules.d/70-rtd-amp.rules

    install -d ${D}${systemd_system_unitdir} ${D}${sysconfdir}/init.d
    sed -e 's|@SBINDIR@|${sbindir}|' -e 's|@SYSCONFDIR@|${sysconfdir}|' \
        ${WORKDIR}/rtd-ampd.service > ${D}${systemd_system_unitdir}/rtd-ampd.service
    sed -e 's|@SBINDIR@|${sbindir}|' -e 's|@SYSCONFDIR@|${sysconfdir}|' \
        ${WORKDIR}/rtd-ampd.init > ${D}${sysconfdir}/init.d/rtd-ampd
    chmod 0755 ${D}${sysconfdir}/init.d/rtd-ampd
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
RDEPENDS:${PN}-daemon = "rtd-amp-firmware"
RRECOMMENDS:${PN}-daemon = "kernel-module-rtd-amp-mbox kernel-module-rtd-amp-rproc"

SYSTEMD_PACKAGES = "${PN}-daemon"
SYSTEMD_SERVICE:${PN}-daemon = "rtd-ampd.service"
INITSCRIPT_PACKAGES = "${PN}-daemon"
INITSCRIPT_NAME:${PN}-daemon = "rtd-ampd"
INITSCRIPT_PARAMS:${PN}-daemon = "defaults 85 15"

USERADD_PACKAGES = "${PN}-daemon"
GROUPADD_PARAM:${PN}-daemon = "--system ${RTD_AMP_GROUP}"

COMPATIBLE_HOST = "aarch64.*-linux"
