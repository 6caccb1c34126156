//! A single-producer single-consumer ring of variable-length byte records, for moving received
//! frames off the engine core to the capture writer thread without allocating or locking.
//!
//! Each record is `len u32 | kind u32 | tsc u64 | payload`, padded to 8 bytes, stored contiguously:
//! when a record does not fit before the end of the buffer, the producer writes a wrap marker
//! and starts again at offset 0, so the consumer always sees one contiguous payload slice.
//!
//! Owns one buffer allocated (and touched, so no page fault lands on the core later) at
//! construction, and two monotonically increasing byte positions: `head` (written only by the
//! producer, published with Release after the bytes) and `tail` (written only by the consumer,
//! published with Release after it finished reading). Invariants: the producer only writes bytes
//! in `[head, tail + capacity)`, the consumer only reads bytes in `[tail, head)`, so no byte is
//! read and written at once; a record that does not fit is refused (`false`), never waited for:
//! the producer never blocks. Records longer than half the capacity are always refused.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// Bytes of a record before its payload.
const SLOT_HEADER: usize = 16;
/// Record alignment (keeps every header's u64 field aligned and the wrap marker in bounds).
const ALIGN: usize = 8;
/// `len` value that marks "wrap to offset 0".
const WRAP: u32 = u32::MAX;
/// Smallest ring: room for a few ordinary frames.
pub const MIN_CAPACITY: usize = 4096;

/// Keeps the producer's and the consumer's positions on separate cache lines (128 bytes: two
/// 64-byte lines, as adjacent-line prefetch pairs them on Intel CPUs).
#[repr(align(128))]
struct Padded<T>(T);

struct Shared {
    buf: Box<[UnsafeCell<u8>]>,
    mask: usize,
    head: Padded<AtomicUsize>,
    tail: Padded<AtomicUsize>,
    producer_gone: AtomicBool,
}

// SAFETY: the buffer's bytes are only accessed under the head/tail protocol of the module docs
// (disjoint ranges for the one producer and the one consumer, ordered by Release/Acquire on the
// positions), so sharing `Shared` between the two threads is sound.
unsafe impl Sync for Shared {}
// SAFETY: as above; `Shared` owns plain bytes and atomics.
unsafe impl Send for Shared {}

impl Shared {
    fn ptr(&self) -> *mut u8 {
        // `UnsafeCell<u8>` has the layout of `u8`; the slice is contiguous.
        UnsafeCell::raw_get(self.buf.as_ptr())
    }

    fn capacity(&self) -> usize {
        self.buf.len()
    }
}

/// The writing end (lives on the engine core).
pub struct RingProducer {
    shared: Arc<Shared>,
    head: usize,
    cached_tail: usize,
}

/// The reading end (lives on the writer thread).
pub struct RingConsumer {
    shared: Arc<Shared>,
    tail: usize,
    /// The producer's `head` as last read (reloaded only when everything up to it is consumed,
    /// so the producer's cache line is not pulled over for every record).
    cached_head: usize,
}

/// A ring of at least `capacity` bytes (rounded up to a power of two, at least [`MIN_CAPACITY`]).
pub fn byte_ring(capacity: usize) -> (RingProducer, RingConsumer) {
    let cap = capacity.max(MIN_CAPACITY).next_power_of_two();
    // Non-zero fill writes every page now, so none is first touched on the core.
    let buf: Box<[UnsafeCell<u8>]> = (0..cap).map(|_| UnsafeCell::new(0xA5)).collect();
    let shared = Arc::new(Shared {
        buf,
        mask: cap - 1,
        head: Padded(AtomicUsize::new(0)),
        tail: Padded(AtomicUsize::new(0)),
        producer_gone: AtomicBool::new(false),
    });
    (
        RingProducer {
            shared: shared.clone(),
            head: 0,
            cached_tail: 0,
        },
        RingConsumer {
            shared,
            tail: 0,
            cached_head: 0,
        },
    )
}

#[inline]
fn padded_len(payload: usize) -> usize {
    (SLOT_HEADER + payload + ALIGN - 1) & !(ALIGN - 1)
}

impl RingProducer {
    /// Capacity in bytes.
    pub fn capacity(&self) -> usize {
        self.shared.capacity()
    }

    /// Largest payload [`RingProducer::try_push`] can ever accept.
    pub fn max_payload(&self) -> usize {
        self.capacity() / 2 - SLOT_HEADER
    }

    /// Copies one record in; `false` (nothing written) when it does not fit now.
    #[inline]
    pub fn try_push(&mut self, kind: u32, tsc: u64, payload: &[u8]) -> bool {
        let cap = self.shared.capacity();
        if payload.len() > self.max_payload() {
            return false;
        }
        let need = padded_len(payload.len());
        let off = self.head & self.shared.mask;
        let contiguous = cap - off;
        let total = if need > contiguous {
            contiguous + need
        } else {
            need
        };
        if self.head + total - self.cached_tail > cap {
            self.cached_tail = self.shared.tail.0.load(Ordering::Acquire);
            if self.head + total - self.cached_tail > cap {
                return false;
            }
        }
        let base = self.shared.ptr();
        let mut at = off;
        if need > contiguous {
            debug_assert!(off + 4 <= cap && off % ALIGN == 0);
            // SAFETY: [off, off + contiguous) lies in [head, tail + cap), owned by the producer
            // (checked above); `contiguous >= ALIGN >= 4` because offsets are 8-aligned.
            unsafe { base.add(off).cast::<u32>().write_unaligned(WRAP) };
            at = 0;
        }
        debug_assert!(at + need <= cap);
        // SAFETY: [at, at + need) lies in the free region checked above (after the wrap, at 0);
        // the consumer reads it only after the Release store of `head` below.
        unsafe {
            let p = base.add(at);
            p.cast::<u32>().write_unaligned(payload.len() as u32);
            p.add(4).cast::<u32>().write_unaligned(kind);
            p.add(8).cast::<u64>().write_unaligned(tsc);
            std::ptr::copy_nonoverlapping(payload.as_ptr(), p.add(SLOT_HEADER), payload.len());
        }
        self.head += total;
        self.shared.head.0.store(self.head, Ordering::Release);
        true
    }
}

impl Drop for RingProducer {
    fn drop(&mut self) {
        self.shared.producer_gone.store(true, Ordering::Release);
    }
}

impl RingConsumer {
    /// Whether the producer was dropped (then, once empty, nothing more will come).
    pub fn producer_gone(&self) -> bool {
        self.shared.producer_gone.load(Ordering::Acquire)
    }

    /// Hands the oldest record to `f` as `(kind, tsc, payload)`; `false` when the ring is empty.
    pub fn pop(&mut self, f: impl FnOnce(u32, u64, &[u8])) -> bool {
        let cap = self.shared.capacity();
        let base = self.shared.ptr();
        loop {
            if self.tail == self.cached_head {
                self.cached_head = self.shared.head.0.load(Ordering::Acquire);
                if self.tail == self.cached_head {
                    return false;
                }
            }
            let off = self.tail & self.shared.mask;
            debug_assert!(off + SLOT_HEADER <= cap || off + 4 <= cap);
            // SAFETY: [tail, head) was fully written by the producer before its Release store of
            // `head` (Acquire above); `off + 4 <= cap` since offsets are 8-aligned.
            let len = unsafe { base.add(off).cast::<u32>().read_unaligned() };
            if len == WRAP {
                self.tail += cap - off;
                continue;
            }
            let len = len as usize;
            debug_assert!(off + SLOT_HEADER + len <= cap);
            // SAFETY: as above; the producer wrote the whole record contiguously at `off`, and
            // will not overwrite it before `tail` moves past it (Release store below).
            let (kind, tsc, payload) = unsafe {
                let p = base.add(off);
                (
                    p.add(4).cast::<u32>().read_unaligned(),
                    p.add(8).cast::<u64>().read_unaligned(),
                    std::slice::from_raw_parts(p.add(SLOT_HEADER).cast_const(), len),
                )
            };
            f(kind, tsc, payload);
            self.tail += padded_len(len);
            self.shared.tail.0.store(self.tail, Ordering::Release);
            return true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(c: &mut RingConsumer) -> Vec<(u32, u64, Vec<u8>)> {
        let mut out = Vec::new();
        while c.pop(|k, t, p| out.push((k, t, p.to_vec()))) {}
        out
    }

    #[test]
    fn records_wrap_and_come_out_whole_in_order() {
        let (mut p, mut c) = byte_ring(4096);
        assert_eq!(p.capacity(), 4096);
        let mut expected = Vec::new();
        let mut seen = Vec::new();
        for i in 0..2_000u64 {
            let payload: Vec<u8> = (0..(i % 300) as u8).collect();
            while !p.try_push(i as u32 % 5, i, &payload) {
                seen.extend(drain(&mut c));
            }
            expected.push((i as u32 % 5, i, payload));
        }
        seen.extend(drain(&mut c));
        assert_eq!(seen, expected);
    }

    #[test]
    fn a_full_ring_refuses_without_blocking() {
        let (mut p, mut c) = byte_ring(4096);
        let payload = [7u8; 1000];
        let mut pushed = 0;
        while p.try_push(1, 0, &payload) {
            pushed += 1;
        }
        assert_eq!(pushed, 4096 / padded_len(1000));
        assert!(!p.try_push(1, 0, &[0u8; 2100]), "over half the ring");
        assert!(c.pop(|_, _, pl| assert_eq!(pl, &payload[..])));
        assert!(p.try_push(1, 0, &payload));
        drop(p);
        assert!(c.producer_gone());
        assert_eq!(drain(&mut c).len(), pushed);
    }

    #[test]
    fn threads_move_every_record() {
        let (mut p, mut c) = byte_ring(8192);
        let n = 50_000u64;
        let writer = std::thread::spawn(move || {
            for i in 0..n {
                let bytes = i.to_le_bytes();
                let payload = &bytes[..(i % 9) as usize];
                while !p.try_push(0, i, payload) {
                    std::hint::spin_loop();
                }
            }
        });
        let mut next = 0u64;
        while next < n {
            c.pop(|_, tsc, payload| {
                assert_eq!(tsc, next);
                assert_eq!(payload, &next.to_le_bytes()[..(next % 9) as usize]);
                next += 1;
            });
        }
        writer.join().unwrap();
    }
}
