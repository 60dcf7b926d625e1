# The QEMU twin's kexec boot (docs/qemu-twin.md, "Kexec"; issue 17 item 3):
# one QEMU boot, three kernels chained with Debian's kexec-tools
# (scripts/qemu/guest/kexec.sh): keep running across a kexec, then stop
# across one. The initramfs is the usual guest plus /kexec: Linux's Image,
# the DTB the later kernels get, Debian's kexec-tools with its libraries
# and the guest script. Source it after build.sh.
# shellcheck shell=bash

# The machine: the twin's, without the GIC's ITS. With an ITS, Linux
# enables LPIs in the redistributors, which cannot be turned off again, and
# keeps their tables for the next kernel only through EFI's persistent
# memreserve (gic_reserve_range(), drivers/irqchip/irq-gic-v3-its.c of
# 6.12). A -kernel boot has no EFI: kexec-tools placed the new kernel over
# the old LPI property table (0x43200000, inside the new Image at
# 0x42a00000) and the new kernel, finding LPIs on, took that table from
# GICR_PROPBASER and filled it with 0xc2 (GICV3_PRIO_IRQ | LPI_PROP_GROUP1,
# gic_reset_prop_table()): its own text (Oops at led_trigger_register,
# "Code: c2c2c2c2"). Measured with no rtd-amp module loaded too. The
# twin's devices use no MSI; Realtek's RTD16xx DT has no ITS node
# (arch/arm64/boot/dts/realtek/rtd16xx.dtsi, gic: GICD and GICR only).
QA_KEXEC_MACHINE=("${QA_QEMU_MACHINE[@]}")
QA_KEXEC_MACHINE[1]=${QA_KEXEC_MACHINE[1]},its=off

# The packages of Debian's arm64 /sbin/kexec and the libraries it links,
# directly or not (kexec-tools links libxenctrl, of libxenmisc4.17, for Xen).
QA_KEXEC_PKGS="kexec-tools libc6 zlib1g libxenmisc4.17 libext2fs2 libcom-err2 libfdt1 libuuid1
	libxencall1 libxendevicemodel1 libxenevtchn1 libxenforeignmemory1 libxengnttab1
	libxenhypfs1 libxenstore4 libxentoollog1 libxentoolcore1 libyajl2"

# qa_kexec_tools: those packages for arm64, unpacked in
# $CACHE_DIR/qemu/kexec-tools/root, fetched as qa_busybox fetches busybox.
qa_kexec_tools() {
	local out=$CACHE_DIR/qemu/kexec-tools d p pkgs=()
	[ -x "$out/root/sbin/kexec" ] && return 0
	log "fetching kexec-tools:arm64 and its libraries"
	rm -rf "$out" && mkdir -p "$out/deb" "$out/root"
	for p in $QA_KEXEC_PKGS; do pkgs+=("$p:arm64"); done
	if ! (cd "$out/deb" && apt_download "${pkgs[@]}" >download.log 2>&1); then
		cat "$out/deb/download.log" >&2
	fi
	for d in "$out"/deb/*.deb; do dpkg-deb -x "$d" "$out/root"; done
	[ -x "$out/root/sbin/kexec" ] || die "kexec-tools:arm64 could not be fetched"
}

# qa_kexec_build SERIES: OUT/kexec/{initrd.gz,virt-amp.dtb,keep.dtb}: the
# guest's initramfs with /kexec appended (a second cpio archive: the kernel
# unpacks both), the DT of QA_KEXEC_MACHINE with the twin's overlay, and
# that DT with realtek,keep-running for the first kernel.
qa_kexec_build() {
	local series=$1 out dir x so lib p f
	out=$(qa_guest_dir "$series")
	dir=$out/kexec
	x=$dir/extra
	qa_kexec_tools
	rm -rf "$dir" && mkdir -p "$x/kexec" "$x/sbin" "$x/lib/aarch64-linux-gnu"
	qa_virt_dtb "$dir" "${QA_KEXEC_MACHINE[@]}" || die "cannot build QEMU's virt DT without the ITS"
	fdtoverlay -i "$dir/virt-labelled.dtb" -o "$dir/virt-amp.dtb" "$out/qemu-virt-amp.dtbo"
	cp "$(dk_image "$series")" "$x/kexec/Image"
	# Without QEMU's seeds: kexec-tools refuses a DTB whose kaslr-seed is
	# not zero (the booted kernel wipes its own copy) and writes a new one.
	cp "$dir/virt-amp.dtb" "$x/kexec/virt-amp.dtb"
	for p in kaslr-seed rng-seed; do
		if fdtget "$x/kexec/virt-amp.dtb" /chosen "$p" >/dev/null 2>&1; then
			fdtput -d "$x/kexec/virt-amp.dtb" /chosen "$p" || die "cannot remove /chosen/$p"
		fi
	done
	cp "$QA_GUEST/kexec.sh" "$x/kexec.sh"
	chmod +x "$x/kexec.sh"
	so=$CACHE_DIR/qemu/kexec-tools/root
	cp "$so/sbin/kexec" "$x/sbin/kexec"
	cp -L "$so/lib/ld-linux-aarch64.so.1" "$x/lib/" 2>/dev/null ||
		cp -L "$so/usr/lib/ld-linux-aarch64.so.1" "$x/lib/" ||
		die "no ld-linux-aarch64.so.1 in libc6:arm64"
	# Every library kexec needs, and what those need, once each.
	local todo=("$so/sbin/kexec")
	while [ ${#todo[@]} -gt 0 ]; do
		f=${todo[0]}
		todo=("${todo[@]:1}")
		for lib in $(aarch64-linux-gnu-readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
			[ "$lib" = ld-linux-aarch64.so.1 ] && continue
			[ -e "$x/lib/aarch64-linux-gnu/$lib" ] && continue
			p=$(find "$so" -name "$lib" -print -quit)
			[ -n "$p" ] || die "kexec needs $lib, in none of QA_KEXEC_PKGS"
			cp -L "$p" "$x/lib/aarch64-linux-gnu/"
			todo+=("$x/lib/aarch64-linux-gnu/$lib")
		done
	done
	(cd "$x" && find . | cpio -o -H newc --quiet | gzip -1 >"$dir/extra.cpio.gz")
	cat "$out/initrd.gz" "$dir/extra.cpio.gz" >"$dir/initrd.gz"
	cp "$dir/virt-amp.dtb" "$dir/keep.dtb"
	fdtput -t s "$dir/keep.dtb" /remoteproc-cpu3 realtek,keep-running "" ||
		die "cannot write the keep-running DTB"
}

# qa_kexec_boots SERIES: the boot (qa_extra_boot: its cases in
# scripts/qemu-amp's totals) and its FIGURE lines.
qa_kexec_boots() {
	local series=$1 out logfile
	out=$(qa_guest_dir "$series")
	qa_kexec_build "$series"
	logfile=$CACHE_DIR/qemu/$series/console-kexec.log
	# Three kernel boots: twice the timeout of one.
	AMP_QEMU_TIMEOUT=${AMP_QEMU_TIMEOUT:-600} qa_extra_boot "$series" kexec "kexec (3 kernels in one boot)" "$logfile" 1 \
		"${QA_KEXEC_MACHINE[@]}" -nographic -no-reboot \
		-kernel "$(dk_image "$series")" -initrd "$out/kexec/initrd.gz" -dtb "$out/kexec/keep.dtb" \
		-append "console=ttyAMA0 maxcpus=3 rdinit=/init quiet amp.mode=kexec amp.phase=1" || return 0
	tr -d '\r' <"$logfile" | sed -n "s/^FIGURE: /  Linux $series: /p" >&2
}
