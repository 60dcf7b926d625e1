# shellcheck shell=sh
# The board bring-up self-test (ampctl selftest, docs/bring-up.md), sourced
# by tests.sh: on the good twin every check passes (or is skipped with its
# reason), its figures are printed; then two faults this boot can show:
# cpu3 online in Linux, and a firmware that never stamps the control page
# (selftest-nostamp.elf, scripts/qemu/nostamp-fw.py, which still obeys a
# stop). The other faults need another device tree: scripts/qemu-amp runs
# them as boots of their own (selftest-faults.sh). Leaves the firmware
# stopped.

# exited RC WANT OUTPUT REGEX: the command exited WANT and printed REGEX.
exited() { [ "$1" = "$2" ] && matches "$3" "$4"; }

if [ -x /bin/ampctl ]; then
	stop_fw
	start_fw
	st=$(ampctl selftest 2>/tmp/selftest.err)
	rc=$?
	printf '%s\n' "$st" | grep -E '^(FAIL|SKIP) ' | sed 's/^/  selftest: /'
	check "selftest: exit 0, no check failed on the twin" "exit $rc: $(printf '%s\n' "$st" | grep -E '^(FAIL|selftest:)' | tr '\n' ' ')" \
		exited "$rc" 0 "$(printf '%s\n' "$st" | tail -n1)" '^selftest: [0-9]+ passed, 0 failed, [0-9]+ skipped$'
	for id in dt-overlay dt-reserved-memory iomem cpu-offline fw-elf psci-version psci-conduit \
		psci-affinity psci-cpu-on fw-entry doorbell-ids gic-redistributor fw-conduit doorbell-count \
		timer-cntfrq timer-counter shm-pattern timer-latency; do
		l=$(st_line "$st" "$id")
		check "selftest: $id passes" "'$l'" matches "$l" "^PASS $id: "
	done
	# The debug driver has the raw doorbell file (H2); without it the check
	# says why.
	l=$(st_line "$st" doorbell-rtt)
	if [ -e "$D/rtd_amp_doorbell_rtt" ]; then
		check "selftest: doorbell-rtt passes (debug driver)" "'$l'" matches "$l" '^PASS doorbell-rtt: n=[0-9]+ .*lost=0'
	else
		check "selftest: doorbell-rtt skipped with the reason" "'$l'" matches "$l" \
			'^SKIP doorbell-rtt: driver built without rtd-amp-debug: raw doorbell timing not compiled in; rebuild with DISTRO_FEATURES rtd-amp-debug$'
	fi
	l=$(st_line "$st" fw-entry)
	check "selftest: the firmware entered at EL1 or EL2" "'$l'" matches "$l" 'entered at EL[12] on MPIDR 0x3, stamp [0-9]+ us after CPU_ON'
	printf '%s\n' "$st" | sed -n 's/^FIGURE: /FIGURE: selftest /p'
	js=$(ampctl selftest --json --quick 2>/dev/null)
	rc=$?
	check "selftest: --json, schema 1, 0 failed" "exit $rc: $(printf '%s' "$js" | grep -E '"(schema|failed)"' | tr '\n' ' ')" \
		exited "$rc" 0 "$(printf '%s' "$js" | grep -E '^  "(schema|failed)"' | tr -d ' \n')" '^"schema":1,"failed":0,$|^"failed":0,"schema":1,$'

	# --- fault: a firmware that never stamps the control page
	stop_fw
	echo rtd-amp/selftest-nostamp.elf >"$R"/firmware
	echo start >"$R"/state
	wait_for state_is running
	st=$(timeout 60 ampctl selftest --quick 2>/tmp/selftest.err)
	rc=$?
	l=$(st_line "$st" fw-entry)
	check "selftest fault: no stamp: fw-entry FAILs, exit 1, no hang" "exit $rc, '$l'" \
		exited "$rc" 1 "$l" '^FAIL fw-entry: no stamp in the control page after CPU_ON \(CPU_ON returned 0\)$'
	h=$(st_hint "$st" fw-entry)
	check "selftest fault: no stamp: the hint names the entry point" "'$h'" \
		matches "$h" "^the core never reached the firmware's first instructions"
	echo stop >"$R"/state
	check "selftest fault: the never-stamping firmware still stops" "state $(cat "$R"/state)" wait_for state_is offline
	echo "$FW" >"$R"/firmware

	# --- fault: cpu3 online in Linux (the firmware stopped)
	if echo 1 2>/dev/null >/sys/devices/system/cpu/cpu3/online; then
		st=$(timeout 60 ampctl selftest --quick 2>/tmp/selftest.err)
		rc=$?
		l=$(st_line "$st" cpu-offline)
		check "selftest fault: cpu3 online: cpu-offline FAILs, exit 1" "exit $rc, '$l'" \
			exited "$rc" 1 "$l" '^FAIL cpu-offline: cpu3 \(MPIDR 0x3\) is online in Linux$'
		h=$(st_hint "$st" cpu-offline)
		check "selftest fault: cpu3 online: the hint says how to offline it" "'$h'" \
			matches "$h" 'echo 0 > /sys/devices/system/cpu/cpu3/online.*maxcpus=3'
		echo 0 >/sys/devices/system/cpu/cpu3/online
	else
		ko "selftest fault: cpu3 online" "cannot bring cpu3 online in Linux"
	fi
	check "selftest fault: cpu3 offline again" "online=$(cat /sys/devices/system/cpu/cpu3/online)" \
		[ "$(cat /sys/devices/system/cpu/cpu3/online)" = 0 ]
else
	ko "selftest" "no ampctl in the guest (scripts/build-host-aarch64 failed?)"
fi
