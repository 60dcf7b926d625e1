# shellcheck shell=sh
# A firmware that cannot be stopped (docs/kernel.md, "The stop/crash
# contract"): it masks every interrupt and spins (control FAULT kind 6,
# "hang-masked", test build only), so neither its loop nor the stop
# interrupt answers, and PSCI cannot power another core off. Linux says so
# and stays healthy: the stop ends offline with core_state "stuck" and a
# dmesg line "reboot needed", a start is refused with EBUSY and the same
# words, CPU hotplug still keeps Linux off the core. The core stays on
# until the guest powers off, so this is the suite's last part; stage 60's
# further boots (suspend, boot stage, kexec) run after it, each in a new
# boot.

# d99_stuck: offline, but the core is reported stuck, with the reason.
d99_stuck() {
	state_is offline && [ "$(cat "$R"/device/core_state)" = stuck ] &&
		dmesg | grep -q 'did not power off within .* reboot needed'
}
# d99_start_refused RC: a start fails (EBUSY), stays offline, says why.
d99_start_refused() {
	[ "$1" != 0 ] && state_is offline && [ "$(cat "$R"/device/core_state)" = stuck ] &&
		dmesg | grep -q 'only a reboot turns it off (reboot needed)'
}

stop_fw
start_fw
dmesg -c >/dev/null
r=$(fw_ctl fault 6)
echo stop >"$R"/state 2>/dev/null
check "stuck: a firmware that masks interrupts and spins: stop ends offline, core_state stuck, dmesg 'reboot needed'" \
	"fault '$r', state $(cat "$R"/state), core_state $(cat "$R"/device/core_state), dmesg: $(dmesg | tail -n 2 | tr '\n' ' ')" \
	d99_stuck
echo "  kernel: $(dmesg | grep -m1 'did not power off' | sed 's/^[^]]*\] [^:]*: //')"
dmesg -c >/dev/null
rc=0
{ echo start >"$R"/state; } 2>/tmp/start.err || rc=1
check "stuck: a start is refused until a reboot (EBUSY, 'reboot needed')" \
	"exit $rc: $(cat /tmp/start.err), state $(cat "$R"/state), dmesg: $(dmesg | tail -n 2 | tr '\n' ' ')" \
	d99_start_refused "$rc"
if echo 1 >/sys/devices/system/cpu/cpu3/online 2>/dev/null; then on=yes; else on=no; fi
check "stuck: Linux still keeps off the core (cpu3 online refused)" \
	"online $on: $(dmesg | tail -n 1)" [ "$on" = no ]
