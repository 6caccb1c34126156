//! Stage stamps recorded off the engine core: the core hands each frame's stamps on as one
//! 12-byte [`StageRecord`] (a 16-byte ring slot with its sequence, four to a cache line) through
//! an SPSC ring ([`StageRecordWriter`]); a [`StageRecorder`] drains the ring into the [`StageHistograms`] and the frame latency
//! ([`LatencyRecorder`], read → published of every record), on another thread (`kspin run`'s
//! monitor, every [`STAGE_RECORDER_TICK`]) or on the core while it has nothing to read.
//!
//! Invariants: writing a record is a few subtractions, one 16-byte slot write (record and
//! sequence) and one Release store; it never allocates, locks, blocks or records a histogram.
//! When the ring is full the record is dropped and counted ([`StageRecordWriter::dropped`]), never waited for. The
//! recorder owns the histograms; whoever holds it decides where the recording work runs.

use hdrhistogram::CreationError;
use kspin_ring::{try_spsc, Consumer, Producer, RingError};
use quanta::Clock;

use crate::stages::{FrameStamps, Stage, StageHistograms};
use crate::stats::LatencyRecorder;

/// Records the ring holds between two drains. At the most one engine core replays from memory,
/// ~5 M frames/s (`bench/RESULTS.md`, replay), it holds 6.5 ms: a recorder draining every
/// [`STAGE_RECORDER_TICK`] keeps up even when its thread is held off the CPU for a few
/// milliseconds (a 1,024-record ring dropped records in CI's loaded live run, a 16,384-record one
/// in some replays on this 2-vCPU VM). 32,768 × 16 B slots = 512 KiB, written sequentially by
/// the core and read in bulk by the recorder; 16,384 and 32,768 replayed at the same speed.
pub const STAGE_RECORD_RING: usize = 32768;

/// How often a recorder on another thread drains the ring (`kspin run`'s monitor;
/// `kspin bench replay`'s recorder thread, which measures the same configuration). Draining in
/// bulk, not spinning on the ring, keeps the record lines from bouncing between the two cores
/// once per frame.
pub const STAGE_RECORDER_TICK: std::time::Duration = std::time::Duration::from_millis(1);

/// One frame's stamps as the engine core hands them on: the TSC ticks from `Read` to `Decoded`,
/// `Applied` and `Published` (the stages the core stamps; the others belong to benchmarks and
/// strategy hosts, which record their own [`FrameStamps`]). 12 bytes: with the ring's 4-byte slot
/// sequence, a 16-byte slot, four to a cache line and none straddling two, so the core's
/// per-frame cost is a quarter of a line crossing to the recorder's core, where a whole
/// [`FrameStamps`] was one line per frame.
///
/// A stage counts as reached when it has a stamp no earlier than `Read`'s; a frame without a
/// `Read` stamp reaches nothing. A span longer than `u32::MAX - 1` ticks (1.4 s at 3 GHz) is
/// recorded as that many ticks (`u32::MAX` marks a stage not reached).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct StageRecord {
    /// Ticks from `Read` to [`RECORDED_STAGES`]`[i]`, or [`NOT_REACHED`].
    after_read: [u32; 3],
}

const _: () = assert!(core::mem::size_of::<StageRecord>() == 12);

/// `after_read` of a stage the frame did not reach.
const NOT_REACHED: u32 = u32::MAX;

/// The longest span a record keeps, in ticks (longer ones saturate to it).
const LONGEST_SPAN: u32 = u32::MAX - 1;

/// The stages a [`StageRecord`] carries, after `Read`.
const RECORDED_STAGES: [Stage; 3] = [Stage::Decoded, Stage::Applied, Stage::Published];
/// Where `Published` sits in [`RECORDED_STAGES`] (checked at compile time).
const PUBLISHED_AT: usize = 2;
const _: () = assert!(matches!(RECORDED_STAGES[PUBLISHED_AT], Stage::Published));

impl Default for StageRecord {
    /// A record that reached no stage.
    fn default() -> StageRecord {
        StageRecord {
            after_read: [NOT_REACHED; 3],
        }
    }
}

impl StageRecord {
    /// The record of `stamps` (see the type's docs for what counts as reached).
    #[inline]
    pub fn of(stamps: &FrameStamps) -> StageRecord {
        let read = stamps.get(Stage::Read);
        let mut record = StageRecord::default();
        if read == 0 {
            return record;
        }
        for (i, stage) in RECORDED_STAGES.into_iter().enumerate() {
            let tsc = stamps.get(stage);
            if tsc >= read {
                // Fits: at most `LONGEST_SPAN`.
                record.after_read[i] = (tsc - read).min(u64::from(LONGEST_SPAN)) as u32;
            }
        }
        record
    }

    /// [`StageRecord::of`] for stamps holding only `Read` = `read` and `Published` = `published`
    /// (a frame not detail-sampled): no inner stamp to look at.
    #[inline]
    pub fn of_ends(read: u64, published: u64) -> StageRecord {
        let mut record = StageRecord::default();
        if read != 0 && published >= read {
            // Fits: at most `LONGEST_SPAN`.
            record.after_read[PUBLISHED_AT] =
                (published - read).min(u64::from(LONGEST_SPAN)) as u32;
        }
        record
    }

    /// The stamps back, with `Read` at `read` (non-zero; only the differences are kept) and
    /// every stage not reached at 0. A `read` so close to `u64::MAX` that a stage would pass it
    /// puts that stage at `u64::MAX`.
    pub fn stamps(&self, read: u64) -> FrameStamps {
        let mut stamps = FrameStamps::default();
        stamps.set(Stage::Read, read);
        for (i, stage) in RECORDED_STAGES.into_iter().enumerate() {
            let span = self.after_read[i];
            if span != NOT_REACHED {
                stamps.set(stage, read.saturating_add(u64::from(span)));
            }
        }
        stamps
    }
}

/// The `Read` stamp a drained record is rebuilt with: any non-zero tick, as the histograms and
/// the latency only take differences.
const REBUILT_READ: u64 = 1;

/// The core's end: see the module docs.
pub struct StageRecordWriter {
    tx: Producer<StageRecord>,
    dropped: u64,
}

impl StageRecordWriter {
    /// Hands one frame's stamps on, or counts it dropped when the ring is full.
    #[inline]
    pub fn write(&mut self, stamps: &FrameStamps) -> bool {
        match self.tx.try_push(StageRecord::of(stamps)) {
            Ok(()) => true,
            Err(_) => {
                self.dropped += 1;
                false
            }
        }
    }

    /// Hands one frame's record on; when the ring is full, `recorder` (the engine's own, when it
    /// still holds it) is drained to make room first, else the record is dropped and counted.
    #[inline]
    pub fn write_or_drain(
        &mut self,
        record: StageRecord,
        recorder: &mut Option<StageRecorder>,
    ) -> bool {
        match self.tx.try_push(record) {
            Ok(()) => true,
            Err(record) => self.write_full(record, recorder.as_mut()),
        }
    }

    #[cold]
    #[inline(never)]
    fn write_full(&mut self, record: StageRecord, recorder: Option<&mut StageRecorder>) -> bool {
        if let Some(recorder) = recorder {
            recorder.drain();
            if self.tx.try_push(record).is_ok() {
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
    rx: Consumer<StageRecord>,
    clock: Clock,
    histograms: StageHistograms,
    /// The frame latency: read → published of every record (the engine stamps `Published` at
    /// the end of every frame, so every frame has both).
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
            |record| {
                let stamps = record.stamps(REBUILT_READ);
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
    use proptest::prelude::*;

    proptest! {
        /// The shortcut for a frame without inner stamps gives the general record.
        #[test]
        fn of_ends_is_of_with_only_read_and_published(
            read in prop_oneof![Just(0u64), 1u64..1 << 40, any::<u64>()],
            published in prop_oneof![Just(0u64), any::<u64>()],
            span in prop_oneof![
                Just(0u64),
                1u64..1_000,
                Just(u64::from(u32::MAX) - 1),
                Just(u64::from(u32::MAX)),
                any::<u64>(),
            ],
            shortcut_span in any::<bool>(),
        ) {
            let published = if shortcut_span { read.wrapping_add(span) } else { published };
            let mut s = FrameStamps::default();
            s.set(Stage::Read, read);
            s.set(Stage::Published, published);
            prop_assert_eq!(StageRecord::of_ends(read, published), StageRecord::of(&s));
        }
    }

    fn stamps(read: u64, published: u64) -> FrameStamps {
        let mut s = FrameStamps::default();
        s.set(Stage::Read, read);
        s.set(Stage::Published, published);
        s
    }

    #[test]
    fn a_record_keeps_each_stage_after_read_and_forgets_the_rest() {
        let mut s = FrameStamps::default();
        s.set(Stage::Read, 1_000);
        s.set(Stage::Applied, 1_250);
        s.set(Stage::Published, 1_000);
        let rebuilt = StageRecord::of(&s).stamps(7);
        assert_eq!(
            Stage::ALL.map(|stage| rebuilt.get(stage)),
            [0, 7, 0, 257, 7, 0, 0, 0]
        );
        // A stage stamped before `Read` is not reached; neither is anything without `Read`.
        s.set(Stage::Decoded, 999);
        assert_eq!(StageRecord::of(&s).stamps(7).get(Stage::Decoded), 0);
        s.set(Stage::Read, 0);
        assert_eq!(StageRecord::of(&s), StageRecord::default());
        // A span past `u32::MAX - 1` ticks saturates; exactly that many is kept as is.
        s.set(Stage::Read, 5);
        s.set(Stage::Published, 5 + (1 << 40));
        let published = StageRecord::of(&s).stamps(1).get(Stage::Published);
        assert_eq!(published, 1 + u64::from(u32::MAX - 1));
        s.set(Stage::Published, 5 + u64::from(u32::MAX - 1));
        let published = StageRecord::of(&s).stamps(1).get(Stage::Published);
        assert_eq!(published, 1 + u64::from(u32::MAX - 1));
        s.set(Stage::Published, 5 + u64::from(u32::MAX));
        let published = StageRecord::of(&s).stamps(1).get(Stage::Published);
        assert_eq!(published, 1 + u64::from(u32::MAX - 1));
    }

    /// Through the record, the histograms get exactly what the stamps themselves give them, for
    /// every combination of reached stages (the engine core's stamps: read first).
    #[test]
    fn recording_the_record_equals_recording_the_stamps() {
        let (clock, _mock) = Clock::mock();
        for reached in 0..8u32 {
            let mut s = FrameStamps::default();
            s.set(Stage::Read, 10_000);
            for (i, stage) in RECORDED_STAGES.into_iter().enumerate() {
                if reached & (1 << i) != 0 {
                    s.set(stage, 10_000 + 100 * (i as u64 + 1) + u64::from(reached));
                }
            }
            let mut direct = StageHistograms::new().unwrap();
            direct.record(&clock, &s);
            let (mut w, mut r) = stage_record_ring(2, clock.clone()).unwrap();
            assert!(w.write(&s));
            assert_eq!(r.drain(), 1);
            for ((span, a), (_, b)) in direct.iter().zip(r.histograms().iter()) {
                assert_eq!(
                    (a.len(), a.min(), a.max()),
                    (b.len(), b.min(), b.max()),
                    "{} with stages {reached:03b}",
                    span.name
                );
            }
            let latency = r.latency().total();
            let published = reached & 0b100 != 0;
            assert_eq!(latency.len(), u64::from(published));
            if published {
                assert_eq!(latency.max(), 300 + u64::from(reached));
            }
        }
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
