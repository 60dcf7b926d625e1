# shellcheck shell=sh
# Sourced by the SDK's environment-setup script: point cargo at the SDK's
# cross linker and sysroot for Linux applications. Bare-metal firmware needs
# nothing here: aarch64-unknown-none links with rust-lld from rustc.
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER="${CC%% *}"
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUSTFLAGS="-C link-arg=--sysroot=${SDKTARGETSYSROOT}"
export CARGO_BUILD_TARGET="aarch64-unknown-linux-gnu"
export PKG_CONFIG_ALLOW_CROSS=1
