#!/bin/sh
# Firmware before Linux (docs/qemu-twin.md, "Firmware before Linux"):
# scripts/qemu-amp test boots the twin through our boot stage
# (scripts/qemu/bootstage/bootstage.S), which started CPU 3 on the firmware
# with PSCI CPU_ON before entering Linux, with amp.mode=bootstage and a DTB
# whose remoteproc node has realtek,auto-boot. /init has loaded the
# modules: the driver must have found the core on with a valid control
# page, registered it detached, and auto-boot attached it at probe. Then
# echo, detach and `echo start` (attach again), stop and a normal start.
# Prints the reset-to-serving and reset-to-attached times (FIGURE lines,
# one sample per boot) and the last line "bootstage: N passed, M failed".
# shellcheck source=scripts/qemu/guest/lib.sh
. /lib.sh
pass=0
fail=0
# wait_long CMD...: wait_for with 30 s (a loaded TCG host is slow).
wait_long() {
	w=300
	while [ $w -gt 0 ]; do
		"$@" 2>/dev/null && return 0
		sleep 0.1
		w=$((w - 1))
	done
	return 1
}
# The driver's and remoteproc's kernel lines of this boot, for the log.
kernel_lines() { dmesg | grep -E 'rtd-amp|remoteproc|rproc|virtio_rpmsg' | head -n 20 | sed 's/^/  kernel: /'; }
if ! [ -e $R/state ]; then
	kernel_lines
	ko "bootstage: a remote processor is registered" "none in /sys/class/remoteproc (the probe failed)"
	echo "bootstage: $pass passed, $fail failed"
	exit 1
fi
# What the boot left. auto-boot attaches from a work item on 6.1
# (rproc_trigger_auto_boot: schedule_work(attach_work)) and within the
# probe on 6.12 (rproc_boot()): wait for it.
wait_long state_is attached
st0=$(cat $R/state)
boot=$(cat $D/rtd_amp_boot)
kernel_lines
# bv KEY: a value of rtd_amp_boot.
bv() { printf '%s\n' "$boot" | sed -n "s/^$1: //p"; }
kmsg=$(dmesg)

k=$(printf '%s\n' "$kmsg" | grep -m1 'registered as detached' || echo none)
check "bootstage: at probe the driver found CPU3 on (AFFINITY_INFO) with a valid control page and registered it detached" \
	"dmesg: $k" [ "$k" != none ]
ka=$(printf '%s\n' "$kmsg" | grep -m1 'attached to the firmware running' || echo none)
loaded=$(printf '%s\n' "$kmsg" | grep -c 'Booting fw image')
check "bootstage: auto-boot attached it at probe (state attached, no CPU_ON from Linux, no image loaded)" \
	"state $st0, started $(bv started), images booted $loaded, dmesg: $ka" \
	sh -c "[ $st0 = attached ] && [ '$(bv started)' = 0 ] && [ $loaded = 0 ] && [ '$ka' != none ]"

# The counter: QEMU's CNTPCT counts from 0 at reset; Linux reads CNTVCT,
# the same value here (no EL2, so no virtual offset). The driver's
# uptimes come from that counter too; /proc/uptime does not (under a
# loaded TCG host it lagged the counter by seconds), so Linux's clock is
# placed on the counter through the attach line: its printk time and the
# firmware's uptime it reports (ms since RUN_CNT).
frq=$(bv linux_cntfrq)
echo "bootstage-frq: $frq"
entry=$(bv fw_entry_counter)
# The control page's RUN_CNT (amp-ctrl-page OFF_RUN_CNT 0x20): the counter
# when the firmware started serving; through /dev/mem (root, the twin).
ctrl=$(od -An -tx1 -v /proc/device-tree/reserved-memory/ctrl@*/reg | tr -d ' \n' | cut -c1-16)
run=$(busybox devmem $((0x$ctrl + 0x20)) 64 2>/dev/null)
run=$((${run:-0}))
# ptime REGEX: the printk time (s) of the first kernel line matching REGEX.
ptime() { printf '%s\n' "$kmsg" | grep -m1 -E "$1" | sed -n 's/^\[ *\([0-9.]*\)\].*/\1/p'; }
at_up=$(printf '%s\n' "$ka" | sed -n 's/.* for \([0-9]*\) ms .*/\1/p')
t_a=$(ptime 'attached to the firmware running')
t_s=$(ptime 'attaching to ')
t_n=$(ptime 'is now attached')
# Counters: at .attach, and at Linux's printk time 0 (both +-1 ms).
at_cnt=$(awk -v r="$run" -v u="${at_up:-0}" -v f="${frq:-1}" 'BEGIN { printf "%.0f", r + u * f / 1000 }')
lx0=$(awk -v c="$at_cnt" -v t="${t_a:-0}" -v f="${frq:-1}" 'BEGIN { printf "%.0f", c - t * f }')
check "bootstage: the firmware entered, then served, before Linux's clock started (counter: entry ${entry:-?}, serving $run, Linux's printk time 0 at $lx0)" \
	"stamp '$(bv stamp)', entry ${entry:-none}, run $run, frq ${frq:-?}, attach line '$ka'" \
	sh -c "[ -n '$entry' ] && [ -n '$frq' ] && [ -n '$at_up' ] && [ -n '$t_a' ] && [ $run -gt 0 ] && [ $entry -le $run ] && [ $run -lt $lx0 ]"

r=$(ampt echo "$(raw_dev)" 20)
check "bootstage: echo through the attached firmware" "$r" [ "$r" = "echo: 20/20 ok" ]

# FIGURE line (one sample per boot): microseconds from reset.
us() { awk -v n="$1" -v f="$frq" 'BEGIN { printf "%.0f", n * 1000000 / f }'; }
if [ -n "$entry" ] && [ "$run" -gt 0 ] && [ -n "$at_up" ] && [ -n "$t_a" ] && [ -n "$t_s" ] && [ -n "$t_n" ]; then
	att=$(awk -v c="$(us "$at_cnt")" -v a="$t_a" -v n="$t_n" 'BEGIN { printf "%.0f", c / 1000 + (n - a) * 1000 }')
	dur=$(awk -v s="$t_s" -v n="$t_n" 'BEGIN { printf "%.0f", (n - s) * 1000000 }')
	echo "FIGURE: firmware before Linux (one boot, TCG; CNTPCT from 0 at reset): reset -> firmware entry $(us "$entry") us, -> serving (RUN_CNT) $(us "$run") us; Linux's printk time 0 at $(($(us "$lx0") / 1000)) ms; reset -> attached (auto-boot at probe, state attached) $att ms; the attach itself ('attaching' -> 'now attached') $dur us"
fi

# detach, then echo start attaches again: the uptime goes on.
up0=$(fw_uptime)
t0=$(ms_now)
echo detach >$R/state && wait_long state_is detached
s1=$(cat $R/state)
a0=$(ms_now)
echo start >$R/state && wait_long state_is attached && wait_long have_raw
a1=$(ms_now)
up1=$(fw_uptime)
t1=$(ms_now)
check "bootstage: echo detach leaves it running, echo start attaches again ($((a1 - a0)) ms), uptime went on (${up0:-?} -> ${up1:-?} ms)" \
	"detached state $s1, now $(cat $R/state), uptime ${up0:-?} then ${up1:-?}" \
	sh -c "[ $s1 = detached ] && [ \"\$(cat $R/state)\" = attached ] && [ -n '$up0' ] && [ -n '$up1' ] && [ $((${up1:-0} - ${up0:-0})) -ge $((t1 - t0 - 500)) ]"
r=$(ampt echo "$(raw_dev)" 20)
check "bootstage: echo after the re-attach" "$r" [ "$r" = "echo: 20/20 ok" ]

# stop powers the boot stage's firmware off; start loads it from the file.
echo stop >$R/state && wait_long state_is offline
s2=$(cat $R/state)
echo "$FW" >$R/firmware && echo start >$R/state && wait_long state_is running && wait_long have_raw
r=$(ampt echo "$(raw_dev)" 20)
check "bootstage: stop powers it off (offline), start loads the firmware from /lib/firmware, echo" \
	"after stop $s2, after start $(cat $R/state), $r" \
	sh -c "[ $s2 = offline ] && [ \"\$(cat $R/state)\" = running ] && [ '$r' = 'echo: 20/20 ok' ]"
echo stop >$R/state && wait_long state_is offline
if dmesg | grep -E 'Internal error|Kernel panic|BUG: |WARNING: CPU|Call trace:' >/tmp/bs-splat; then
	ko "bootstage: kernel log" "$(head -n 3 /tmp/bs-splat)"
fi
echo "bootstage: $pass passed, $fail failed"
