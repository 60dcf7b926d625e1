#!/usr/bin/env bash
# The QEMU AMP twin: Debian's arm64 6.1 and 6.12 kernels with the real
# remoteproc/RPMsg stack, our drivers, the firmware on CPU3 and the host
# daemon; the guest suite must end with "N passed, 0 failed" on both.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
exec "$REPO_ROOT/scripts/qemu-amp" test
