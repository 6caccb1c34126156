//! The bump arena behind path (b-arena) of `tls_receive_path`: the measuring thread's
//! allocations, while switched on, come from a preallocated 1 MiB block by bumping a pointer, and
//! frees are no-ops; everything else goes to glibc malloc (`System`).
//!
//! Owns the arena and the example's global allocator. Invariants: only the thread that switched
//! the arena on allocates from it; an arena block is never handed out twice while live (the
//! arena rewinds only when nothing in it is live); a request that does not fit goes to `System`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Arena size: far more than one record's allocations between two resets.
const ARENA_LEN: usize = 1 << 20;

#[repr(align(64))]
struct ArenaMemory(std::cell::UnsafeCell<[u8; ARENA_LEN]>);
// SAFETY: only the thread whose `ARENA_ON` is set allocates from the arena (one thread here).
unsafe impl Sync for ArenaMemory {}
static ARENA: ArenaMemory = ArenaMemory(std::cell::UnsafeCell::new([0; ARENA_LEN]));

thread_local! {
    static ARENA_ON: Cell<bool> = const { Cell::new(false) };
    static ARENA_AT: Cell<usize> = const { Cell::new(0) };
    static ARENA_LIVE: Cell<usize> = const { Cell::new(0) };
}

fn arena_range() -> (usize, usize) {
    let start = ARENA.0.get() as usize;
    (start, start + ARENA_LEN)
}

fn in_arena(ptr: *mut u8) -> bool {
    let (start, end) = arena_range();
    (start..end).contains(&(ptr as usize))
}

/// Serves the arena thread's allocations by bumping a pointer (frees are no-ops; the arena is
/// rewound when nothing in it is live); everything else goes to glibc malloc.
struct BenchAllocator;

impl BenchAllocator {
    fn bump(layout: Layout) -> Option<*mut u8> {
        if !ARENA_ON.try_with(Cell::get).unwrap_or(false) {
            return None;
        }
        let (start, end) = arena_range();
        let at = ARENA_AT.with(Cell::get);
        let aligned = (start + at).next_multiple_of(layout.align());
        let next = aligned.checked_add(layout.size())?;
        if next > end {
            return None;
        }
        ARENA_AT.with(|c| c.set(next - start));
        ARENA_LIVE.with(|c| c.set(c.get() + 1));
        Some(aligned as *mut u8)
    }
}

// SAFETY: arena pointers are distinct, aligned and inside `ARENA` (checked above), never handed
// out twice while live (the arena rewinds only when no allocation in it is live); all other
// calls forward to `System` unchanged.
unsafe impl GlobalAlloc for BenchAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match BenchAllocator::bump(layout) {
            Some(ptr) => ptr,
            // SAFETY: forwarded verbatim.
            None => unsafe { System.alloc(layout) },
        }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if in_arena(ptr) {
            let _ = ARENA_LIVE.try_with(|c| c.set(c.get().saturating_sub(1)));
        } else {
            // SAFETY: `ptr` is not an arena pointer, so it came from System.
            unsafe { System.dealloc(ptr, layout) }
        }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !in_arena(ptr) && !ARENA_ON.try_with(Cell::get).unwrap_or(false) {
            // SAFETY: forwarded verbatim; `ptr` came from System.
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        // SAFETY: `new_size` with the old alignment is a valid layout (GlobalAlloc contract).
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: as `alloc`.
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            debug_assert!(layout.size().min(new_size) <= new_layout.size());
            // SAFETY: both blocks are valid for the smaller size and do not overlap (a live
            // block is never handed out again).
            unsafe { std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size)) };
            // SAFETY: `ptr` was allocated by this allocator with `layout`.
            unsafe { self.dealloc(ptr, layout) };
        }
        new
    }
}

#[global_allocator]
static GLOBAL: BenchAllocator = BenchAllocator;

/// Turns the arena on or off for this thread; rewinds it when nothing in it is live.
pub(crate) fn arena(on: bool) {
    ARENA_ON.with(|c| c.set(on));
    if ARENA_LIVE.with(Cell::get) == 0 {
        ARENA_AT.with(|c| c.set(0));
    }
}
