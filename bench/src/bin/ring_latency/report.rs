//! Collects per-round outcomes and renders the report (text table or one JSON object) with
//! medians over rounds and ratios to the `ArrayQueue` baseline carrying the same element type
//! and to the one-line floor, both measured in the same run (and per round: the median of the
//! per-round ratios is the figure least moved by a noisy machine). Never measures anything
//! itself.

use crate::conditions::{RunConditions, ThreadSetup};
use crate::runs::{LatencyOutcome, ThroughputOutcome};
use crate::stats::{median_f64, LatencySummary};
use crate::Args;
use serde_json::{json, Value};
use std::fmt::Write;

/// All rounds of one queue (or one N-producer design).
#[derive(Debug)]
pub struct ResultSet {
    pub name: String,
    /// The element type the queue carried (`Event` or `WireEvent`).
    pub element: &'static str,
    latency: Vec<LatencyOutcome>,
    throughput: Vec<ThroughputOutcome>,
}

impl ResultSet {
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            element: "Event",
            latency: Vec::new(),
            throughput: Vec::new(),
        }
    }

    /// The same set, marked as carrying `element`.
    pub fn carrying(self, element: &'static str) -> Self {
        Self { element, ..self }
    }

    fn p50_rounds(&self) -> Vec<f64> {
        self.latency.iter().map(|o| o.summary.p50 as f64).collect()
    }

    fn throughput_rounds(&self) -> Vec<f64> {
        self.throughput.iter().map(|o| o.messages_per_sec).collect()
    }

    /// Adds one round (`throughput` is `None` for latency-only entries).
    pub fn push(&mut self, latency: LatencyOutcome, throughput: Option<ThroughputOutcome>) {
        self.latency.push(latency);
        self.throughput.extend(throughput);
    }

    fn latency_median(&self) -> LatencySummary {
        let rounds: Vec<_> = self.latency.iter().map(|o| o.summary).collect();
        LatencySummary::median_of(&rounds)
    }

    /// Median msgs/s over rounds; `None` for latency-only entries.
    fn throughput_median(&self) -> Option<f64> {
        (!self.throughput.is_empty())
            .then(|| median_f64(self.throughput.iter().map(|o| o.messages_per_sec).collect()))
    }

    fn order_errors(&self) -> u64 {
        self.latency.iter().map(|o| o.order_errors).sum::<u64>()
            + self.throughput.iter().map(|o| o.order_errors).sum::<u64>()
    }

    fn full_retries(&self) -> u64 {
        self.latency.iter().map(|o| o.full_retries).sum()
    }

    fn threads(&self) -> &[ThreadSetup] {
        self.latency.first().map_or(&[], |o| &o.threads[..])
    }

    fn to_json(&self, baseline: Option<&ResultSet>, floor: Option<&ResultSet>) -> Value {
        let latency = self.latency_median();
        let throughput = self.throughput_median();
        let (p50_ratio, throughput_ratio) = ratios(self, baseline);
        let rounds = RoundRatios::of(self, baseline, floor);
        json!({
            "queue": self.name,
            "element": self.element,
            "p50_ratio_to_floor_rounds": rounds.p50_to_floor,
            "p50_ratio_to_floor_median_of_rounds": median_or_none(&rounds.p50_to_floor),
            "p50_ratio_to_array_queue_rounds": rounds.p50_to_baseline,
            "throughput_ratio_to_array_queue_rounds": rounds.throughput_to_baseline,
            "throughput_ratio_to_array_queue_median_of_rounds": median_or_none(&rounds.throughput_to_baseline),
            "latency_median_of_rounds": latency.to_json(),
            "latency_rounds": self.latency.iter().map(|o| o.summary.to_json()).collect::<Vec<_>>(),
            "throughput_msgs_per_sec_median": throughput,
            "throughput_rounds": self.throughput.iter().map(|o| json!({
                "messages": o.messages, "msgs_per_sec": o.messages_per_sec,
            })).collect::<Vec<_>>(),
            "p50_ratio_to_array_queue": p50_ratio,
            "throughput_ratio_to_array_queue": throughput_ratio,
            "order_errors": self.order_errors(),
            "latency_full_retries": self.full_retries(),
            "threads": self.threads().iter().map(|t| t.describe()).collect::<Vec<_>>(),
        })
    }
}

/// Ratios computed within each round (same round index in both sets), in round order.
struct RoundRatios {
    p50_to_floor: Vec<f64>,
    p50_to_baseline: Vec<f64>,
    throughput_to_baseline: Vec<f64>,
}

impl RoundRatios {
    fn of(set: &ResultSet, baseline: Option<&ResultSet>, floor: Option<&ResultSet>) -> Self {
        Self {
            p50_to_floor: floor.map_or_else(Vec::new, |f| {
                per_round_ratio(&set.p50_rounds(), &f.p50_rounds())
            }),
            p50_to_baseline: baseline.map_or_else(Vec::new, |b| {
                per_round_ratio(&set.p50_rounds(), &b.p50_rounds())
            }),
            throughput_to_baseline: baseline.map_or_else(Vec::new, |b| {
                per_round_ratio(&set.throughput_rounds(), &b.throughput_rounds())
            }),
        }
    }
}

/// `mine[i] / theirs[i]` for every round both measured (a zero baseline is skipped), rounded
/// to 3 decimals.
fn per_round_ratio(mine: &[f64], theirs: &[f64]) -> Vec<f64> {
    mine.iter()
        .zip(theirs)
        .filter(|(_, &t)| t > 0.0)
        .map(|(&m, &t)| (m / t * 1000.0).round() / 1000.0)
        .collect()
}

fn median_or_none(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| median_f64(values.to_vec()))
}

/// (p50 / baseline p50, throughput / baseline throughput), where measured.
fn ratios(set: &ResultSet, baseline: Option<&ResultSet>) -> (Option<f64>, Option<f64>) {
    let Some(base) = baseline else {
        return (None, None);
    };
    let p50 = set.latency_median().p50 as f64 / base.latency_median().p50.max(1) as f64;
    let throughput = match (set.throughput_median(), base.throughput_median()) {
        (Some(mine), Some(theirs)) if theirs > 0.0 => Some(mine / theirs),
        _ => None,
    };
    (Some(p50), throughput)
}

/// `value` with `decimals`, or "-" when not measured.
fn or_dash(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(|| "-".to_owned(), |v| format!("{v:.decimals$}"))
}

/// Everything one run printed.
pub struct Report<'a> {
    pub args: &'a Args,
    pub conditions: &'a RunConditions,
    /// Per round: (% of all CPUs used by other processes, % stolen by the hypervisor).
    pub cpu_per_round: &'a [(f64, f64)],
    pub spsc: &'a [ResultSet],
    pub mpsc: &'a [ResultSet],
}

/// The baseline of `set` in its group: the entry whose name mentions ArrayQueue and that
/// carries the same element type.
fn baseline<'a>(sets: &'a [ResultSet], set: &ResultSet) -> Option<&'a ResultSet> {
    sets.iter()
        .find(|s| s.name.contains("ArrayQueue") && s.element == set.element)
}

/// The one-line floor of a group, if it has one.
fn floor(sets: &[ResultSet]) -> Option<&ResultSet> {
    sets.iter().find(|s| s.name.starts_with("floor"))
}

/// Issue 13: kspin-ring with the production event within this many times the floor's p50.
const TARGET_P50_TO_FLOOR: f64 = 1.2;

/// Issue 4 / 13: kspin-ring's throughput at least this many times `ArrayQueue`'s.
const TARGET_THROUGHPUT_TO_ARRAY_QUEUE: f64 = 2.0;

impl Report<'_> {
    pub fn to_json(&self) -> Value {
        let a = self.args;
        json!({
            "benchmark": "ring_latency",
            "conditions": self.conditions.to_json(),
            "rounds_foreign_cpu_percent": self.cpu_per_round.iter().map(|c| c.0).collect::<Vec<_>>(),
            "rounds_steal_percent": self.cpu_per_round.iter().map(|c| c.1).collect::<Vec<_>>(),
            "config": {
                "event_bytes": core::mem::size_of::<crate::queues::Event>(),
                "wire_event_bytes": core::mem::size_of::<kspin_api::wire::WireEvent>(),
                "wire_event_align": core::mem::align_of::<kspin_api::wire::WireEvent>(),
                "wire_run": a.wire_run,
                "capacity": a.capacity, "samples": a.samples, "warmup": a.warmup,
                "period_ns": a.period_ns, "messages": a.messages, "batch": a.batch,
                "rounds": a.rounds, "mpsc_producers": a.mpsc_producers,
                "mpsc_messages_per_producer": a.mpsc_messages,
                "consumer_spins_before_yield": a.consumer_spins_before_yield, "rt": a.rt,
            },
            "spsc": self.spsc.iter().map(|s| s.to_json(baseline(self.spsc, s), floor(self.spsc))).collect::<Vec<_>>(),
            "mpsc": self.mpsc.iter().map(|s| s.to_json(baseline(self.mpsc, s), None)).collect::<Vec<_>>(),
            "targets": self.targets_json(),
        })
    }

    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let c = self.conditions;
        let a = self.args;
        let _ = writeln!(out, "ring_latency — conditions");
        let _ = writeln!(
            out,
            "  cpu: {} ({} cores usable), kernel {}",
            c.cpu_model, c.cores, c.kernel
        );
        let _ = writeln!(
            out,
            "  clocksource: {}, invariant TSC: {}, quanta raw ticks/ns: {:.3}, load average: {}",
            c.clocksource, c.invariant_tsc, c.quanta_ticks_per_ns, c.load_average
        );
        let rounds: Vec<String> = self
            .cpu_per_round
            .iter()
            .map(|(foreign, steal)| format!("{foreign:.1}%/{steal:.1}%"))
            .collect();
        let _ = writeln!(
            out,
            "  CPU used by other processes / stolen by hypervisor, per round (% of all cores): {}",
            rounds.join(", ")
        );
        for set in self
            .spsc
            .iter()
            .skip(1)
            .take(1)
            .chain(self.mpsc.iter().take(1))
        {
            let threads: Vec<_> = set.threads().iter().map(|t| t.describe()).collect();
            let _ = writeln!(
                out,
                "  threads ({}): producers then consumer: {}",
                set.name,
                threads.join("; ")
            );
        }
        let _ = writeln!(
            out,
            "  config: {}-byte events, capacity {}, consumer batch {}, {} rounds (figures are medians of rounds)",
            core::mem::size_of::<crate::queues::Event>(), a.capacity, a.batch, a.rounds
        );
        let _ = writeln!(
            out,
            "\nSPSC one-way latency, ns (paced: 1 send per {} ns, {} samples/round after {} warm-up) and throughput (unpaced, {} msgs/round)",
            a.period_ns, a.samples, a.warmup, a.messages
        );
        write_table(&mut out, self.spsc, floor(self.spsc));
        let _ = writeln!(out, "  {}", self.targets_text());
        if !self.mpsc.is_empty() {
            let _ = writeln!(
                out,
                "\n{} producers (all on core {}) -> 1 consumer: latency paced at 1 send per {} ns overall; throughput {} msgs/producer/round",
                a.mpsc_producers, a.producer_core, a.period_ns, a.mpsc_messages
            );
            write_table(&mut out, self.mpsc, None);
        }
        let _ = writeln!(
            out,
            "\nratios: p50/AQ < 1 and thrpt/AQ > 1 mean better than the ArrayQueue carrying the same element in this run; p50/floor is the median of per-round ratios to the one-line floor"
        );
        out
    }

    /// The production row (kspin-ring carrying `WireEvent`) against issue 13's targets: medians
    /// of the per-round ratios.
    fn production_ratios(&self) -> (Option<f64>, Option<f64>) {
        let Some(set) = self
            .spsc
            .iter()
            .find(|s| s.element == "WireEvent" && s.name.starts_with("kspin"))
        else {
            return (None, None);
        };
        let rounds = RoundRatios::of(set, baseline(self.spsc, set), floor(self.spsc));
        (
            median_or_none(&rounds.p50_to_floor),
            median_or_none(&rounds.throughput_to_baseline),
        )
    }

    fn targets_json(&self) -> Value {
        let (p50, throughput) = self.production_ratios();
        json!({
            "p50_to_floor_max": TARGET_P50_TO_FLOOR,
            "p50_to_floor": p50,
            "p50_met": p50.is_some_and(|r| r <= TARGET_P50_TO_FLOOR),
            "throughput_to_array_queue_min": TARGET_THROUGHPUT_TO_ARRAY_QUEUE,
            "throughput_to_array_queue": throughput,
            "throughput_met": throughput.is_some_and(|r| r >= TARGET_THROUGHPUT_TO_ARRAY_QUEUE),
        })
    }

    fn targets_text(&self) -> String {
        let (p50, throughput) = self.production_ratios();
        let met = |ok: bool| if ok { "met" } else { "not met" };
        format!(
            "targets (WireEvent, reserve/publish + pop_batch; medians of per-round ratios): p50 {}x the floor (<= {TARGET_P50_TO_FLOOR}: {}), throughput {}x ArrayQueue (>= {TARGET_THROUGHPUT_TO_ARRAY_QUEUE}: {})",
            or_dash(p50, 2),
            met(p50.is_some_and(|r| r <= TARGET_P50_TO_FLOOR)),
            or_dash(throughput, 2),
            met(throughput.is_some_and(|r| r >= TARGET_THROUGHPUT_TO_ARRAY_QUEUE)),
        )
    }
}

fn write_table(out: &mut String, sets: &[ResultSet], floor: Option<&ResultSet>) {
    let _ = writeln!(
        out,
        "  {:<38} {:>6} {:>6} {:>7} {:>8} {:>8} {:>9} {:>9} {:>11} {:>8} {:>6}",
        "queue",
        "p50",
        "p99",
        "p99.9",
        "max",
        "p50/AQ",
        "p50/floor",
        "Mmsg/s",
        "thrpt/AQ",
        "skew<=0",
        "errors"
    );
    for set in sets {
        let base = baseline(sets, set);
        let l = set.latency_median();
        let (p50_ratio, throughput_ratio) = ratios(set, base);
        let rounds = RoundRatios::of(set, base, floor);
        let _ = writeln!(
            out,
            "  {:<38} {:>6} {:>6} {:>7} {:>8} {:>8} {:>9} {:>9} {:>11} {:>8} {:>6}",
            set.name,
            l.p50,
            l.p99,
            l.p999,
            l.max,
            or_dash(p50_ratio, 2),
            or_dash(median_or_none(&rounds.p50_to_floor), 2),
            or_dash(set.throughput_median().map(|t| t / 1e6), 2),
            or_dash(throughput_ratio, 2),
            l.nonpositive,
            set.order_errors()
        );
        let per_round: Vec<String> = set
            .latency
            .iter()
            .enumerate()
            .map(|(round, l)| {
                let throughput = set.throughput.get(round).map(|t| t.messages_per_sec / 1e6);
                let to_floor = rounds.p50_to_floor.get(round).copied();
                let to_aq = rounds.throughput_to_baseline.get(round).copied();
                format!(
                    "p50 {} ({}x floor) {}M/s ({}x AQ)",
                    l.summary.p50,
                    or_dash(to_floor, 2),
                    or_dash(throughput, 1),
                    or_dash(to_aq, 2)
                )
            })
            .collect();
        let _ = writeln!(out, "  {:<34} rounds: {}", "", per_round.join(", "));
    }
}
