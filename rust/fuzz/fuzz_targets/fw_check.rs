//! amp-host's firmware check (the rules of docs/kernel.md, "Firmware
//! rules") on hostile ELF images: it must accept or refuse with a rule,
//! never panic, and an accepted image must keep every loaded byte and the
//! resource table inside the file and the QEMU twin's regions.
//!
//! An input starting with the ELF magic is checked as it is. Any other
//! input patches a firmware-shaped image (two segments, carveout + trace +
//! vdev table, as rtd-amp-fw): each 9-byte record is a little-endian u64
//! offset (modulo the image size) and a byte to write there, so the fuzzer
//! starts deep inside the ELF and the table instead of at the magic.
#![no_main]

use amp_host::fwcheck::{check, Region};
use amp_proto::rsc::{self, TableBuilder};
use libfuzzer_sys::fuzz_target;

const W: u64 = 0x7000_0000;

fn regions() -> Vec<Region> {
    [
        ("firmware", W, 0x40_0000),
        ("vdev0vring0", W + 0x40_0000, 0x8000),
        ("vdev0vring1", W + 0x40_8000, 0x8000),
        ("vdev0buffer", W + 0x41_0000, 0x4_0000),
        ("ctrl", W + 0xFF_0000, 0x1000),
    ]
    .iter()
    .map(|&(name, base, size)| Region {
        name: name.into(),
        base,
        size,
    })
    .collect()
}

fn put(b: &mut [u8], off: usize, v: &[u8]) {
    b[off..off + v.len()].copy_from_slice(v);
}

/// ELF header, two program headers, 0x200 bytes of "code", the table, the
/// section names and three section headers (null, .resource_table,
/// .shstrtab).
fn image() -> Vec<u8> {
    const LEN: usize = rsc::header_len(3)
        + rsc::CARVEOUT_ENTRY_LEN
        + rsc::TRACE_ENTRY_LEN
        + rsc::vdev_entry_len(2, 0);
    let table = TableBuilder::<LEN>::new(3)
        .carveout(W as u32, W as u32, 0x40_0000, 0, "firmware")
        .trace(0x703F_8000, 0x8000, "trace0")
        .rpmsg_vdev(64, 4096)
        .finish();
    let names = b"\0.resource_table\0.shstrtab\0";
    let code = 0x100usize;
    let tab = code + 0x200;
    let str_off = tab + LEN;
    let shoff = (str_off + names.len() + 7) & !7;
    let mut b = vec![0u8; shoff + 3 * 64];
    put(&mut b, 0, &[0x7f, b'E', b'L', b'F', 2, 1, 1]);
    put(&mut b, 0x10, &2u16.to_le_bytes());
    put(&mut b, 0x12, &183u16.to_le_bytes());
    put(&mut b, 0x14, &1u32.to_le_bytes());
    put(&mut b, 0x18, &W.to_le_bytes());
    put(&mut b, 0x20, &64u64.to_le_bytes());
    put(&mut b, 0x28, &(shoff as u64).to_le_bytes());
    for (off, v) in [
        (0x34, 64u16),
        (0x36, 56),
        (0x38, 2),
        (0x3A, 64),
        (0x3C, 3),
        (0x3E, 2),
    ] {
        put(&mut b, off, &v.to_le_bytes());
    }
    // (file offset, address, file size, memory size)
    let segs = [
        (code as u64, W, 0x200u64, 0x1000u64),
        (tab as u64, W + 0x1000, LEN as u64, 0x2000),
    ];
    for (i, (off, addr, filesz, memsz)) in segs.into_iter().enumerate() {
        let p = 64 + 56 * i;
        put(&mut b, p, &1u32.to_le_bytes());
        put(&mut b, p + 8, &off.to_le_bytes());
        put(&mut b, p + 0x10, &addr.to_le_bytes());
        put(&mut b, p + 0x18, &addr.to_le_bytes());
        put(&mut b, p + 0x20, &filesz.to_le_bytes());
        put(&mut b, p + 0x28, &memsz.to_le_bytes());
    }
    put(&mut b, tab, &table);
    put(&mut b, str_off, names);
    for (i, (name, addr, off, size)) in [
        (1u32, W + 0x1000, tab as u64, LEN as u64),
        (17, 0, str_off as u64, names.len() as u64),
    ]
    .into_iter()
    .enumerate()
    {
        let s = shoff + 64 * (i + 1);
        put(&mut b, s, &name.to_le_bytes());
        put(&mut b, s + 0x10, &addr.to_le_bytes());
        put(&mut b, s + 0x18, &off.to_le_bytes());
        put(&mut b, s + 0x20, &size.to_le_bytes());
    }
    b
}

fuzz_target!(|data: &[u8]| {
    let regions = regions();
    let input = if data.starts_with(b"\x7fELF") {
        data.to_vec()
    } else {
        let mut b = image();
        for rec in data.chunks_exact(9) {
            let off = u64::from_le_bytes(rec[..8].try_into().unwrap()) as usize % b.len();
            b[off] = rec[8];
        }
        b
    };
    match check(&input, &regions) {
        Ok(report) => {
            for s in &report.segments {
                assert!(
                    regions.iter().any(|r| r.name == s.region
                        && s.paddr >= r.base
                        && s.paddr + s.memsz <= r.base + r.size),
                    "segment {s:?} outside its region"
                );
                assert!(s.filesz <= s.memsz);
            }
        }
        Err(e) => assert!(e.rule().is_some(), "refused without a rule: {e}"),
    }
});
