//! The example application's logic, host-testable: a first-order
//! low-pass filter stepped by the periodic task (a stand-in for a control
//! loop), and the text protocol of its service.
//!
//! Service `rtd-amp-example` (address [`ADDR`]), one text message per
//! request, one reply each:
//!
//! | request | reply |
//! |---|---|
//! | `stat` | `steps=N irqs=M out=Y` |
//! | `irq` | raises the example's SPI (a software-raised interrupt through the GIC distributor, routed to this core), replies `raised` |
//! | anything else | `unknown` |
#![cfg_attr(not(test), no_std)]

use core::fmt::Write;

use rtd_amp_rt::LineBuf;

/// The service's local address.
pub const ADDR: u32 = 1030;
/// The service's name, announced through the name service.
pub const NAME: &str = "rtd-amp-example";
/// The control task's period.
pub const PERIOD_US: u32 = 1000;
/// The SPI the example owns on the QEMU twin: SPI 121 (INTID 153), which
/// no virt device uses (they stop below 100; QEMU hw/arm/virt.c
/// `a15irqmap`), next to the doorbell's SPI 120. The twin's overlay gives
/// it to the firmware (`realtek,firmware-interrupts`).
pub const EXAMPLE_INTID: u32 = 153;

/// A first-order low-pass filter in fixed point (Q16): `y += (x - y) / 2^k`.
#[derive(Default)]
pub struct LowPass {
    y: i64,
    /// Steps taken.
    pub steps: u64,
}

impl LowPass {
    /// One step towards `x` (shift 3: a time constant of 8 steps).
    pub fn step(&mut self, x: i32) -> i32 {
        self.y += ((i64::from(x) << 16) - self.y) >> 3;
        self.steps += 1;
        (self.y >> 16) as i32
    }
}

/// A reply: one short text line.
pub type Reply = LineBuf<64>;

/// The reply to one request and whether to raise the interrupt.
pub fn answer(req: &[u8], steps: u64, irqs: u64, out_value: i32) -> (Reply, bool) {
    let mut w = Reply::new();
    let raise = match req.strip_suffix(b"\n").unwrap_or(req) {
        b"stat" => {
            let _ = write!(w, "steps={steps} irqs={irqs} out={out_value}");
            false
        }
        b"irq" => {
            let _ = w.write_str("raised");
            true
        }
        _ => {
            let _ = w.write_str("unknown");
            false
        }
    };
    (w, raise)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_settles_on_its_input() {
        let mut f = LowPass::default();
        let mut y = 0;
        for _ in 0..200 {
            y = f.step(1000);
        }
        assert!((995..=1000).contains(&y), "{y}");
        assert_eq!(f.steps, 200);
        assert!(f.step(0) < y, "moves towards a new input");
    }

    #[test]
    fn the_twin_overlay_gives_the_example_its_spi() {
        // One source of truth: the overlay's realtek,firmware-interrupts
        // names the SPI this application registers.
        let dts = include_str!("../../../../recipes-bsp/rtd-amp-overlays/files/qemu-virt-amp.dtso");
        let line = dts
            .lines()
            .find(|l| l.trim_start().starts_with("realtek,firmware-interrupts"))
            .expect("realtek,firmware-interrupts in the twin's overlay");
        let cells: Vec<u32> = line
            .split(['<', '>'])
            .nth(1)
            .unwrap()
            .split_whitespace()
            .map(|c| c.parse().unwrap())
            .collect();
        assert_eq!(
            cells,
            [0, EXAMPLE_INTID - 32, 4],
            "GIC_SPI, SPI number, level high"
        );
    }

    #[test]
    fn requests() {
        let (r, raise) = answer(b"stat\n", 12, 3, -5);
        assert_eq!(
            (r.as_bytes(), raise),
            (&b"steps=12 irqs=3 out=-5"[..], false)
        );
        let (r, raise) = answer(b"irq", 0, 0, 0);
        assert_eq!((r.as_bytes(), raise), (&b"raised"[..], true));
        let (r, raise) = answer(b"bogus", 0, 0, 0);
        assert_eq!((r.as_bytes(), raise), (&b"unknown"[..], false));
    }
}
