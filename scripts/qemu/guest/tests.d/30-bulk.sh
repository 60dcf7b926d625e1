# shellcheck shell=sh
# The bulk channel's device, /dev/rtd-amp-bulk0 (rtd_amp_bulk.c in
# rtd_amp_rproc; docs/kernel.md "The bulk device"): the DT region, who may
# open it, every mmap rule (ampbulk maps), the doorbell counter (read,
# poll), the doorbell to the firmware (write). The kernel never parses the
# rings: their content and back-pressure are amp-proto's (cargo test -p
# amp-proto --test bulk).
BULK=/dev/rtd-amp-bulk0
bnode=$(find /proc/device-tree/reserved-memory -maxdepth 1 -name "bulk@*" 2>/dev/null | head -n1)
# The size cell of reg (two address and two size cells in the twin).
bsize=$(od -An -tu1 -j 12 -N 4 "$bnode/reg" 2>/dev/null | awk '{ print (($1 * 256 + $2) * 256 + $3) * 256 + $4 }')
check "bulk: DT region bulk@70800000, 2 MiB (window +0x800000, amp-proto bulk::REGION_*)" \
	"node '$bnode', size '$bsize'" [ "${bnode##*/}" = bulk@70800000 ] && [ "$bsize" = 2097152 ]
check "bulk: $BULK is the application group's, mode 0660" "$(ls -l $BULK 2>&1)" \
	wait_for sh -c "[ \"\$(stat -c '%a %g' $BULK)\" = '660 $APP_GID' ]"
r=$(ampt as "$OUT_UID" "$OUT_UID" -- ampbulk again $BULK 2>&1)
check "bulk: an outsider cannot open $BULK" "$r" matches "$r" 'Permission denied'
r=$(app ampbulk maps $BULK "$bsize" 2>&1)
rc=$?
echo "$r" | sed 's/^/  /'
check "bulk: mmap refuses private, executable, past-the-end and read-only-open-writable mappings; shared mappings of the region and of an offset see one memory" \
	"$(echo "$r" | grep '^ko' | tr '\n' ';')" [ "$rc" = 0 ]
r=$(app ampbulk again $BULK 2>&1)
check "bulk: read without a new doorbell: EAGAIN (O_NONBLOCK), EINVAL if shorter than 8 bytes" "$r" \
	matches "$r" '^ok EAGAIN'

start_fw
raw=$(raw_dev)
# While running, the carveouts are registered: firmware, vrings, ... but
# not bulk (no firmware segment, trace or vring may lie in it).
c=$(cat "$D/carveout_memories" 2>&1)
check "bulk: never a carveout (the running firmware's carveouts do not include it)" "$c" \
	sh -c "printf '%s' \"\$1\" | grep -q firmware && ! printf '%s' \"\$1\" | grep -qi bulk" _ "$c"
app ampbulk wait $BULK 5000 >/tmp/bulk-wait 2>&1 &
bw=$!
# Any doorbell of the firmware wakes the bulk pollers: RPMsg echoes make
# some until the waiter has seen one (it gives up after its 5 s).
while kill -0 $bw 2>/dev/null; do
	ampt echo "$raw" 1 >/dev/null 2>&1
	sleep 0.1
done
wait $bw
rc=$?
r=$(cat /tmp/bulk-wait)
check "bulk: a firmware doorbell wakes poll (EPOLLIN), read gives the count" "rc $rc: $r" \
	ran_ok "$rc" "$r" '^doorbells [1-9][0-9]*$'
app ampbulk ring $BULK
rc=$?
r=$(ampt echo "$raw" 10)
check "bulk: writing 8 bytes rings the firmware's doorbell; the firmware serves on" "rc $rc, echo: $r" \
	[ "$rc" = 0 ] && [ "$r" = "echo: 10/10 ok" ]

# Records through the firmware's bulk echo service (rtd-amp-fw bulk.rs),
# from an application (amp-host's bulk API through ampctl bulk): zero-copy
# on both ends, every byte of every echo checked, in order.
r=$(app ampctl bulk -n 64 -s 65536 2>&1) && rc=0 || rc=$?
check "bulk: 64 records of 64 KiB echoed by the firmware, every byte and tag checked" "exit $rc: $r" \
	ran_ok "$rc" "$r" '^bulk: 64 records of 65536 bytes echoed, every byte checked'
r=$(app ampctl bulk -n 100 -s 1 2>&1) && rc=0 || rc=$?
check "bulk: 100 one-byte records" "exit $rc: $r" ran_ok "$rc" "$r" '^bulk: 100 records of 1 bytes echoed'
r=$(app ampctl bulk -n 4 -s 522224 --window 2 2>&1) && rc=0 || rc=$?
check "bulk: records of the largest payload (522224 bytes, half a ring)" "exit $rc: $r" \
	ran_ok "$rc" "$r" '^bulk: 4 records of 522224 bytes echoed'
r=$(app ampctl bulk -n 1 -s 522225 2>&1) && rc=0 || rc=$?
# refused RC OUTPUT: failed, naming the largest payload.
refused() { [ "$1" != 0 ] && matches "$2" 'at most 522224 bytes'; }
check "bulk: a record past the largest payload is refused before anything is sent" "exit $rc: $r" \
	refused "$rc" "$r"
# 64 in flight, but the two rings hold 30 records of 64 KiB: the firmware
# leaves records in the host->firmware ring while its reply ring is full,
# the sender waits for room; the reader sleeps 20 ms before each read.
r=$(app ampctl bulk -n 100 -s 65536 --window 64 --slow-ms 20 2>&1) && rc=0 || rc=$?
check "bulk: a slow reader loses nothing (100 x 64 KiB, 64 in flight, 20 ms a read: both rings fill, the sender waits)" \
	"exit $rc: $r" ran_ok "$rc" "$r" '^bulk: 100 records of 65536 bytes echoed, every byte checked, .* sender waited [1-9][0-9]* times'

# Figures: the bulk channel beside the RPMsg stream of this boot (median
# of 3 runs each; TCG emulation, not hardware). No timing assert.
bulk_mb=
rpmsg_mb=
# bulk_med: the median of the numbers on stdin, one a line.
bulk_med() { sort -n | awk 'NF { v[++n] = $1 } END { if (n) print v[int((n + 1) / 2)]; else print "?" }'; }
for _ in 1 2 3; do
	r=$(app ampctl bulk -n 64 -s 65536 --window 8 2>/dev/null) &&
		bulk_mb="$bulk_mb
$(printf '%s' "$r" | sed -n 's/.* \([0-9.]*\) MB\/s.*/\1/p')"
	r=$(ampt stream "$raw" 496 2000 16 2>/dev/null) &&
		rpmsg_mb="$rpmsg_mb
$(printf '%s' "$r" | sed -n 's/^stream 496 B: \([0-9.]*\) MB\/s.*/\1/p')"
done
bmed=$(printf '%s\n' "$bulk_mb" | bulk_med)
rmed=$(printf '%s\n' "$rpmsg_mb" | bulk_med)
echo "FIGURE: bulk channel 64 KiB records echoed (ampctl bulk, zero-copy both ends, 8 in flight, every byte checked; median of 3 runs x 64): $bmed MB/s one way; RPMsg stream 496 B of this boot (ampt stream, 16 in flight; median of 3 runs x 2000): $rmed MB/s each way; ratio $(awk -v b="$bmed" -v r="$rmed" 'BEGIN { if (r > 0) printf "%.1f", b / r; else print "?" }')x"
stop_fw
