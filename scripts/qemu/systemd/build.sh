# The systemd twin's guest (scripts/qemu-amp --init systemd): a Debian arm64
# userland with systemd and udev from Debian's packages (packages.list),
# the layer's files installed by scripts/install-target exactly as the
# recipes install them, the group from the recipe's GROUPADD_PARAM, Debian's
# kernel modules plus ours (udev loads them from their modaliases, as on the
# board), the firmware, on an ext4 disk image for virtio-blk, and a small
# initramfs that mounts it (Debian builds virtio_blk and ext4 as modules).
# Source it after common.sh, debian-kernel.sh and scripts/qemu/build.sh: it
# reuses qa_build_guest's products (modules, DTB, firmware, static tools).
# shellcheck shell=bash

QS_DIR=$REPO_ROOT/scripts/qemu/systemd
# shellcheck source=scripts/qemu/systemd/userland.sh
. "$QS_DIR/userland.sh"
QS_RECIPE=$REPO_ROOT/recipes-openamp/rtd-amp-tools/rtd-amp-tools_0.1.0.bb

# The recipe's own definitions, so the twin uses what the image uses.
qs_recipe_var() { sed -n "s/^$1 ??= \"\\(.*\\)\"\$/\\1/p" "$QS_RECIPE"; }
qs_recipe_group() { qs_recipe_var RTD_AMP_GROUP; }
# qs_recipe_param GROUPADD_PARAM|USERADD_PARAM: the daemon package's value,
# with the recipe's names filled in.
qs_recipe_param() {
	# shellcheck disable=SC2016 # ${PN} and ${RTD_AMP_*} are BitBake's
	sed -n "s/^$1:\${PN}-daemon = \"\\(.*\\)\"\$/\\1/p" "$QS_RECIPE" |
		sed -e "s/\${RTD_AMP_GROUP}/$(qs_recipe_group)/g" \
			-e "s/\${RTD_AMP_ADMIN_GROUP}/$(qs_recipe_var RTD_AMP_ADMIN_GROUP)/g" \
			-e "s/\${RTD_AMP_USER}/$(qs_recipe_var RTD_AMP_USER)/g"
}

# The initramfs that mounts the disk: busybox, virtio_pci (a module in 6.1),
# virtio_blk, ext4.
_qs_initrd() {
	local series=$1 out=$2 r=$2/sd-initrd a m
	rm -rf "$r"
	mkdir -p "$r"/{bin,proc,sys,dev,lib/modules}
	cp "$CACHE_DIR/qemu/busybox/bin/busybox" "$r/bin/"
	for a in sh mount umount insmod sleep mkdir poweroff switch_root echo; do
		ln -sf busybox "$r/bin/$a"
	done
	# In load order; those the kernel has built in are left out (6.12 has
	# virtio_pci built in, 6.1 as modules).
	for m in virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk crc16 mbcache crc32c_generic jbd2 ext4; do
		[ -n "$(find "$(dk_moddir "$series")/kernel" -name "$m.ko*" -print -quit)" ] || continue
		_qa_image_module "$series" "$m" "$r/lib/modules"
		echo "$m" >>"$r/lib/modules/order"
	done
	install -m 0755 "$QS_DIR/guest/initrd-init" "$r/init"
	(cd "$r" && find . | cpio -o -H newc --quiet | gzip -1 >"$out/sd-initrd.gz")
}

# qs_build_guest SERIES: $out/sd-rootfs.img and $out/sd-initrd.gz.
qs_build_guest() {
	local series=$1 out root tar ver group mb
	qa_build_guest "$series"
	out=$(qa_guest_dir "$series")
	if [ ! -x "$out/root/bin/rtd-ampd" ] || [ ! -x "$out/root/bin/ampctl" ]; then
		die "the twin build produced no rtd-ampd/ampctl (scripts/build-host-aarch64)"
	fi
	tar=$(qs_userland)
	ver=$(dk_version "$series")
	group=$(qs_recipe_group)
	[ -n "$group" ] || die "no RTD_AMP_GROUP in $QS_RECIPE"

	root=$out/sd-root
	rm -rf "$root"
	mkdir -p "$root"
	tar -xf "$tar" -C "$root"

	# The layer's files, as the recipes' do_install put them (usrmerge
	# layout: Debian's /lib is a link to /usr/lib, as in a Yocto image with
	# systemd + usrmerge). The static tools come from build-host-aarch64;
	# librtdamp is not built for the twin (WITH_LIB=no). The firmware with
	# its signature: rtd_amp_rproc carries the twin's test certificate and
	# so refuses an unsigned image (docs/kernel.md, "Firmware signatures").
	"$REPO_ROOT/scripts/install-target" tools firmware group user DESTDIR="$root" \
		prefix=/usr sysconfdir=/etc nonarch_base_libdir=/usr/lib \
		RTD_AMP_GROUP="$group" RTD_AMP_ADMIN_GROUP="$(qs_recipe_var RTD_AMP_ADMIN_GROUP)" \
		RTD_AMP_USER="$(qs_recipe_var RTD_AMP_USER)" \
		GROUPADD_PARAM="$(qs_recipe_param GROUPADD_PARAM)" USERADD_PARAM="$(qs_recipe_param USERADD_PARAM)" \
		BUILDDIR="$out/root/bin" WITH_LIB=no \
		FIRMWARE="$out/root/lib/firmware/rtd-amp/rtd-amp-fw.elf:rtd-amp-fw.elf
			$out/root/lib/firmware/rtd-amp/rtd-amp-fw.elf.p7s:rtd-amp-fw.elf.p7s"
	# The certificate rtd_amp_rproc carries, where rtd-amp-firmware installs
	# it (rtd_amp_fw_sign.bbclass): rtd-ampd's check trusts it by default.
	install -D -m 0644 "$out/root/etc/rtd-amp/fw-signing.pem" "$root/etc/rtd-amp/fw-signing.pem"
	# Enabled as systemd's preset / Yocto's systemd class would.
	ln -sf /usr/lib/systemd/system/rtd-ampd.service "$root/etc/systemd/system/multi-user.target.wants/rtd-ampd.service"

	# Debian's modules and ours, found by udev from their modaliases.
	local md=$root/usr/lib/modules/$ver
	mkdir -p "$md/updates"
	cp -a "$(dk_moddir "$series")"/. "$md/"
	rm -f "$md/build" "$md/source"
	cp "$out"/rpmsg/*.ko "$out"/rtd-amp/*.ko "$md/updates/"
	depmod -b "$root" "$ver"

	# The twin's harness (not part of the layer): test tool, suite, its unit.
	install -m 0755 "$out/ampt" "$root/usr/local/bin/ampt"
	install -d "$root/usr/local/lib/rtd-amp-twin"
	install -m 0755 "$QS_DIR/guest/tests.sh" "$root/usr/local/lib/rtd-amp-twin/tests.sh"
	install -m 0644 "$QS_DIR/guest/rtd-amp-twin-tests.service" "$root/etc/systemd/system/"
	ln -sf ../rtd-amp-twin-tests.service "$root/etc/systemd/system/multi-user.target.wants/rtd-amp-twin-tests.service"
	echo "$group" >"$root/etc/rtd-amp-twin-group"
	qs_recipe_var RTD_AMP_ADMIN_GROUP >"$root/etc/rtd-amp-twin-admin-group"
	qs_recipe_var RTD_AMP_USER >"$root/etc/rtd-amp-twin-user"
	echo rtd-amp-twin >"$root/etc/hostname"
	echo "/dev/vda / ext4 rw,errors=remount-ro 0 1" >"$root/etc/fstab"
	# Persistent journal: the suite reads the previous boot's shutdown.
	mkdir -p "$root/var/log/journal"
	# Root logs in without a password on the console (scripts/qemu-amp shell).
	sed -i 's/^root:[^:]*:/root::/' "$root/etc/shadow"
	# A machine ID of its own: an empty one would make boot 1 a "first
	# boot" (systemd-firstboot) and give boot 2 another journal directory.
	od -An -tx1 -N16 /dev/urandom | tr -d ' \n' >"$root/etc/machine-id"
	echo >>"$root/etc/machine-id"

	mb=$(du -sm "$root" | cut -f1)
	rm -f "$out/sd-rootfs.img"
	mkfs.ext4 -q -F -L rtd-amp-root -d "$root" "$out/sd-rootfs.img" "$((mb + mb / 4 + 128))M" ||
		die "mkfs.ext4 -d failed"
	_qs_initrd "$series" "$out"
}
