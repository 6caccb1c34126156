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
        if self.tail.wrapping_sub(self.cached_head) > self.mask {
            self.refresh_head();
            if self.tail.wrapping_sub(self.cached_head) > self.mask {
                return Err(value);
            }
        }
        self.write_slot(value);
        self.publish();
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
        debug_assert!(tail.wrapping_sub(self.cached_head) <= self.mask);
        // `index <= mask`, as `Ring::slot` needs.
        let slot = self.ring.slot(tail & self.mask);
        slot.value.with_mut(|ptr| {
            // SAFETY: the slot at counter `tail` is free (`tail - head < capacity`, checked by
            // the caller against a `head` no newer than the real one) and so owned by this, the
            // only producer; the consumer will not read it until a publish stores its sequence.
            // Writing a `MaybeUninit` through the cell's pointer is what the cell is for.
            unsafe { (*ptr).write(value) };
        });
        self.tail = tail.wrapping_add(1);
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
mod tests {
    use super::*;

    #[test]
    fn capacity_rounds_up_to_a_power_of_two_of_at_least_two() {
        for (asked, got) in [(0, 2), (1, 2), (2, 2), (3, 4), (4, 4), (5, 8), (1000, 1024)] {
            let (producer, consumer) = spsc::<u64>(asked);
            assert_eq!(producer.capacity(), got, "asked {asked}");
            assert_eq!(consumer.capacity(), got, "asked {asked}");
        }
    }

    #[test]
    fn unrepresentable_capacity_is_an_error() {
        let error = try_spsc::<u64>(usize::MAX).unwrap_err();
        assert_eq!(
            error,
            RingError::CapacityTooLarge {
                requested: usize::MAX
            }
        );
        assert!(try_spsc::<[u8; 64]>(usize::MAX / 64).is_err());
        // More than 2^31 slots rounds up to 2^32, where a slot's 32-bit sequence would repeat
        // on consecutive laps (refused before anything is allocated, whatever the slot size).
        assert!(try_spsc::<()>((1 << 31) + 1).is_err());
        assert!(try_spsc::<u8>(4).is_ok());
    }

    #[test]
    #[should_panic(expected = "too large")]
    fn spsc_panics_on_unrepresentable_capacity() {
        let _ = spsc::<u64>(usize::MAX);
    }

    #[test]
    fn empty_ring_pops_nothing() {
        let (producer, mut consumer) = spsc::<u32>(4);
        assert_eq!(consumer.try_pop(), None);
        assert!(consumer.is_empty());
        assert_eq!(consumer.len(), 0);
        assert_eq!(consumer.pop_batch(|_| panic!("no value expected"), 8), 0);
        assert_eq!(producer.free_slots(), 4);
    }

    #[test]
    fn full_ring_rejects_and_returns_the_value() {
        let (mut producer, mut consumer) = spsc::<u32>(4);
        for value in 0..4 {
            assert_eq!(producer.try_push(value), Ok(()));
            assert_eq!(producer.free_slots(), 3 - value as usize);
        }
        assert_eq!(producer.try_push(99), Err(99));
        assert_eq!(consumer.len(), 4);
        assert_eq!(consumer.try_pop(), Some(0));
        assert_eq!(producer.free_slots(), 1);
        assert_eq!(producer.try_push(4), Ok(()));
        assert_eq!(producer.try_push(100), Err(100));
        let mut seen = Vec::new();
        assert_eq!(consumer.pop_batch(|v| seen.push(v), usize::MAX), 4);
        assert_eq!(seen, [1, 2, 3, 4]);
        assert!(consumer.is_empty());
    }

    #[test]
    fn wraps_around_many_times_in_order() {
        let (mut producer, mut consumer) = spsc::<u64>(8);
        let mut next_in = 0_u64;
        let mut next_out = 0_u64;
        // Varying fill levels so head and tail wrap at every offset.
        for round in 0..10_000_u64 {
            let burst = round % 9;
            for _ in 0..burst {
                assert_eq!(producer.try_push(next_in), Ok(()));
                next_in += 1;
            }
            assert_eq!(consumer.len() as u64, burst);
            let take = if round % 2 == 0 { burst } else { burst / 2 };
            let taken = consumer.pop_batch(
                |v| {
                    assert_eq!(v, next_out);
                    next_out += 1;
                },
                take as usize,
            );
            assert_eq!(taken as u64, take);
            while let Some(v) = consumer.try_pop() {
                assert_eq!(v, next_out);
                next_out += 1;
            }
        }
        assert_eq!(next_in, next_out);
        assert!(next_in > 1000 * 8);
    }

    #[test]
    fn counters_wrap_past_usize_max() {
        let (mut producer, mut consumer) = spsc::<u64>(4);
        let start = usize::MAX - 5;
        producer.tail = start;
        producer.published = start;
        producer.cached_head = start;
        producer.ring.head.store(start, Ordering::Relaxed);
        consumer.head = start;
        // Every slot as if it held its counter's value one lap before `start..start + 4`.
        for counter in start..start + 4 {
            producer
                .ring
                .slot(counter & 3)
                .seq
                .store(seq_of(counter.wrapping_sub(4)), Ordering::Relaxed);
        }
        assert_eq!(consumer.try_pop(), None);
        assert!(consumer.is_empty());
        for value in 0..40_u64 {
            assert_eq!(producer.try_push(value), Ok(()));
            assert_eq!(producer.try_push(value + 1000), Ok(()));
            assert_eq!(consumer.len(), 2);
            assert!(!consumer.is_empty());
            assert_eq!(consumer.try_pop(), Some(value));
            assert_eq!(consumer.try_pop(), Some(value + 1000));
        }
        for value in 0..4 {
            assert_eq!(producer.try_push(value), Ok(()));
        }
        assert_eq!(producer.try_push(4), Err(4));
        assert_eq!(producer.free_slots(), 0);
    }

    #[test]
    fn written_values_are_invisible_until_published_then_all_at_once() {
        let (mut producer, mut consumer) = spsc::<u32>(4);
        assert!(producer.reserve(3));
        for value in 0..3 {
            assert_eq!(producer.try_write(value), Ok(()));
        }
        assert_eq!(producer.unpublished(), 3);
        assert_eq!(consumer.len(), 0);
        assert_eq!(consumer.try_pop(), None);
        producer.publish();
        assert_eq!(producer.unpublished(), 0);
        assert_eq!(consumer.len(), 3);
        // One more fits; a fifth does not, whatever the view.
        assert!(producer.reserve(1));
        assert!(!producer.reserve(2));
        assert_eq!(producer.try_write(3), Ok(()));
        assert_eq!(producer.try_write(4), Err(4));
        producer.publish();
        let mut seen = Vec::new();
        consumer.pop_batch(|v| seen.push(v), 8);
        assert_eq!(seen, [0, 1, 2, 3]);
    }

    #[test]
    fn a_written_run_is_all_or_nothing_and_wraps_around() {
        let (mut producer, mut consumer) = spsc::<u32>(4);
        producer.try_push(9).unwrap();
        producer.try_push(9).unwrap();
        assert_eq!(consumer.pop_batch(|_| {}, 2), 2);
        // The cached view still says two are taken: a run of three does not fit it.
        assert!(!producer.try_write_run(&[1, 2, 3]));
        assert_eq!(producer.unpublished(), 0);
        assert!(producer.reserve(3));
        // Slots 2, 3, then 0: across the end of the array.
        assert!(producer.try_write_run(&[1, 2, 3]));
        assert!(producer.try_write_run(&[]));
        assert_eq!(consumer.len(), 0);
        producer.publish();
        assert!(producer.try_write_run(&[4]));
        assert!(!producer.try_write_run(&[5]));
        producer.publish();
        let mut seen = Vec::new();
        consumer.pop_batch(|v| seen.push(v), 8);
        assert_eq!(seen, [1, 2, 3, 4]);
    }

    #[test]
    fn reserve_refreshes_the_consumer_position_only_when_needed() {
        let (mut producer, mut consumer) = spsc::<u32>(4);
        for value in 0..4 {
            producer.try_push(value).unwrap();
        }
        assert!(!producer.reserve(1));
        assert_eq!(consumer.pop_batch(|_| {}, 2), 2);
        // The cached view is stale (full); reserve reads the consumer's head again.
        assert!(producer.reserve(2));
        assert!(!producer.reserve(3));
    }

    #[test]
    fn discarded_writes_never_reach_the_consumer() {
        let (mut producer, mut consumer) = spsc::<u32>(4);
        producer.try_push(1).unwrap();
        producer.try_write(2).unwrap();
        producer.try_write(3).unwrap();
        producer.discard_unpublished();
        assert_eq!(producer.unpublished(), 0);
        producer.try_push(4).unwrap();
        let mut seen = Vec::new();
        consumer.pop_batch(|v| seen.push(v), 8);
        assert_eq!(seen, [1, 4]);
    }

    #[test]
    fn try_push_publishes_earlier_writes_too() {
        let (mut producer, mut consumer) = spsc::<u32>(4);
        producer.try_write(1).unwrap();
        producer.try_push(2).unwrap();
        assert_eq!(consumer.len(), 2);
        assert_eq!(consumer.try_pop(), Some(1));
    }

    #[test]
    fn slots_of_60_byte_values_with_their_sequence_each_fill_one_cache_line() {
        #[derive(Clone, Copy)]
        #[repr(C)]
        struct Wire([u32; 15]);
        let (producer, _consumer) = spsc::<Wire>(8);
        for index in 0..8 {
            let slot = producer.ring.slot(index);
            let start = slot as *const _ as usize;
            assert_eq!(start % 64, 0);
            assert_eq!(core::mem::size_of_val(slot), 64);
            // The sequence the consumer polls is in the value's own line.
            assert_eq!(&slot.seq as *const _ as usize / 64, start / 64);
        }
    }

    #[test]
    fn a_value_becomes_visible_only_with_its_sequence_and_slots_start_one_lap_back() {
        let (mut producer, mut consumer) = spsc::<u64>(4);
        for index in 0..4 {
            let seq = producer.ring.slot(index).seq.load(Ordering::Relaxed);
            assert_eq!(seq, seq_of(index.wrapping_sub(4)));
            assert_ne!(seq, seq_of(index));
        }
        producer.try_write(7).unwrap();
        assert_eq!(
            producer.ring.slot(0).seq.load(Ordering::Relaxed),
            seq_of(0usize.wrapping_sub(4))
        );
        assert!(consumer.is_empty());
        producer.publish();
        assert_eq!(producer.ring.slot(0).seq.load(Ordering::Relaxed), seq_of(0));
        assert_eq!(consumer.try_pop(), Some(7));
    }

    #[test]
    fn slot_zero_of_a_cache_line_sized_ring_starts_a_page_whatever_the_allocation() {
        #[derive(Clone, Copy, Debug, PartialEq)]
        #[repr(C, align(64))]
        struct Line([u64; 8]);
        #[derive(Clone, Copy)]
        #[repr(C, align(128))]
        struct Pair([u64; 16]);
        // Different earlier allocations move where the allocator puts the slot array.
        let mut keep = Vec::new();
        for shift in 0..70 {
            keep.push(vec![0_u8; 1 + shift * 64]);
            let (mut producer, mut consumer) = spsc::<Line>(256);
            let ring = &*producer.ring;
            assert_eq!(ring.slot(0) as *const _ as usize % PAGE_BYTES, 0);
            assert_eq!(ring.layout.size(), 256 * size_of::<Slot<Line>>());
            let (wire, _consumer) = spsc::<[u32; 15]>(64);
            assert_eq!(wire.ring.slot(0) as *const _ as usize % PAGE_BYTES, 0);
            // The whole ring is still usable: fill it twice over (wrapping), reading back in order.
            for lap in 0..2_u64 {
                for i in 0..256 {
                    producer.try_push(Line([lap * 1000 + i; 8])).unwrap();
                }
                assert!(producer.try_push(Line([0; 8])).is_err());
                let mut next = lap * 1000;
                assert_eq!(
                    consumer.pop_batch(
                        |v| {
                            assert_eq!(v, Line([next; 8]));
                            next += 1;
                        },
                        usize::MAX,
                    ),
                    256
                );
            }
            let (producer, _consumer) = spsc::<Pair>(4);
            assert_eq!(producer.ring.slot(0) as *const _ as usize % PAGE_BYTES, 0);
        }
        // Smaller power-of-two slots start a page too, so none straddles a line; other slot
        // sizes keep their natural alignment.
        let (producer, _consumer) = spsc::<[u32; 3]>(8);
        assert_eq!(size_of::<Slot<[u32; 3]>>(), 16);
        assert_eq!(producer.ring.slot(0) as *const _ as usize % PAGE_BYTES, 0);
        let (producer, _consumer) = spsc::<[u8; 24]>(8);
        assert_eq!(producer.ring.layout.align(), 4);
        let (producer, _consumer) = spsc::<[u16; 3]>(8);
        assert_eq!(producer.ring.layout.align(), 4);
    }

    #[test]
    fn pop_batch_respects_max_and_publishes_once() {
        let (mut producer, mut consumer) = spsc::<u16>(16);
        for value in 0..10 {
            producer.try_push(value).unwrap();
        }
        let mut seen = Vec::new();
        assert_eq!(consumer.pop_batch(|v| seen.push(v), 3), 3);
        assert_eq!(seen, [0, 1, 2]);
        assert_eq!(producer.free_slots(), 16 - 7);
        assert_eq!(consumer.pop_batch(|v| seen.push(v), 0), 0);
        assert_eq!(consumer.pop_batch(|v| seen.push(v), 100), 7);
        assert_eq!(seen, (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn pop_batch_that_panics_releases_nothing() {
        let (mut producer, mut consumer) = spsc::<u8>(4);
        for value in 0..3 {
            producer.try_push(value).unwrap();
        }
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            consumer.pop_batch(
                |v| {
                    if v == 1 {
                        panic!("handler failed");
                    }
                },
                3,
            )
        }));
        assert!(outcome.is_err());
        assert_eq!(consumer.len(), 3);
        assert_eq!(consumer.try_pop(), Some(0));
    }

    #[test]
    fn zero_sized_values_are_counted() {
        let (mut producer, mut consumer) = spsc::<()>(2);
        assert_eq!(producer.try_push(()), Ok(()));
        assert_eq!(producer.try_push(()), Ok(()));
        assert_eq!(producer.try_push(()), Err(()));
        assert_eq!(consumer.try_pop(), Some(()));
        assert_eq!(consumer.len(), 1);
    }

    #[test]
    fn abandonment_is_seen_from_both_sides() {
        let (mut producer, consumer) = spsc::<u8>(2);
        assert!(!producer.is_abandoned());
        assert!(!consumer.is_abandoned());
        drop(consumer);
        assert!(producer.is_abandoned());
        // Pushing into an abandoned ring still works until it is full; nothing leaks.
        assert_eq!(producer.try_push(1), Ok(()));

        let (mut producer, mut consumer) = spsc::<u8>(2);
        producer.try_push(7).unwrap();
        drop(producer);
        assert!(consumer.is_abandoned());
        assert_eq!(consumer.try_pop(), Some(7));
        assert_eq!(consumer.try_pop(), None);
    }

    #[test]
    fn head_and_slots_sit_on_separate_pad_units() {
        let (producer, _consumer) = spsc::<u64>(2);
        let ring = &*producer.ring;
        let head = &*ring.head as *const AtomicUsize as usize;
        let slots_field = &ring.slots as *const _ as usize;
        let pad = crate::CACHE_PAD_BYTES;
        assert_eq!(head % pad, 0);
        assert!(slots_field.abs_diff(head) >= pad);
    }

    #[test]
    fn handles_are_send() {
        fn assert_send<X: Send>() {}
        assert_send::<Producer<[u8; 64]>>();
        assert_send::<Consumer<[u8; 64]>>();
    }
}
