# Shared helpers for the scripts in scripts/. Source it; do not run it.
# shellcheck shell=bash

# Repository root, whatever the caller's working directory.
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export REPO_ROOT
# Downloads and build products that are reused between runs (git-ignored).
CACHE_DIR=${AMP_CACHE_DIR:-$REPO_ROOT/.cache}
export CACHE_DIR

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Run as root directly, or through sudo when there is one.
as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# apt-get update at most once per setup run (and not at all when every
# requested package is already installed).
_apt_updated=${_apt_updated:-0}
apt_update_once() {
	if [ "$_apt_updated" = 0 ]; then
		as_root apt-get -o DPkg::Lock::Timeout=600 update -qq
		_apt_updated=1
	fi
}

# _apt_get_install ARG...: the one apt-get install of the setup scripts. A
# fresh machine may still be running unattended upgrades: wait for the dpkg
# lock instead of failing at once.
_apt_get_install() {
	as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 \
		install -y -qq --no-install-recommends "$@" >/dev/null
}

# apt_install [-t SUITE] PKG...: install the packages that are missing.
apt_install() {
	local target=() missing=() p
	if [ "${1:-}" = -t ]; then target=(-t "$2"); shift 2; fi
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	apt_update_once
	log "apt-get install ${missing[*]}"
	_apt_get_install "${target[@]}" "${missing[@]}"
}

# add_apt_suite NAME SUITE: add a Debian suite (e.g. bookworm-backports) as a
# private sources list, pinned low so nothing is taken from it unless asked.
add_apt_suite() {
	local suite=$2 list=/etc/apt/sources.list.d/$1.sources
	[ -f "$list" ] && return 0
	as_root tee "$list" >/dev/null <<SRC
Types: deb
URIs: http://deb.debian.org/debian
Suites: $suite
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
	_apt_updated=0
}

# add_arm64_arch: let apt see arm64 packages (Debian's kernel and busybox for
# the QEMU twin are downloaded with `apt-get download PKG:arm64`, never
# installed).
add_arm64_arch() {
	local foreign
	# Captured first: `cmd | grep -q` under pipefail can fail on SIGPIPE.
	foreign=$(dpkg --print-foreign-architectures)
	grep -qx arm64 <<<"$foreign" && return 0
	as_root dpkg --add-architecture arm64
	_apt_updated=0
}

# install_qemu10: QEMU 10 from bookworm-backports, the first Debian QEMU with
# the cortex-a55 model (bookworm's 7.2 lacks it).
install_qemu10() {
	local ver
	ver=$(dpkg-query -W -f='${Version}' qemu-system-arm 2>/dev/null || true)
	[[ $ver == 1:10.* ]] && return 0
	add_apt_suite backports bookworm-backports
	apt_update_once
	# Not apt_install: it would skip a bookworm 7.2 that is already there.
	log "apt-get install -t bookworm-backports qemu-system-arm"
	_apt_get_install -t bookworm-backports qemu-system-arm
}

# apt_download PKG...: `apt-get download` into the current directory. As
# root, apt fetches as its _apt user, which cannot write into a cache below
# a private directory (and says so on every package); download as ourselves.
apt_download() {
	apt-get -o APT::Sandbox::User="$(id -un)" download -q "$@"
}
