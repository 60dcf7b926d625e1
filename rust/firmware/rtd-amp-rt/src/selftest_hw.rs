//! The hardware side of the self-test commands (`amp-control` 0x10..0x12):
//! the boot stamp read back, the doorbell counters, and a timer-interrupt
//! latency run on this core.

use crate::runtime::{ctrl_shm, doorbell_outside_wait, polled, rd_base};
use crate::{arch, gic, selftest, Runtime};

impl Runtime {
    /// The boot stamp as Linux sees it in the control page.
    pub fn stamp(&self) -> selftest::Stamp {
        selftest::read_stamp(&ctrl_shm()).unwrap_or_default()
    }

    /// (doorbell SGIs received, doorbell SPIs raised) since entry.
    pub fn doorbell_counts(&self) -> (u64, u64) {
        selftest::counters()
    }

    /// The generic counter (`CNTPCT_EL0`).
    pub fn cntpct(&self) -> u64 {
        arch::cntpct()
    }

    /// Arms the EL1 physical timer `out.len()` times, `period` ticks ahead,
    /// and stores in `out` the ticks from each programmed compare value to
    /// the moment its interrupt (INTID [`gic::TIMER_PPI`]) is acknowledged
    /// at this core's CPU interface. The core polls `ICC_IAR1_EL1` (no
    /// WFI). An interrupt that does not come within ten periods or one
    /// second, whichever is longer (a vCPU of the QEMU twin on a busy host
    /// can stall for milliseconds), counts as lost and ends the run: a
    /// timer that never fires costs one second, never a hang. A doorbell
    /// (above the timer's priority) is taken as anywhere outside the
    /// wait: a stop request stops the core, anything else is left for the
    /// next wait; the polled interrupts stay pending (masked by priority).
    /// Returns the number of lost interrupts (0 or 1); the samples not
    /// measured are `u64::MAX`.
    pub fn timer_latency(&self, period: u64, out: &mut [u64]) -> u32 {
        let rd = rd_base();
        let bit = 1u32 << gic::TIMER_PPI;
        // SAFETY (every access below): registers of this core's own
        // redistributor (found and mapped at boot), the timer PPI's group,
        // priority and enable bits only.
        unsafe {
            arch::mmio_write(
                rd + gic::GICR_IGROUPR0,
                arch::mmio_read(rd + gic::GICR_IGROUPR0) | bit,
            );
            arch::mmio_write8(
                rd + gic::GICR_IPRIORITYR + u64::from(gic::TIMER_PPI),
                gic::TIMER_PRIORITY,
            );
            arch::mmio_write(rd + gic::GICR_ISENABLER0, bit);
        }
        let lost = polled(gic::POLLED_PRIORITY, || run(period, out));
        // SAFETY: as above.
        unsafe { arch::mmio_write(rd + gic::GICR_ICENABLER0, bit) };
        lost
    }
}

/// The latency run itself, polling with interrupts masked.
fn run(period: u64, out: &mut [u64]) -> u32 {
    let period = period.max(1);
    let patience = (10 * period).max(arch::cntfrq());
    let mut lost = 0;
    out.fill(u64::MAX);
    for slot in out.iter_mut() {
        let cval = arch::cntpct() + period;
        let deadline = cval + patience;
        arch::timer_arm(cval);
        loop {
            let id = arch::gic_ack();
            if id == gic::TIMER_PPI {
                let t = arch::cntpct();
                arch::timer_off();
                arch::gic_eoi(id);
                *slot = t.saturating_sub(cval);
                break;
            }
            if id == crate::board::BOARD.doorbell_sgi {
                doorbell_outside_wait(id);
            } else if id < gic::SPECIAL_INTID {
                arch::gic_eoi(id);
            }
            if arch::cntpct() > deadline {
                lost = 1;
                break;
            }
        }
        arch::timer_off();
        if lost != 0 {
            break;
        }
    }
    lost
}
