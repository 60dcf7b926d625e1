//! The built firmware ELFs (scripts/build-firmware) as Linux will see them:
//! AArch64, entry at the window, every loadable segment inside the firmware
//! carveout, and a `.resource_table` that the protocol core's validator
//! accepts with the entries the driver needs.

mod common;

use amp_ctrl_page::{contract_body, CONTRACT_F_STOP_IRQ, CONTRACT_LEN, RSC_CONTRACT_TYPE};
use amp_proto::rsc::{self, Entry};
use common::elf_path;
use goblin::elf::program_header::{PF_W, PF_X, PT_LOAD};
use goblin::elf::Elf;
use rtd_amp_rt::board::{layout, Board, QEMU_VIRT, RTD1619B};
use rtd_amp_rt::mmu::{self, Attr, Tables, PAGE_SIZE};

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
    for (off, e) in t.entries() {
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
            Entry::Unknown { kind } if kind == RSC_CONTRACT_TYPE => {
                // The stop/crash contract the driver requires, promising
                // the stop interrupt (docs/kernel.md).
                let body = &table[off + 4..off + 4 + CONTRACT_LEN];
                assert_eq!(body, contract_body(CONTRACT_F_STOP_IRQ), "{}", board.name);
                kinds.push("contract");
            }
            other => panic!("unexpected entry {other:?}"),
        }
    }
    assert_eq!(kinds, ["carveout", "trace", "vdev", "contract"]);
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
    let sym = |name: &str| common::sym(&elf, board, name);
    assert_eq!(sym("_start"), elf.entry, "entry is the boot code");
    assert_eq!(sym("__vectors") % 0x800, 0, "VBAR_EL1 alignment");
    assert!(fw.contains(&sym("__vectors")));
    assert_eq!(sym("__stack_top") % 16, 0, "AArch64 stack alignment");
    assert!(sym("__bss_start") <= sym("__bss_end"));
    assert!(
        sym("__image_end") <= board.at(layout::TRACE),
        "image, bss and stack end before the trace buffer"
    );
    assert_eq!(sym("__exc_stack_top") % 16, 0);
    assert!(
        sym("__bss_end") <= sym("__data_end"),
        "bss in the data pages"
    );

    // The pages as the runtime maps them (mmu::regions over the linker
    // symbols): every part page aligned, in order, a guard page below each
    // stack, and no loaded byte in a page with other permissions than its
    // segment's.
    let img = common::image(board);
    for r in [
        &img.text,
        &img.rodata,
        &img.data,
        &img.stack,
        &img.exc_stack,
    ] {
        assert_eq!(r.start % PAGE_SIZE, 0, "{}: {r:x?}", board.name);
        assert_eq!(r.end % PAGE_SIZE, 0, "{}: {r:x?}", board.name);
        assert!(r.start < r.end);
    }
    assert_eq!(img.text.start, board.window);
    assert_eq!(img.text.end, img.rodata.start);
    assert_eq!(img.rodata.end, img.data.start);
    assert_eq!(
        img.stack.start,
        img.data.end + PAGE_SIZE,
        "guard page below the stack"
    );
    assert_eq!(
        img.exc_stack.start,
        img.stack.end + PAGE_SIZE,
        "guard below the exception stack"
    );
    assert_eq!(img.stack.end - img.stack.start, 0x1_0000);
    let mut t = Box::new(Tables::new());
    let regions = mmu::regions(board, &img);
    for r in &regions {
        t.map(r).unwrap();
    }
    assert_eq!(t.lookup(img.stack_guard().start), None);
    assert_eq!(t.lookup(img.stack.start - 1), None);
    assert_eq!(t.lookup(img.exc_stack.start - 1), None);
    for ph in elf.program_headers.iter().filter(|p| p.p_type == PT_LOAD) {
        let want = if ph.p_flags & PF_X != 0 {
            Attr::Code
        } else if ph.p_flags & PF_W != 0 {
            Attr::Data
        } else {
            Attr::ReadOnly
        };
        let r = regions
            .iter()
            .find(|r| r.range().contains(&ph.p_vaddr))
            .unwrap_or_else(|| panic!("segment at {:#x} not mapped", ph.p_vaddr));
        assert_eq!(r.attr, want, "{}: segment at {:#x}", board.name, ph.p_vaddr);
        assert!(
            ph.p_vaddr + ph.p_filesz <= r.base + r.size,
            "loaded bytes in one region"
        );
    }
    assert!(
        img.text.contains(&sym("__vectors")),
        "the vectors are executable"
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
