# The QEMU twin's "firmware before Linux" boots (docs/qemu-twin.md,
# "Firmware before Linux"; issue 17 item 2): no -kernel; QEMU's generic
# loader puts the firmware ELF's segments into the carveout, Linux's Image,
# a DTB and the initramfs into RAM, and starts CPU 0 in our boot stage
# (scripts/qemu/bootstage/bootstage.S), which starts CPU 3 on the firmware
# with PSCI CPU_ON and then enters Linux. Linux's driver finds the core on
# and the control page valid, registers it detached, and auto-boot attaches
# (the DTB adds realtek,auto-boot); the guest part is
# scripts/qemu/guest/bootstage.sh. Source it after build.sh.
# shellcheck shell=bash

# Where the loader puts things (RAM is 0x40000000..0x7fffffff with -m 1G).
# QEMU puts its own DTB at the base of RAM for a firmware boot; Linux's
# Image goes 2 MiB above it (arm64 booting.rst: 2 MiB aligned), then ours.
QA_BS_KERNEL=0x40200000
QA_BS_DTB=0x48000000
QA_BS_STAGE=0x48100000
QA_BS_INITRD=0x48200000

# _qa_bs_reg DTB NODE: the first address of NODE's reg (two cells).
_qa_bs_reg() {
	local r
	# shellcheck disable=SC2207 # the cells, split on purpose
	r=($(fdtget -t x "$1" "$2" reg)) || return 1
	printf '0x%x\n' $(((0x${r[0]} << 32) | 0x${r[1]}))
}

# qa_bootstage_build SERIES: OUT/bootstage/{bootstage.elf,bootstage.dtb}
# for the guest of SERIES (built by qa_build_guest). The boot stage's
# values come from the twin's DTB and the firmware ELF; the DTB is the
# twin's, plus realtek,auto-boot and what QEMU's -kernel would have put
# into /chosen (bootargs, the initramfs).
qa_bootstage_build() {
	local series=$1 out dir dtb fw image initrd conduit mpidr ctrl uart entry ksize end node
	out=$(qa_guest_dir "$series")
	dir=$out/bootstage
	mkdir -p "$dir"
	dtb=$out/virt-amp.dtb
	fw=$out/root/lib/firmware/rtd-amp/rtd-amp-fw.elf
	image=$(dk_image "$series")
	initrd=$out/initrd.gz
	conduit=$(fdtget "$dtb" /psci method) || die "no /psci method in $dtb"
	case "$conduit" in hvc | smc) ;; *) die "PSCI method '$conduit' in $dtb" ;; esac
	mpidr=$(fdtget -t x "$dtb" /cpus/cpu@3 reg) || die "no /cpus/cpu@3 in $dtb"
	node=$(fdtget -l "$dtb" /reserved-memory | grep -m1 '^ctrl@') || die "no ctrl region in $dtb"
	ctrl=$(_qa_bs_reg "$dtb" "/reserved-memory/$node") || die "no reg in $node"
	node=$(fdtget "$dtb" /chosen stdout-path) || die "no stdout-path in $dtb"
	uart=$(_qa_bs_reg "$dtb" "$node") || die "no reg in $node"
	entry=$(aarch64-linux-gnu-readelf -h "$fw" | sed -n 's/^ *Entry point address: *//p')
	[ -n "$entry" ] || die "no entry point in $fw"
	# The Image header's image_size (arm64 booting.rst), bss included.
	ksize=$(od -An -tu8 -j16 -N8 "$image" | tr -d ' ')
	end=$((QA_BS_KERNEL + ksize))
	[ "$end" -le $((QA_BS_DTB)) ] || die "Linux's Image ($ksize bytes) overlaps the DTB at $QA_BS_DTB"
	end=$((QA_BS_INITRD + $(stat -c %s "$initrd")))
	[ "$end" -le $((ctrl & ~0xffffff)) ] || die "the initramfs ends at $end, in the AMP window"
	aarch64-linux-gnu-gcc -nostdlib -static -Wl,--build-id=none -Wl,-Ttext=$QA_BS_STAGE -Wa,--fatal-warnings \
		-DCONDUIT="$conduit" -DMPIDR="0x$mpidr" -DFW_ENTRY="$entry" -DCTRL_PA="$ctrl" -DUART="$uart" \
		-DKERNEL=$QA_BS_KERNEL -DDTB=$QA_BS_DTB ${AMP_BOOTSTAGE_SKIP_CPU_ON:+-DSKIP_CPU_ON} \
		-o "$dir/bootstage.elf" "$REPO_ROOT/scripts/qemu/bootstage/bootstage.S" ||
		die "cannot build the boot stage"
	cp "$dtb" "$dir/bootstage.dtb"
	if ! { fdtput -t s "$dir/bootstage.dtb" /chosen bootargs \
		"console=ttyAMA0 maxcpus=3 rdinit=/init quiet amp.mode=bootstage" &&
		fdtput -t x "$dir/bootstage.dtb" /chosen linux,initrd-start 0 "$QA_BS_INITRD" &&
		fdtput -t x "$dir/bootstage.dtb" /chosen linux,initrd-end 0 "$(printf '%x' "$end")" &&
		fdtput -t s "$dir/bootstage.dtb" /remoteproc-cpu3 realtek,auto-boot ""; }; then
		die "cannot write the boot stage's DTB"
	fi
	log "boot stage: PSCI CPU_ON over $conduit (MPIDR 0x$mpidr, entry $entry, context $ctrl), then Linux at $QA_BS_KERNEL, DTB $QA_BS_DTB"
}

# qa_bootstage_boots SERIES: builds the boot stage and boots through it
# AMP_BOOTSTAGE_BOOTS times (default 1); each boot's cases go to
# scripts/qemu-amp's totals (qa_extra_boot), and its FIGURE lines are
# printed, with the boot stage's own CPU_ON counter from the console.
qa_bootstage_boots() {
	local series=$1 i logfile out dir cnt ret frq
	out=$(qa_guest_dir "$series")
	dir=$out/bootstage
	qa_bootstage_build "$series"
	for ((i = 1; i <= ${AMP_BOOTSTAGE_BOOTS:-1}; i++)); do
		logfile=$CACHE_DIR/qemu/$series/console-bootstage-$i.log
		# shellcheck disable=SC2054 # commas belong to QEMU's -device values
		qa_extra_boot "$series" bootstage "firmware before Linux (boot $i)" "$logfile" 0 \
			"${QA_QEMU_MACHINE[@]}" -nographic -no-reboot \
			-device loader,file="$out/root/lib/firmware/rtd-amp/rtd-amp-fw.elf" \
			-device loader,file="$(dk_image "$series")",addr=$QA_BS_KERNEL,force-raw=on \
			-device loader,file="$dir/bootstage.dtb",addr=$QA_BS_DTB,force-raw=on \
			-device loader,file="$out/initrd.gz",addr=$QA_BS_INITRD,force-raw=on \
			-device loader,file="$dir/bootstage.elf",cpu-num=0 || continue
		# The boot stage's console line: CPU_ON's counter (CNTPCT, from 0
		# at reset) and return code; CNTFRQ as the guest read it.
		cnt=$(tr -d '\r' <"$logfile" | sed -n 's/^bootstage: PSCI CPU_ON.* at counter \(0x[0-9a-f]*\) returned \(0x[0-9a-f]*\).*/\1 \2/p' | head -n1)
		ret=${cnt#* }
		cnt=${cnt%% *}
		frq=$(tr -d '\r' <"$logfile" | sed -n 's/^bootstage-frq: \([0-9]*\)$/\1/p' | head -n1)
		if [ -n "$cnt" ] && [ -n "$frq" ]; then
			echo "  Linux $series: firmware before Linux (boot $i): boot stage CPU_ON at $((cnt * 1000000 / frq)) us after reset, returned $((ret))" >&2
		fi
		tr -d '\r' <"$logfile" | sed -n "s/^FIGURE: /  Linux $series (boot $i): /p" >&2
	done
}
