#!/usr/bin/env bash
# The documentation stands alone and says what is unproven:
# - every relative link in the README, SECURITY.md and docs/ resolves to a
#   file of the repository;
# - nothing cites a document outside the repository (the design notes the
#   project started from live in docs/design.md now);
# - the README and docs/design.md say that nothing has run on silicon yet,
#   and docs/design.md's status table cites where each fact comes from;
# - a code block marked "<!-- include: PATH -->" is PATH verbatim.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
cd "$REPO_ROOT"
fail=0
bad() { printf 'FAIL: %s\n' "$*" >&2; fail=1; }

mapfile -t docs < <(git ls-files README.md SECURITY.md 'docs/*.md')
for doc in "${docs[@]}"; do
	dir=$(dirname "$doc")
	# [text](target) with a relative target; drop the #anchor.
	while IFS= read -r target; do
		path=${target%%#*}
		[ -n "$path" ] || continue
		[ -e "$dir/$path" ] || bad "$doc links to $target, which does not exist"
	done < <(grep -oE '\]\([^)# ]+(#[^) ]*)?\)' "$doc" | sed -E 's/^\]\(//; s/\)$//' |
		grep -vE '^(https?|mailto):')
done

# Documents that are not in the repository must not be cited.
if git grep -nE 'ARCHITECTURE(\.md| notes| §)|shared/(design|seeds)' -- ':!scripts/checks/08-docs.sh'; then
	bad "the lines above cite documents outside the repository; bring the facts into docs/design.md"
fi

grep -q 'not run on silicon' README.md ||
	bad "README.md does not say that nothing has run on silicon yet"
grep -q '(docs/design.md)' README.md || bad "README.md does not link docs/design.md"
grep -q '^## Status: not run on silicon yet' docs/design.md ||
	bad "docs/design.md has no silicon status section"
# Code in the docs that is a file (the firmware tutorial is the template):
# each included block equals its file.
scripts/doc-includes --check || bad "a block differs from its file: run scripts/doc-includes"
[ "$fail" = 0 ] || exit 1
echo "docs: ${#docs[@]} documents, links resolve, no outside citations, silicon status stated"
