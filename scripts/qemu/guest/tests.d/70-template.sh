# shellcheck shell=sh
# The firmware template (templates/rtd-amp-firmware), rendered as
# cargo-generate renders it and built unmodified (scripts/build-fw-template;
# installed and signed as rtd-amp/my-fw.elf by build.sh), sourced by
# tests.sh: it starts, announces its service and the runtime's control
# service, its service answers with its periodic task's count, the count
# grows between two asks, and the control service reports the task's
# statistics (ampctl tasks). Leaves the firmware stopped.

T70_FW=rtd-amp/my-fw.elf
# t70_ask DEV: one message to the tick-count service, its answer.
t70_ask() { ampt ask "$1" '?'; }
# t70_ticks ANSWER: N of "ticks N", or nothing.
t70_ticks() { printf '%s\n' "$1" | sed -n 's/^ticks \([0-9][0-9]*\)$/\1/p'; }

start_app template "$T70_FW" tick-count
t70_dev=$(ept_open t70-ticks 0x2400 1040)
check "template: endpoint to tick-count (address 1040) created" "device '$t70_dev'" [ -n "$t70_dev" ]
a1=$(t70_ask "$t70_dev")
n1=$(t70_ticks "$a1")
check "template: the service answers 'ticks N'" "answer '$a1'" [ -n "$n1" ]
sleep 1
a2=$(t70_ask "$t70_dev")
n2=$(t70_ticks "$a2")
check "template: the periodic task runs (the count grew in 1 s)" "'$a1' then '$a2'" \
	[ -n "$n2" ] && [ -n "$n1" ] && [ "$n2" -gt "$n1" ]
ampt ept-destroy "$t70_dev" >/dev/null 2>&1
trace=$(cat "$D/trace0" 2>&1)
check "template: its log line in the trace" "trace0: $(printf '%s\n' "$trace" | tail -n 3 | tr '\n' ' ')" \
	matches "$trace" 'my-fw: up'
if [ -x /bin/ampctl ]; then
	tk=$(ampctl tasks 2>&1)
	rc=$?
	printf '%s\n' "$tk" | sed 's/^/  ampctl tasks: /'
	check "template: ampctl tasks reports the task 'tick' (period 10000 us, runs > 0)" "exit $rc: $tk" \
		matches "$(printf '%s\n' "$tk" | sed "s/^/exit $rc: /")" \
		'^exit 0: tick period_us=10000 runs=[1-9][0-9]* overruns=[0-9]+ worst_late_us=[0-9]+(\.[0-9]+)? '
else
	ko "template: ampctl tasks" "no /bin/ampctl in this guest"
fi
stop_fw
echo "$FW" >"$R/firmware"
