//! The global allocator: mimalloc, with honest byte accounting.
//!
//! `INFO memory` must report what the process really holds (`used_memory`),
//! so every allocation adds its *usable* size (what mimalloc actually
//! reserved for it) to a counter, and every free subtracts it. Counters are
//! per thread — one cache line each, written only by their thread — so the
//! hot path never contends; [`used_memory`] sums them on read. Memory freed
//! on another thread than it was allocated on makes single counters drift,
//! but the sum stays exact.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::ffi::c_void;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};

const SLOTS: usize = 128;

#[repr(align(64))]
struct Slot(AtomicI64);

#[allow(clippy::declare_interior_mutable_const)]
const ZERO: Slot = Slot(AtomicI64::new(0));
static COUNTERS: [Slot; SLOTS] = [ZERO; SLOTS];
static NEXT_SLOT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicI64 = AtomicI64::new(0);
static STARTUP: AtomicI64 = AtomicI64::new(0);

thread_local! {
    // Const-initialised: reading it never allocates (this runs inside the allocator).
    static MY_SLOT: Cell<usize> = const { Cell::new(usize::MAX) };
}

#[inline]
fn slot() -> &'static AtomicI64 {
    let idx = MY_SLOT
        .try_with(|s| {
            let mut i = s.get();
            if i == usize::MAX {
                i = NEXT_SLOT.fetch_add(1, Ordering::Relaxed) % SLOTS;
                s.set(i);
            }
            i
        })
        // During thread teardown the TLS slot is gone: fall back to slot 0.
        .unwrap_or(0);
    &COUNTERS[idx % SLOTS].0
}

#[inline]
fn account(delta: i64) {
    // Slots can be shared by threads beyond SLOTS, so use an atomic add.
    slot().fetch_add(delta, Ordering::Relaxed);
}

/// mimalloc plus per-thread usable-size counters.
pub struct CountingMimalloc;

fn usable(ptr: *const u8) -> i64 {
    // SAFETY: `ptr` was returned by mimalloc and is still live.
    let n = unsafe { libmimalloc_sys::mi_usable_size(ptr.cast::<c_void>()) };
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// mimalloc's `mi_malloc` already aligns every block to its natural alignment
/// up to `MI_MAX_ALIGN_SIZE` (16 bytes on x86-64 and aarch64), like C's
/// malloc, so such layouts take the plain path. The `_aligned` entry points
/// are not free: when a size class's free list is momentarily empty they fall
/// back to a generic path that over-allocates (an 80-byte, 8-aligned block
/// lands in the 96-byte class), which cost every keyspace entry 16 bytes.
const NATURAL_ALIGN: usize = 16;

#[inline]
fn plain(layout: Layout) -> bool {
    layout.align() <= NATURAL_ALIGN && layout.align() <= layout.size()
}

// SAFETY: every method forwards to mimalloc with the caller's layout (the
// plain entry points only where mimalloc's natural alignment covers it); the
// accounting only reads the usable size of live blocks.
unsafe impl GlobalAlloc for CountingMimalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded contract of GlobalAlloc::alloc; `plain` layouts
        // are aligned by mi_malloc itself.
        let p = unsafe {
            if plain(layout) {
                libmimalloc_sys::mi_malloc(layout.size())
            } else {
                libmimalloc_sys::mi_malloc_aligned(layout.size(), layout.align())
            }
        }
        .cast::<u8>();
        if !p.is_null() {
            account(usable(p));
        }
        p
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded contract of GlobalAlloc::alloc_zeroed, as in `alloc`.
        let p = unsafe {
            if plain(layout) {
                libmimalloc_sys::mi_zalloc(layout.size())
            } else {
                libmimalloc_sys::mi_zalloc_aligned(layout.size(), layout.align())
            }
        }
        .cast::<u8>();
        if !p.is_null() {
            account(usable(p));
        }
        p
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        account(-usable(ptr));
        // SAFETY: `ptr` came from this allocator.
        unsafe { libmimalloc_sys::mi_free(ptr.cast::<c_void>()) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old = usable(ptr);
        // SAFETY: forwarded contract of GlobalAlloc::realloc, as in `alloc`
        // (judged on the new size).
        let p = unsafe {
            if layout.align() <= NATURAL_ALIGN && layout.align() <= new_size {
                libmimalloc_sys::mi_realloc(ptr.cast::<c_void>(), new_size)
            } else {
                libmimalloc_sys::mi_realloc_aligned(ptr.cast::<c_void>(), new_size, layout.align())
            }
        }
        .cast::<u8>();
        if !p.is_null() {
            account(usable(p) - old);
        }
        p
    }
}

/// Bytes currently allocated by the whole process (Redis's `used_memory`).
pub fn used_memory() -> u64 {
    let sum: i64 = COUNTERS.iter().map(|s| s.0.load(Ordering::Relaxed)).sum();
    let sum = sum.max(0);
    PEAK.fetch_max(sum, Ordering::Relaxed);
    u64::try_from(sum).unwrap_or(0)
}

/// Memory settings, applied first thing in `main`: no transparent huge
/// pages for this process. mimalloc reserves and commits its first arena
/// before `main` runs; with THP every first touch in it faulted in a 2 MiB
/// page, so an idle server sat at ~20 MB RSS and small datasets paid up to
/// 2 MiB per region for a few bytes. (Measured idle RSS: 19.6 MB with THP,
/// see docs/benchmarks/memory.md for the datasets.)
pub fn configure() {
    // SAFETY: prctl(PR_SET_THP_DISABLE) takes plain integer arguments and
    // only changes this process's paging policy.
    let rc = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
    if rc != 0 {
        log::debug!("PR_SET_THP_DISABLE failed; transparent huge pages stay on");
    }
}

/// Net bytes allocated (minus freed) by the calling thread: a shard's
/// approximate share of `used_memory` (memory freed by another thread than
/// the one that allocated it is credited to the freeing thread).
pub fn thread_allocated() -> i64 {
    slot().load(Ordering::Relaxed)
}

/// Highest `used_memory` seen by [`used_memory`] or [`sample_peak`].
pub fn peak_memory() -> u64 {
    u64::try_from(PEAK.load(Ordering::Relaxed)).unwrap_or(0)
}

/// Remember the memory in use once the server is up (`used_memory_startup`).
pub fn mark_startup() {
    STARTUP.store(used_memory() as i64, Ordering::Relaxed);
}

/// Memory in use when the server finished starting.
pub fn startup_memory() -> u64 {
    u64::try_from(STARTUP.load(Ordering::Relaxed)).unwrap_or(0)
}

/// The allocator's committed bytes (mimalloc's view of pages in use,
/// `allocator_active`) for the whole process.
pub fn committed_bytes() -> u64 {
    let (mut a, mut b, mut c, mut rss, mut prss, mut commit, mut pcommit, mut faults) = (
        0usize, 0usize, 0usize, 0usize, 0usize, 0usize, 0usize, 0usize,
    );
    // SAFETY: mi_process_info writes one usize through each pointer, all
    // pointing at locals that outlive the call.
    unsafe {
        libmimalloc_sys::mi_process_info(
            &mut a,
            &mut b,
            &mut c,
            &mut rss,
            &mut prss,
            &mut commit,
            &mut pcommit,
            &mut faults,
        );
    }
    commit as u64
}

/// Fold the current usage into the peak (called periodically).
pub fn sample_peak() {
    let _ = used_memory();
}

/// Return this thread's freed memory to the OS where mimalloc can (it
/// otherwise purges only while the thread keeps allocating, so an idle
/// shard would keep the peak of a burst resident).
pub fn collect() {
    // SAFETY: mi_collect has no preconditions; it works on the calling
    // thread's heap.
    unsafe { libmimalloc_sys::mi_collect(false) };
}

/// Resident set size of the process, from /proc/self/statm.
pub fn rss_bytes() -> u64 {
    let Ok(s) = std::fs::read_to_string("/proc/self/statm") else {
        return 0;
    };
    let pages: u64 = s
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    // SAFETY: sysconf has no memory-safety preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    pages * u64::try_from(page).unwrap_or(4096)
}

/// Total RAM of the machine (`total_system_memory`).
pub fn total_system_memory() -> u64 {
    // SAFETY: sysconf has no memory-safety preconditions.
    let (pages, page) = unsafe {
        (
            libc::sysconf(libc::_SC_PHYS_PAGES),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    u64::try_from(pages).unwrap_or(0) * u64::try_from(page).unwrap_or(4096)
}
