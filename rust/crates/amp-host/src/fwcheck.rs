//! Checks a firmware ELF before it is started: an AArch64 ELF64 whose
//! loadable segments, fixed carveouts and vrings all lie inside the
//! reserved memory of the remoteproc node in the device tree, without
//! overlaps, and whose `.resource_table` passes the protocol core's
//! validator. Errors name the addresses.

use std::fmt;
use std::path::{Path, PathBuf};

use amp_proto::rsc::{self, Entry, FW_RSC_ADDR_ANY};
use amp_proto::vring::VringLayout;
use goblin::elf::{header::EM_AARCH64, program_header::PT_LOAD, Elf};
use serde::Serialize;

use crate::Sys;

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
    /// Not an ELF goblin can parse.
    #[error("not a valid ELF file: {0}")]
    Elf(String),
    /// Wrong class, endianness or machine.
    #[error("wrong kind of ELF: {0} (expected ELF64 little-endian AArch64)")]
    Machine(String),
    /// No PT_LOAD segment.
    #[error("the ELF has no loadable segment")]
    NoLoad,
    /// Entry point outside every loaded segment.
    #[error("entry point {0:#x} is not inside a loaded segment")]
    Entry(u64),
    /// No `.resource_table` section.
    #[error("the ELF has no .resource_table section: Linux's remoteproc needs one (it declares the vdev, trace and carveouts)")]
    NoResourceTable,
    /// The table is malformed.
    #[error(".resource_table is invalid: {0}")]
    Table(rsc::RscError),
    /// The device tree is unreadable.
    #[error("device tree: {0}")]
    Dtb(String),
    /// No remoteproc node.
    #[error(
        "the device tree has no node compatible with {RPROC_COMPATIBLE}: is the overlay applied?"
    )]
    NoRprocNode,
    /// A segment outside reserved memory.
    #[error("segment {index} at {start:#x}..{end:#x} is outside the remote processor's reserved memory ({regions})")]
    SegmentOutside {
        /// Program header index.
        index: usize,
        /// Start (physical).
        start: u64,
        /// End.
        end: u64,
        /// The regions, listed.
        regions: String,
    },
    /// Two segments overlap.
    #[error("segments {a} and {b} overlap at {at:#x}")]
    Overlap {
        /// First.
        a: usize,
        /// Second.
        b: usize,
        /// Where.
        at: u64,
    },
    /// A fixed carveout, trace or vring outside reserved memory.
    #[error("{what} at {start:#x}..{end:#x} is outside the remote processor's reserved memory ({regions})")]
    ResourceOutside {
        /// Which resource.
        what: String,
        /// Start.
        start: u64,
        /// End.
        end: u64,
        /// The regions, listed.
        regions: String,
    },
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

fn find(regions: &[Region], start: u64, end: u64) -> Option<&Region> {
    regions
        .iter()
        .find(|r| start >= r.base && end <= r.base + r.size && start <= end)
}

/// Checks an ELF image against reserved-memory regions.
pub fn check(elf_bytes: &[u8], regions: &[Region]) -> Result<Report, CheckError> {
    let elf = Elf::parse(elf_bytes).map_err(|e| CheckError::Elf(e.to_string()))?;
    if !elf.is_64 || !elf.little_endian || elf.header.e_machine != EM_AARCH64 {
        return Err(CheckError::Machine(format!(
            "{}-bit {}, machine {}",
            if elf.is_64 { 64 } else { 32 },
            if elf.little_endian {
                "little-endian"
            } else {
                "big-endian"
            },
            goblin::elf::header::machine_to_str(elf.header.e_machine)
        )));
    }
    let loads: Vec<_> = elf
        .program_headers
        .iter()
        .enumerate()
        .filter(|(_, p)| p.p_type == PT_LOAD && p.p_memsz > 0)
        .collect();
    if loads.is_empty() {
        return Err(CheckError::NoLoad);
    }
    let mut segments = vec![];
    for (i, p) in &loads {
        let (start, end) = (p.p_paddr, p.p_paddr.saturating_add(p.p_memsz));
        let r = find(regions, start, end).ok_or_else(|| CheckError::SegmentOutside {
            index: *i,
            start,
            end,
            regions: list(regions),
        })?;
        segments.push(Segment {
            paddr: start,
            memsz: p.p_memsz,
            filesz: p.p_filesz,
            region: r.name.clone(),
        });
    }
    for (x, (i, a)) in loads.iter().enumerate() {
        for (j, b) in loads.iter().skip(x + 1) {
            let lo = a.p_paddr.max(b.p_paddr);
            let hi = (a.p_paddr + a.p_memsz).min(b.p_paddr + b.p_memsz);
            if lo < hi {
                return Err(CheckError::Overlap {
                    a: *i,
                    b: *j,
                    at: lo,
                });
            }
        }
    }
    let entry = elf.entry;
    if !loads
        .iter()
        .any(|(_, p)| entry >= p.p_vaddr && entry < p.p_vaddr + p.p_memsz)
    {
        return Err(CheckError::Entry(entry));
    }
    let sh = elf
        .section_headers
        .iter()
        .find(|s| elf.shdr_strtab.get_at(s.sh_name) == Some(".resource_table"))
        .ok_or(CheckError::NoResourceTable)?;
    let off = sh.sh_offset as usize;
    let bytes = elf_bytes
        .get(off..off.saturating_add(sh.sh_size as usize))
        .ok_or_else(|| CheckError::Elf(".resource_table runs past the end of the file".into()))?;
    let table = rsc::parse(bytes).map_err(CheckError::Table)?;
    let mut resources = vec![];
    let mut warnings = vec![];
    let outside = |what: String, start: u64, len: u64| CheckError::ResourceOutside {
        what,
        start,
        end: start + len,
        regions: list(regions),
    };
    for (off, e) in table.entries() {
        match e {
            Entry::Carveout(c) => {
                let name = rsc::name_str(&c.name).unwrap_or("?").to_string();
                let (da, len) = (c.da.get(), c.len.get());
                if da != FW_RSC_ADDR_ANY
                    && find(regions, da.into(), u64::from(da) + u64::from(len)).is_none()
                {
                    return Err(outside(format!("carveout {name:?}"), da.into(), len.into()));
                }
                resources.push(format!(
                    "@{off:#x}: carveout {name} da {da:#x} len {len:#x}"
                ));
            }
            Entry::Devmem(d) => resources.push(format!(
                "@{off:#x}: devmem da {:#x} len {:#x}",
                d.da.get(),
                d.len.get()
            )),
            Entry::Trace(t) => {
                let (da, len) = (t.da.get(), t.len.get());
                if find(regions, da.into(), u64::from(da) + u64::from(len)).is_none() {
                    return Err(outside("trace buffer".into(), da.into(), len.into()));
                }
                resources.push(format!("@{off:#x}: trace da {da:#x} len {len:#x}"));
            }
            Entry::Vdev { vdev, vrings, .. } => {
                resources.push(format!(
                    "@{off:#x}: vdev id {} features {:#x} with {} vrings",
                    vdev.id.get(),
                    vdev.dfeatures.get(),
                    vrings.len()
                ));
                for (k, v) in vrings.iter().enumerate() {
                    let da = v.da.get();
                    if da == FW_RSC_ADDR_ANY {
                        continue;
                    }
                    let size = VringLayout::new(v.num.get(), v.align.get())
                        .map(|l| l.size() as u64)
                        .unwrap_or(0);
                    if find(regions, da.into(), u64::from(da) + size).is_none() {
                        return Err(outside(format!("vring {k}"), da.into(), size));
                    }
                }
            }
            Entry::Unknown { kind } => warnings.push(format!(
                "entry @{off:#x}: unknown resource type {kind} (skipped by Linux)"
            )),
        }
    }
    Ok(Report {
        entry,
        segments,
        resources,
        regions: regions.to_vec(),
        warnings,
    })
}

/// Checks a firmware file against a `.dtb`, or the running system's DT.
pub fn check_files(elf: &Path, dtb: Option<&Path>, sys: &Sys) -> Result<Report, CheckError> {
    let read = |p: &Path| {
        std::fs::read(p).map_err(|source| CheckError::Read {
            path: p.to_path_buf(),
            source,
        })
    };
    let elf_bytes = read(elf)?;
    let dtb_path = dtb.map(Path::to_path_buf).unwrap_or_else(|| sys.fdt());
    let regions = regions_from_dtb(&read(&dtb_path)?)?;
    check(&elf_bytes, &regions)
}
