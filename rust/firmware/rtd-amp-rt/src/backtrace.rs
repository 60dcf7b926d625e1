//! Return addresses from the AArch64 frame-record chain, for crash reports.
//!
//! With frame pointers (`-C force-frame-pointers=yes`, set for the
//! bare-metal target in `rust/firmware/.cargo/config.toml`) every function
//! stores a frame record `{previous x29, x30}` at the address in `x29`. The
//! walk follows only records that lie inside the stack, are 16-byte aligned
//! and move strictly towards the stack's top, so a corrupt or missing chain
//! (code built without frame pointers, a smashed stack) ends the walk
//! instead of faulting or looping. The boot code starts the chain with
//! `x29 = 0`.

use core::ops::Range;

/// Fills `out` with return addresses, innermost first, starting from the
/// frame record at `fp`; `read` loads a 64-bit word at an address inside
/// `stack` (it is only called for such addresses). Returns how many were
/// found.
pub fn walk(fp: u64, stack: Range<u64>, read: impl Fn(u64) -> u64, out: &mut [u64]) -> usize {
    let mut fp = fp;
    let mut n = 0;
    while n < out.len() {
        let inside = fp % 16 == 0
            && fp >= stack.start
            && fp.checked_add(16).is_some_and(|end| end <= stack.end);
        if !inside {
            break;
        }
        let next = read(fp);
        let lr = read(fp + 8);
        if lr == 0 {
            break;
        }
        out[n] = lr;
        n += 1;
        if next <= fp {
            break;
        }
        fp = next;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn reader(words: &[(u64, u64)]) -> impl Fn(u64) -> u64 + '_ {
        let m: HashMap<u64, u64> = words.iter().copied().collect();
        move |a| {
            assert!(
                (0x1000..0x2000).contains(&a),
                "read outside the stack: {a:#x}"
            );
            m.get(&a).copied().unwrap_or(0)
        }
    }

    #[test]
    fn follows_a_chain_to_its_end() {
        // Three records, the outermost with fp 0 (as the boot code starts it).
        let words = [
            (0x1100, 0x1200),
            (0x1108, 0x7000_0100),
            (0x1200, 0x1F00),
            (0x1208, 0x7000_0200),
            (0x1F00, 0),
            (0x1F08, 0x7000_0300),
        ];
        let mut out = [0u64; 8];
        let n = walk(0x1100, 0x1000..0x2000, reader(&words), &mut out);
        assert_eq!(&out[..n], &[0x7000_0100, 0x7000_0200, 0x7000_0300]);
        // At most out.len() frames.
        let mut two = [0u64; 2];
        assert_eq!(walk(0x1100, 0x1000..0x2000, reader(&words), &mut two), 2);
    }

    #[test]
    fn stops_on_anything_suspicious() {
        let mut out = [0u64; 8];
        let none: [(u64, u64); 0] = [];
        // Outside the stack, misaligned, or a record that would end past it.
        for fp in [0, 0x800, 0x1104, 0x1FF8, 0x2000, u64::MAX - 7] {
            assert_eq!(
                walk(fp, 0x1000..0x2000, reader(&none), &mut out),
                0,
                "{fp:#x}"
            );
        }
        // A loop (record pointing at itself or backwards) ends after one frame.
        let words = [(0x1100, 0x1100), (0x1108, 0x7000_0100)];
        assert_eq!(walk(0x1100, 0x1000..0x2000, reader(&words), &mut out), 1);
        let words = [(0x1100, 0x1080), (0x1108, 0x7000_0100)];
        assert_eq!(walk(0x1100, 0x1000..0x2000, reader(&words), &mut out), 1);
        // A zero return address ends the chain.
        let words = [(0x1100, 0x1200), (0x1108, 0)];
        assert_eq!(walk(0x1100, 0x1000..0x2000, reader(&words), &mut out), 0);
    }
}
