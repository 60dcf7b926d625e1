#!/usr/bin/env bash
# Kernel side: both drivers build without a single compiler or sparse
# warning (W=1 C=1) against Debian's arm64 6.1 and 6.12 kernels; checkpatch
# --strict is clean; the DT bindings and their examples pass dt-schema; the
# QEMU overlay applies to QEMU's own virt DT and the result validates; the
# board overlay compiles; every option of the config fragment exists in the
# 6.1 Kconfig.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source=scripts/lib/debian-kernel.sh
. "$REPO_ROOT/scripts/lib/debian-kernel.sh"

mods=$REPO_ROOT/recipes-kernel/rtd-amp-modules/files
bindings=$mods/bindings
overlays=$REPO_ROOT/recipes-bsp/rtd-amp-overlays/files
cfg=$REPO_ROOT/recipes-kernel/linux/files/rtd-amp.cfg
dt=$CACHE_DIR/venv-dt/bin
work=$CACHE_DIR/kernel-check
rm -rf "$work" && mkdir -p "$work"
fail=0
bad() { printf 'FAIL: %s\n' "$*" >&2; fail=1; }

for series in 6.1 6.12; do
	dk_prepare "$series"
	out=$work/build-$series
	cp -r "$mods" "$out"
	log "modules against $(dk_version "$series") (W=1, sparse)"
	if ! make -s -C "$(dk_kdir "$series")" M="$out" ARCH=arm64 \
		CROSS_COMPILE=aarch64-linux-gnu- W=1 C=1 \
		RPROC_INTERNAL_DIR="$(dk_srcdir "$series")/drivers/remoteproc" \
		modules >"$out/build.log" 2>&1; then
		cat "$out/build.log" >&2
		bad "modules do not build against $series"
	elif grep -E 'warning:|error:' "$out/build.log" >&2; then
		bad "compiler warnings against $series"
	else
		for ko in rtd_amp_mbox rtd_amp_rproc; do
			[ -f "$out/$ko.ko" ] || bad "$ko.ko missing for $series"
			magic=$(modinfo -F vermagic "$out/$ko.ko")
			case "$magic" in "$(dk_version "$series") "*) ;;
			*) bad "$ko.ko vermagic is '$magic', not $(dk_version "$series")" ;;
			esac
		done
	fi
done

src61=$(dk_srcdir 6.1)
log "checkpatch --strict"
if ! (cd "$mods" && perl "$src61/scripts/checkpatch.pl" --strict --no-tree --quiet \
	--show-types -f ./*.c ./*.h); then
	bad "checkpatch --strict reports problems"
fi

log "dt-schema: bindings"
mapfile -t yamls < <(find "$bindings" -name '*.yaml' | sort)
"$dt/dt-doc-validate" -u "$bindings" "${yamls[@]}" || bad "binding schemas invalid"
"$dt/dt-mk-schema" -j -u "$bindings" >"$work/schemas.json" || bad "cannot process schemas"
for y in "${yamls[@]}"; do
	ex=$work/$(basename "$y" .yaml).example
	"$dt/dt-extract-example" "$y" >"$ex.dts"
	cpp -nostdinc -undef -x assembler-with-cpp -P -I "$src61/include" "$ex.dts" >"$ex.pp.dts"
	dtc -q -@ -I dts -O dtb -o "$ex.dtb" "$ex.pp.dts" || bad "example of $(basename "$y") does not compile"
	"$dt/dt-validate" -s "$work/schemas.json" "$ex.dtb" 2>&1 | tee "$ex.log" >&2
	if [ -s "$ex.log" ]; then bad "example of $(basename "$y") does not validate"; fi
done

log "QEMU virt DT + overlay"
# -nic none, as the twin boots it (scripts/qemu/build.sh).
qemu-system-aarch64 -M virt,gic-version=3,dumpdtb="$work/virt.dtb" -cpu cortex-a55 \
	-smp 4 -m 1G -nic none -nographic >/dev/null 2>&1
[ -s "$work/virt.dtb" ] || bad "QEMU did not dump its virt DT"
# QEMU's DT has no labels: give cpu@3 the label the overlay refers to.
dtc -q -I dtb -O dts "$work/virt.dtb" | sed 's/^\t\tcpu@3 {/\t\tcpu3: cpu@3 {/' >"$work/virt-labelled.dts"
grep -q 'cpu3: cpu@3' "$work/virt-labelled.dts" || bad "no /cpus/cpu@3 in QEMU's DT"
dtc -q -@ -I dts -O dtb -o "$work/virt-labelled.dtb" "$work/virt-labelled.dts"
for o in "$overlays"/*.dtso; do
	dtc -@ -I dts -O dtb -o "$work/$(basename "$o" .dtso).dtbo" "$o" 2>"$work/dtc.log" ||
		{ cat "$work/dtc.log" >&2; bad "$(basename "$o") does not compile"; }
	if grep -q warning "$work/dtc.log"; then cat "$work/dtc.log" >&2; bad "dtc warnings in $(basename "$o")"; fi
done
if fdtoverlay -i "$work/virt-labelled.dtb" -o "$work/virt-amp.dtb" "$work/qemu-virt-amp.dtbo"; then
	for node in /reserved-memory/firmware@70000000 /reserved-memory/vdev0buffer@70410000 \
		/reserved-memory/ctrl@70ff0000 /mailbox-0 /remoteproc-cpu3; do
		fdtget -l "$work/virt-amp.dtb" "$node" >/dev/null 2>&1 ||
			fdtget "$work/virt-amp.dtb" "$node" compatible >/dev/null 2>&1 ||
			fdtget -p "$work/virt-amp.dtb" "$node" >/dev/null 2>&1 || bad "$node missing after fdtoverlay"
	done
	# Validate our nodes (QEMU's own nodes are not ours to judge).
	"$dt/dt-validate" -s "$work/schemas.json" "$work/virt-amp.dtb" >"$work/validate.log" 2>&1 || true
	if grep -E 'mailbox-0|remoteproc-cpu3|reserved-memory' "$work/validate.log" >&2; then
		bad "overlay nodes do not validate against the bindings"
	fi
else
	bad "fdtoverlay cannot apply qemu-virt-amp.dtso to QEMU's virt DT"
fi

# The board's DT is not available here: a stand-in with the BSP's cell sizes
# and the labels the overlay uses (reserved_memory, gic, cpu3; see the
# evidence in rtd1619b-amp.dtso) checks that it applies and validates.
log "RTD1619B overlay on a stand-in of the BSP's rtd16xxb.dtsi"
cat >"$work/stark-stub.dts" <<'DTS'
/dts-v1/;
/ {
	compatible = "realtek,rtd1619b";
	model = "stand-in for an RTD1619B board";
	interrupt-parent = <&gic>;
	#address-cells = <1>;
	#size-cells = <1>;

	cpus {
		#address-cells = <1>;
		#size-cells = <0>;

		cpu3: cpu@300 {
			device_type = "cpu";
			compatible = "arm,cortex-a55";
			reg = <0x300>;
			enable-method = "psci";
		};
	};

	psci {
		compatible = "arm,psci-1.0";
		method = "smc";
	};

	reserved_memory: reserved-memory {
		#address-cells = <1>;
		#size-cells = <1>;
		ranges;
	};

	gic: interrupt-controller@ff100000 {
		compatible = "arm,gic-v3";
		reg = <0xff100000 0x10000>, <0xff140000 0x80000>;
		interrupt-controller;
		#interrupt-cells = <3>;
	};
};
DTS
if dtc -q -@ -I dts -O dtb -o "$work/stark-stub.dtb" "$work/stark-stub.dts" &&
	fdtoverlay -i "$work/stark-stub.dtb" -o "$work/stark-amp.dtb" "$work/rtd1619b-amp.dtbo"; then
	for node in /reserved-memory/firmware@32000000 /reserved-memory/ctrl@32ff0000 /mailbox-0 /remoteproc-cpu3; do
		fdtget -p "$work/stark-amp.dtb" "$node" >/dev/null 2>&1 || bad "$node missing after fdtoverlay (RTD1619B)"
	done
	"$dt/dt-validate" -s "$work/schemas.json" "$work/stark-amp.dtb" >"$work/validate-stark.log" 2>&1 || true
	if grep -E 'mailbox-0|remoteproc-cpu3|reserved-memory' "$work/validate-stark.log" >&2; then
		bad "RTD1619B overlay nodes do not validate against the bindings"
	fi
else
	bad "rtd1619b-amp.dtso does not apply to the RTD1619B stand-in"
fi

log "config fragment symbols in the 6.1 Kconfig"
while IFS= read -r line; do
	case "$line" in CONFIG_*=*) ;; *) continue ;; esac
	sym=${line%%=*}
	sym=${sym#CONFIG_}
	grep -rqE "^(menu)?config $sym\$" --include='Kconfig*' "$src61" || bad "CONFIG_$sym does not exist in 6.1"
done <"$cfg"

exit "$fail"
