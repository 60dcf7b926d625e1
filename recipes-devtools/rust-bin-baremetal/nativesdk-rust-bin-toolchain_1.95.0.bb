SUMMARY = "Prebuilt Rust toolchain for the SDK (Linux and bare-metal AArch64)"
DESCRIPTION = "rustc and cargo for the SDK host with the standard libraries \
               for the SDK host, aarch64-unknown-linux-gnu (applications \
               using librtdamp) and aarch64-unknown-none (the remote-core \
               firmware): the release meta-rust-bin builds the image with, \
               so code built in the SDK and in the image agree."
HOMEPAGE = "https://www.rust-lang.org"
BUGTRACKER = "https://github.com/rust-lang/rust/issues"
SECTION = "devel"
LICENSE = "Apache-2.0 | MIT"
LIC_FILES_CHKSUM = "file://rustc-${PV}-${SDK_RUST_HOST}/COPYRIGHT;md5=11a3899825f4376896e438c8c753f8dc"
CVE_PRODUCT = "rust-lang:rust"

# Prebuilt archives exist per SDK host; only x86_64 SDK hosts are listed.
SDK_RUST_HOST = "x86_64-unknown-linux-gnu"
RUST_DIST_URI ??= "https://static.rust-lang.org/dist"

# The .tar.gz checksums are those meta-rust-bin lists for this release; the
# bare-metal .tar.xz one comes from the release's channel manifest.
SRC_URI = "\
    ${RUST_DIST_URI}/cargo-${PV}-${SDK_RUST_HOST}.tar.gz;name=cargo \
    ${RUST_DIST_URI}/rust-std-${PV}-${SDK_RUST_HOST}.tar.gz;name=std-host \
    ${RUST_DIST_URI}/rust-std-${PV}-aarch64-unknown-linux-gnu.tar.gz;name=std-linux \
    ${RUST_DIST_URI}/rust-std-${PV}-aarch64-unknown-none.tar.xz;name=std-none \
    ${RUST_DIST_URI}/rustc-${PV}-${SDK_RUST_HOST}.tar.gz;name=rustc \
    file://rust-rtd-amp.sh \
"
SRC_URI[cargo.sha256sum] = "47ebc468721a6ff3fb27dff33e632a4cb6246d0ea061814bcd4fe601d18c69a8"
SRC_URI[std-host.sha256sum] = "edbd20f8fc0a617f85ffb79fa6c22aa6def0e570de3f94be1a6e5ab1f77f763c"
SRC_URI[std-linux.sha256sum] = "a68e71b09f4e09f7071c650ec38ee1845ddfe66c46917c0ccf0b1636994b01c6"
SRC_URI[std-none.sha256sum] = "2b0c986dc9902866311f1fe2d44bc2bd84479d2ac84ed7ada76a5eb7ba37080f"
SRC_URI[rustc.sha256sum] = "fef749c4abb4b4bde5ebf773bec550003ce5b4410579cecd69a365e5c0c5106a"

S = "${WORKDIR}"

inherit_defer nativesdk

COMPATIBLE_HOST = "x86_64.*-linux"

do_configure[noexec] = "1"
do_compile[noexec] = "1"

do_install() {
    for component in rustc-${PV}-${SDK_RUST_HOST} cargo-${PV}-${SDK_RUST_HOST} \
        rust-std-${PV}-${SDK_RUST_HOST} rust-std-${PV}-aarch64-unknown-linux-gnu \
        rust-std-${PV}-aarch64-unknown-none; do
        ${WORKDIR}/$component/install.sh --destdir=${D} --prefix=${prefix} \
            --disable-ldconfig --disable-verify
    done
    # install.sh bookkeeping that would clash between components.
    rm -f ${D}${libdir}/rustlib/uninstall.sh ${D}${libdir}/rustlib/install.log \
        ${D}${libdir}/rustlib/components ${D}${libdir}/rustlib/rust-installer-version
    echo "${PV}" > ${D}${libdir}/rustlib/aarch64-unknown-none/rust-std-release
    install -d ${D}${SDKPATHNATIVE}/environment-setup.d
    install -m 0644 ${WORKDIR}/rust-rtd-amp.sh ${D}${SDKPATHNATIVE}/environment-setup.d/
}

FILES:${PN} += "${prefix} ${SDKPATHNATIVE}/environment-setup.d"
# Prebuilt release binaries: keep them as published.
INHIBIT_PACKAGE_STRIP = "1"
INHIBIT_PACKAGE_DEBUG_SPLIT = "1"
INHIBIT_SYSROOT_STRIP = "1"
# The aarch64-unknown-linux-gnu and aarch64-unknown-none standard libraries
# are target objects inside this SDK-host package, by design.
INSANE_SKIP:${PN} += "arch"
