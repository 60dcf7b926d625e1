# Builds the QEMU twin's guest for one kernel series: the rpmsg bus modules
# Debian does not ship, our two drivers, the firmware (and broken variants
# for the tests), the in-guest test tool, the host daemon and CLI when they
# build, the DTB (QEMU's own virt DT plus our overlay) and an initramfs.
# Source it after common.sh and debian-kernel.sh.
# shellcheck shell=bash

QA_GUEST=$REPO_ROOT/scripts/qemu/guest
# The five modules of drivers/rpmsg (and rpmsg_tty from drivers/tty) that
# Debian builds as =n; rpmsg_core comes with the image.
QA_RPMSG_MODS="rpmsg_ns virtio_rpmsg_bus rpmsg_char rpmsg_ctrl rpmsg_tty"
# shellcheck disable=SC2054 # commas belong to QEMU's -M value
# -nic none: the guest needs no network, and without it QEMU wants
# efi-virtio.rom, which a --no-install-recommends QEMU does not have.
QA_QEMU_MACHINE=(-M virt,gic-version=3 -cpu cortex-a55 -smp 4 -m 1G -nic none)

qa_guest_dir() { printf '%s/qemu/%s\n' "$CACHE_DIR" "$1"; }

# Hash of files, to rebuild only when inputs change.
_qa_hash() { cat "$@" | sha256sum | cut -c1-16; }

# _qa_make_modules SERIES DIR [MAKE_VAR=VALUE...]
_qa_make_modules() {
	local series=$1 dir=$2
	shift 2
	make -s -C "$(dk_kdir "$series")" M="$dir" ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- \
		RPROC_INTERNAL_DIR="$(dk_srcdir "$series")/drivers/remoteproc" "$@" modules \
		>"$dir/build.log" 2>&1 || { cat "$dir/build.log" >&2; die "module build failed in $dir"; }
}

# The twin's firmware signing keys (docs/kernel.md, "Firmware signatures"),
# made once per cache by scripts/rtd-amp-sign-fw and never committed:
# DIR/trusted, whose certificate is built into rtd_amp_rproc.ko and goes to
# the guest's /etc/rtd-amp/fw-signing.{der,pem}, and DIR/unknown, a valid
# key that nothing trusts. Each holds fw-signing.key, .pem and .der.
qa_sign_dir() { printf '%s/qemu/fw-signing\n' "$CACHE_DIR"; }
qa_fw_keys() {
	local dir k
	dir=$(qa_sign_dir)
	for k in trusted unknown; do
		[ -s "$dir/$k/fw-signing.der" ] && continue
		rm -rf "${dir:?}/$k"
		log "generating the twin's $k firmware signing key in $dir/$k"
		"$REPO_ROOT/scripts/rtd-amp-sign-fw" --gen-dev-key "$dir/$k" \
			--cn "rtd-amp QEMU twin test key ($k)" >/dev/null || die "cannot generate the $k signing key"
	done
}

# qa_sign [--unknown] FILE...: FILE.p7s for each FILE, with the trusted key
# (or the unknown one).
qa_sign() {
	local k=trusted
	[ "$1" = --unknown ] && k=unknown && shift
	"$REPO_ROOT/scripts/rtd-amp-sign-fw" --key "$(qa_sign_dir)/$k/fw-signing.key" \
		--cert "$(qa_sign_dir)/$k/fw-signing.pem" "$@" || die "cannot sign $*"
}

qa_rpmsg_modules() {
	local series=$1 out src m key
	out=$(qa_guest_dir "$series")/rpmsg
	src=$(dk_srcdir "$series")
	# The source's own version too: dk_prepare may swap linux-source.
	key=$(dk_version "$series")-$(sed -n 's/^SUBLEVEL = //p' "$src/Makefile")
	[ -f "$out/.key" ] && [ "$(cat "$out/.key")" = "$key" ] && return 0
	log "building the rpmsg bus modules from linux-source ($key)"
	rm -rf "$out" && mkdir -p "$out"
	cp "$src"/drivers/rpmsg/{virtio_rpmsg_bus.c,rpmsg_ns.c,rpmsg_char.c,rpmsg_ctrl.c,rpmsg_internal.h,rpmsg_char.h} \
		"$src/drivers/tty/rpmsg_tty.c" "$out/"
	{
		echo "obj-m += $(for m in $QA_RPMSG_MODS; do printf '%s.o ' "$m"; done)"
		# Built out of the kernel tree: tell the sources which of their
		# peers exist, as Kconfig would have.
		echo "ccflags-y += -DCONFIG_RPMSG_CHAR_MODULE=1 -DCONFIG_RPMSG_CTRL_MODULE=1"
		echo "ccflags-y += -DCONFIG_RPMSG_NS_MODULE=1 -DCONFIG_RPMSG_TTY_MODULE=1"
		echo "ccflags-y += -DCONFIG_RPMSG_VIRTIO_MODULE=1"
	} >"$out/Kbuild"
	_qa_make_modules "$series" "$out"
	echo "$key" >"$out/.key"
}

qa_our_modules() {
	local series=$1 out key cert
	out=$(qa_guest_dir "$series")/rtd-amp
	cert=$(qa_sign_dir)/trusted/fw-signing.der
	key=$(dk_version "$series")-$(_qa_hash "$REPO_ROOT"/recipes-kernel/rtd-amp-modules/files/{*.c,*.h,*.sh,Kbuild} "$cert")
	[ -f "$out/.key" ] && [ "$(cat "$out/.key")" = "$key" ] && return 0
	log "building rtd_amp_mbox and rtd_amp_rproc (debug build, firmware signing certificate $cert)"
	rm -rf "$out" && mkdir -p "$out"
	cp "$REPO_ROOT"/recipes-kernel/rtd-amp-modules/files/{*.c,*.h,*.sh,Kbuild} "$out/"
	# The debug build (as with the rtd-amp-debug DISTRO_FEATURE): the
	# suite's figures use its debugfs rtd_amp_doorbell_rtt.
	_qa_make_modules "$series" "$out" RTD_AMP_FW_CERTS="$cert" RTD_AMP_DEBUG=1
	echo "$key" >"$out/.key"
}

# The firmware-rule corpus and the fuzz mutants (scripts/fwcorpus.py), from
# the real ELF without its debug sections (108 KiB instead of 1.5 MiB; the
# loadable contents and the resource table are the same): DIR/fuzz-base.elf,
# one DIR/bad-<rule>*.elf per rule with DIR/rules.txt, DIR/changed-rsc-size.elf
# (valid; the rsc-changed case of tests.sh), and DIR/fuzz.txt, the
# mutants as patches the guest applies. The fuzz seed is new on every build
# unless AMP_FWFUZZ_SEED is set; it is printed here and by the guest suite.
qa_bad_firmware() {
	local good=$1 dir=$2 seed
	aarch64-linux-gnu-objcopy --strip-debug "$good" "$dir/fuzz-base.elf"
	python3 "$REPO_ROOT/scripts/fwcorpus.py" rules "$dir/fuzz-base.elf" "$dir" ||
		die "scripts/fwcorpus.py could not make the firmware-rule corpus"
	seed=${AMP_FWFUZZ_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
	python3 "$REPO_ROOT/scripts/fwcorpus.py" fuzz "$seed" "${AMP_FWFUZZ_COUNT:-200}" \
		"$dir/fuzz-base.elf" "$dir" || die "scripts/fwcorpus.py could not make the fuzz mutants"
	echo "$seed" >"$dir/fuzz-seed"
	log "firmware fuzz seed $seed (replay: AMP_FWFUZZ_SEED=$seed scripts/qemu-amp test)"
}

# qa_sign_firmware DIR WORK: signs every firmware of DIR (the good one, the
# rule corpus, changed-rsc-size.elf, the fuzz base) with the trusted key, so
# that the rule and fuzz cases still reach the ELF rules behind the
# signature check; each fuzz mutant, made as a file in WORK with the seed
# of DIR/fuzz.txt, gets DIR/fuzz-NNN.p7s (the guest copies it beside the
# mutant it rebuilds from fuzz.txt). Then the signature cases of
# DIR/sig-cases.txt ("FILE EXPECTED", EXPECTED "ok" or the [rule] the
# driver must refuse FILE for): the good firmware (ok), then copies of the
# fuzz base:
#   sig-nocerts     signed without the certificate in the message: the
#                   kernel finds the key in the module's keyring (ok)
#   sig-unsigned    no .p7s
#   sig-tampered    one byte in the middle of the file flipped after signing
#   sig-bad         the last byte of the .p7s (of the RSA signature) flipped
#   sig-unknown-key signed with the unknown key
#   sig-other-file  the valid .p7s of changed-rsc-size.elf
#   sig-malformed   a .p7s cut to 100 bytes
#   sig-noattr      openssl cms -noattr (a module-style signature, without
#                   the signed attributes a firmware signature must carry)
#   sig-smimecap    openssl cms without -nosmimecap (refused by the
#                   kernel's PKCS#7 parser outside Authenticode)
qa_sign_firmware() {
	local dir=$1 work=$2 base f key cert
	base=$dir/fuzz-base.elf
	key=$(qa_sign_dir)/trusted/fw-signing.key
	cert=$(qa_sign_dir)/trusted/fw-signing.pem
	qa_sign "$dir"/*.elf
	rm -rf "$work" && mkdir -p "$work"
	python3 "$REPO_ROOT/scripts/fwcorpus.py" fuzz "$(cat "$dir/fuzz-seed")" "${AMP_FWFUZZ_COUNT:-200}" \
		"$base" "$work" --files || die "scripts/fwcorpus.py could not write the fuzz mutants"
	cmp -s "$work/fuzz.txt" "$dir/fuzz.txt" || die "the fuzz mutants differ from $dir/fuzz.txt"
	qa_sign "$work"/fuzz-*.elf
	for f in "$work"/fuzz-*.elf.p7s; do
		f=${f##*/}
		cp "$work/$f" "$dir/${f%.elf.p7s}.p7s"
	done
	for f in nocerts unsigned tampered bad unknown-key other-file malformed noattr smimecap; do
		cp "$base" "$dir/sig-$f.elf"
	done
	openssl cms -sign -binary -md sha256 -nosmimecap -nocerts -outform DER -in "$base" \
		-signer "$cert" -inkey "$key" -out "$dir/sig-nocerts.elf.p7s" || die "openssl cms -nocerts failed"
	python3 - "$dir/sig-tampered.elf" <<'PY' || die "cannot flip a byte of sig-tampered.elf"
import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[len(b) // 2] ^= 0x01
open(sys.argv[1], "wb").write(b)
PY
	cp "$base.p7s" "$dir/sig-tampered.elf.p7s"
	python3 - "$base.p7s" "$dir/sig-bad.elf.p7s" <<'PY' || die "cannot flip a byte of sig-bad.elf.p7s"
import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[-1] ^= 0x01
open(sys.argv[2], "wb").write(b)
PY
	qa_sign --unknown "$dir/sig-unknown-key.elf"
	cp "$dir/changed-rsc-size.elf.p7s" "$dir/sig-other-file.elf.p7s"
	head -c 100 "$base.p7s" >"$dir/sig-malformed.elf.p7s"
	openssl cms -sign -binary -md sha256 -noattr -outform DER -in "$base" \
		-signer "$cert" -inkey "$key" -out "$dir/sig-noattr.elf.p7s" || die "openssl cms -noattr failed"
	openssl cms -sign -binary -md sha256 -outform DER -in "$base" \
		-signer "$cert" -inkey "$key" -out "$dir/sig-smimecap.elf.p7s" || die "openssl cms failed"
	cat >"$dir/sig-cases.txt" <<-EOF
		rtd-amp-fw.elf ok
		sig-nocerts.elf ok
		sig-unsigned.elf sig-unsigned
		sig-tampered.elf sig-mismatch
		sig-bad.elf sig-bad
		sig-unknown-key.elf sig-unknown-key
		sig-other-file.elf sig-mismatch
		sig-malformed.elf sig-malformed
		sig-noattr.elf sig-malformed
		sig-smimecap.elf sig-malformed
	EOF
}

qa_busybox() {
	local out=$CACHE_DIR/qemu/busybox
	[ -x "$out/bin/busybox" ] && return 0
	log "fetching busybox-static:arm64"
	rm -rf "$out" && mkdir -p "$out/deb"
	if ! (cd "$out/deb" && apt_download busybox-static:arm64 >download.log 2>&1); then
		cat "$out/deb/download.log" >&2
	fi
	dpkg-deb -x "$out"/deb/busybox-static_*.deb "$out"
	[ -x "$out/bin/busybox" ] || die "busybox-static:arm64 could not be fetched"
}

# qa_virt_dtb DIR [MACHINE_ARG...]: QEMU's own virt DT, of the machine the
# twin boots (or of MACHINE_ARG...), as DIR/virt-labelled.dtb with the
# label cpu3 that the overlay refers to (QEMU's DT has no labels). Also
# used by the kernel stage's overlay check.
qa_virt_dtb() {
	local dir=$1
	shift
	[ $# -gt 0 ] || set -- "${QA_QEMU_MACHINE[@]}"
	qemu-system-aarch64 "$@" -machine dumpdtb="$dir/virt.dtb" -nographic >/dev/null 2>&1 ||
		{ echo "QEMU did not dump its virt DT" >&2; return 1; }
	dtc -q -I dtb -O dts "$dir/virt.dtb" | sed 's/^\t\tcpu@3 {/\t\tcpu3: cpu@3 {/' >"$dir/virt.dts" || return 1
	grep -q 'cpu3: cpu@3' "$dir/virt.dts" || { echo "QEMU's DT has no /cpus/cpu@3" >&2; return 1; }
	dtc -q -@ -I dts -O dtb -o "$dir/virt-labelled.dtb" "$dir/virt.dts"
}

qa_dtb() {
	local out=$1 key
	key=$(_qa_hash "$REPO_ROOT/recipes-bsp/rtd-amp-overlays/files/qemu-virt-amp.dtso")-$(qemu-system-aarch64 --version | head -n1 | tr -dc '0-9.')
	[ -f "$out/dtb.key" ] && [ "$(cat "$out/dtb.key")" = "$key" ] && return 0
	qa_virt_dtb "$out" || die "cannot build QEMU's virt DT"
	dtc -q -@ -I dts -O dtb -o "$out/qemu-virt-amp.dtbo" "$REPO_ROOT/recipes-bsp/rtd-amp-overlays/files/qemu-virt-amp.dtso"
	fdtoverlay -i "$out/virt-labelled.dtb" -o "$out/virt-amp.dtb" "$out/qemu-virt-amp.dtbo"
	echo "$key" >"$out/dtb.key"
}

# qa_fault_dtbs DIR: the device trees of the self-test's fault boots
# (scripts/qemu/guest/selftest-faults.sh): DIR/fault-nooverlay.dtb is
# QEMU's own virt DT; fault-overlap.dtb the overlay without the firmware
# carveout's no-map; fault-sgi.dtb the overlay with realtek,sgi = <6>.
qa_fault_dtbs() {
	local dir=$1 dtso=$REPO_ROOT/recipes-bsp/rtd-amp-overlays/files/qemu-virt-amp.dtso v
	# Recompiled: QEMU dumps its DT padded to 1 MiB, which the kernel
	# does not boot from when QEMU places it (no console output at all).
	dtc -q -I dtb -O dtb -o "$dir/fault-nooverlay.dtb" "$dir/virt.dtb"
	python3 - "$dtso" "$dir/fault-overlap.dtso" "$dir/fault-sgi.dtso" <<'PY' || die "cannot make the fault overlays"
import re
import sys

src = open(sys.argv[1]).read()
fw = re.search(r"firmware@70000000 \{[^}]*\}", src)
assert fw and "no-map;" in fw.group(0), "no firmware@70000000 node with no-map"
open(sys.argv[2], "w").write(src[: fw.start()] + fw.group(0).replace("no-map;", "") + src[fw.end():])
assert "realtek,sgi = <7>;" in src, "no realtek,sgi = <7>"
open(sys.argv[3], "w").write(src.replace("realtek,sgi = <7>;", "realtek,sgi = <6>;"))
PY
	for v in overlap sgi; do
		dtc -q -@ -I dts -O dtb -o "$dir/fault-$v.dtbo" "$dir/fault-$v.dtso"
		fdtoverlay -i "$dir/virt-labelled.dtb" -o "$dir/fault-$v.dtb" "$dir/fault-$v.dtbo"
	done
}

# Copies a module of the image (decompressed: busybox insmod reads plain ELF).
_qa_image_module() {
	local series=$1 name=$2 dest=$3 f
	f=$(find "$(dk_moddir "$series")/kernel" -name "$name.ko*" -print -quit)
	[ -n "$f" ] || die "$name is not in the $series image"
	case "$f" in
	*.xz) xz -dc "$f" >"$dest/$name.ko" ;;
	*.zst) zstd -qdc "$f" >"$dest/$name.ko" ;;
	*) cp "$f" "$dest/$name.ko" ;;
	esac
}

qa_build_guest() {
	local series=$1 out root fw prodfw tools=()
	dk_prepare "$series"
	out=$(qa_guest_dir "$series")
	mkdir -p "$out"
	qa_rpmsg_modules "$series"
	qa_fw_keys
	qa_our_modules "$series"
	qa_busybox
	qa_dtb "$out"
	qa_fault_dtbs "$out"
	if [ -n "${AMP_FIRMWARE_ELF:-}" ]; then
		fw=$AMP_FIRMWARE_ELF
		log "using the firmware $fw"
	else
		# The test build: fault injection for the crash cases.
		fw=$("$REPO_ROOT/scripts/build-firmware" qemu-virt test | tail -n1)
	fi
	# The production build (what an image ships), for the case that shows
	# it refuses FAULT.
	prodfw=${AMP_PRODUCTION_FIRMWARE_ELF:-$("$REPO_ROOT/scripts/build-firmware" qemu-virt production | tail -n1)}
	# The runtime's second example application (tests.d/72-example.sh),
	# signed with the others below.
	local examplefw
	examplefw=$("$REPO_ROOT/scripts/build-firmware" qemu-virt production rtd-amp-example | tail -n1)
	# The firmware template as a user builds it (tests.d/70-template.sh):
	# rendered and built unmodified, signed with the others below.
	local tmplfw
	tmplfw=$("$REPO_ROOT/scripts/build-fw-template" qemu-virt | tail -n1)
	aarch64-linux-gnu-gcc -static -O2 -Wall -Wextra -Werror -o "$out/ampt" "$QA_GUEST/ampt.c"
	aarch64-linux-gnu-gcc -static -O2 -Wall -Wextra -Werror -o "$out/ampbulk" "$QA_GUEST/ampbulk.c"
	# The echo through librtdamp (tests.d/20-perf.sh): the C API as an
	# application links it, static.
	local capi
	capi=$("$REPO_ROOT/scripts/build-capi-aarch64" | tail -n1)
	aarch64-linux-gnu-gcc -static -O2 -Wall -Wextra -Werror -I "$REPO_ROOT/rust/crates/amp-capi/include" \
		-o "$out/ampcapi" "$QA_GUEST/ampcapi.c" "$capi" -lpthread -ldl -lm
	if [ -n "${AMP_HOST_TOOLS_DIR:-}" ]; then
		# Prebuilt static aarch64 rtd-ampd and ampctl (e.g. from an earlier
		# scripts/build-host-aarch64 while cargo is busy elsewhere).
		tools=("$AMP_HOST_TOOLS_DIR/rtd-ampd" "$AMP_HOST_TOOLS_DIR/ampctl")
		log "using rtd-ampd and ampctl from $AMP_HOST_TOOLS_DIR"
	elif [ -x "$REPO_ROOT/scripts/build-host-aarch64" ] && [ -d "$REPO_ROOT/rust/crates/rtd-ampd" ]; then
		mapfile -t tools < <("$REPO_ROOT/scripts/build-host-aarch64")
	fi

	root=$out/root
	rm -rf "$root"
	mkdir -p "$root"/{bin,sbin,etc,proc,sys,dev,tmp,run,root,lib/modules,lib/firmware/rtd-amp}
	cp "$CACHE_DIR/qemu/busybox/bin/busybox" "$root/bin/"
	local a
	for a in sh ash mount umount insmod rmmod cat echo ls sleep dmesg grep \
		dd poweroff printf head tail od cmp mkdir stty timeout sed awk tr wc cut basename readlink test \
		true false seq uname date sync kill ps rm cp mv find xargs expr env id chmod ln sort uniq tee \
		mdev stat taskset; do
		ln -sf busybox "$root/bin/$a"
	done
	_qa_image_module "$series" rpmsg_core "$root/lib/modules"
	for a in $QA_RPMSG_MODS; do cp "$out/rpmsg/$a.ko" "$root/lib/modules/"; done
	cp "$out"/rtd-amp/rtd_amp_{mbox,rproc}.ko "$root/lib/modules/"
	cp "$fw" "$root/lib/firmware/rtd-amp/rtd-amp-fw.elf"
	cp "$prodfw" "$root/lib/firmware/rtd-amp/rtd-amp-fw-production.elf"
	cp "$examplefw" "$root/lib/firmware/rtd-amp/rtd-amp-example.elf"
	cp "$tmplfw" "$root/lib/firmware/rtd-amp/my-fw.elf"
	qa_bad_firmware "$fw" "$root/lib/firmware/rtd-amp"
	# The self-test's fault case: a firmware that never stamps (signed below).
	python3 "$REPO_ROOT/scripts/qemu/nostamp-fw.py" "$fw" "$root/lib/firmware/rtd-amp/selftest-nostamp.elf"
	qa_sign_firmware "$root/lib/firmware/rtd-amp" "$out/fuzz-files"
	mkdir -p "$root/etc/rtd-amp"
	cp "$(qa_sign_dir)"/trusted/fw-signing.{der,pem} "$root/etc/rtd-amp/"
	cp "$out/ampt" "$root/bin/ampt"
	cp "$out/ampbulk" "$root/bin/ampbulk"
	cp "$out/ampcapi" "$root/bin/ampcapi"
	if [ ${#tools[@]} -eq 2 ] && [ -x "${tools[0]}" ] && [ -x "${tools[1]}" ]; then
		cp "${tools[0]}" "$root/bin/rtd-ampd"
		cp "${tools[1]}" "$root/bin/ampctl"
	fi
	cp "$QA_GUEST"/{init,tests.sh,demo.sh,lib.sh,selftest-faults.sh,gdb.sh,bootstage.sh,soak.sh} "$root/"
	mkdir -p "$root/tests.d"
	for a in "$QA_GUEST"/tests.d/*.sh; do
		if [ -e "$a" ]; then cp "$a" "$root/tests.d/"; fi
	done
	chmod +x "$root"/{init,tests.sh,demo.sh,selftest-faults.sh,gdb.sh,bootstage.sh,soak.sh}
	dk_version "$series" >"$root/etc/amp-kernel"
	# The daemon's configuration as the layer installs it (/etc/rtd-ampd.toml,
	# the socket's roles given to the groups, as scripts/install-target does).
	sed -e 's|^# socket_group = ".*"|socket_group = "rtdamp"|' \
		-e 's|^# admin_group = ".*"|admin_group = "rtdamp-admin"|' \
		"$REPO_ROOT/rust/crates/rtd-ampd/rtd-ampd.toml" >"$root/etc/rtd-ampd.toml"
	# The layer's groups and the suite's users: an application (amp-app, in
	# rtdamp), an operator (amp-operator, in rtdamp-admin), an outsider;
	# mdev gives the device nodes to the groups as the layer's udev rule
	# (70-rtd-amp.rules) does.
	printf '%s\n' root:x:0:0:root:/root:/bin/sh amp-app:x:1000:990::/:/bin/sh \
		amp-outsider:x:1001:1001::/:/bin/sh amp-operator:x:1002:991::/:/bin/sh >"$root/etc/passwd"
	printf '%s\n' root:x:0: rtdamp:x:990:amp-app,amp-operator rtdamp-admin:x:991:amp-operator \
		amp-outsider:x:1001: >"$root/etc/group"
	printf '%s\n' 'rpmsg_ctrl[0-9]+ 0:991 660' 'rpmsg[0-9]+ 0:990 660' 'ttyRPMSG[0-9]+ 0:990 660' \
		'rtd-amp-bulk[0-9]+ 0:990 660' >"$root/etc/mdev.conf"
	(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1 >"$out/initrd.gz")
}

# The QEMU process qa_run_console started, for qa_qemu_cleanup (a trap).
qemu_pid=
qa_qemu_cleanup() {
	if [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2>/dev/null; then
		kill "$qemu_pid" 2>/dev/null || true
		sleep 1
		kill -9 "$qemu_pid" 2>/dev/null || true
	fi
}

# _qa_vcpu_ticks TASKDIR...: user + system clock ticks of QEMU threads
# (/proc/PID/task/TID/stat; the name "CPU n/TCG" has a space, so the
# fields are counted after its closing parenthesis).
_qa_vcpu_ticks() {
	local t sum=0 f
	for t; do
		f=$(sed 's/.*) //' "$t/stat" 2>/dev/null) || continue
		# shellcheck disable=SC2086 # the fields, split on purpose
		set -- $f
		sum=$((sum + ${12} + ${13}))
	done
	echo "$sum"
}

# qa_vcpu_idle SECONDS OUT LOG: once the guest printed PERF-IDLE-BEGIN (the
# firmware running and idle, Linux asleep), the host CPU time of QEMU's
# vCPU thread "CPU 3/TCG" (the firmware's core) and of CPUs 0-2 together
# (Linux's), each second for SECONDS s; their median and maximum in % of
# one host core as a FIGURE line appended to OUT. An idle firmware waits
# in WFI, which TCG turns into a halted, sleeping thread. No figure when
# the guest's console LOG shows PERF-IDLE-END before the last sample (the
# host lagged past the idle period) or QEMU is gone.
qa_vcpu_idle() {
	local secs=$1 out=$2 log=$3 t fw=() lx=() hz i t0 t1 f0 f1 l0 l1 fs=() ls=() fa la ta
	for t in /proc/"$qemu_pid"/task/*; do
		case "$(cat "$t/comm" 2>/dev/null)" in
		"CPU 3/TCG") fw+=("$t") ;;
		"CPU "[0-2]"/TCG") lx+=("$t") ;;
		esac
	done
	[ ${#fw[@]} = 1 ] || { echo "FIGURE: idle firmware vCPU: no 'CPU 3/TCG' thread found in QEMU" >>"$out"; return 0; }
	hz=$(getconf CLK_TCK)
	f0=$(_qa_vcpu_ticks "${fw[@]}") l0=$(_qa_vcpu_ticks "${lx[@]}") t0=$(date +%s%N)
	fa=$f0 la=$l0 ta=$t0
	for ((i = 0; i < secs; i++)); do
		sleep 1
		f1=$(_qa_vcpu_ticks "${fw[@]}") l1=$(_qa_vcpu_ticks "${lx[@]}") t1=$(date +%s%N)
		fs+=("$(((f1 - f0) * 10000000000000 / hz / (t1 - t0)))")
		ls+=("$(((l1 - l0) * 10000000000000 / hz / (t1 - t0)))")
		f0=$f1 l0=$l1 t0=$t1
	done
	if grep -aq PERF-IDLE-END "$log" || ! kill -0 "$qemu_pid" 2>/dev/null; then
		echo "FIGURE: idle firmware vCPU: no figure, the host sampled past the guest's idle period" >>"$out"
		return 0
	fi
	# Hundredths of a percent, sorted: the median and the largest; then
	# over the whole window (finer than one clock tick a second).
	mapfile -t fs < <(printf '%s\n' "${fs[@]}" | sort -n)
	mapfile -t ls < <(printf '%s\n' "${ls[@]}" | sort -n)
	fa=$(((f1 - fa) * 10000000000000 / hz / (t1 - ta)))
	la=$(((l1 - la) * 10000000000000 / hz / (t1 - ta)))
	printf 'FIGURE: idle firmware (running, rings attached, no traffic): host CPU of QEMU thread "CPU 3/TCG" %d.%02d %% of a core (median of %d 1-s samples of /proc/PID/task/TID/stat, max %d.%02d %%, whole %d s %d.%02d %%; %d.%02d s used since boot); CPUs 0-2 (idle Linux) together %d.%02d %% (whole %d.%02d %%)\n' \
		$((fs[secs / 2] / 100)) $((fs[secs / 2] % 100)) "$secs" $((fs[secs - 1] / 100)) $((fs[secs - 1] % 100)) \
		"$secs" $((fa / 100)) $((fa % 100)) $((f1 / hz)) $((f1 % hz * 100 / hz)) \
		$((ls[secs / 2] / 100)) $((ls[secs / 2] % 100)) $((la / 100)) $((la % 100)) >>"$out"
}

# qa_run_console LOGFILE TIMEOUT QEMU_ARG...: runs qemu-system-aarch64 with
# its console in LOGFILE and on stdout (live), and kills it after TIMEOUT
# seconds. Callers read the verdict from LOGFILE afterwards, and figures
# taken on the host (qa_vcpu_idle) from LOGFILE.host.
qa_run_console() {
	local logfile=$1 timeout=$2 tail_pid waited=0 idle_done="" secs
	shift 2
	# Empty the log before tail follows it: the redirection below truncates
	# it only once the background shell runs, and tail would first replay
	# the previous run's console.
	: >"$logfile"
	: >"$logfile.host"
	qemu-system-aarch64 "$@" </dev/null >"$logfile" 2>&1 &
	qemu_pid=$!
	tail -n +1 -f --pid="$qemu_pid" "$logfile" | tr -d '\r' &
	tail_pid=$!
	while kill -0 "$qemu_pid" 2>/dev/null; do
		if [ "$waited" -ge "$timeout" ]; then
			log "timeout after ${timeout}s: killing QEMU"
			qa_qemu_cleanup
			break
		fi
		if [ -z "$idle_done" ] && secs=$(grep -ao 'PERF-IDLE-BEGIN [0-9]*' "$logfile" | tail -n1) && [ -n "$secs" ]; then
			idle_done=1
			secs=${secs##* }
			qa_vcpu_idle "$secs" "$logfile.host" "$logfile"
			waited=$((waited + secs))
		fi
		sleep 1
		waited=$((waited + 1))
	done
	wait "$qemu_pid" 2>/dev/null || true
	qemu_pid=
	wait "$tail_pid" 2>/dev/null || true
}

# qa_extra_boot SERIES TAG WHAT LOGFILE SPLAT QEMU_ARG...: one of the boots
# after the suite (scripts/qemu-amp's fault boots, suspend.sh, bootstage.sh,
# kexec.sh), whose guest prints "TAG: N passed, M failed" last. Runs QEMU
# (qa_run_console, AMP_QEMU_TIMEOUT or 300 s) and adds N and M to
# scripts/qemu-amp's totals (total_pass, total_fail, status); a boot
# without that line, or with SPLAT=1 a kernel splat on its console, counts
# as one failure and returns 1 (the caller then skips its figures).
# shellcheck disable=SC2034 # status, total_*: scripts/qemu-amp's
qa_extra_boot() {
	local series=$1 tag=$2 what=$3 logfile=$4 splat=$5 line p n start
	shift 5
	start=$(date +%s)
	qa_run_console "$logfile" "${AMP_QEMU_TIMEOUT:-300}" "$@"
	line=$(tr -d '\r' <"$logfile" | grep -aE "^$tag: [0-9]+ passed, [0-9]+ failed\$" | tail -n1 || true)
	if [ -z "$line" ] || { [ "$splat" = 1 ] &&
		tr -d '\r' <"$logfile" | grep -aE 'Internal error|Kernel panic|BUG: |Call trace:' >&2; }; then
		log "Linux $series: $what did not finish cleanly (see $logfile)"
		status=1
		total_fail=$((total_fail + 1))
		return 1
	fi
	p=${line#"$tag": }
	p=${p%% passed*}
	n=${line#*, }
	n=${n%% failed}
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + n))
	log "Linux $series: $what: $p passed, $n failed in $(($(date +%s) - start)) s (console: $logfile)"
	[ "$n" = 0 ] || status=1
}
