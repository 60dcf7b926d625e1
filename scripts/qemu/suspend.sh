# The QEMU twin's suspend boots (docs/qemu-twin.md, "System suspend";
# issue 17 item 4): two short boots after the suite, each with the guest's
# initramfs plus a second cpio archive holding scripts/qemu/guest/suspend.sh
# (the kernel unpacks both): "refuse" with the twin's DTB plus
# realtek,refuse-suspend, "default" with the twin's DTB. Each prints
# "suspend: N passed, M failed" last. Source it after build.sh.
# shellcheck shell=bash

# qa_suspend_build SERIES: OUT/suspend/{initrd.gz,refuse.dtb}.
qa_suspend_build() {
	local series=$1 out dir
	out=$(qa_guest_dir "$series")
	dir=$out/suspend
	rm -rf "$dir" && mkdir -p "$dir/extra"
	cp "$QA_GUEST/suspend.sh" "$dir/extra/suspend.sh"
	chmod +x "$dir/extra/suspend.sh"
	(cd "$dir/extra" && find . | cpio -o -H newc --quiet | gzip -1 >"$dir/extra.cpio.gz")
	cat "$out/initrd.gz" "$dir/extra.cpio.gz" >"$dir/initrd.gz"
	cp "$out/virt-amp.dtb" "$dir/refuse.dtb"
	fdtput -t s "$dir/refuse.dtb" /remoteproc-cpu3 realtek,refuse-suspend "" ||
		die "cannot write the refuse-suspend DTB"
}

# qa_suspend_boots SERIES: both boots (qa_extra_boot: their cases in
# scripts/qemu-amp's totals).
qa_suspend_boots() {
	local series=$1 out policy dtb
	out=$(qa_guest_dir "$series")
	qa_suspend_build "$series"
	for policy in refuse default; do
		dtb=$out/virt-amp.dtb
		[ "$policy" = refuse ] && dtb=$out/suspend/refuse.dtb
		qa_extra_boot "$series" suspend "suspend, policy $policy" "$CACHE_DIR/qemu/$series/console-suspend-$policy.log" 1 \
			"${QA_QEMU_MACHINE[@]}" -nographic -no-reboot \
			-kernel "$(dk_image "$series")" -initrd "$out/suspend/initrd.gz" -dtb "$dtb" \
			-append "console=ttyAMA0 maxcpus=3 rdinit=/init quiet amp.mode=suspend amp.policy=$policy" || true
	done
}
