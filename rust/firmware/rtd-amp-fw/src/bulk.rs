//! The bulk echo service: every record Linux writes into the host →
//! firmware ring comes back, same payload and tag, in the firmware → host
//! ring (amp-proto's `bulk` module; docs/protocol.md "The bulk channel").
//!
//! The firmware initializes both rings at boot (it is the rings'
//! initializer: a new generation each boot, so a Linux application still
//! attached from the previous run sees `Reset`). The service runs on every
//! wake-up; a record stays in its ring while the reply ring is full (the
//! producer's waiting flag asks Linux for a doorbell when it frees space),
//! so a slow reader loses nothing. A ring Linux corrupted is initialized
//! again (counted, logged by the caller) rather than trusted.

use amp_proto::bulk::{self, BulkError, Consumer, Producer, RING_F2H, RING_H2F};
use amp_proto::shmem::Shm;

/// Counters of the bulk service.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BulkStats {
    /// Records echoed.
    pub records: u64,
    /// Payload bytes echoed.
    pub bytes: u64,
    /// Times the rings were initialized again after an error.
    pub resets: u64,
}

/// The service over one bulk region.
pub struct BulkEcho<'a> {
    region: Shm<'a>,
    rx: Option<Consumer<'a>>,
    tx: Option<Producer<'a>>,
    stats: BulkStats,
}

impl<'a> BulkEcho<'a> {
    /// Initializes both rings of `region` (empty, a new generation) and
    /// attaches to them: the firmware consumes [`RING_H2F`] and produces
    /// [`RING_F2H`].
    pub fn new(region: Shm<'a>) -> Self {
        let mut s = BulkEcho {
            region,
            rx: None,
            tx: None,
            stats: BulkStats::default(),
        };
        s.reinit();
        s.stats.resets = 0;
        s
    }

    fn reinit(&mut self) {
        self.stats.resets += 1;
        self.rx = None;
        self.tx = None;
        let (Ok(h2f), Ok(f2h)) = (
            bulk::ring(self.region, RING_H2F),
            bulk::ring(self.region, RING_F2H),
        ) else {
            return;
        };
        if bulk::init(h2f).is_ok() && bulk::init(f2h).is_ok() {
            self.rx = Consumer::attach(h2f).ok();
            self.tx = Producer::attach(f2h).ok();
        }
    }

    /// The counters.
    pub fn stats(&self) -> BulkStats {
        self.stats
    }

    /// Echoes every record that can go now. Returns whether Linux asked
    /// for a doorbell (ring it once), and the error that made the service
    /// initialize the rings again, if one did.
    pub fn poll(&mut self) -> (bool, Option<BulkError>) {
        let (Some(rx), Some(tx)) = (self.rx.as_mut(), self.tx.as_mut()) else {
            return (false, None);
        };
        let mut notify = false;
        let err = loop {
            let g = match rx.try_recv() {
                Ok(g) => g,
                Err(BulkError::Empty) => break None,
                Err(e) => break Some(e),
            };
            let len = g.len();
            let mut w = match tx.try_reserve(len) {
                Ok(w) => w,
                // Linux reads slowly: the record waits in its ring.
                Err(BulkError::Full) => break None,
                Err(e) => break Some(e),
            };
            // One copy, ring to ring. The record is published and not yet
            // released, so Linux (following the protocol) does not write
            // it; one that does garbles only its own echo.
            // SAFETY: `w` is a reservation nobody else touches until the
            // commit (the mutable slice is the only view of it), and the
            // record behind `g` is not written by this program.
            unsafe { w.as_mut_slice().copy_from_slice(g.as_slice()) };
            notify |= w.commit(len, g.tag());
            notify |= g.release();
            self.stats.records += 1;
            self.stats.bytes += len as u64;
        };
        if err.is_some() {
            self.reinit();
            notify = true;
        }
        (notify, err)
    }
}
