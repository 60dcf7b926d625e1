#!/usr/bin/env bash
# Base tools used by several stages: shell linting, device-tree compiler,
# Python virtual environments, openssl (firmware signatures: the host tests,
# the fuzz seeds and the QEMU twin sign with keys made at run time).
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
apt_install shellcheck device-tree-compiler python3-venv python3-pip xz-utils cpio file openssl
