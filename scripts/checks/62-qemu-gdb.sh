#!/usr/bin/env bash
# The twin under gdb (scripts/qemu-amp debug --batch, docs/firmware.md
# "Debugging"): gdb-multiarch on QEMU's gdbstub stops CPU3 in the echo
# service's handler for two echoes the guest sends, checks the thread
# (CPU3), the payload lengths and the handler's message counter, then lets
# the guest finish; the guest checks its echoes and its kernel log. One
# kernel (6.12): the gdbstub, the firmware and the stop do not depend on
# the guest's kernel, and the twin stage boots both already.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
exec "$REPO_ROOT/scripts/qemu-amp" debug --batch --kernel 6.12
