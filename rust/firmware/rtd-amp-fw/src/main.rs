//! The rtd-amp firmware image for CPU3 (see the library for the services).
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(target_os = "none")]
mod firmware {
    use amp_control::FaultKind;
    use amp_control::SelftestInfo;
    use amp_proto::rpmsg::RpmsgDevice;
    use amp_proto::rsc::{LiveVdev, ResourceTable};
    use rtd_amp_fw::bulk::BulkEcho;
    use rtd_amp_fw::{table, SelftestHw, Services, CHANNELS, RSC_LEN};
    use rtd_amp_rt::board::Conduit;
    use rtd_amp_rt::{arch, Runtime};

    /// The self-test commands' hardware: this core, through the runtime.
    struct Hw<'a>(&'a Runtime);

    impl SelftestHw for Hw<'_> {
        fn info(&self) -> SelftestInfo {
            let s = self.0.stamp();
            let (sgis, spis) = self.0.doorbell_counts();
            SelftestInfo {
                entry_el: s.entry_el,
                doorbell_sgi: s.sgi,
                doorbell_spi: s.spi_intid,
                psci_conduit: match self.0.board().conduit {
                    Conduit::Smc => amp_control::CONDUIT_SMC,
                    Conduit::Hvc => amp_control::CONDUIT_HVC,
                },
                cntfrq: s.cntfrq,
                entry_cntpct: s.entry_cntpct,
                now_cntpct: self.0.cntpct(),
                window: s.window,
                sgis_received: sgis,
                spis_raised: spis,
            }
        }
        fn cntfrq(&self) -> u64 {
            arch::cntfrq()
        }
        fn timer_latency(&self, period: u64, out: &mut [u64]) -> u32 {
            self.0.timer_latency(period, out)
        }
    }

    /// Linux copies the updated table here after loading the segments.
    #[used]
    #[link_section = ".resource_table"]
    static RESOURCE_TABLE: ResourceTable<RSC_LEN> = table();

    /// Recurses with 512-byte frames until the stack runs into its guard
    /// page (about 130 calls for the 64 KiB stack): the data abort there is
    /// reported as a stack overflow. `black_box` keeps the frames real and
    /// the recursion from becoming a loop.
    #[inline(never)]
    fn overflow_stack(depth: u64) -> u64 {
        let mut frame = [0u8; 512];
        frame[0] = depth as u8;
        let frame = core::hint::black_box(frame);
        if core::hint::black_box(depth) == u64::MAX {
            return 0;
        }
        overflow_stack(depth + 1) + u64::from(frame[0])
    }

    #[no_mangle]
    fn rtd_amp_main(rt: &'static mut Runtime) -> ! {
        let table_start = RESOURCE_TABLE.shm().addr() as u64;
        let table_end = table_start + RSC_LEN as u64;
        rt.sync_shared(table_start, table_end);
        rt.publish_resource_table(table_start, RSC_LEN);
        let Some(vdev) = LiveVdev::find(RESOURCE_TABLE.shm(), 0) else {
            panic!("no vdev in the resource table");
        };
        let mut dev = RpmsgDevice::<'_, 4>::new(vdev, rt.shared());
        for (name, addr) in CHANNELS {
            if let Err(e) = dev.create_endpoint(name, Some(addr)) {
                panic!("endpoint {name} at {addr}: {e}");
            }
        }
        let mut services = Services::new();
        let mut bulk = BulkEcho::new(rt.bulk_region());
        rt.log(format_args!(
            "rtd-amp-fw {}: serving rpmsg-raw@1024 rpmsg-tty@1025 rtd-amp-ctrl@1026, bulk echo",
            env!("CARGO_PKG_VERSION")
        ));
        let mut was_ready = false;
        loop {
            if rt.stop_requested() {
                rt.stop();
            }
            // Linux writes the vdev status and vring addresses through an
            // uncached mapping: drop our cached copy before reading.
            rt.sync_shared(table_start, table_end);
            let now = rt.uptime_ms();
            let errors = dev.stats().errors;
            let resets = dev.stats().resets;
            let mut fault = None;
            let hw = Hw(rt);
            let r = dev.poll(&mut |v| rt.notify(v), |tx, m| {
                if let Some(k) = services.handle_with(tx, m, now, errors, Some(&hw)) {
                    fault = Some(k);
                }
            });
            if let Err(e) = r {
                rt.log(format_args!("rpmsg: {e}"));
            }
            // The bulk rings on every wake-up: the doorbells carry no data.
            let (ring, err) = bulk.poll();
            if let Some(e) = err {
                rt.log(format_args!("bulk: {e}: rings initialized again"));
            }
            if ring {
                rt.notify(0);
            }
            if dev.is_ready() != was_ready {
                was_ready = dev.is_ready();
                rt.publish_virtio_resets(dev.stats().resets as u32);
                rt.log(format_args!(
                    "virtio {}",
                    if was_ready {
                        "DRIVER_OK: rings attached"
                    } else {
                        "reset by Linux"
                    }
                ));
            }
            if let Some(kind) = fault {
                // The acknowledgement is in vring0; Linux kicks vring0 when
                // it has delivered it (re-posting the buffer). Crash after
                // that, so the requester gets its answer, but never wait
                // long. That kick is normally off (VRING_USED_F_NO_NOTIFY,
                // amp-proto's RpmsgDevice): ask for it first.
                let _ = dev.want_buffer_kick();
                let collected = rt.wait_for_doorbell_timeout(100);
                rt.log(format_args!(
                    "control: deliberate fault {kind:?} (reply {})",
                    if collected {
                        "collected"
                    } else {
                        "not collected in 100 ms"
                    }
                ));
                match kind {
                    FaultKind::DataAbort => arch::data_abort(),
                    FaultKind::Panic => panic!("deliberate panic (control protocol)"),
                    FaultKind::Undefined => arch::undefined(),
                    FaultKind::StackOverflow => {
                        overflow_stack(0);
                    }
                }
            }
            // After a reset, start over at once (the loop re-reads the
            // table): Linux kicks once after DRIVER_OK, and that kick may
            // be the one that showed the re-initialised rings.
            if dev.stats().resets == resets {
                rt.wait_for_doorbell();
            }
        }
    }
}

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("rtd-amp-fw is bare-metal firmware: build it with scripts/build-firmware BOARD");
    std::process::exit(2);
}
