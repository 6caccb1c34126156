//! What the engine core reports about itself: counters, an internal-latency histogram, fixed
//! power-of-two latency buckets (the Prometheus histogram, [`LatencyBuckets`]), and the
//! once-a-second [`CoreStats`] snapshot that leaves the core through an SPSC ring.
//!
//! Owns the core's own counters (the pipeline and the feed keep their per-frame ones) and the latency histogram,
//! allocated once. Recording a latency and taking a snapshot never allocate; formatting happens on
//! the monitor thread, never here.

use hdrhistogram::Histogram;
use quanta::Clock;

use kspin_core::feed::FeedCounters;

use crate::cause::{CauseCounts, EndCauses};
use kspin_core::PipelineCounters;

pub use kspin_core::pipeline::{DECODE_ERROR_KINDS, DECODE_ERROR_NAMES};

/// Highest internal latency the histogram tracks exactly (longer ones saturate): 10 s in ns.
const LATENCY_MAX_NS: u64 = 10_000_000_000;

/// Counters owned by the runtime.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CoreCounters {
    pub connects: u64,
    pub reconnects: u64,
    pub connect_failures: u64,
    pub disconnects: u64,
    /// `connect_failures` by cause (an attempt that never opened).
    pub connect_failures_by_cause: CauseCounts,
    /// `disconnects` by cause, plus `local_stop` (our own shutdown, not in `disconnects`).
    pub disconnects_by_cause: CauseCounts,
    pub stalls: u64,
    pub pings_sent: u64,
    pub requests_sent: u64,
    pub requests_dropped: u64,
    pub bytes_read: u64,
    /// `status` frames announcing maintenance.
    pub maintenance_seen: u64,
    /// Resync requests the exchange refused (error ack carrying a resync `req_id`).
    pub resync_refused: u64,
    /// Reconnects forced because a book stayed resyncing or without its snapshot too long.
    pub resync_timeouts: u64,
    pub loops: u64,
}

/// Connection phase as the monitor sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LinkState {
    #[default]
    Waiting,
    Connecting,
    Streaming,
    Stopped,
}

/// One snapshot, sent once a second from the core to the monitor thread.
#[derive(Debug, Clone, Copy, Default)]
pub struct CoreStats {
    pub feed: FeedCounters,
    /// Frames and decode errors.
    pub pipeline: PipelineCounters,
    pub core: CoreCounters,
    pub link: LinkState,
    /// The order path's ends by cause (`None` without a live trading link).
    pub order_link_causes: Option<EndCauses>,
    pub books_live: u32,
    pub books_resyncing: u32,
    /// Internal latency (frame read → decoded, applied, checked, published) over the last
    /// interval, in ns.
    pub p50_ns: u64,
    pub p99_ns: u64,
    pub max_ns: u64,
    pub samples: u64,
    /// Internal latency of every frame since start, in power-of-two buckets (a histogram that
    /// travels in a `Copy` snapshot; the metrics thread exposes it).
    pub latency: LatencyBuckets,
    /// What the telemetry taps lost to full rings ([`crate::telemetry`]); zero without taps.
    pub taps: crate::telemetry::TapCounters,
    /// Frames whose stage record found the stage record ring full
    /// ([`crate::Engine::stage_records_dropped`]): left out of the latency figures.
    pub stage_records_dropped: u64,
}

/// Buckets of [`LatencyBuckets`]: bucket `k < LATENCY_BUCKETS - 1` counts latencies in
/// `(2^(k-1), 2^k]` ns (bucket 0: ≤ 1 ns); the last one everything above `2^(LATENCY_BUCKETS-2)`
/// ns (about 4.3 s).
pub const LATENCY_BUCKETS: usize = 34;

/// A latency histogram of fixed power-of-two buckets: one increment per sample, no allocation,
/// `Copy`, cumulative since start — what a Prometheus histogram needs (`le` bounds `2^k` ns).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LatencyBuckets {
    /// Samples per bucket (see [`LATENCY_BUCKETS`]).
    pub counts: [u64; LATENCY_BUCKETS],
    /// Sum of every sample, in ns (wrapping after 584 years of latency).
    pub sum_ns: u64,
}

impl Default for LatencyBuckets {
    fn default() -> Self {
        LatencyBuckets {
            counts: [0; LATENCY_BUCKETS],
            sum_ns: 0,
        }
    }
}

impl LatencyBuckets {
    /// The bucket of `ns`: `ceil(log2(ns))`, capped at the last bucket.
    #[inline]
    pub fn bucket(ns: u64) -> usize {
        let k = if ns <= 1 {
            0
        } else {
            (u64::BITS - (ns - 1).leading_zeros()) as usize
        };
        k.min(LATENCY_BUCKETS - 1)
    }

    /// Upper bound of bucket `k` in ns (`None` for the last, unbounded one).
    pub fn upper_ns(k: usize) -> Option<u64> {
        (k < LATENCY_BUCKETS - 1).then(|| 1u64 << k)
    }

    #[inline]
    pub fn record(&mut self, ns: u64) {
        self.counts[Self::bucket(ns)] += 1;
        self.sum_ns = self.sum_ns.wrapping_add(ns);
    }

    /// Samples recorded.
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }
}

/// Frames whose latency [`LatencyRecorder`] queues (as raw clock ticks) before folding them into
/// its histograms.
pub const LATENCY_QUEUE: usize = 512;

/// The frame latency of the run: the current reporting interval's histogram (reset after each
/// snapshot), the finished intervals folded together, and power-of-two buckets. A frame's
/// latency is queued as raw clock ticks ([`LatencyRecorder::record_ticks`], a store); the queue is
/// folded into the histograms when the core is idle ([`LatencyRecorder::fold`]), when it is full,
/// and before anything is read, so every frame is counted and every report sees every frame.
/// The run's total is assembled when asked for ([`LatencyRecorder::total`]).
pub struct LatencyRecorder {
    interval: Histogram<u64>,
    /// Every finished interval, added when it was taken.
    finished: Histogram<u64>,
    /// Every folded sample again, in power-of-two buckets (travels in [`CoreStats::latency`]).
    buckets: LatencyBuckets,
    /// Converts queued ticks to ns (the clock the engine stamps with).
    clock: Clock,
    /// `queue[..queued]`: latencies not folded yet, in raw ticks of `clock`.
    queue: Box<[u64; LATENCY_QUEUE]>,
    queued: usize,
}

impl LatencyRecorder {
    /// Construction with fixed bounds allocates once; recording never allocates (the histograms
    /// are fed with `saturating_record`, which never resizes).
    pub fn new(clock: Clock) -> Result<LatencyRecorder, hdrhistogram::CreationError> {
        Ok(LatencyRecorder {
            interval: Histogram::new_with_bounds(1, LATENCY_MAX_NS, 3)?,
            finished: Histogram::new_with_bounds(1, LATENCY_MAX_NS, 3)?,
            buckets: LatencyBuckets::default(),
            clock,
            queue: Box::new([0; LATENCY_QUEUE]),
            queued: 0,
        })
    }

    /// Records a latency in ns now.
    #[inline]
    pub fn record(&mut self, ns: u64) {
        self.interval.saturating_record(ns.max(1));
        self.buckets.record(ns);
    }

    /// Queues the latency from raw clock reading `start` to `end` (0 when `end <= start`, as
    /// [`Clock::delta_as_nanos`]); folds the queue first when it is full.
    #[inline]
    pub fn record_ticks(&mut self, start: u64, end: u64) {
        let ticks = end.saturating_sub(start);
        match self.queue.get_mut(self.queued) {
            Some(slot) => {
                *slot = ticks;
                self.queued += 1;
            }
            None => self.fold_then_queue(ticks),
        }
    }

    #[cold]
    #[inline(never)]
    fn fold_then_queue(&mut self, ticks: u64) {
        self.fold();
        self.record_ticks(0, ticks);
    }

    /// Folds the queued latencies into the histograms (the core calls this when idle).
    pub fn fold(&mut self) {
        let queued = self.queue.get(..self.queued).unwrap_or_default();
        for &ticks in queued {
            let ns = self.clock.delta_as_nanos(0, ticks);
            self.interval.saturating_record(ns.max(1));
            self.buckets.record(ns);
        }
        self.queued = 0;
    }

    /// The queued latencies in ns.
    fn queued_ns(&self) -> impl Iterator<Item = u64> + '_ {
        let queued = self.queue.get(..self.queued).unwrap_or_default();
        queued.iter().map(|&t| self.clock.delta_as_nanos(0, t))
    }

    /// Every sample of the run so far in power-of-two buckets, the queued ones included.
    pub fn buckets(&self) -> LatencyBuckets {
        let mut buckets = self.buckets;
        self.queued_ns().for_each(|ns| buckets.record(ns));
        buckets
    }

    /// Every sample of the run so far (the finished intervals, the current one and the queued
    /// samples). Builds a new histogram: for reports, never on the frame path.
    pub fn total(&self) -> Histogram<u64> {
        let mut total = self.finished.clone();
        // Same bounds on both sides and every sample saturated into them: adding cannot fail.
        let _ = total.add(&self.interval);
        self.queued_ns()
            .for_each(|ns| total.saturating_record(ns.max(1)));
        total
    }

    /// Fills the latency fields of `stats` from the interval histogram (the queued samples
    /// folded in first) and resets it.
    pub fn take_interval(&mut self, stats: &mut CoreStats) {
        self.fold();
        let h = &self.interval;
        stats.latency = self.buckets;
        stats.samples = h.len();
        if !h.is_empty() {
            stats.p50_ns = h.value_at_quantile(0.50);
            stats.p99_ns = h.value_at_quantile(0.99);
            stats.max_ns = h.max();
        } else {
            stats.p50_ns = 0;
            stats.p99_ns = 0;
            stats.max_ns = 0;
        }
        // Same bounds on both sides and every sample saturated into them: adding cannot fail.
        let _ = self.finished.add(&self.interval);
        self.interval.reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_percentiles_then_reset() {
        let mut r = LatencyRecorder::new(Clock::new()).unwrap();
        for v in 1..=100 {
            r.record(v * 10);
        }
        let mut s = CoreStats::default();
        r.take_interval(&mut s);
        assert_eq!(s.samples, 100);
        assert_eq!(s.p50_ns, 500);
        assert_eq!(s.max_ns, 1000);
        r.take_interval(&mut s);
        assert_eq!(s.samples, 0);
        assert_eq!(r.total().len(), 100);
        r.record(7);
        assert_eq!(r.total().len(), 101);
        assert_eq!(s.latency.count(), 100);
        assert_eq!(s.latency.sum_ns, (1..=100).map(|v| v * 10).sum::<u64>());
    }

    /// Queued ticks (through a full queue, an idle fold and a read with samples still queued)
    /// give exactly the histograms, buckets and percentiles of recording each latency at once.
    #[test]
    fn queued_ticks_report_what_direct_records_report() {
        let clock = Clock::new();
        let mut queued = LatencyRecorder::new(clock.clone()).unwrap();
        let mut direct = LatencyRecorder::new(clock.clone()).unwrap();
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        let check = |queued: &mut LatencyRecorder, direct: &mut LatencyRecorder| {
            assert_eq!(queued.total(), direct.total());
            assert_eq!(queued.buckets(), direct.buckets());
            let (mut a, mut b) = (CoreStats::default(), CoreStats::default());
            queued.take_interval(&mut a);
            direct.take_interval(&mut b);
            assert_eq!(
                (a.samples, a.p50_ns, a.p99_ns, a.max_ns, a.latency),
                (b.samples, b.p50_ns, b.p99_ns, b.max_ns, b.latency)
            );
        };
        for round in 0..3 {
            for _ in 0..LATENCY_QUEUE * 2 + 37 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let start = x % 1_000_000;
                // Some ends before their start: 0 ns, as `delta_as_nanos` says.
                let end = (start + (x >> 20) % 5_000_000).saturating_sub(1_000);
                queued.record_ticks(start, end);
                direct.record(clock.delta_as_nanos(start, end));
            }
            if round == 1 {
                queued.fold();
            }
            check(&mut queued, &mut direct);
        }
    }

    #[test]
    fn buckets_are_ceil_log2_with_inclusive_upper_bounds() {
        let cases = [
            (0, 0),
            (1, 0),
            (2, 1),
            (3, 2),
            (4, 2),
            (5, 3),
            (1024, 10),
            (1025, 11),
            (u64::MAX, LATENCY_BUCKETS - 1),
        ];
        for (ns, k) in cases {
            assert_eq!(LatencyBuckets::bucket(ns), k, "{ns} ns");
            if let Some(upper) = LatencyBuckets::upper_ns(k) {
                assert!(ns <= upper, "{ns} ns ≤ le {upper}");
            }
        }
        assert_eq!(LatencyBuckets::upper_ns(LATENCY_BUCKETS - 1), None);
        assert_eq!(LatencyBuckets::upper_ns(32), Some(1 << 32));
    }
}
