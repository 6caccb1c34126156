//! Stage stamps recorded off the engine core: the core writes each frame's [`FrameStamps`] (one
//! 64-byte record, one cache line) into an SPSC ring ([`StageRecordWriter`]); a
//! [`StageRecorder`] drains the ring into the [`StageHistograms`] and the frame latency
//! ([`LatencyRecorder`], read → published of every record), on another thread (`kspin run`'s
//! monitor) or on the core while it has nothing to read.
//!
//! Invariants: writing a record is one slot copy and at most one Release store; it never
//! allocates, locks, blocks or records a histogram. When the ring is full the record is dropped
//! and counted ([`StageRecordWriter::dropped`]), never waited for. The recorder owns the
//! histograms; whoever holds it decides where the recording work runs.

use hdrhistogram::CreationError;
use kspin_ring::{try_spsc, Consumer, Producer, RingError};
use quanta::Clock;

use crate::stages::{FrameStamps, Stage, StageHistograms};
use crate::stats::LatencyRecorder;

/// Records the ring holds between two drains: a burst of this many frames costs the core one
/// slot copy each; recording catches up when the core is idle (or on the recorder's thread).
/// 1024 × 64 B = 64 KiB, small beside the histograms (~200 KiB each) it keeps out of the core's
/// cache.
pub const STAGE_RECORD_RING: usize = 1024;

/// The core's end: see the module docs.
pub struct StageRecordWriter {
    tx: Producer<FrameStamps>,
    dropped: u64,
}

impl StageRecordWriter {
    /// Hands one frame's stamps on, or counts it dropped when the ring is full.
    #[inline]
    pub fn write(&mut self, stamps: &FrameStamps) -> bool {
        match self.tx.try_push(*stamps) {
            Ok(()) => true,
            Err(_) => {
                self.dropped += 1;
                false
            }
        }
    }

    /// Hands one frame's stamps on; when the ring is full, `recorder` (the engine's own, when it
    /// still holds it) is drained to make room first, else the record is dropped and counted.
    #[inline]
    pub fn write_or_drain(
        &mut self,
        stamps: &FrameStamps,
        recorder: Option<&mut StageRecorder>,
    ) -> bool {
        match self.tx.try_push(*stamps) {
            Ok(()) => true,
            Err(stamps) => self.write_full(stamps, recorder),
        }
    }

    #[cold]
    #[inline(never)]
    fn write_full(&mut self, stamps: FrameStamps, recorder: Option<&mut StageRecorder>) -> bool {
        if let Some(recorder) = recorder {
            recorder.drain();
            if self.tx.try_push(stamps).is_ok() {
                return true;
            }
        }
        self.dropped += 1;
        false
    }

    /// Whether a record fits now (reads the recorder's position only when the cached one says
    /// the ring is full).
    #[inline]
    pub fn has_room(&mut self) -> bool {
        self.tx.reserve(1)
    }

    /// Records dropped because the ring was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

/// The recording end: drains the ring into its histograms. `Send`: it may run on any thread.
pub struct StageRecorder {
    rx: Consumer<FrameStamps>,
    clock: Clock,
    histograms: StageHistograms,
    /// The frame latency: read → published of every record (the engine stamps `Published` at
    /// the end of a frame that published nothing, so every frame has both).
    latency: LatencyRecorder,
    recorded: u64,
}

impl std::fmt::Debug for StageRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StageRecorder")
            .field("recorded", &self.recorded)
            .field("queued", &self.rx.len())
            .finish_non_exhaustive()
    }
}

/// Errors creating the ring and its histograms (start-up only).
#[derive(Debug, thiserror::Error)]
pub enum StageRecordError {
    #[error("stage record ring: {0}")]
    Ring(#[from] RingError),
    #[error("stage histograms: {0}")]
    Histogram(#[from] CreationError),
}

/// A ring of `capacity` records (rounded up to a power of two) and its two ends; the recorder
/// converts TSC deltas with `clock`. Allocates: start-up only.
pub fn stage_record_ring(
    capacity: usize,
    clock: Clock,
) -> Result<(StageRecordWriter, StageRecorder), StageRecordError> {
    let (tx, rx) = try_spsc(capacity)?;
    let recorder = StageRecorder {
        rx,
        latency: LatencyRecorder::new(clock.clone())?,
        clock,
        histograms: StageHistograms::new()?,
        recorded: 0,
    };
    Ok((StageRecordWriter { tx, dropped: 0 }, recorder))
}

impl StageRecorder {
    /// Records every queued frame; returns how many. Never allocates.
    pub fn drain(&mut self) -> usize {
        let (clock, histograms, latency) = (&self.clock, &mut self.histograms, &mut self.latency);
        let n = self.rx.pop_batch(
            |stamps| {
                histograms.record(clock, &stamps);
                let (read, published) = (stamps.get(Stage::Read), stamps.get(Stage::Published));
                if read != 0 && published >= read {
                    latency.record(clock.delta_as_nanos(read, published));
                }
            },
            usize::MAX,
        );
        self.recorded += n as u64;
        n
    }

    /// Frames recorded so far.
    pub fn recorded(&self) -> u64 {
        self.recorded
    }

    /// The histograms of every frame drained so far.
    pub fn histograms(&self) -> &StageHistograms {
        &self.histograms
    }

    pub fn histograms_mut(&mut self) -> &mut StageHistograms {
        &mut self.histograms
    }

    /// The frame latency (read → published) of every frame drained so far.
    pub fn latency(&self) -> &LatencyRecorder {
        &self.latency
    }

    /// The frame latency, to take a reporting interval from
    /// ([`LatencyRecorder::take_interval`]).
    pub fn latency_mut(&mut self) -> &mut LatencyRecorder {
        &mut self.latency
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stages::Stage;

    fn stamps(read: u64, published: u64) -> FrameStamps {
        let mut s = FrameStamps::default();
        s.set(Stage::Read, read);
        s.set(Stage::Published, published);
        s
    }

    #[test]
    fn records_what_was_written_and_counts_what_did_not_fit() {
        let (clock, _mock) = Clock::mock();
        let (mut w, mut r) = stage_record_ring(4, clock).unwrap();
        for i in 0..6 {
            w.write(&stamps(100, 200 + i));
        }
        assert_eq!(w.dropped(), 2);
        assert_eq!(r.drain(), 4);
        let h = r.histograms().span("read_to_published").unwrap();
        assert_eq!((h.len(), h.min(), h.max()), (4, 100, 103));
        // Room again after the drain.
        assert!(w.write(&stamps(100, 300)));
        assert_eq!((r.drain(), r.recorded()), (1, 5));
        assert_eq!(r.histograms().span("read_to_published").unwrap().max(), 200);
    }

    #[test]
    fn the_recorder_runs_on_another_thread() {
        let (clock, _mock) = Clock::mock();
        let (mut w, mut r) = stage_record_ring(8, clock).unwrap();
        let recorder = std::thread::spawn(move || {
            while r.recorded() < 100 {
                if r.drain() == 0 {
                    std::thread::yield_now();
                }
            }
            r
        });
        let mut sent = 0;
        while sent < 100 {
            if w.write(&stamps(10, 10 + sent)) {
                sent += 1;
            } else {
                // Full: in the engine the record would be dropped; here, wait to send all.
                std::thread::yield_now();
            }
        }
        let r = recorder.join().unwrap();
        let h = r.histograms().span("read_to_published").unwrap();
        assert_eq!((h.len(), h.max()), (100, 99));
    }
}
