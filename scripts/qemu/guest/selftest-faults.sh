#!/bin/sh
# The self-test's faults that need a device tree of their own
# (docs/qemu-twin.md, "Self-test faults"): scripts/qemu-amp test boots the
# twin once per fault with amp.mode=faults amp.fault=NAME and the DTB
# below, and reads the last line "selftest-faults: N passed, M failed".
#   nooverlay  QEMU's own virt DT, no overlay: dt-overlay FAILs
#   overlap    the overlay with the firmware carveout's no-map removed, so
#              Linux maps it as System RAM: dt-reserved-memory and iomem
#              FAIL (the firmware is not started: the driver could not
#              ioremap RAM)
#   sgi        the overlay with realtek,sgi = <6> (the firmware takes 7):
#              doorbell-ids FAILs, doorbell-count FAILs, the run ends
# Each asserts the FAIL line and its hint, exit status 1, and that the
# self-test ends within its timeout (no hang).
# shellcheck source=scripts/qemu/guest/lib.sh
. /lib.sh
pass=0
fail=0
# expect OUT ID LINE-REGEX HINT-REGEX
expect() {
	l=$(st_line "$1" "$2")
	check "selftest fault $fault: $2 FAILs" "'$l'" matches "$l" "^FAIL $2: $3"
	h=$(st_hint "$1" "$2")
	check "selftest fault $fault: $2 hint" "'$h'" matches "$h" "$4"
}

fault=$(sed -n 's/.*amp\.fault=\([a-z]*\).*/\1/p' /proc/cmdline)
case "$fault" in
sgi)
	echo "$FW" >"$R"/firmware
	echo start >"$R"/state
	check "selftest fault sgi: the firmware starts" "state $(cat "$R"/state)" wait_for state_is running
	;;
esac
start=$(date +%s)
st=$(timeout 120 ampctl selftest --quick 2>/tmp/selftest.err)
rc=$?
printf '%s\n' "$st" | sed 's/^/  | /'
check "selftest fault $fault: ends with exit 1 and its summary, no hang ($(($(date +%s) - start)) s)" \
	"exit $rc, last line '$(printf '%s\n' "$st" | tail -n1)'" \
	sh -c "[ $rc = 1 ] && printf '%s\n' \"\$1\" | tail -n1 | grep -qE '^selftest: [0-9]+ passed, [1-9][0-9]* failed, [0-9]+ skipped$'" _ "$st"
case "$fault" in
nooverlay)
	expect "$st" dt-overlay 'no realtek,rtd1619b-amp-rproc and no realtek,rtd1619b-amp-mbox node in the live device tree$' \
		'^the overlay is not in the device tree Linux booted with: the layer merges rtd1619b-amp.dtbo'
	;;
overlap)
	expect "$st" dt-reserved-memory 'without no-map: firmware \(' "add .no-map;. to each region"
	expect "$st" iomem 'firmware 0x70000000\.\.0x703fffff in System RAM 0x40000000-' '^Linux uses this memory as RAM'
	;;
sgi)
	expect "$st" doorbell-ids 'device tree: SGI 6, SPI INTID 152; firmware: SGI 7, SPI INTID 152$' \
		"^the mailbox node's realtek,sgi is 6 but the firmware takes SGI 7"
	expect "$st" doorbell-count 'the control service did not answer' 'no doorbell round trip'
	;;
*) ko "selftest fault" "unknown amp.fault '$fault'" ;;
esac
echo "selftest-faults: $pass passed, $fail failed"
