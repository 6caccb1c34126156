//! Per-stage latency of the pipeline: the TSC stamps one frame collects on its way from the wire
//! to a strategy ([`FrameStamps`]), the clock that takes them ([`StageClock`]), and one
//! HdrHistogram per span between two stages ([`StageHistograms`]).
//!
//! Stages, in pipeline order: the venue wrote the frame (`Wire`, only known in benchmarks, through
//! the venue's send-stamp side channel), the engine has the frame's payload in hand (`Read`: read
//! from the socket, TLS-decrypted and unframed, one stamp per frame even when one `read` brought
//! several, so a read stamp identifies its frame), decoded it (`Decoded`), the
//! feed applied and checked the book and hands the event on (`Applied`), the publisher pushed it
//! (`Published`; the engine core stamps it once, when the frame's last event has been pushed and
//! the frame is done), a strategy host popped it (`Received`), the strategy's callback returned
//! (`Returned`), order bytes were written (`OrderWritten`). The engine core fills `Read` to
//! `Published`; a strategy host fills `Received`/`Returned` from the event's `recv_tsc` /
//! `publish_tsc` and records into its *own* [`StageHistograms`]; the two are merged off the hot
//! path with [`StageHistograms::merge`].
//!
//! Invariants: a stamp of 0 means "not reached" and a span is recorded only when both its ends
//! were reached and in order, so a frame that published nothing (a heartbeat) leaves the later
//! spans untouched. Histograms are allocated once with fixed bounds; taking a stamp is one
//! `rdtsc` (quanta raw) and recording never allocates, locks or formats. Percentiles, `.hgrm`
//! files and plots are produced elsewhere, after the run.

use hdrhistogram::{AdditionError, CreationError, Histogram};
use quanta::Clock;

/// A point in the pipeline (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Stage {
    Wire = 0,
    Read = 1,
    Decoded = 2,
    Applied = 3,
    Published = 4,
    Received = 5,
    Returned = 6,
    OrderWritten = 7,
}

/// Number of [`Stage`]s.
pub const STAGE_COUNT: usize = 8;

impl Stage {
    /// Every stage in pipeline order.
    pub const ALL: [Stage; STAGE_COUNT] = [
        Stage::Wire,
        Stage::Read,
        Stage::Decoded,
        Stage::Applied,
        Stage::Published,
        Stage::Received,
        Stage::Returned,
        Stage::OrderWritten,
    ];

    /// A short stable name (used in JSON keys and file names).
    pub fn name(self) -> &'static str {
        match self {
            Stage::Wire => "wire",
            Stage::Read => "read",
            Stage::Decoded => "decoded",
            Stage::Applied => "applied",
            Stage::Published => "published",
            Stage::Received => "received",
            Stage::Returned => "returned",
            Stage::OrderWritten => "order_written",
        }
    }
}

/// The TSC stamps (quanta raw) of one frame; 0 = stage not reached. One 64-byte cache line
/// (x86_64 and most aarch64 cores), so copying one (the engine's recent frames, a strategy
/// host's current frame) touches exactly one line; the engine core hands its frames to the
/// recorder as the smaller [`crate::stage_records::StageRecord`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C, align(64))]
pub struct FrameStamps {
    tsc: [u64; STAGE_COUNT],
}

impl FrameStamps {
    /// Stamps `stage` with `tsc`.
    #[inline]
    pub fn set(&mut self, stage: Stage, tsc: u64) {
        self.tsc[stage as usize] = tsc;
    }

    /// The stamp of `stage` (0 = not reached).
    #[inline]
    pub fn get(&self, stage: Stage) -> u64 {
        self.tsc[stage as usize]
    }

    /// Forgets every stamp.
    #[inline]
    pub fn clear(&mut self) {
        self.tsc = [0; STAGE_COUNT];
    }
}

const _: () = assert!(core::mem::size_of::<FrameStamps>() == 64);

/// A span between two stages, measured per frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// Stable name, `from→to` spelled with an underscore (`read_to_decoded`).
    pub name: &'static str,
    pub from: Stage,
    pub to: Stage,
}

const fn span(name: &'static str, from: Stage, to: Stage) -> Span {
    Span { name, from, to }
}

/// Number of spans in [`SPANS`].
pub const SPAN_COUNT: usize = 12;

/// The spans every [`StageHistograms`] keeps: each step, then the end-to-end totals.
pub const SPANS: [Span; SPAN_COUNT] = [
    span("wire_to_read", Stage::Wire, Stage::Read),
    span("read_to_decoded", Stage::Read, Stage::Decoded),
    span("decoded_to_applied", Stage::Decoded, Stage::Applied),
    span("applied_to_published", Stage::Applied, Stage::Published),
    span("published_to_received", Stage::Published, Stage::Received),
    span("received_to_returned", Stage::Received, Stage::Returned),
    span(
        "returned_to_order_written",
        Stage::Returned,
        Stage::OrderWritten,
    ),
    span("read_to_published", Stage::Read, Stage::Published),
    span("wire_to_published", Stage::Wire, Stage::Published),
    span("read_to_returned", Stage::Read, Stage::Returned),
    span("wire_to_received", Stage::Wire, Stage::Received),
    span("wire_to_returned", Stage::Wire, Stage::Returned),
];

/// For each set of stages that have a stamp (bit `s` for [`Stage`] `s`), the spans of [`SPANS`]
/// whose two ends are both in it (bit `i` for `SPANS[i]`): what [`StageHistograms::record`]
/// visits. Computed at compile time.
const SPANS_WITH_ENDS: [u16; 1 << STAGE_COUNT] = {
    let mut table = [0u16; 1 << STAGE_COUNT];
    let mut present = 0;
    while present < table.len() {
        let mut i = 0;
        while i < SPAN_COUNT {
            let ends = (1usize << SPANS[i].from as usize) | (1usize << SPANS[i].to as usize);
            if present & ends == ends {
                table[present] |= 1 << i;
            }
            i += 1;
        }
        present += 1;
    }
    table
};
const _: () = assert!(SPAN_COUNT <= 16);

/// Longest span tracked exactly (longer ones saturate): 10 s in ns.
const SPAN_MAX_NS: u64 = 10_000_000_000;
/// Significant decimal digits of every histogram (0.1 % value resolution).
const SIGNIFICANT_DIGITS: u8 = 3;

/// Frames per detail sample by default: the inner stamps (`Decoded`, `Applied`) are taken on one
/// frame in this many; `Read` and `Published` on every frame. A TSC read costs ~10 ns on this
/// class of machine (`rdtsc` back to back, AMD EPYC under Firecracker; `bench/results/hot_path.md`),
/// so two fewer reads on seven frames in eight save ~17 ns per frame, while each inner span still
/// gets an unbiased sample of thousands of frames per second of feed.
pub const DETAIL_SAMPLE_EVERY: u32 = 8;

/// The clock that stamps stages, with the current frame's stamps. One per thread that stamps (the
/// engine core, each strategy host). Switched off, [`StageClock::stamp`] takes no reading.
///
/// Every frame gets `Read` (from its caller) and `Published` (the engine sets it at the frame's
/// end, [`StageClock::current_mut`]); the inner stamps ([`StageClock::stamp_detail`]) are taken
/// on one frame in [`StageClock::detail_sample_every`] (1: every frame). A frame left unsampled
/// keeps them at 0, so its inner spans are simply not recorded (a span needs both ends).
#[derive(Debug, Clone)]
pub struct StageClock {
    clock: Clock,
    current: FrameStamps,
    enabled: bool,
    sample_every: u32,
    /// Frames until the next sampled one (the current frame is sampled when this hit 0 at `begin`).
    countdown: u32,
    sampled: bool,
}

impl StageClock {
    pub fn new(clock: Clock) -> StageClock {
        StageClock {
            clock,
            current: FrameStamps::default(),
            enabled: true,
            sample_every: DETAIL_SAMPLE_EVERY,
            countdown: 0,
            sampled: false,
        }
    }

    /// Whether stamps are taken (on by default: cheap enough for production; see
    /// `bench/results/latency.md` for what they cost).
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    pub fn set_enabled(&mut self, on: bool) {
        self.enabled = on;
    }

    /// One frame in how many gets the inner stamps (see the type's docs).
    pub fn detail_sample_every(&self) -> u32 {
        self.sample_every
    }

    /// Samples the inner stamps on one frame in `every` (0 is taken as 1: every frame); the next
    /// frame is sampled.
    pub fn set_detail_sample_every(&mut self, every: u32) {
        self.sample_every = every.max(1);
        self.countdown = 0;
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Starts a frame read at `read_tsc`: forgets the previous frame's stamps and decides whether
    /// this frame is a detail sample.
    #[inline]
    pub fn begin(&mut self, read_tsc: u64) {
        self.current.clear();
        self.current.set(Stage::Read, read_tsc);
        self.sampled = self.enabled && self.countdown == 0;
        self.countdown = if self.countdown == 0 {
            self.sample_every - 1
        } else {
            self.countdown - 1
        };
    }

    /// Stamps `stage` now (when enabled).
    #[inline]
    pub fn stamp(&mut self, stage: Stage) {
        if self.enabled {
            self.current.set(stage, self.clock.raw());
        }
    }

    /// Stamps `stage` now unless it already has a stamp (the first event of a frame).
    #[inline]
    pub fn stamp_once(&mut self, stage: Stage) {
        if self.enabled && self.current.get(stage) == 0 {
            self.current.set(stage, self.clock.raw());
        }
    }

    /// Stamps an inner `stage` now, on detail-sampled frames only.
    #[inline]
    pub fn stamp_detail(&mut self, stage: Stage) {
        if self.sampled {
            self.current.set(stage, self.clock.raw());
        }
    }

    /// [`StageClock::stamp_detail`] unless `stage` already has a stamp (the first event of a
    /// frame).
    #[inline]
    pub fn stamp_detail_once(&mut self, stage: Stage) {
        if self.sampled && self.current.get(stage) == 0 {
            self.current.set(stage, self.clock.raw());
        }
    }

    /// Whether the current frame is a detail sample (its inner stamps are taken).
    #[inline]
    pub fn sampled(&self) -> bool {
        self.sampled
    }

    /// The current frame's stamps.
    #[inline]
    pub fn current(&self) -> &FrameStamps {
        &self.current
    }

    /// Mutable access: a strategy host fills `Read`/`Published` from the event; the engine core
    /// stamps `Published` through it at a frame's end.
    #[inline]
    pub fn current_mut(&mut self) -> &mut FrameStamps {
        &mut self.current
    }
}

/// One histogram (ns) per entry of [`SPANS`]; see the module docs.
#[derive(Debug, Clone)]
pub struct StageHistograms {
    spans: Vec<Histogram<u64>>,
}

impl StageHistograms {
    /// Allocates every histogram (once; recording never resizes them).
    pub fn new() -> Result<StageHistograms, CreationError> {
        let mut spans = Vec::with_capacity(SPAN_COUNT);
        for _ in 0..SPAN_COUNT {
            spans.push(Histogram::new_with_bounds(
                1,
                SPAN_MAX_NS,
                SIGNIFICANT_DIGITS,
            )?);
        }
        Ok(StageHistograms { spans })
    }

    /// Records every span of `stamps` whose two ends were reached, in order.
    ///
    /// Only the spans that can apply are visited: the set of stages with a stamp picks them from
    /// [`SPANS_WITH_ENDS`] (a frame of the engine core has 1 of the 12, or 4 when detail-sampled).
    #[inline]
    pub fn record(&mut self, clock: &Clock, stamps: &FrameStamps) {
        debug_assert_eq!(self.spans.len(), SPAN_COUNT);
        let mut present = 0usize;
        for (i, &tsc) in stamps.tsc.iter().enumerate() {
            present |= usize::from(tsc != 0) << i;
        }
        let mut spans = SPANS_WITH_ENDS[present & (SPANS_WITH_ENDS.len() - 1)];
        while spans != 0 {
            let i = spans.trailing_zeros() as usize;
            spans &= spans - 1;
            if let (Some(span), Some(hist)) = (SPANS.get(i), self.spans.get_mut(i)) {
                let (from, to) = (stamps.get(span.from), stamps.get(span.to));
                if to >= from {
                    hist.saturating_record(clock.delta_as_nanos(from, to).max(1));
                }
            }
        }
    }

    /// Records one value (ns) for the span named `name` directly (benchmark joins). Returns
    /// `false` for an unknown name.
    pub fn record_span(&mut self, name: &str, ns: u64) -> bool {
        match SPANS.iter().position(|s| s.name == name) {
            Some(i) => {
                self.spans[i].saturating_record(ns.max(1));
                true
            }
            None => false,
        }
    }

    /// Adds `other`'s counts (a strategy host's histograms into the engine's), off the hot path.
    pub fn merge(&mut self, other: &StageHistograms) -> Result<(), AdditionError> {
        for (mine, theirs) in self.spans.iter_mut().zip(other.spans.iter()) {
            mine.add(theirs)?;
        }
        Ok(())
    }

    /// The histogram of the span named `name`.
    pub fn span(&self, name: &str) -> Option<&Histogram<u64>> {
        let i = SPANS.iter().position(|s| s.name == name)?;
        self.spans.get(i)
    }

    /// Every span with its histogram, in [`SPANS`] order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static Span, &Histogram<u64>)> {
        SPANS.iter().zip(self.spans.iter())
    }

    /// Empties every histogram (keeps the allocation).
    pub fn reset(&mut self) {
        for h in &mut self.spans {
            h.reset();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_need_both_ends_in_order() {
        let (clock, _mock) = Clock::mock();
        let mut h = StageHistograms::new().unwrap();
        let mut s = FrameStamps::default();
        s.set(Stage::Read, 1_000);
        s.set(Stage::Decoded, 1_400);
        // A heartbeat: nothing applied or published.
        h.record(&clock, &s);
        assert_eq!(h.span("read_to_decoded").unwrap().len(), 1);
        assert_eq!(h.span("read_to_decoded").unwrap().max(), 400);
        assert_eq!(h.span("read_to_published").unwrap().len(), 0);
        assert_eq!(h.span("wire_to_read").unwrap().len(), 0);
        s.set(Stage::Applied, 1_900);
        s.set(Stage::Published, 2_000);
        s.set(Stage::Wire, 500);
        h.record(&clock, &s);
        assert_eq!(h.span("read_to_decoded").unwrap().len(), 2);
        assert_eq!(h.span("applied_to_published").unwrap().max(), 100);
        assert_eq!(h.span("read_to_published").unwrap().max(), 1_000);
        assert_eq!(h.span("wire_to_published").unwrap().max(), 1_500);
        assert_eq!(h.span("wire_to_read").unwrap().max(), 500);
        // Out of order (a stale wire stamp after the read) is not recorded.
        s.set(Stage::Wire, 5_000);
        h.record(&clock, &s);
        assert_eq!(h.span("wire_to_read").unwrap().len(), 1);
    }

    /// The plain rule the table-driven [`StageHistograms::record`] must equal: every span, in
    /// order, when both ends have a stamp and they are in order.
    fn record_every_span(h: &mut StageHistograms, clock: &Clock, stamps: &FrameStamps) {
        for (span, hist) in SPANS.iter().zip(h.spans.iter_mut()) {
            let (from, to) = (stamps.get(span.from), stamps.get(span.to));
            if from != 0 && to >= from {
                hist.saturating_record(clock.delta_as_nanos(from, to).max(1));
            }
        }
    }

    #[test]
    fn the_span_table_records_what_every_span_would() {
        let (clock, _mock) = Clock::mock();
        let (mut fast, mut plain) = (
            StageHistograms::new().unwrap(),
            StageHistograms::new().unwrap(),
        );
        // Every set of stamped stages, with stamps in pipeline order, reversed, and equal.
        for present in 0..1u32 << STAGE_COUNT {
            for order in 0..3u64 {
                let mut s = FrameStamps::default();
                for stage in Stage::ALL {
                    if present & (1 << stage as u32) != 0 {
                        let k = stage as u64;
                        s.set(
                            stage,
                            [1_000 + 37 * k, 1_000 - 37 * k, 1_000][order as usize],
                        );
                    }
                }
                fast.record(&clock, &s);
                record_every_span(&mut plain, &clock, &s);
            }
        }
        for ((span, a), (_, b)) in fast.iter().zip(plain.iter()) {
            assert!(!b.is_empty(), "{}", span.name);
            assert_eq!(a, b, "{}", span.name);
        }
    }

    #[test]
    fn a_strategy_hosts_histograms_merge_into_the_engines() {
        let (clock, _mock) = Clock::mock();
        let mut engine = StageHistograms::new().unwrap();
        let mut host = StageHistograms::new().unwrap();
        let mut s = FrameStamps::default();
        s.set(Stage::Read, 100);
        s.set(Stage::Published, 300);
        s.set(Stage::Received, 450);
        s.set(Stage::Returned, 700);
        host.record(&clock, &s);
        engine.merge(&host).unwrap();
        assert_eq!(engine.span("published_to_received").unwrap().max(), 150);
        assert_eq!(engine.span("received_to_returned").unwrap().max(), 250);
        assert_eq!(engine.span("read_to_returned").unwrap().max(), 600);
        assert!(engine.record_span("wire_to_read", 42));
        assert!(!engine.record_span("nope", 1));
        engine.reset();
        assert!(engine.iter().all(|(_, h)| h.is_empty()));
    }

    #[test]
    fn a_disabled_clock_takes_no_stamps() {
        let (clock, mock) = Clock::mock();
        mock.increment(10);
        let mut c = StageClock::new(clock);
        c.begin(7);
        c.stamp(Stage::Decoded);
        assert_ne!(c.current().get(Stage::Decoded), 0);
        c.stamp_once(Stage::Applied);
        let first = c.current().get(Stage::Applied);
        mock.increment(10);
        c.stamp_once(Stage::Applied);
        assert_eq!(c.current().get(Stage::Applied), first);
        c.set_enabled(false);
        c.begin(9);
        c.stamp(Stage::Decoded);
        assert_eq!(c.current().get(Stage::Decoded), 0);
        assert_eq!(c.current().get(Stage::Read), 9);
    }

    #[test]
    fn inner_stamps_are_taken_on_one_frame_in_n_and_published_on_every_frame() {
        let (clock, mock) = Clock::mock();
        mock.increment(10);
        let mut c = StageClock::new(clock);
        assert_eq!(c.detail_sample_every(), DETAIL_SAMPLE_EVERY);
        c.set_detail_sample_every(3);
        let mut sampled = Vec::new();
        for frame in 0..7u64 {
            c.begin(frame + 1);
            c.stamp_detail(Stage::Decoded);
            c.stamp_detail_once(Stage::Applied);
            c.stamp(Stage::Published);
            let s = c.current();
            assert_ne!(s.get(Stage::Published), 0);
            assert_eq!(s.get(Stage::Decoded) != 0, s.get(Stage::Applied) != 0);
            sampled.push(s.get(Stage::Decoded) != 0);
        }
        assert_eq!(sampled, [true, false, false, true, false, false, true]);
        // Every frame, and none while the clock is off.
        c.set_detail_sample_every(0);
        assert_eq!(c.detail_sample_every(), 1);
        c.begin(20);
        c.stamp_detail(Stage::Decoded);
        assert_ne!(c.current().get(Stage::Decoded), 0);
        c.set_enabled(false);
        c.begin(21);
        c.stamp_detail(Stage::Decoded);
        assert_eq!(c.current().get(Stage::Decoded), 0);
    }
}
