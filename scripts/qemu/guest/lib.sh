# Helpers for the guest scripts (sourced).
# shellcheck shell=sh
# Our remoteproc, through links that follow it: remoteproc0 from boot.
# After tests.sh reloads the driver (the rsc-changed case) it is the only
# one but has a new index: the kernel keeps the old rproc's.
rp=remoteproc0
for r in /sys/class/remoteproc/remoteproc*; do [ -e "$r" ] && rp=${r##*/}; done
ln -sfn "/sys/class/remoteproc/$rp" /run/amp-rproc
ln -sfn "/sys/kernel/debug/remoteproc/$rp" /run/amp-rproc-debug
R=/run/amp-rproc
D=/run/amp-rproc-debug
FW=rtd-amp/rtd-amp-fw.elf
SOCK=/run/rtd-ampd/rtd-ampd.sock
# The suite's users (/etc/passwd, /etc/group of the initramfs): an
# application in rtdamp (990), an outsider, an operator in rtdamp-admin (991).
APP_UID=1000
APP_GID=990
OUT_UID=1001
OP_UID=1002
ADMIN_GID=991
export APP_UID APP_GID OUT_UID OP_UID ADMIN_GID
# The firmware-rule corpus (scripts/fwcorpus.py): "FILE RULE" lines, and
# its files without .elf; rule_of NAME gives the rule a file breaks.
RULES=/lib/firmware/rtd-amp/rules.txt
BAD=$(sed 's/\.elf .*//' $RULES 2>/dev/null)
export R D FW SOCK BAD RULES
rule_of() { sed -n "s/^$1\.elf //p" $RULES; }

# wait_for CMD... : retry for up to 5 s.
wait_for() {
	t=50
	while [ $t -gt 0 ]; do
		"$@" 2>/dev/null && return 0
		sleep 0.1
		t=$((t - 1))
	done
	return 1
}

state_is() { [ "$(cat $R/state)" = "$1" ]; }
# keep_running Y|N: the policy for when the driver lets go of the core
# (unbind, reboot, kexec; rtd_amp_pm.c): the device's keep_running
# attribute, set from the DT's realtek,keep-running at each probe.
keep_running() { echo "$1" >"$R/device/keep_running"; }

# app CMD...: CMD as the application user (uid 1000, group rtdamp only).
app() { ampt as $APP_UID $APP_GID -- "$@"; }
# app_dev DEV: prints DEV once mdev has given it to the application group.
app_dev() {
	wait_for sh -c "[ \"\$(stat -c %g '$1')\" = $APP_GID ]"
	echo "$1"
}

# The /dev/rpmsgN whose endpoint is named $1 (newest if several).
dev_named() {
	found=
	for d in /sys/class/rpmsg/rpmsg[0-9]*; do
		[ -e "$d/name" ] || continue
		[ "$(cat "$d/name")" = "$1" ] && found=/dev/${d##*/}
	done
	[ -n "$found" ] && [ -e "$found" ] && echo "$found"
}

# ept_open NAME SRC DST: an endpoint NAME from local address SRC to the
# firmware's DST through the newest rpmsg_ctrl; prints its /dev node
# (fails when none appears). Close it with `ampt ept-destroy DEV`.
ept_open() {
	ampt ept-create "$(find /dev -maxdepth 1 -name 'rpmsg_ctrl*' | sort | tail -n1)" "$1" "$2" "$3" >/dev/null 2>&1
	wait_for dev_named "$1" >/dev/null && dev_named "$1"
}
# fw_ctl REQUEST [KIND]: one request to the firmware's control service
# (rtd-amp-ctrl at 1026; `ampt ctl`: ping, stats, fault KIND), its answer
# line, through a fresh endpoint of the newest rpmsg_ctrl.
fw_ctl() {
	d=$(ept_open amp-fwctl 0x2100 1026) || return 1
	ampt ctl "$d" "$@"
	ampt ept-destroy "$d" >/dev/null 2>&1
}
# fw_stats: the control service's STATS line.
fw_stats() { fw_ctl stats; }
# fw_uptime: the firmware's own uptime (ms). A restarted firmware starts
# again near 0 (tests.d/40-attach.sh, tests.d/45-daemon.sh: the uptime
# continued across attach and restarts).
fw_uptime() {
	stats_line=$(fw_stats) || return 1
	echo "$stats_line" | sed -n 's/.*uptime_ms \([0-9]*\).*/\1/p'
}
# fw_messages: the firmware's count of the messages it took ("messages";
# the STATS request itself included).
fw_messages() {
	stats_line=$(fw_stats) || return 1
	echo "$stats_line" | sed -n 's/.*stats messages \([0-9]*\).*/\1/p'
}
# ms_now: Linux's uptime in ms, to set beside fw_uptime.
ms_now() { awk '{ printf "%d", $1 * 1000 }' /proc/uptime; }

raw_dev() { dev_named rpmsg-raw; }
have_raw() { [ -n "$(raw_dev)" ]; }

start_fw() {
	state_is running && return 0
	echo "$FW" >$R/firmware && echo start >$R/state && wait_for state_is running && wait_for have_raw
}

# start_app TAG FW CHANNEL: stops the running firmware, starts FW (a
# firmware application: its service CHANNEL beside the runtime's
# rtd-amp-ctrl) and checks both, the case names prefixed with TAG.
# channels_up NAME...: every NAME is an announced RPMsg channel.
channels_up() {
	for n in "$@"; do
		cat /sys/bus/rpmsg/devices/*/name 2>/dev/null | grep -qx "$n" || return 1
	done
}
start_app() {
	stop_fw
	echo "$2" >"$R/firmware"
	echo start >"$R/state"
	check "$1: $2 starts (signed, checked by the driver)" "state $(cat "$R/state"); $(dmesg | tail -n 3 | tr '\n' ' ')" \
		wait_for state_is running
	check "$1: $3 and rtd-amp-ctrl announced" "channels: $(cat /sys/bus/rpmsg/devices/*/name 2>/dev/null | tr '\n' ' ')" \
		wait_for channels_up "$3" rtd-amp-ctrl
}

# core_off: PSCI says CPU3 is off (the driver's core_state). Since a stop
# that times out leaves the remoteproc offline with the core stuck on
# (tests.d/99-stuck.sh), "offline" alone no longer says the core stopped.
core_off() { [ "$(cat "$R"/device/core_state)" = off ]; }
# stopped: offline, and the core really off.
stopped() { state_is offline && core_off; }
stop_fw() {
	stopped && return 0
	{ echo stop >$R/state; } 2>/dev/null
	wait_for stopped
}

# The daemon as its systemd unit runs it (ExecStart=rtd-ampd --config FILE,
# logs to stderr without a journal), here in the background.
daemon_pid=
daemon_rc=
export daemon_rc
start_daemon() {
	rm -f "$SOCK"
	rtd-ampd --config "$1" >>/tmp/rtd-ampd.log 2>&1 &
	daemon_pid=$!
	wait_for [ -S "$SOCK" ]
}

# SIGTERM, as systemctl stop; sets daemon_rc.
stop_daemon() {
	[ -n "$daemon_pid" ] || return 0
	kill -TERM "$daemon_pid"
	wait "$daemon_pid"
	daemon_rc=$?
	daemon_pid=
}

daemon_status() { ampt sock "$SOCK" '{"cmd":"status"}'; }
daemon_phase() { daemon_status | grep -q "\"phase\":\"$1\""; }
daemon_has_event() { daemon_status | grep -q "\"kind\":\"$1\""; }

# free_kb: free memory (kB) once the page cache and slab caches are dropped:
# the buddy allocator's free pages plus the pages parked on the per-CPU free
# lists. MemFree and MemAvailable leave the latter out, and on 6.1 with 1 GiB
# those lists swing by several MiB between two reads (measured: MemAvailable
# -3.2..+1.7 MiB over 10-cycle blocks while this sum moved by 148 kB in 60
# cycles), which made a leak check on MemAvailable fail without any leak.
free_kb() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
	# Debian's arm64 kernels use 4 KiB pages.
	awk '/nr_free_pages/ {p += $2} /^ +count:/ {p += $2} END {print p * 4}' /proc/zoneinfo
}
# meminfo: the kernel's own allocations, for the log beside free_kb.
meminfo() { grep -E '^(Slab|SUnreclaim|VmallocUsed|Percpu|KernelStack|PageTables|Shmem):' /proc/meminfo | tr -s ' ' | tr '\n' ' '; }

# reload_both [PARAM]: both modules unloaded and loaded again (tests.d/
# 40-attach.sh, soak.sh); lib.sh then follows the new remoteprocN.
# shellcheck disable=SC2120
reload_both() {
	rmmod rtd_amp_rproc && rmmod rtd_amp_mbox &&
		insmod /lib/modules/rtd_amp_mbox.ko &&
		insmod /lib/modules/rtd_amp_rproc.ko "$@" &&
		wait_for sh -c 'ls /sys/class/remoteproc | grep -q .'
	rc=$?
	# shellcheck source=scripts/qemu/guest/lib.sh
	. /lib.sh
	return $rc
}
# The suites' case helpers (tests.sh, its tests.d parts, selftest-faults.sh;
# each script sets pass=0 fail=0 itself: re-sourcing this file, as tests.sh
# does after reloading the driver, must not reset them).
ok() { echo "PASS: $1"; pass=$((pass + 1)); }
ko() { echo "FAIL: $1: $2"; fail=$((fail + 1)); }
check() { # check NAME REASON CMD...
	name=$1 why=$2
	shift 2
	if "$@"; then ok "$name"; else ko "$name" "$why"; fi
}
matches() { printf '%s\n' "$1" | grep -qE "$2"; }
# st_line OUT ID: the `ampctl selftest` report line of check ID.
st_line() { printf '%s\n' "$1" | grep -E "^(PASS|FAIL|SKIP) $2: " | head -n1; }
# st_hint OUT ID: the hint under check ID.
st_hint() { printf '%s\n' "$1" | sed -n "/^[A-Z]* $2: /,/^[A-Z]/p" | sed -n 's/^    hint: //p' | head -n1; }
