//! Firmware checks against real device trees (compiled with dtc) and ELF
//! images built here byte by byte, good and bad.

use std::path::Path;
use std::process::Command;

use amp_host::fwcheck::{check, check_files, regions_from_dtb, CheckError};
use amp_host::Sys;
use amp_proto::rsc::{self, TableBuilder};

const W: u64 = 0x7000_0000;

fn dtb(dir: &Path, with_node: bool) -> Vec<u8> {
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

const TLEN: usize = rsc::header_len(2) + rsc::TRACE_ENTRY_LEN + rsc::vdev_entry_len(2, 0);

fn table(trace_da: u32) -> Vec<u8> {
    TableBuilder::<TLEN>::new(2)
        .trace(trace_da, 0x8000, "trace0")
        .rpmsg_vdev(64, 4096)
        .finish()
        .to_vec()
}

/// A minimal ELF64: `segs` = (paddr, memsz, filesz), the resource table
/// (if any) as a section placed in the first segment.
fn elf(machine: u16, entry: u64, segs: &[(u64, u64, u64)], table: Option<&[u8]>) -> Vec<u8> {
    let phoff = 64u64;
    let mut data_off = phoff + 56 * segs.len() as u64;
    let mut out = vec![0u8; data_off as usize];
    let mut ph = vec![];
    for &(paddr, memsz, filesz) in segs {
        ph.push((data_off, paddr, memsz, filesz));
        out.resize((data_off + filesz) as usize, 0xAA);
        data_off += filesz;
    }
    let tab_off = out.len() as u64;
    if let Some(t) = table {
        out.extend_from_slice(t);
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
        sh(1, 1, segs[0].0 + 0x1000, tab_off, t.len() as u64);
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

const AARCH64: u16 = 183;

#[test]
fn good_firmware_passes_and_is_described() {
    let d = tempfile::tempdir().unwrap();
    let regions = regions_from_dtb(&dtb(d.path(), true)).unwrap();
    assert_eq!(regions.len(), 5);
    assert_eq!(
        (regions[0].name.as_str(), regions[0].base, regions[0].size),
        ("firmware", W, 0x40_0000)
    );
    let t = table(0x703F_8000);
    let img = elf(
        AARCH64,
        W,
        &[(W, 0x8000, 0x6000), (W + 0x10000, 0x1000, 0x100)],
        Some(&t),
    );
    let r = check(&img, &regions).unwrap();
    assert_eq!(r.entry, W);
    assert_eq!(r.segments.len(), 2);
    assert!(r.segments.iter().all(|s| s.region == "firmware"));
    assert!(
        r.resources[0].contains("trace da 0x703f8000"),
        "{:?}",
        r.resources
    );
    assert!(r.resources[1].contains("vdev id 7"));
    // The same through files, as `ampctl check` does.
    let elf_path = d.path().join("fw.elf");
    std::fs::write(&elf_path, &img).unwrap();
    let rep = check_files(&elf_path, Some(&d.path().join("t.dtb")), &Sys::system()).unwrap();
    assert_eq!(rep, r);
}

#[test]
fn bad_firmware_is_rejected_with_addresses() {
    let d = tempfile::tempdir().unwrap();
    let regions = regions_from_dtb(&dtb(d.path(), true)).unwrap();
    let t = table(0x703F_8000);
    let e = check(
        &elf(AARCH64, W, &[(0x6000_0000, 0x1000, 0x100)], Some(&t)),
        &regions,
    )
    .unwrap_err();
    let s = e.to_string();
    assert!(
        matches!(
            e,
            CheckError::SegmentOutside {
                start: 0x6000_0000,
                ..
            }
        ),
        "{s}"
    );
    assert!(
        s.contains("0x60000000..0x60001000") && s.contains("firmware 0x70000000..0x70400000"),
        "{s}"
    );
    // Straddles the end of the firmware carveout.
    let e = check(
        &elf(AARCH64, W, &[(W + 0x3F_F000, 0x2000, 0)], Some(&t)),
        &regions,
    )
    .unwrap_err();
    assert!(matches!(e, CheckError::SegmentOutside { .. }), "{e}");
    let e = check(
        &elf(
            AARCH64,
            W,
            &[(W, 0x2000, 0), (W + 0x1000, 0x1000, 0)],
            Some(&t),
        ),
        &regions,
    )
    .unwrap_err();
    assert!(
        matches!(e, CheckError::Overlap { at, .. } if at == W + 0x1000),
        "{e}"
    );
    let e = check(&elf(62, W, &[(W, 0x1000, 0x10)], Some(&t)), &regions).unwrap_err();
    assert!(
        e.to_string().contains("x86-64") || e.to_string().contains("X86_64"),
        "{e}"
    );
    let e = check(&elf(AARCH64, W, &[(W, 0x1000, 0x10)], None), &regions).unwrap_err();
    assert!(matches!(e, CheckError::NoResourceTable), "{e}");
    let mut bad = t.clone();
    bad[0] = 2;
    let e = check(&elf(AARCH64, W, &[(W, 0x1000, 0x10)], Some(&bad)), &regions).unwrap_err();
    assert!(e.to_string().contains("version 2"), "{e}");
    let e = check(
        &elf(AARCH64, W, &[(W, 0x1000, 0x10)], Some(&table(0x1000))),
        &regions,
    )
    .unwrap_err();
    assert!(
        matches!(e, CheckError::ResourceOutside { start: 0x1000, .. }),
        "{e}"
    );
    let e = check(
        &elf(AARCH64, W + 0x50_0000, &[(W, 0x1000, 0x10)], Some(&t)),
        &regions,
    )
    .unwrap_err();
    assert!(matches!(e, CheckError::Entry(_)), "{e}");
    assert!(matches!(
        check(b"not an elf at all", &regions),
        Err(CheckError::Elf(_))
    ));
}

#[test]
fn device_tree_without_the_node_is_explained() {
    let d = tempfile::tempdir().unwrap();
    let e = regions_from_dtb(&dtb(d.path(), false)).unwrap_err();
    assert!(e.to_string().contains("overlay"), "{e}");
    assert!(matches!(regions_from_dtb(b"junk"), Err(CheckError::Dtb(_))));
}
