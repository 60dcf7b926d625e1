#!/usr/bin/env bash
# Fuzzing: cargo-fuzz from crates.io, run with the machine's nightly
# toolchain (libFuzzer needs -Zsanitizer; the crates stay on stable).
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
if ! command -v cargo-fuzz >/dev/null; then
	log "cargo install cargo-fuzz"
	cargo install cargo-fuzz --locked -q
fi
rustup toolchain list | grep -q '^nightly' ||
	log "warning: no nightly toolchain: stage 15-fuzz will fail (rustup toolchain install nightly)"
