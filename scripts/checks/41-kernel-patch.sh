#!/usr/bin/env bash
# The layer's kernel patches (recipes-kernel/linux/files/*.patch, applied by
# the linux-yocto bbappend when the rtd-amp DISTRO_FEATURE is set): each has
# an Upstream-Status, passes checkpatch --strict, applies to Debian's 6.1
# and 6.12 linux-source, and the files it touches compile there with W=1
# and no warning. The QEMU twin boots Debian's own kernels, which are not
# rebuilt (see docs/kernel.md, "Firmware rules"), so this is as far as the
# patched generic code is exercised here.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source=scripts/lib/debian-kernel.sh
. "$REPO_ROOT/scripts/lib/debian-kernel.sh"

work=$CACHE_DIR/kernel-patch
fail=0
bad() { printf 'FAIL: %s\n' "$*" >&2; fail=1; }
mapfile -t patches < <(find "$REPO_ROOT/recipes-kernel/linux/files" -name '*.patch' | sort)
[ ${#patches[@]} -gt 0 ] || die "no kernel patches found"
for series in 6.1 6.12; do
	dk_prepare "$series"
	src=$(dk_srcdir "$series")
	tree=$work/$series
	rm -rf "$tree" && mkdir -p "$tree"
	for p in "${patches[@]}"; do
		name=$(basename "$p")
		grep -q '^Upstream-Status: ' "$p" || bad "$name has no Upstream-Status"
		if [ "$series" = 6.1 ]; then
			perl "$src/scripts/checkpatch.pl" --strict --no-tree --quiet "$p" || bad "checkpatch --strict: $name"
		fi
		# The patched files, copied with the headers of their directories.
		while read -r f; do
			mkdir -p "$tree/$(dirname "$f")"
			cp "$src/$f" "$tree/$f"
			cp "$src/$(dirname "$f")"/*.h "$tree/$(dirname "$f")/"
		done < <(sed -n 's#^+++ b/##p' "$p")
		(cd "$tree" && patch -s -p1 --no-backup-if-mismatch <"$p") || bad "$name does not apply to $series"
	done
	log "patched files against $(dk_version "$series") (W=1)"
	for dir in $(find "$tree" -name '*.c' -printf '%h\n' | sort -u); do
		objs=$(find "$dir" -maxdepth 1 -name '*.c' -printf '%f\n' | sed 's#\.c$#.o#' | tr '\n' ' ')
		echo "obj-m := $objs" >"$dir/Kbuild"
		# shellcheck disable=SC2086 # one word per object
		if ! make -s -C "$(dk_kdir "$series")" M="$dir" ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- \
			W=1 $objs >"$dir/build.log" 2>&1; then
			cat "$dir/build.log" >&2
			bad "patched files do not build against $series"
		elif grep -E 'warning:|error:' "$dir/build.log" >&2; then
			bad "compiler warnings in the patched files against $series"
		fi
	done
done
exit "$fail"
