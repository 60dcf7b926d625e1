#!/usr/bin/env bash
# The firmware template (templates/rtd-amp-firmware), unmodified: rendered
# as cargo-generate renders it (scripts/render-template) and built against
# its own Cargo.lock for both boards (scripts/build-fw-template). Each ELF
# must enter at its board's AMP window and carry a .resource_table; the
# rendered sources must be rustfmt-clean, and the template's cargo flags
# the layer firmware's. The twin boots it (tests.d/70-template.sh) and
# docs/firmware.md shows its files (stage 08-docs).
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
cd "$REPO_ROOT"
fail=0
bad() { printf 'FAIL: %s\n' "$*" >&2; fail=1; }

flags() { grep -E '^rustflags = ' "$1"; }
[ "$(flags templates/rtd-amp-firmware/.cargo/config.toml)" = "$(flags rust/firmware/.cargo/config.toml)" ] ||
	bad "templates/rtd-amp-firmware/.cargo/config.toml: rustflags differ from rust/firmware/.cargo/config.toml"

# The boards' AMP windows (rtd-amp-rt/src/board.rs, docs/firmware.md "Board selection").
declare -A window=([qemu-virt]=0x70000000 [rtd1619b]=0x32000000)
for board in qemu-virt rtd1619b; do
	elf=$(scripts/build-fw-template "$board" | tail -n1)
	entry=$(aarch64-linux-gnu-readelf -h "$elf" | awk '/Entry point address/ {print $4}')
	[ "$((entry))" = "$((window[$board]))" ] || bad "$board: entry $entry, not the AMP window ${window[$board]}"
	aarch64-linux-gnu-readelf -S "$elf" | grep -q ' \.resource_table ' || bad "$board: no .resource_table in $elf"
	echo "template firmware for $board: $elf (entry $entry)"
done

# The project exactly as rendered for the last build.
project=rust/firmware/target/template/my-fw
rustfmt --check --edition 2021 "$project/src/main.rs" "$project/build.rs" ||
	bad "the template's sources are not rustfmt-clean"
[ "$fail" = 0 ] || exit 1
echo "fw-template: rendered and built for qemu-virt and rtd1619b"
