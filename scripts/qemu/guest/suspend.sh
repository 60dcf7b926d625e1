#!/bin/sh
# System suspend (docs/qemu-twin.md, "System suspend"; rtd_amp_pm.c), one
# boot per policy (scripts/qemu/suspend.sh, amp.policy= on the command
# line):
#   refuse   DT with realtek,refuse-suspend: with the firmware running, the
#            write to /sys/power/state fails with EBUSY and one dmesg line;
#            the firmware runs on (its uptime went on), echo works.
#   default  the firmware is stopped before suspend and booted again after
#            resume: the write succeeds, dmesg has both lines, the firmware
#            runs again with a new uptime (it grew less than Linux's clock),
#            its channels are back and echo works.
# The cycles use /sys/power/pm_test "devices": the PM notifiers, the
# freezer and every device's suspend and resume callbacks run, then the
# kernel waits pm_test_delay and resumes; the system does not enter s2idle.
# The last line is "suspend: N passed, M failed".
# shellcheck source=scripts/qemu/guest/lib.sh
. /lib.sh
pass=0
fail=0
policy=$(sed -n 's/.*amp\.policy=\([a-z]*\).*/\1/p' /proc/cmdline)
echo "suspend: policy ${policy:-?}; /sys/power/state: $(cat /sys/power/state); mem_sleep: $(cat /sys/power/mem_sleep 2>/dev/null); pm_test: $(cat /sys/power/pm_test 2>/dev/null)"

# continued UP0 UP1 T0 T1: the firmware's uptime grew by the time Linux saw
# pass (less 500 ms of measuring). restarted: it grew by less than that
# time minus pm_test_delay (1 s), which a stopped and started firmware
# spends off; one that ran through grows by about all of it.
continued() { [ -n "$1" ] && [ -n "$2" ] && [ $(($2 - $1)) -ge $(($4 - $3 - 500)) ]; }
restarted() { [ -n "$1" ] && [ -n "$2" ] && [ $(($2 - $1)) -lt $(($4 - $3 - 1000)) ]; }
# fresh START ECHO UP0 UP1 T0 T1: running again, echo works, restarted.
fresh() { [ "$1" = ok ] && state_is running && [ "$2" = "echo: 20/20 ok" ] && restarted "$3" "$4" "$5" "$6"; }
# refused RC DMESG ECHO: the write failed with EBUSY, the line, echo works.
refused() {
	[ "$1" != 0 ] && grep -q 'Device or resource busy' /tmp/suspend.err &&
		matches "$2" 'suspend refused: the firmware on MPIDR 0x3 runs \(realtek,refuse-suspend\)' &&
		state_is running && [ "$3" = "echo: 20/20 ok" ]
}
# cycled RC DMESG: the write succeeded, stopped before and booted after.
cycled() {
	[ "$1" = 0 ] && matches "$2" 'suspend: stopped the firmware on MPIDR 0x3' &&
		matches "$2" 'resume: the firmware on MPIDR 0x3 booted again'
}

# suspend_cycle: one suspend and resume through pm_test "devices"; sets
# s_rc (the write's status), s_dmesg (the kernel's lines of it).
suspend_cycle() {
	echo devices >/sys/power/pm_test
	echo 1 >/sys/module/suspend/parameters/pm_test_delay
	dmesg -c >/dev/null
	if echo freeze >/sys/power/state 2>/tmp/suspend.err; then s_rc=0; else s_rc=1; fi
	echo none >/sys/power/pm_test
	s_dmesg=$(dmesg | grep -E 'PM: |suspend|resume' | sed 's/^\[[ 0-9.]*\] //')
	printf '%s\n' "$s_dmesg" | sed 's/^/  | /'
}

start_fw
sleep 2
t0=$(ms_now)
up0=$(fw_uptime)
suspend_cycle
if wait_for state_is running && wait_for have_raw; then st=ok; else st=failed; fi
t1=$(ms_now)
up1=$(fw_uptime)
r=$(ampt echo "$(raw_dev)" 20)
case "$policy" in
refuse)
	check "suspend (realtek,refuse-suspend): refused while the firmware runs (EBUSY, one dmesg line), it runs on, echo works" \
		"write status $s_rc ($(cat /tmp/suspend.err)), state $(cat $R/state), $r" refused "$s_rc" "$s_dmesg" "$r"
	check "suspend (realtek,refuse-suspend): the firmware's uptime went on (${up0:-?} -> ${up1:-?} ms over $((t1 - t0)) ms)" \
		"uptime ${up0:-?} then ${up1:-?}" continued "$up0" "$up1" "$t0" "$t1"
	;;
default)
	check "suspend (default policy): the firmware is stopped before suspend and booted again after resume" \
		"write status $s_rc ($(cat /tmp/suspend.err)), dmesg above" cycled "$s_rc" "$s_dmesg"
	check "suspend (default policy): after resume running with a new uptime (${up0:-?} -> ${up1:-?} ms over $((t1 - t0)) ms), channels back, echo works" \
		"running $st, state $(cat $R/state), uptime ${up0:-?} then ${up1:-?}, $r" fresh "$st" "$r" "$up0" "$up1" "$t0" "$t1"
	;;
*) ko "suspend" "no amp.policy on the command line" ;;
esac
stop_fw
echo "suspend: $pass passed, $fail failed"
