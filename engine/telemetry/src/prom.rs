//! The Prometheus exposition of a [`Snapshot`]: metric families built from the snapshot's
//! figures on each scrape and written by the `prometheus` crate's `TextEncoder` (the Prometheus
//! text format 0.0.4, which Prometheus scrapes and `promtool check metrics` validates).
//!
//! Owns the metric names, help texts and labels — the contract with dashboards and alerts (the
//! example Grafana dashboard, `tuning/grafana/kspin.json`, uses them). Invariants: every name
//! starts with `kspin_`; counters end in `_total` and are the snapshot's cumulative counters;
//! latencies are histograms in seconds with power-of-two bucket bounds; a book's prices are float
//! gauges for graphs only (the exact figures are in `/snapshot` and `--json`); a metric whose
//! subject does not exist (no trading, no strategies) is absent rather than zero.
//!
//! The families are encoded by subject: [`engine`] (connections, the engine's counters and
//! latency, the host checks) and [`markets`] (books, strategy lanes, live trading).

use std::sync::Arc;

use prometheus::proto::{
    Bucket, Counter, Gauge, Histogram, LabelPair, Metric, MetricFamily, MetricType,
};

use crate::model::{HistogramView, Snapshot};

mod engine;
mod markets;

use engine::{encode_connections, encode_engine, encode_host};
use markets::{encode_books, encode_strategies, encode_trading};

/// Bucket `k` of the latency histograms is exposed from this one on (`le` = 64 ns); the buckets
/// below it are folded into it.
const FIRST_EXPOSED_BUCKET: usize = 6;

/// The content type of what [`render`] writes.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Labels of one sample.
type Labels = Vec<(&'static str, String)>;

/// The Prometheus text of `snapshot`.
pub fn render(snapshot: &Arc<Snapshot>) -> String {
    let mut families = Families(Vec::with_capacity(96));
    encode(&mut families, snapshot);
    let mut out = String::with_capacity(32 << 10);
    // Every family has a sample (empty ones are never added) and writing into a String cannot
    // fail, so the encoder has nothing to refuse.
    let _ = prometheus::TextEncoder::new().encode_utf8(&families.0, &mut out);
    out
}

/// The families of one scrape, in order.
struct Families(Vec<MetricFamily>);

/// A value a sample can take.
#[derive(Debug, Clone, Copy)]
enum Value {
    Int(i64),
    Float(f64),
}

impl Value {
    fn as_f64(self) -> f64 {
        match self {
            Value::Int(i) => i as f64,
            Value::Float(f) => f,
        }
    }
}

impl From<u64> for Value {
    fn from(v: u64) -> Value {
        Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}

impl From<u32> for Value {
    fn from(v: u32) -> Value {
        Value::Int(i64::from(v))
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Value {
        Value::Int(i64::from(v))
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Value {
        Value::Float(v)
    }
}

fn labels(pairs: &[(&'static str, &str)]) -> Labels {
    pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect()
}

fn metric(l: &Labels) -> Metric {
    let mut m = Metric::default();
    m.set_label(
        l.iter()
            .map(|(k, v)| {
                let mut p = LabelPair::default();
                p.set_name((*k).to_owned());
                p.set_value(v.clone());
                p
            })
            .collect(),
    );
    m
}

impl Families {
    fn push(&mut self, name: &str, help: &str, kind: MetricType, metrics: Vec<Metric>) {
        if metrics.is_empty() {
            return;
        }
        debug_assert!(name.starts_with("kspin_"), "{name}");
        let mut f = MetricFamily::default();
        f.set_name(name.to_owned());
        f.set_help(help.to_owned());
        f.set_field_type(kind);
        f.set_metric(metrics);
        self.0.push(f);
    }
}

/// A counter family `NAME_total`.
fn counter(enc: &mut Families, name: &str, help: &str, samples: &[(Labels, u64)]) {
    let metrics = samples
        .iter()
        .map(|(l, v)| {
            let mut m = metric(l);
            let mut c = Counter::default();
            c.set_value(*v as f64);
            m.set_counter(c);
            m
        })
        .collect();
    enc.push(&format!("{name}_total"), help, MetricType::COUNTER, metrics);
}

fn gauge(enc: &mut Families, name: &str, help: &str, samples: &[(Labels, Value)]) {
    let metrics = samples
        .iter()
        .map(|(l, v)| {
            let mut m = metric(l);
            let mut g = Gauge::default();
            g.set_value(v.as_f64());
            m.set_gauge(g);
            m
        })
        .collect();
    enc.push(name, help, MetricType::GAUGE, metrics);
}

/// The buckets of `h` as `(le in seconds, count)`, non-cumulative, `+Inf` last.
fn seconds_buckets(h: &HistogramView) -> Vec<(f64, u64)> {
    let mut out = Vec::with_capacity(h.counts.len());
    let last = h.counts.len().saturating_sub(1);
    let mut folded = 0;
    for (k, &n) in h.counts.iter().enumerate() {
        if k < FIRST_EXPOSED_BUCKET && k < last {
            folded += n;
            continue;
        }
        let upper = if k == last {
            f64::INFINITY
        } else {
            (1u64 << k) as f64 / 1e9
        };
        out.push((upper, n + std::mem::take(&mut folded)));
    }
    out
}

fn histogram(enc: &mut Families, name: &str, help: &str, samples: &[(Labels, &HistogramView)]) {
    let metrics = samples
        .iter()
        .map(|(l, h)| {
            let mut m = metric(l);
            let mut hist = Histogram::default();
            let mut cumulative = 0;
            hist.set_bucket(
                seconds_buckets(h)
                    .into_iter()
                    // `+Inf` is the sample count: the encoder writes it.
                    .filter(|(upper, _)| upper.is_finite())
                    .map(|(upper, n)| {
                        cumulative += n;
                        let mut b = Bucket::default();
                        b.set_upper_bound(upper);
                        b.set_cumulative_count(cumulative);
                        b
                    })
                    .collect(),
            );
            hist.set_sample_count(h.count());
            hist.set_sample_sum(h.sum_ns as f64 / 1e9);
            m.set_histogram(hist);
            m
        })
        .collect();
    enc.push(name, help, MetricType::HISTOGRAM, metrics);
}

/// A decimal text as a float gauge value (graphs only).
fn float(text: &Option<String>) -> Option<f64> {
    text.as_deref().and_then(|t| t.parse().ok())
}

fn encode(enc: &mut Families, s: &Snapshot) {
    let none = Labels::new;
    gauge(
        enc,
        "kspin_build_info",
        "kspin's version (value 1).",
        &[(labels(&[("version", &s.version)]), 1u64.into())],
    );
    gauge(
        enc,
        "kspin_uptime_seconds",
        "Seconds since the engine's telemetry started.",
        &[(none(), s.uptime_s.into())],
    );
    counter(
        enc,
        "kspin_engine_stats_snapshots",
        "Stats snapshots received from the engine core (one a second).",
        &[(none(), s.stats_seq)],
    );
    encode_connections(enc, s);
    encode_engine(enc, s);
    encode_books(enc, s);
    encode_strategies(enc, s);
    encode_trading(enc, s);
    encode_host(enc, s);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_fold_below_64ns_and_end_with_inf() {
        let mut counts = vec![0u64; 34];
        counts[0] = 1;
        counts[6] = 2;
        counts[7] = 3;
        counts[33] = 4;
        let b = seconds_buckets(&HistogramView { counts, sum_ns: 0 });
        assert_eq!(b[0], (64e-9, 3));
        assert_eq!(b[1], (128e-9, 3));
        assert_eq!(b.last(), Some(&(f64::INFINITY, 4)));
        assert_eq!(b.len(), 34 - FIRST_EXPOSED_BUCKET);
        assert_eq!(b.iter().map(|(_, n)| n).sum::<u64>(), 10);
    }
}
