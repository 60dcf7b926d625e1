#!/usr/bin/env bash
# The test runner itself: a stage filter that selects nothing must fail and
# list the stages (a typo in CI must not look like a green run).
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
cd "$REPO_ROOT"
rc=0
out=$(scripts/test no-stage-is-called-this 2>&1) || rc=$?
if [ "$rc" = 0 ]; then
	printf 'FAIL: scripts/test with a filter that matches nothing exited 0:\n%s\n' "$out" >&2
	exit 1
fi
for stage in scripts/checks/*.sh; do
	name=$(basename "$stage" .sh)
	if ! grep -qx "  $name" <<<"$out"; then
		printf 'FAIL: the no-match message does not list stage %s:\n%s\n' "$name" "$out" >&2
		exit 1
	fi
done
echo "test runner: an empty selection exits $rc and lists the stages"
