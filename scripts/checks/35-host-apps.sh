#!/usr/bin/env bash
# Daemon, CLI and C API beyond the workspace `cargo test` (stage 10):
#  * the static aarch64 builds of rtd-ampd and ampctl (scripts/build-host-aarch64)
#    really are static aarch64 executables;
#  * the man pages and shell completions generated from clap cover every command;
#  * the shipped daemon config passes `rtd-ampd --check-config`;
#  * the C API's hand-written header declares every exported function and its
#    C example, compiled with the `cc` crate, runs against the test double
#    (cargo test -p amp-capi; also part of stage 10).
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
cd "$REPO_ROOT/rust"

cargo build --locked -q -p ampctl -p rtd-ampd --bins
host_bin=$REPO_ROOT/rust/target/debug

"$host_bin/rtd-ampd" --check-config --config crates/rtd-ampd/rtd-ampd.toml

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$host_bin/ampctl" generate man "$work/man"
for shell in bash zsh fish; do
	"$host_bin/ampctl" generate completions "$shell" >"$work/ampctl.$shell"
done
# Every visible subcommand from `ampctl --help` must be in the man pages and completions.
mapfile -t cmds < <("$host_bin/ampctl" --help | awk '/^Commands:/{on=1;next} on&&/^$/{on=0} on&&/^  [a-z]/{print $1}' | grep -v '^help$')
[ "${#cmds[@]}" -ge 15 ] || die "ampctl --help lists only ${#cmds[@]} commands: ${cmds[*]}"
for c in "${cmds[@]}"; do
	grep -q "ampctl\\\\-$c\|ampctl-$c" "$work/man/ampctl.1" || die "man page ampctl.1 does not mention $c"
	[ -f "$work/man/ampctl-$c.1" ] || die "no man page ampctl-$c.1"
	for shell in bash zsh fish; do
		grep -qw -- "$c" "$work/ampctl.$shell" || die "$shell completion lacks $c"
	done
done
log "man pages and completions cover ${#cmds[@]} commands: ${cmds[*]}"

cargo test --locked -q -p amp-capi

mapfile -t bins < <("$REPO_ROOT/scripts/build-host-aarch64")
[ "${#bins[@]}" -eq 2 ] || die "build-host-aarch64 printed ${#bins[@]} lines, expected 2"
for b in "${bins[@]}"; do
	desc=$(file -b "$b")
	case "$desc" in
	*"ARM aarch64"*) ;;
	*) die "$b is not aarch64: $desc" ;;
	esac
	case "$desc" in
	*"statically linked"* | *"static-pie linked"*) ;;
	*) die "$b is not static: $desc" ;;
	esac
	log "$(basename "$b"): $(stat -c %s "$b") bytes, $desc"
done
