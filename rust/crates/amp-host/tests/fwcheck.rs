//! Firmware checks against real device trees (compiled with dtc) and ELF
//! images built here byte by byte, good and bad.

use std::path::Path;
use std::process::Command;

use amp_ctrl_page::{contract_body, CONTRACT_LEN, RSC_CONTRACT_TYPE};
use amp_host::fwcheck::{check, check_files, regions_from_dtb, CheckError, SigConfig};
use amp_host::fwsig::SigStatus;
use amp_host::Sys;
use amp_proto::rsc::{self, TableBuilder};

#[path = "support/fwimage.rs"]
mod fwimage;
use fwimage::{dtb, elf, AARCH64, W};

/// Bytes of the stop/crash contract entry every accepted table carries.
const CONTRACT: usize = rsc::vendor_entry_len(CONTRACT_LEN);
const TLEN: usize =
    rsc::header_len(3) + rsc::TRACE_ENTRY_LEN + rsc::vdev_entry_len(2, 0) + CONTRACT;

fn table(trace_da: u32) -> Vec<u8> {
    TableBuilder::<TLEN>::new(3)
        .trace(trace_da, 0x8000, "trace0")
        .rpmsg_vdev(64, 4096)
        .vendor(RSC_CONTRACT_TYPE, &contract_body(0))
        .finish()
        .to_vec()
}

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
    let rep = check_files(
        &elf_path,
        Some(&d.path().join("t.dtb")),
        &Sys::system(),
        &SigConfig::default(),
    )
    .unwrap();
    assert!(matches!(rep.signature, Some(SigStatus::Unsigned { .. })));
    assert_eq!(
        rep,
        amp_host::fwcheck::Report {
            signature: rep.signature.clone(),
            ..r
        }
    );
}

/// The rule a refusal names, with its message.
fn refused(e: CheckError) -> (&'static str, String) {
    let s = e.to_string();
    (
        e.rule()
            .unwrap_or_else(|| panic!("not a rule refusal: {s}")),
        s,
    )
}

#[test]
fn bad_firmware_is_rejected_with_addresses() {
    let d = tempfile::tempdir().unwrap();
    let regions = regions_from_dtb(&dtb(d.path(), true)).unwrap();
    let t = table(0x703F_8000);
    let out = 0x6000_0000;
    let (rule, s) = refused(
        check(
            &elf(AARCH64, out, &[(out, 0x1000, 0x100)], Some(&t)),
            &regions,
        )
        .unwrap_err(),
    );
    assert_eq!(rule, "seg-addr", "{s}");
    assert!(
        s.contains("p_paddr 0x60000000 + p_memsz 0x1000")
            && s.contains("firmware 0x70000000..0x70400000"),
        "{s}"
    );
    // Straddles the end of the firmware carveout.
    let (rule, s) = refused(
        check(
            &elf(
                AARCH64,
                W + 0x3F_F000,
                &[(W + 0x3F_F000, 0x2000, 0)],
                Some(&t),
            ),
            &regions,
        )
        .unwrap_err(),
    );
    assert_eq!(rule, "seg-addr", "{s}");
    let (rule, s) = refused(
        check(
            &elf(
                AARCH64,
                W,
                &[(W, 0x2000, 0), (W + 0x1000, 0x1000, 0)],
                Some(&t),
            ),
            &regions,
        )
        .unwrap_err(),
    );
    assert_eq!(rule, "seg-overlap", "{s}");
    assert!(
        s.contains("0x71000..") || s.contains("(0x70001000..0x70002000)"),
        "{s}"
    );
    let (rule, s) =
        refused(check(&elf(62, W, &[(W, 0x1000, 0x10)], Some(&t)), &regions).unwrap_err());
    assert_eq!(rule, "elf-machine", "{s}");
    assert!(s.contains("X86_64"), "{s}");
    let (rule, s) =
        refused(check(&elf(AARCH64, W, &[(W, 0x1000, 0x10)], None), &regions).unwrap_err());
    assert_eq!(rule, "rsc-missing", "{s}");
    let mut bad = t.clone();
    bad[0] = 2;
    let (rule, s) =
        refused(check(&elf(AARCH64, W, &[(W, 0x1000, 0x10)], Some(&bad)), &regions).unwrap_err());
    assert_eq!(rule, "rsc-version", "{s}");
    assert!(s.contains("ver 2 != 1"), "{s}");
    let (rule, s) = refused(
        check(
            &elf(AARCH64, W, &[(W, 0x1000, 0x10)], Some(&table(0x1000))),
            &regions,
        )
        .unwrap_err(),
    );
    assert_eq!(rule, "trace-addr", "{s}");
    assert!(s.contains("da 0x1000 + len 0x8000"), "{s}");
    let (rule, s) = refused(
        check(
            &elf(AARCH64, W + 0x50_0000, &[(W, 0x1000, 0x10)], Some(&t)),
            &regions,
        )
        .unwrap_err(),
    );
    assert_eq!(rule, "elf-entry", "{s}");
    assert_eq!(
        refused(check(b"not an elf at all", &regions).unwrap_err()).0,
        "elf-size"
    );
}

#[test]
fn device_tree_without_the_node_is_explained() {
    let d = tempfile::tempdir().unwrap();
    let e = regions_from_dtb(&dtb(d.path(), false)).unwrap_err();
    assert!(e.to_string().contains("overlay"), "{e}");
    assert!(matches!(regions_from_dtb(b"junk"), Err(CheckError::Dtb(_))));
}

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("dtc/fdtoverlay (device-tree-compiler)");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The repository's own overlay (recipes-bsp/rtd-amp-overlays) applied to a
/// minimal base with the labels it needs, as the kernel would see it.
fn overlay_dtb(dir: &Path, overlay: &str, cells: u32) -> Vec<u8> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../..");
    let dtso = repo
        .join("recipes-bsp/rtd-amp-overlays/files")
        .join(overlay);
    let base = format!(
        r#"/dts-v1/;
/ {{
    #address-cells = <{cells}>;
    #size-cells = <{cells}>;
    interrupt-parent = <&gic>;
    gic: interrupt-controller {{ interrupt-controller; #interrupt-cells = <3>; }};
    cpus {{
        #address-cells = <1>;
        #size-cells = <0>;
        cpu3: cpu@3 {{ device_type = "cpu"; reg = <3>; }};
    }};
    reserved_memory: reserved-memory {{
        #address-cells = <{cells}>;
        #size-cells = <{cells}>;
        ranges;
    }};
}};
"#
    );
    let (b_dts, b_dtb) = (dir.join("base.dts"), dir.join("base.dtb"));
    let (o_dtbo, out) = (dir.join("ov.dtbo"), dir.join("merged.dtb"));
    std::fs::write(&b_dts, base).unwrap();
    run(Command::new("dtc")
        .args(["-q", "-@", "-I", "dts", "-O", "dtb", "-o"])
        .arg(&b_dtb)
        .arg(&b_dts));
    run(Command::new("dtc")
        .args(["-q", "-@", "-I", "dts", "-O", "dtb", "-o"])
        .arg(&o_dtbo)
        .arg(&dtso));
    run(Command::new("fdtoverlay")
        .arg("-i")
        .arg(&b_dtb)
        .arg("-o")
        .arg(&out)
        .arg(&o_dtbo));
    std::fs::read(out).unwrap()
}

#[test]
fn the_repository_overlays_give_the_contract_window() {
    // Fixed contract (BRIEF): firmware, vring0, vring1, buffer, ctrl.
    let want = |w: u64| {
        vec![
            ("firmware", w, 0x40_0000),
            ("vdev0vring0", w + 0x40_0000, 0x8000),
            ("vdev0vring1", w + 0x40_8000, 0x8000),
            ("vdev0buffer", w + 0x41_0000, 0x4_0000),
            ("ctrl", w + 0xFF_0000, 0x1000),
            (
                "bulk",
                w + amp_proto::bulk::REGION_WINDOW_OFFSET,
                amp_proto::bulk::REGION_SIZE as u64,
            ),
        ]
    };
    for (overlay, cells, w) in [
        ("qemu-virt-amp.dtso", 2, 0x7000_0000u64),
        ("rtd1619b-amp.dtso", 1, 0x3200_0000u64),
    ] {
        let d = tempfile::tempdir().unwrap();
        let regions = regions_from_dtb(&overlay_dtb(d.path(), overlay, cells)).unwrap();
        let got: Vec<_> = regions
            .iter()
            .map(|r| (r.name.as_str(), r.base, r.size))
            .collect();
        assert_eq!(got, want(w), "{overlay}");
        // A firmware linked for that window passes; one for the other
        // board's window is refused, naming the window.
        let t = table(w as u32 + 0x3F_8000);
        let img = elf(AARCH64, w, &[(w, 0x8000, 0x6000)], Some(&t));
        check(&img, &regions).unwrap();
        // The bulk region is user space's: no segment may be loaded there.
        let b = w + amp_proto::bulk::REGION_WINDOW_OFFSET;
        let img = elf(
            AARCH64,
            w,
            &[(w, 0x8000, 0x6000), (b, 0x1000, 0x1000)],
            Some(&t),
        );
        let (rule, msg) = refused(check(&img, &regions).unwrap_err());
        assert_eq!(rule, "seg-addr", "{overlay}: {msg}");
        let other = if w == W { 0x3200_0000 } else { W };
        let img = elf(AARCH64, other, &[(other, 0x8000, 0x6000)], Some(&t));
        let e = check(&img, &regions).unwrap_err().to_string();
        assert!(e.contains(&format!("firmware {w:#x}..")), "{overlay}: {e}");
    }
}

#[test]
fn fixed_vrings_and_carveouts_must_be_inside_reserved_memory() {
    use amp_proto::rsc::{VdevSpec, VringSpec, CARVEOUT_ENTRY_LEN};
    const LEN: usize =
        rsc::header_len(3) + CARVEOUT_ENTRY_LEN + rsc::vdev_entry_len(2, 0) + CONTRACT;
    fn tab(carveout_da: u32, vring_da: [u32; 2]) -> Vec<u8> {
        named("firmware", carveout_da, vring_da)
    }
    fn named(name: &str, carveout_da: u32, vring_da: [u32; 2]) -> Vec<u8> {
        let ring = |da, notifyid| VringSpec {
            da,
            align: 4096,
            num: 64,
            notifyid,
        };
        TableBuilder::<LEN>::new(3)
            .carveout(carveout_da, carveout_da, 0x1000, 0, name)
            .vdev(
                VdevSpec {
                    id: 7,
                    notifyid: 0,
                    dfeatures: 1,
                    config_len: 0,
                },
                &[ring(vring_da[0], 0), ring(vring_da[1], 1)],
            )
            .vendor(RSC_CONTRACT_TYPE, &contract_body(0))
            .finish()
            .to_vec()
    }
    let d = tempfile::tempdir().unwrap();
    let regions = regions_from_dtb(&dtb(d.path(), true)).unwrap();
    let img = |t: &[u8]| elf(AARCH64, W, &[(W, 0x1000, 0x10)], Some(t));
    let any = rsc::FW_RSC_ADDR_ANY;
    // Fixed rings in their carveouts and a carveout in the firmware region.
    let r = check(
        &img(&tab(0x7010_0000, [0x7040_0000, 0x7040_8000])),
        &regions,
    )
    .unwrap();
    assert!(r.resources[0].contains("carveout firmware da 0x70100000"));
    assert!(r.resources[1].contains("2 vrings"));
    check(&img(&tab(any, [any, any])), &regions).unwrap();
    let e = check(&img(&tab(0x7100_0000, [any, any])), &regions).unwrap_err();
    assert_eq!(e.rule(), Some("carveout-addr"), "{e}");
    assert!(
        e.to_string()
            .contains("carveout firmware da 0x71000000 + len 0x1000"),
        "{e}"
    );
    // A carveout that is no DT region would come from Linux's memory.
    let e = check(&img(&named("heap", any, [any, any])), &regions).unwrap_err();
    assert_eq!(e.rule(), Some("carveout-name"), "{e}");
    // 64 descriptors at align 4096 take 0x1000 + 0x1000 + ...: a ring that
    // starts in the last page of vdev0vring1 runs past its end.
    let e = check(&img(&tab(any, [0x7040_0000, 0x7040_F000])), &regions).unwrap_err();
    let s = e.to_string();
    assert_eq!(e.rule(), Some("vring-addr"), "{s}");
    assert!(s.contains("vring 1 da 0x7040f000 + 8192 bytes"), "{s}");
    assert!(s.contains("vdev0vring1 0x70408000 + 0x8000"), "{s}");
}

// ------------------------------------------------------ firmware rules
//
// One test per rule of docs/kernel.md ("Firmware rules"). The files are
// made by scripts/fwcorpus.py, the generator the QEMU twin uses on the real
// firmware, here from an image laid out like it (text segment with the
// entry point, data segment, carveout + trace + vdev table); each breaks
// exactly one rule and must be refused for that rule, as the kernel driver
// refuses it in the twin ("firmware rule RULE (...)" cases of tests.sh).

/// The generated corpus: (file name, rule, bytes), made once.
fn corpus() -> &'static [(String, String, Vec<u8>)] {
    static CORPUS: std::sync::OnceLock<Vec<(String, String, Vec<u8>)>> = std::sync::OnceLock::new();
    CORPUS.get_or_init(|| {
        use amp_proto::rsc::CARVEOUT_ENTRY_LEN;
        const LEN: usize = rsc::header_len(4)
            + CARVEOUT_ENTRY_LEN
            + rsc::TRACE_ENTRY_LEN
            + rsc::vdev_entry_len(2, 0)
            + CONTRACT;
        let t = TableBuilder::<LEN>::new(4)
            .carveout(W as u32, W as u32, 0x40_0000, 0, "firmware")
            .trace(0x703F_8000, 0x8000, "trace0")
            .rpmsg_vdev(64, 4096)
            .vendor(RSC_CONTRACT_TYPE, &contract_body(1))
            .finish();
        let img = elf(
            AARCH64,
            W + 0x40,
            &[(W, 0x8000, 0x6000), (W + 0x10000, 0x2000, 0x100)],
            Some(&t),
        );
        let d = tempfile::tempdir().unwrap();
        let good = d.path().join("good.elf");
        std::fs::write(&good, &img).unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../scripts/fwcorpus.py");
        run(Command::new("python3")
            .arg(script)
            .arg("rules")
            .arg(&good)
            .arg(d.path()));
        let index = std::fs::read_to_string(d.path().join("rules.txt")).unwrap();
        let mut out = vec![("good.elf".to_string(), String::new(), img)];
        for line in index.lines() {
            let (file, rule) = line.split_once(' ').unwrap();
            let bytes = std::fs::read(d.path().join(file)).unwrap();
            out.push((file.to_string(), rule.to_string(), bytes));
        }
        out
    })
}

fn twin_regions() -> Vec<amp_host::fwcheck::Region> {
    let d = tempfile::tempdir().unwrap();
    regions_from_dtb(&dtb(d.path(), true)).unwrap()
}

/// Every file of the corpus made for `rule` is refused for that rule.
fn refuses(rule: &str) {
    let regions = twin_regions();
    let files: Vec<_> = corpus().iter().filter(|(_, r, _)| r == rule).collect();
    assert!(!files.is_empty(), "the corpus has no file for {rule}");
    for (file, _, bytes) in files {
        match check(bytes, &regions) {
            Err(e) => assert_eq!(e.rule(), Some(rule), "{file}: {e}"),
            Ok(_) => panic!("{file} (breaks {rule}) was accepted"),
        }
    }
}

#[test]
fn rules_corpus_starts_from_a_valid_image_and_covers_every_rule() {
    let regions = twin_regions();
    let c = corpus();
    check(&c[0].2, &regions).unwrap();
    let mut rules: Vec<_> = c[1..].iter().map(|(_, r, _)| r.as_str()).collect();
    rules.dedup();
    assert_eq!(rules.len(), RULES.len(), "{rules:?}");
    for r in RULES {
        assert!(rules.contains(r), "no file for {r}");
    }
}

/// Every rule of docs/kernel.md, in the order both checkers apply them.
const RULES: &[&str] = &[
    "elf-size",
    "elf-magic",
    "elf-class",
    "elf-data",
    "elf-machine",
    "elf-phdrs",
    "elf-shdrs",
    "elf-shstrndx",
    "elf-shstrtab",
    "elf-shname",
    "rsc-missing",
    "rsc-section",
    "seg-filesz",
    "seg-file",
    "seg-addr",
    "seg-overlap",
    "seg-none",
    "elf-entry",
    "rsc-addr",
    "rsc-header",
    "rsc-version",
    "rsc-reserved",
    "rsc-num",
    "rsc-offset",
    "rsc-type",
    "rsc-truncated",
    "rsc-overlap",
    "carveout-reserved",
    "carveout-name",
    "carveout-addr",
    "carveout-dup",
    "trace-reserved",
    "trace-addr",
    "vdev-reserved",
    "vdev-vrings",
    "vdev-regions",
    "vring-num",
    "vring-align",
    "vring-addr",
    "rsc-contract",
];

macro_rules! rule_tests {
    ($($name:ident => $rule:literal, $mirrors:literal;)*) => {$(
        #[doc = concat!("Rule `", $rule, "`; the kernel side: ", $mirrors, ".")]
        #[test]
        fn $name() {
            refuses($rule);
        }
    )*};
}

rule_tests! {
    rule_elf_size => "elf-size", "rproc_elf_sanity_check (remoteproc_elf_loader.c)";
    rule_elf_magic => "elf-magic", "rproc_elf_sanity_check";
    rule_elf_class => "elf-class", "rproc_elf_sanity_check + the driver's ELF64 rule";
    rule_elf_data => "elf-data", "rproc_elf_sanity_check";
    rule_elf_machine => "elf-machine", "the driver (the generic code takes any machine)";
    rule_elf_phdrs => "elf-phdrs", "rproc_elf_sanity_check checks e_phoff only, rproc_elf_load_segments reads e_phnum headers";
    rule_elf_shdrs => "elf-shdrs", "rproc_elf_sanity_check checks one section header only, find_table reads e_shnum";
    rule_elf_shstrndx => "elf-shstrndx", "find_table (unchecked index: the oops of issue 12)";
    rule_elf_shstrtab => "elf-shstrtab", "find_table (unchecked name table offset)";
    rule_elf_shname => "elf-shname", "find_table (strcmp at an unchecked sh_name)";
    rule_rsc_missing => "rsc-missing", "find_table / rproc_elf_load_rsc_table";
    rule_rsc_section => "rsc-section", "find_table";
    rule_seg_filesz => "seg-filesz", "rproc_elf_load_segments";
    rule_seg_file => "seg-file", "rproc_elf_load_segments (offset + filesz can wrap)";
    rule_seg_addr => "seg-addr", "rproc_elf_load_segments -> rproc_da_to_va (int offset, offset + len can wrap)";
    rule_seg_overlap => "seg-overlap", "rproc_elf_load_segments (loads overlapping segments in turn)";
    rule_seg_none => "seg-none", "rproc_elf_sanity_check (e_phnum only)";
    rule_elf_entry => "elf-entry", "rproc_elf_get_boot_addr + the driver's start";
    rule_rsc_addr => "rsc-addr", "rproc_elf_find_loaded_rsc_table -> rproc_da_to_va";
    rule_rsc_header => "rsc-header", "find_table";
    rule_rsc_version => "rsc-version", "find_table";
    rule_rsc_reserved => "rsc-reserved", "find_table";
    rule_rsc_num => "rsc-num", "find_table";
    rule_rsc_offset => "rsc-offset", "rproc_handle_resources (int offset in 6.12; rsc_table_for_each_entry in 6.1.192)";
    rule_rsc_type => "rsc-type", "rproc_handle_resources, rproc_handle_devmem";
    rule_rsc_truncated => "rsc-truncated", "each handler's avail check, rproc_handle_vdev";
    rule_rsc_overlap => "rsc-overlap", "rproc_handle_resources (entries are written back)";
    rule_carveout_reserved => "carveout-reserved", "rproc_handle_carveout";
    rule_carveout_name => "carveout-name", "rproc_handle_carveout / rproc_find_carveout_by_name (name used as a format; else allocated from Linux)";
    rule_carveout_addr => "carveout-addr", "rproc_check_carveout_da";
    rule_carveout_dup => "carveout-dup", "rproc_handle_carveout (already associated)";
    rule_trace_reserved => "trace-reserved", "rproc_handle_trace";
    rule_trace_addr => "trace-addr", "rproc_handle_trace (takes any address)";
    rule_vdev_reserved => "vdev-reserved", "rproc_handle_vdev";
    rule_vdev_vrings => "vdev-vrings", "rproc_handle_vdev";
    rule_vdev_regions => "vdev-regions", "rproc_alloc_vring / rproc_add_virtio_dev (else Linux memory)";
    rule_vring_num => "vring-num", "rproc_parse_vring (6.12: in rproc_virtio_probe, after CPU_ON)";
    rule_vring_align => "vring-align", "rproc_parse_vring";
    rule_vring_addr => "vring-addr", "rproc_alloc_vring -> rproc_check_carveout_da";
    rule_rsc_contract => "rsc-contract", "the driver (rproc_handle_resources hands vendor entries to .handle_rsc, and takes an image without one)";
}

// ------------------------------------------------- firmware name resolution

/// The file checked is the file the kernel loads: `fw_path[]` order of
/// drivers/base/firmware_loader/main.c (6.1 and 6.12), first hit wins.
#[test]
fn firmware_name_resolves_in_the_kernel_search_order() {
    use amp_host::fwcheck::{resolve_firmware, FirmwareSearch};
    let d = tempfile::tempdir().unwrap();
    let base = d.path().join("lib/firmware");
    let custom = d.path().join("custom");
    let rel = "6.12.95+deb12-arm64";
    let s = FirmwareSearch::kernel(&base, Some(&format!("{}\n", custom.display())), rel);
    let want: Vec<_> = [
        custom.clone(),
        base.join("updates").join(rel),
        base.join("updates"),
        base.join(rel),
        base.clone(),
    ]
    .into_iter()
    .collect();
    assert_eq!(s.dirs, want);
    // Populate from the last directory to the first: each new copy wins.
    for dir in want.iter().rev() {
        std::fs::create_dir_all(dir.join("rtd-amp")).unwrap();
        std::fs::write(dir.join("rtd-amp/fw.elf"), b"x").unwrap();
        let got = resolve_firmware("rtd-amp/fw.elf", &s).unwrap();
        assert_eq!(
            got,
            Path::new(&format!("{}/rtd-amp/fw.elf", dir.display())),
            "{dir:?}"
        );
    }
    // No custom path: the four /lib/firmware directories only.
    let plain = FirmwareSearch::kernel(&base, Some(""), rel);
    assert_eq!(plain.dirs, want[1..]);
}

/// `name_contains_dotdot()` and an empty name are refused; an absolute
/// name is joined as a string, so it stays below the firmware directory.
#[test]
fn firmware_names_the_kernel_refuses_are_refused() {
    use amp_host::fwcheck::{resolve_firmware, FirmwareSearch};
    let d = tempfile::tempdir().unwrap();
    let base = d.path().join("lib/firmware");
    std::fs::create_dir_all(base.join("a")).unwrap();
    std::fs::write(base.join("a/fw.elf"), b"x").unwrap();
    std::fs::write(d.path().join("outside.elf"), b"x").unwrap();
    let s = FirmwareSearch::kernel(&base, None, "r");
    for bad in ["..", "../outside.elf", "a/../../outside.elf", "a/..", ""] {
        let e = resolve_firmware(bad, &s).unwrap_err();
        assert!(matches!(e, CheckError::FirmwareName { .. }), "{bad}: {e}");
    }
    // "foo..bin" style names are fine, as in the kernel.
    std::fs::write(base.join("a/fw..elf"), b"x").unwrap();
    resolve_firmware("a/fw..elf", &s).unwrap();
    // Absolute: DIR + "/" + "/a/fw.elf", inside the firmware directory.
    let p = resolve_firmware("/a/fw.elf", &s).unwrap();
    assert!(p.starts_with(&base), "{p:?}");
    let outside = d.path().join("outside.elf");
    let e = resolve_firmware(outside.to_str().unwrap(), &s).unwrap_err();
    assert!(matches!(e, CheckError::FirmwareNotFound { .. }), "{e}");
    // The sysfs store keeps the name up to its first newline.
    assert_eq!(
        resolve_firmware("a/fw.elf\n", &s).unwrap(),
        resolve_firmware("a/fw.elf", &s).unwrap()
    );
}

/// The twin's fuzz mutants (scripts/fwcorpus.py fuzz) of the firmware-shaped
/// image: the check never panics and answers every one with a verdict, a
/// refusal always naming a rule. The seed is AMP_FWFUZZ_SEED, else a fixed
/// set; a failure prints it.
#[test]
fn fuzz_mutants_get_a_verdict_and_refusals_name_a_rule() {
    let regions = twin_regions();
    let good = &corpus()[0].2;
    let seeds: Vec<u64> = match std::env::var("AMP_FWFUZZ_SEED") {
        Ok(s) => vec![s.parse().expect("AMP_FWFUZZ_SEED is a number")],
        Err(_) => vec![1, 2, 3],
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../scripts/fwcorpus.py");
    for seed in seeds {
        let d = tempfile::tempdir().unwrap();
        let base = d.path().join("base.elf");
        std::fs::write(&base, good).unwrap();
        run(Command::new("python3")
            .arg(&script)
            .args(["fuzz", &seed.to_string(), "200"])
            .arg(&base)
            .arg(d.path())
            .arg("--files"));
        let (mut refused, mut accepted) = (0, 0);
        for line in std::fs::read_to_string(d.path().join("fuzz.txt"))
            .unwrap()
            .lines()
        {
            let name = line.split('\t').next().unwrap();
            let bytes = std::fs::read(d.path().join(format!("{name}.elf"))).unwrap();
            match check(&bytes, &regions) {
                Ok(_) => accepted += 1,
                Err(e) => {
                    assert!(e.rule().is_some(), "seed {seed}, {line}: {e}");
                    refused += 1;
                }
            }
        }
        assert_eq!(refused + accepted, 200, "seed {seed}");
        assert!(refused > 100, "seed {seed}: only {refused} of 200 refused");
    }
}
