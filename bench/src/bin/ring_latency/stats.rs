//! Latency summaries from hdrhistogram and the median-of-rounds helpers used in reports.
//! Never records on the measured path beyond `saturating_record` into a preallocated histogram.

use hdrhistogram::Histogram;
use serde_json::{json, Value};

/// Highest latency the histograms track, in ns (1 s); larger samples saturate to it.
pub const MAX_TRACKED_NS: u64 = 1_000_000_000;

/// A histogram of one-way latencies in nanoseconds, 3 significant figures.
pub fn new_histogram() -> Histogram<u64> {
    match Histogram::new_with_bounds(1, MAX_TRACKED_NS, 3) {
        Ok(histogram) => histogram,
        Err(error) => unreachable!("constant histogram bounds are valid: {error}"),
    }
}

/// p50/p99/p99.9/max of one latency run, in ns.
#[derive(Debug, Clone, Copy, Default)]
pub struct LatencySummary {
    pub samples: u64,
    pub p50: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
    pub mean: f64,
    /// Samples whose consumer stamp was not after the producer stamp (TSC skew between cores);
    /// recorded as 1 ns.
    pub nonpositive: u64,
}

impl LatencySummary {
    /// Summarises `histogram`.
    pub fn from_histogram(histogram: &Histogram<u64>, nonpositive: u64) -> Self {
        Self {
            samples: histogram.len(),
            p50: histogram.value_at_quantile(0.50),
            p99: histogram.value_at_quantile(0.99),
            p999: histogram.value_at_quantile(0.999),
            max: histogram.max(),
            mean: histogram.mean(),
            nonpositive,
        }
    }

    /// Median of each figure across rounds (max: the median of the per-round maxima).
    pub fn median_of(rounds: &[LatencySummary]) -> Self {
        let pick = |f: fn(&LatencySummary) -> u64| median_u64(rounds.iter().map(f).collect());
        Self {
            samples: pick(|s| s.samples),
            p50: pick(|s| s.p50),
            p99: pick(|s| s.p99),
            p999: pick(|s| s.p999),
            max: pick(|s| s.max),
            mean: median_f64(rounds.iter().map(|s| s.mean).collect()),
            nonpositive: pick(|s| s.nonpositive),
        }
    }

    /// As a JSON object.
    pub fn to_json(self) -> Value {
        json!({
            "samples": self.samples, "p50_ns": self.p50, "p99_ns": self.p99,
            "p99_9_ns": self.p999, "max_ns": self.max, "mean_ns": self.mean,
            "nonpositive_samples": self.nonpositive,
        })
    }
}

/// Median (lower median for an even count); 0 for no values.
pub fn median_u64(mut values: Vec<u64>) -> u64 {
    values.sort_unstable();
    values
        .get(values.len().saturating_sub(1) / 2)
        .copied()
        .unwrap_or(0)
}

/// Median (lower median for an even count); 0.0 for no values.
pub fn median_f64(mut values: Vec<f64>) -> f64 {
    values.sort_unstable_by(f64::total_cmp);
    values
        .get(values.len().saturating_sub(1) / 2)
        .copied()
        .unwrap_or(0.0)
}
