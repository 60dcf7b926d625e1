#!/usr/bin/env bash
# The systemd twin: a Debian arm64 userland with systemd and udev (cached,
# keyed by scripts/qemu/systemd/packages.list), the layer's files installed
# by scripts/install-target as the recipes install them, Debian's 6.1 and
# 6.12 kernels; the suite (unit, udev rule, group, sandbox, watchdog,
# restart/stop, reboot, journal) must end with "N passed, 0 failed".
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
exec "$REPO_ROOT/scripts/qemu-amp" test --init systemd --kernel 6.1 --kernel 6.12
