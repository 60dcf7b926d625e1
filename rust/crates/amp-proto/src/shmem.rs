//! Access to memory shared with the other processor (or, in tests, the
//! other thread). This is the only module of the crate with `unsafe` code.
//!
//! # Invariants
//!
//! A [`Shm`] stands for `len` bytes at `base` that stay mapped, readable and
//! writable for its lifetime `'a`, as Normal memory (cacheable or not, but
//! never Device memory: bulk copies may use unaligned or paired accesses).
//! The other side may write any byte at any time, so:
//!
//! * Rust never holds a reference (`&`/`&mut`) into the region; every access
//!   is a raw-pointer volatile access or an atomic load/store, so the
//!   compiler neither caches nor invents accesses. Only whole-buffer copies
//!   ([`Shm::read_bytes`], [`Shm::write_bytes`]) use plain `copy`; they are
//!   only done on buffers the protocol hands to us exclusively, after an
//!   acquire (or before a release) on the ring index that transfers them.
//! * Every access is bounds-checked against `len`. Offsets are computed by
//!   the protocol modules from validated values, so a failed check is a bug
//!   in this crate, and it panics rather than touching foreign memory.
//! * Ring indices are published with release stores and read with acquire
//!   loads ([`Shm::store_u16_release`], [`Shm::load_u16_acquire`]), which on
//!   AArch64 become `stlrh`/`ldarh`; both cores are in the same
//!   inner-shareable domain, so these order the descriptor and buffer
//!   accesses around them. No read-modify-write atomics are used: exclusive
//!   accesses are not guaranteed to work on non-cacheable memory.

use core::cell::UnsafeCell;
use core::marker::PhantomData;
use core::ptr::NonNull;
use core::sync::atomic::{fence, AtomicU16, AtomicU64, Ordering};

/// A window of shared memory; see the module invariants.
#[derive(Clone, Copy)]
pub struct Shm<'a> {
    base: NonNull<u8>,
    len: usize,
    _life: PhantomData<&'a UnsafeCell<[u8]>>,
}

// SAFETY: a Shm is a raw view whose accesses are all volatile or atomic and
// bounds-checked; sharing it between threads is what shared memory is for.
unsafe impl Send for Shm<'_> {}
// SAFETY: as above.
unsafe impl Sync for Shm<'_> {}

impl core::fmt::Debug for Shm<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Shm({:#x}+{:#x})", self.base.as_ptr() as usize, self.len)
    }
}

impl<'a> Shm<'a> {
    /// Wraps `len` bytes at `base`.
    ///
    /// # Safety
    /// `base..base+len` must be mapped as Normal memory, readable and
    /// writable, for all of `'a`, and nothing in this program may hold a
    /// Rust reference into it during `'a`.
    pub unsafe fn new(base: *mut u8, len: usize) -> Self {
        let base = NonNull::new(base).expect("shared region at address 0");
        assert!((base.as_ptr() as usize).checked_add(len).is_some());
        Shm {
            base,
            len,
            _life: PhantomData,
        }
    }

    /// Length in bytes.
    pub const fn len(&self) -> usize {
        self.len
    }

    /// Whether the window is empty.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The CPU address of the first byte (for alignment checks and logs).
    pub fn addr(&self) -> usize {
        self.base.as_ptr() as usize
    }

    /// The whole window as a Rust slice (zero-copy reads).
    ///
    /// # Safety
    /// Breaks the first invariant on purpose, so the caller promises it
    /// instead: nothing (this program or the peer) writes the window while
    /// the slice lives. The bulk channel hands out such views of records
    /// the protocol gives the caller exclusively.
    pub unsafe fn as_slice(&self) -> &'a [u8] {
        // SAFETY: base..base+len is valid for 'a (type invariant); no writer
        // while the slice lives is the caller's promise.
        unsafe { core::slice::from_raw_parts(self.base.as_ptr(), self.len) }
    }

    /// The whole window as a mutable Rust slice (zero-copy writes).
    ///
    /// # Safety
    /// As [`Shm::as_slice`], and nothing else (this program or the peer)
    /// reads or writes the window while the slice lives.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn as_mut_slice(&self) -> &'a mut [u8] {
        // SAFETY: as above; exclusivity is the caller's promise.
        unsafe { core::slice::from_raw_parts_mut(self.base.as_ptr(), self.len) }
    }

    /// The sub-window `off..off+len`, or `None` when it is out of bounds.
    pub fn window(&self, off: usize, len: usize) -> Option<Shm<'a>> {
        if off.checked_add(len)? > self.len {
            return None;
        }
        // SAFETY: in bounds of a region valid for 'a (checked above).
        let base = unsafe { NonNull::new_unchecked(self.base.as_ptr().add(off)) };
        Some(Shm {
            base,
            len,
            _life: PhantomData,
        })
    }

    fn ptr(&self, off: usize, size: usize) -> *mut u8 {
        match off.checked_add(size) {
            Some(end) if end <= self.len => {}
            _ => self.out_of_bounds(off, size),
        }
        // SAFETY: off + size <= len, so the result stays inside the region.
        unsafe { self.base.as_ptr().add(off) }
    }

    /// The panic of a failed bounds check, out of line: every accessor
    /// inlines only the comparison and a call.
    #[cold]
    #[inline(never)]
    fn out_of_bounds(&self, off: usize, size: usize) -> ! {
        panic!("shared-memory access {off:#x}+{size} outside {self:?}")
    }

    /// Reads `N` bytes at an unaligned `off` one volatile byte at a time
    /// (strict-alignment targets fault on unaligned accesses); shared by
    /// every accessor, out of line.
    #[inline(never)]
    fn read_unaligned(&self, off: usize, n: usize) -> u64 {
        let mut v = 0u64;
        for i in (0..n).rev() {
            v = v << 8 | u64::from(self.read_u8(off + i));
        }
        v
    }

    /// Writes the `n` low bytes of `v` at an unaligned `off`, little-endian,
    /// one volatile byte at a time.
    #[inline(never)]
    fn write_unaligned(&self, off: usize, n: usize, v: u64) {
        for i in 0..n {
            self.write_u8(off + i, (v >> (8 * i)) as u8);
        }
    }

    /// Reads one byte.
    pub fn read_u8(&self, off: usize) -> u8 {
        let p = self.ptr(off, 1);
        // SAFETY: in bounds (checked by ptr), region valid for 'a.
        unsafe { p.read_volatile() }
    }

    /// Writes one byte.
    pub fn write_u8(&self, off: usize, v: u8) {
        let p = self.ptr(off, 1);
        // SAFETY: in bounds (checked by ptr), region valid for 'a.
        unsafe { p.write_volatile(v) }
    }
}

macro_rules! le_accessors {
    ($($ty:ty, $read:ident, $write:ident;)*) => {
        impl Shm<'_> {
            $(
                #[doc = concat!("Reads a little-endian `", stringify!($ty), "` (volatile).")]
                pub fn $read(&self, off: usize) -> $ty {
                    const N: usize = core::mem::size_of::<$ty>();
                    let p = self.ptr(off, N);
                    if (p as usize) % N == 0 {
                        // SAFETY: in bounds and naturally aligned.
                        <$ty>::from_le(unsafe { p.cast::<$ty>().read_volatile() })
                    } else {
                        self.read_unaligned(off, N) as $ty
                    }
                }

                #[doc = concat!("Writes a little-endian `", stringify!($ty), "` (volatile).")]
                pub fn $write(&self, off: usize, v: $ty) {
                    const N: usize = core::mem::size_of::<$ty>();
                    let p = self.ptr(off, N);
                    if (p as usize) % N == 0 {
                        // SAFETY: in bounds and naturally aligned.
                        unsafe { p.cast::<$ty>().write_volatile(v.to_le()) }
                    } else {
                        self.write_unaligned(off, N, v.into())
                    }
                }
            )*
        }
    };
}

le_accessors! {
    u16, read_u16, write_u16;
    u32, read_u32, write_u32;
    u64, read_u64, write_u64;
}

/// Accessors for offsets the caller has already proven naturally aligned
/// (the device role: vrings are checked 16-byte aligned when attached, and
/// RPMsg buffers whose bus address is not 8-byte aligned are refused before
/// they are mapped, see `rpmsg`). They have no byte-by-byte fallback, which
/// keeps the device role small; a misaligned offset is a bug of the caller
/// and panics like an out-of-bounds one.
macro_rules! aligned_accessors {
    ($($ty:ty, $read:ident, $write:ident;)*) => {
        impl Shm<'_> {
            $(
                #[doc = concat!("Reads a little-endian `", stringify!($ty),
                    "` (volatile) at a naturally aligned address; panics if it is not.")]
                pub fn $read(&self, off: usize) -> $ty {
                    let p = self.aligned_ptr(off, core::mem::size_of::<$ty>());
                    // SAFETY: in bounds and naturally aligned (aligned_ptr).
                    <$ty>::from_le(unsafe { p.cast::<$ty>().read_volatile() })
                }

                #[doc = concat!("Writes a little-endian `", stringify!($ty),
                    "` (volatile) at a naturally aligned address; panics if it is not.")]
                pub fn $write(&self, off: usize, v: $ty) {
                    let p = self.aligned_ptr(off, core::mem::size_of::<$ty>());
                    // SAFETY: in bounds and naturally aligned (aligned_ptr).
                    unsafe { p.cast::<$ty>().write_volatile(v.to_le()) }
                }
            )*
        }
    };
}

aligned_accessors! {
    u32, read_u32_aligned, write_u32_aligned;
    u64, read_u64_aligned, write_u64_aligned;
}

impl Shm<'_> {
    /// `ptr(off, size)`, and `size`-aligned (a power of two), or a panic.
    fn aligned_ptr(&self, off: usize, size: usize) -> *mut u8 {
        match off.checked_add(size) {
            Some(end) if end <= self.len && (self.addr() + off) & (size - 1) == 0 => {}
            _ => self.misaligned(off, size),
        }
        // SAFETY: off + size <= len (just checked), so within the region.
        unsafe { self.base.as_ptr().add(off) }
    }

    #[cold]
    #[inline(never)]
    fn misaligned(&self, off: usize, size: usize) -> ! {
        panic!("shared-memory access {off:#x}+{size} outside {self:?} or not {size}-byte aligned")
    }
}

impl Shm<'_> {
    fn atomic_u16(&self, off: usize) -> &AtomicU16 {
        let p = self.ptr(off, 2);
        assert!(p as usize % 2 == 0, "misaligned ring index at {off:#x}");
        // SAFETY: in bounds, 2-aligned, valid for 'a; the AtomicU16 is only
        // used for one plain load or store (no RMW), never exposed.
        unsafe { AtomicU16::from_ptr(p.cast()) }
    }

    /// Loads a little-endian `u16` with acquire ordering: the accesses after
    /// it see everything the writer did before its release store.
    pub fn load_u16_acquire(&self, off: usize) -> u16 {
        u16::from_le(self.atomic_u16(off).load(Ordering::Acquire))
    }

    /// Stores a little-endian `u16` with release ordering (publishes every
    /// access before it).
    pub fn store_u16_release(&self, off: usize, v: u16) {
        self.atomic_u16(off).store(v.to_le(), Ordering::Release)
    }

    fn atomic_u64(&self, off: usize) -> &AtomicU64 {
        let p = self.ptr(off, 8);
        assert!(p as usize % 8 == 0, "misaligned ring index at {off:#x}");
        // SAFETY: in bounds, 8-aligned, valid for 'a; the AtomicU64 is only
        // used for one plain load or store (no RMW), never exposed.
        unsafe { AtomicU64::from_ptr(p.cast()) }
    }

    /// Loads a little-endian `u64` with acquire ordering (`ldar` on
    /// AArch64: single-copy atomic when 8-aligned, also on non-cacheable
    /// Normal memory).
    pub fn load_u64_acquire(&self, off: usize) -> u64 {
        u64::from_le(self.atomic_u64(off).load(Ordering::Acquire))
    }

    /// Stores a little-endian `u64` with release ordering (`stlr`).
    pub fn store_u64_release(&self, off: usize, v: u64) {
        self.atomic_u64(off).store(v.to_le(), Ordering::Release)
    }

    /// Copies `dst.len()` bytes from `off` into `dst`.
    pub fn read_bytes(&self, off: usize, dst: &mut [u8]) {
        let p = self.ptr(off, dst.len());
        // SAFETY: source in bounds; dst is ordinary memory, so no overlap.
        // The buffer is ours by protocol (module invariants).
        unsafe { core::ptr::copy_nonoverlapping(p, dst.as_mut_ptr(), dst.len()) }
    }

    /// Copies `src` into the region at `off`.
    pub fn write_bytes(&self, off: usize, src: &[u8]) {
        let p = self.ptr(off, src.len());
        // SAFETY: destination in bounds; src is ordinary memory.
        unsafe { core::ptr::copy_nonoverlapping(src.as_ptr(), p, src.len()) }
    }

    /// Copies all of `src`, another shared region (a received payload),
    /// into this region at `off`: one copy, shared memory to shared memory,
    /// in volatile 8-byte words when both ends are 8-aligned (Linux's
    /// buffers are), the rest byte by byte. The two may overlap (a faulty
    /// peer can post one buffer in both rings): every access is a volatile
    /// one to memory in bounds, so the result is the peer's problem, never
    /// undefined behaviour. A loop of its own rather than `memcpy`, which
    /// would cost a firmware 272 bytes for this one copy.
    pub fn copy_from(&self, off: usize, src: &Shm<'_>) {
        let n = src.len;
        let d = self.ptr(off, n);
        let s = src.base.as_ptr();
        let mut i = 0;
        if (d as usize | s as usize) % 8 == 0 {
            while n - i >= 8 {
                // SAFETY: i + 8 <= n, both in bounds (src is a whole Shm,
                // d checked by ptr) and 8-aligned; raw volatile accesses,
                // no reference formed.
                unsafe {
                    let w = s.add(i).cast::<u64>().read_volatile();
                    d.add(i).cast::<u64>().write_volatile(w);
                }
                i += 8;
            }
        }
        while i < n {
            // SAFETY: i < n, both in bounds as above.
            unsafe { d.add(i).write_volatile(s.add(i).read_volatile()) }
            i += 1;
        }
    }

    /// Sets `len` bytes at `off` to `byte` (volatile, so it is never elided).
    pub fn fill(&self, off: usize, len: usize, byte: u8) {
        self.ptr(off, len);
        for i in 0..len {
            self.write_u8(off + i, byte);
        }
    }
}

/// Full barrier: orders earlier stores before later loads. Virtio needs it
/// between publishing an index and reading the other side's suppression
/// flag, or a notification can be lost.
pub fn full_barrier() {
    fence(Ordering::SeqCst);
}

/// Bytes that live in a `static` yet are written by the other side (the
/// resource table Linux updates in place): interior mutability makes that
/// sound, and [`SharedBytes::shm`] is the only way in.
#[repr(C, align(8))]
pub struct SharedBytes<const N: usize>(UnsafeCell<[u8; N]>);

// SAFETY: the bytes are only reached through Shm's volatile accesses.
unsafe impl<const N: usize> Sync for SharedBytes<N> {}

impl<const N: usize> SharedBytes<N> {
    /// Wraps initial contents (usable in a `static` initializer).
    pub const fn new(bytes: [u8; N]) -> Self {
        SharedBytes(UnsafeCell::new(bytes))
    }

    /// A shared-memory view of the bytes.
    pub fn shm(&self) -> Shm<'_> {
        // SAFETY: the cell is valid for the borrow, N bytes, Normal memory;
        // no Rust reference into it is ever handed out.
        unsafe { Shm::new(self.0.get().cast(), N) }
    }
}

/// A window of shared memory together with the bus address the peers put
/// in descriptors and resource entries for its first byte. On the target
/// (identity mapped) the bus address is the physical address.
#[derive(Clone, Copy, Debug)]
pub struct BusWindow<'a> {
    shm: Shm<'a>,
    bus_base: u64,
}

impl<'a> BusWindow<'a> {
    /// `shm` is seen by the peer at `bus_base`.
    pub const fn new(shm: Shm<'a>, bus_base: u64) -> Self {
        BusWindow { shm, bus_base }
    }

    /// Bus address of the first byte.
    pub const fn bus_base(&self) -> u64 {
        self.bus_base
    }

    /// The whole window.
    pub const fn shm(&self) -> Shm<'a> {
        self.shm
    }

    /// The region `bus..bus+len`, or `None` unless it lies entirely inside
    /// the window (so a peer's address can never reach other memory).
    pub fn map(&self, bus: u64, len: usize) -> Option<Shm<'a>> {
        let off = bus.checked_sub(self.bus_base)?;
        self.shm.window(usize::try_from(off).ok()?, len)
    }

    /// Bus address of the byte at `off` in the window.
    pub fn bus_addr(&self, off: usize) -> u64 {
        self.bus_base + off as u64
    }
}

/// Zeroed, page-aligned heap memory that plays the shared carveout in tests,
/// the benchmark and host-side simulations.
#[cfg(feature = "std")]
pub struct OwnedRegion {
    ptr: NonNull<u8>,
    layout: std::alloc::Layout,
}

#[cfg(feature = "std")]
// SAFETY: owns its allocation; all access goes through Shm.
unsafe impl Send for OwnedRegion {}
#[cfg(feature = "std")]
// SAFETY: as above.
unsafe impl Sync for OwnedRegion {}

#[cfg(feature = "std")]
impl OwnedRegion {
    /// Allocates `len` zeroed bytes aligned to 4096.
    pub fn new(len: usize) -> Self {
        let layout = std::alloc::Layout::from_size_align(len.max(1), 4096).expect("region size");
        // SAFETY: layout has non-zero size.
        let raw = unsafe { std::alloc::alloc_zeroed(layout) };
        let ptr = NonNull::new(raw).unwrap_or_else(|| std::alloc::handle_alloc_error(layout));
        OwnedRegion { ptr, layout }
    }

    /// A view of the whole region, valid while it is borrowed.
    pub fn shm(&self) -> Shm<'_> {
        // SAFETY: the allocation lives as long as the borrow of self, and
        // OwnedRegion hands out no references into it.
        unsafe { Shm::new(self.ptr.as_ptr(), self.layout.size()) }
    }
}

#[cfg(feature = "std")]
impl Drop for OwnedRegion {
    fn drop(&mut self) {
        // SAFETY: allocated in new() with this layout.
        unsafe { std::alloc::dealloc(self.ptr.as_ptr(), self.layout) }
    }
}
