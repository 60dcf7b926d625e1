#!/usr/bin/env bash
# The protocol core builds for the firmware's target, aarch64-unknown-none,
# without std or alloc. Debian's rustc builds `core` for that target from
# source (ARCHITECTURE.md section 7); the crate itself uses stable Rust only.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
cd "$REPO_ROOT/rust"
RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 /usr/bin/cargo build --locked --release \
	-Zbuild-std=core -p amp-proto --no-default-features \
	--target aarch64-unknown-none --target-dir target/aarch64-none
rlib=$(find target/aarch64-none/aarch64-unknown-none/release -maxdepth 2 -name 'libamp_proto-*.rlib' | head -n1)
[ -n "$rlib" ] || die "no amp-proto rlib for aarch64-unknown-none"
log "built $(basename "$rlib") ($(stat -c %s "$rlib") bytes)"
