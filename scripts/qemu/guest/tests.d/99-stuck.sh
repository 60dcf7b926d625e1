# shellcheck shell=sh
# A firmware that cannot be stopped (docs/kernel.md, "The stop/crash
# contract"): it masks every interrupt and spins (control FAULT kind 6,
# "hang-masked", test build only), so neither its loop nor the stop
# interrupt answers, and PSCI cannot power another core off. Linux says so
# and stays healthy: the daemon's stop (as `ampctl stop` asks it) ends
# offline with core_state "stuck" and a dmesg line "reboot needed"; the
# daemon goes to phase failed with a "stuck" event and `ampctl` says
# "reboot needed"; a start is refused with EBUSY and the same words, CPU
# hotplug still keeps Linux off the core. The core stays on
# until the guest powers off, so this is the suite's last part; stage 60's
# further boots (suspend, boot stage, kexec) run after it, each in a new
# boot.

# d99_stuck: offline, but the core is reported stuck, with the reason.
d99_stuck() {
	state_is offline && [ "$(cat "$R"/device/core_state)" = stuck ] &&
		dmesg | grep -q 'did not power off within .* reboot needed'
}
# d99_hung FAULT ECHO: the fault was taken (the firmware acts on it only
# once Linux has collected the reply): its loop no longer serves.
d99_hung() { [ "$1" = 'ctl: fault acknowledged' ] && matches "$2" 'echo: 0/1 ok'; }
# d99_says RC OUT: a failed ampctl command that says why.
d99_says() { [ "$1" = 1 ] && matches "$2" 'reboot needed'; }
# d99_daemon: the daemon failed for good, and ampctl status says why.
d99_daemon() {
	daemon_phase failed && daemon_has_event stuck &&
		ampctl status | grep -q '^core: *stuck .*reboot needed'
}
# d99_start_refused RC: a start fails (EBUSY), stays offline, says why.
d99_start_refused() {
	[ "$1" != 0 ] && state_is offline && [ "$(cat "$R"/device/core_state)" = stuck ] &&
		dmesg | grep -q 'only a reboot turns it off (reboot needed)'
}

stop_fw
start_fw
start_daemon /etc/rtd-ampd.toml
wait_for daemon_phase running
dmesg -c >/dev/null
r=$(fw_ctl fault 6)
e=$(ampt echo "$(raw_dev)" 1)
check "stuck: the hang-masked fault is taken and the firmware no longer serves (echo unanswered for 5 s)" \
	"fault '$r', echo '$e'" d99_hung "$r" "$e"
out=$(ampctl stop 2>&1)
rc=$?
echo "  ampctl stop: $out"
check "stuck: ampctl stop through the daemon fails (exit 1) and says 'reboot needed'" "fault '$r', exit $rc: $out" \
	d99_says "$rc" "$out"
check "stuck: a firmware that masks interrupts and spins: the stop ends offline, core_state stuck, dmesg 'reboot needed'" \
	"fault '$r', state $(cat "$R"/state), core_state $(cat "$R"/device/core_state), dmesg: $(dmesg | tail -n 2 | tr '\n' ' ')" \
	d99_stuck
echo "  kernel: $(dmesg | grep -m1 'did not power off' | sed 's/^[^]]*\] [^:]*: //')"
check "stuck: the daemon's phase is failed with a 'stuck' event, ampctl status says 'reboot needed'" \
	"daemon: $(daemon_status); status: $(ampctl status 2>&1 | tr '\n' ' ')" d99_daemon
out=$(ampctl start 2>&1)
rc=$?
check "stuck: ampctl start through the daemon fails (exit 1) and says 'reboot needed'" "exit $rc: $out" \
	d99_says "$rc" "$out"
stop_daemon
dmesg -c >/dev/null
rc=0
{ echo start >"$R"/state; } 2>/tmp/start.err || rc=1
check "stuck: a start is refused until a reboot (EBUSY, 'reboot needed')" \
	"exit $rc: $(cat /tmp/start.err), state $(cat "$R"/state), dmesg: $(dmesg | tail -n 2 | tr '\n' ' ')" \
	d99_start_refused "$rc"
if echo 1 >/sys/devices/system/cpu/cpu3/online 2>/dev/null; then on=yes; else on=no; fi
check "stuck: Linux still keeps off the core (cpu3 online refused)" \
	"online $on: $(dmesg | tail -n 1)" [ "$on" = no ]
