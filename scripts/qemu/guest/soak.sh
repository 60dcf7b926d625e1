#!/bin/sh
# The QEMU twin's soak (scripts/qemu-amp soak; docs/qemu-twin.md "Soak",
# figures in docs/benchmarks.md): amp.soak=CRASHES,CYCLES,ATTACH,MESSAGES
# on the kernel command line.
#  1. CYCLES stop/start cycles (sysfs), each: no channel left behind, the
#     channel back, nothing stale on it, 5 echoes;
#  2. CRASHES injected crashes (the test firmware's FAULT on its control
#     service) recovered by rtd-ampd, a sequence-numbered echo stream
#     running through them;
#  3. ATTACH detach/attach cycles (the firmware keeps running: its uptime
#     goes on), the stream still running through them;
#  4. MESSAGES sequence-numbered echoes, 16 in flight.
# Every stream message is accounted for (ampt seqstream: none lost,
# duplicated or out of order; unanswered ones resent by sequence across a
# teardown, docs/kernel.md "Messages across detach and attach"). Memory is
# checked as tests.sh checks it (free_kb, meminfo; lib.sh) before and
# after, the kernel log scanned for splats. Counts and durations as FIGURE
# lines (QEMU TCG, not hardware; no timing asserts). Last line:
# "soak: N passed, M failed".
# shellcheck source=scripts/qemu/guest/lib.sh
. /lib.sh
pass=0
fail=0
# The kernel log of the whole soak, filtered as it comes (the full log of
# 1000 cycles would sit in /tmp, a tmpfs, and count against the memory
# check): the splat patterns, and the crash records that prove the capture.
SPLAT='Internal error|Oops|BUG:|WARNING:|Call trace:|Kernel panic'
# (cat: /dev/kmsg gives one record per read(), as tests.sh reads it.)
# shellcheck disable=SC2002
cat /dev/kmsg 2>/dev/null | awk -v re="$SPLAT|firmware crashed" '$0 ~ re { print; fflush() }' >/tmp/kmsg.log &
kmsg_pid=$!

p=$(sed -n 's/.*amp\.soak=\([0-9,]*\).*/\1/p' /proc/cmdline)
IFS=, read -r CRASHES CYCLES ATTACH MESSAGES <<EOF
${p:-10,50,10,50000}
EOF
echo "soak: $CRASHES crashes, $CYCLES stop/start cycles, $ATTACH attach/detach cycles, $MESSAGES messages"

# stats LIST: "median M p99 P max X" of a list of numbers (nearest rank).
stats() {
	echo "$1" | tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 }
		END { if (!NR) { print "none"; exit }
			p = int(NR * 0.99 + 0.999); if (p > NR) p = NR
			printf "median %d p99 %d max %d of %d", v[int((NR + 1) / 2)], v[p], v[NR], NR }'
}
# seq_ok LINE: a seqstream summary with nothing lost, wrong or duplicated.
# seqstream: sent S echoed E lost L wrong W dup D resent R opens O last N
seq_ok() {
	# shellcheck disable=SC2086
	set -- $1
	[ "$1" = seqstream: ] && [ "$7" = 0 ] && [ "$9" = 0 ] && [ "${11}" = 0 ] && [ "$5" -gt 0 ] && [ "$5" = "${17}" ]
}
clear_coredumps() {
	for d in /sys/class/devcoredump/devcd*; do
		[ -e "$d/data" ] && echo 1 >"$d/data"
	done
	return 0
}

# --- memory baseline (firmware running, after two warm-up cycles)
stop_fw
start_fw && stop_fw && start_fw && stop_fw && start_fw
mem0=$(free_kb)
echo "  meminfo before: $(meminfo)"
soak0=$(ms_now)

# --- 1. stop/start cycles
bad=
durs=
t0=$(ms_now)
i=0
while [ $i -lt "$CYCLES" ]; do
	i=$((i + 1))
	c0=$(ms_now)
	stop_fw || { bad="cycle $i: stop left state $(cat $R/state)"; break; }
	[ -z "$(raw_dev)" ] || { bad="cycle $i: channel left behind"; break; }
	start_fw || { bad="cycle $i: start gave $(cat $R/state), channel '$(raw_dev)'"; break; }
	durs="$durs $(($(ms_now) - c0))"
	q=$(ampt pending "$(raw_dev)")
	[ "$q" = "pending: 0" ] || { bad="cycle $i: stale messages ($q)"; break; }
	e=$(ampt echo "$(raw_dev)" 5)
	[ "$e" = "echo: 5/5 ok" ] || { bad="cycle $i: $e"; break; }
	# Progress on the console of a long run.
	[ $((i % 100)) != 0 ] || echo "  stop/start: $i cycles in $(($(ms_now) - t0)) ms"
done
check "soak: $CYCLES stop/start cycles, channels back, nothing stale, echoes" "$bad" [ -z "$bad" ]
echo "FIGURE: soak stop/start: $i cycles in $(($(ms_now) - t0)) ms; stop to channel back, ms: $(stats "$durs")"

# --- 2. crashes recovered by the daemon, a stream running through them
stop_fw
# The shipped configuration with a restart budget for the soak: no give-up
# and a constant 100 ms backoff (shipped: 5 restarts, 1 s doubling).
sed -e 's/^max_restarts = .*/max_restarts = 1000000/' -e 's/^backoff_initial_ms = .*/backoff_initial_ms = 100/' \
	-e 's/^backoff_factor = .*/backoff_factor = 1.0/' /etc/rtd-ampd.toml >/tmp/soak.toml
start_daemon /tmp/soak.toml
wait_for daemon_phase running && wait_for have_raw
restarts() { daemon_status | sed -n 's/.*"total_restarts":\([0-9]*\).*/\1/p'; }
recovered() { [ "$(restarts)" -ge "$1" ] && daemon_phase running && have_raw; }
rm -f /tmp/soak1.stop
ampt seqstream rpmsg-raw /tmp/soak1.stop 0 4 >/tmp/soak1.log 2>&1 &
s1_pid=$!
sleep 1
base=$(restarts)
bad=
durs=
t0=$(ms_now)
i=0
while [ $i -lt "$CRASHES" ]; do
	i=$((i + 1))
	c=$(find /dev -maxdepth 1 -name 'rpmsg_ctrl*' | sort | tail -n1)
	ampt ept-create "$c" amp-soakf 0x2102 1026 >/dev/null 2>&1
	f=$(wait_for dev_named amp-soakf >/dev/null && dev_named amp-soakf)
	[ -n "$f" ] || { bad="crash $i: no control endpoint on $c"; break; }
	c0=$(ms_now)
	# In the background: the reply may be lost with the endpoint (6.1),
	# and the clock runs from the request. The restart count is the proof.
	ampt ctl "$f" fault 1 >/tmp/soak-fault.out 2>&1 &
	fault_pid=$!
	n=0
	while [ $n -lt 300 ] && ! recovered $((base + i)); do
		sleep 0.1
		n=$((n + 1))
	done
	if ! recovered $((base + i)); then
		bad="crash $i: fault '$(cat /tmp/soak-fault.out)', not recovered: state $(cat $R/state), daemon: $(daemon_status)"
		break
	fi
	durs="$durs $(($(ms_now) - c0))"
	wait $fault_pid
	[ $((i % 10)) != 0 ] || echo "  crashes: $i in $(($(ms_now) - t0)) ms"
done
crash_ms=$(($(ms_now) - t0))
n=$(dmesg | grep -c 'firmware crashed')
check "soak: $CRASHES injected crashes, each recorded by the driver and recovered by rtd-ampd (channels back)" \
	"$bad; daemon total_restarts $(restarts) (from $base)" sh -c "[ -z '$bad' ] && [ \$(($(restarts) - base)) -ge $CRASHES ]"
echo "FIGURE: soak crashes: $i in $crash_ms ms; fault to daemon running with rpmsg-raw back, ms: $(stats "$durs") (daemon poll 500 ms, backoff 100 ms)"
echo "  kernel crash lines: $n"

# --- 3. detach/attach, the stream still running
# The daemon leaves the firmware running at SIGTERM (stop_on_exit false);
# a reload with keep_running leaves it running; the driver probes it
# detached and start attaches.
stop_daemon
keep_running Y
reload_both
keep_running N
echo start >$R/state
wait_for state_is attached && wait_for have_raw
up0=$(fw_uptime)
u0=$(ms_now)
bad=
durs=
t0=$(ms_now)
i=0
while [ $i -lt "$ATTACH" ]; do
	i=$((i + 1))
	if ! { echo detach >$R/state && wait_for state_is detached; }; then
		bad="cycle $i: detach left $(cat $R/state)"
		break
	fi
	c0=$(ms_now)
	if ! { echo start >$R/state && wait_for state_is attached && wait_for have_raw; }; then
		bad="cycle $i: attach gave $(cat $R/state), channel '$(raw_dev)'"
		break
	fi
	durs="$durs $(($(ms_now) - c0))"
	sleep 0.3
done
up1=$(fw_uptime)
u1=$(ms_now)
check "soak: $ATTACH detach/attach cycles, channels back each time, the firmware's uptime went on (${up0:-?} -> ${up1:-?} ms)" \
	"$bad; uptime ${up0:-?} -> ${up1:-?} over $((u1 - u0)) ms" \
	sh -c "[ -z '$bad' ] && [ -n '$up0' ] && [ -n '$up1' ] && [ \$(($up1 - $up0)) -ge \$(($u1 - $u0 - 500)) ]"
echo "FIGURE: soak attach/detach: $i cycles in $(($(ms_now) - t0)) ms; start on detached to rpmsg-raw, ms: $(stats "$durs")"
touch /tmp/soak1.stop
wait $s1_pid
sq=$(tail -n1 /tmp/soak1.log)
grep -c unanswered /tmp/soak1.log | sed 's/^/  stream teardowns: /'
grep -v 'unanswered\|^seqstream: sent' /tmp/soak1.log | head -n 5 | sed 's/^/  /'
echo "  $sq"
check "soak: the stream through $CRASHES crashes and $ATTACH detach/attach cycles: every message accounted for (none lost, duplicated or out of order)" \
	"$sq" seq_ok "$sq"
echo "FIGURE: soak stream through crashes and attach/detach: $sq"

# --- 4. messages
echo stop >$R/state
wait_for state_is offline
start_fw
t0=$(ms_now)
ampt seqstream rpmsg-raw /tmp/never "$MESSAGES" 16 >/tmp/soak2.log 2>&1
ms=$(($(ms_now) - t0))
sq=$(tail -n1 /tmp/soak2.log)
echo "  $sq"
# shellcheck disable=SC2086
set -- $sq
# all_echoed LINE: every one of the MESSAGES echoed, nothing resent.
all_echoed() {
	seq_ok "$1" || return 1
	# shellcheck disable=SC2086
	set -- $1
	[ "$5" = "$MESSAGES" ] && [ "${13}" = 0 ]
}
check "soak: $MESSAGES sequence-numbered echoes (16 in flight): every one accounted for (none lost, duplicated or out of order)" \
	"$sq" all_echoed "$sq"
echo "FIGURE: soak messages: ${5:-0} echoed in $ms ms ($(awk -v n="${5:-0}" -v t=$ms 'BEGIN { printf "%.0f", t ? n * 1000 / t : 0 }') msg/s, 8-byte payload, 16 in flight)"

# --- memory and kernel log
stop_fw
start_fw
clear_coredumps
mem1=$(free_kb)
echo "  meminfo after: $(meminfo)"
echo "FIGURE: soak free memory (free + per-CPU lists) before/after: $mem0 kB / $mem1 kB"
check "soak: no memory leak (free memory within 1 MiB after the soak)" "lost $((mem0 - mem1)) kB" \
	[ $((mem0 - mem1)) -lt 1024 ]
stop_fw
kill "$kmsg_pid" 2>/dev/null
splat=$(grep -E "$SPLAT" /tmp/kmsg.log | head -n5)
if [ "$CRASHES" -gt 0 ] && ! grep -q 'firmware crashed' /tmp/kmsg.log; then
	splat="no crash record in /tmp/kmsg.log: kernel log not captured"
fi
check "soak: kernel log: no Oops, BUG, WARNING or Call trace" "$splat" [ -z "$splat" ]
echo "FIGURE: soak total: $(($(ms_now) - soak0)) ms"
echo "soak: $pass passed, $fail failed"
