#!/bin/sh
# The QEMU twin demo: start the firmware on CPU3 as a board does at boot
# (rtd-ampd with /etc/rtd-ampd.toml, as its systemd unit starts it), show
# what a user sees, exchange a few messages, measure, power off.
# shellcheck source=scripts/qemu/guest/lib.sh
. /lib.sh
step() { printf '\n== %s\n' "$*"; }
step "remote processors (CPUs online in Linux: $(cat /sys/devices/system/cpu/online); CPU3 is the remote's)"
for r in /sys/class/remoteproc/remoteproc*; do
	echo "${r##*/}: name $(cat "$r/name"), state $(cat "$r/state"), firmware $(cat "$r/firmware")"
done
if [ -x /bin/rtd-ampd ]; then
	step "boot: rtd-ampd --config /etc/rtd-ampd.toml (what rtd-ampd.service runs)"
	start_daemon /etc/rtd-ampd.toml
	wait_for state_is running && wait_for have_raw && wait_for daemon_phase running
	step "status"
	if ! ampctl status 2>/dev/null; then
		echo "kernel state: $(cat "$R/state"), recovery: $(cat "$R/recovery")"
		echo "daemon: $(daemon_status)"
	fi
else
	step "starting the firmware through sysfs (no rtd-ampd in this guest)"
	start_fw
	echo "kernel state: $(cat "$R/state")"
fi
dmesg | grep -E 'rtd-amp|remoteproc' | tail -n 4
step "the firmware's trace (debugfs)"
cat "$D/trace0"
step "channels it announced"
for d in /sys/bus/rpmsg/devices/*; do echo "${d##*/}: $(cat "$d/name")"; done
ls -l /dev/rpmsg* /dev/ttyRPMSG* 2>/dev/null
step "echo service on $(raw_dev): 100 messages of 1..496 bytes, each checked"
ampt echo "$(raw_dev)" 100
step "tty service on /dev/ttyRPMSG0"
stty -F /dev/ttyRPMSG0 raw -echo
exec 4<>/dev/ttyRPMSG0
for line in "hello from Linux" "CPU3 runs Rust" "bye"; do
	printf '%s\n' "$line" >&4
	printf 'sent %-20s got: %s\n' "'$line'" "$(timeout 5 head -n1 <&4)"
done
exec 4<&-
step "control service (endpoint created through /dev/rpmsg_ctrl0)"
ampt ept-create /dev/rpmsg_ctrl0 demo 0x2000 1026
ctl=$(wait_for dev_named demo >/dev/null && dev_named demo)
ampt ctl "$ctl" ping
ampt ctl "$ctl" stats
ampt ept-destroy "$ctl"
step "short bench (QEMU TCG, not hardware)"
ampt bench "$(raw_dev)" 16 200
ampt bench "$(raw_dev)" 496 200
ampt stream "$(raw_dev)" 496 1000 16
step "shutdown"
if [ -n "$daemon_pid" ]; then
	stop_daemon
	echo "rtd-ampd exited $daemon_rc (SIGTERM; stop_on_exit = false: the firmware runs on)"
fi
stop_fw
echo "kernel state: $(cat "$R/state")"
echo "demo: done"
