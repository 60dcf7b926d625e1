# The twin's non-interactive gdb session (scripts/qemu-amp debug --batch,
# scripts/qemu/debug.sh): gdb-multiarch on QEMU's gdbstub, the firmware
# ELF's symbols (linked at its physical addresses and identity mapped by
# rtd-amp-rt/src/mmu.rs: symbol addresses are the addresses CPU3 runs at).
# The guest (scripts/qemu/guest/gdb.sh) sends two echoes with
# `ampt echo DEV 2`, of 1 and 38 bytes (ampt.c cmd_echo: 1 + (i * 37) % 496);
# this session stops CPU3 in the echo service's handler for each and checks
# what it reads. Each check prints "GDB-CHECK: ok NAME" or
# "GDB-CHECK: FAIL NAME ..."; debug.sh wants every expected "ok".
# QEMU is started with -S: the breakpoint is in place before the kernel
# boots (TCG breakpoints are kept by QEMU, not written into guest memory,
# so loading the firmware does not overwrite them).
set pagination off
set confirm off
set print pretty off
set tcp connect-timeout 60
target remote tcp:127.0.0.1:@PORT@
# The gdbstub gives each vCPU as a thread: CPU n is thread n + 1.
info threads
# The echo service's handler (rtd-amp-fw/src/lib.rs, echo(), registered
# for ECHO_ADDR); other services' messages do not stop.
break @SYMBOL@ if msg.dst == 1024
continue
# First echo: on CPU3, one byte.
if $_thread == 4
  echo GDB-CHECK: ok stop-on-cpu3\n
else
  printf "GDB-CHECK: FAIL stop-on-cpu3: stopped in thread %d\n", $_thread
end
print msg.payload.len
if msg.payload.len == @LEN1@
  echo GDB-CHECK: ok first-echo-length\n
else
  printf "GDB-CHECK: FAIL first-echo-length: %d bytes, expected @LEN1@\n", msg.payload.len
end
# Hold the stop for a few seconds of wall time: the guest must not notice
# (gdb.sh checks its kernel log for stalls).
shell sleep @HOLD@
continue
if $_thread == 4 && msg.payload.len == @LEN2@
  echo GDB-CHECK: ok second-echo-length\n
else
  printf "GDB-CHECK: FAIL second-echo-length: thread %d, %d bytes, expected @LEN2@\n", $_thread, msg.payload.len
end
# The runtime's loop called the handler: the backtrace (through the
# application's closure and the runtime's dispatch) reaches Firmware::run.
# A missing frame is an error, which ends the script without this verdict.
bt
frame function rtd_amp_rt::app::Firmware::run
echo GDB-CHECK: ok backtrace-to-runtime\n
shell sleep @HOLD@
delete
echo GDB-SESSION: detaching, the guest finishes\n
detach
