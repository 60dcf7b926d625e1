#!/usr/bin/env bash
# The firmware: builds the ELF for both boards, then runs the workspace's
# host tests (runtime logic, services against the Linux model of the
# protocol core, and the built ELFs' .resource_table validation), with
# formatting and clippy.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
for board in qemu-virt rtd1619b; do
	"$REPO_ROOT/scripts/build-firmware" "$board" | tail -n 3
done
cd "$REPO_ROOT/rust/firmware"
cargo fmt --check -p rtd-amp-rt -p rtd-amp-fw
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
