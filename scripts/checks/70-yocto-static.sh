#!/usr/bin/env bash
# Static checks of the Yocto layer (no BitBake needed):
#   * oelint-adv clean on every .bb/.bbappend/.bbclass/.inc (suppressions
#     only in .oelint.cfg, each justified there);
#   * kas files valid against the JSON schema shipped in the kas package;
#   * shellcheck on the shell files installed on targets or sourced by the SDK;
#   * every .patch carries Upstream-Status;
#   * the crate:// lists match rust/Cargo.lock and rust/firmware/Cargo.lock;
#   * gating: every bbappend only requires its content when the "rtd-amp"
#     DISTRO_FEATURE is set; INSANE_SKIP skips "arch" only; no [network];
#   * layer.conf and layer layout sanity; oeqa test cases compile.
# Tools come from scripts/setup.d/70-yocto-lint.sh.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
cd "$REPO_ROOT"

venv=$CACHE_DIR/yocto-lint-venv
if [ ! -x "$venv/bin/oelint-adv" ] || [ ! -x "$venv/bin/kas" ]; then
	die "$venv missing: run scripts/setup.d/70-yocto-lint.sh (or scripts/setup-host)"
fi
failed=0
bad() {
	printf 'FAIL: %s\n' "$*" >&2
	failed=1
}
# Metadata files of the layer (tracked or not yet tracked, never build output).
layer_files() {
	find . \( -path ./.cache -o -path ./.git -o -path ./rust -o -path ./build \) -prune -o \
		-type f \( "$@" \) -print | sed 's|^\./||' | LC_ALL=C sort
}

log "oelint-adv ($("$venv/bin/oelint-adv" --version))"
mapfile -t recipes < <(layer_files -name '*.bb' -o -name '*.bbappend' -o -name '*.bbclass' -o -name '*.inc')
[ ${#recipes[@]} -gt 0 ] || bad "no recipes found"
lint_out=$("$venv/bin/oelint-adv" --quiet --relpaths "${recipes[@]}" 2>&1) || true
if [ -n "$lint_out" ]; then
	printf '%s\n' "$lint_out" >&2
	bad "oelint-adv findings (fix them, or justify a suppression in .oelint.cfg)"
else
	echo "oelint-adv: ${#recipes[@]} files clean"
fi

log "kas files against kas's JSON schema ($("$venv/bin/kas" --version 2>&1 | head -1))"
mapfile -t kasfiles < <(layer_files -path './kas/*' -name '*.yml')
[ ${#kasfiles[@]} -gt 0 ] || bad "no kas files in kas/"
"$venv/bin/python" - "${kasfiles[@]}" <<'PY' || bad "kas schema validation"
import importlib.resources
import json
import re
import sys

import jsonschema
import yaml

schema = json.loads((importlib.resources.files("kas") / "schema-kas.json").read_text())
ok = True
for path in sys.argv[1:]:
    with open(path) as f:
        doc = yaml.safe_load(f)
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(doc), key=str)
    for e in errors:
        print(f"{path}: {'/'.join(map(str, e.path))}: {e.message}", file=sys.stderr)
        ok = False
    # Every remote repository is pinned to a full commit id.
    for name, repo in (doc.get("repos") or {}).items():
        if repo and repo.get("url") and not re.fullmatch(r"[0-9a-f]{40}", str(repo.get("commit", ""))):
            print(f"{path}: repo {name} is not pinned to a full commit id", file=sys.stderr)
            ok = False
    if not errors:
        print(f"{path}: valid")
sys.exit(0 if ok else 1)
PY

log "shellcheck on target and SDK shell files"
mapfile -t shells < <(layer_files -path './recipes-*/files/*' -name '*.sh' -o -path './recipes-*/files/*.init')
if [ ${#shells[@]} -gt 0 ]; then
	if shellcheck -s sh "${shells[@]}"; then
		echo "shellcheck: ${#shells[@]} files clean"
	else
		bad "shellcheck"
	fi
fi

log "Upstream-Status in patches"
mapfile -t patches < <(layer_files -name '*.patch' -o -name '*.diff')
for p in "${patches[@]}"; do
	grep -qE '^Upstream-Status: (Pending|Submitted|Accepted|Backport|Denied|Inappropriate|Inactive-Upstream)' "$p" ||
		bad "$p has no valid Upstream-Status"
done
echo "patches: ${#patches[@]} checked"

log "crate:// lists against Cargo.lock"
if ! scripts/update-crate-lists --check; then
	bad "crate lists are stale: run scripts/update-crate-lists and commit the *-crates.inc files"
fi

log "gating on the rtd-amp DISTRO_FEATURE"
mapfile -t appends < <(layer_files -name '*.bbappend')
gate_re="^(require|include) \\$\\{@bb\\.utils\\.contains\\('DISTRO_FEATURES', 'rtd-amp', '[^']+\\.inc', '', d\\)\\}$"
for a in "${appends[@]}"; do
	body=$(grep -vE '^[[:space:]]*(#|$)' "$a" || true)
	if [ -z "$body" ] || grep -qvE "$gate_re" <<<"$body"; then
		bad "$a: a bbappend may only 'require \${@bb.utils.contains('DISTRO_FEATURES', 'rtd-amp', 'X.inc', '', d)}'"
	fi
done
echo "bbappends: ${#appends[@]} gated"
# INSANE_SKIP: only the "arch" test, and no network access outside do_fetch.
while IFS= read -r line; do
	case "$line" in
	*'INSANE_SKIP'*'+= "arch"') ;;
	*) bad "INSANE_SKIP other than arch: $line" ;;
	esac
done < <(grep -HnE '^[^#]*INSANE_SKIP' "${recipes[@]}" || true)
if grep -HnE '\[network\]' "${recipes[@]}" conf/*.conf conf/machine/*.conf; then
	bad "[network] flags are not allowed (builds are offline after do_fetch)"
fi
# Nothing global: the layer adds no INHERIT and sets no distro-wide defaults.
if grep -HnE '^[[:space:]]*(INHERIT|DISTRO_FEATURES|IMAGE_INSTALL|PREFERRED_)' conf/layer.conf; then
	bad "conf/layer.conf must not change global settings"
fi

log "layer.conf and layout"
lc=conf/layer.conf
for re in '^BBFILE_COLLECTIONS \+= "rtd-amp"' '^BBFILE_PATTERN_rtd-amp = "\^\$\{LAYERDIR\}/"' \
	'^BBFILE_PRIORITY_rtd-amp = "[0-9]+"' '^LAYERVERSION_rtd-amp = "[0-9]+"' \
	'^LAYERDEPENDS_rtd-amp = ".*\bcore\b.*"' '^LAYERDEPENDS_rtd-amp = ".*\brust-bin-layer\b.*"' \
	'^LAYERSERIES_COMPAT_rtd-amp = ".*\bscarthgap\b.*"' '^BBPATH \.= ":\$\{LAYERDIR\}"'; do
	grep -qE "$re" "$lc" || bad "$lc lacks /$re/"
done
# Every BBFILES_DYNAMIC collection is a recommended layer, and has files.
while IFS= read -r coll; do
	grep -qE "^LAYERRECOMMENDS_rtd-amp = \".*\\b$coll\\b" "$lc" || bad "dynamic layer $coll not in LAYERRECOMMENDS"
	[ -d "dynamic-layers/$coll" ] || bad "BBFILES_DYNAMIC names $coll but dynamic-layers/$coll is missing"
done < <(grep -oE '^[[:space:]]+[a-z0-9-]+:\$\{LAYERDIR\}' "$lc" | sed 's/^[[:space:]]*//; s/:.*//' | sort -u)
if [ -d conf/machine ] && [ -d conf/distro ]; then
	bad "a layer must not hold both conf/machine and conf/distro (yocto-check-layer)"
fi
# WKS_FILE names and machine configurations exist in the layer.
while IFS= read -r w; do
	[ -f "wic/$w" ] || [ "$w" = avengers-overlayfs.wks ] || bad "wic/$w referenced but missing"
done < <(grep -ohE '[a-z0-9-]+\.wks' conf/machine/*.conf recipes-core/images/*.bb | sort -u)
for w in wic/*.wks; do
	grep -q '^bootloader --ptable gpt' "$w" || bad "$w: not a GPT layout"
	grep -qE '^part / .*--source rootfs.*--fstype=ext4' "$w" || bad "$w: no ext4 root partition"
done
# A machine that names a wks file builds a wic image by default: its docs
# (the wks comment) promise `runqemu … wic` without kas, and qemu.inc's
# IMAGE_FSTYPES has none.
for m in conf/machine/*.conf; do
	if grep -qE '^WKS_FILE' "$m" && ! grep -qE '^IMAGE_FSTYPES[:a-z]* *(\+|\.)?= *"([^"]* )?wic( |")' "$m"; then
		bad "$m sets WKS_FILE but does not add wic to IMAGE_FSTYPES"
	fi
done
# Installed paths in DESCRIPTION/SUMMARY: /lib/... is /usr/lib/... with
# usrmerge (systemd images), so a description that names /lib/ must name
# /usr/lib/ as well.
while IFS= read -r r; do
	desc=$(sed -n '/^\(DESCRIPTION\|SUMMARY\)[:a-z${}A-Z_-]* *=/,/[^\\]$/p' "$r")
	if grep -qE '(^|[ "(])/lib/' <<<"$desc" && ! grep -q '/usr/lib/' <<<"$desc"; then
		bad "$r: DESCRIPTION names /lib/ only; with usrmerge the path is under /usr/lib/"
	fi
done < <(printf '%s\n' "${recipes[@]}" | grep -E '\.bb$')
"$venv/bin/python" -m py_compile lib/oeqa/runtime/cases/*.py || bad "oeqa runtime cases do not compile"

[ "$failed" = 0 ] || die "yocto static checks failed"
echo "yocto static checks: all passed"
