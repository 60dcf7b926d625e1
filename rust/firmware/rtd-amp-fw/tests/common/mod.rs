//! The built firmware ELFs (scripts/build-firmware), for the tests that
//! check them or take their layout from them.
#![allow(dead_code)]

use std::path::PathBuf;

use goblin::elf::Elf;
use rtd_amp_rt::board::Board;
use rtd_amp_rt::mmu::Image;

/// Where scripts/build-firmware puts a board's ELF.
pub fn elf_path(board: &Board) -> PathBuf {
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

/// The value of a symbol of the ELF.
pub fn sym(elf: &Elf<'_>, board: &Board, name: &str) -> u64 {
    elf.syms
        .iter()
        .find(|s| elf.strtab.get_at(s.st_name) == Some(name))
        .map(|s| s.st_value)
        .unwrap_or_else(|| panic!("{}: no symbol {name}", board.name))
}

/// The image's parts as the runtime maps them (`rtd_amp_rt::arch::image`
/// reads the same linker symbols on the target).
pub fn image(board: &Board) -> Image {
    let bytes = std::fs::read(elf_path(board)).unwrap();
    let elf = Elf::parse(&bytes).unwrap();
    let r = |a: &str, b: &str| sym(&elf, board, a)..sym(&elf, board, b);
    Image {
        text: r("__text_start", "__text_end"),
        rodata: r("__rodata_start", "__rodata_end"),
        data: r("__data_start", "__data_end"),
        stack: r("__stack_bottom", "__stack_top"),
        exc_stack: r("__exc_stack_bottom", "__exc_stack_top"),
    }
}
