//! Per-strategy figures for the run summary: [`StrategyStats`] (the engine side, from
//! [`super::Bus::strategy_stats`]) joined with the strategy thread's [`HostReport`] into a
//! [`StrategyReport`], which renders the JSON the run summary embeds.
//!
//! Owns no state of its own. End of run only: it allocates and formats.

use kspin_api::FixedDisplay;
use serde_json::{json, Map, Value};

use super::host::{HostReport, Pinning};
use super::lane::LaneCounters;
use super::paper::PaperCounters;

/// The engine-side figures of one strategy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrategyStats {
    pub name: String,
    pub core: Option<usize>,
    pub lane: LaneCounters,
    pub paper: PaperCounters,
}

/// Everything the run summary says about one strategy.
#[derive(Debug, Clone)]
pub struct StrategyReport {
    pub stats: StrategyStats,
    /// `None` when the thread was never started or panicked.
    pub host: Option<HostReport>,
}

impl StrategyReport {
    /// `{core, pinned, events_offered, events_published, events_received, events_dropped,
    /// snapshots_handed, lag_episodes, resnapshots, intents, fills, rejects, logs_dropped,
    /// summary: {figure: "value"}, books: {SYMBOL: checksum of the strategy's replica, null when
    /// not live}}` (`books` only when the host took them). `events_offered` counts every event the engine had for the
    /// strategy, `events_published` those that entered its ring (`offered - dropped`); a strategy
    /// that ran to the end has `events_received == events_published`.
    /// Figures are exact decimal text (a figure has its own scale).
    pub fn to_json(&self) -> Value {
        let s = &self.stats;
        let mut v = json!({
            "core": s.core,
            "events_offered": s.lane.events_published + s.lane.events_dropped,
            "events_published": s.lane.events_published,
            "events_dropped": s.lane.events_dropped,
            "snapshots_handed": s.lane.snapshots_handed,
            "lag_episodes": s.lane.lag_episodes,
            "resnapshots": s.lane.resnapshots_requested,
            "order_updates": s.lane.order_updates,
            "intents": s.paper.intents,
            "fills": s.paper.fills,
            "rejects": s.paper.rejects,
        });
        if let (Some(h), Value::Object(obj)) = (&self.host, &mut v) {
            obj.insert("events_received".into(), h.counters.events_received.into());
            obj.insert("logs_dropped".into(), h.counters.logs_dropped.into());
            obj.insert("assembly_faults".into(), h.counters.assembly_faults.into());
            let pinned = match h.pinning {
                Pinning::Pinned(_) => Value::Bool(true),
                Pinning::Failed(_) => Value::Bool(false),
                Pinning::NotRequested | Pinning::Pending => Value::Null,
            };
            obj.insert("pinned".into(), pinned);
            if let Some(stages) = &h.stages {
                let mut spans = Map::new();
                for name in [
                    "published_to_received",
                    "received_to_returned",
                    "read_to_returned",
                ] {
                    if let Some(hist) = stages.span(name).filter(|h| !h.is_empty()) {
                        spans.insert(
                            name.into(),
                            json!({
                                "p50": hist.value_at_quantile(0.5),
                                "p99": hist.value_at_quantile(0.99),
                                "p99_9": hist.value_at_quantile(0.999),
                                "max": hist.max(),
                                "samples": hist.len(),
                            }),
                        );
                    }
                }
                obj.insert("latency_ns".into(), Value::Object(spans));
            }
            let mut figures = Map::new();
            for f in h.summary.figures() {
                let text = FixedDisplay {
                    mantissa: f.value,
                    scale: f.scale,
                }
                .to_string();
                figures.insert(f.name.to_owned(), Value::String(text));
            }
            obj.insert("summary".into(), Value::Object(figures));
            if !h.books.is_empty() {
                let books: Map<String, Value> = h
                    .books
                    .iter()
                    .map(|(name, checksum)| (name.clone(), json!(checksum)))
                    .collect();
                obj.insert("books".into(), Value::Object(books));
            }
        }
        v
    }
}

/// Joins the bus's figures with the joined host reports (matched by strategy index; a missing
/// report leaves `host` empty).
pub fn strategy_reports(stats: Vec<StrategyStats>, hosts: Vec<HostReport>) -> Vec<StrategyReport> {
    let mut hosts: Vec<Option<HostReport>> = hosts.into_iter().map(Some).collect();
    stats
        .into_iter()
        .enumerate()
        .map(|(i, stats)| {
            let host = hosts
                .iter_mut()
                .find(|h| h.as_ref().is_some_and(|h| h.index == i))
                .and_then(Option::take);
            StrategyReport { stats, host }
        })
        .collect()
}

/// `name → report JSON` for the run summary. A name configured twice gets `#2`, `#3`, ...
/// on its later instances.
pub fn reports_json(reports: &[StrategyReport]) -> Value {
    let map: Map<String, Value> = report_keys(reports)
        .into_iter()
        .zip(reports)
        .map(|(key, r)| (key, r.to_json()))
        .collect();
    Value::Object(map)
}

/// The key of each report in [`reports_json`], in strategy order: its name, with `#2`, `#3`,
/// ... on later instances of a name configured more than once.
pub fn report_keys(reports: &[StrategyReport]) -> Vec<String> {
    let mut keys: Vec<String> = Vec::with_capacity(reports.len());
    for r in reports {
        let mut key = r.stats.name.clone();
        let mut n = 1;
        while keys.contains(&key) {
            n += 1;
            key = format!("{}#{n}", r.stats.name);
        }
        keys.push(key);
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_names_stay_apart() {
        let stats = |name: &str| StrategyStats {
            name: name.to_owned(),
            core: None,
            lane: LaneCounters::default(),
            paper: PaperCounters::default(),
        };
        let reports = strategy_reports(vec![stats("a"), stats("a"), stats("b")], Vec::new());
        let json = reports_json(&reports);
        let keys: Vec<_> = json.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["a", "a#2", "b"]);
        assert_eq!(json["a#2"]["events_dropped"], 0);
        assert!(json["b"].get("events_received").is_none());
    }
}
