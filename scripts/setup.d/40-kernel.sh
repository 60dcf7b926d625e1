#!/usr/bin/env bash
# Kernel-side checks and the QEMU twin: Debian's arm64 kernel packages
# (downloaded and unpacked by scripts/lib/debian-kernel.sh, never installed),
# pahole for module BTF on 6.12, sparse, QEMU 10 from bookworm-backports
# (bookworm's 7.2 has no cortex-a55), and dt-schema in a private venv.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

# Captured first: `cmd | grep -q` under pipefail can fail on SIGPIPE.
foreign=$(dpkg --print-foreign-architectures)
if ! grep -qx arm64 <<<"$foreign"; then
	as_root dpkg --add-architecture arm64
	_apt_updated=0
fi
add_apt_suite backports bookworm-backports
apt_install make perl dwarves device-tree-compiler cpp kmod sparse
qemu_ver=$(dpkg-query -W -f='${Version}' qemu-system-arm 2>/dev/null || true)
if [[ $qemu_ver != 1:10.* ]]; then
	apt_update_once
	log "apt-get install -t bookworm-backports qemu-system-arm"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		-t bookworm-backports qemu-system-arm >/dev/null
fi

venv=$CACHE_DIR/venv-dt
if [ ! -x "$venv/bin/dt-validate" ]; then
	log "dt-schema into $venv"
	python3 -m venv "$venv"
	"$venv/bin/pip" install -q 'dtschema==2026.9'
fi
