//! The built firmware ELFs (scripts/build-firmware) as Linux will see them:
//! AArch64, entry at the window, every loadable segment inside the firmware
//! carveout, and a `.resource_table` that the protocol core's validator
//! accepts with the entries the driver needs.

use std::path::PathBuf;

use amp_proto::rsc::{self, Entry};
use goblin::elf::{program_header::PT_LOAD, Elf};
use rtd_amp_rt::board::{layout, Board, QEMU_VIRT, RTD1619B};

fn elf_path(board: &Board) -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../target")
        .join(board.name)
        .join(format!("rtd-amp-fw-{}.elf", board.name));
    assert!(
        p.exists(),
        "{} is missing: run scripts/build-firmware {} first (scripts/test does)",
        p.display(),
        board.name
    );
    p
}

fn check(board: &Board) {
    let bytes = std::fs::read(elf_path(board)).unwrap();
    let elf = Elf::parse(&bytes).unwrap();
    assert_eq!(elf.header.e_machine, goblin::elf::header::EM_AARCH64);
    assert!(elf.is_64 && elf.little_endian);
    assert_eq!(
        elf.entry, board.window,
        "{}: entry at the window",
        board.name
    );
    let fw = board.window..board.window + layout::FIRMWARE_SIZE;
    let mut loads = 0;
    for ph in elf.program_headers.iter().filter(|p| p.p_type == PT_LOAD) {
        loads += 1;
        assert!(
            fw.contains(&ph.p_paddr),
            "segment at {:#x} outside the carveout",
            ph.p_paddr
        );
        assert!(
            ph.p_paddr + ph.p_memsz <= fw.end,
            "segment end {:#x}",
            ph.p_paddr + ph.p_memsz
        );
        assert!(
            ph.p_paddr + ph.p_memsz <= board.at(layout::TRACE),
            "image overlaps the trace buffer"
        );
    }
    assert!(loads >= 1);
    let sh = elf
        .section_headers
        .iter()
        .find(|s| elf.shdr_strtab.get_at(s.sh_name) == Some(".resource_table"))
        .expect(".resource_table section");
    let off = sh.sh_offset as usize;
    let table = &bytes[off..off + sh.sh_size as usize];
    let t = rsc::parse(table).unwrap_or_else(|e| panic!("{}: {e}", board.name));
    let mut kinds = vec![];
    for (_, e) in t.entries() {
        match e {
            Entry::Carveout(c) => {
                assert_eq!(rsc::name_str(&c.name), Some("firmware"));
                assert_eq!(u64::from(c.da.get()), board.window);
                assert_eq!(u64::from(c.len.get()), layout::FIRMWARE_SIZE);
                kinds.push("carveout");
            }
            Entry::Trace(tr) => {
                assert_eq!(u64::from(tr.da.get()), board.at(layout::TRACE));
                kinds.push("trace");
            }
            Entry::Vdev { vdev, vrings, .. } => {
                assert_eq!(vdev.id.get(), 7);
                assert_eq!(vdev.dfeatures.get() & 1, 1, "F_NS");
                assert_eq!(vrings.len(), 2);
                for v in vrings {
                    assert_eq!((v.num.get(), v.align.get()), (64, 4096));
                    assert_eq!(v.da.get(), rsc::FW_RSC_ADDR_ANY);
                }
                kinds.push("vdev");
            }
            other => panic!("unexpected entry {other:?}"),
        }
    }
    assert_eq!(kinds, ["carveout", "trace", "vdev"]);
    // The section is inside a loaded segment, so Linux can find and update it.
    assert!(fw.contains(&sh.sh_addr));
    assert_eq!(sh.sh_addr % 8, 0, "table aligned for its u32/u64 fields");
    let in_load = elf.program_headers.iter().any(|p| {
        p.p_type == PT_LOAD
            && p.p_vaddr <= sh.sh_addr
            && sh.sh_addr + sh.sh_size <= p.p_vaddr + p.p_filesz
    });
    assert!(in_load, "table bytes are loaded from the file");

    // The symbols the boot code and the vectors rely on.
    let sym = |name: &str| {
        elf.syms
            .iter()
            .find(|s| elf.strtab.get_at(s.st_name) == Some(name))
            .map(|s| s.st_value)
            .unwrap_or_else(|| panic!("{}: no symbol {name}", board.name))
    };
    assert_eq!(sym("_start"), elf.entry, "entry is the boot code");
    assert_eq!(sym("__vectors") % 0x800, 0, "VBAR_EL1 alignment");
    assert!(fw.contains(&sym("__vectors")));
    assert_eq!(sym("__stack_top") % 16, 0, "AArch64 stack alignment");
    assert!(sym("__bss_start") <= sym("__bss_end"));
    assert!(
        sym("__image_end") <= board.at(layout::TRACE),
        "image, bss and stack end before the trace buffer"
    );
}

#[test]
fn qemu_virt_elf() {
    check(&QEMU_VIRT);
}

#[test]
fn rtd1619b_elf() {
    check(&RTD1619B);
}
