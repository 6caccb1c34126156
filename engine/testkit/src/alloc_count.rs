//! The counting global allocator shared by every zero-allocation test. A test binary installs it
//! with `kspin_testkit::install_counting_allocator!();`.
//!
//! Two ways to count, both per thread so the test harness's own threads cannot disturb a test:
//! [`allocs`] is the calling thread's running count of allocations; [`counting`] switches the
//! calling thread's contribution to a process-wide counter on or off, read and reset with
//! [`take_allocations`] (for tests that count on one thread while others run). Requested bytes are counted in [`allocated_bytes`]; frees are
//! counted in [`frees`] and [`live_bytes`]. Every method forwards to `System` unchanged.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

/// The counting allocator; see the module docs.
pub struct CountingAllocator;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    // `const` init and no destructor: reading them never allocates or registers anything.
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
    static FREES: Cell<u64> = const { Cell::new(0) };
    static LIVE_BYTES: Cell<i64> = const { Cell::new(0) };
    static ALLOCATED_BYTES: Cell<u64> = const { Cell::new(0) };
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

fn note_allocation(bytes: usize) {
    let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
    let _ = LIVE_BYTES.try_with(|c| c.set(c.get() + bytes as i64));
    let _ = ALLOCATED_BYTES.try_with(|c| c.set(c.get() + bytes as u64));
    if COUNTING.try_with(Cell::get).unwrap_or(false) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so the
// GlobalAlloc contract (layout validity, pointer provenance) is exactly System's.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_allocation(layout.size());
        // SAFETY: forwarded verbatim; the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note_allocation(layout.size());
        // SAFETY: forwarded verbatim.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_allocation(new_size);
        let _ = LIVE_BYTES.try_with(|c| c.set(c.get() - layout.size() as i64));
        // SAFETY: forwarded verbatim; `ptr` came from this allocator, i.e. from System.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let _ = FREES.try_with(|c| c.set(c.get() + 1));
        let _ = LIVE_BYTES.try_with(|c| c.set(c.get() - layout.size() as i64));
        // SAFETY: forwarded verbatim; `ptr` came from System.
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// Allocations made by the calling thread so far.
pub fn allocs() -> u64 {
    ALLOCS.with(Cell::get)
}

/// Bytes requested by the calling thread's allocations so far (a `realloc` counts its new size).
pub fn allocated_bytes() -> u64 {
    ALLOCATED_BYTES.with(Cell::get)
}

/// Frees made by the calling thread so far.
pub fn frees() -> u64 {
    FREES.with(Cell::get)
}

/// Bytes the calling thread allocated minus the bytes it freed (memory freed by another thread
/// than the one that allocated it shows on the freeing thread).
pub fn live_bytes() -> i64 {
    LIVE_BYTES.with(Cell::get)
}

/// Counts (or stops counting) the calling thread's allocations into the process-wide counter.
pub fn counting(on: bool) {
    COUNTING.with(|c| c.set(on));
}

/// The process-wide count since the last call, reset to 0.
pub fn take_allocations() -> u64 {
    ALLOCATIONS.swap(0, Ordering::Relaxed)
}
