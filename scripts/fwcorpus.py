#!/usr/bin/env python3
"""Malformed copies of a real rtd-amp firmware ELF, for the firmware rules.

    fwcorpus.py rules GOOD.elf OUTDIR
        one file per rule of docs/kernel.md ("Firmware rules"), each breaking
        only that rule: OUTDIR/bad-<rule>[.<variant>].elf, and OUTDIR/rules.txt
        listing "<file> <rule>" lines. The kernel driver must refuse each with
        "refused [<rule>]" in dmesg, amp-host's fwcheck with "[<rule>]".
        Also OUTDIR/changed-rsc-size.elf (not in rules.txt): a *valid*
        firmware whose .resource_table is larger, for rule rsc-changed,
        which only a recovery onto a replaced file can break.
    fwcorpus.py fuzz SEED COUNT GOOD.elf OUTDIR
        COUNT random mutants (1 to 3 field mutations each in the ELF header,
        program headers, section headers and resource table, sometimes a
        truncation), reproducible from SEED, as patches of GOOD.elf:
        OUTDIR/fuzz.txt has one line per mutant, "NAME<TAB>WHAT<TAB>OPS",
        OPS being "OFFSET=BYTES" (BYTES as printf octal escapes) and
        "trunc=LENGTH" words; the twin's guest applies them to a copy of
        GOOD.elf (scripts/qemu/guest/tests.sh), `--files` writes the
        mutants as OUTDIR/NAME.elf instead.

GOOD.elf is the firmware built for the QEMU twin (window 0x70000000, the
regions of qemu-virt-amp.dtso) or an image laid out like it; the rules
corpus needs a resource table of carveout, trace and vdev (two vrings), as
rtd-amp-fw declares, and two PT_LOAD segments.
"""

import os
import random
import struct
import sys

PT_LOAD = 1
RSC_CARVEOUT, RSC_DEVMEM, RSC_TRACE, RSC_VDEV = 0, 1, 2, 3
OUTSIDE = 0x6000_0000  # below the twin's window, no DT region there


def ctrl_define(name):
    """A constant of the driver's generated rtd_amp_ctrl.h (amp-ctrl-page)."""
    header = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "recipes-kernel",
                          "rtd-amp-modules", "files", "rtd_amp_ctrl.h")
    for line in open(header):
        words = line.split()
        if words[:2] == ["#define", "CTRL_" + name]:
            return int(words[2], 0)
    sys.exit(f"fwcorpus: no CTRL_{name} in {header}")


RSC_CONTRACT = ctrl_define("RSC_CONTRACT_TYPE")


class Elf:
    """Offsets of the fields the rules look at, in a little-endian ELF64."""

    def __init__(self, data):
        self.b = bytearray(data)
        b = self.b
        self.phoff, self.shoff = struct.unpack_from("<QQ", b, 0x20)
        self.phnum, = struct.unpack_from("<H", b, 0x38)
        self.shnum, self.shstrndx = struct.unpack_from("<HH", b, 0x3C)
        self.strtab = self.sh(self.shstrndx)
        str_off, = struct.unpack_from("<Q", b, self.strtab + 0x18)
        self.rsc_sh = None
        for i in range(self.shnum):
            o = self.sh(i)
            name, = struct.unpack_from("<I", b, o)
            if b[str_off + name:str_off + name + 16] == b".resource_table\0":
                self.rsc_sh = o
                self.rsc_name = str_off + name
        if self.rsc_sh is None:
            sys.exit("fwcorpus: no .resource_table in the good ELF")
        self.rsc, = struct.unpack_from("<Q", b, self.rsc_sh + 0x18)
        self.rsc_size, = struct.unpack_from("<Q", b, self.rsc_sh + 0x20)
        self.loads = [i for i in range(self.phnum)
                      if self.u32(self.ph(i)) == PT_LOAD and self.u64(self.ph(i) + 0x28)]
        self.entry = self.u64(0x18)
        self.entries = {}
        num = self.u32(self.rsc + 4)
        for i in range(num):
            off = self.u32(self.rsc + 16 + 4 * i)
            self.entries.setdefault(self.u32(self.rsc + off), []).append((i, self.rsc + off))

    def ph(self, i):
        return self.phoff + 56 * i

    def sh(self, i):
        return self.shoff + 64 * i

    def u32(self, off):
        return struct.unpack_from("<I", self.b, off)[0]

    def u64(self, off):
        return struct.unpack_from("<Q", self.b, off)[0]

    def entry_of(self, kind):
        """Byte offset (in the file) of the body of the first entry of a type."""
        return self.entries[kind][0][1] + 4

    def copy(self):
        return Elf(bytes(self.b))


def put(e, fmt, off, *vals):
    struct.pack_into("<" + fmt, e.b, off, *vals)
    return e


def entry_segment(e):
    """The PT_LOAD holding the entry point, and one that does not."""
    holds = [i for i in e.loads
             if e.u64(e.ph(i) + 0x18) <= e.entry < e.u64(e.ph(i) + 0x18) + e.u64(e.ph(i) + 0x28)]
    others = [i for i in e.loads if i not in holds]
    if not holds or not others:
        sys.exit("fwcorpus: the good ELF needs a PT_LOAD with the entry point and another one")
    return holds[0], others[-1]


def rules(good):
    """(name, rule, bytes) for every rule."""
    out = []
    text, data = entry_segment(good)
    carve = good.entry_of(RSC_CARVEOUT)
    trace = good.entry_of(RSC_TRACE)
    vdev = good.entry_of(RSC_VDEV)
    vring0 = vdev + 24
    rsc = good.rsc

    def add(rule, e, variant=None):
        name = "bad-" + rule + ("." + variant if variant else "")
        out.append((name, rule, bytes(e.b)))

    small = good.copy()
    small.b = small.b[:40]
    add("elf-size", small)
    add("elf-magic", put(good.copy(), "B", 1, ord("X")))
    add("elf-class", put(good.copy(), "B", 4, 1))
    add("elf-data", put(good.copy(), "B", 5, 2))
    add("elf-machine", put(good.copy(), "H", 0x12, 62))
    add("elf-phdrs", put(good.copy(), "Q", 0x20, len(good.b) - 8))
    add("elf-phdrs", put(good.copy(), "H", 0x38, 0), "none")
    add("elf-shdrs", put(good.copy(), "H", 0x3C, (len(good.b) - good.shoff) // 64 + 1))
    # The oops of issue 12: find_table() reads the name table header far
    # beyond the section headers.
    add("elf-shstrndx", put(good.copy(), "H", 0x3E, 0x8000))
    add("elf-shstrtab", put(good.copy(), "Q", good.strtab + 0x18, 0xFF_FFFF_FF00))
    shname = 1 if good.sh(1) != good.rsc_sh else 2
    add("elf-shname", put(good.copy(), "I", good.sh(shname), 0x7FFF_FFFF))
    add("rsc-missing", put(good.copy(), "B", good.rsc_name + 13, ord("X")))
    add("rsc-section", put(good.copy(), "Q", good.rsc_sh + 0x20, len(good.b)))
    ph = good.ph(text)
    add("seg-filesz", put(good.copy(), "Q", ph + 0x20, good.u64(ph + 0x28) + 0x1000))
    # The segment's file range runs past the end of the file.
    add("seg-file", put(good.copy(), "Q", ph + 0x08, len(good.b) - 0x10))
    dph = good.ph(data)
    add("seg-addr", put(put(good.copy(), "Q", dph + 0x10, OUTSIDE), "Q", dph + 0x18, OUTSIDE))
    add("seg-addr", put(good.copy(), "Q", dph + 0x28, 2**64 - 0x1000), "wrap")
    add("seg-overlap", put(put(good.copy(), "Q", dph + 0x10, good.u64(ph + 0x10)),
                           "Q", dph + 0x18, good.u64(ph + 0x18)))
    e = good.copy()
    for i in good.loads:
        put(e, "I", good.ph(i), 0)
    add("seg-none", e)
    add("elf-entry", put(good.copy(), "Q", 0x18, OUTSIDE))
    add("rsc-addr", put(good.copy(), "Q", good.rsc_sh + 0x10, OUTSIDE))
    # Inside the window, but not where the table is loaded: the kernel
    # would copy the table in use over other firmware code or data.
    add("rsc-addr", put(good.copy(), "Q", good.rsc_sh + 0x10, good.u64(good.rsc_sh + 0x10) + 0x1000),
        "moved")
    add("rsc-header", put(good.copy(), "Q", good.rsc_sh + 0x20, 8))
    add("rsc-version", put(good.copy(), "I", rsc, 2))
    add("rsc-reserved", put(good.copy(), "I", rsc + 8, 1))
    add("rsc-num", put(good.copy(), "I", rsc + 4, 0x1000))
    # Read as a negative int by rproc_handle_resources() before 6.1.192.
    add("rsc-offset", put(good.copy(), "I", rsc + 16, 0xFFFF_FFF0))
    add("rsc-offset", put(good.copy(), "I", rsc + 16, good.u32(rsc + 16) + 2), "unaligned")
    add("rsc-type", put(good.copy(), "I", carve - 4, RSC_DEVMEM), "devmem")
    add("rsc-type", put(good.copy(), "I", carve - 4, 128), "vendor")
    add("rsc-truncated", put(good.copy(), "I", vdev + 16, 0x1000))
    add("rsc-overlap", put(good.copy(), "I", rsc + 20, good.u32(rsc + 16)))
    add("carveout-reserved", put(good.copy(), "I", carve + 16, 1))
    # A format string: the generic code passes the name to vsnprintf().
    add("carveout-name", put(good.copy(), "32s", carve + 20, b"%s%s%s%s%s%s%s%s"))
    add("carveout-name", put(good.copy(), "32s", carve + 20, b"Z" * 32), "unterminated")
    # Wraps the 32-bit address space.
    add("carveout-addr", put(good.copy(), "III", carve, 0xFFFF_F000, 0xFFFF_F000, 0x2000))
    e = good.copy()
    num = 2
    body = bytes(e.b[carve - 4:carve + 52])
    table = struct.pack("<IIII", 1, num, 0, 0) + struct.pack("<II", 24, 80) + body + body
    e.b[rsc:rsc + len(table)] = table
    add("carveout-dup", e)
    add("trace-reserved", put(good.copy(), "I", trace + 8, 1))
    add("trace-addr", put(good.copy(), "I", trace, OUTSIDE))
    add("vdev-reserved", put(good.copy(), "B", vdev + 22, 1))
    add("vdev-vrings", put(good.copy(), "B", vdev + 21, 3))
    # An RPMsg vdev with one ring: virtio_rpmsg_bus would still ask for two.
    add("vdev-vrings", put(good.copy(), "B", vdev + 21, 1), "one")
    # The trace entry (48 bytes) becomes a one-vring vdev of another device
    # type (virtio-rng, id 4, which has one ring), which is vdev 0; the real
    # one is then vdev 1, with no vdev1buffer region in the DT.
    e = good.copy()
    one = struct.pack("<II", RSC_VDEV, 4) + bytes(e.b[vdev + 4:vdev + 20]) + bytes([0, 1, 0, 0]) \
        + bytes(e.b[vring0:vring0 + 20])
    e.b[trace - 4:trace - 4 + len(one)] = one
    add("vdev-regions", e)
    add("vring-num", put(good.copy(), "I", vring0 + 8, 0))
    add("vring-num", put(good.copy(), "I", vring0 + 8, 48), "npot")
    add("vring-align", put(good.copy(), "I", vring0 + 4, 0))
    add("vring-addr", put(good.copy(), "I", vring0, OUTSIDE))
    add("vring-addr", put(good.copy(), "I", vring0 + 8, 4096), "big")
    # The stop/crash contract: left out of the table (the last entry), a
    # second one (over the trace entry), and each field wrong.
    contract = good.entry_of(RSC_CONTRACT)
    if good.entries[RSC_CONTRACT][0][0] != good.u32(rsc + 4) - 1:
        sys.exit("fwcorpus: the good ELF's contract entry is not its last")
    add("rsc-contract", put(good.copy(), "I", rsc + 4, good.u32(rsc + 4) - 1), "missing")
    e = good.copy()
    e.b[trace - 4:trace + 16] = bytes(good.b[contract - 4:contract + 16])
    add("rsc-contract", e, "second")
    add("rsc-contract", put(good.copy(), "I", contract, 0x4F54_5346), "magic")
    add("rsc-contract", put(good.copy(), "I", contract + 4, 2), "version")
    add("rsc-contract", put(good.copy(), "I", contract + 8, 1), "ctrl-version")
    add("rsc-contract", put(good.copy(), "I", contract + 12, 0x8000_0001), "flags")
    return out


def changed_rsc_size(good):
    """GOOD with a larger .resource_table section, valid by every rule: the
    section grows to the end of the file bytes of the segment that loads it
    (on the real firmware .data follows, so the table's size goes from 0xe0
    to 0x140; the kernel then copies .data's own file bytes back over it
    before CPU_ON). Started fresh it runs; as the file a recovery reloads
    under the table of GOOD it breaks rsc-changed."""
    e = good.copy()
    for i in good.loads:
        o = good.ph(i)
        off, filesz = good.u64(o + 0x08), good.u64(o + 0x20)
        if off <= good.u64(good.rsc_sh + 0x18) < off + filesz:
            size = off + filesz - good.u64(good.rsc_sh + 0x18)
            if size > good.rsc_size:
                return bytes(put(e, "Q", good.rsc_sh + 0x20, size).b)
    print("fwcorpus: no file bytes after the .resource_table in its segment:"
          " changed-rsc-size.elf not made", file=sys.stderr)
    return None


# ---------------------------------------------------------------- fuzzing

def fuzz_fields(e):
    """(label, offset, size, free) of every field a mutant may change. Fields
    that decide which bytes are loaded where and where the core starts
    (e_entry, p_offset, p_paddr, p_filesz) are not `free`: they get
    out-of-range values only. An image whose code merely moved, or was cut,
    within the window is valid by every rule, runs garbage and may then not
    answer the stop request; no validator can tell (seen: p_offset 0 gave a
    core that stayed on)."""
    f = [("e_ident[class]", 4, 1, True), ("e_ident[data]", 5, 1, True),
         ("e_machine", 0x12, 2, True), ("e_entry", 0x18, 8, False),
         ("e_phoff", 0x20, 8, True), ("e_shoff", 0x28, 8, True),
         ("e_phentsize", 0x36, 2, True), ("e_phnum", 0x38, 2, True),
         ("e_shentsize", 0x3A, 2, True), ("e_shnum", 0x3C, 2, True),
         ("e_shstrndx", 0x3E, 2, True)]
    for i in range(e.phnum):
        o = e.ph(i)
        f += [(f"ph{i}.p_type", o, 4, True), (f"ph{i}.p_offset", o + 8, 8, False),
              (f"ph{i}.p_vaddr", o + 0x10, 8, True), (f"ph{i}.p_paddr", o + 0x18, 8, False),
              (f"ph{i}.p_filesz", o + 0x20, 8, False), (f"ph{i}.p_memsz", o + 0x28, 8, True)]
    for i in range(e.shnum):
        o = e.sh(i)
        f += [(f"sh{i}.sh_name", o, 4, True), (f"sh{i}.sh_addr", o + 0x10, 8, True),
              (f"sh{i}.sh_offset", o + 0x18, 8, True), (f"sh{i}.sh_size", o + 0x20, 8, True)]
    for w in range(0, min(e.rsc_size, 256) // 4):
        f.append((f"rsc+{4 * w:#x}", e.rsc + 4 * w, 4, True))
    return f


def fuzz(good, seed, count):
    rnd = random.Random(seed)
    fields = fuzz_fields(good)
    out = []
    for n in range(count):
        e = good.copy()
        what, ops = [], []
        for _ in range(rnd.randint(1, 3)):
            label, off, size, free = rnd.choice(fields)
            bits = 8 * size
            old = int.from_bytes(e.b[off:off + size], "little")
            mask = (1 << bits) - 1
            far = [0, mask, 1 << (bits - 1), mask - 15, (len(e.b) + 1) & mask, OUTSIDE & mask]
            if not free:
                # Past the file for offsets and sizes, outside every
                # region for addresses (the window is 0x70000000..).
                far = [v for v in far if v > len(e.b)] if "p_offset" in label or "p_filesz" in label \
                    else [0, (1 << bits) - 1, 1 << (bits - 1), OUTSIDE]
            kind = rnd.choice(["far", "flip", "small", "random"] if free else ["far"])
            if kind == "far":
                new = rnd.choice(far)
            elif kind == "flip":
                new = old ^ (1 << rnd.randrange(bits))
            elif kind == "small":
                new = (old + rnd.choice([-4, -1, 1, 4, 16, 0x1000])) % (1 << bits)
            else:
                new = rnd.getrandbits(bits)
            e.b[off:off + size] = new.to_bytes(size, "little")
            what.append(f"{label} {old:#x}->{new:#x}")
            ops.append(f"{off}=" + "".join(f"\\{c:03o}" for c in new.to_bytes(size, "little")))
        if rnd.random() < 0.05:
            cut = rnd.randrange(len(e.b))
            e.b = e.b[:cut]
            what.append(f"truncated to {cut}")
            ops.append(f"trunc={cut}")
        out.append((f"fuzz-{n:03d}", ", ".join(what), " ".join(ops), bytes(e.b)))
    return out


def main(argv):
    if len(argv) == 4 and argv[1] == "rules":
        good = Elf(open(argv[2], "rb").read())
        with open(f"{argv[3]}/rules.txt", "w") as idx:
            for name, rule, data in rules(good):
                open(f"{argv[3]}/{name}.elf", "wb").write(data)
                idx.write(f"{name}.elf {rule}\n")
        changed = changed_rsc_size(good)
        if changed:
            open(f"{argv[3]}/changed-rsc-size.elf", "wb").write(changed)
    elif len(argv) in (6, 7) and argv[1] == "fuzz" and argv[6:] in ([], ["--files"]):
        good = Elf(open(argv[4], "rb").read())
        with open(f"{argv[5]}/fuzz.txt", "w") as idx:
            for name, what, ops, data in fuzz(good, int(argv[2]), int(argv[3])):
                if argv[6:]:
                    open(f"{argv[5]}/{name}.elf", "wb").write(data)
                idx.write(f"{name}\t{what}\t{ops}\n")
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
