//! The resource table every firmware of this runtime declares: the
//! carveout, the trace buffer, one RPMsg vdev with two vrings and the
//! stop/crash contract (`docs/kernel.md`, "The stop/crash contract"),
//! without which the driver refuses the image. Linux's remoteproc reads it
//! from the ELF's `.resource_table` section ([`crate::entry!`] places it
//! there).

use amp_ctrl_page::{contract_body, CONTRACT_F_STOP_IRQ, CONTRACT_LEN, RSC_CONTRACT_TYPE};
use amp_proto::rsc::{self, ResourceTable, TableBuilder};

use crate::board::{layout, Board, BOARD};

/// Descriptors per vring (Linux allocates 2 × num buffers of 512 bytes).
pub const VRING_NUM: u32 = 64;
/// Vring alignment.
pub const VRING_ALIGN: u32 = 4096;
/// What the runtime promises in its contract entry: it serves the stop
/// request from the doorbell interrupt, whatever the application's code
/// is doing (`crate::runtime`, "The stop interrupt").
pub const CONTRACT_FLAGS: u32 = CONTRACT_F_STOP_IRQ;
/// Bytes of the resource table: carveout, trace, vdev with two vrings,
/// contract.
pub const RSC_LEN: usize = rsc::header_len(4)
    + rsc::CARVEOUT_ENTRY_LEN
    + rsc::TRACE_ENTRY_LEN
    + rsc::vdev_entry_len(2, 0)
    + rsc::vendor_entry_len(CONTRACT_LEN);

/// The resource table of a board's firmware.
pub const fn resource_table(b: &Board) -> TableBuilder<RSC_LEN> {
    let fw = b.window as u32;
    TableBuilder::new(4)
        .carveout(fw, fw, layout::FIRMWARE_SIZE as u32, 0, "firmware")
        .trace(
            b.at(layout::TRACE) as u32,
            layout::TRACE_SIZE as u32,
            "trace0",
        )
        .rpmsg_vdev(VRING_NUM, VRING_ALIGN)
        .vendor(RSC_CONTRACT_TYPE, &contract_body(CONTRACT_FLAGS))
}

/// The table this build places in `.resource_table`.
pub static RESOURCE_TABLE_BYTES: [u8; RSC_LEN] = resource_table(&BOARD).finish();

/// The `.resource_table` static's type.
pub type Table = ResourceTable<RSC_LEN>;

/// Builds the `.resource_table` static.
pub const fn table() -> Table {
    ResourceTable::from_bytes(resource_table(&BOARD).finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::board::{QEMU_VIRT, RTD1619B};

    #[test]
    fn linker_script_origins_are_the_board_windows() {
        let script = include_str!("../build.rs");
        for b in [QEMU_VIRT, RTD1619B] {
            let origin = format!("\"{:#010x}\"", b.window);
            assert!(script.contains(&origin), "{}: {origin}", b.name);
        }
    }

    #[test]
    fn both_boards_tables_validate() {
        assert_eq!(RSC_LEN, 224);
        for b in [QEMU_VIRT, RTD1619B] {
            let bytes = resource_table(&b).finish();
            let t = rsc::parse(&bytes).unwrap_or_else(|e| panic!("{}: {e}", b.name));
            assert_eq!(t.entries().count(), 4, "{}", b.name);
            let mut contracts = 0;
            for (off, e) in t.entries() {
                if let rsc::Entry::Trace(tr) = e {
                    assert_eq!(rsc::name_str(&tr.name), Some("trace0"));
                    assert_eq!(u64::from(tr.len.get()), layout::TRACE_SIZE);
                }
                if e.is_vendor() {
                    // The type word, then the body the driver checks.
                    let body = &bytes[off + 4..off + 4 + CONTRACT_LEN];
                    assert_eq!(&bytes[off..off + 4], &RSC_CONTRACT_TYPE.to_le_bytes());
                    assert_eq!(body, &contract_body(CONTRACT_F_STOP_IRQ), "{}", b.name);
                    contracts += 1;
                }
            }
            assert_eq!(contracts, 1, "{}: one stop/crash contract entry", b.name);
        }
    }
}
