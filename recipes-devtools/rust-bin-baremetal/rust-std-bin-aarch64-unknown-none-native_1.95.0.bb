SUMMARY = "Prebuilt Rust core library for aarch64-unknown-none"
DESCRIPTION = "The rust-std component (core, alloc, compiler_builtins) of \
               the Rust ${PV} release for the bare-metal AArch64 triple, \
               installed next to meta-rust-bin's rustc of the same release \
               so that no_std firmware builds without -Zbuild-std."

require rust-std-bin-baremetal.inc

RUST_STD_TRIPLE = "aarch64-unknown-none"

# sha256 of the .tar.xz component as listed in the release's channel
# manifest (channel-rust-1.95.0.toml, xz_hash); the fetcher refuses any
# other file.
SRC_URI = "${RUST_DIST_URI}/rust-std-${PV}-${RUST_STD_TRIPLE}.tar.xz"
SRC_URI[sha256sum] = "2b0c986dc9902866311f1fe2d44bc2bd84479d2ac84ed7ada76a5eb7ba37080f"

S = "${WORKDIR}/rust-std-${PV}-${RUST_STD_TRIPLE}"

inherit_defer native
