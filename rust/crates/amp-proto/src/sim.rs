//! An in-process stand-in for the shared memory of one RPMsg vdev: a
//! resource table and a window holding both vrings and the buffers, laid
//! out like the firmware's carveouts. The tests, the benchmark and the
//! firmware's host tests run the device role against [`RpmsgDriver`] on it.
//!
//! [`RpmsgDriver`]: crate::rpmsg::RpmsgDriver

use crate::rpmsg::{DriverLayout, RPMSG_BUF_SIZE};
use crate::rsc::LiveVdev;
use crate::shmem::{BusWindow, OwnedRegion};

/// Bytes reserved for each vring in the window (one `vdev0vringN` carveout).
pub const RING_SPAN: u64 = 0x8000;

/// A resource table and a shared window at a chosen bus address.
pub struct SimVdev {
    table: OwnedRegion,
    window: OwnedRegion,
    bus: u64,
    num: usize,
}

impl SimVdev {
    /// Copies `table` (which must hold an RPMsg vdev whose vrings have `num`
    /// descriptors) and makes a zeroed window at bus address `bus`.
    pub fn new(table: &[u8], num: usize, bus: u64) -> Self {
        let t = OwnedRegion::new(table.len());
        t.shm().write_bytes(0, table);
        let len = 2 * RING_SPAN as usize + 2 * num * RPMSG_BUF_SIZE;
        SimVdev {
            table: t,
            window: OwnedRegion::new(len),
            bus,
            num,
        }
    }

    /// The vdev entry, as the firmware and Linux both see it.
    pub fn vdev(&self) -> LiveVdev<'_> {
        LiveVdev::find(self.table.shm(), 0).expect("the table has an RPMsg vdev")
    }

    /// The resource table region.
    pub fn table(&self) -> &OwnedRegion {
        &self.table
    }

    /// The shared window (vrings, then buffers).
    pub fn window(&self) -> &OwnedRegion {
        &self.window
    }

    /// The window at its bus address.
    pub fn bus(&self) -> BusWindow<'_> {
        BusWindow::new(self.window.shm(), self.bus)
    }

    /// Where the driver puts its rings and buffers.
    pub fn layout(&self) -> DriverLayout {
        DriverLayout {
            vrings: [self.bus, self.bus + RING_SPAN],
            buffers: self.bus + 2 * RING_SPAN,
        }
    }

    /// Descriptors per ring.
    pub fn num(&self) -> usize {
        self.num
    }
}
