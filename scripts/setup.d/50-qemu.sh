#!/usr/bin/env bash
# The QEMU AMP twin (scripts/qemu-amp): QEMU 10 from bookworm-backports
# (bookworm's 7.2 has no cortex-a55 model), the arm64 architecture so that
# `apt-get download busybox-static:arm64` works (the package is unpacked into
# the cache, never installed), and the tools that build the guest: dtc and
# fdtoverlay, cpio, gzip, the module decompressors; gdb-multiarch and socat for
# `scripts/qemu-amp debug` and its CI session. 40-kernel.sh may have
# done part of this already; every step here is idempotent.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

add_arm64_arch
# Debian's 6.12 kernel packages come from bookworm-backports.
add_apt_suite backports bookworm-backports
apt_install device-tree-compiler cpio gzip xz-utils zstd python3 gcc-aarch64-linux-gnu libc6-dev-arm64-cross gdb-multiarch socat
install_qemu10
# The arm64 package lists must be there for `apt-get download ...:arm64`.
policy=$(apt-cache policy busybox-static:arm64 2>/dev/null || true)
if ! grep -q 'Candidate: [0-9]' <<<"$policy"; then
	_apt_updated=0
	apt_update_once
fi
