#!/bin/bash
# The systemd twin's suite: the layer's unit, udev rule, group and files,
# installed by scripts/install-target, under Debian's systemd and udev.
# Runs as rtd-amp-twin-tests.service (after multi-user.target), prints
# PASS/FAIL/FIGURE lines. Boot 1 runs the cases, then reboots; boot 2 checks
# the previous boot's shutdown in the journal, prints "N passed, M failed"
# and powers off.
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin
STATE=/var/lib/rtd-amp-twin
mkdir -p "$STATE"
GROUP=$(cat /etc/rtd-amp-twin-group)
ADMIN=$(cat /etc/rtd-amp-twin-admin-group)
DUSER=$(cat /etc/rtd-amp-twin-user)
R=/sys/class/remoteproc/remoteproc0
UNIT=rtd-ampd.service
DEVUNIT='sys-subsystem-remoteproc-rtd\x2damp.device'
MEMBER=amp-member
OPERATOR=amp-operator
OUTSIDER=amp-outsider
SOCK=/run/rtd-ampd/rtd-ampd.sock

pass=0
fail=0
[ -f "$STATE/counts" ] && read -r pass fail <"$STATE/counts"
ok() { echo "PASS: $1"; pass=$((pass + 1)); echo "$pass $fail" >"$STATE/counts"; }
bad() { echo "FAIL: $1: $2"; fail=$((fail + 1)); echo "$pass $fail" >"$STATE/counts"; }
figure() { echo "FIGURE: $*"; }
check() { # check NAME REASON CMD...
	local name=$1 why=$2
	shift 2
	if "$@"; then ok "$name"; else bad "$name" "$why"; fi
}

# wait_for SECONDS CMD...: poll every 0.1 s until CMD succeeds or SECONDS
# (of uptime, not of iterations: a poll can take long under TCG) passed.
wait_for() {
	local end
	end=$(($(cut -d. -f1 /proc/uptime) + $1))
	shift
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		[ "$(cut -d. -f1 /proc/uptime)" -lt "$end" ] || return 1
		sleep 0.1
	done
}
uptime_s() { cut -d' ' -f1 /proc/uptime; }
prop() { systemctl show -p "$2" --value "$1"; }
active() { [ "$(systemctl is-active "$1")" = active ]; }
state_is() { [ "$(cat $R/state 2>/dev/null)" = "$1" ]; }
# The /dev/rpmsgN of the firmware's rpmsg-raw channel.
raw_dev() {
	local d
	for d in /sys/class/rpmsg/rpmsg[0-9]*; do
		[ "$(cat "$d/name" 2>/dev/null)" = rpmsg-raw ] && echo "/dev/${d##*/}" && return 0
	done
	return 1
}
echo_ok() { local d; d=$(raw_dev) && [ -e "$d" ] && ampt echo "$d" "${1:-10}" >/dev/null; }
as_user() { local u=$1; shift; setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups -- "$@"; }
# refused CMD...: fails, saying "Permission denied" (not merely fails).
refused() { local r; r=$("$@" 2>&1) && return 1; echo "$r" | grep -q 'Permission denied'; }
daemon_running() { ampctl status 2>/dev/null | grep -Eq '^daemon: +running'; }
# Helpers as commands, for wait_for and as_user.
case "${1:-}" in
echo-ok) shift; echo_ok "$@"; exit ;;
daemon-running) daemon_running; exit ;;
serving) daemon_running && echo_ok 10; exit ;;
esac
SELF=$0

boot1() {
	echo "suite: Linux $(uname -r), systemd $(systemctl --version | sed -n '1s/^systemd \([0-9]*\).*/\1/p'), group $GROUP"
	# --- boot: the unit starts the firmware with no manual step -------------
	local serving=
	if wait_for 120 echo_ok 1; then serving=$(uptime_s); fi
	if [ -n "$serving" ]; then
		ok "boot: the firmware answers echoes without a manual step"
		local ch
		ch=$(dmesg | sed -n 's/^\[ *\([0-9.]*\)\].*creating channel rpmsg-raw.*/\1/p' | head -n1)
		figure "kernel start to rtd-ampd started: $(awk "BEGIN{printf \"%.1f\", $(prop $UNIT ExecMainStartTimestampMonotonic) / 1e6}") s"
		figure "kernel start to firmware serving (rpmsg-raw announced, dmesg): ${ch:-?} s"
		figure "kernel start to the suite's first echo answered: ${serving} s"
	else
		bad "boot: the firmware answers echoes without a manual step" "no echo on rpmsg-raw within 120 s (state $(cat $R/state 2>/dev/null))"
	fi
	check "boot: systemctl is-active rtd-ampd = active" "$(systemctl is-active $UNIT)" active $UNIT
	check "boot: Type=notify, READY=1 received (status text set)" \
		"Type=$(prop $UNIT Type) StatusText='$(prop $UNIT StatusText)'" \
		sh -c "[ '$(prop $UNIT Type)' = notify ] && [ -n '$(prop $UNIT StatusText)' ]"
	check "boot: echo of 100 messages with content check" "ampt echo failed" echo_ok 100
	check "boot: the daemon reports the processor running" "$(ampctl status 2>&1 | tr '\n' ' ')" daemon_running

	# --- ordering: the remoteproc device unit ---------------------------
	check "udev: the remoteproc is a systemd device unit ($DEVUNIT)" "$(systemctl is-active "$DEVUNIT")" active "$DEVUNIT"
	local dev_at svc_at
	dev_at=$(prop "$DEVUNIT" ActiveEnterTimestampMonotonic)
	svc_at=$(prop $UNIT ExecMainStartTimestampMonotonic)
	check "unit: rtd-ampd started after the device appeared" "device at ${dev_at} us, daemon at ${svc_at} us" \
		test "${dev_at:-0}" -gt 0 -a "${svc_at:-0}" -ge "${dev_at:-0}"
	check "unit: ordered after the device, no udev-settle" "After=$(prop $UNIT After)" \
		sh -c "systemctl show -p After --value $UNIT | grep -q 'sys-subsystem-remoteproc-rtd[^ ]*x2damp\.device' && ! systemctl list-jobs | grep -q udev-settle && [ \"\$(systemctl is-active systemd-udev-settle.service)\" != active ]"

	# --- least privilege: the daemon's user, the device nodes, the groups --
	local pid
	pid=$(prop $UNIT MainPID)
	check "privilege: the daemon runs as $DUSER (group $ADMIN, also in $GROUP), no capabilities" \
		"$(ps -o user=,group=,supgrp= -p "$pid") $(grep CapEff /proc/"$pid"/status)" \
		sh -c "[ \"\$(ps -o user= -p $pid)\" = $DUSER ] && [ \"\$(ps -o group= -p $pid)\" = $ADMIN ] && ps -o supgrp= -p $pid | grep -qw $GROUP && grep -q 'CapEff:.0000000000000000' /proc/$pid/status"
	local a bad_attrs=
	for a in state firmware recovery coredump; do
		case "$(stat -c '%U:%G %A' $R/$a)" in "root:$ADMIN -rw-rw"*) ;; *) bad_attrs="$bad_attrs $a=$(stat -c '%U:%G/%A' $R/$a)" ;; esac
	done
	check "udev: the remoteproc's state/firmware/recovery/coredump are writable by $ADMIN" "${bad_attrs}" test -z "$bad_attrs"
	local nodes n bad_nodes=
	nodes=$(ls /dev/rpmsg[0-9]* /dev/ttyRPMSG* 2>/dev/null)
	for n in $nodes; do
		[ "$(stat -c '%U:%G %a' "$n")" = "root:$GROUP 660" ] || bad_nodes="$bad_nodes $n=$(stat -c '%U:%G/%a' "$n")"
	done
	check "udev: /dev/rpmsgN and /dev/ttyRPMSGN are root:$GROUP 0660 ($(echo "$nodes" | wc -w) nodes)" \
		"${bad_nodes:-no nodes}" test -n "$nodes" -a -z "$bad_nodes" -a -e /dev/ttyRPMSG0
	check "udev: /dev/rpmsg_ctrl0 is root:$ADMIN 0660 (not the application group's)" "$(stat -c '%U:%G %a' /dev/rpmsg_ctrl0 2>&1)" \
		test "$(stat -c '%U:%G %a' /dev/rpmsg_ctrl0 2>/dev/null)" = "root:$ADMIN 660"
	check "group: $GROUP, $ADMIN and the user $DUSER exist (the recipe's GROUPADD_PARAM, USERADD_PARAM)" "$(getent group "$GROUP" "$ADMIN"; getent passwd "$DUSER")" \
		sh -c "getent group '$GROUP' >/dev/null && getent group '$ADMIN' >/dev/null && getent passwd '$DUSER' >/dev/null"
	check "socket: $SOCK is $DUSER:$GROUP 0660" "$(stat -c '%U:%G %a' $SOCK 2>&1)" \
		test "$(stat -c '%U:%G %a' $SOCK 2>/dev/null)" = "$DUSER:$GROUP 660"
	id -u $MEMBER >/dev/null 2>&1 || useradd -M -N -g users -G "$GROUP" $MEMBER
	id -u $OPERATOR >/dev/null 2>&1 || useradd -M -N -g users -G "$GROUP,$ADMIN" $OPERATOR
	id -u $OUTSIDER >/dev/null 2>&1 || useradd -M -N -g users $OUTSIDER
	local r
	r=$(as_user $MEMBER ampt echo "$(raw_dev)" 20 2>&1)
	check "group: a member of $GROUP echoes on the raw channel" "$r" as_user $MEMBER ampt echo "$(raw_dev)" 20
	r=$(as_user $MEMBER ampctl status 2>&1)
	check "group: a member of $GROUP reads the daemon's status over its socket" "$r" \
		as_user $MEMBER "$SELF" daemon-running
	# What an application may not do: stop, crash or reload the firmware.
	r=$(as_user $MEMBER ampctl stop 2>&1)
	check "privilege: a member of $GROUP cannot stop the firmware through the daemon (read-only role)" "$r" \
		sh -c "echo \"\$1\" | grep -q 'permission denied: .stop. changes' && [ \"\$(cat $R/state)\" = running ]" _ "$r"
	r=$(as_user $MEMBER ampt sock $SOCK '{"cmd":"restart","name":"rtd-amp"}' 2>&1)
	check "privilege: a member of $GROUP cannot restart or start it either" "$r" \
		sh -c "echo \"\$1\" | grep -q 'permission denied: .restart. changes' && [ \"\$(cat $R/state)\" = running ]" _ "$r"
	r=$(as_user $MEMBER ampctl fault panic 2>&1)
	check "privilege: a member of $GROUP cannot reach the control service (ampctl fault: rpmsg_ctrl0 Permission denied)" "$r" \
		refused as_user $MEMBER ampctl fault panic
	local wrote
	# shellcheck disable=SC2016 # $1 is the inner shell's
	if r=$(as_user $MEMBER sh -c 'echo stop >"$1"' _ $R/state 2>&1); then wrote=yes; else wrote=no; fi
	check "privilege: a member of $GROUP cannot write the remoteproc's state (Permission denied)" "wrote=$wrote: $r, state $(cat $R/state)" \
		sh -c "[ $wrote = no ] && echo \"\$1\" | grep -q 'Permission denied' && [ \"\$(cat $R/state)\" = running ]" _ "$r"
	r=$(as_user $OPERATOR ampctl ping --count 3 2>&1)
	check "group: a member of $ADMIN pings the firmware (ampctl ping, endpoint on rpmsg_ctrl0)" "$r" \
		as_user $OPERATOR ampctl ping --count 3
	if r=$(as_user $OPERATOR ampctl restart 2>&1); then
		check "group: a member of $ADMIN restarts the firmware through the daemon" "$r, then not serving" \
			wait_for 30 "$SELF" serving
	else
		bad "group: a member of $ADMIN restarts the firmware through the daemon" "$r"
	fi
	r=$(as_user $OUTSIDER ampctl ping --count 1 2>&1)
	check "group: a user outside the groups cannot ping (rpmsg_ctrl0: Permission denied)" "$r" \
		refused as_user $OUTSIDER ampctl ping --count 1
	# shellcheck disable=SC2016 # $1 is the inner shell's
	r=$(as_user $OUTSIDER sh -c ': <>"$1"' _ "$(raw_dev)" 2>&1)
	# shellcheck disable=SC2016 # $1 is the inner shell's
	check "group: a user outside $GROUP cannot open the raw channel (Permission denied)" "$r" \
		refused as_user $OUTSIDER sh -c ': <>"$1"' _ "$(raw_dev)"
	r=$(as_user $OUTSIDER ampt sock $SOCK '{"cmd":"status"}' 2>&1)
	check "group: a user outside $GROUP cannot use the daemon's socket (Permission denied)" "$r" \
		refused as_user $OUTSIDER ampt sock $SOCK '{"cmd":"status"}'

	# --- the journal: structured fields from tracing-journald -------------
	# tracing-journald: event fields upper-cased with its F_ prefix.
	check "journal: the daemon's lines carry fields (F_REMOTEPROC=rtd-amp, F_REASON=autostart, SYSLOG_IDENTIFIER=rtd-ampd)" \
		"$(journalctl -b _SYSTEMD_UNIT=$UNIT -o verbose -n 12 --no-pager | grep -v '^ *_' | tr '\n' ' ')" \
		sh -c "journalctl -b _SYSTEMD_UNIT=$UNIT F_REMOTEPROC=rtd-amp F_REASON=autostart SYSLOG_IDENTIFIER=rtd-ampd -o cat --no-pager | grep -qx started"

	# --- systemd-analyze --------------------------------------------------
	r=$(systemd-analyze verify $UNIT 2>&1)
	check "unit: systemd-analyze verify rtd-ampd.service is clean" "$r" test -z "$r"
	r=$(systemd-analyze security --no-pager $UNIT 2>&1 | tail -n1)
	figure "systemd-analyze security rtd-ampd.service: ${r#*→ }"
	check "unit: systemd-analyze security rates it OK or better" "$r" \
		sh -c "echo \"\$1\" | grep -Eq 'level for rtd-ampd.service: [0-9.]+ (SAFE|OK)'" _ "$r"

	# --- sandboxing: the directives the unit leaves out do break it -------
	# (a drop-in in /run, removed after each case)
	local dropin=/run/systemd/system/$UNIT.d
	mkdir -p "$dropin"
	printf '[Service]\nProtectKernelTunables=yes\n' >"$dropin/zz-twin.conf"
	# The daemon leaves the firmware running (stop_on_exit = false) and the
	# next one would adopt it: stop it, so the sandboxed daemon must start it.
	systemctl stop $UNIT
	[ "$(cat $R/state)" = offline ] || echo stop >$R/state
	systemctl daemon-reload
	systemctl restart $UNIT
	sleep 3
	r=$(ampctl status 2>&1 | tr '\n' ' ')
	check "sandbox: with ProtectKernelTunables=yes the daemon cannot start the firmware (sysfs read-only)" "$r" \
		sh -c "echo \"\$1\" | grep -q 'Read-only file system' && [ \"\$(cat $R/state)\" = offline ]" _ "$r"
	rm -rf "$dropin"
	systemctl daemon-reload
	systemctl reset-failed $UNIT
	systemctl restart $UNIT
	check "sandbox: the shipped unit runs the firmware again" "$(ampctl status 2>&1 | tr '\n' ' ')" wait_for 30 "$SELF" serving

	# --- the watchdog -----------------------------------------------------
	local pid newpid n0 n1 t0 t1
	pid=$(prop $UNIT MainPID)
	n0=$(prop $UNIT NRestarts)
	check "watchdog: WatchdogSec set ($(prop $UNIT WatchdogUSec))" "WatchdogUSec=$(prop $UNIT WatchdogUSec)" \
		test "$(prop $UNIT WatchdogUSec)" != 0 -a "$(prop $UNIT WatchdogUSec)" != infinity
	t0=$(uptime_s)
	kill -STOP "$pid"
	# WatchdogSec, then SIGABRT (TimeoutAbortSec) and SIGKILL, then RestartSec.
	if wait_for 90 sh -c "[ \"\$(systemctl show -p MainPID --value $UNIT)\" != $pid ] && [ \"\$(systemctl show -p MainPID --value $UNIT)\" != 0 ] && systemctl is-active -q $UNIT"; then
		t1=$(uptime_s)
		figure "watchdog: SIGSTOP to a new active daemon: $(echo "$t1 - $t0" | awk -F' - ' '{printf "%.1f", $1 - $2}') s"
	fi
	newpid=$(prop $UNIT MainPID)
	n1=$(prop $UNIT NRestarts)
	check "watchdog: a daemon frozen with SIGSTOP is killed and restarted by systemd" \
		"MainPID $pid -> $newpid, NRestarts $n0 -> $n1" test "$newpid" != "$pid" -a "$newpid" != 0 -a "$n1" -gt "$n0"
	check "watchdog: the journal says why (watchdog timeout)" "no watchdog message" \
		sh -c "journalctl -b -u $UNIT --no-pager | grep -qi 'watchdog timeout'"
	check "watchdog: the new daemon runs the firmware again and it answers" "state $(cat $R/state), $(ampctl status 2>&1 | tr '\n' ' ')" \
		wait_for 30 "$SELF" serving

	# --- systemctl restart / stop (docs/daemon-cli.md) --------------------
	pid=$(prop $UNIT MainPID)
	systemctl restart $UNIT
	newpid=$(prop $UNIT MainPID)
	check "restart: systemctl restart gives a new active daemon" "MainPID $pid -> $newpid, $(systemctl is-active $UNIT)" \
		test "$newpid" != "$pid" -a "$(systemctl is-active $UNIT)" = active
	check "restart: the old daemon left the firmware running on SIGTERM (stop_on_exit = false) and exited 0" \
		"$(journalctl -b _PID="$pid" -o cat --no-pager | tail -n 5 | tr '\n' ' ')" \
		sh -c "journalctl -b _PID=$pid -o cat --no-pager | grep -q 'left running' && journalctl -b _PID=$pid -o cat --no-pager | grep -q 'rtd-ampd stopped'"
	check "restart: the new daemon adopted the running firmware (not restarted)" \
		"$(journalctl -b _PID="$newpid" -o cat --no-pager | head -n 5 | tr '\n' ' ')" \
		sh -c "journalctl -b _PID=$newpid -o cat --no-pager | grep -q 'adopted the running firmware'"
	check "restart: the adopted firmware answers" "$(cat $R/state)" \
		wait_for 30 "$SELF" serving
	systemctl stop $UNIT
	check "stop: systemctl stop leaves the unit inactive (not failed), Result=success" \
		"$(systemctl is-active $UNIT), Result=$(prop $UNIT Result), status $(prop $UNIT ExecMainStatus)" \
		test "$(systemctl is-active $UNIT)" = inactive -a "$(prop $UNIT Result)" = success -a "$(prop $UNIT ExecMainStatus)" = 0
	check "stop: the firmware keeps running (stop_on_exit = false) and the socket is removed" "state $(cat $R/state), socket $(ls $SOCK 2>&1)" \
		test "$(cat $R/state)" = running -a ! -e $SOCK
	systemctl start $UNIT
	check "start: systemctl start brings the firmware back" "$(systemctl is-active $UNIT), state $(cat $R/state)" \
		wait_for 30 "$SELF" serving

	# --- reboot: checked from the next boot's journal ----------------------
	echo rebooting >"$STATE/phase"
	echo "suite: rebooting (systemctl reboot)"
	# The mark boot 2 reads the shutdown from (stdout goes to the console).
	echo "suite: rebooting" | systemd-cat -t rtd-amp-twin
	sync
	systemctl reboot
}

boot2() {
	rm -f "$STATE/phase"
	echo "suite: boot 2"
	local prev
	prev=$(journalctl -b -1 -o cat --no-pager 2>/dev/null)
	check "reboot: the previous boot's journal is there" "journalctl -b -1 is empty" test -n "$prev"
	check "reboot: rtd-ampd exited cleanly on the way down, leaving the firmware to the kernel (stop_on_exit = false)" \
		"$(journalctl -b -1 -u $UNIT -o cat --no-pager | tail -n 5 | tr '\n' ' ')" \
		sh -c "journalctl -b -1 -u $UNIT -o cat --no-pager | tail -n 8 | grep -q 'left running' && journalctl -b -1 -u $UNIT -o cat --no-pager | tail -n 8 | grep -q 'rtd-ampd stopped'"
	check "reboot: nothing timed out or was killed on the way down" \
		"$(echo "$prev" | grep -Ei 'timed out|killing|SIGKILL|watchdog' | tail -n 3 | tr '\n' ' ')" \
		sh -c "journalctl -b -1 -o cat --no-pager | grep -qx 'suite: rebooting' && ! journalctl -b -1 -o cat --no-pager | sed -n '/^suite: rebooting\$/,\$p' | grep -Eqi 'timed out|killing process|sigkill'"
	local first last
	first=$(journalctl -b -1 -t rtd-amp-twin -o short-monotonic --no-pager | grep 'suite: rebooting' | tail -n1 | sed 's/^\[ *\([0-9.]*\)\].*/\1/')
	last=$(journalctl -b -1 -o short-monotonic --no-pager | tail -n1 | sed 's/^\[ *\([0-9.]*\)\].*/\1/')
	[ -n "$first" ] && [ -n "$last" ] && figure "reboot: from 'systemctl reboot' to the last journal line: $(awk "BEGIN{printf \"%.1f\", $last - $first}") s"
	check "reboot: boot 2 starts the firmware again" "$(cat $R/state)" wait_for 120 echo_ok 10
	echo "$pass passed, $fail failed"
	rm -f "$STATE/counts"
	sync
	systemctl poweroff
}

if [ "$(cat "$STATE/phase" 2>/dev/null)" = rebooting ]; then boot2; else boot1; fi
