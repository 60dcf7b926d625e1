//! The `RSC_TRACE` buffer Linux shows in debugfs (`trace0`). Linux prints
//! the buffer up to its first NUL, so every write keeps one NUL after the
//! newest line. When a line does not fit before the end, the newest whole
//! lines (up to half the buffer) move to the beginning and the line
//! follows them: a wrap keeps the latest lines, drops the oldest, and
//! never tears one.

use core::sync::atomic::{AtomicUsize, Ordering};

use amp_proto::shmem::Shm;

/// A trace buffer and its write position.
pub struct Trace<'a> {
    buf: Shm<'a>,
    pos: &'a AtomicUsize,
}

impl<'a> Trace<'a> {
    /// A trace over `buf`; `pos` survives between uses (one core, so
    /// relaxed ordering is enough).
    pub fn new(buf: Shm<'a>, pos: &'a AtomicUsize) -> Self {
        Trace { buf, pos }
    }

    /// Empties the buffer.
    pub fn clear(&self) {
        self.buf.fill(0, self.buf.len(), 0);
        self.pos.store(0, Ordering::Relaxed);
    }

    /// Appends one line (a newline is added); returns the byte range written
    /// (for cache maintenance: after a wrap it starts at 0 and covers the
    /// lines moved), or `None` if the buffer is too small.
    pub fn line(&self, text: &[u8]) -> Option<(usize, usize)> {
        let len = self.buf.len();
        if len < 3 {
            return None;
        }
        let text = &text[..text.len().min(len - 2)];
        let mut at = self.pos.load(Ordering::Relaxed);
        let mut from = at;
        if at + text.len() + 2 > len {
            at = self.keep_newest(at, (len / 2).min(len - text.len() - 2));
            from = 0;
        }
        self.buf.write_bytes(at, text);
        self.buf.write_u8(at + text.len(), b'\n');
        self.buf.write_u8(at + text.len() + 1, 0);
        let end = at + text.len() + 1;
        self.pos.store(end, Ordering::Relaxed);
        Some((from, end + 1))
    }

    /// Moves the newest whole lines of `[0, used)`, at most `room` bytes,
    /// to the start of the buffer; returns where they end.
    fn keep_newest(&self, used: usize, room: usize) -> usize {
        let mut cut = used - used.min(room);
        // Start at a line's beginning: just after a newline.
        while cut > 0 && cut < used && self.buf.read_u8(cut - 1) != b'\n' {
            cut += 1;
        }
        let kept = used - cut;
        // Forward, byte by byte: the destination lies before the source,
        // and a wrap is rare (a chunked copy through Shm costs about 600
        // bytes of code for memmove).
        for i in 0..kept {
            self.buf.write_u8(i, self.buf.read_u8(cut + i));
        }
        kept
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use amp_proto::shmem::OwnedRegion;

    fn visible(r: &OwnedRegion, len: usize) -> String {
        let mut b = vec![0u8; len];
        r.shm().read_bytes(0, &mut b);
        let end = b.iter().position(|&c| c == 0).unwrap_or(len);
        String::from_utf8(b[..end].to_vec()).unwrap()
    }

    #[test]
    fn lines_wrap_without_tearing() {
        let r = OwnedRegion::new(32);
        let pos = AtomicUsize::new(0);
        let t = Trace::new(r.shm().window(0, 32).unwrap(), &pos);
        t.clear();
        t.line(b"boot").unwrap();
        t.line(b"ready").unwrap();
        assert_eq!(visible(&r, 32), "boot\nready\n");
        // 11 bytes used; this one needs 12 + 2 more and still fits (25 <= 32)
        t.line(b"hello world!").unwrap();
        assert_eq!(visible(&r, 32), "boot\nready\nhello world!\n");
        // does not fit: the newest whole lines that fit in half the
        // buffer move to the start (here the last one, 13 bytes), then the
        // new line; the oldest are dropped, none torn
        assert_eq!(t.line(b"wrapped"), Some((0, 22)));
        assert_eq!(visible(&r, 32), "hello world!\nwrapped\n");
        assert_eq!(t.line(b"more"), Some((21, 27)));
        assert_eq!(visible(&r, 32), "hello world!\nwrapped\nmore\n");
        // an over-long line is cut to fit the buffer, alone
        t.line(&[b'x'; 100]).unwrap();
        assert_eq!(visible(&r, 32), "x".repeat(30) + "\n");
    }

    #[test]
    fn any_sequence_of_lines_leaves_whole_lines_newest_last() {
        // A deterministic pseudo-random mix of line lengths, many wraps.
        let len = 297;
        let r = OwnedRegion::new(len);
        let pos = AtomicUsize::new(0);
        let t = Trace::new(r.shm().window(0, len).unwrap(), &pos);
        t.clear();
        let mut seed = 0x2545_F491u32;
        for n in 0..2000u32 {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let size = (seed >> 16) as usize % 40;
            let line: Vec<u8> = format!("{n}:{}", "y".repeat(size)).into_bytes();
            let (a, b) = t.line(&line).unwrap();
            assert!(b <= len, "writes stay in the buffer");
            let wrapped = a == 0 && n > 0;
            if !wrapped {
                assert_eq!(b - a, line.len() + 2, "text, newline, NUL");
            }
            let shown = visible(&r, len);
            assert!(shown.ends_with('\n'));
            let lines: Vec<&str> = shown.trim_end_matches('\n').split('\n').collect();
            // Every visible line is one that was written whole, in order,
            // and the newest one is last; after a wrap the lines before it
            // that fit in half the buffer are still there.
            assert_eq!(lines.last().unwrap().as_bytes(), &line[..]);
            let mut prev = None;
            for l in &lines {
                let (num, rest) = l.split_once(':').expect("a whole line");
                let num: u32 = num.parse().unwrap();
                assert!(rest.bytes().all(|c| c == b'y'));
                if let Some(p) = prev {
                    assert_eq!(num, p + 1, "consecutive lines");
                }
                prev = Some(num);
            }
            // A wrap keeps the newest lines of half the buffer, less at
            // most one line (44 bytes) cut at its start.
            let kept: usize = lines[..lines.len() - 1].iter().map(|l| l.len() + 1).sum();
            if wrapped {
                assert!(
                    kept + 45 >= (len / 2).min(len - line.len() - 2),
                    "line {n}: only {kept} bytes of the newest lines kept"
                );
            }
        }
    }

    #[test]
    fn tiny_buffers_are_refused() {
        let r = OwnedRegion::new(2);
        let pos = AtomicUsize::new(0);
        let t = Trace::new(r.shm().window(0, 2).unwrap(), &pos);
        assert_eq!(t.line(b"x"), None);
        let r = OwnedRegion::new(3);
        let t = Trace::new(r.shm().window(0, 3).unwrap(), &pos);
        t.clear();
        assert_eq!(t.line(b"xyz"), Some((0, 3)), "cut to one byte");
        assert_eq!(visible(&r, 3), "x\n");
    }
}
