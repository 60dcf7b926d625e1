#!/usr/bin/env bash
# Host library: libclang for the bindgen regeneration test of the kernel
# UAPI bindings, and the kernel's UAPI headers they are generated from.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
apt_install libclang-dev linux-libc-dev
