//! `kspin tune jitter`: measures how often and how long each selected core is taken away from a
//! user thread. One thread per core, pinned with `core_affinity`, spins reading the TSC (quanta)
//! and records every gap between consecutive reads above a threshold into an hdrhistogram.
//!
//! Measurement only: it never changes host settings. The threads busy-spin on their cores for
//! the whole duration, so run it on an otherwise idle box. Nothing panics on a bad core number:
//! it is an error value.

use std::time::Duration;

use hdrhistogram::Histogram;
use quanta::Clock;

/// Longest gap the histogram resolves, ns (60 s); longer gaps are clamped to it.
const MAX_GAP_NS: u64 = 60_000_000_000;
/// Deadline check interval, in loop iterations (a power of two; about 10-50 µs of spinning).
const DEADLINE_CHECK_EVERY: u64 = 1024;

/// What to measure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JitterConfig {
    /// Cores to measure, all at once; empty means every core this process may run on.
    pub cores: Vec<usize>,
    /// How long each core spins.
    pub duration: Duration,
    /// Gaps longer than this count as interruptions, ns.
    pub threshold_ns: u64,
}

impl Default for JitterConfig {
    /// Every allowed core, 5 s, 500 ns threshold (a back-to-back TSC read takes 10-40 ns, an
    /// interrupt at least several hundred).
    fn default() -> Self {
        Self {
            cores: Vec::new(),
            duration: Duration::from_secs(5),
            threshold_ns: 500,
        }
    }
}

/// Per-core result.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CoreJitter {
    /// The core.
    pub core: usize,
    /// Whether the thread was pinned to it (when false, the figures are for wherever the
    /// scheduler ran it).
    pub pinned: bool,
    /// Loop iterations (TSC reads).
    pub iterations: u64,
    /// Time spent spinning, ns.
    pub elapsed_ns: u64,
    /// Shortest gap between two reads, ns: the loop's own cost, the baseline of the gaps.
    pub min_gap_ns: u64,
    /// Gaps above the threshold.
    pub gaps: u64,
    /// Sum of those gaps, ns: time the core was taken away.
    pub gap_total_ns: u64,
    /// Median gap above the threshold, ns (0 if none).
    pub p50_ns: u64,
    /// 99th percentile gap above the threshold, ns (0 if none).
    pub p99_ns: u64,
    /// 99.9th percentile gap above the threshold, ns (0 if none).
    pub p999_ns: u64,
    /// Longest gap, ns (0 if none).
    pub max_ns: u64,
}

/// Why a measurement could not run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JitterError {
    /// The process may run on no core, or the affinity could not be read.
    #[error("no core to measure (could not read this process's CPU affinity)")]
    NoCores,
    /// A requested core is not one this process may run on.
    #[error("core {core} is not available to this process (available: {available:?})")]
    UnknownCore {
        /// The core asked for.
        core: usize,
        /// Cores available.
        available: Vec<usize>,
    },
    /// The histogram could not be created.
    #[error("histogram: {0}")]
    Histogram(String),
    /// A measuring thread panicked.
    #[error("the measuring thread for core {core} panicked")]
    ThreadPanicked {
        /// Its core.
        core: usize,
    },
}

/// The smallest raw clock delta that is at least `ns` nanoseconds. The raw-to-ns conversion
/// is monotonic, so a binary search finds it without knowing the calibration.
fn raw_ticks_for(clock: &Clock, ns: u64) -> u64 {
    let (mut lo, mut hi) = (1u64, 1u64);
    while clock.delta_as_nanos(0, hi) < ns {
        if hi >= u64::MAX / 2 {
            return u64::MAX;
        }
        hi *= 2;
    }
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if clock.delta_as_nanos(0, mid) < ns {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    hi
}

/// Measures every selected core at once for `cfg.duration` and returns one result per core,
/// in the order given.
pub fn measure(cfg: &JitterConfig) -> Result<Vec<CoreJitter>, JitterError> {
    let available: Vec<usize> = core_affinity::get_core_ids()
        .ok_or(JitterError::NoCores)?
        .into_iter()
        .map(|c| c.id)
        .collect();
    let cores = if cfg.cores.is_empty() {
        available.clone()
    } else {
        cfg.cores.clone()
    };
    if cores.is_empty() {
        return Err(JitterError::NoCores);
    }
    for &core in &cores {
        if !available.contains(&core) {
            return Err(JitterError::UnknownCore {
                core,
                available: available.clone(),
            });
        }
    }
    let clock = Clock::new();
    let threshold_raw = raw_ticks_for(&clock, cfg.threshold_ns.max(1));
    let duration_ns = u64::try_from(cfg.duration.as_nanos()).unwrap_or(u64::MAX);
    let mut histograms = Vec::with_capacity(cores.len());
    for _ in &cores {
        histograms.push(
            Histogram::<u64>::new_with_bounds(1, MAX_GAP_NS, 3)
                .map_err(|e| JitterError::Histogram(e.to_string()))?,
        );
    }

    std::thread::scope(|scope| {
        let handles: Vec<_> = cores
            .iter()
            .zip(histograms)
            .map(|(&core, hist)| {
                let clock = clock.clone();
                let handle =
                    scope.spawn(move || spin(core, &clock, threshold_raw, duration_ns, hist));
                (core, handle)
            })
            .collect();
        handles
            .into_iter()
            .map(|(core, h)| h.join().map_err(|_| JitterError::ThreadPanicked { core }))
            .collect()
    })
}

/// The measuring loop for one core. All state is local and the histogram is preallocated, so
/// the loop neither allocates nor makes a syscall.
fn spin(
    core: usize,
    clock: &Clock,
    threshold_raw: u64,
    duration_ns: u64,
    mut hist: Histogram<u64>,
) -> CoreJitter {
    let pinned = core_affinity::set_for_current(core_affinity::CoreId { id: core });
    let start = clock.raw();
    let mut prev = start;
    let mut iterations = 0u64;
    let mut min_raw = u64::MAX;
    let mut gap_total_ns = 0u64;
    let end = loop {
        let now = clock.raw();
        iterations += 1;
        // A TSC read never goes backwards on one pinned core; if it does (unpinned across
        // unsynchronised sockets) the pair is skipped rather than misread as a huge gap.
        if now > prev {
            let delta = now - prev;
            min_raw = min_raw.min(delta);
            if delta >= threshold_raw {
                let gap_ns = clock.delta_as_nanos(prev, now);
                hist.saturating_record(gap_ns.clamp(1, MAX_GAP_NS));
                gap_total_ns = gap_total_ns.saturating_add(gap_ns);
            }
        }
        prev = now;
        if iterations % DEADLINE_CHECK_EVERY == 0 && clock.delta_as_nanos(start, now) >= duration_ns
        {
            break now;
        }
    };
    let gaps = hist.len();
    let q = |quantile: f64| {
        if gaps == 0 {
            0
        } else {
            hist.value_at_quantile(quantile)
        }
    };
    CoreJitter {
        core,
        pinned,
        iterations,
        elapsed_ns: clock.delta_as_nanos(start, end),
        min_gap_ns: if min_raw == u64::MAX {
            0
        } else {
            clock.delta_as_nanos(0, min_raw)
        },
        gaps,
        gap_total_ns,
        p50_ns: q(0.5),
        p99_ns: q(0.99),
        p999_ns: q(0.999),
        max_ns: if gaps == 0 { 0 } else { hist.max() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_ticks_round_trip() {
        let clock = Clock::new();
        for ns in [1, 100, 500, 1_000_000] {
            let raw = raw_ticks_for(&clock, ns);
            assert!(clock.delta_as_nanos(0, raw) >= ns);
            assert!(raw == 1 || clock.delta_as_nanos(0, raw - 1) < ns);
        }
    }
}
