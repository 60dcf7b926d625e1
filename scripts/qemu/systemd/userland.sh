# The systemd twin's Debian arm64 userland: mmdebstrap with the packages of
# packages.list, maintainer scripts under qemu-user (binfmt_misc), cached in
# $CACHE_DIR/qemu/systemd/userland-<hash of packages.list and this file>.tar.
# Sourced by build.sh.
# shellcheck shell=bash

# The userland is cached, keyed by the package list and this file.
qs_userland_key() { _qa_hash "$QS_DIR/packages.list" "$QS_DIR/userland.sh"; }

# binfmt_misc: the arm64 maintainer scripts run under qemu-user. The
# registration is the kernel's (lost on reboot): mount and register here,
# idempotently, from the file qemu-user-static installs ("F": the
# interpreter is opened now, so it works inside the chroot).
qs_binfmt() {
	local reg=/proc/sys/fs/binfmt_misc
	[ -e "$reg/register" ] || as_root mount -t binfmt_misc binfmt_misc "$reg" ||
		die "cannot mount binfmt_misc: the systemd twin needs it (qemu-user-static)"
	if [ ! -e "$reg/qemu-aarch64" ]; then
		[ -f /usr/lib/binfmt.d/qemu-aarch64.conf ] || die "qemu-user-static missing: run scripts/setup-host"
		as_root sh -c "cat /usr/lib/binfmt.d/qemu-aarch64.conf >$reg/register"
	fi
	grep -q '^enabled' "$reg/qemu-aarch64" || die "binfmt_misc: qemu-aarch64 is registered but disabled"
	arch-test arm64 >/dev/null || die "arm64 binaries do not run under qemu-user (arch-test arm64)"
}

# qs_userland: prints the path of the cached userland tarball, building it
# with mmdebstrap when the package list (or this file) changed.
qs_userland() {
	local dir=$CACHE_DIR/qemu/systemd key tar suite pkgs start
	key=$(qs_userland_key)
	tar=$dir/userland-$key.tar
	if [ -f "$tar" ]; then
		echo "$tar"
		return 0
	fi
	qs_binfmt
	mkdir -p "$dir"
	suite=$(sed -n 's/^suite //p' "$QS_DIR/packages.list")
	pkgs=$(grep -vE '^(#|suite |$)' "$QS_DIR/packages.list" | paste -sd, -)
	log "building the systemd twin's Debian $suite arm64 userland ($pkgs) with mmdebstrap"
	start=$(date +%s)
	rm -rf "$dir"/userland-*.tar "$dir"/userland-*.tar.tmp
	# --format: mmdebstrap picks the format from the file name's ending,
	# and ".tmp" is none it knows: it would write a directory.
	if ! mmdebstrap --format=tar --architectures=arm64 --variant=minbase --include="$pkgs" \
		--dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
		--dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
		"$suite" "$tar.tmp" http://deb.debian.org/debian >"$dir/mmdebstrap.log" 2>&1; then
		tail -n 30 "$dir/mmdebstrap.log" >&2
		die "mmdebstrap failed (log: $dir/mmdebstrap.log)"
	fi
	mv "$tar.tmp" "$tar"
	log "userland built in $(($(date +%s) - start)) s ($(du -m "$tar" | cut -f1) MiB)"
	echo "$tar"
}
