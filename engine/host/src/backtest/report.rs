//! [`BacktestReport`]: what a deterministic replay found per strategy — the run summary's figures
//! ([`StrategyReport`]), its [`Ledger`] (fills, fees, PnL, positions, drawdown, refusals) and, when
//! asked for, how long its callbacks took — and the replay's settings, with their JSON.
//!
//! Owns finished figures only; end of replay, it allocates and formats. Invariant: the JSON of
//! two replays of one capture with one configuration is byte-identical, unless callback timings
//! (real time, never reproducible) are asked for.

use hdrhistogram::Histogram;
use kspin_api::{RejectReason, SymbolInfo};
use serde_json::{json, Map, Value};

use super::ledger::{decimal_text, Ledger, SymbolLedger};
use crate::stats::{report_keys, reports_json, StrategyReport};

/// The replay's models and their parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BacktestSettings {
    pub latency_ns: u64,
    pub latency_jitter_ns: u64,
    pub seed: u64,
    pub queue: &'static str,
    pub maker_fee_bps: u32,
    pub taker_fee_bps: u32,
}

/// What happened to the replay's own bounds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BacktestCounters {
    /// Requests still in flight when the capture ended (never answered).
    pub unanswered: u64,
    /// Times the strategies and the venue kept answering each other at one instant beyond the
    /// replay's bound (the rest waited for the next frame).
    pub step_limit_hits: u64,
}

/// See the module docs.
#[derive(Debug, Clone)]
pub struct BacktestReport {
    pub symbols: Vec<SymbolInfo>,
    /// The run summary's figures, by strategy index.
    pub strategies: Vec<StrategyReport>,
    pub ledgers: Vec<Ledger>,
    /// Requests each strategy sent (orders, cancels, amends, cancel-alls).
    pub requests: Vec<u64>,
    /// Callback durations (ns, real time), when timed.
    pub callbacks: Vec<Option<Histogram<u64>>>,
    pub settings: BacktestSettings,
    pub counters: BacktestCounters,
    /// Exchange time of the first and last record.
    pub span_ns: (u64, u64),
}

fn by_symbol(
    symbols: &[SymbolInfo],
    ledger: &Ledger,
    figure: impl Fn(&SymbolLedger) -> String,
) -> Value {
    let map: Map<String, Value> = symbols
        .iter()
        .zip(&ledger.symbols)
        .filter(|(_, l)| l.traded)
        .map(|(s, l)| (s.name.clone(), Value::String(figure(l))))
        .collect();
    Value::Object(map)
}

/// `{reason name: count}` for every reason.
pub fn rejects_by_name(counts: &[u64]) -> Value {
    let map: Map<String, Value> = (0..RejectReason::COUNT)
        .filter_map(RejectReason::from_index)
        .map(|r| {
            (
                r.name().to_owned(),
                json!(counts.get(r.index()).copied().unwrap_or(0)),
            )
        })
        .collect();
    Value::Object(map)
}

/// `p50`, `p99`, `p99_9`, `max`, `samples` of `h`.
pub fn quantiles(h: &Histogram<u64>) -> Value {
    let q = |x: f64| {
        if h.is_empty() {
            0
        } else {
            h.value_at_quantile(x)
        }
    };
    json!({"p50": q(0.5), "p99": q(0.99), "p99_9": q(0.999), "max": h.max(), "samples": h.len()})
}

impl BacktestReport {
    /// `name → object`: the run summary's per-strategy object with `intents` (requests sent),
    /// `fills` (count), `rejects` (by [`RejectReason::name`]) and, by symbol traded (in its quote
    /// currency, exact decimal text), `fees`, `realized_pnl`, `unrealized_pnl` (marked to the
    /// last mid), `max_position` (base units), `max_drawdown`; with `timings`, `latency_ns`
    /// `{received_to_returned}` of its callbacks (real time: not reproducible).
    pub fn strategies_json(&self, timings: bool) -> Value {
        let mut all = reports_json(&self.strategies);
        let Value::Object(map) = &mut all else {
            return all;
        };
        for (i, key) in report_keys(&self.strategies).iter().enumerate() {
            let (Some(ledger), Some(Value::Object(obj))) = (self.ledgers.get(i), map.get_mut(key))
            else {
                continue;
            };
            let s = &self.symbols;
            obj.insert(
                "intents".into(),
                json!(self.requests.get(i).copied().unwrap_or(0)),
            );
            obj.insert("fills".into(), json!(ledger.fills));
            obj.insert("rejects".into(), rejects_by_name(&ledger.rejects));
            obj.insert(
                "fees".into(),
                by_symbol(s, ledger, |l| decimal_text(l.fees, l.cost_scale())),
            );
            obj.insert(
                "realized_pnl".into(),
                by_symbol(s, ledger, |l| decimal_text(l.realized, l.cost_scale())),
            );
            obj.insert(
                "unrealized_pnl".into(),
                by_symbol(s, ledger, |l| {
                    decimal_text(l.unrealized(), l.equity_scale())
                }),
            );
            obj.insert(
                "max_position".into(),
                by_symbol(s, ledger, |l| {
                    decimal_text(i128::from(l.max_position), l.qty_scale())
                }),
            );
            obj.insert(
                "max_drawdown".into(),
                by_symbol(s, ledger, |l| {
                    decimal_text(l.max_drawdown, l.equity_scale())
                }),
            );
            obj.remove("latency_ns");
            if timings {
                if let Some(Some(h)) = self.callbacks.get(i) {
                    obj.insert(
                        "latency_ns".into(),
                        json!({ "received_to_returned": quantiles(h) }),
                    );
                }
            }
        }
        all
    }

    /// The replay's models, parameters and bounds.
    pub fn settings_json(&self) -> Value {
        let s = &self.settings;
        json!({
            "deterministic": true,
            "clock": "exchange time",
            "latency_ns": s.latency_ns,
            "latency_jitter_ns": s.latency_jitter_ns,
            "seed": s.seed,
            "queue": s.queue,
            "maker_fee_bps": s.maker_fee_bps,
            "taker_fee_bps": s.taker_fee_bps,
            "unanswered_requests": self.counters.unanswered,
            "step_limit_hits": self.counters.step_limit_hits,
        })
    }
}
