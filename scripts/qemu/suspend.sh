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

# qa_suspend_boots SERIES: both boots; adds their cases to scripts/qemu-amp's
# totals (total_pass, total_fail, status).
# shellcheck disable=SC2034 # status: scripts/qemu-amp's
qa_suspend_boots() {
	local series=$1 out policy dtb logfile line p n start
	out=$(qa_guest_dir "$series")
	qa_suspend_build "$series"
	for policy in refuse default; do
		dtb=$out/virt-amp.dtb
		[ "$policy" = refuse ] && dtb=$out/suspend/refuse.dtb
		logfile=$CACHE_DIR/qemu/$series/console-suspend-$policy.log
		start=$(date +%s)
		qa_run_console "$logfile" "${AMP_QEMU_TIMEOUT:-300}" "${QA_QEMU_MACHINE[@]}" -nographic -no-reboot \
			-kernel "$(dk_image "$series")" -initrd "$out/suspend/initrd.gz" -dtb "$dtb" \
			-append "console=ttyAMA0 maxcpus=3 rdinit=/init quiet amp.mode=suspend amp.policy=$policy"
		line=$(tr -d '\r' <"$logfile" | grep -aE '^suspend: [0-9]+ passed, [0-9]+ failed$' | tail -n1 || true)
		if [ -z "$line" ] || tr -d '\r' <"$logfile" | grep -aE 'Internal error|Kernel panic|BUG: |Call trace:' >&2; then
			log "Linux $series: the suspend boot '$policy' did not finish cleanly (see $logfile)"
			status=1
			total_fail=$((total_fail + 1))
			continue
		fi
		p=${line#suspend: }
		p=${p%% passed*}
		n=${line#*, }
		n=${n%% failed}
		total_pass=$((total_pass + p))
		total_fail=$((total_fail + n))
		log "Linux $series: suspend, policy $policy: $p passed, $n failed in $(($(date +%s) - start)) s (console: $logfile)"
		[ "$n" = 0 ] || status=1
	done
}
