#!/usr/bin/env bash
# Cross toolchains for aarch64: rustup here carries only the x86_64 standard
# library, so bare-metal and static Linux aarch64 builds use Debian's rustc
# with its library sources and -Zbuild-std (docs/design.md, "Building Rust for the targets").
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
apt_install rustc-web cargo-web rust-web-src lld gcc-aarch64-linux-gnu libc6-dev-arm64-cross
