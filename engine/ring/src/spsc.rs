//! The bounded single-producer single-consumer ring: [`spsc`] allocates it once and hands back
//! the only [`Producer`] and the only [`Consumer`].
//!
//! Invariants:
//! - The producer's `tail` and the consumer's `head` are free-running `usize` counters; a
//!   value's slot is `counter & mask`; `0 <= tail - head <= capacity` in wrapping arithmetic,
//!   and capacity is a power of two, so wrap-around of the counters themselves is harmless.
//! - Every slot holds, beside its value, a 32-bit *sequence*: [`seq_of`]`(counter)` once the
//!   value for `counter` is published, and the sequence of `counter - capacity` (the slot's
//!   previous lap) before that. The consumer takes the value for `head` only when the slot's
//!   sequence says it is published; capacity is at most 2^31, so two laps never share a
//!   sequence. The consumer therefore never reads a shared tail: the line that tells it a value
//!   is there is the line that holds the value, and one message hands one cache line over
//!   (for slots that are one line, like the engine's wire events) instead of two.
//! - Slots `head..tail` hold values owned by the consumer's side once published (written but
//!   unpublished ones are invisible to it); slots `tail..head + capacity` are free and owned by
//!   the producer. A side touches a slot's value only while it owns it.
//! - A publish stores the sequences of its values last-to-first, the first with `Release`, so a
//!   consumer that sees the first value of a publish sees all of it: a message written as
//!   several values and published once is never seen in part.
//! - `head` is shared (written by the consumer once per pop or batch); the producer keeps a
//!   cached copy and reads the shared one only when the cache says "full". The fast path is
//!   the slot copies and one `Release` store per publish: no CAS, no fence instruction on
//!   x86_64, no line the consumer polls other than the slots themselves.
//! - `head` lives on its own [`CachePadded`] unit, apart from the slot array's pointer.
//! - When a slot (value and sequence) is a power of two up to a page (like the engine's 60-byte
//!   wire events or 12-byte stage records with their sequence), slot 0 starts on a page
//!   boundary: no slot straddles two cache lines, and every ring of such values has the same
//!   placement of slots within pages and within the 128-byte line pairs the L2 prefetches
//!   together, whatever address the allocator returned. Other slots start wherever the
//!   allocator put the array.
//!
//! It never allocates after [`spsc`] returns, never blocks, never panics on the fast path, and
//! never drops a value (`T: Copy`, so an unread value needs no drop; the slots are freed with the
//! last of the two handles).

use crate::cache_padded::CachePadded;
use crate::sync::{fence, Arc, AtomicU32, AtomicUsize, Ordering, SlotCell};
use core::fmt;
use core::mem::{size_of, MaybeUninit};
use core::ptr::NonNull;
use std::alloc::{alloc, dealloc, handle_alloc_error, Layout};

/// Smallest capacity: with one slot the producer and consumer would always contend on it.
const MIN_CAPACITY: usize = 2;

/// Largest capacity: a slot's 32-bit sequence must differ between two consecutive laps of that
/// slot, which are `capacity` counters apart, so `capacity < 2^32`; 2^31 is the largest power of
/// two below it.
const MAX_CAPACITY: usize = 1 << 31;

/// Linux x86_64 base page size. Touching one byte per 4 KiB at construction maps every page of
/// the slot array, so the first pass over the ring never page-faults on the hot path (huge pages
/// are multiples of it, so the stride is also correct for them, just redundant).
const PAGE_BYTES: usize = 4096;

/// Slot sizes (bytes) for which the slot array starts on a page boundary: powers of two up to a
/// page. Then no slot smaller than a cache line straddles two, and whole-line slots each fill
/// their own lines.
const fn page_aligned_slots(slot_bytes: usize) -> bool {
    slot_bytes.is_power_of_two() && slot_bytes <= PAGE_BYTES
}

/// The sequence a slot holds once the value for `counter` is published in it (the low 32 bits
/// of `counter + 1`: 0 never stands for counter 0, whose slot starts at the previous lap's).
#[inline(always)]
const fn seq_of(counter: usize) -> u32 {
    (counter as u32).wrapping_add(1)
}

/// Why a ring could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RingError {
    /// The capacity rounded up to a power of two exceeds 2^31, or times the slot size exceeds
    /// `isize::MAX`.
    CapacityTooLarge {
        /// The capacity that was asked for.
        requested: usize,
    },
}

impl fmt::Display for RingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RingError::CapacityTooLarge { requested } => {
                write!(
                    f,
                    "ring capacity {requested} is too large (at most 2^31 slots, within the \
                     address space)"
                )
            }
        }
    }
}

impl std::error::Error for RingError {}

/// One slot: a value and the sequence that says which counter's value it holds, published.
/// `repr(C)` keeps the sequence right after the value, in the value's last cache line.
#[repr(C)]
struct Slot<T> {
    value: SlotCell<MaybeUninit<T>>,
    seq: AtomicU32,
}

/// Shared state of one ring. `repr(C)` fixes the field order so the consumer-written and
/// read-only parts sit on separate padded units.
#[repr(C)]
struct Ring<T> {
    /// Next counter the consumer will read. Written only by the consumer.
    head: CachePadded<AtomicUsize>,
    /// The `capacity` slots, allocated in [`try_spsc`] with `layout` and freed in `drop`;
    /// read-only pointer after construction.
    slots: NonNull<Slot<T>>,
    capacity: usize,
    layout: Layout,
}

impl<T> Ring<T> {
    /// The ring's slot `index` (`index <= mask`).
    #[inline(always)]
    fn slot(&self, index: usize) -> &Slot<T> {
        debug_assert!(index < self.capacity);
        // SAFETY: callers pass `index = counter & mask <= mask = capacity - 1`, and `slots`
        // points to `capacity` slots, all initialised in `try_spsc` and alive until `drop`.
        unsafe { &*self.slots.as_ptr().add(index) }
    }
}

impl<T> Drop for Ring<T> {
    fn drop(&mut self) {
        // SAFETY: `slots` was allocated with `layout` and holds `capacity` initialised slots
        // (see `try_spsc`); this is the last reference to the ring, so nothing reads them any
        // more. Dropping a slot drops its cell and sequence, never a `T` (`MaybeUninit`).
        unsafe {
            core::ptr::drop_in_place(core::ptr::slice_from_raw_parts_mut(
                self.slots.as_ptr(),
                self.capacity,
            ));
            dealloc(self.slots.as_ptr().cast::<u8>(), self.layout);
        }
    }
}

// SAFETY: the ring hands each slot's value to exactly one side at a time (see the module
// invariants); the handover is ordered by the Release/Acquire pairs on the slot sequences
// (producer → consumer) and on `head` (consumer → producer). So sharing `Ring` between the
// producer's and consumer's threads only ever moves `T` values across threads, which needs
// `T: Send`, not `T: Sync`.
unsafe impl<T: Send> Sync for Ring<T> {}
// SAFETY: the ring owns its slot array (the raw pointer is the only reference to it, freed in
// `drop`), so moving the ring to another thread moves the `T` values in it: `T: Send` suffices.
unsafe impl<T: Send> Send for Ring<T> {}

/// Builds a ring holding at least `capacity` values (rounded up to a power of two, at least 2).
///
/// This is the only place the ring allocates: the slot array and the shared header. Every page
/// of the slot array is touched here so the hot path never page-faults on it.
///
/// # Panics
/// If the rounded capacity exceeds 2^31 or times the slot size overflows `isize::MAX` (see
/// [`try_spsc`] for a non-panicking variant), or if the allocation fails.
pub fn spsc<T: Copy + Send>(capacity: usize) -> (Producer<T>, Consumer<T>) {
    match try_spsc(capacity) {
        Ok(handles) => handles,
        Err(error) => panic!("{error}"),
    }
}

/// Like [`spsc`], but returns [`RingError::CapacityTooLarge`] instead of panicking when the
/// capacity cannot be represented.
pub fn try_spsc<T: Copy + Send>(capacity: usize) -> Result<(Producer<T>, Consumer<T>), RingError> {
    let too_large = RingError::CapacityTooLarge {
        requested: capacity,
    };
    let capacity = capacity
        .max(MIN_CAPACITY)
        .checked_next_power_of_two()
        .filter(|&rounded| rounded <= MAX_CAPACITY)
        .ok_or(too_large)?;
    // The slot's own size (value and sequence; loom's cell adds its bookkeeping). Whole-line
    // slots that divide a page get a page-aligned array, so slot 0 starts a page.
    let slot_bytes = size_of::<Slot<T>>();
    let layout = Layout::array::<Slot<T>>(capacity).map_err(|_| too_large)?;
    let layout = if page_aligned_slots(slot_bytes) {
        layout.align_to(PAGE_BYTES).map_err(|_| too_large)?
    } else {
        layout
    };
    // SAFETY: `layout` has a non-zero size (at least two slots, each holding a 4-byte
    // sequence); the result is checked for null below.
    let raw = unsafe { alloc(layout) }.cast::<Slot<T>>();
    let Some(slots) = NonNull::new(raw) else {
        handle_alloc_error(layout)
    };
    #[cfg(not(loom))]
    prefault(slots.as_ptr().cast::<u8>(), layout.size());
    for index in 0..capacity {
        debug_assert!(index < capacity);
        // Each slot starts as if it held the value of its counter one lap before counter 0.
        let slot = Slot {
            value: SlotCell::new(MaybeUninit::uninit()),
            seq: AtomicU32::new(seq_of(index.wrapping_sub(capacity))),
        };
        // SAFETY: `index < capacity` and the allocation holds `capacity` slots (its layout is
        // an array of them, at least as aligned), so the write is in bounds and aligned; the
        // memory is uninitialised and owned here, so nothing is overwritten or dropped.
        unsafe { slots.as_ptr().add(index).write(slot) };
    }
    let ring = Arc::new(Ring {
        head: CachePadded::new(AtomicUsize::new(0)),
        slots,
        capacity,
        layout,
    });
    let mask = capacity - 1;
    let producer = Producer {
        ring: Arc::clone(&ring),
        mask,
        tail: 0,
        published: 0,
        cached_head: 0,
    };
    let consumer = Consumer {
        ring,
        mask,
        head: 0,
    };
    Ok((producer, consumer))
}

/// Writes one zero byte per page of the fresh slot array (`bytes` long, from `base`) so its
/// pages are mapped now, not on the hot path. Volatile, so the writes are not merged into a
/// `calloc` or elided. Runs before the slots are initialised.
#[cfg(not(loom))]
fn prefault(base: *mut u8, bytes: usize) {
    let mut offset = 0;
    while offset < bytes {
        debug_assert!(offset < bytes);
        // SAFETY: `offset < bytes`, so the byte is inside the allocation, which is owned here
        // (no handle exists yet) and not yet initialised: any byte may be written.
        unsafe { base.add(offset).write_volatile(0) };
        offset += PAGE_BYTES;
    }
}

/// True when the other handle of `ring` has been dropped.
fn abandoned<T>(ring: &Arc<Ring<T>>) -> bool {
    let alone = Arc::strong_count(ring) == 1;
    // Acquire fence: pairs with the Release decrement in the other handle's `Arc` drop, so
    // everything that handle published before it was dropped (its last sequence or `head`
    // store) is visible to the loads that follow a `true` answer. `strong_count` itself loads
    // Relaxed.
    fence(Ordering::Acquire);
    alone
}

/// The writing end of a ring. Exactly one exists per ring; it is `Send` but not `Clone`.
///
/// Values reach the consumer when they are *published*. [`try_push`](Self::try_push) writes and
/// publishes one value. A producer that writes several values at once (the engine core writes
/// each book message whole) uses [`reserve`](Self::reserve) (room for `n` more, judged from its
/// cached view of the consumer and refreshed only when that view says no),
/// [`try_write`](Self::try_write) (into a free slot, not yet visible) and
/// [`publish`](Self::publish) (every written value at once: one Release store).
pub struct Producer<T> {
    ring: Arc<Ring<T>>,
    mask: usize,
    /// Next counter this side will write (this side is the only writer of slots).
    tail: usize,
    /// Counters below this one are published (their slots' sequences are stored); `tail -
    /// published` values are written but not yet visible.
    published: usize,
    /// Last value of `ring.head` this side read; never ahead of the real `head`.
    cached_head: usize,
}

impl<T: Copy> Producer<T> {
    /// Appends `value` and publishes it (with any value written before and not yet published),
    /// or returns it in `Err` when the ring is full. Never blocks or allocates.
    #[inline]
    pub fn try_push(&mut self, value: T) -> Result<(), T> {
        let tail = self.tail;
        if tail.wrapping_sub(self.cached_head) > self.mask {
            self.refresh_head();
            if tail.wrapping_sub(self.cached_head) > self.mask {
                return Err(value);
            }
        }
        let slot = Self::write_free_slot(&self.ring, self.mask, self.cached_head, tail, value);
        self.tail = tail.wrapping_add(1);
        if self.published == tail {
            // Nothing else waits: `publish` for this one value, in the slot just written.
            self.published = self.tail;
            // Release: as in `publish`, pairs with the consumer's Acquire load of this sequence.
            slot.seq.store(seq_of(tail), Ordering::Release);
        } else {
            self.publish();
        }
        Ok(())
    }

    /// Whether `n` more values fit now, beyond those written and not yet published. Reads the
    /// consumer's position only when the cached one says they do not.
    #[inline]
    pub fn reserve(&mut self, n: usize) -> bool {
        if self.room() >= n {
            return true;
        }
        self.refresh_head();
        self.room() >= n
    }

    /// Writes `value` into the next free slot without publishing it, or returns it in `Err` when
    /// the cached view of the consumer says the ring is full (call [`reserve`](Self::reserve)
    /// first to know a run of writes fits). The value is invisible to the consumer until
    /// [`publish`](Self::publish).
    #[inline]
    pub fn try_write(&mut self, value: T) -> Result<(), T> {
        if self.room() == 0 {
            return Err(value);
        }
        self.write_slot(value);
        Ok(())
    }

    /// Writes all of `values` into the next free slots without publishing them, in order, or
    /// none of them (returning `false`) when the cached view of the consumer says they do not
    /// all fit (call [`reserve`](Self::reserve) first). One room check for the run, the counter
    /// kept in a register across it: what [`try_write`](Self::try_write) in a loop does, cheaper.
    #[inline]
    pub fn try_write_run(&mut self, values: &[T]) -> bool {
        if self.room() < values.len() {
            return false;
        }
        let ring = &*self.ring;
        let mut tail = self.tail;
        for &value in values {
            debug_assert!(tail.wrapping_sub(self.cached_head) <= self.mask);
            // `index <= mask`, as `Ring::slot` needs.
            let slot = ring.slot(tail & self.mask);
            slot.value.with_mut(|ptr| {
                // SAFETY: every counter of the run is below `cached_head + capacity` (checked
                // above against a `head` no newer than the real one), so its slot is free and
                // owned by this, the only producer, as in `write_slot`; the consumer will not
                // read it before a publish stores its sequence.
                unsafe { (*ptr).write(value) };
            });
            tail = tail.wrapping_add(1);
        }
        self.tail = tail;
        true
    }

    /// Makes every written value visible to the consumer, in order, all at once: stores their
    /// slots' sequences from the last to the first, only the first with `Release` (nothing when
    /// nothing is waiting). The stores go to the lines the values were just written to.
    #[inline]
    pub fn publish(&mut self) {
        let first = self.published;
        let count = self.tail.wrapping_sub(first);
        if count == 0 {
            return;
        }
        self.published = self.tail;
        let ring = &*self.ring;
        let mut offset = count;
        while offset > 1 {
            offset -= 1;
            let counter = first.wrapping_add(offset);
            // Relaxed: made visible by the Release store of the first value's sequence below,
            // which follows it in program order; the consumer reaches this slot only after
            // taking that first one with Acquire.
            ring.slot(counter & self.mask)
                .seq
                .store(seq_of(counter), Ordering::Relaxed);
        }
        // Release: pairs with the consumer's Acquire load of this sequence, publishing every
        // value write of this publish and the later slots' sequences stored above.
        ring.slot(first & self.mask)
            .seq
            .store(seq_of(first), Ordering::Release);
    }

    /// Forgets the values written since the last [`publish`](Self::publish): the consumer never
    /// sees them and their slots are free again.
    #[inline]
    pub fn discard_unpublished(&mut self) {
        self.tail = self.published;
    }

    /// Values written and not yet published.
    #[inline]
    pub fn unpublished(&self) -> usize {
        self.tail.wrapping_sub(self.published)
    }

    /// Free slots according to the cached view of the consumer (a lower bound).
    #[inline(always)]
    fn room(&self) -> usize {
        self.capacity() - self.tail.wrapping_sub(self.cached_head)
    }

    #[inline]
    fn refresh_head(&mut self) {
        // Acquire: pairs with the consumer's Release store of `head` (try_pop / pop_batch), so
        // its reads of the slots it released happen before we overwrite them.
        self.cached_head = self.ring.head.load(Ordering::Acquire);
    }

    /// Writes the slot at `tail` (which the caller checked is free) and advances `tail`.
    #[inline(always)]
    fn write_slot(&mut self, value: T) {
        let tail = self.tail;
        Self::write_free_slot(&self.ring, self.mask, self.cached_head, tail, value);
        self.tail = tail.wrapping_add(1);
    }

    /// Writes `value` into the slot at counter `tail` of `ring` (free: the caller checked
    /// `tail - cached_head <= mask`) and returns that slot; the caller advances `tail`.
    #[inline(always)]
    fn write_free_slot(
        ring: &Ring<T>,
        mask: usize,
        cached_head: usize,
        tail: usize,
        value: T,
    ) -> &Slot<T> {
        debug_assert!(tail.wrapping_sub(cached_head) <= mask);
        // `index <= mask`, as `Ring::slot` needs.
        let slot = ring.slot(tail & mask);
        slot.value.with_mut(|ptr| {
            // SAFETY: the slot at counter `tail` is free (`tail - head < capacity`, checked by
            // the caller against a `head` no newer than the real one) and so owned by this, the
            // only producer; the consumer will not read it until a publish stores its sequence.
            // Writing a `MaybeUninit` through the cell's pointer is what the cell is for.
            unsafe { (*ptr).write(value) };
        });
        slot
    }

    /// A lower bound on how many values [`try_push`](Self::try_push) would accept right now
    /// (the consumer may free more at any moment).
    pub fn free_slots(&self) -> usize {
        // Relaxed: only a count; no slot is accessed on the strength of this load. Any value
        // read is no newer than the real `head`, which makes the result a lower bound.
        let head = self.ring.head.load(Ordering::Relaxed);
        self.capacity() - self.tail.wrapping_sub(head)
    }

    /// The number of slots (a power of two).
    pub fn capacity(&self) -> usize {
        self.mask + 1
    }

    /// True once the [`Consumer`] has been dropped: nothing pushed from now on will be read.
    /// Not for the hot path (reads the shared reference count).
    pub fn is_abandoned(&self) -> bool {
        abandoned(&self.ring)
    }
}

impl<T> fmt::Debug for Producer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Producer")
            .field("capacity", &(self.mask + 1))
            .field("tail", &self.tail)
            .finish_non_exhaustive()
    }
}

/// The reading end of a ring. Exactly one exists per ring; it is `Send` but not `Clone`.
pub struct Consumer<T> {
    ring: Arc<Ring<T>>,
    mask: usize,
    /// Private copy of `ring.head` (this side is its only writer).
    head: usize,
}

impl<T: Copy> Consumer<T> {
    /// Removes and returns the oldest value, or `None` when the ring is empty.
    #[inline]
    pub fn try_pop(&mut self) -> Option<T> {
        let head = self.head;
        if !self.is_published(head) {
            return None;
        }
        let value = self.read_slot(head);
        self.head = head.wrapping_add(1);
        // Release: pairs with the producer's Acquire load of `head`, so our read of the slot
        // happens before the producer reuses it.
        self.ring.head.store(self.head, Ordering::Release);
        Some(value)
    }

    /// Hands up to `max` values, oldest first, to `f` and then publishes the new `head` once
    /// (one shared store per batch instead of one per value). Returns how many were handed out.
    ///
    /// The slots are released only after the last `f` returns; if `f` panics, nothing is
    /// released and the same values are read again next time.
    #[inline]
    pub fn pop_batch(&mut self, mut f: impl FnMut(T), max: usize) -> usize {
        let head = self.head;
        let max = max.min(self.capacity());
        let mut count = 0;
        while count < max && self.is_published(head.wrapping_add(count)) {
            f(self.read_slot(head.wrapping_add(count)));
            count += 1;
        }
        if count == 0 {
            return 0;
        }
        self.head = head.wrapping_add(count);
        // Release: pairs with the producer's Acquire load of `head` (as in try_pop).
        self.ring.head.store(self.head, Ordering::Release);
        count
    }

    /// Whether the value for `counter` (in `head..head + capacity`) is published: its slot's
    /// sequence says so.
    #[inline(always)]
    fn is_published(&self, counter: usize) -> bool {
        debug_assert!(counter.wrapping_sub(self.head) <= self.mask);
        // `index <= mask`, as `Ring::slot` needs. Acquire: pairs with the producer's Release
        // store of the first sequence of the publish that holds `counter` (directly, or through
        // the first value of that publish, taken earlier by this side), so the value's write
        // happens-before our read of it.
        self.ring
            .slot(counter & self.mask)
            .seq
            .load(Ordering::Acquire)
            == seq_of(counter)
    }

    /// Copies the value at `counter`, which must be in `head..head + capacity` and published
    /// ([`Self::is_published`]).
    #[inline(always)]
    fn read_slot(&self, counter: usize) -> T {
        debug_assert!(counter.wrapping_sub(self.head) <= self.mask);
        // `index <= mask`, as `Ring::slot` needs.
        let slot = self.ring.slot(counter & self.mask);
        slot.value.with(|ptr| {
            // SAFETY: the caller saw, with Acquire, the slot's sequence for `counter`, stored
            // after the value's write (see `is_published`), so the slot holds an initialised
            // value whose write happens-before this read; the producer will not overwrite it
            // until we publish a `head` past it. `T: Copy`, so reading leaves no drop
            // obligation behind.
            unsafe { (*ptr).assume_init_read() }
        })
    }

    /// How many values are published and waiting: reads their slots' sequences one by one, so
    /// it costs one load per waiting value (up to the capacity). Not for the hot path; a lower
    /// bound (the producer may publish more at any moment).
    pub fn len(&self) -> usize {
        let mut count = 0;
        while count <= self.mask && self.is_published(self.head.wrapping_add(count)) {
            count += 1;
        }
        count
    }

    /// True when no value is waiting right now (one load).
    pub fn is_empty(&self) -> bool {
        !self.is_published(self.head)
    }

    /// The number of slots (a power of two).
    pub fn capacity(&self) -> usize {
        self.mask + 1
    }

    /// True once the [`Producer`] has been dropped: after the waiting values, nothing more will
    /// arrive. Not for the hot path (reads the shared reference count).
    pub fn is_abandoned(&self) -> bool {
        abandoned(&self.ring)
    }
}

impl<T> fmt::Debug for Consumer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Consumer")
            .field("capacity", &(self.mask + 1))
            .field("head", &self.head)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
