# shellcheck shell=sh
# Where an echo's time goes (docs/benchmarks.md, "Round-trip breakdown"):
# in one boot, the bare doorbell round trip (the debug driver's ping), the
# firmware's own service time (its generic-timer stamps in the control
# page), RPMsg echoes through /dev/rpmsgN (bare system calls, and through
# librtdamp) and the tty, and the host CPU the
# idle firmware's vCPU burns (sampled by the host runner between the
# PERF-IDLE markers). Figures only: medians of several runs with their p99;
# the cases check that each measurement ran and returned intact data,
# never how fast (TCG emulation, not hardware).
perf_runs=5
# med: the median of the numbers on stdin, one a line.
med() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "?" }'; }
# us NS: nanoseconds as microseconds with one decimal.
us() { awk -v n="$1" 'BEGIN { printf "%.1f", n / 1000 }'; }
# svc_hist: the firmware's service-time histogram counters (control page).
svc_hist() { sed -n 's/^svc_hist: //p' "$D/rtd_amp_ctrl"; }
# hist_add ACC BEFORE AFTER: ACC plus the samples between two histograms
# (wrapping u16 counters), as a counts vector.
hist_add() {
	awk -v c="$1" -v b="$2" -v a="$3" 'BEGIN {
		nb = split(b, x, " "); split(a, y, " "); split(c, z, " ")
		for (i = 1; i <= nb; i++) printf "%d ", z[i] + (y[i] - x[i] + 65536) % 65536
	}'
}
# svc_pct COUNTS P: the histogram bin holding the P-th percentile, as
# "LOW-HIGH" in us (bins are quarter octaves from 256 ns; ctrl.rs
# svc_bin), and the sample count.
svc_pct() {
	awk -v c="$1" -v p="$2" 'BEGIN {
		nb = split(c, x, " ")
		for (i = 1; i <= nb; i++) n += x[i]
		if (!n) { print "? 0"; exit }
		want = n * p / 100
		for (i = 1; i <= nb; i++) { acc += x[i]; if (acc >= want) break }
		printf "%.1f-%.1f %d\n", lo(i - 1) / 1000, lo(i) / 1000, n
	}
	function lo(k,   e, v) {
		if (k == 0) return 0
		v = 4 + (k - 1) % 4
		# busybox awk has no ^: (4 + s) << (e - 2) by doubling.
		for (e = 8 + int((k - 1) / 4); e > 2; e--) v *= 2
		return v
	}'
}

start_fw
rtt=$D/rtd_amp_doorbell_rtt
# The doorbell SPI's IRQ and the cpu it is delivered to: the bench then
# runs pinned there too (its wake-ups stay on one vCPU), and unpinned.
irq=$(awk '/mailbox-0/ { sub(":", "", $1); print $1; exit }' /proc/interrupts)
irq_cpu=$(cat "/proc/irq/$irq/effective_affinity_list" 2>/dev/null || cat "/proc/irq/$irq/smp_affinity_list" 2>/dev/null)
irq_cpu=${irq_cpu%%[-,]*}
echo "  doorbell IRQ $irq on cpu ${irq_cpu:-?}"

# --- the debug-only ping: interface checks (can fail), then the figure
check "perf: rtd_amp_doorbell_rtt is root-only (0600)" "mode $(stat -c %a "$rtt" 2>&1)" \
	[ "$(stat -c %a "$rtt" 2>/dev/null)" = 600 ]
r=$(cat "$rtt" 2>&1)
check "perf: rtd_amp_doorbell_rtt reads one line before any run" "'$r'" \
	matches "$r" '^n=0 min_ns=0 p50_ns=0 p99_ns=0 max_ns=0 lost=0$'
if echo 0 2>/dev/null >"$rtt"; then z=accepted; else z=refused; fi
if echo 100001 2>/dev/null >"$rtt"; then big=accepted; else big=refused; fi
check "perf: rtd_amp_doorbell_rtt refuses 0 and 100001 pings" "0 $z, 100001 $big" \
	[ "$z/$big" = refused/refused ]
# Ten pings first: each answered, and counted by the firmware as well
# (its control-page counter, through the driver's rtd_amp_ctrl); a broken
# ping path fails here in a second instead of timing out 2500 pings.
pings0=$(sed -n 's/^pings: //p' "$D/rtd_amp_ctrl")
echo 10 2>/dev/null >"$rtt" || true
r=$(cat "$rtt")
pings1=$(sed -n 's/^pings: //p' "$D/rtd_amp_ctrl")
db_ok=no
if matches "$r" '^n=10 min_ns=[1-9][0-9]* p50_ns=[0-9]+ p99_ns=[0-9]+ max_ns=[0-9]+ lost=0$' &&
	[ $((pings1 - pings0)) = 10 ]; then
	db_ok=yes
fi
check "perf: 10 doorbell pings answered, and counted by the firmware in its control page" \
	"'$r', firmware counted $((pings1 - pings0))" [ $db_ok = yes ]

# --- the series: $perf_runs rounds, each running every variant once in
# turn, so that the host's load drifting during the series weighs on all
# of them alike (TCG: every vCPU is a host thread on a shared machine):
#   db      doorbell pings (500), writer unpinned
#   dbpin   the same, writer pinned to the doorbell IRQ's cpu
#   e16     16 B echoes (200), poll() then read(), unpinned: tests.sh's bench
#   e16pin  the same, pinned to the doorbell IRQ's cpu
#   e16rd   16 B echoes, one blocking read() a reply, pinned
#   e496    496 B echoes, poll() then read(), unpinned
#   e496rd  496 B echoes, blocking read(), pinned
#   c16     16 B echoes through librtdamp (ampcapi: rtdamp_send/recv with
#           timeouts: a non-blocking write(), poll() then read()), pinned
#   c16blk  the same with timeout -1 (write(), one blocking read()), pinned
# A run appends its p50 and p99 (us) to /tmp/perf/V.p50 and V.p99; echo
# runs add the firmware's service-time histogram over the run to V.hist.
pin="taskset -c ${irq_cpu:-0}"
variants="e16 e16pin e16rd e496 e496rd c16 c16blk"
[ $db_ok = yes ] && variants="db dbpin $variants"
rm -rf /tmp/perf && mkdir -p /tmp/perf
for v in $variants; do svc_hist | sed 's/[0-9][0-9]*/0/g' >"/tmp/perf/$v.hist"; done
lost=0 bad=""
for i in $(seq $perf_runs); do
	for v in $variants; do
		case $v in
		db | dbpin)
			cmd=$pin
			[ "$v" = db ] && cmd=""
			$cmd sh -c "echo 500 >$rtt" || bad="$bad $v run $i: write failed;"
			r=$(cat "$rtt")
			matches "$r" '^n=500 min_ns=[0-9]+ p50_ns=[1-9][0-9]* p99_ns=[0-9]+ max_ns=[0-9]+ lost=[0-9]+$' ||
				bad="$bad $v run $i: '$r';"
			lost=$((lost + ${r##*lost=}))
			a=$(echo "$r" | sed -n 's/.* p50_ns=\([0-9]*\) .*/\1/p')
			b=$(echo "$r" | sed -n 's/.* p99_ns=\([0-9]*\) .*/\1/p')
			a=$(us "$a") b=$(us "$b")
			;;
		c16*)
			mode=""
			[ "$v" = c16blk ] && mode=block
			h0=$(svc_hist)
			# shellcheck disable=SC2086 # $mode: empty or one word
			r=$($pin ampcapi bench "$(raw_dev)" 16 200 $mode) || bad="$bad $v run $i: $r;"
			h1=$(svc_hist)
			hist_add "$(cat "/tmp/perf/$v.hist")" "$h0" "$h1" >"/tmp/perf/$v.new"
			mv "/tmp/perf/$v.new" "/tmp/perf/$v.hist"
			matches "$r" '^capibench 16 B: p50 [0-9]+ us, p99 [0-9]+ us, .*content checked' ||
				bad="$bad $v run $i: '$r';"
			a=$(echo "$r" | sed -n 's/.*p50 \([0-9]*\) us.*/\1/p')
			b=$(echo "$r" | sed -n 's/.*p99 \([0-9]*\) us.*/\1/p')
			;;
		*)
			case $v in e16*) size=16 ;; *) size=496 ;; esac
			case $v in *rd) how="read" ;; *) how="poll" ;; esac
			case $v in e16 | e496) cmd="" ;; *) cmd=$pin ;; esac
			h0=$(svc_hist)
			r=$($cmd ampt bench "$(raw_dev)" $size 200 $how) || bad="$bad $v run $i: $r;"
			h1=$(svc_hist)
			hist_add "$(cat "/tmp/perf/$v.hist")" "$h0" "$h1" >"/tmp/perf/$v.new"
			mv "/tmp/perf/$v.new" "/tmp/perf/$v.hist"
			a=$(echo "$r" | sed -n 's/.*p50 \([0-9]*\) us.*/\1/p')
			b=$(echo "$r" | sed -n 's/.*p99 \([0-9]*\) us.*/\1/p')
			;;
		esac
		echo "$a" >>"/tmp/perf/$v.p50"
		echo "$b" >>"/tmp/perf/$v.p99"
	done
done
check "perf: $perf_runs rounds of doorbell pings and echoes (16 B, 496 B; poll+read and blocking read; librtdamp), every reply intact" \
	"${bad:-lost pings $lost}" sh -c "[ -z \"$bad\" ] && [ $lost -lt 5 ]"
# fig V: "p50 X us, p99 Y us" of variant V (medians over the rounds).
fig() { echo "p50 $(med </tmp/perf/"$1".p50) us, p99 $(med </tmp/perf/"$1".p99) us"; }
# svc V: the firmware's service time during variant V's echoes.
svc() {
	a=$(svc_pct "$(cat /tmp/perf/"$1".hist)" 50) b=$(svc_pct "$(cat /tmp/perf/"$1".hist)" 99)
	echo "firmware service time p50 ${a% *} us, p99 ${b% *} us (${a#* } replies; CNTPCT stamps, quarter-octave bins)"
}
m="median of $perf_runs interleaved runs"
if [ $db_ok = yes ]; then
	echo "FIGURE: doorbell round trip (SGI to CPU3, firmware acks, SPI back, rx callback wakes the writer; debugfs rtd_amp_doorbell_rtt, $m x 500), writer unpinned: $(fig db), lost $lost"
	echo "FIGURE: doorbell round trip, writer pinned to the doorbell IRQ's cpu${irq_cpu:-0}: $(fig dbpin)"
fi
echo "FIGURE: RPMsg echo 16 B via /dev/rpmsgN, before (ampt bench: poll+read, unpinned; $m x 200): $(fig e16); $(svc e16)"
echo "FIGURE: RPMsg echo 16 B, poll+read, pinned to cpu${irq_cpu:-0}: $(fig e16pin); $(svc e16pin)"
echo "FIGURE: RPMsg echo 16 B, after (one blocking read a reply, pinned): $(fig e16rd); $(svc e16rd)"
echo "FIGURE: RPMsg echo 496 B, before (poll+read, unpinned): $(fig e496); $(svc e496)"
echo "FIGURE: RPMsg echo 496 B, after (blocking read, pinned): $(fig e496rd); $(svc e496rd)"
echo "FIGURE: RPMsg echo 16 B through librtdamp (ampcapi: rtdamp_send/rtdamp_recv, 5 s timeouts: non-blocking write, poll then read), pinned to cpu${irq_cpu:-0}: $(fig c16); $(svc c16)"
echo "FIGURE: RPMsg echo 16 B through librtdamp, timeout -1 (write, blocking read), pinned: $(fig c16blk); $(svc c16blk)"
if [ $db_ok = yes ]; then
	ratio() { # ratio ECHO DOORBELL: p50 over p50
		awk -v e="$(med </tmp/perf/"$1".p50)" -v d="$(med </tmp/perf/"$2".p50)" 'BEGIN { printf "%.1f", e / d }'
	}
	echo "FIGURE: RPMsg echo 16 B p50 / doorbell p50 in the same boot (goal <= 3): before (unpinned, poll+read) $(ratio e16 db), after (pinned, blocking read) $(ratio e16rd dbpin), librtdamp pinned with timeouts $(ratio c16 dbpin), blocking $(ratio c16blk dbpin)"
fi
svc_count=$(sed -n 's/^svc_count: //p' "$D/rtd_amp_ctrl")
svc_sum=$(sed -n 's/^svc_sum_ns: //p' "$D/rtd_amp_ctrl")
svc_max=$(sed -n 's/^svc_max_ns: //p' "$D/rtd_amp_ctrl")
check "perf: firmware service-time statistics in the control page" "count '$svc_count', sum '$svc_sum'" \
	sh -c "[ '${svc_count:-0}' -gt 0 ] && [ '${svc_sum:-0}' -gt 0 ]"
echo "FIGURE: firmware service time since start: mean $(awk -v s="$svc_sum" -v n="$svc_count" 'BEGIN { printf "%.1f", s / n / 1000 }') us, max $(us "$svc_max") us over $svc_count replies (control page svc_*)"

# --- the tty
p50s="" p99s="" bad=""
for i in $(seq $perf_runs); do
	r=$(ampt ttybench /dev/ttyRPMSG0 100) || bad="run $i: $r"
	p50s="$p50s $(echo "$r" | sed -n 's/.*p50 \([0-9]*\) us.*/\1/p')"
	p99s="$p99s $(echo "$r" | sed -n 's/.*p99 \([0-9]*\) us.*/\1/p')"
done
check "perf: tty line echoes ($perf_runs x 100), every reply intact" "$bad" [ -z "$bad" ]
echo "FIGURE: tty echo 16 B via /dev/ttyRPMSG0 (ampt ttybench, median of $perf_runs runs x 100): p50 $(for v in $p50s; do echo "$v"; done | med) us, p99 $(for v in $p99s; do echo "$v"; done | med) us"

# --- the idle firmware's vCPU: the host runner samples the host CPU time
# of QEMU's "CPU 3/TCG" thread once a second for 8 s after the first
# (the guest stays idle 4 s longer, as slack for a slow host).
echo "PERF-IDLE-BEGIN 8"
sleep 12
echo "PERF-IDLE-END"
stop_fw
if echo 10 2>/dev/null >"$rtt"; then off=accepted; else off=refused; fi
check "perf: rtd_amp_doorbell_rtt refuses while the firmware is stopped" "write $off" [ $off = refused ]
