#!/bin/sh
# Reboot and kexec (docs/qemu-twin.md, "Kexec"; rtd_amp_pm.c, the
# driver's .shutdown): three kernels in one QEMU boot (scripts/qemu/kexec.sh),
# each told its phase by amp.phase= on its command line, the counts and the
# firmware's uptime carried there too.
#   1  DT with realtek,keep-running: the policy reaches keep_running; the
#      firmware is started; kexec into 2 with the twin's default DTB.
#   2  keep running: the new kernel finds the core running and registers it
#      detached, start attaches (state attached), the firmware's uptime went
#      on across the kexec, echo works. keep_running is N (default DT):
#      kexec into 3 from attached.
#   3  stop: the new kernel finds the core off (offline, not detached);
#      start boots it (AFFINITY_INFO said off before CPU_ON), echo works.
# The last line is "kexec: N passed, M failed".
# shellcheck source=scripts/qemu/guest/lib.sh
. /lib.sh
arg() { sed -n "s/.*amp\\.$1=\\([0-9]*\\).*/\\1/p" /proc/cmdline; }
phase=$(arg phase)
pass=$(arg pass)
fail=$(arg fail)
pass=${pass:-0}
fail=${fail:-0}
echo "kexec: phase $phase (Linux $(uname -r))"

# kexec_to PHASE [UP]: the next kernel with the twin's default DTB and this
# rootfs as its initramfs; only returns when kexec failed, after the
# summary line.
kexec_to() {
	t0=$(ms_now)
	# Phase 3 kexecs no further: its initramfs goes without the Image.
	(cd / && if [ "$1" = 3 ]; then find . -xdev ! -path ./kexec/Image; else find . -xdev; fi |
		cpio -o -H newc >/tmp/next.cpio 2>/dev/null)
	if ! kexec -l /kexec/Image --initrd=/tmp/next.cpio --dtb=/kexec/virt-amp.dtb \
		--append="console=ttyAMA0 maxcpus=3 rdinit=/init quiet amp.mode=kexec amp.phase=$1 amp.pass=$pass amp.fail=$fail${2:+ amp.up0=$2}"; then
		ko "kexec: load the next kernel (phase $1)" "kexec -l failed"
		echo "kexec: $pass passed, $fail failed"
		return 1
	fi
	echo "FIGURE: kexec (QEMU TCG, one run): packing the rootfs as the next initramfs ($(($(wc -c </tmp/next.cpio) / 1048576)) MiB) and kexec -l took $(($(ms_now) - t0)) ms"
	echo "kexec: phase $phase -> $1"
	# The driver's .shutdown line on the console.
	echo 6 >/proc/sys/kernel/printk
	kexec -e
	ko "kexec: into phase $1" "kexec -e returned"
	echo "kexec: $pass passed, $fail failed"
	return 1
}

case "$phase" in
1)
	k=$(cat $R/device/keep_running 2>/dev/null)
	check "kexec: realtek,keep-running in the DT sets keep_running" "keep_running '$k'" [ "$k" = Y ]
	start_fw
	r=$(ampt echo "$(raw_dev)" 10)
	check "kexec: the firmware runs before the kexec, echo works" "state $(cat $R/state), $r" \
		sh -c "[ \"\$(cat $R/state)\" = running ] && [ '$r' = 'echo: 10/10 ok' ]"
	sleep 2
	up0=$(fw_uptime)
	kexec_to 2 "$up0"
	;;
2)
	up0=$(arg up0)
	s=$(cat $R/state)
	k=$(dmesg | grep -m1 'registered as detached' | sed 's/^\[[ 0-9.]*\] //')
	echo "  kernel: $k"
	check "kexec (keep-running): the new kernel finds the firmware running and registers it detached" \
		"state $s, dmesg '$k'" [ "$s" = detached ]
	if echo start >$R/state && wait_for state_is attached && wait_for have_raw; then st=ok; else st=failed; fi
	t1=$(ms_now)
	up1=$(fw_uptime)
	r=$(ampt echo "$(raw_dev)" 20)
	# Went on: it grew by at least this kernel's uptime (t1, Linux's clock
	# began again at the kexec); a firmware booted in this kernel is younger.
	check "kexec (keep-running): start attaches (state attached), the firmware's uptime went on across the kexec (${up0:-?} -> ${up1:-?} ms, this kernel up $t1 ms), echo works" \
		"start $st, state $(cat $R/state), uptime ${up0:-?} then ${up1:-?}, $r" \
		sh -c "[ $st = ok ] && [ \"\$(cat $R/state)\" = attached ] && [ -n '$up0' ] && [ -n '$up1' ] && [ $((${up1:-0} - ${up0:-0})) -ge $t1 ] && [ '$r' = 'echo: 20/20 ok' ]"
	[ -n "$up0" ] && [ -n "$up1" ] &&
		echo "FIGURE: kexec with keep-running (QEMU TCG, one run): $((up1 - up0)) ms of firmware uptime from before packing and loading the next kernel (the line above) through kexec -e and its boot to attached with its rpmsg-raw device"
	k=$(cat $R/device/keep_running)
	check "kexec: without realtek,keep-running keep_running is N" "keep_running '$k'" [ "$k" = N ]
	kexec_to 3
	;;
3)
	s=$(cat $R/state)
	k=$(dmesg | grep -c 'registered as detached')
	check "kexec (stop): the new kernel finds the core off: offline, not detached" "state $s, $k 'registered as detached' lines" \
		sh -c "[ $s = offline ] && [ $k = 0 ]"
	dmesg -c >/dev/null
	if start_fw; then st=ok; else st=failed; fi
	a=$(sed -n 's/^affinity_before_cpu_on: //p' $D/rtd_amp_boot)
	k=$(dmesg | grep -c 'asking the firmware there to stop first')
	r=$(ampt echo "$(raw_dev)" 20)
	check "kexec (stop): start finds the core powered off (AFFINITY_INFO ${a:-?}) and boots it, echo works" \
		"start $st, state $(cat $R/state), affinity_before_cpu_on '$a', $k stop-first lines, $r" \
		sh -c "[ $st = ok ] && [ '$a' = 1 ] && [ $k = 0 ] && [ '$r' = 'echo: 20/20 ok' ]"
	stop_fw
	echo "kexec: $pass passed, $fail failed"
	;;
*)
	ko "kexec" "no amp.phase on the command line"
	echo "kexec: $pass passed, $fail failed"
	;;
esac
