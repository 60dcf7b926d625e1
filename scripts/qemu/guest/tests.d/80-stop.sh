# shellcheck shell=sh
# The stop interrupt (docs/kernel.md, "The stop/crash contract"): the
# runtime's resource table carries the contract with the stop-interrupt
# flag, and a firmware whose application code spins forever (control FAULT
# kind 5, "hang", test build only) is still stopped: its loop no longer
# serves the rings, but the doorbell, at the highest GIC priority and
# unmasked while the firmware runs, interrupts the spin and the handler
# powers the core off. A firmware that masks every interrupt and spins is
# tests.d/99-stuck.sh (its core stays on until a reboot: the suite's last
# part). Leaves the firmware stopped.

# d80_hung FAULT ECHO: the hang was taken and the loop stopped serving.
d80_hung() {
	[ "$1" = 'ctl: fault acknowledged' ] && matches "$2" 'echo: 0/1 ok' && state_is running
}
# d80_stopped LINE: stopped by the driver's request, the core off.
d80_stopped() {
	[ -n "$1" ] && state_is offline && [ "$(cat "$R"/device/core_state)" = off ] &&
		! dmesg | grep -q 'reboot needed'
}
# d80_again: the same firmware starts again and echoes.
d80_again() { start_fw && [ "$(ampt echo "$(raw_dev)" 20)" = 'echo: 20/20 ok' ]; }

stop_fw
start_fw
ok_line=$(grep -m1 'stop interrupt: ok' "$D"/trace0)
check "stop interrupt: the firmware checked it at boot (its own doorbell taken while running, trace)" \
	"trace: $(head -n 4 "$D"/trace0 | tr '\n' ' ')" [ -n "$ok_line" ]
echo "FIGURE: stop interrupt at boot: ${ok_line#*stop interrupt: ok, }"
dmesg -c >/dev/null
r=$(fw_ctl fault 5)
e=$(ampt echo "$(raw_dev)" 1)
check "stop interrupt: the hang fault is taken and the firmware's loop no longer serves (echo unanswered for 5 s)" \
	"fault '$r', echo '$e', state $(cat "$R"/state)" d80_hung "$r" "$e"
t0=$(ms_now)
echo stop >"$R"/state 2>/dev/null
t1=$(ms_now)
off=$(dmesg | grep -o 'powered off [0-9]* us after the request' | head -n1)
check "stop interrupt: a firmware spinning in its application code is stopped (offline, core_state off, no 'reboot needed')" \
	"state $(cat "$R"/state), core_state $(cat "$R"/device/core_state), dmesg: $(dmesg | tail -n 3 | tr '\n' ' ')" \
	d80_stopped "$off"
echo "FIGURE: stop of a spinning application by the stop interrupt: ${off#powered off } (the state write: $((t1 - t0)) ms)"
check "stop interrupt: the firmware starts again afterwards and echoes" "state $(cat "$R"/state)" d80_again
stop_fw
