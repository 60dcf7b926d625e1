#!/usr/bin/env bash
# The board's "firmware before Linux" U-Boot step (dynamic-layers/avengers/
# recipes-bsp/u-boot/u-boot-rtd-amp-start.inc; docs/kernel.md, "Boot
# flows"): its addresses are those of the board overlay (firmware and
# control-page regions, CPU3's MPIDR) and of the firmware ELF built for the
# board (entry point and lowest loadable address: U-Boot loads the flat
# image there and CPU_ON enters there), and the .bin the recipe deploys
# (objcopy -O binary, as do_deploy does) starts with the ELF's first
# loadable bytes; rtd-amp-image puts that file on the boot partition. One
# source of truth: the overlay; this stage fails when the recipe's defaults
# drift from it. AMP_RTD1619B_FIRMWARE_ELF: an ELF built already (default:
# scripts/build-firmware rtd1619b production).
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
cd "$REPO_ROOT"
inc=dynamic-layers/avengers/recipes-bsp/u-boot/u-boot-rtd-amp-start.inc
dtso=recipes-bsp/rtd-amp-overlays/files/rtd1619b-amp.dtso
fail=0
bad() { echo "FAIL: $*" >&2; fail=1; }
# var NAME: the ??= default of NAME in the inc.
var() { sed -n "s/^$1 ??= \"\\(.*\\)\"$/\\1/p" "$inc"; }
# region NAME: the base address of reserved-memory node NAME@... in the overlay.
region() { sed -n "/^[[:space:]]*[a-z_0-9]*:\\{0,1\\} *$1@[0-9a-f]* {/,/}/s/.*reg = <\\(0x[0-9a-f]*\\) .*/\\1/p" "$dtso" | head -n1; }
fw=$(var RTD_AMP_UBOOT_FW_ADDR)
ctrl=$(var RTD_AMP_UBOOT_CTRL_ADDR)
mpidr=$(var RTD_AMP_UBOOT_MPIDR)
dt_fw=$(region firmware)
dt_ctrl=$(region ctrl)
dt_mpidr=$(sed -n 's/.*(MPIDR \(0x[0-9a-f]*\)).*/\1/p' "$dtso" | head -n1)
for v in fw ctrl mpidr dt_fw dt_ctrl dt_mpidr; do [ -n "${!v}" ] || bad "no value for $v (inc $inc, overlay $dtso)"; done
[ "$fail" = 0 ] || exit 1
[ $((fw)) = $((dt_fw)) ] || bad "RTD_AMP_UBOOT_FW_ADDR $fw is not the overlay's firmware region $dt_fw"
[ $((ctrl)) = $((dt_ctrl)) ] || bad "RTD_AMP_UBOOT_CTRL_ADDR $ctrl is not the overlay's ctrl region $dt_ctrl"
[ $((mpidr)) = $((dt_mpidr)) ] || bad "RTD_AMP_UBOOT_MPIDR $mpidr is not the overlay's CPU3 MPIDR $dt_mpidr"

elf=${AMP_RTD1619B_FIRMWARE_ELF:-$("$REPO_ROOT/scripts/build-firmware" rtd1619b production | tail -n1)}
entry=$(aarch64-linux-gnu-readelf -h "$elf" | sed -n 's/^ *Entry point address: *//p')
low=$(aarch64-linux-gnu-readelf -lW "$elf" | awk '$1 == "LOAD" { print $4 }' | sort | head -n1)
[ $((entry)) = $((fw)) ] || bad "the rtd1619b firmware's entry $entry is not RTD_AMP_UBOOT_FW_ADDR $fw"
[ $((low)) = $((fw)) ] || bad "the rtd1619b firmware's lowest load address $low is not RTD_AMP_UBOOT_FW_ADDR $fw"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
aarch64-linux-gnu-objcopy -O binary "$elf" "$tmp/fw.bin"
off=$(aarch64-linux-gnu-readelf -lW "$elf" | awk '$1 == "LOAD" { print $2, $4, $5 }' | sort -k2 | head -n1)
read -r foff _ fsz <<<"$off"
cmp -s <(tail -c +$((foff + 1)) "$elf" | head -c $((fsz))) <(head -c $((fsz)) "$tmp/fw.bin") ||
	bad "rtd-amp-fw.bin does not start with the first loadable segment of $elf"
# The image puts the file the recipe deploys on the boot partition.
file=$(var RTD_AMP_UBOOT_FW_FILE)
grep -q "^IMAGE_BOOT_FILES:append:stark = \" \${@'$file' if d.getVar('RTD_AMP_UBOOT_START') == '1' else ''}\"$" recipes-core/images/rtd-amp-image.bb ||
	bad "recipes-core/images/rtd-amp-image.bb does not put RTD_AMP_UBOOT_FW_FILE ($file) on the boot partition"
[ "$fail" = 0 ] || exit 1
echo "u-boot start: window $fw, control page $ctrl, MPIDR $mpidr as in $dtso; $elf enters and loads at $fw; the flat image ($(stat -c %s "$tmp/fw.bin") bytes) starts with its first segment"
