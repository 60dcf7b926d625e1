# shellcheck shell=sh
# The runtime's second example application (rust/firmware/rtd-amp-example,
# built and signed by build.sh as rtd-amp/rtd-amp-example.elf), sourced by
# tests.sh: it starts and announces its service beside the runtime's
# control service; its 1 ms control task steps (the count grows); a
# software-raised SPI reaches its interrupt handler on CPU3 (routed there
# by GICD_IROUTER); its one-shot timer ran once; `ampctl tasks` lists its
# three tasks, whose statistics are printed as FIGURE lines (TCG: only
# plausibility is checked, never a time). Leaves the firmware stopped.

T72_FW=rtd-amp/rtd-amp-example.elf
# t72_ask DEV TEXT: one request to the example service, its answer.
t72_ask() { ampt ask "$1" "$2"; }
# t72_field ANSWER KEY: the value of KEY=VALUE in ANSWER.
t72_field() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n1; }
t72_irqs_seen() { [ "$(t72_field "$(t72_ask "$t72_dev" stat)" irqs)" -ge 1 ] 2>/dev/null; }

start_app example "$T72_FW" rtd-amp-example
t72_dev=$(ept_open t72-example 0x2500 1030)
check "example: endpoint to rtd-amp-example (address 1030) created" "device '$t72_dev'" [ -n "$t72_dev" ]
a1=$(t72_ask "$t72_dev" stat)
s1=$(t72_field "$a1" steps)
check "example: the service answers 'steps=N irqs=M out=Y'" "answer '$a1'" \
	matches "$a1" '^steps=[0-9]+ irqs=0 out=-?[0-9]+$'
sleep 1
a2=$(t72_ask "$t72_dev" stat)
s2=$(t72_field "$a2" steps)
check "example: the 1 ms control task runs (steps grew in 1 s)" "'$a1' then '$a2'" \
	[ -n "$s1" ] && [ -n "$s2" ] && [ "$s2" -gt "$s1" ]
a=$(t72_ask "$t72_dev" irq)
check "example: 'irq' raises the example's SPI" "answer '$a'" [ "$a" = raised ]
check "example: the SPI reached the firmware's handler on CPU3" "answer now '$(t72_ask "$t72_dev" stat)'" \
	wait_for t72_irqs_seen
a=$(t72_ask "$t72_dev" nonsense)
check "example: an unknown request is answered 'unknown'" "answer '$a'" [ "$a" = unknown ]
ampt ept-destroy "$t72_dev" >/dev/null 2>&1
trace=$(cat "$D/trace0" 2>&1)
check "example: its log lines and the one-shot timer's in the trace" \
	"trace0: $(printf '%s\n' "$trace" | tail -n 4 | tr '\n' ' ')" \
	sh -c "printf '%s\n' \"\$1\" | grep -q 'example: serving rtd-amp-example@1030' && printf '%s\n' \"\$1\" | grep -q 'example: one-shot timer fired'" _ "$trace"
if [ -x /bin/ampctl ]; then
	tk=$(ampctl tasks 2>&1)
	rc=$?
	# Read after the statistics: every period up to then is counted.
	up=$(fw_uptime)
	printf '%s\n' "$tk" | sed 's/^/  ampctl tasks: /'
	ctl=$(printf '%s\n' "$tk" | grep '^control ')
	runs=$(t72_field "$ctl" runs)
	over=$(t72_field "$ctl" overruns)
	check "example: ampctl tasks lists control (1000 us), report, hello" "exit $rc: $tk" \
		sh -c "[ $rc = 0 ] && printf '%s\n' \"\$1\" | grep -q '^control period_us=1000 ' && printf '%s\n' \"\$1\" | grep -q '^report period_us=1000000 ' && printf '%s\n' \"\$1\" | grep -q '^hello period_us=0 runs=1 '" _ "$tk"
	# Plausibility, not timing: a task never runs more often than its
	# period, and every period since the start is a run or an overrun.
	check "example: control's runs + overruns fit the firmware's uptime ($up ms)" \
		"runs $runs, overruns $over, uptime $up ms" \
		sh -c "[ -n '$runs' ] && [ '$runs' -gt 0 ] && [ -n '$up' ] && [ \$(($runs + $over)) -le \$(($up + 2)) ]"
	printf '%s\n' "$tk" | while read -r name fields; do
		[ -n "$fields" ] || continue
		echo "FIGURE: example task $name (QEMU TCG, one boot, rtd-amp-rt scheduler, lateness = deadline to start): $fields uptime_ms=$up"
	done
else
	ko "example: ampctl tasks" "no /bin/ampctl in this guest"
fi
stop_fw
echo "$FW" >"$R/firmware"
