//! Firmware images and device trees for the tests of amp-host and ampctl
//! (included with `#[path]`): a twin-like device tree compiled with dtc,
//! and ELF images built byte by byte.
#![allow(dead_code)] // each test crate uses a part

use std::path::Path;
use std::process::Command;

/// The firmware carveout's base in [`dtb`].
pub const W: u64 = 0x7000_0000;
/// ELF machine number of aarch64.
pub const AARCH64: u16 = 183;

/// The twin's reserved memory (firmware carveout, vrings, buffers, control
/// page), with the remoteproc node when `with_node`; written to
/// `dir/t.dtb`.
pub fn dtb(dir: &Path, with_node: bool) -> Vec<u8> {
    let node = if with_node {
        r#"remoteproc-cpu3 {
            compatible = "realtek,rtd1619b-amp-rproc";
            memory-region = <&fw>, <&v0>, <&v1>, <&buf>, <&ctrl>;
        };"#
    } else {
        ""
    };
    let src = format!(
        r#"/dts-v1/;
/ {{
    #address-cells = <2>;
    #size-cells = <2>;
    reserved-memory {{
        #address-cells = <2>;
        #size-cells = <2>;
        ranges;
        fw: firmware@70000000 {{ reg = <0x0 0x70000000 0x0 0x400000>; no-map; }};
        v0: vdev0vring0@70400000 {{ reg = <0x0 0x70400000 0x0 0x8000>; no-map; }};
        v1: vdev0vring1@70408000 {{ reg = <0x0 0x70408000 0x0 0x8000>; no-map; }};
        buf: vdev0buffer@70410000 {{ compatible = "shared-dma-pool"; reg = <0x0 0x70410000 0x0 0x40000>; no-map; }};
        ctrl: ctrl@70ff0000 {{ reg = <0x0 0x70ff0000 0x0 0x1000>; no-map; }};
    }};
    {node}
}};
"#
    );
    let dts = dir.join("t.dts");
    let out = dir.join("t.dtb");
    std::fs::write(&dts, src).unwrap();
    let st = Command::new("dtc")
        .args(["-q", "-I", "dts", "-O", "dtb", "-o"])
        .arg(&out)
        .arg(&dts)
        .status()
        .expect("dtc (device-tree-compiler, installed by scripts/setup-host)");
    assert!(st.success());
    std::fs::read(out).unwrap()
}

/// A minimal ELF64: `segs` = (paddr, memsz, filesz), the resource table
/// (if any) as a section loaded by the first segment, right after its
/// `filesz` bytes (the segment grows to hold it, as a linker lays it out).
pub fn elf(machine: u16, entry: u64, segs: &[(u64, u64, u64)], table: Option<&[u8]>) -> Vec<u8> {
    let phoff = 64u64;
    let mut data_off = phoff + 56 * segs.len() as u64;
    let mut out = vec![0u8; data_off as usize];
    let mut ph = vec![];
    let (mut tab_off, mut tab_addr) = (0, 0);
    for (i, &(paddr, memsz, filesz)) in segs.iter().enumerate() {
        let (mut memsz, mut filesz) = (memsz, filesz);
        out.resize((data_off + filesz) as usize, 0xAA);
        if let (0, Some(t)) = (i, table) {
            tab_off = out.len() as u64;
            tab_addr = paddr + filesz;
            out.extend_from_slice(t);
            filesz += t.len() as u64;
            memsz = memsz.max(filesz);
        }
        ph.push((data_off, paddr, memsz, filesz));
        data_off += filesz;
    }
    let strtab = b"\0.resource_table\0.shstrtab\0";
    let str_off = out.len() as u64;
    out.extend_from_slice(strtab);
    while out.len() % 8 != 0 {
        out.push(0);
    }
    let shoff = out.len() as u64;
    let mut sh = |name: u32, kind: u32, addr: u64, off: u64, size: u64| {
        let mut s = vec![0u8; 64];
        s[0..4].copy_from_slice(&name.to_le_bytes());
        s[4..8].copy_from_slice(&kind.to_le_bytes());
        s[16..24].copy_from_slice(&addr.to_le_bytes());
        s[24..32].copy_from_slice(&off.to_le_bytes());
        s[32..40].copy_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&s);
    };
    sh(0, 0, 0, 0, 0);
    let mut shnum = 2u16;
    if let Some(t) = table {
        sh(1, 1, tab_addr, tab_off, t.len() as u64);
        shnum += 1;
    }
    sh(17, 3, 0, str_off, strtab.len() as u64);
    // ELF header
    let h = &mut out[..64];
    h[..8].copy_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0]);
    h[16..18].copy_from_slice(&2u16.to_le_bytes());
    h[18..20].copy_from_slice(&machine.to_le_bytes());
    h[20..24].copy_from_slice(&1u32.to_le_bytes());
    h[24..32].copy_from_slice(&entry.to_le_bytes());
    h[32..40].copy_from_slice(&phoff.to_le_bytes());
    h[40..48].copy_from_slice(&shoff.to_le_bytes());
    h[52..54].copy_from_slice(&64u16.to_le_bytes());
    h[54..56].copy_from_slice(&56u16.to_le_bytes());
    h[56..58].copy_from_slice(&(segs.len() as u16).to_le_bytes());
    h[58..60].copy_from_slice(&64u16.to_le_bytes());
    h[60..62].copy_from_slice(&shnum.to_le_bytes());
    h[62..64].copy_from_slice(&(shnum - 1).to_le_bytes());
    for (i, (off, paddr, memsz, filesz)) in ph.into_iter().enumerate() {
        let p = &mut out[(phoff as usize + 56 * i)..(phoff as usize + 56 * (i + 1))];
        p[0..4].copy_from_slice(&1u32.to_le_bytes());
        p[4..8].copy_from_slice(&7u32.to_le_bytes());
        p[8..16].copy_from_slice(&off.to_le_bytes());
        p[16..24].copy_from_slice(&paddr.to_le_bytes());
        p[24..32].copy_from_slice(&paddr.to_le_bytes());
        p[32..40].copy_from_slice(&filesz.to_le_bytes());
        p[40..48].copy_from_slice(&memsz.to_le_bytes());
        p[48..56].copy_from_slice(&0x1000u64.to_le_bytes());
    }
    out
}
