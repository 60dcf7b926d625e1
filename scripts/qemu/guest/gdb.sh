#!/bin/sh
# The guest's side of scripts/qemu-amp debug (scripts/qemu/debug.sh).
#
#   gdb.sh shell   (amp.mode=debug) start the firmware, then a shell on the
#                  console for the developer, lib.sh's helpers loaded
#   gdb.sh batch   (amp.mode=gdb, the CI session) start the firmware and
#                  send two echoes of 1 and 38 bytes (ampt echo DEV 2) while
#                  gdb on the host stops CPU3 in the echo service's handler
#                  for each (scripts/qemu/echo-break.gdb); then check the
#                  echoes came back intact, that Linux logged nothing about
#                  the stops, and that the firmware still runs. The host
#                  checks what gdb read.
# shellcheck source=scripts/qemu/guest/lib.sh
. /lib.sh
pass=0 fail=0
if [ "${1:-}" = shell ]; then
	start_fw || echo "gdb: the firmware did not start (state $(cat $R/state))"
	echo "gdb: firmware $(cat $R/firmware) $(cat $R/state) on CPU3; echo service on $(raw_dev)"
	echo "gdb: try: ampt echo \$(raw_dev) 2   (stop_fw / start_fw restart it; exit powers off)"
	setsid sh -c 'ENV=/lib.sh exec sh </dev/ttyAMA0 >/dev/ttyAMA0 2>&1'
	exit 0
fi
# The host's gdb holds CPU3 at each breakpoint for a few seconds of wall
# time (all-stop: every vCPU and QEMU's virtual clock stop with it).
check gdb-start-fw "the firmware did not start" start_fw
# Only what the kernel logs from here on counts for gdb-no-stall below.
dmesg -c >/dev/null
t0=$(cut -d' ' -f1 /proc/uptime)
check gdb-echo "the echoes through the breakpoints did not come back intact" \
	ampt echo "$(raw_dev)" 2
t1=$(cut -d' ' -f1 /proc/uptime)
# Guest time across both stops: QEMU stops its virtual clock, the guest's
# counter, while gdb holds the VM, so this stays well below the host's hold.
echo "gdb-guest: the two echoes took $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s of guest time"
# A stop the guest could see would show as a stall, a lockup or a
# clocksource complaint in the kernel log.
check gdb-no-stall "the kernel log reports a stall after the stops" \
	sh -c '! dmesg | grep -iE "stall|lockup|hung_task|clocksource|watchdog"'
check gdb-fw-running "the firmware is not running after the session" state_is running
stop_fw
echo "gdb-guest: $pass passed, $fail failed"
