#!/usr/bin/env bash
# Every shell script of the project passes shellcheck.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
cd "$REPO_ROOT"
mapfile -t scripts < <(git ls-files | while read -r f; do
	[ -f "$f" ] || continue
	case "$f" in *.sh) echo "$f"; continue ;; esac
	head -c 64 "$f" | grep -qE '^#!.*(ba)?sh' && echo "$f"
done)
shellcheck -x "${scripts[@]}"
echo "shellcheck: ${#scripts[@]} scripts clean"
