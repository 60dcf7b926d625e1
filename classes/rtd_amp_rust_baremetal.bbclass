# Build a no_std Rust workspace for a bare-metal triple (default
# aarch64-unknown-none) with meta-rust-bin's prebuilt toolchain.
#
# meta-rust-bin's rust-bin-cross installs the standard library for the build
# and the Linux target triples only, and its EXTRA_RUST_TARGETS knows Linux
# triples only, so the bare-metal rust-std comes from
# rust-std-bin-${RUST_BAREMETAL_TARGET}-native, the same release installed
# into the same native sysroot (rustc finds it in <prefix>/lib/rustlib). The
# target's default linker is rust-lld (shipped with rustc), so no bare-metal C
# toolchain is needed; build scripts and proc-macros are linked for the build
# host with BUILD_CC.
#
# Crates come from crate:// SRC_URI entries (rtd_amp_cargo_vendor); cargo
# runs --frozen and offline.
#
#   RUST_BAREMETAL_TARGET       rustc target triple
#   RUST_BAREMETAL_MANIFEST     path of the Cargo.toml to build
#   RUST_BAREMETAL_CARGO_ARGS   extra cargo arguments (features, -p ...)
#   RUST_BAREMETAL_PROFILE      cargo profile (release)

inherit rust_bin-common rtd_amp_cargo_vendor

RUST_BAREMETAL_TARGET ??= "aarch64-unknown-none"
RUST_BAREMETAL_MANIFEST ??= "${S}/Cargo.toml"
RUST_BAREMETAL_CARGO_ARGS ??= ""
RUST_BAREMETAL_PROFILE ??= "release"

DEPENDS += "cargo-bin-cross-${TARGET_ARCH} rust-std-bin-${RUST_BAREMETAL_TARGET}-native"

export CARGO_HOME = "${WORKDIR}/cargo_home"
B = "${WORKDIR}/target"
export CARGO_TARGET_DIR = "${B}"
export RUST_BACKTRACE = "1"

RUST_BAREMETAL_BUILD_TRIPLE = "${@rust_target(d, 'BUILD')}"

rtd_amp_rust_baremetal_do_configure() {
    mkdir -p ${B} ${WORKDIR}/wrappers
    # cargo wants a single program as linker, BUILD_CC carries flags.
    printf '#!/bin/sh\nexec %s %s "$@"\n' "${BUILD_CC}" "${BUILD_LDFLAGS}" > ${WORKDIR}/wrappers/build-cc-ld
    chmod +x ${WORKDIR}/wrappers/build-cc-ld
}

rtd_amp_rust_baremetal_do_compile() {
    sysroot=$(rustc --print sysroot)
    if [ ! -d "$sysroot/lib/rustlib/${RUST_BAREMETAL_TARGET}/lib" ]; then
        bbfatal "rustc ($(rustc --version)) has no standard library for ${RUST_BAREMETAL_TARGET} in $sysroot"
    fi
    # Mixing releases gives "found crate compiled by an incompatible version".
    rustc_release=$(rustc --version | cut -d' ' -f2)
    std_release=$(cat "$sysroot/lib/rustlib/${RUST_BAREMETAL_TARGET}/rust-std-release" 2>/dev/null || echo unknown)
    if [ "$rustc_release" != "$std_release" ]; then
        bbfatal "rustc is $rustc_release but the ${RUST_BAREMETAL_TARGET} rust-std is $std_release: use the same release for rust-bin-cross and rust-std-bin-${RUST_BAREMETAL_TARGET}-native"
    fi

    build_triple_var=$(echo ${RUST_BAREMETAL_BUILD_TRIPLE} | tr 'a-z-' 'A-Z_')
    export "CARGO_TARGET_${build_triple_var}_LINKER=${WORKDIR}/wrappers/build-cc-ld"
    export CC="${BUILD_CC}" CFLAGS="${BUILD_CFLAGS}"
    # The flags of the Linux userland must not leak into a bare-metal build.
    unset RUSTFLAGS LDFLAGS CXXFLAGS CPPFLAGS
    bbnote "$(rustc --version), $(cargo --version)"
    cargo build --frozen --verbose \
        --manifest-path "${RUST_BAREMETAL_MANIFEST}" \
        --target ${RUST_BAREMETAL_TARGET} \
        --profile ${RUST_BAREMETAL_PROFILE} \
        ${RUST_BAREMETAL_CARGO_ARGS}
}

EXPORT_FUNCTIONS do_configure do_compile
