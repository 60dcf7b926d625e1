# shellcheck shell=sh
# Attach and detach (docs/kernel.md, "Attach and detach"; rtd_amp_attach.c):
# a firmware started by Linux is left running by an unbind with
# keep_running (the device attribute, lib.sh); both modules are reloaded and the driver probes the
# running core as detached; start attaches without reloading it (its uptime
# goes on), detach leaves it running, a second reload attaches again. A
# sequence-numbered echo stream runs through the whole cycle, resending
# by sequence what a torn-down endpoint left unanswered (docs/kernel.md,
# "Messages across detach and attach"): none lost, none duplicated or
# replayed, none out of order; the firmware's own message count says on
# which side of the ring Linux discarded the one in flight. Then a corrupted control page
# (wrong magic; resource table outside the carveout; version 1), written
# through the debug build's rtd_amp_ctrl_poke, is not trusted at probe:
# offline, one clear dmesg line, and start still works (it asks the running
# firmware to stop before it loads anything). Leaves the firmware stopped.

# lib.sh (reload_both and the rest) as tests.sh sourced it; sourcing it
# again only follows the current remoteprocN, as after a reload.
# shellcheck source=scripts/qemu/guest/lib.sh
. /lib.sh
poke() { echo "$1 $2" >"$D/rtd_amp_ctrl_poke"; }
# continued UP0 UP1 T0 T1: the firmware's uptime grew by the time Linux
# saw pass (less 500 ms of measuring); a restarted firmware (up0 >= 1 s)
# cannot pass.
continued() {
	[ -n "$1" ] && [ -n "$2" ] && [ $(($2 - $1)) -ge $(($4 - $3 - 500)) ]
}
# attach_now: start from detached, timed to the rpmsg-raw device.
attach_ms=
attach_now() {
	a0=$(ms_now)
	echo start >$R/state && wait_for state_is attached && wait_for have_raw || return 1
	attach_ms="$attach_ms $(($(ms_now) - a0))"
}
# attached_since START UP0 UP1 T0 T1: started, attached with channels,
# the uptime went on.
attached_since() {
	[ "$1" = ok ] && state_is attached && have_raw && continued "$2" "$3" "$4" "$5"
}
# reattached "DETACH STATE RELOAD STATE" UP1 UP2 T1 T2
reattached() {
	[ "$1" = "ok detached ok detached" ] && state_is attached && continued "$2" "$3" "$4" "$5"
}
# refused_with STATE DMESG REGEX: offline, and the line says why.
refused_with() { [ "$1" = offline ] && matches "$2" "$3"; }


stop_fw
start_fw
sleep 1
t0=$(ms_now)
up0=$(fw_uptime)
m0=$(fw_messages)
rm -f /tmp/seq.stop
ampt seqstream rpmsg-raw /tmp/seq.stop >/tmp/seq.log 2>&1 &
seq_pid=$!
sleep 1
dmesg -c >/dev/null

# 1. Unbind with keep_running: the started firmware keeps running.
keep_running Y
if reload_both; then r1=ok; else r1=failed; fi
k=$(dmesg | grep -m1 'registered as detached' || echo none)
check "attach: reloading both modules (keep_running) leaves the firmware running; the driver probes it as detached" \
	"reload $r1, state $(cat $R/state), dmesg: $k" \
	sh -c "[ $r1 = ok ] && [ \"\$(cat $R/state)\" = detached ] && [ '$k' != none ]"
echo "  kernel: ${k#*remoteproc[0-9]: }"

# 2. start attaches: no image loaded, the core not restarted.
if attach_now; then st=ok; else st=refused; fi
t1=$(ms_now)
up1=$(fw_uptime)
k=$(dmesg | grep -m1 'attached to the firmware' || echo none)
check "attach: echo start attaches (state attached), channels back, the firmware's uptime went on (${up0:-?} -> ${up1:-?} ms)" \
	"start $st, state $(cat $R/state), raw '$(raw_dev)', uptime ${up0:-?} then ${up1:-?}; $k" \
	attached_since "$st" "$up0" "$up1" "$t0" "$t1"
# (The stream holds rpmsg-raw open: it is the echo check while it runs.)
sleep 1

# 3. detach leaves it running; a reload finds it again; start attaches.
dmesg -c >/dev/null
if echo detach >$R/state; then dt=ok; else dt=refused; fi
wait_for state_is detached
s3=$(cat $R/state)
keep_running N
if reload_both; then r3=ok; else r3=failed; fi
s4=$(cat $R/state)
attach_now
t2=$(ms_now)
up2=$(fw_uptime)
check "attach: echo detach leaves the firmware running (detached); rmmod/insmod of both modules probes it detached again; start re-attaches with the uptime going on (${up1:-?} -> ${up2:-?} ms)" \
	"detach $dt (state $s3), reload $r3 (state $s4), now $(cat $R/state), uptime ${up1:-?} then ${up2:-?}" \
	reattached "$dt $s3 $r3 $s4" "$up1" "$up2" "$t1" "$t2"
sleep 1
touch /tmp/seq.stop
wait $seq_pid
m1=$(fw_messages)
sq=$(tail -n1 /tmp/seq.log)
sed -n '/unanswered\|duplicate\|expected\|no SEQ/p' /tmp/seq.log | head -n 6 | sed 's/^/  /'
echo "  $sq"
# seqstream: sent S echoed E lost L wrong W dup D resent R opens O last N
# shellcheck disable=SC2086
set -- $sq
sent=${3:-0} echoed=${5:-0} lost=${7:-9} wrong=${9:-9} dup=${11:-9} resent=${13:-0} opens=${15:-0}
# Where the message in flight went: the firmware took every request the
# stream wrote (resends included) when took = sent (Linux discarded the
# echo), fewer when Linux wrote requests into a ring it had reset (the
# firmware never saw them). Besides the stream: the two fw_uptime and the
# one closing STATS request of this part.
if [ -n "$m0" ] && [ -n "$m1" ]; then
	took=$((m1 - m0 - 3))
	echo "  firmware took $took stream requests, Linux wrote $sent ($resent resent): $((sent - took)) written into a reset ring and never seen by the firmware, $((took - echoed)) taken and echoed but discarded by Linux"
fi
check "attach: sequence-numbered echoes through the whole cycle, unanswered ones resent by sequence: none lost, duplicated, replayed or out of order, the stream resumed after each attach" \
	"$sq" sh -c "[ '$1' = seqstream: ] && [ $lost = 0 ] && [ $wrong = 0 ] && [ $dup = 0 ] && [ $opens -ge 3 ] && [ $echoed -gt 50 ]"
r=$(ampt echo "$(raw_dev)" 20)
check "attach: echo after the cycle" "$r" [ "$r" = "echo: 20/20 ok" ]

# 4. A page the driver must not trust: detached, corrupted, reloaded.
# corrupt NAME OFF VAL [OFF VAL]: detach, poke, reload; checks that the
# probe refused with a line naming WHY, then that start boots afresh.
corrupt() {
	cname=$1 cwhy=$2
	shift 2
	echo detach >$R/state && wait_for state_is detached
	while [ $# -ge 2 ]; do poke "$1" "$2"; shift 2; done
	dmesg -c >/dev/null
	reload_both
	s=$(cat $R/state)
	k=$(dmesg | grep -m1 'control page is not trusted' || echo none)
	echo "  kernel: ${k#*: }"
	check "attach: a control page with $cname is not trusted at probe: offline, one clear dmesg line" \
		"state $s, dmesg: $k" refused_with "$s" "$k" "$cwhy"
	if start_fw && [ "$(ampt echo "$(raw_dev)" 10)" = "echo: 10/10 ok" ]; then st=yes; else st=no; fi
	k=$(dmesg | grep -m1 'asking the firmware there to stop first' || echo none)
	check "attach: after a page with $cname, start stops the firmware still running and boots a fresh one" \
		"start $st, state $(cat $R/state), dmesg: $k" sh -c "[ $st = yes ] && [ '$k' != none ]"
	# Running from a start: attached again only through a reload.
	keep_running Y
	reload_both
	keep_running N
	attach_now
}
if [ -e "$D/rtd_amp_ctrl_poke" ]; then
	corrupt "a wrong magic" 'magic 0x[0-9a-f]* is not 0x504d4152' 0x0 0x41414141
	corrupt "its resource table outside the firmware carveout" \
		'resource table 0x40000000 \+ 0x[0-9a-f]* is not inside the firmware carveout' 0x18 0x40000000 0x1c 0
	corrupt "layout version 1" 'control page version 1, this driver attaches to version 2 only' 0x4 1
else
	ko "attach: corrupted control pages" "no $D/rtd_amp_ctrl_poke (not the debug build?)"
fi
# Figures: start (detached) to the rpmsg-raw device, each attach of this
# part (TCG emulation, not hardware). No timing assert.
# shellcheck disable=SC2086
n=$(echo $attach_ms | wc -w)
# shellcheck disable=SC2086
med=$(echo $attach_ms | tr ' ' '\n' | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
echo "FIGURE: attach (echo start on a detached rproc to its rpmsg-raw device, QEMU TCG): median ${med:-?} ms of $n (all: $attach_ms)"
dmesg -c >/dev/null
echo stop >$R/state
wait_for state_is offline
s=$(cat $R/state)
k=$(dmesg | grep -m1 'stopped MPIDR' || echo none)
# The next start finds the core off: nothing to stop first.
if start_fw && [ "$(ampt echo "$(raw_dev)" 10)" = "echo: 10/10 ok" ]; then st=yes; else st=no; fi
k2=$(dmesg | grep -m1 'asking the firmware there to stop first' || echo none)
check "attach: stop from attached powers the core off; the next start boots it without stopping anything first" \
	"state $s, $k; start $st, $k2" sh -c "[ $s = offline ] && [ '$k' != none ] && [ $st = yes ] && [ '$k2' = none ]"
stop_fw
