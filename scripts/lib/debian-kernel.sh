# Debian's arm64 kernels, unpacked (never installed) under $CACHE_DIR/kernels.
# Source it after common.sh. SERIES is 6.1 (bookworm) or 6.12
# (bookworm-backports); the exact version is whatever apt offers today.
#
#   dk_prepare SERIES   download and unpack image, headers, kbuild, source
#   dk_version SERIES   the kernel release (uname -r)
#   dk_kdir SERIES      a tree for `make -C KDIR M=... ARCH=arm64`
#   dk_image SERIES     vmlinuz
#   dk_moddir SERIES    lib/modules/<release> of the image
#   dk_srcdir SERIES    the unpacked linux-source tree (for checkpatch,
#                       Kconfig, remoteproc_internal.h, rpmsg bus modules)
# shellcheck shell=bash

dk_root() { printf '%s/kernels/%s\n' "$CACHE_DIR" "$1"; }

# The suite a series comes from: apt's default for 6.1, backports for 6.12.
_dk_meta_version() {
	local series=$1
	apt-cache madison linux-image-arm64:arm64 2>/dev/null |
		awk -F'|' -v s="$series" '{gsub(/ /, "", $2); if (index($2, s ".") == 1) print $2}' |
		sort -V | tail -n1
}

# First dependency of PKG=VER whose name starts with PREFIX. One awk reads
# all of apt-cache's output: a reader that quits early would kill the
# writer with SIGPIPE, which pipefail turns into a random failure.
_dk_dep() {
	apt-cache show "$1=$2" 2>/dev/null | awk -F': ' -v p="$3" '
		/^Depends:/ && found == "" {
			n = split($2, d, /, */)
			for (i = 1; i <= n; i++) {
				sub(/ .*/, "", d[i])
				if (index(d[i], p) == 1) { found = d[i]; break }
			}
		}
		END { if (found != "") print found }'
}

# VERSION.PATCHLEVEL.SUBLEVEL of a kernel Makefile.
_dk_makefile_version() {
	awk '/^VERSION =/ {v = $3} /^PATCHLEVEL =/ {p = $3}
		/^SUBLEVEL =/ {print v "." p "." $3; exit}' "$1"
}

# Unpack linux-source-SERIES at the same upstream version as the headers
# into ROOT/src. apt's candidate can be a newer security upload than the
# image (bookworm-security's 6.12.117 beside backports' 6.12.95), and
# remoteproc_internal.h and the rpmsg sources must match the running kernel.
_dk_source() {
	local root=$1 series=$2 want have pkg tmp
	want=$(_dk_makefile_version "$(find "$root/root/usr/src" -maxdepth 2 \
		-path '*-common/Makefile' -print -quit)")
	if [ -f "$root/src/Makefile" ]; then
		have=$(_dk_makefile_version "$root/src/Makefile")
		[ "$have" = "$want" ] && return 0
		log "linux-source-$series is $have, the image is $want: replacing it"
	fi
	pkg=$(apt-cache madison "linux-source-$series" 2>/dev/null |
		awk -F'|' -v w="$want-" '{gsub(/ /, "", $2); if (index($2, w) == 1) print $2}' |
		sort -uV | tail -n1)
	if [ -n "$pkg" ]; then
		pkg="linux-source-$series=$pkg"
	else
		log "warning: apt has no linux-source-$series $want; using its candidate"
		pkg=linux-source-$series
	fi
	log "unpacking $pkg"
	tmp=$root/src.tmp
	rm -rf "$tmp" && mkdir -p "$tmp/deb" "$tmp/x" "$tmp/src"
	(cd "$tmp/deb" && apt_download "$pkg" >/dev/null) || die "downloading $pkg failed"
	dpkg-deb -x "$tmp"/deb/*.deb "$tmp/x"
	tar -xf "$tmp"/x/usr/src/linux-source-*.tar.xz -C "$tmp/src" --strip-components=1
	rm -rf "$root/src" && mv "$tmp/src" "$root/src" && rm -rf "$tmp"
}

dk_prepare() {
	local series=$1 root meta image headers common kbuild ver
	case "$series" in 6.1 | 6.12) ;; *) die "unknown kernel series '$series' (6.1 or 6.12)" ;; esac
	root=$(dk_root "$series")
	[ -f "$root/.done2" ] && return 0
	if [ -f "$root/.done" ]; then
		# Unpacked before the source was pinned to the image's version.
		apt_update_once
		_dk_source "$root" "$series"
		touch "$root/.done2"
		return 0
	fi
	apt_update_once
	meta=$(_dk_meta_version "$series")
	[ -n "$meta" ] || die "apt offers no linux-image-arm64 $series (run scripts/setup-host)"
	image=$(_dk_dep linux-image-arm64:arm64 "$meta" linux-image-)
	headers=$(_dk_dep linux-headers-arm64:arm64 "$meta" linux-headers-)
	common=$(_dk_dep "$headers:arm64" "$meta" linux-headers-)
	kbuild=$(_dk_dep "$headers:arm64" "$meta" linux-kbuild-)
	ver=${image#linux-image-}
	log "kernel $series: $ver ($meta)"
	rm -rf "$root" && mkdir -p "$root/debs" "$root/root"
	(cd "$root/debs" &&
		apt_download "$image:arm64=$meta" "$headers:arm64=$meta" "$common=$meta" \
			"$kbuild:amd64" >/dev/null) ||
		die "downloading the $series kernel packages failed"
	local deb
	for deb in "$root"/debs/*.deb; do
		dpkg-deb -x "$deb" "$root/root"
	done
	# The arch headers include the -common tree and kbuild by absolute path.
	grep -rlZ --include=Makefile --include='*.mk' "/usr/src/linux-headers-" \
		"$root/root/usr/src" 2>/dev/null |
		xargs -0 -r sed -i "s#/usr/src/linux-headers-#$root/root/usr/src/linux-headers-#g"
	local link
	for link in "$root"/root/usr/src/linux-headers-*/scripts "$root"/root/usr/src/linux-headers-*/tools; do
		[ -L "$link" ] || continue
		case "$(readlink "$link")" in
		/*) ln -sfn "$root/root$(readlink "$link")" "$link" ;;
		esac
	done
	_dk_source "$root" "$series"
	printf '%s\n' "$ver" >"$root/version"
	rm -rf "$root/debs"
	touch "$root/.done" "$root/.done2"
}

dk_version() { cat "$(dk_root "$1")/version"; }
dk_kdir() { printf '%s/root/usr/src/linux-headers-%s\n' "$(dk_root "$1")" "$(dk_version "$1")"; }
dk_image() { printf '%s/root/boot/vmlinuz-%s\n' "$(dk_root "$1")" "$(dk_version "$1")"; }
dk_moddir() { printf '%s/root/lib/modules/%s\n' "$(dk_root "$1")" "$(dk_version "$1")"; }
dk_srcdir() { printf '%s/src\n' "$(dk_root "$1")"; }
