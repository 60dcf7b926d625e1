#!/usr/bin/env bash
# Kernel-side checks and the QEMU twin: Debian's arm64 kernel packages
# (downloaded and unpacked by scripts/lib/debian-kernel.sh, never installed),
# pahole for module BTF on 6.12, sparse, QEMU 10 from bookworm-backports
# (bookworm's 7.2 has no cortex-a55), and dt-schema in a private venv.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

add_arm64_arch
# Debian's 6.12 kernel packages come from bookworm-backports.
add_apt_suite backports bookworm-backports
apt_install make perl dwarves device-tree-compiler cpp kmod sparse
install_qemu10

venv=$CACHE_DIR/venv-dt
if [ ! -x "$venv/bin/dt-validate" ]; then
	log "dt-schema into $venv"
	python3 -m venv "$venv"
	"$venv/bin/pip" install -q 'dtschema==2026.9'
fi
