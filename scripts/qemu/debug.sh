# scripts/qemu-amp debug: the twin with QEMU's gdbstub and gdb-multiarch on
# CPU3 with the firmware's symbols. Source it after build.sh.
#
# QEMU starts halted (-S) with its gdbstub on a local TCP port; gdb loads
# the firmware ELF the guest runs (the twin's test build, unstripped) and
# connects. The firmware is linked at its physical load address and
# identity mapped (rust/firmware/rtd-amp-fw/link.x.in, rtd-amp-rt/src/mmu.rs),
# so the ELF's symbols are where CPU3 runs them, with the MMU on or off.
# The gdbstub gives each vCPU as a thread: CPU3 is thread 4.
#
# All-stop: when gdb stops (a breakpoint on CPU3, Ctrl-C), QEMU stops every
# vCPU and its virtual clock, which drives the guest's generic timer; Linux
# on CPUs 0-2 sees no time pass, so its RCU-stall, soft-lockup and hung-task
# watchdogs and its own timeouts (rpmsg_char's read, remoteproc's) do not
# fire however long the stop lasts. The batch session holds each stop for
# a few seconds and the guest checks its kernel log for such complaints.
# shellcheck shell=bash

QA_GDB_SCRIPT=$REPO_ROOT/scripts/qemu/echo-break.gdb
# The echo service's handler; AMP_GDB_SYMBOL and AMP_GDB_LEN1 change what
# the session breaks on and expects (to see it fail).
QA_GDB_SYMBOL=${AMP_GDB_SYMBOL:-rtd_amp_fw::echo}

_qa_free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# _qa_debug_args SERIES MODE PORT: QEMU's arguments for a debug boot.
_qa_debug_args() {
	local series=$1 guest_mode=$2 port=$3 out
	out=$(qa_guest_dir "$series")
	# shellcheck disable=SC2054 # commas belong to QEMU's values
	qa_debug_args=("${QA_QEMU_MACHINE[@]}" -name rtd-amp-twin,debug-threads=on -no-reboot
		-display none -monitor none -S -gdb "tcp:127.0.0.1:$port"
		-kernel "$(dk_image "$series")" -initrd "$out/initrd.gz" -dtb "$out/virt-amp.dtb"
		-append "console=ttyAMA0 maxcpus=3 rdinit=/init quiet amp.mode=$guest_mode")
}

# The ELF the guest runs (build.sh copies it into the initramfs).
qa_debug_elf() { printf '%s/root/lib/firmware/rtd-amp/rtd-amp-fw.elf\n' "$(qa_guest_dir "$1")"; }

gdb_pid=
qa_debug_cleanup() {
	if [ -n "$gdb_pid" ] && kill -0 "$gdb_pid" 2>/dev/null; then kill "$gdb_pid" 2>/dev/null || true; fi
	qa_qemu_cleanup
}

# qa_debug_interactive SERIES: QEMU in the background, its console on a
# Unix socket (and in a log), the guest starting the firmware and then a
# shell there; gdb in the foreground. Quitting gdb ends QEMU.
qa_debug_interactive() {
	local series=$1 port sock logfile elf
	port=$(_qa_free_port)
	sock=$(qa_guest_dir "$series")/debug-console.sock
	logfile=$(qa_guest_dir "$series")/console-debug.log
	elf=$(qa_debug_elf "$series")
	_qa_debug_args "$series" debug "$port"
	rm -f "$sock"
	qemu-system-aarch64 "${qa_debug_args[@]}" \
		-chardev "socket,id=con0,path=$sock,server=on,wait=off,logfile=$logfile" -serial chardev:con0 \
		</dev/null >"$logfile.qemu" 2>&1 &
	qemu_pid=$!
	cat >&2 <<-EOF
		QEMU is halted with its gdbstub on 127.0.0.1:$port; gdb follows (CPU3 = thread 4).
		  console (another terminal): socat -,raw,echo=0 UNIX-CONNECT:$sock
		  console log: $logfile
		  in gdb: break rtd_amp_fw::echo; continue; then in the
		  guest's shell: ampt echo \$(raw_dev) 2. Quitting gdb powers the twin off.
	EOF
	gdb-multiarch -q -ex "set pagination off" -ex "file $elf" -ex "set tcp connect-timeout 30" \
		-ex "target remote tcp:127.0.0.1:$port" -ex "info threads" -ex "thread 4" || true
}

# qa_debug_batch SERIES: the CI session (scripts/qemu/echo-break.gdb with
# the guest's scripts/qemu/guest/gdb.sh); 0 when gdb read what it expected
# and the guest suite passed.
qa_debug_batch() {
	local series=$1 port dir logfile gdblog elf waited=0 timeout=${AMP_QEMU_TIMEOUT:-300} rc=0 c line
	local checks=(stop-on-cpu3 first-echo-length second-echo-length backtrace-to-runtime)
	dir=$(qa_guest_dir "$series")
	port=$(_qa_free_port)
	logfile=$dir/console-gdb.log
	gdblog=$dir/gdb-session.log
	elf=$(qa_debug_elf "$series")
	sed -e "s/@PORT@/$port/" -e "s/@SYMBOL@/$QA_GDB_SYMBOL/" -e "s/@LEN1@/${AMP_GDB_LEN1:-1}/g" \
		-e "s/@LEN2@/38/g" -e "s/@HOLD@/${AMP_GDB_HOLD:-3}/g" "$QA_GDB_SCRIPT" >"$dir/echo-break.gdb"
	_qa_debug_args "$series" gdb "$port"
	: >"$logfile"
	qemu-system-aarch64 "${qa_debug_args[@]}" -serial "file:$logfile" </dev/null >"$logfile.qemu" 2>&1 &
	qemu_pid=$!
	gdb-multiarch -q -nx -batch -ex "file $elf" -x "$dir/echo-break.gdb" >"$gdblog" 2>&1 &
	gdb_pid=$!
	# Until QEMU powers off; a gdb that ended (or never attached) leaves
	# QEMU halted: it gets 30 s more to finish, then is killed.
	while kill -0 "$qemu_pid" 2>/dev/null; do
		if [ "$waited" -ge "$timeout" ]; then
			log "gdb session: timeout after ${timeout}s: killing QEMU"
			break
		fi
		if ! kill -0 "$gdb_pid" 2>/dev/null && [ "$timeout" -gt $((waited + 30)) ]; then
			timeout=$((waited + 30))
		fi
		sleep 1
		waited=$((waited + 1))
	done
	qa_debug_cleanup
	wait "$gdb_pid" 2>/dev/null || true
	gdb_pid=
	sed 's/^/  gdb: /' "$gdblog" >&2
	for c in "${checks[@]}"; do
		if grep -q "^GDB-CHECK: ok $c\$" "$gdblog"; then
			log "Linux $series: gdb: $c ok"
		else
			line=$(grep -m1 "^GDB-CHECK: FAIL $c" "$gdblog" || echo "no verdict (see $gdblog)")
			log "Linux $series: gdb: $c failed: $line"
			rc=1
		fi
	done
	tr -d '\r' <"$logfile" | grep -E '^(PASS|FAIL): |^gdb-guest: ' | sed 's/^/  guest: /' >&2
	line=$(tr -d '\r' <"$logfile" | grep -E '^gdb-guest: [0-9]+ passed, [0-9]+ failed$' | tail -n1 || true)
	if [ "$line" != "gdb-guest: 4 passed, 0 failed" ]; then
		log "Linux $series: the guest's side of the gdb session: ${line:-did not finish} (console: $logfile)"
		rc=1
	fi
	if tr -d '\r' <"$logfile" | grep -E 'Internal error|Kernel panic|BUG: |Call trace:' >&2; then
		log "Linux $series: kernel splat on the console (see $logfile)"
		rc=1
	fi
	return "$rc"
}
