#!/usr/bin/env bash
# Tools of the Yocto static checks (stage 70-yocto-static): oelint-adv (recipe
# linter) and kas (its configuration JSON schema validates kas/*.yml), pinned,
# in a virtual environment under $CACHE_DIR. Idempotent: the venv is rebuilt
# only when the pins change.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
apt_install python3-venv python3-pip

OELINT_ADV_VERSION=9.11.2
KAS_VERSION=5.5
venv=$CACHE_DIR/yocto-lint-venv
stamp=$venv/.pins
want="oelint-adv==$OELINT_ADV_VERSION kas==$KAS_VERSION"

if [ -x "$venv/bin/oelint-adv" ] && [ -x "$venv/bin/kas" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
	log "yocto lint venv up to date ($want)"
	exit 0
fi
log "creating $venv ($want)"
rm -rf "$venv"
python3 -m venv "$venv"
# shellcheck disable=SC2086 # $want is a list of requirement specifiers
"$venv/bin/pip" install --quiet --disable-pip-version-check $want
printf '%s' "$want" >"$stamp"
"$venv/bin/oelint-adv" --version
"$venv/bin/kas" --version
