#!/usr/bin/env bash
# The systemd twin (scripts/qemu-amp test --init systemd): mmdebstrap builds
# a Debian arm64 userland whose maintainer scripts run under qemu-user
# (qemu-user-static, registered with binfmt_misc; arch-test checks that arm64
# binaries run), e2fsprogs puts it on an ext4 image (mkfs.ext4 -d, no loop
# mount), passwd's groupadd creates the layer's group in it. The binfmt
# registration is the kernel's, not a package's: done here and again before
# each userland build (scripts/qemu/systemd/build.sh, qs_binfmt).
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

apt_install mmdebstrap qemu-user-static arch-test e2fsprogs passwd kmod
reg=/proc/sys/fs/binfmt_misc
[ -e "$reg/register" ] || as_root mount -t binfmt_misc binfmt_misc "$reg"
if [ ! -e "$reg/qemu-aarch64" ]; then
	log "registering qemu-aarch64 with binfmt_misc"
	as_root sh -c "cat /usr/lib/binfmt.d/qemu-aarch64.conf >$reg/register"
fi
arch-test arm64 >/dev/null || die "arm64 binaries do not run under qemu-user (arch-test arm64)"
