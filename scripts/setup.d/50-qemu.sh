#!/usr/bin/env bash
# The QEMU AMP twin (scripts/qemu-amp): QEMU 10 from bookworm-backports
# (bookworm's 7.2 has no cortex-a55 model), the arm64 architecture so that
# `apt-get download busybox-static:arm64` works (the package is unpacked into
# the cache, never installed), and the tools that build the guest: dtc and
# fdtoverlay, cpio, gzip, the module decompressors. 40-kernel.sh may have
# done part of this already; every step here is idempotent.
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
apt_install device-tree-compiler cpio gzip xz-utils zstd python3 gcc-aarch64-linux-gnu libc6-dev-arm64-cross
qemu_ver=$(dpkg-query -W -f='${Version}' qemu-system-arm 2>/dev/null || true)
if [[ $qemu_ver != 1:10.* ]]; then
	apt_update_once
	log "apt-get install -t bookworm-backports qemu-system-arm"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		-t bookworm-backports qemu-system-arm >/dev/null
fi
# The arm64 package lists must be there for `apt-get download ...:arm64`.
policy=$(apt-cache policy busybox-static:arm64 2>/dev/null || true)
if ! grep -q 'Candidate: [0-9]' <<<"$policy"; then
	as_root apt-get update -qq
	_apt_updated=1
fi
