//! The venue's send-time side channel for latency benchmarks: one TSC stamp (quanta raw) per text
//! frame sent on the first connection, indexed by the frame's sequence number on that connection
//! (1 = the `status` frame, then every frame in send order).
//!
//! The venue and the engine run in one process and read the same TSC, so a stamp written here by
//! the venue thread and a receive stamp taken by the engine thread compare directly. Owns a
//! preallocated array of atomics (sized at start; frames beyond it are counted, not stamped).
//! Invariants: only the venue thread writes, each slot once; a stamp is taken just before the
//! write syscall that carries the frame (queued frames are stamped when the flush that sends them
//! starts), so the span wire → read covers the kernel's loopback path and the engine's wake-up,
//! never the venue's frame generation. Readers read after the run (or tolerate 0 = not yet sent).
//! It never allocates after construction and never blocks.

use std::sync::atomic::{AtomicU64, Ordering};

/// See the module docs.
pub struct SendStamps {
    clock: quanta::Clock,
    stamps: Box<[AtomicU64]>,
    /// Frames sent on the stamped connection (stamped or not).
    sent: AtomicU64,
}

impl SendStamps {
    /// Room for `capacity` frames (sequence numbers 1..=capacity).
    pub fn new(clock: quanta::Clock, capacity: usize) -> SendStamps {
        SendStamps {
            clock,
            stamps: (0..capacity).map(|_| AtomicU64::new(0)).collect(),
            sent: AtomicU64::new(0),
        }
    }

    pub fn capacity(&self) -> usize {
        self.stamps.len()
    }

    /// Frames sent on the stamped connection so far.
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Acquire)
    }

    /// Venue side: frames `from..=to` (sequence numbers) are about to be written; stamps them now.
    pub fn stamp_range(&self, from: u64, to: u64) {
        if to < from {
            return;
        }
        let tsc = self.clock.raw();
        for seq in from..=to {
            if let Some(slot) = seq.checked_sub(1).and_then(|i| self.stamps.get(i as usize)) {
                slot.store(tsc, Ordering::Relaxed);
            }
        }
        self.sent.fetch_max(to, Ordering::Release);
    }

    /// The send stamp of frame `seq` (1-based); 0 = not sent (yet) or beyond the capacity.
    pub fn get(&self, seq: u64) -> u64 {
        seq.checked_sub(1)
            .and_then(|i| self.stamps.get(i as usize))
            .map_or(0, |s| s.load(Ordering::Relaxed))
    }
}

impl std::fmt::Debug for SendStamps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendStamps")
            .field("capacity", &self.stamps.len())
            .field("sent", &self.sent())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_by_sequence_and_ignores_overflow() {
        let (clock, mock) = quanta::Clock::mock();
        let s = SendStamps::new(clock, 4);
        mock.increment(100);
        s.stamp_range(1, 2);
        mock.increment(50);
        s.stamp_range(3, 5);
        s.stamp_range(7, 6);
        assert_eq!(s.get(0), 0);
        assert_eq!(s.get(1), 100);
        assert_eq!(s.get(2), 100);
        assert_eq!(s.get(3), 150);
        assert_eq!(s.get(4), 150);
        assert_eq!(s.get(5), 0);
        assert_eq!(s.sent(), 5);
        assert_eq!(s.capacity(), 4);
    }
}
