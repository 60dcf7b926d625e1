#!/usr/bin/env bash
# Kernel side: both drivers build without a single compiler or sparse
# warning (W=1 C=1) against Debian's arm64 6.1 and 6.12 kernels, also with
# built-in firmware signing certificates, and as the debug build
# (RTD_AMP_DEBUG=1), whose doorbell ping a production build must not
# carry; checkpatch
# --strict is clean; the DT bindings and their examples pass dt-schema; the
# QEMU overlay applies to QEMU's own virt DT and the result validates; the
# board overlay compiles; every option of the config fragment exists in the
# 6.1 Kconfig.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source=scripts/lib/debian-kernel.sh
. "$REPO_ROOT/scripts/lib/debian-kernel.sh"
# shellcheck source=scripts/qemu/build.sh
. "$REPO_ROOT/scripts/qemu/build.sh"

mods=$REPO_ROOT/recipes-kernel/rtd-amp-modules/files
bindings=$mods/bindings
overlays=$REPO_ROOT/recipes-bsp/rtd-amp-overlays/files
cfg=$REPO_ROOT/recipes-kernel/linux/files/rtd-amp.cfg
dt=$CACHE_DIR/venv-dt/bin
work=$CACHE_DIR/kernel-check
rm -rf "$work" && mkdir -p "$work"
fail=0
bad() { printf 'FAIL: %s\n' "$*" >&2; fail=1; }

# dt_check LABEL DTB [NODE...]: dt-validate DTB against our bindings, with
# its diagnostics as JSON. dt-validate exits 0 when it has findings and
# non-zero only when it could not validate (a crash, a missing or broken
# schema), so a non-zero exit or a missing diagnostics file fails the check
# by itself. Then every finding on NODE or below it (on any node when no
# NODE is given), and every DTB decode error, fails it, printed as
# "file: node: message".
dt_check() {
	local label=$1 dtb=$2 json=$work/validate-$1.json rc=0
	shift 2
	rm -f "$json"
	"$dt/dt-validate" -s "$work/schemas.json" --json-output "$json" "$dtb" \
		>"$work/validate-$label.log" 2>&1 || rc=$?
	if [ "$rc" != 0 ] || [ ! -s "$json" ]; then
		cat "$work/validate-$label.log" >&2
		bad "dt-validate could not validate $label (exit $rc): that is a failure, not a pass"
		return
	fi
	"$dt/python" - "$json" "$@" <<'PY' || bad "$label does not validate against the bindings"
import json
import sys

diagnostics = json.load(open(sys.argv[1]))
nodes = sys.argv[2:]


def ours(d):
    node = d.get("node")
    if d.get("type") == "decode" or not nodes or node is None:
        return True
    return any(node == n or node.startswith(n + "/") for n in nodes)


found = [d for d in diagnostics if ours(d)]
for d in found:
    print(f"{d.get('file')}: {d.get('node')}: {d.get('message')}", file=sys.stderr)
sys.exit(1 if found else 0)
PY
}

# added_nodes BASE_DTB DTB: the paths of the nodes DTB has and BASE_DTB has
# not (what an overlay added), one a line.
added_nodes() {
	"$dt/python" - "$1" "$2" <<'PY'
import sys

import libfdt


def paths(name):
    fdt = libfdt.Fdt(open(name, "rb").read())
    found = set()

    def walk(offset, path):
        found.add(path or "/")
        child = fdt.first_subnode(offset, (libfdt.NOTFOUND,))
        while child >= 0:
            walk(child, path + "/" + fdt.get_name(child))
            child = fdt.next_subnode(child, (libfdt.NOTFOUND,))

    walk(0, "")
    return found


for path in sorted(paths(sys.argv[2]) - paths(sys.argv[1])):
    print(path)
PY
}

# check_overlay NAME BASE_DTB DTBO NODE...: the overlay applies to the base,
# every NODE exists afterwards, and every node the overlay added validates
# against the bindings (the base's own nodes are not ours to judge).
check_overlay() {
	local name=$1 base=$2 dtbo=$3 node
	local out=$work/$name-amp.dtb
	shift 3
	if ! fdtoverlay -i "$base" -o "$out" "$dtbo"; then
		bad "$(basename "$dtbo" .dtbo) does not apply to the $name DT"
		return
	fi
	for node; do
		fdtget -p "$out" "$node" >/dev/null 2>&1 || bad "$node missing after fdtoverlay ($name)"
	done
	mapfile -t added < <(added_nodes "$base" "$out")
	[ ${#added[@]} -gt 0 ] || bad "no node added by $(basename "$dtbo") found ($name)"
	dt_check "overlay-$name" "$out" "${added[@]}"
}

# clean_build SERIES DIR WHAT [VAR=VALUE...]: copies the modules to DIR and
# builds them against SERIES with W=1 and sparse (and the make variables
# given); an error or a compiler warning fails the stage, naming WHAT.
clean_build() {
	local series=$1 dir=$2 what=$3
	shift 3
	cp -r "$mods" "$dir"
	if ! make -s -C "$(dk_kdir "$series")" M="$dir" ARCH=arm64 \
		CROSS_COMPILE=aarch64-linux-gnu- W=1 C=1 \
		RPROC_INTERNAL_DIR="$(dk_srcdir "$series")/drivers/remoteproc" \
		"$@" modules >"$dir/build.log" 2>&1; then
		cat "$dir/build.log" >&2
		bad "$what do not build against $series"
		return 1
	fi
	if grep -E 'warning:|error:' "$dir/build.log" >&2; then
		bad "compiler warnings in $what against $series"
		return 1
	fi
}

for series in 6.1 6.12; do
	dk_prepare "$series"
	out=$work/build-$series
	log "modules against $(dk_version "$series") (W=1, sparse)"
	if clean_build "$series" "$out" "the modules"; then
		for ko in rtd_amp_mbox rtd_amp_rproc; do
			[ -f "$out/$ko.ko" ] || bad "$ko.ko missing for $series"
			magic=$(modinfo -F vermagic "$out/$ko.ko")
			case "$magic" in "$(dk_version "$series") "*) ;;
			*) bad "$ko.ko vermagic is '$magic', not $(dk_version "$series")" ;;
			esac
		done
		# Production (no RTD_AMP_DEBUG): no trace of the debug-only
		# doorbell ping (rtd_amp_dbg.c), neither its file nor its code.
		# (grep reads all of nm's output: with -q it may exit first, and
		# nm's SIGPIPE fails the pipeline under pipefail.)
		if grep -qa rtd_amp_doorbell_rtt "$out/rtd_amp_rproc.ko" ||
			aarch64-linux-gnu-nm "$out/rtd_amp_rproc.ko" | grep rtd_amp_rtt_ >/dev/null; then
			bad "the production rtd_amp_rproc.ko ($series) carries the debug-only doorbell ping"
		fi
		# Nor the control-page poke (rtd_amp_attach.c, debug only).
		if grep -qa rtd_amp_ctrl_poke "$out/rtd_amp_rproc.ko"; then
			bad "the production rtd_amp_rproc.ko ($series) carries the debug-only rtd_amp_ctrl_poke"
		fi
	fi
	# The debug build (RTD_AMP_DEBUG=1, the rtd-amp-debug DISTRO_FEATURE):
	# as clean, and it does carry the ping, so the check above can fail.
	dbg=$work/build-$series-debug
	log "modules against $(dk_version "$series"), debug build (RTD_AMP_DEBUG=1, W=1, sparse)"
	if clean_build "$series" "$dbg" "the debug modules" RTD_AMP_DEBUG=1 && {
		! grep -qa rtd_amp_doorbell_rtt "$dbg/rtd_amp_rproc.ko" ||
			! aarch64-linux-gnu-nm "$dbg/rtd_amp_rproc.ko" | grep rtd_amp_rtt_write >/dev/null
	}; then
		bad "the debug rtd_amp_rproc.ko ($series) has no doorbell ping"
	fi
	grep -qa rtd_amp_ctrl_poke "$dbg/rtd_amp_rproc.ko" ||
		bad "the debug rtd_amp_rproc.ko ($series) has no rtd_amp_ctrl_poke"
done

# The firmware signing certificates built in (RTD_AMP_FW_CERTS, two of
# them): the generated rtd_amp_fw_certs.inc compiles as cleanly, carries
# every byte of both, and a PEM file is refused at build time.
log "rtd_amp_rproc with two built-in firmware signing certificates (6.12, W=1, sparse)"
certs=()
for k in a b; do
	"$REPO_ROOT/scripts/rtd-amp-sign-fw" --gen-dev-key "$work/cert-$k" --cn "stage 40 $k" >/dev/null ||
		bad "rtd-amp-sign-fw --gen-dev-key failed"
	certs+=("$work/cert-$k/fw-signing.der")
done
out=$work/build-certs
if clean_build 6.12 "$out" "the modules with RTD_AMP_FW_CERTS" RTD_AMP_FW_CERTS="${certs[*]}" &&
	[ "$(grep -o 0x "$out/rtd_amp_fw_certs.inc" | wc -l)" != "$(cat "${certs[@]}" | wc -c)" ]; then
	bad "rtd_amp_fw_certs.inc does not hold both certificates"
fi
if make -s -C "$(dk_kdir 6.12)" M="$out" ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- \
	RPROC_INTERNAL_DIR="$(dk_srcdir 6.12)/drivers/remoteproc" \
	RTD_AMP_FW_CERTS="$work/cert-a/fw-signing.pem" modules >"$out/pem.log" 2>&1 ||
	! grep -q 'is PEM, not DER' "$out/pem.log"; then
	cat "$out/pem.log" >&2
	bad "a PEM certificate in RTD_AMP_FW_CERTS was not refused with a reason"
fi

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
	dt_check "example-$(basename "$y" .yaml)" "$ex.dtb"
done

log "QEMU virt DT + overlay"
qa_virt_dtb "$work" || bad "cannot build QEMU's virt DT with the cpu3 label"
for o in "$overlays"/*.dtso; do
	dtc -@ -I dts -O dtb -o "$work/$(basename "$o" .dtso).dtbo" "$o" 2>"$work/dtc.log" ||
		{ cat "$work/dtc.log" >&2; bad "$(basename "$o") does not compile"; }
	if grep -q warning "$work/dtc.log"; then cat "$work/dtc.log" >&2; bad "dtc warnings in $(basename "$o")"; fi
done
check_overlay qemu-virt "$work/virt-labelled.dtb" "$work/qemu-virt-amp.dtbo" \
	/reserved-memory/firmware@70000000 /reserved-memory/vdev0buffer@70410000 \
	/reserved-memory/ctrl@70ff0000 /mailbox-0 /remoteproc-cpu3

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
if dtc -q -@ -I dts -O dtb -o "$work/stark-stub.dtb" "$work/stark-stub.dts"; then
	check_overlay rtd1619b "$work/stark-stub.dtb" "$work/rtd1619b-amp.dtbo" \
		/reserved-memory/firmware@32000000 /reserved-memory/ctrl@32ff0000 /mailbox-0 /remoteproc-cpu3
else
	bad "the RTD1619B stand-in DT does not compile"
fi

log "config fragment symbols in the 6.1 Kconfig"
while IFS= read -r line; do
	case "$line" in CONFIG_*=*) ;; *) continue ;; esac
	sym=${line%%=*}
	sym=${sym#CONFIG_}
	grep -rqE "^(menu)?config $sym\$" --include='Kconfig*' "$src61" || bad "CONFIG_$sym does not exist in 6.1"
done <"$cfg"

exit "$fail"
