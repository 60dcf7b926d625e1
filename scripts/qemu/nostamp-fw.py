#!/usr/bin/env python3
"""A firmware that never stamps the control page, for the self-test's
fw-entry fault case in the QEMU twin (docs/qemu-twin.md):

    nostamp-fw.py GOOD.elf OUT.elf

OUT is GOOD with its first instructions (at the ELF entry) replaced by a
loop that only waits for Linux's stop request in the control page (x0 =
the PSCI context id = the page's address, MMU off) and then calls PSCI
CPU_OFF over hvc, as the twin's PSCI wants. So the core runs but never
writes the stamp, and `ampctl stop` still powers it off: the case needs no
reboot. Everything else (resource table, segments) is GOOD's, so the
driver loads it like the real firmware.
"""

import struct
import sys

# aarch64 (assembled with aarch64-linux-gnu-as, listed for review):
STUB = [
    0xB9400C01,  # 1: ldr  w1, [x0, #0xc]        control page 0x0C: stop request
    0x5289EA02,  #    mov  w2, #0x4f50
    0x72AA6A82,  #    movk w2, #0x5354, lsl #16   "STOP"
    0x6B02003F,  #    cmp  w1, w2
    0x54FFFF81,  #    b.ne 1b
    0x52800040,  #    mov  w0, #0x2
    0x72B08000,  #    movk w0, #0x8400, lsl #16   PSCI CPU_OFF (0x84000002)
    0xD4000002,  #    hvc  #0
    0xD503205F,  # 2: wfe
    0x17FFFFFF,  #    b    2b
]
PT_LOAD = 1


def main():
    good, out = sys.argv[1], sys.argv[2]
    b = bytearray(open(good, "rb").read())
    assert b[:4] == b"\x7fELF" and b[4] == 2, "not an ELF64"
    entry, phoff = struct.unpack_from("<QQ", b, 0x18)
    phentsize, phnum = struct.unpack_from("<HH", b, 0x36)
    for i in range(phnum):
        p_type, _, p_offset, p_vaddr, p_paddr, p_filesz = struct.unpack_from(
            "<IIQQQQ", b, phoff + i * phentsize
        )
        if p_type == PT_LOAD and p_paddr <= entry < p_paddr + p_filesz:
            at = p_offset + entry - p_paddr
            code = struct.pack("<%dI" % len(STUB), *STUB)
            assert entry - p_paddr + len(code) <= p_filesz, "entry too close to the segment end"
            b[at : at + len(code)] = code
            open(out, "wb").write(b)
            return
    sys.exit("nostamp-fw.py: the entry %#x is in no PT_LOAD segment of %s" % (entry, good))


if __name__ == "__main__":
    main()
