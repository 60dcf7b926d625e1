//! Code-size probe for the device role of the protocol core.
//!
//! Built for `aarch64-unknown-none` (stage `16-proto-aarch64`) this links a
//! minimal firmware core — resource table, [`RpmsgDevice`] with one
//! announced echo endpoint, a poll loop — and nothing else (no runtime, no
//! vectors, no board code), so `size` of the result is what the protocol
//! core costs a firmware. On the host it is an empty program, so the
//! workspace still builds and lints everywhere.
//!
//! [`RpmsgDevice`]: amp_proto::rpmsg::RpmsgDevice
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(target_os = "none")]
mod probe {
    use amp_proto::rpmsg::RpmsgDevice;
    use amp_proto::rsc::{self, LiveVdev, ResourceTable, TableBuilder};
    use amp_proto::shmem::{BusWindow, Shm};

    const LEN: usize = rsc::header_len(1) + rsc::vdev_entry_len(2, 0);
    static TABLE: ResourceTable<LEN> = TableBuilder::<LEN>::new(1).rpmsg_vdev(64, 4096).build();

    /// The QEMU twin's shared window (vrings + buffers).
    const WINDOW: usize = 0x7040_0000;
    const WINDOW_LEN: usize = 0x50000;
    /// A stand-in doorbell register, so the notify path is not optimised out.
    const DOORBELL: usize = 0x0800_0f00;

    #[no_mangle]
    extern "C" fn _start() -> ! {
        // SAFETY: on the target this window is the identity-mapped shared
        // carveout; nothing else in this program references it.
        let shm = unsafe { Shm::new(WINDOW as *mut u8, WINDOW_LEN) };
        let Some(vdev) = LiveVdev::find(TABLE.shm(), 0) else {
            loop {}
        };
        let mut dev = RpmsgDevice::<'_, 2>::new(vdev, BusWindow::new(shm, WINDOW as u64));
        let ept = dev.create_endpoint("rpmsg-raw", Some(1024)).unwrap_or(0);
        let mut notify = |v: u32| {
            // SAFETY: a device register on the target (see DOORBELL).
            unsafe { (DOORBELL as *mut u32).write_volatile(v) }
        };
        loop {
            // The echo copies the payload once, from the received buffer
            // straight into the transmit buffer.
            let _ = dev.poll(&mut notify, |tx, m| {
                let _ = tx.try_send_with(ept, m.src, m.len(), |p| {
                    p.copy_from(0, &m.payload());
                    m.len()
                });
            });
        }
    }

    #[panic_handler]
    fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
        loop {}
    }
}

#[cfg(not(target_os = "none"))]
fn main() {
    println!(
        "amp-proto-size is meant for aarch64-unknown-none (scripts/checks/16-proto-aarch64.sh)"
    );
}
