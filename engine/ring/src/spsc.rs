//! The bounded single-producer single-consumer ring: [`spsc`] allocates it once and hands back
//! the only [`Producer`] and the only [`Consumer`].
//!
//! Invariants:
//! - `tail` (written only by the producer) and `head` (written only by the consumer) are
//!   free-running `usize` counters; a slot's index is `counter & mask`; `0 <= tail - head <=
//!   capacity` in wrapping arithmetic, and capacity is a power of two, so wrap-around of the
//!   counters themselves is harmless.
//! - Slots `head..tail` hold initialised values owned by the consumer's side; slots `tail..head
//!   + capacity` are free and owned by the producer. A side touches a slot only while it owns it.
//! - Each side keeps a private copy of its own counter and a cached copy of the opposite one, and
//!   reads the shared opposite counter only when the cache says "full" (producer) or "empty"
//!   (consumer). The fast path is one slot copy and one `Release` store: no CAS, no fence.
//! - `head` and `tail` live on separate [`CachePadded`] units so the two cores never write the
//!   same line.
//! - When a slot is a whole number of cache lines that divides a page (a power of two from 64
//!   to 4096 bytes, like the engine's 64-byte events), slot 0 starts on a page boundary: every
//!   ring of such values has the same placement of slots within pages and within the 128-byte
//!   line pairs the L2 prefetches together, whatever address the allocator returned. Other slot
//!   types start wherever the allocator put the array.
//!
//! It never allocates after [`spsc`] returns, never blocks, never panics on the fast path, and
//! never drops a value (`T: Copy`, so an unread value needs no drop; the slots are freed with the
//! last of the two handles).

use crate::cache_padded::CachePadded;
use crate::sync::{fence, Arc, AtomicUsize, Ordering, SlotCell};
use core::fmt;
use core::mem::{size_of, MaybeUninit};

/// Smallest capacity: with one slot the producer and consumer would always contend on it.
const MIN_CAPACITY: usize = 2;

/// Linux x86_64 base page size. Touching one byte per 4 KiB at construction maps every page of
/// the slot array, so the first pass over the ring never page-faults on the hot path (huge pages
/// are multiples of it, so the stride is also correct for them, just redundant).
const PAGE_BYTES: usize = 4096;

/// Slot sizes (bytes) for which slot 0 is placed on a page boundary: whole cache lines that
/// divide a page.
const fn page_aligned_slots(slot_bytes: usize) -> bool {
    slot_bytes.is_power_of_two() && slot_bytes >= 64 && slot_bytes <= PAGE_BYTES
}

/// Why a ring could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RingError {
    /// The capacity rounded up to a power of two, times the slot size, exceeds `isize::MAX`.
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
                    "ring capacity {requested} is too large for this address space"
                )
            }
        }
    }
}

impl std::error::Error for RingError {}

/// Shared state of one ring. `repr(C)` fixes the field order so the producer-written,
/// consumer-written and read-only parts sit on three separate padded units.
#[repr(C)]
struct Ring<T> {
    /// Next counter the producer will write. Written only by the producer.
    tail: CachePadded<AtomicUsize>,
    /// Next counter the consumer will read. Written only by the consumer.
    head: CachePadded<AtomicUsize>,
    /// `lead + capacity` slots; read-only pointer after construction. The ring uses
    /// `slots[lead..]`; the first `lead` slots are never touched after construction.
    slots: Box<[SlotCell<MaybeUninit<T>>]>,
    /// Slots skipped so that slot 0 of the ring starts on a page boundary (0 when the slot size
    /// does not allow it, see [`page_aligned_slots`]). `lead + capacity <= slots.len()`.
    lead: usize,
}

impl<T> Ring<T> {
    /// The ring's slot `index` (`index <= mask`).
    #[inline(always)]
    fn slot(&self, index: usize) -> &SlotCell<MaybeUninit<T>> {
        debug_assert!(self.lead + index < self.slots.len());
        // SAFETY: callers pass `index = counter & mask <= mask = capacity - 1`, and the array
        // holds `lead + capacity` slots (built so in `try_spsc`), so `lead + index` is in bounds.
        unsafe { self.slots.get_unchecked(self.lead + index) }
    }
}

// SAFETY: the ring hands each slot to exactly one side at a time (see the module invariants);
// the handover is ordered by the Release/Acquire pairs on `head` and `tail`. So sharing `Ring`
// between the producer's and consumer's threads only ever moves `T` values across threads,
// which needs `T: Send`, not `T: Sync`.
unsafe impl<T: Send> Sync for Ring<T> {}

/// Builds a ring holding at least `capacity` values (rounded up to a power of two, at least 2).
///
/// This is the only place the ring allocates: the slot array and the shared header. Every page
/// of the slot array is touched here so the hot path never page-faults on it.
///
/// # Panics
/// If the rounded capacity times `size_of::<T>()` overflows `isize::MAX` (see [`try_spsc`] for a
/// non-panicking variant), or if the allocation fails.
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
        .ok_or(too_large)?;
    // The slot's own size (that of `T` in a normal build; loom's cell adds its bookkeeping).
    let slot_bytes = size_of::<SlotCell<MaybeUninit<T>>>();
    // Room to move slot 0 up to the next page boundary: at most one page's worth of slots.
    let spare = if page_aligned_slots(slot_bytes) {
        PAGE_BYTES / slot_bytes - 1
    } else {
        0
    };
    let allocated = capacity.checked_add(spare).ok_or(too_large)?;
    match allocated.checked_mul(slot_bytes) {
        Some(bytes) if bytes <= isize::MAX as usize => {}
        _ => return Err(too_large),
    }
    let slots: Box<[SlotCell<MaybeUninit<T>>]> = (0..allocated)
        .map(|_| SlotCell::new(MaybeUninit::uninit()))
        .collect();
    #[cfg(not(loom))]
    prefault(&slots);
    let lead = if spare == 0 {
        0
    } else {
        // The array is aligned to the slot's alignment, which divides its power-of-two size, so
        // the distance to the next page boundary is a whole number of slots (fewer than a
        // page's worth, so `lead <= spare`).
        let base = slots.as_ptr() as usize;
        (PAGE_BYTES - base % PAGE_BYTES) % PAGE_BYTES / slot_bytes
    };
    debug_assert!(lead <= spare && lead + capacity <= slots.len());
    let ring = Arc::new(Ring {
        tail: CachePadded::new(AtomicUsize::new(0)),
        head: CachePadded::new(AtomicUsize::new(0)),
        slots,
        lead,
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
        cached_tail: 0,
    };
    Ok((producer, consumer))
}

/// Writes one zero byte per page of the slot array so its pages are mapped now, not on the hot
/// path. Volatile, so the writes are not merged into a `calloc` or elided.
#[cfg(not(loom))]
fn prefault<T>(slots: &[SlotCell<MaybeUninit<T>>]) {
    let bytes = core::mem::size_of_val(slots);
    let base = slots.as_ptr() as *mut u8;
    let mut offset = 0;
    while offset < bytes {
        debug_assert!(offset < bytes);
        // SAFETY: `offset < bytes`, so the byte is inside the slot array we own exclusively here
        // (no handle exists yet); the slots are `MaybeUninit`, so any byte pattern is allowed and
        // writing through `UnsafeCell` contents via a raw pointer is permitted.
        unsafe { base.add(offset).write_volatile(0) };
        offset += PAGE_BYTES;
    }
}

/// True when the other handle of `ring` has been dropped.
fn abandoned<T>(ring: &Arc<Ring<T>>) -> bool {
    let alone = Arc::strong_count(ring) == 1;
    // Acquire fence: pairs with the Release decrement in the other handle's `Arc` drop, so
    // everything that handle published before it was dropped (its last `head`/`tail` store) is
    // visible to the loads that follow a `true` answer. `strong_count` itself loads Relaxed.
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
    /// Next counter this side will write (this side is the only writer of slots and `tail`).
    tail: usize,
    /// The last `tail` stored to `ring.tail` (visible to the consumer); `tail - published` values
    /// are written but not yet visible.
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
            slot.with_mut(|ptr| {
                // SAFETY: every counter of the run is below `cached_head + capacity` (checked
                // above against a `head` no newer than the real one), so its slot is free and
                // owned by this, the only producer, as in `write_slot`; the consumer will not
                // read it before a Release store of `tail` past it publishes it.
                unsafe { (*ptr).write(value) };
            });
            tail = tail.wrapping_add(1);
        }
        self.tail = tail;
        true
    }

    /// Makes every written value visible to the consumer, in order: one Release store, none when
    /// nothing is waiting.
    #[inline]
    pub fn publish(&mut self) {
        if self.published != self.tail {
            self.published = self.tail;
            // Release: pairs with the consumer's Acquire load of `tail`, publishing the slot
            // writes that precede it.
            self.ring.tail.store(self.tail, Ordering::Release);
        }
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
        slot.with_mut(|ptr| {
            // SAFETY: the slot at counter `tail` is free (`tail - head < capacity`, checked by
            // the caller against a `head` no newer than the real one) and so owned by this, the
            // only producer; the consumer will not read it until a Release store of `tail` past
            // it publishes it. Writing a `MaybeUninit` through the cell's pointer is what the
            // cell is for.
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
    /// Last value of `ring.tail` this side read; never ahead of the real `tail`.
    cached_tail: usize,
}

impl<T: Copy> Consumer<T> {
    /// Removes and returns the oldest value, or `None` when the ring is empty.
    #[inline]
    pub fn try_pop(&mut self) -> Option<T> {
        let head = self.head;
        if head == self.cached_tail {
            // Acquire: pairs with the producer's Release store of `tail` in try_push, so the
            // slot writes it published are visible before we read them.
            self.cached_tail = self.ring.tail.load(Ordering::Acquire);
            if head == self.cached_tail {
                return None;
            }
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
        let mut available = self.cached_tail.wrapping_sub(head);
        if available < max {
            // Acquire: pairs with the producer's Release store of `tail` in try_push (as in
            // try_pop).
            self.cached_tail = self.ring.tail.load(Ordering::Acquire);
            available = self.cached_tail.wrapping_sub(head);
        }
        let count = available.min(max);
        if count == 0 {
            return 0;
        }
        for offset in 0..count {
            f(self.read_slot(head.wrapping_add(offset)));
        }
        self.head = head.wrapping_add(count);
        // Release: pairs with the producer's Acquire load of `head` (as in try_pop).
        self.ring.head.store(self.head, Ordering::Release);
        count
    }

    /// Copies the value at `counter`, which must be in `head..cached_tail`.
    #[inline(always)]
    fn read_slot(&self, counter: usize) -> T {
        debug_assert!(counter.wrapping_sub(self.head) < self.cached_tail.wrapping_sub(self.head));
        // `index <= mask`, as `Ring::slot` needs.
        let slot = self.ring.slot(counter & self.mask);
        slot.with(|ptr| {
            // SAFETY: `counter` is in `head..cached_tail`, and `cached_tail` was read with
            // Acquire from the producer's Release store, so the slot holds an initialised value
            // whose write happens-before this read; the producer will not overwrite it until we
            // publish a `head` past it. `T: Copy`, so reading leaves no drop obligation behind.
            unsafe { (*ptr).assume_init_read() }
        })
    }

    /// How many values are waiting (a lower bound: the producer may add more at any moment).
    pub fn len(&self) -> usize {
        // Relaxed: only a count; try_pop / pop_batch do their own Acquire before reading slots.
        self.ring
            .tail
            .load(Ordering::Relaxed)
            .wrapping_sub(self.head)
    }

    /// True when no value is waiting right now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
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
        producer.ring.tail.store(start, Ordering::Relaxed);
        producer.ring.head.store(start, Ordering::Relaxed);
        consumer.head = start;
        consumer.cached_tail = start;
        for value in 0..40_u64 {
            assert_eq!(producer.try_push(value), Ok(()));
            assert_eq!(producer.try_push(value + 1000), Ok(()));
            assert_eq!(consumer.len(), 2);
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
    fn slots_of_64_byte_aligned_values_each_fill_one_cache_line() {
        #[derive(Clone, Copy)]
        #[repr(C, align(64))]
        struct Line([u64; 8]);
        let (producer, _consumer) = spsc::<Line>(8);
        let base = producer.ring.slot(0) as *const _ as usize;
        assert_eq!(base % 64, 0);
        assert_eq!(core::mem::size_of_val(producer.ring.slot(0)), 64);
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
            assert!(ring.lead + producer.capacity() <= ring.slots.len());
            assert!(ring.slots.len() < producer.capacity() + PAGE_BYTES / 64);
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
        // Slots that are not whole lines dividing a page keep the array as allocated.
        let (producer, _consumer) = spsc::<[u8; 24]>(8);
        assert_eq!(producer.ring.lead, 0);
        assert_eq!(producer.ring.slots.len(), 8);
        let (producer, _consumer) = spsc::<u64>(8);
        assert_eq!(producer.ring.lead, 0);
        assert_eq!(producer.ring.slots.len(), 8);
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
    fn head_tail_and_slots_sit_on_separate_pad_units() {
        let (producer, _consumer) = spsc::<u64>(2);
        let ring = &*producer.ring;
        let tail = &*ring.tail as *const AtomicUsize as usize;
        let head = &*ring.head as *const AtomicUsize as usize;
        let slots_field = &ring.slots as *const _ as usize;
        let pad = crate::CACHE_PAD_BYTES;
        assert_eq!(tail % pad, 0);
        assert_eq!(head % pad, 0);
        assert!(tail.abs_diff(head) >= pad);
        assert!(slots_field.abs_diff(tail) >= pad && slots_field.abs_diff(head) >= pad);
    }

    #[test]
    fn handles_are_send() {
        fn assert_send<X: Send>() {}
        assert_send::<Producer<[u8; 64]>>();
        assert_send::<Consumer<[u8; 64]>>();
    }
}
