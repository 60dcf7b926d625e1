#!/usr/bin/env bash
# Host Rust toolchain (rustup's stable, already on the machine) with its lints.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
command -v cargo >/dev/null || die "cargo not found: install Rust with rustup first"
for c in clippy rustfmt; do
	rustup component list --installed 2>/dev/null | grep -q "^$c" || rustup component add "$c"
done
