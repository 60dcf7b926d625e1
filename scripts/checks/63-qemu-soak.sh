#!/usr/bin/env bash
# The twin's soak, short (scripts/qemu-amp soak, docs/qemu-twin.md "Soak"):
# 10 injected crashes recovered by rtd-ampd, 50 stop/start cycles, 10
# detach/attach cycles with a sequence-numbered echo stream running
# through the crashes and the cycles, then 50 000 sequence-numbered echoes;
# every message accounted for, memory and the kernel log checked. One
# kernel (6.12), the guest built by stage 60. The full run's figures
# (100 / 1000 / 10 / 1 000 000) are in docs/benchmarks.md.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
exec "$REPO_ROOT/scripts/qemu-amp" soak --kernel 6.12 --crashes 10 --cycles 50 --attach 10 --messages 50000
