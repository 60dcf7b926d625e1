//! Resource table: wire layout against Linux's `include/linux/remoteproc.h`,
//! the const builder against a hand-derived dump, and the validator.

use core::mem::{offset_of, size_of};

use amp_proto::rsc::{self, *};
use amp_proto::shmem::OwnedRegion;

/// Sizes and offsets of Linux's packed structs, counted from their
/// definitions (all fields u32 unless noted).
#[test]
fn wire_structs_match_linux() {
    // struct resource_table { u32 ver; u32 num; u32 reserved[2]; u32 offset[]; }
    assert_eq!(size_of::<TableHeader>(), 16);
    assert_eq!(offset_of!(TableHeader, num), 4);
    // struct fw_rsc_carveout { da, pa, len, flags, reserved; u8 name[32]; }
    assert_eq!(size_of::<FwRscCarveout>(), 52);
    assert_eq!(offset_of!(FwRscCarveout, pa), 4);
    assert_eq!(offset_of!(FwRscCarveout, len), 8);
    assert_eq!(offset_of!(FwRscCarveout, flags), 12);
    assert_eq!(offset_of!(FwRscCarveout, name), 20);
    // struct fw_rsc_devmem: same shape as the carveout.
    assert_eq!(size_of::<FwRscDevmem>(), 52);
    assert_eq!(offset_of!(FwRscDevmem, name), 20);
    // struct fw_rsc_trace { da, len, reserved; u8 name[32]; }
    assert_eq!(size_of::<FwRscTrace>(), 44);
    assert_eq!(offset_of!(FwRscTrace, len), 4);
    assert_eq!(offset_of!(FwRscTrace, name), 12);
    // struct fw_rsc_vdev { id, notifyid, dfeatures, gfeatures, config_len;
    //                      u8 status; u8 num_of_vrings; u8 reserved[2]; vring[] }
    assert_eq!(size_of::<FwRscVdev>(), 24);
    assert_eq!(offset_of!(FwRscVdev, notifyid), 4);
    assert_eq!(offset_of!(FwRscVdev, dfeatures), 8);
    assert_eq!(offset_of!(FwRscVdev, gfeatures), 12);
    assert_eq!(offset_of!(FwRscVdev, config_len), 16);
    assert_eq!(offset_of!(FwRscVdev, status), 20);
    assert_eq!(offset_of!(FwRscVdev, num_of_vrings), 21);
    // struct fw_rsc_vdev_vring { da, align, num, notifyid, pa; }
    assert_eq!(size_of::<FwRscVdevVring>(), 20);
    assert_eq!(offset_of!(FwRscVdevVring, align), 4);
    assert_eq!(offset_of!(FwRscVdevVring, num), 8);
    assert_eq!(offset_of!(FwRscVdevVring, notifyid), 12);
    assert_eq!(offset_of!(FwRscVdevVring, pa), 16);
    // packed: no alignment requirement anywhere
    assert_eq!(core::mem::align_of::<FwRscVdev>(), 1);
    assert_eq!(
        (RSC_CARVEOUT, RSC_DEVMEM, RSC_TRACE, RSC_VDEV),
        (0, 1, 2, 3)
    );
    assert_eq!(FW_RSC_ADDR_ANY, u32::MAX);
}

const LEN: usize =
    rsc::header_len(3) + CARVEOUT_ENTRY_LEN + TRACE_ENTRY_LEN + rsc::vdev_entry_len(2, 0);
const BUILT: [u8; LEN] = TableBuilder::<LEN>::new(3)
    .carveout(0x7000_0000, 0x7000_0000, 0x40_0000, 0, "firmware")
    .trace(0x703F_0000, 0x4000, "trace0")
    .rpmsg_vdev(64, 4096)
    .finish();

fn hex(s: &str) -> Vec<u8> {
    let digits: String = s.split_whitespace().collect();
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).unwrap())
        .collect()
}

/// The table above written out by hand from the struct definitions.
#[test]
fn built_table_matches_hand_dump() {
    let z = |n: usize| "00".repeat(n);
    let expect = hex(&[
        // header: ver 1, num 3, reserved[2], offsets 0x1c 0x54 0x84
        "01000000 03000000 00000000 00000000 1c000000 54000000 84000000".to_string(),
        // 0x1c carveout: type 0, da, pa 0x70000000, len 0x400000, flags, reserved, name
        format!(
            "00000000 00000070 00000070 00004000 00000000 00000000 6669726d77617265{}",
            z(24)
        ),
        // 0x54 trace: type 2, da 0x703f0000, len 0x4000, reserved, name
        format!("02000000 00003f70 00400000 00000000 747261636530{}", z(26)),
        // 0x84 vdev: type 3, id 7, notifyid 0, dfeatures 1 (NS), gfeatures 0,
        // config_len 0, status 0, num_of_vrings 2, reserved
        "03000000 07000000 00000000 01000000 00000000 00000000 00 02 0000".to_string(),
        // vring0: da ANY, align 4096, num 64, notifyid 0, pa 0
        "ffffffff 00100000 40000000 00000000 00000000".to_string(),
        // vring1: same, notifyid 1
        "ffffffff 00100000 40000000 01000000 00000000".to_string(),
    ]
    .concat());
    assert_eq!(LEN, 200);
    assert_eq!(BUILT.as_slice(), expect.as_slice());
}

/// What a firmware writes: a static in `.resource_table`.
#[link_section = ".resource_table"]
static RSC: ResourceTable<LEN> = ResourceTable::from_bytes(BUILT);

#[test]
fn parse_built_table() {
    let snap = RSC.snapshot();
    let t = parse(&snap).expect("valid");
    let e: Vec<_> = t.entries().collect();
    assert_eq!(e.len(), 3);
    match e[0] {
        (0x1c, Entry::Carveout(c)) => {
            assert_eq!(c.len.get(), 0x40_0000);
            assert_eq!(name_str(&c.name), Some("firmware"));
        }
        other => panic!("{other:?}"),
    }
    match e[1] {
        (0x54, Entry::Trace(tr)) => assert_eq!(
            (tr.da.get(), name_str(&tr.name)),
            (0x703F_0000, Some("trace0"))
        ),
        other => panic!("{other:?}"),
    }
    match e[2] {
        (
            0x84,
            Entry::Vdev {
                vdev,
                vrings,
                config,
            },
        ) => {
            assert_eq!(vdev.id.get(), 7);
            assert_eq!(vrings.len(), 2);
            assert_eq!(vrings[1].notifyid.get(), 1);
            assert!(config.is_empty());
        }
        other => panic!("{other:?}"),
    }
}

/// Linux writes back vring addresses, features and status; the firmware
/// reads them through LiveVdev.
#[test]
fn live_vdev_write_back() {
    let v = LiveVdev::find(RSC.shm(), 0).expect("vdev");
    assert_eq!(v.id(), 7);
    assert_eq!(v.dfeatures(), 1);
    assert_eq!(v.num_vrings(), 2);
    assert!(LiveVdev::find(RSC.shm(), 1).is_none());
    let region = OwnedRegion::new(LEN);
    region.shm().write_bytes(0, &BUILT);
    let v = LiveVdev::find(region.shm(), 0).unwrap();
    v.set_vring(0, 0x7040_0000, 0);
    v.set_vring(1, 0x7040_8000, 1);
    v.set_gfeatures(1);
    v.set_status(7);
    let mut after = [0u8; LEN];
    region.shm().read_bytes(0, &mut after);
    assert_eq!(&after[0x84 + 16..0x84 + 20], &[1, 0, 0, 0]); // gfeatures
    assert_eq!(after[0x84 + 24], 7); // status
    assert_eq!(&after[0x84 + 28..0x84 + 32], &[0, 0, 0x40, 0x70]); // vring0 da
    assert_eq!(&after[0x84 + 48..0x84 + 52], &[0, 0x80, 0x40, 0x70]); // vring1 da
    assert_eq!(v.vring(1).unwrap().da, 0x7040_8000);
    assert!(parse(&after).is_ok());
}

fn set_u32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

#[test]
fn rejects_malformed_tables_precisely() {
    let good = BUILT.to_vec();
    let with = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = good.clone();
        f(&mut b);
        parse(&b).map(|_| ()).unwrap_err()
    };
    assert_eq!(
        parse(&good[..15]).unwrap_err(),
        RscError::TooShort { len: 15 }
    );
    assert_eq!(with(&|b| set_u32(b, 0, 2)), RscError::BadVersion { ver: 2 });
    assert_eq!(
        with(&|b| set_u32(b, 4, 1000)),
        RscError::TooManyEntries {
            num: 1000,
            max: MAX_ENTRIES
        }
    );
    assert_eq!(
        parse(&good[..24]).map(|_| ()).unwrap_err(),
        RscError::OffsetsTruncated {
            num: 3,
            need: 28,
            len: 24
        }
    );
    assert_eq!(
        with(&|b| set_u32(b, 16, 0x1e)),
        RscError::MisalignedOffset {
            index: 0,
            offset: 0x1e
        }
    );
    assert_eq!(
        with(&|b| set_u32(b, 20, 0x10)),
        RscError::OffsetInHeader {
            index: 1,
            offset: 0x10,
            header_end: 28
        }
    );
    assert_eq!(
        with(&|b| set_u32(b, 24, 200)),
        RscError::OffsetOutOfBounds {
            index: 2,
            offset: 200,
            len: 200
        }
    );
    assert_eq!(
        with(&|b| set_u32(b, 24, u32::MAX - 3)),
        RscError::OffsetOutOfBounds {
            index: 2,
            offset: u32::MAX - 3,
            len: 200
        }
    );
    // trace moved to where only 40 of its 48 bytes fit
    assert_eq!(
        with(&|b| {
            set_u32(b, 20, 160);
            set_u32(b, 160, RSC_TRACE);
            set_u32(b, 24, 0x54);
            set_u32(b, 0x54, RSC_VDEV);
        })
        .to_string(),
        "entry 1 (trace) at 0xa0 needs 48 bytes, only 40 remain"
    );
    // vdev whose config_len runs off the end
    assert_eq!(
        with(&|b| set_u32(b, 0x84 + 20, 8)),
        RscError::Truncated {
            index: 2,
            kind: "vdev",
            offset: 0x84,
            need: 76,
            have: 68
        }
    );
    // trace pointed into the carveout
    assert_eq!(
        with(&|b| set_u32(b, 20, 0x1c + 8)),
        RscError::Overlap {
            index: 1,
            offset: 0x24,
            other: 0,
            other_offset: 0x1c
        }
    );
    assert_eq!(
        with(&|b| b[0x84 + 25] = 3),
        RscError::TooManyVrings { index: 2, count: 3 }
    );
    assert_eq!(
        with(&|b| set_u32(b, 0x84 + 28 + 20 + 8, 0)),
        RscError::BadVringNum {
            index: 2,
            vring: 1,
            num: 0
        }
    );
    assert_eq!(
        with(&|b| set_u32(b, 0x84 + 28 + 8, 48)),
        RscError::BadVringNum {
            index: 2,
            vring: 0,
            num: 48
        }
    );
    assert_eq!(
        with(&|b| set_u32(b, 0x84 + 28 + 4, 0)),
        RscError::BadVringAlign {
            index: 2,
            vring: 0,
            align: 0
        }
    );
    assert_eq!(
        with(&|b| set_u32(b, 4, 1000)).to_string(),
        "resource table declares 1000 entries, more than the 128 accepted"
    );
}

#[test]
fn unknown_types_are_reported_not_fatal() {
    let mut b = BUILT.to_vec();
    set_u32(&mut b, 0x54, 200); // the trace becomes a vendor resource
    set_u32(&mut b, 0x1c, 7); // the carveout an unknown type
    let t = parse(&b).expect("unknown entries are not fatal");
    let kinds: Vec<_> = t.entries().map(|(_, e)| e).collect();
    assert_eq!(kinds[0], Entry::Unknown { kind: 7 });
    assert!(!kinds[0].is_vendor());
    assert_eq!(kinds[1], Entry::Unknown { kind: 200 });
    assert!(kinds[1].is_vendor());
    assert!(matches!(kinds[2], Entry::Vdev { .. }));
}

#[test]
fn empty_table_is_valid() {
    let b = TableBuilder::<16>::new(0).finish();
    assert!(parse(&b).unwrap().is_empty());
}

/// `LiveVdev::find` reads every word with an aligned access, so it refuses
/// what `parse` refuses as `MisalignedOffset`: a table that is not 4-byte
/// aligned is not found, and an entry at an offset that is not a multiple
/// of 4 is skipped (here the only vdev: nothing is found).
#[test]
fn live_vdev_refuses_misaligned_table_and_offsets() {
    let region = OwnedRegion::new(LEN + 8);
    let shm = region.shm();
    shm.write_bytes(0, &BUILT);
    let table = shm.window(0, LEN).unwrap();
    assert!(LiveVdev::find(table, 0).is_some());
    // The same bytes two bytes further on: not 4-byte aligned.
    shm.write_bytes(2, &BUILT);
    assert!(LiveVdev::find(shm.window(2, LEN).unwrap(), 0).is_none());
    // Back in place, then the vdev entry (index 2, at 0x84: see
    // built_table_matches_hand_dump) moved to 0x86 with its offset.
    shm.write_bytes(0, &BUILT);
    shm.write_bytes(0x86, &BUILT[0x84..]);
    shm.write_u32(16 + 4 * 2, 0x86);
    let mut moved = vec![0u8; LEN + 2];
    shm.read_bytes(0, &mut moved);
    assert!(matches!(
        rsc::parse(&moved),
        Err(RscError::MisalignedOffset {
            index: 2,
            offset: 0x86
        })
    ));
    assert!(LiveVdev::find(shm.window(0, LEN + 2).unwrap(), 0).is_none());
}

/// A vendor entry: the type word, then the body byte for byte, offsets and
/// alignment kept, reported by `parse` as a vendor resource.
#[test]
fn vendor_entry_is_type_word_then_body() {
    const VLEN: usize = rsc::header_len(2) + TRACE_ENTRY_LEN + rsc::vendor_entry_len(8);
    let b = TableBuilder::<VLEN>::new(2)
        .trace(0x703F_0000, 0x4000, "trace0")
        .vendor(0xAA, &[1, 2, 3, 4, 5, 6, 7, 8])
        .finish();
    assert_eq!(VLEN, 24 + 48 + 12);
    // offset[1] points right after the trace entry.
    assert_eq!(&b[20..24], &72u32.to_le_bytes());
    assert_eq!(&b[72..], &hex("aa000000 01020304 05060708")[..]);
    let t = parse(&b).unwrap();
    let (_, e) = t.entries().nth(1).unwrap();
    assert_eq!(e, Entry::Unknown { kind: 0xAA });
    assert!(e.is_vendor());
}
