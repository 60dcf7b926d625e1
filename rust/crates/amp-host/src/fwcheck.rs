//! Checks a firmware ELF before it is started, by the rules the kernel
//! driver applies (docs/kernel.md, "Firmware rules"; `rtd_amp_check_*` in
//! rtd_amp_rproc.c): every header, index and offset against the file size,
//! the loadable segments and every resource-table entry inside the reserved
//! memory of the remoteproc node in the device tree. A refusal names the
//! rule, the field, its value and the limit, as the driver's dmesg line
//! does for the same file.

use std::fmt;
use std::path::{Path, PathBuf};

use amp_ctrl_page::{
    CONTRACT_FLAGS_KNOWN, CONTRACT_LEN, CONTRACT_MAGIC_VALUE, CONTRACT_OFF_CTRL_VERSION,
    CONTRACT_OFF_FLAGS, CONTRACT_OFF_MAGIC, CONTRACT_OFF_VERSION, CONTRACT_VERSION, LAYOUT_VERSION,
    RSC_CONTRACT_TYPE,
};
use amp_proto::rsc::{
    FW_RSC_ADDR_ANY, MAX_ENTRIES, MAX_VRINGS, RSC_CARVEOUT, RSC_DEVMEM, RSC_TRACE, RSC_VDEV,
};
use amp_proto::virtio::VIRTIO_ID_RPMSG;
use goblin::elf::header::{
    EI_CLASS, EI_DATA, ELFCLASS64, ELFDATA2LSB, ELFMAG, EM_AARCH64, SELFMAG,
};
use goblin::elf::program_header::PT_LOAD;
use serde::Serialize;

use crate::{fwsig, Sys};

/// The compatible of our remoteproc node.
pub const RPROC_COMPATIBLE: &str = "realtek,rtd1619b-amp-rproc";

/// Why a firmware was rejected.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// File.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The firmware breaks one of the rules of docs/kernel.md ("Firmware
    /// rules"): the rule id is the one the kernel driver names in its
    /// `refused [rule]` dmesg line for the same file.
    #[error("refused [{rule}]: {detail}")]
    Refused {
        /// Rule id (`elf-shstrndx`, `vring-num`...).
        rule: &'static str,
        /// The field, its value and the limit.
        detail: String,
    },
    /// A firmware name the kernel refuses to load.
    #[error("firmware name {name:?}: {why}")]
    FirmwareName {
        /// The name.
        name: String,
        /// Why the kernel refuses it.
        why: &'static str,
    },
    /// No file of that name in any directory the kernel searches.
    #[error("firmware {name:?} is in none of {}", tried.join(", "))]
    FirmwareNotFound {
        /// The name.
        name: String,
        /// The paths tried, in the kernel's order.
        tried: Vec<String>,
    },
    /// The device tree is unreadable.
    #[error("device tree: {0}")]
    Dtb(String),
    /// The firmware's signature is refused (or the trusted certificates
    /// are unusable).
    #[error("signature {}: {error}", path.display())]
    Signature {
        /// The signature file.
        path: PathBuf,
        /// Why (in the message, not repeated as a source).
        error: fwsig::SigError,
    },
    /// No remoteproc node.
    #[error(
        "the device tree has no node compatible with {RPROC_COMPATIBLE}: is the overlay applied?"
    )]
    NoRprocNode,
}

impl CheckError {
    /// The rule a refused firmware breaks, if that is the error: an ELF
    /// rule, or the `sig-...` rule of a refused signature.
    pub fn rule(&self) -> Option<&'static str> {
        match self {
            CheckError::Refused { rule, .. } => Some(rule),
            CheckError::Signature { error, .. } => error.reason().map(fwsig::Reason::rule),
            _ => None,
        }
    }

    /// The kernel's reason, if this is a refused signature.
    pub fn sig_reason(&self) -> Option<fwsig::Reason> {
        match self {
            CheckError::Signature { error, .. } => error.reason(),
            _ => None,
        }
    }
}

/// A reserved-memory region of the remoteproc node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Region {
    /// Node name (`firmware`, `vdev0vring0`...).
    pub name: String,
    /// Base address.
    pub base: u64,
    /// Size.
    pub size: u64,
}

/// A loadable segment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Segment {
    /// Physical (= device) address.
    pub paddr: u64,
    /// Bytes in memory.
    pub memsz: u64,
    /// Bytes in the file.
    pub filesz: u64,
    /// Region holding it.
    pub region: String,
}

/// What a successful check found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Entry point.
    pub entry: u64,
    /// Loadable segments.
    pub segments: Vec<Segment>,
    /// Resource table entries, described.
    pub resources: Vec<String>,
    /// Reserved memory of the remoteproc node.
    pub regions: Vec<Region>,
    /// Unknown (vendor) resource types: reported, not fatal.
    pub warnings: Vec<String>,
    /// The signature, when checked ([`check_files`]).
    pub signature: Option<fwsig::SigStatus>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "entry {:#x}", self.entry)?;
        for s in &self.segments {
            writeln!(
                f,
                "segment {:#x}..{:#x} ({} bytes from file) in {}",
                s.paddr,
                s.paddr + s.memsz,
                s.filesz,
                s.region
            )?;
        }
        for r in &self.resources {
            writeln!(f, "resource {r}")?;
        }
        for w in &self.warnings {
            writeln!(f, "warning: {w}")?;
        }
        if let Some(s) = &self.signature {
            writeln!(f, "{s}")?;
        }
        Ok(())
    }
}

fn list(regions: &[Region]) -> String {
    regions
        .iter()
        .map(|r| format!("{} {:#x}..{:#x}", r.name, r.base, r.base + r.size))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Reserved memory of the remoteproc node of a flattened device tree.
pub fn regions_from_dtb(dtb: &[u8]) -> Result<Vec<Region>, CheckError> {
    let fdt = fdt::Fdt::new(dtb).map_err(|e| CheckError::Dtb(format!("{e:?}")))?;
    let node = fdt
        .find_compatible(&[RPROC_COMPATIBLE])
        .ok_or(CheckError::NoRprocNode)?;
    let prop = node
        .property("memory-region")
        .ok_or_else(|| CheckError::Dtb(format!("{} has no memory-region", node.name)))?;
    let mut out = vec![];
    for ph in prop.value.chunks_exact(4) {
        let ph = u32::from_be_bytes(ph.try_into().expect("4 bytes"));
        let r = fdt.find_phandle(ph).ok_or_else(|| {
            CheckError::Dtb(format!("memory-region phandle {ph:#x} points nowhere"))
        })?;
        let name = r.name.split('@').next().unwrap_or(r.name).to_string();
        for reg in r.reg().into_iter().flatten() {
            out.push(Region {
                name: name.clone(),
                base: reg.starting_address as u64,
                size: reg.size.unwrap_or(0) as u64,
            });
        }
    }
    Ok(out)
}

// The rules below are those of the kernel driver's firmware validation
// (rtd_amp_rproc.c, rtd_amp_check_*), in the same order, so that a file
// breaking several rules is refused for the same one on both sides. Each
// function names the generic kernel code whose trust it replaces.

/// Most program headers accepted (bounds the overlap check), as the driver.
pub const PHNUM_MAX: u16 = 32;
/// Largest virtio split ring.
pub const VRING_NUM_MAX: u32 = 32768;
const EHDR: usize = 64;
const PHDR: u64 = 56;
const SHDR: u64 = 64;
const PAGE: u64 = 4096;

fn refuse(rule: &'static str, detail: String) -> CheckError {
    CheckError::Refused { rule, detail }
}

/// Whether `[off, off + len)` lies inside `[0, size)`, without wrapping.
fn inside(off: u64, len: u64, size: u64) -> bool {
    off <= size && len <= size - off
}

fn le(b: &[u8], off: u64, n: usize) -> u64 {
    let off = off as usize;
    b[off..off + n]
        .iter()
        .rev()
        .fold(0, |v, &x| (v << 8) | u64::from(x))
}

struct Ehdr {
    entry: u64,
    phoff: u64,
    shoff: u64,
    phnum: u16,
    shnum: u16,
    shstrndx: u16,
}

#[derive(Clone, Copy)]
struct Phdr {
    p_type: u32,
    offset: u64,
    paddr: u64,
    filesz: u64,
    memsz: u64,
}

#[derive(Clone, Copy)]
struct Shdr {
    name: u32,
    addr: u64,
    offset: u64,
    size: u64,
}

fn phdr(b: &[u8], eh: &Ehdr, i: u16) -> Phdr {
    let o = eh.phoff + u64::from(i) * PHDR;
    Phdr {
        p_type: le(b, o, 4) as u32,
        offset: le(b, o + 8, 8),
        paddr: le(b, o + 0x18, 8),
        filesz: le(b, o + 0x20, 8),
        memsz: le(b, o + 0x28, 8),
    }
}

fn shdr(b: &[u8], eh: &Ehdr, i: u16) -> Shdr {
    let o = eh.shoff + u64::from(i) * SHDR;
    Shdr {
        name: le(b, o, 4) as u32,
        addr: le(b, o + 0x10, 8),
        offset: le(b, o + 0x18, 8),
        size: le(b, o + 0x20, 8),
    }
}

/// The ELF header and where its tables are. Mirrors (and goes beyond)
/// `rproc_elf_sanity_check()` (remoteproc_elf_loader.c, 6.1 and 6.12).
fn check_ehdr(b: &[u8]) -> Result<Ehdr, CheckError> {
    let size = b.len() as u64;
    if b.len() < EHDR {
        return Err(refuse(
            "elf-size",
            format!("file size {} < ELF64 header size {EHDR}", b.len()),
        ));
    }
    if &b[..SELFMAG] != ELFMAG {
        return Err(refuse(
            "elf-magic",
            format!("e_ident starts {:02x?}, not 7f 45 4c 46", &b[..SELFMAG]),
        ));
    }
    if b[EI_CLASS] != ELFCLASS64 {
        return Err(refuse(
            "elf-class",
            format!("EI_CLASS {} != {ELFCLASS64} (ELFCLASS64)", b[EI_CLASS]),
        ));
    }
    if b[EI_DATA] != ELFDATA2LSB {
        return Err(refuse(
            "elf-data",
            format!("EI_DATA {} != {ELFDATA2LSB} (ELFDATA2LSB)", b[EI_DATA]),
        ));
    }
    let machine = le(b, 0x12, 2) as u16;
    if machine != EM_AARCH64 {
        return Err(refuse(
            "elf-machine",
            format!(
                "e_machine {machine} ({}) != {EM_AARCH64} (EM_AARCH64)",
                goblin::elf::header::machine_to_str(machine)
            ),
        ));
    }
    let eh = Ehdr {
        entry: le(b, 0x18, 8),
        phoff: le(b, 0x20, 8),
        shoff: le(b, 0x28, 8),
        phnum: le(b, 0x38, 2) as u16,
        shnum: le(b, 0x3C, 2) as u16,
        shstrndx: le(b, 0x3E, 2) as u16,
    };
    let (phentsize, shentsize) = (le(b, 0x36, 2), le(b, 0x3A, 2));
    if phentsize != PHDR || eh.phnum == 0 || eh.phnum > PHNUM_MAX {
        return Err(refuse(
            "elf-phdrs",
            format!(
                "e_phentsize {phentsize} (must be {PHDR}), e_phnum {} (must be 1..{PHNUM_MAX})",
                eh.phnum
            ),
        ));
    }
    if !inside(eh.phoff, u64::from(eh.phnum) * PHDR, size) {
        return Err(refuse(
            "elf-phdrs",
            format!(
                "e_phoff {:#x} + {} program headers > file size {size:#x}",
                eh.phoff, eh.phnum
            ),
        ));
    }
    if shentsize != SHDR || eh.shnum == 0 {
        return Err(refuse(
            "elf-shdrs",
            format!(
                "e_shentsize {shentsize} (must be {SHDR}), e_shnum {} (must be > 0)",
                eh.shnum
            ),
        ));
    }
    if !inside(eh.shoff, u64::from(eh.shnum) * SHDR, size) {
        return Err(refuse(
            "elf-shdrs",
            format!(
                "e_shoff {:#x} + {} section headers > file size {size:#x}",
                eh.shoff, eh.shnum
            ),
        ));
    }
    // find_table() indexes the section headers with it unchecked.
    if eh.shstrndx >= eh.shnum {
        return Err(refuse(
            "elf-shstrndx",
            format!("e_shstrndx {} >= e_shnum {}", eh.shstrndx, eh.shnum),
        ));
    }
    Ok(eh)
}

/// Section names and the `.resource_table` section. Mirrors `find_table()`
/// (remoteproc_elf_loader.c), which trusts every offset it reads.
fn find_rsc(b: &[u8], eh: &Ehdr) -> Result<Shdr, CheckError> {
    let size = b.len() as u64;
    let strtab = shdr(b, eh, eh.shstrndx);
    if strtab.size == 0 || !inside(strtab.offset, strtab.size, size) {
        return Err(refuse(
            "elf-shstrtab",
            format!(
                "name table (section {}) sh_offset {:#x} + sh_size {:#x} is empty or > file size {size:#x}",
                eh.shstrndx, strtab.offset, strtab.size
            ),
        ));
    }
    let names = &b[strtab.offset as usize..(strtab.offset + strtab.size) as usize];
    if names[names.len() - 1] != 0 {
        return Err(refuse(
            "elf-shstrtab",
            format!(
                "name table (section {}) does not end with a NUL",
                eh.shstrndx
            ),
        ));
    }
    let mut found = None;
    for i in 0..eh.shnum {
        let sh = shdr(b, eh, i);
        if u64::from(sh.name) >= strtab.size {
            return Err(refuse(
                "elf-shname",
                format!(
                    "section {i}: sh_name {} >= name table size {}",
                    sh.name, strtab.size
                ),
            ));
        }
        let name = &names[sh.name as usize..];
        let name = &name[..name.iter().position(|&c| c == 0).unwrap_or(name.len())];
        if found.is_none() && name == b".resource_table" {
            found = Some(sh);
        }
    }
    let rsc = found.ok_or_else(|| {
        refuse(
            "rsc-missing",
            format!(
                "no .resource_table section among {} sections (not an rtd-amp firmware?)",
                eh.shnum
            ),
        )
    })?;
    if !inside(rsc.offset, rsc.size, size) {
        return Err(refuse(
            "rsc-section",
            format!(
                ".resource_table sh_offset {:#x} + sh_size {:#x} > file size {size:#x}",
                rsc.offset, rsc.size
            ),
        ));
    }
    Ok(rsc)
}

/// Loadable segments against the file. Mirrors `rproc_elf_load_segments()`
/// (remoteproc_elf_loader.c), whose `offset + filesz` can wrap.
fn check_segments(b: &[u8], eh: &Ehdr) -> Result<(), CheckError> {
    let size = b.len() as u64;
    let (mut loads, mut entry) = (0, false);
    for i in 0..eh.phnum {
        let ph = phdr(b, eh, i);
        if ph.p_type != PT_LOAD {
            continue;
        }
        if ph.filesz > ph.memsz {
            return Err(refuse(
                "seg-filesz",
                format!(
                    "segment {i}: p_filesz {:#x} > p_memsz {:#x}",
                    ph.filesz, ph.memsz
                ),
            ));
        }
        if !inside(ph.offset, ph.filesz, size) {
            return Err(refuse(
                "seg-file",
                format!(
                    "segment {i}: p_offset {:#x} + p_filesz {:#x} > file size {size:#x}",
                    ph.offset, ph.filesz
                ),
            ));
        }
        if ph.memsz > u64::MAX - ph.paddr {
            return Err(refuse(
                "seg-addr",
                format!(
                    "segment {i}: p_paddr {:#x} + p_memsz {:#x} wraps",
                    ph.paddr, ph.memsz
                ),
            ));
        }
        if ph.memsz == 0 {
            continue;
        }
        loads += 1;
        if eh.entry >= ph.paddr && eh.entry - ph.paddr < ph.memsz {
            entry = true;
        }
        for j in 0..i {
            let o = phdr(b, eh, j);
            if o.p_type == PT_LOAD
                && o.memsz != 0
                && ph.paddr < o.paddr + o.memsz
                && o.paddr < ph.paddr + ph.memsz
            {
                return Err(refuse(
                    "seg-overlap",
                    format!(
                        "segment {i} ({:#x}..{:#x}) overlaps segment {j} ({:#x}..{:#x})",
                        ph.paddr,
                        ph.paddr + ph.memsz,
                        o.paddr,
                        o.paddr + o.memsz
                    ),
                ));
            }
        }
    }
    if loads == 0 {
        return Err(refuse(
            "seg-none",
            format!(
                "no PT_LOAD segment with p_memsz > 0 among {} program headers",
                eh.phnum
            ),
        ));
    }
    if !entry {
        return Err(refuse(
            "elf-entry",
            format!("e_entry {:#x} is in no loaded segment", eh.entry),
        ));
    }
    Ok(())
}

/// Whether the driver registers `r` as a carveout: every DT region but
/// `ctrl` (the control page) and `bulk` (the bulk channel's rings, user
/// space's: no firmware segment, table, trace or vring may lie there).
fn carveout(r: &Region) -> bool {
    r.name != "ctrl" && r.name != "bulk"
}

/// The carveouts the driver registers ([`carveout`]). Only
/// `vdev0buffer` is not mapped by Linux (a DMA pool for the virtio device).
fn region(regions: &[Region], da: u64, len: u64, mapped: bool) -> Option<&Region> {
    regions.iter().find(|r| {
        carveout(r)
            && !(mapped && r.name == "vdev0buffer")
            && da >= r.base
            && inside(da - r.base, len, r.size)
    })
}

fn region_named<'a>(regions: &'a [Region], name: &str) -> Option<&'a Region> {
    regions.iter().find(|r| carveout(r) && r.name == name)
}

/// Every loaded byte and the loaded table in a DT region. Mirrors
/// `rproc_da_to_va()` (remoteproc_core.c), whose `int` offset and
/// `offset + len` let a wrapping range through.
fn check_placement(
    b: &[u8],
    eh: &Ehdr,
    rsc: &Shdr,
    regions: &[Region],
) -> Result<Vec<Segment>, CheckError> {
    let mut segments = vec![];
    for i in 0..eh.phnum {
        let ph = phdr(b, eh, i);
        if ph.p_type != PT_LOAD {
            continue;
        }
        let r = region(regions, ph.paddr, ph.memsz, true).ok_or_else(|| {
            refuse(
                "seg-addr",
                format!(
                    "segment {i}: p_paddr {:#x} + p_memsz {:#x} is in no loadable memory-region of the DT ({})",
                    ph.paddr,
                    ph.memsz,
                    list(regions)
                ),
            )
        })?;
        if ph.memsz > 0 {
            segments.push(Segment {
                paddr: ph.paddr,
                memsz: ph.memsz,
                filesz: ph.filesz,
                region: r.name.clone(),
            });
        }
    }
    if region(regions, rsc.addr, rsc.size, true).is_none() {
        return Err(refuse(
            "rsc-addr",
            format!(
                ".resource_table sh_addr {:#x} + sh_size {:#x} is in no loadable memory-region of the DT",
                rsc.addr, rsc.size
            ),
        ));
    }
    // The table in use is copied to sh_addr before the start: that must be
    // where a segment loads the file's table (rproc_start()).
    let loads_table = (0..eh.phnum).map(|i| phdr(b, eh, i)).find(|ph| {
        ph.p_type == PT_LOAD
            && rsc.offset >= ph.offset
            && inside(rsc.offset - ph.offset, rsc.size, ph.filesz)
    });
    if loads_table.is_none_or(|ph| rsc.addr != ph.paddr.wrapping_add(rsc.offset - ph.offset)) {
        return Err(refuse(
            "rsc-addr",
            format!(
                ".resource_table sh_addr {:#x} is not where a segment loads its sh_offset {:#x}",
                rsc.addr, rsc.offset
            ),
        ));
    }
    Ok(segments)
}

const RSC_HDR: u64 = 4;
const CARVEOUT_LEN: u64 = 52;
const TRACE_LEN: u64 = 44;
const VDEV_LEN: u64 = 24;
const VRING_LEN: u64 = 20;

/// Bytes of the entry at `off` (type word included); 0 for refused types.
fn rsc_len(t: &[u8], off: u64) -> u64 {
    match le(t, off, 4) as u32 {
        RSC_CARVEOUT => RSC_HDR + CARVEOUT_LEN,
        RSC_TRACE => RSC_HDR + TRACE_LEN,
        RSC_CONTRACT_TYPE => RSC_HDR + CONTRACT_LEN as u64,
        RSC_VDEV => {
            let v = off + RSC_HDR;
            RSC_HDR + VDEV_LEN + u64::from(t[(v + 21) as usize]) * VRING_LEN + le(t, v + 16, 4)
        }
        _ => 0,
    }
}

/// Size of a split vring as the kernel's `vring_size()`, page aligned.
fn vring_bytes(num: u32, align: u32) -> u64 {
    let (num, align) = (u64::from(num), u64::from(align));
    let avail_end = 16 * num + 2 * (3 + num);
    let used = avail_end.div_ceil(align) * align;
    (used + 2 * 3 + 8 * num).div_ceil(PAGE) * PAGE
}

fn name32(t: &[u8], off: u64) -> Option<&str> {
    let raw = &t[off as usize..off as usize + 32];
    let end = raw.iter().position(|&c| c == 0)?;
    std::str::from_utf8(&raw[..end]).ok().or(Some("?"))
}

/// Mirrors `rproc_handle_carveout()` and `rproc_check_carveout_da()`
/// (remoteproc_core.c): a named DT region only, nothing allocated from
/// Linux's memory (the generic code also uses the name as a format string).
fn check_carveout(t: &[u8], off: u64, i: usize, regions: &[Region]) -> Result<String, CheckError> {
    let c = off + RSC_HDR;
    let (da, len, reserved) = (le(t, c, 4), le(t, c + 8, 4), le(t, c + 16, 4));
    if reserved != 0 {
        return Err(refuse(
            "carveout-reserved",
            format!("entry {i}: reserved {reserved:#x} != 0"),
        ));
    }
    let name = name32(t, c + 20).ok_or_else(|| {
        refuse(
            "carveout-name",
            format!("entry {i}: name is not NUL-terminated within 32 bytes"),
        )
    })?;
    let mem = region_named(regions, name).ok_or_else(|| {
        refuse(
            "carveout-name",
            format!(
                "entry {i}: carveout \"{name}\" is no memory-region of the DT (no carveout from Linux's memory)"
            ),
        )
    })?;
    if len == 0
        || len > mem.size
        || (da != u64::from(FW_RSC_ADDR_ANY)
            && (da < mem.base || !inside(da - mem.base, len, mem.size)))
    {
        return Err(refuse(
            "carveout-addr",
            format!(
                "entry {i}: carveout {name} da {da:#x} + len {len:#x} is empty or outside its region {:#x} + {:#x}",
                mem.base, mem.size
            ),
        ));
    }
    Ok(format!("carveout {name} da {da:#x} len {len:#x}"))
}

/// Mirrors `rproc_handle_trace()` (remoteproc_core.c), which takes any
/// address.
fn check_trace(t: &[u8], off: u64, i: usize, regions: &[Region]) -> Result<String, CheckError> {
    let c = off + RSC_HDR;
    let (da, len, reserved) = (le(t, c, 4), le(t, c + 4, 4), le(t, c + 8, 4));
    if reserved != 0 {
        return Err(refuse(
            "trace-reserved",
            format!("entry {i}: reserved {reserved:#x} != 0"),
        ));
    }
    if len == 0 || region(regions, da, len, false).is_none() {
        return Err(refuse(
            "trace-addr",
            format!(
                "entry {i}: trace da {da:#x} + len {len:#x} is empty or in no memory-region of the DT"
            ),
        ));
    }
    Ok(format!("trace da {da:#x} len {len:#x}"))
}

/// The stop/crash contract (docs/kernel.md, "The stop/crash contract"), as
/// the driver's `rtd_amp_check_contract()`: one entry, this magic, contract
/// version, control-page version and no unknown flag.
fn check_contract(t: &[u8], off: u64, i: usize, seen: bool) -> Result<String, CheckError> {
    let b = off + RSC_HDR;
    let word = |at: usize| le(t, b + at as u64, 4) as u32;
    let (magic, version) = (word(CONTRACT_OFF_MAGIC), word(CONTRACT_OFF_VERSION));
    let (layout, flags) = (word(CONTRACT_OFF_CTRL_VERSION), word(CONTRACT_OFF_FLAGS));
    let detail = if seen {
        format!("entry {i}: a second contract entry")
    } else if magic != CONTRACT_MAGIC_VALUE {
        format!(
            "entry {i}: magic {magic:#x} != {CONTRACT_MAGIC_VALUE:#x} (vendor type {RSC_CONTRACT_TYPE} is another vendor's entry)"
        )
    } else if version != CONTRACT_VERSION {
        format!("entry {i}: contract version {version}, this driver speaks {CONTRACT_VERSION}")
    } else if layout != LAYOUT_VERSION {
        format!("entry {i}: control page version {layout}, this driver speaks {LAYOUT_VERSION}")
    } else if flags & !CONTRACT_FLAGS_KNOWN != 0 {
        format!(
            "entry {i}: flags {flags:#x} has unknown bits {:#x}",
            flags & !CONTRACT_FLAGS_KNOWN
        )
    } else {
        return Ok(format!("stop/crash contract v{version} flags {flags:#x}"));
    };
    Err(refuse("rsc-contract", detail))
}

/// Mirrors `rproc_handle_vdev()`, `rproc_parse_vring()` and
/// `rproc_alloc_vring()` (remoteproc_core.c; in 6.12 the vring parse runs in
/// `rproc_virtio_probe()`, remoteproc_virtio.c): vdev N needs the DT regions
/// vdevNbuffer and vdevNvringK, or its memory comes from Linux.
fn check_vdev(
    t: &[u8],
    off: u64,
    i: usize,
    index: usize,
    regions: &[Region],
) -> Result<String, CheckError> {
    let v = off + RSC_HDR;
    let (r0, r1) = (t[(v + 22) as usize], t[(v + 23) as usize]);
    if r0 != 0 || r1 != 0 {
        return Err(refuse(
            "vdev-reserved",
            format!("entry {i}: reserved {r0:#x} {r1:#x} != 0"),
        ));
    }
    let buffer = format!("vdev{index}buffer");
    if region_named(regions, &buffer).is_none() {
        return Err(refuse(
            "vdev-regions",
            format!("entry {i}: vdev {index} has no memory-region {buffer} in the DT"),
        ));
    }
    let nvrings = t[(v + 21) as usize];
    for k in 0..u64::from(nvrings) {
        let r = v + VDEV_LEN + k * VRING_LEN;
        let (da, align, num) = (le(t, r, 4), le(t, r + 4, 4) as u32, le(t, r + 8, 4) as u32);
        if !num.is_power_of_two() || num > VRING_NUM_MAX {
            return Err(refuse(
                "vring-num",
                format!(
                    "entry {i}: vring {k} num {num} is not a power of two in 1..{VRING_NUM_MAX}"
                ),
            ));
        }
        if !align.is_power_of_two() {
            return Err(refuse(
                "vring-align",
                format!("entry {i}: vring {k} align {align} is not a power of two"),
            ));
        }
        let name = format!("vdev{index}vring{k}");
        let mem = region_named(regions, &name).ok_or_else(|| {
            refuse(
                "vdev-regions",
                format!("entry {i}: vdev {index} has no memory-region {name} in the DT"),
            )
        })?;
        let size = vring_bytes(num, align);
        if size > mem.size
            || (da != u64::from(FW_RSC_ADDR_ANY)
                && (da < mem.base || !inside(da - mem.base, size, mem.size)))
        {
            return Err(refuse(
                "vring-addr",
                format!(
                    "entry {i}: vring {k} da {da:#x} + {size} bytes does not fit region {name} {:#x} + {:#x}",
                    mem.base, mem.size
                ),
            ));
        }
    }
    Ok(format!(
        "vdev id {} features {:#x} with {nvrings} vrings",
        le(t, v, 4),
        le(t, v + 8, 4)
    ))
}

/// The table and every entry. Mirrors `find_table()` (header, version,
/// reserved, offsets array) and `rproc_handle_resources()` /
/// `rsc_table_for_each_entry()` (remoteproc_core.c; 6.1 before 6.1.192 and
/// 6.12 read `offset[i]` as an `int`), then each handler.
fn check_rsc(t: &[u8], regions: &[Region]) -> Result<Vec<String>, CheckError> {
    let size = t.len() as u64;
    if t.len() < 16 {
        return Err(refuse(
            "rsc-header",
            format!("table size {size} < header size 16"),
        ));
    }
    let ver = le(t, 0, 4);
    if ver != 1 {
        return Err(refuse("rsc-version", format!("ver {ver} != 1")));
    }
    let (r0, r1) = (le(t, 8, 4), le(t, 12, 4));
    if r0 != 0 || r1 != 0 {
        return Err(refuse(
            "rsc-reserved",
            format!("reserved {r0:#x} {r1:#x} != 0"),
        ));
    }
    let num = le(t, 4, 4);
    let hend = 16 + 4 * num.min(MAX_ENTRIES as u64 + 1);
    if num > MAX_ENTRIES as u64 || hend > size {
        return Err(refuse(
            "rsc-num",
            format!(
                "num {num}: more than {MAX_ENTRIES} entries or offsets past the table size {size}"
            ),
        ));
    }
    let mut out = vec![];
    let (mut vdevs, mut contracts) = (0, 0);
    for i in 0..num as usize {
        let off = le(t, 16 + 4 * i as u64, 4);
        if off % 4 != 0 || off < hend || !inside(off, RSC_HDR, size) {
            return Err(refuse(
                "rsc-offset",
                format!(
                    "entry {i}: offset {off:#x} unaligned or outside {hend:#x}..{:#x}",
                    size - RSC_HDR
                ),
            ));
        }
        let kind = le(t, off, 4) as u32;
        if ![RSC_CARVEOUT, RSC_TRACE, RSC_VDEV, RSC_CONTRACT_TYPE].contains(&kind) {
            return Err(refuse(
                "rsc-type",
                format!(
                    "entry {i}: type {kind} is not carveout (0), trace (2), vdev (3) or the rtd-amp contract ({RSC_CONTRACT_TYPE}){}",
                    if kind == RSC_DEVMEM {
                        ": devmem needs an IOMMU"
                    } else {
                        ""
                    }
                ),
            ));
        }
        if kind == RSC_VDEV && !inside(off, RSC_HDR + VDEV_LEN, size) {
            return Err(refuse(
                "rsc-truncated",
                format!(
                    "entry {i}: vdev at {off:#x} needs {} bytes, {} remain",
                    RSC_HDR + VDEV_LEN,
                    size - off
                ),
            ));
        }
        // virtio_rpmsg_bus asks for two rings whatever the entry says; with
        // fewer, 6.12 oopses building one from a ring never set up.
        // (The vdev's fixed part is inside the table: checked just above.)
        let vrings = match kind {
            RSC_VDEV => usize::from(t[(off + RSC_HDR + 21) as usize]),
            _ => 0,
        };
        if kind == RSC_VDEV
            && (vrings > MAX_VRINGS
                || (le(t, off + RSC_HDR, 4) as u32 == VIRTIO_ID_RPMSG && vrings != 2))
        {
            return Err(refuse(
                "vdev-vrings",
                format!(
                    "entry {i}: num_of_vrings {vrings} (at most 2; an RPMsg vdev has exactly 2, rx and tx)"
                ),
            ));
        }
        let len = rsc_len(t, off);
        if !inside(off, len, size) {
            return Err(refuse(
                "rsc-truncated",
                format!(
                    "entry {i}: type {kind} at {off:#x} needs {len} bytes, {} remain",
                    size - off
                ),
            ));
        }
        let what = match kind {
            RSC_CARVEOUT => check_carveout(t, off, i, regions)?,
            RSC_TRACE => check_trace(t, off, i, regions)?,
            RSC_CONTRACT_TYPE => {
                contracts += 1;
                check_contract(t, off, i, contracts > 1)?
            }
            _ => {
                vdevs += 1;
                check_vdev(t, off, i, vdevs - 1, regions)?
            }
        };
        let end = off + len;
        for j in 0..i {
            let o = le(t, 16 + 4 * j as u64, 4);
            let olen = rsc_len(t, o);
            if off < o + olen && o < end {
                return Err(refuse(
                    "rsc-overlap",
                    format!(
                        "entry {i} ({off:#x}..{end:#x}) overlaps entry {j} ({o:#x}..{:#x})",
                        o + olen
                    ),
                ));
            }
            if kind == RSC_CARVEOUT
                && le(t, o, 4) as u32 == RSC_CARVEOUT
                && name32(t, off + RSC_HDR + 20) == name32(t, o + RSC_HDR + 20)
            {
                return Err(refuse(
                    "carveout-dup",
                    format!(
                        "entries {j} and {i} both claim carveout {}",
                        name32(t, off + RSC_HDR + 20).unwrap_or("?")
                    ),
                ));
            }
        }
        out.push(format!("@{off:#x}: {what}"));
    }
    if contracts == 0 {
        return Err(refuse(
            "rsc-contract",
            format!(
                "no stop/crash contract entry (type {RSC_CONTRACT_TYPE}): not an rtd-amp firmware, nothing says it would ever power its core off"
            ),
        ));
    }
    Ok(out)
}

/// Checks an ELF image against the reserved-memory regions of the
/// remoteproc node: the rules of docs/kernel.md ("Firmware rules"), the
/// same the kernel driver applies before it lets the generic remoteproc
/// code read the file. A refusal names the rule as the driver does.
pub fn check(elf_bytes: &[u8], regions: &[Region]) -> Result<Report, CheckError> {
    let eh = check_ehdr(elf_bytes)?;
    let rsc = find_rsc(elf_bytes, &eh)?;
    check_segments(elf_bytes, &eh)?;
    let segments = check_placement(elf_bytes, &eh, &rsc, regions)?;
    let table = &elf_bytes[rsc.offset as usize..(rsc.offset + rsc.size) as usize];
    let resources = check_rsc(table, regions)?;
    Ok(Report {
        entry: eh.entry,
        segments,
        resources,
        regions: regions.to_vec(),
        warnings: vec![],
        signature: None,
    })
}

/// The directories the kernel's firmware loader searches, in its order
/// (`fw_path[]` and `fw_get_filesystem_firmware()` in
/// drivers/base/firmware_loader/main.c, 6.1 and 6.12): the
/// `firmware_class.path` parameter if set (up to its first newline),
/// `updates/<release>`, `updates`, `<release>`, then the firmware
/// directory itself (`/lib/firmware`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FirmwareSearch {
    /// In search order.
    pub dirs: Vec<PathBuf>,
}

impl FirmwareSearch {
    /// The kernel's list for `release`, with `base` for `/lib/firmware`
    /// and `custom` the value of `firmware_class.path`.
    pub fn kernel(base: &Path, custom: Option<&str>, release: &str) -> Self {
        let mut dirs = vec![];
        if let Some(c) = custom.map(|c| c.split('\n').next().unwrap_or("")) {
            if !c.is_empty() {
                dirs.push(PathBuf::from(c));
            }
        }
        let base = base.display().to_string();
        for d in [
            format!("{base}/updates/{release}"),
            format!("{base}/updates"),
            format!("{base}/{release}"),
            base.clone(),
        ] {
            dirs.push(PathBuf::from(d));
        }
        FirmwareSearch { dirs }
    }

    /// The running kernel's list: its release (`/proc/sys/kernel/osrelease`)
    /// and `firmware_class.path` (`/sys/module/firmware_class/parameters/path`).
    pub fn system(sys: &Sys, base: &Path) -> Self {
        let custom =
            std::fs::read_to_string(sys.sysfs.join("module/firmware_class/parameters/path"))
                .unwrap_or_default();
        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
        let release = release.trim_end();
        FirmwareSearch::kernel(base, Some(&custom), release)
    }
}

/// The file the kernel loads for a firmware name written to the
/// remoteproc `firmware` attribute: the name up to its first newline (as
/// `firmware_store()` takes it), refused when empty or with a `..`
/// component (`name_contains_dotdot()`), then `DIR/NAME` for the first
/// directory of `search` that has it. An absolute name stays below the
/// directory, as the kernel joins the strings (`/x` gives `DIR//x`).
pub fn resolve_firmware(name: &str, search: &FirmwareSearch) -> Result<PathBuf, CheckError> {
    let name = name.split('\n').next().unwrap_or("");
    let refuse = |why| CheckError::FirmwareName {
        name: name.to_string(),
        why,
    };
    if name.is_empty() {
        return Err(refuse("empty"));
    }
    if name == ".." || name.starts_with("../") || name.contains("/../") || name.ends_with("/..") {
        return Err(refuse("has a '..' component, which the kernel refuses"));
    }
    let mut tried = vec![];
    for dir in &search.dirs {
        let path = PathBuf::from(format!("{}/{name}", dir.display()));
        if std::fs::File::open(&path).is_ok_and(|f| f.metadata().is_ok_and(|m| m.is_file())) {
            return Ok(path);
        }
        tried.push(path.display().to_string());
    }
    Err(CheckError::FirmwareNotFound {
        name: name.to_string(),
        tried,
    })
}

/// How [`check_files`] checks the firmware's signature
/// ([`crate::fwsig`]).
#[derive(Clone, Debug, Default)]
pub struct SigConfig {
    /// Trusted certificate files (DER or PEM).
    pub certs: Vec<PathBuf>,
    /// Refuse unsigned firmware when the kernel driver cannot say (not
    /// loaded): the configuration's fallback. The driver's `sig_enforce`
    /// parameter and the device tree decide when they can.
    pub require: bool,
    /// The signature file; default `<elf>.p7s`.
    pub sig: Option<PathBuf>,
}

/// Checks a firmware file against a `.dtb`, or the running system's DT,
/// and its signature first, as the kernel driver does: a present
/// `<elf>.p7s` must verify against `sig.certs`, an absent one is refused
/// when the driver (or the DT, or the configuration) enforces signatures.
pub fn check_files(
    elf: &Path,
    dtb: Option<&Path>,
    sys: &Sys,
    sig: &SigConfig,
) -> Result<Report, CheckError> {
    let read = |p: &Path| {
        std::fs::read(p).map_err(|source| CheckError::Read {
            path: p.to_path_buf(),
            source,
        })
    };
    let elf_bytes = read(elf)?;
    let dtb_path = dtb.map(Path::to_path_buf).unwrap_or_else(|| sys.fdt());
    let dtb_bytes = read(&dtb_path)?;
    let sig_path = sig.sig.clone().unwrap_or_else(|| fwsig::sig_path(elf));
    let enforcement = fwsig::enforcement(sys, Some(&dtb_bytes), sig.require);
    let signature = fwsig::TrustStore::load(&sig.certs)
        .and_then(|trust| fwsig::check_signature(&elf_bytes, &sig_path, &trust, &enforcement))
        .map_err(|error| CheckError::Signature {
            path: sig_path.clone(),
            error,
        })?;
    let regions = regions_from_dtb(&dtb_bytes)?;
    let mut report = check(&elf_bytes, &regions)?;
    report.signature = Some(signature);
    Ok(report)
}
