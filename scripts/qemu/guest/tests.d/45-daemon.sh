# shellcheck shell=sh
# Daemon restarts do not bounce the core (docs/daemon-cli.md, "Adoption and
# stop_on_exit"): rtd-ampd boots the offline processor; killed with SIGKILL
# and started again it adopts the running firmware; stopped with SIGTERM
# (stop_on_exit = false, the default) the firmware runs on and the next
# daemon adopts it again. Each time the firmware's own uptime (control
# service STATS, uptime_ms) has continued: a restarted firmware starts again
# near 0 and cannot pass. Then with stop_on_exit = true SIGTERM stops it.
# Leaves the firmware stopped.

if [ -x /bin/rtd-ampd ]; then
	stop_fw
	start_daemon /etc/rtd-ampd.toml
	wait_for daemon_phase running && wait_for have_raw
	u0=$(fw_uptime)
	t0=$(ms_now)
	kill -KILL "$daemon_pid"
	wait "$daemon_pid" 2>/dev/null
	daemon_pid=
	s1=$(cat "$R/state")
	start_daemon /etc/rtd-ampd.toml
	wait_for daemon_phase running && wait_for have_raw
	u1=$(fw_uptime)
	t1=$(ms_now)
	check "daemon: killed with SIGKILL and restarted, it adopts the firmware: uptime continued" \
		"state after the kill $s1, uptime $u0 -> $u1 ms over $((t1 - t0)) ms, daemon: $(daemon_status)" \
		sh -c ". /lib.sh; [ '$s1' = running ] && daemon_has_event adopted && { [ -n '$u0' ] && [ -n '$u1' ] && [ \$(($u1 - $u0)) -ge \$(($t1 - $t0 - 500)) ]; }"
	stop_daemon
	s2=$(cat "$R/state")
	# shellcheck disable=SC2154 # set by stop_daemon (lib.sh)
	rc2=$daemon_rc
	start_daemon /etc/rtd-ampd.toml
	wait_for daemon_phase running && wait_for have_raw
	u2=$(fw_uptime)
	t2=$(ms_now)
	check "daemon: SIGTERM (stop_on_exit = false) leaves the firmware running, the next daemon adopts it: uptime continued" \
		"exit $rc2, state after SIGTERM $s2, uptime $u1 -> $u2 ms over $((t2 - t1)) ms, daemon: $(daemon_status)" \
		sh -c ". /lib.sh; [ '$rc2' = 0 ] && [ '$s2' = running ] && daemon_has_event adopted && [ -n '$u1' ] && [ -n '$u2' ] && [ \$(($u2 - $u1)) -ge \$(($t2 - $t1 - 500)) ]"
	stop_daemon
	# The shipped configuration says stop_on_exit = false: turn it on.
	sed 's/^stop_on_exit = false$/stop_on_exit = true/' /etc/rtd-ampd.toml >/tmp/soe.toml
	start_daemon /tmp/soe.toml
	wait_for daemon_phase running
	stop_daemon
	check "daemon: stop_on_exit = true: SIGTERM stops the firmware, exit 0" \
		"exit $daemon_rc, state $(cat "$R/state")" sh -c "[ '$daemon_rc' = 0 ] && . /lib.sh && state_is offline"
	stop_fw
fi
