//! Turning histograms into figures: the percentile set every latency result reports, medians over
//! repeated runs, and HdrHistogram percentile-distribution (`.hgrm`) text.
//!
//! Pure functions over finished histograms; runs after the measurement, never during it.

use hdrhistogram::Histogram;
use serde_json::{json, Map, Value};

/// The percentiles reported for every span: (JSON key, quantile).
pub const PERCENTILES: [(&str, f64); 5] = [
    ("p50", 0.50),
    ("p90", 0.90),
    ("p99", 0.99),
    ("p99_9", 0.999),
    ("p99_99", 0.9999),
];

/// p50 … p99.99, max and count of `h` (ns) as a JSON object.
pub fn percentiles_json(h: &Histogram<u64>) -> Value {
    let mut m = Map::new();
    for (key, q) in PERCENTILES {
        m.insert(key.into(), json!(value_at(h, q)));
    }
    m.insert("max".into(), json!(h.max()));
    m.insert("count".into(), json!(h.len()));
    Value::Object(m)
}

fn value_at(h: &Histogram<u64>, q: f64) -> u64 {
    if h.is_empty() {
        0
    } else {
        h.value_at_quantile(q)
    }
}

/// The median of `values` (the lower middle for an even count); 0 when empty.
pub fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    values[(values.len() - 1) / 2]
}

/// Per-key medians over several runs' `percentiles_json` objects.
pub fn median_percentiles(runs: &[Value]) -> Value {
    let mut m = Map::new();
    for key in PERCENTILES.iter().map(|(k, _)| *k).chain(["max", "count"]) {
        let mut v: Vec<f64> = runs.iter().filter_map(|r| r[key].as_f64()).collect();
        m.insert(key.into(), json!(median(&mut v).round() as u64));
    }
    Value::Object(m)
}

/// HdrHistogram's percentile-distribution text (as `outputPercentileDistribution` writes it,
/// values in µs, 5 steps per half-distance), readable by the HdrHistogram plotter.
pub fn hgrm(h: &Histogram<u64>) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:>12} {:>14} {:>10} {:>14}\n",
        "Value", "Percentile", "TotalCount", "1/(1-Percentile)"
    );
    if h.is_empty() {
        return out;
    }
    let mut total = 0u64;
    for v in h.iter_quantiles(5) {
        let q = v.quantile_iterated_to();
        let value = h.highest_equivalent(v.value_iterated_to()) as f64 / 1000.0;
        total += v.count_since_last_iteration();
        if q < 1.0 {
            let _ = writeln!(
                out,
                "{value:>12.3} {q:>2.12} {total:>10} {:>14.2}",
                1.0 / (1.0 - q)
            );
        } else {
            let _ = writeln!(out, "{value:>12.3} {q:>2.12} {total:>10}");
        }
    }
    let _ = writeln!(
        out,
        "#[Mean    = {:>12.3}, StdDeviation   = {:>12.3}]",
        h.mean() / 1000.0,
        h.stdev() / 1000.0
    );
    let _ = writeln!(
        out,
        "#[Max     = {:>12.3}, Total count    = {:>12}]",
        h.max() as f64 / 1000.0,
        h.len()
    );
    let _ = writeln!(out, "#[Values in microseconds; recorded in nanoseconds]");
    out
}

/// `ns` for people: `830 ns`, `1.96 µs`, `4.40 ms`.
pub fn fmt_ns(ns: u64) -> String {
    if ns >= 1_000_000 {
        format!("{:.2} ms", ns as f64 / 1e6)
    } else if ns >= 10_000 {
        format!("{:.1} µs", ns as f64 / 1e3)
    } else if ns >= 1_000 {
        format!("{:.2} µs", ns as f64 / 1e3)
    } else {
        format!("{ns} ns")
    }
}

/// One text line: `p50 … p99.99 max (n)` of a percentiles object.
pub fn percentiles_line(p: &Value) -> String {
    let g = |k: &str| fmt_ns(p[k].as_u64().unwrap_or(0));
    format!(
        "p50 {:>9}  p90 {:>9}  p99 {:>9}  p99.9 {:>9}  p99.99 {:>9}  max {:>9}  (n={})",
        g("p50"),
        g("p90"),
        g("p99"),
        g("p99_9"),
        g("p99_99"),
        g("max"),
        p["count"]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_medians_and_hgrm() {
        let mut h = Histogram::<u64>::new_with_bounds(1, 10_000_000_000, 3).unwrap();
        for v in 1..=1000u64 {
            h.record(v * 100).unwrap();
        }
        let p = percentiles_json(&h);
        assert_eq!(p["p50"], 50_000 + 15); // within the bucket of 50,000 at 3 digits
        assert_eq!(p["count"], 1000);
        assert_eq!(p["max"].as_u64().unwrap(), h.max());
        let runs = vec![
            json!({"p50": 3, "p90": 1, "p99": 1, "p99_9": 1, "p99_99": 1, "max": 9, "count": 1}),
            json!({"p50": 1, "p90": 1, "p99": 1, "p99_9": 1, "p99_99": 1, "max": 7, "count": 1}),
            json!({"p50": 2, "p90": 1, "p99": 1, "p99_9": 1, "p99_99": 1, "max": 8, "count": 1}),
        ];
        let m = median_percentiles(&runs);
        assert_eq!((m["p50"].as_u64(), m["max"].as_u64()), (Some(2), Some(8)));
        let text = hgrm(&h);
        assert!(text.starts_with("       Value     Percentile TotalCount 1/(1-Percentile)"));
        assert!(text.contains("#[Max     ="));
        assert!(text.lines().any(|l| l.contains("1.000000000000")));
        assert_eq!(fmt_ns(830), "830 ns");
        assert_eq!(fmt_ns(1_960), "1.96 µs");
    }
}
