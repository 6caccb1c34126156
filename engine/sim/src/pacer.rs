//! Pacing of market events: how many are due now and how long the venue loop may idle.
//!
//! Owns only the pacing clock. Invariants: a pacer never reports more than its batch cap per
//! call (so one loop iteration stays bounded and connections keep being served), never builds
//! a backlog longer than [`MAX_LAG`], and never sleeps itself: the loop decides. Pacing only
//! changes *when* events happen, never *which* (the market's sequence depends on the seed alone).
//!
//! [`SleepPacer`] is the default; [`MaxRatePacer`] is for throughput runs; [`SpinPacer`] is for
//! latency runs: the same even spacing as `SleepPacer`, but it never lets the loop sleep, so each
//! event leaves within one loop iteration (~1 µs) of its due time instead of a timer slack
//! (~50 µs+) late. [`PacingMode::SpinYield`] is the spin pacer on a core shared with another
//! polling thread: the loop gives the core away (`sched_yield`) after every turn (the spin
//! pacer never idles).

use std::time::{Duration, Instant};

/// Most events one call may report (bounds one loop iteration).
pub const MAX_BATCH: u32 = 1_024;
/// A pacer that falls further behind than this forgets the backlog instead of catching up.
pub const MAX_LAG: Duration = Duration::from_millis(100);

/// Which pacer a venue uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PacingMode {
    /// Events spread evenly at the configured rate; the loop sleeps in between.
    #[default]
    Sleep,
    /// As many events as the loop can take; the rate is ignored.
    MaxRate,
    /// Events spread evenly at the configured rate; the loop busy-polls in between (a pinned
    /// venue thread for latency benchmarks).
    Spin,
    /// As `Spin`, but the loop yields its core after every turn: for a venue thread that shares
    /// its core with another polling thread (that yields too), on machines without a core each.
    SpinYield,
}

/// See the module docs.
pub trait Pacer: Send {
    /// Events due at `now` for a target of `rate_per_sec` (0 = none), at most [`MAX_BATCH`].
    fn due(&mut self, now: Instant, rate_per_sec: u64) -> u32;
    /// How long the loop may idle after `now` before the next event is due.
    fn idle(&self, now: Instant) -> Duration;
    /// Restarts the clock (after a pause, stall or maintenance) so no backlog is replayed.
    fn reset(&mut self, now: Instant);
}

/// Even spacing at the rate; with `batch > 1`, events come in back-to-back groups of `batch`
/// with the same average rate (a bursty feed).
#[derive(Debug, Clone)]
pub struct SleepPacer {
    next: Instant,
    batch: u32,
}

impl SleepPacer {
    pub fn new(now: Instant, batch: u32) -> SleepPacer {
        SleepPacer {
            next: now,
            batch: batch.clamp(1, MAX_BATCH),
        }
    }
}

impl Pacer for SleepPacer {
    fn due(&mut self, now: Instant, rate_per_sec: u64) -> u32 {
        if rate_per_sec == 0 {
            self.next = now;
            return 0;
        }
        if now < self.next {
            return 0;
        }
        if now - self.next > MAX_LAG {
            self.next = now;
        }
        let tick = Duration::from_nanos(
            (1_000_000_000u64.saturating_mul(self.batch as u64) / rate_per_sec).max(1),
        );
        let mut events = 0u32;
        while self.next <= now && events + self.batch <= MAX_BATCH {
            events += self.batch;
            self.next += tick;
        }
        events
    }

    fn idle(&self, now: Instant) -> Duration {
        self.next.saturating_duration_since(now)
    }

    fn reset(&mut self, now: Instant) {
        self.next = now;
    }
}

/// Always [`MAX_BATCH`] events due; never idles.
#[derive(Debug, Clone, Default)]
pub struct MaxRatePacer;

impl Pacer for MaxRatePacer {
    fn due(&mut self, _now: Instant, _rate_per_sec: u64) -> u32 {
        MAX_BATCH
    }

    fn idle(&self, _now: Instant) -> Duration {
        Duration::ZERO
    }

    fn reset(&mut self, _now: Instant) {}
}

/// [`SleepPacer`]'s schedule with a zero idle hint: the venue loop spins instead of sleeping.
#[derive(Debug, Clone)]
pub struct SpinPacer {
    schedule: SleepPacer,
}

impl SpinPacer {
    pub fn new(now: Instant, batch: u32) -> SpinPacer {
        SpinPacer {
            schedule: SleepPacer::new(now, batch),
        }
    }
}

impl Pacer for SpinPacer {
    #[inline]
    fn due(&mut self, now: Instant, rate_per_sec: u64) -> u32 {
        self.schedule.due(now, rate_per_sec)
    }

    fn idle(&self, _now: Instant) -> Duration {
        Duration::ZERO
    }

    fn reset(&mut self, now: Instant) {
        self.schedule.reset(now);
    }
}

/// The pacer for a mode.
pub fn pacer_for(mode: PacingMode, now: Instant, batch: u32) -> Box<dyn Pacer> {
    match mode {
        PacingMode::Sleep => Box::new(SleepPacer::new(now, batch)),
        PacingMode::MaxRate => Box::new(MaxRatePacer),
        PacingMode::Spin | PacingMode::SpinYield => Box::new(SpinPacer::new(now, batch)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sleep_pacer_spreads_events_at_the_rate() {
        let t0 = Instant::now();
        let mut p = SleepPacer::new(t0, 1);
        assert_eq!(p.due(t0, 1_000), 1);
        assert_eq!(p.due(t0, 1_000), 0);
        assert_eq!(p.idle(t0), Duration::from_millis(1));
        // 10 ms later: 10 more (the events at 1..=10 ms).
        assert_eq!(p.due(t0 + Duration::from_millis(10), 1_000), 10);
        assert_eq!(p.due(t0 + Duration::from_millis(10), 0), 0);
        // Far behind: backlog forgotten, one event now.
        let late = t0 + Duration::from_secs(5);
        assert_eq!(p.due(late, 1_000), 1);
    }

    #[test]
    fn batches_and_caps() {
        let t0 = Instant::now();
        let mut p = SleepPacer::new(t0, 50);
        assert_eq!(p.due(t0, 100), 50);
        assert_eq!(p.idle(t0), Duration::from_millis(500));
        let mut fast = SleepPacer::new(t0, 1);
        assert_eq!(
            fast.due(t0 + Duration::from_millis(50), 10_000_000),
            MAX_BATCH
        );
        assert_eq!(MaxRatePacer.due(t0, 0), MAX_BATCH);
        assert_eq!(
            pacer_for(PacingMode::MaxRate, t0, 1).idle(t0),
            Duration::ZERO
        );
    }

    #[test]
    fn spin_pacer_keeps_the_schedule_and_never_idles() {
        let t0 = Instant::now();
        let mut p = SpinPacer::new(t0, 1);
        assert_eq!(p.due(t0, 1_000), 1);
        assert_eq!(p.due(t0, 1_000), 0);
        assert_eq!(p.idle(t0), Duration::ZERO);
        assert_eq!(p.due(t0 + Duration::from_millis(10), 1_000), 10);
        p.reset(t0 + Duration::from_secs(1));
        assert_eq!(p.due(t0 + Duration::from_secs(1), 1_000), 1);
        assert_eq!(pacer_for(PacingMode::Spin, t0, 1).idle(t0), Duration::ZERO);
    }
}
