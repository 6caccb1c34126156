//! The strategies' part of the human summaries: `kspin replay`'s backtest figures per strategy
//! (requests, orders, fills, refusals by reason, callback durations, and per symbol traded the
//! position, PnL, fees and drawdown), a paced replay's or a run's per-strategy counts, and the
//! helpers `kspin run`'s summary shares (refusals by reason, durations).
//!
//! Formatting only, off the engine core; it allocates freely.

use std::fmt::Write as _;

use kspin_host::backtest::{decimal_text, BacktestReport};
use kspin_host::report_keys;
use serde_json::Value;

/// A duration in ns as a short text (`850ns`, `1.20µs`, `3.50ms`).
pub fn fmt_ns(ns: u64) -> String {
    if ns >= 1_000_000 {
        format!("{:.2}ms", ns as f64 / 1e6)
    } else if ns >= 1_000 {
        format!("{:.2}µs", ns as f64 / 1e3)
    } else {
        format!("{ns}ns")
    }
}

/// `reason n, reason n` for the non-zero counts of a `{reason: n}` object, or `none`.
pub fn rejects_text(rejects: &Value) -> String {
    let parts: Vec<String> = rejects
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(reason, n)| {
            n.as_u64()
                .filter(|&n| n > 0)
                .map(|n| format!("{reason} {n}"))
        })
        .collect();
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join(", ")
    }
}

/// `name=value ...` of a strategy's own summary figures.
fn figures_text(summary: &Value) -> Option<String> {
    let parts: Vec<String> = summary
        .as_object()?
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("?")))
        .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// The deterministic replay's strategies: its settings, then per strategy its counts, callback
/// durations (when measured), figures per symbol traded and its own summary figures.
pub fn backtest_text(b: &BacktestReport, json: Option<&Value>) -> String {
    let mut out = String::new();
    let s = &b.settings;
    let jitter = if s.latency_jitter_ns > 0 {
        format!(" + up to {} (seed {})", fmt_ns(s.latency_jitter_ns), s.seed)
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "strategies: deterministic backtest in exchange time; order latency {}{jitter}, queue model {}, fees maker {} bps / taker {} bps",
        fmt_ns(s.latency_ns),
        s.queue,
        s.maker_fee_bps,
        s.taker_fee_bps
    );
    let keys = report_keys(&b.strategies);
    for (i, key) in keys.iter().enumerate() {
        let (Some(ledger), Some(report)) = (b.ledgers.get(i), b.strategies.get(i)) else {
            continue;
        };
        let received = report
            .host
            .as_ref()
            .map_or(0, |h| h.counters.events_received);
        let _ = writeln!(
            out,
            "  {key}: events received {received} (dropped {}) | requests {}, orders sent {}, fills {}, rejects {} ({})",
            report.stats.lane.events_dropped,
            b.requests.get(i).copied().unwrap_or(0),
            ledger.orders_sent,
            ledger.fills,
            ledger.rejects_total(),
            rejects_text(&kspin_host::backtest::rejects_by_name(&ledger.rejects)),
        );
        if let Some(Some(h)) = b.callbacks.get(i) {
            if !h.is_empty() {
                let _ = writeln!(
                    out,
                    "    callbacks (real time): p50 {} p99 {} max {} over {} calls",
                    fmt_ns(h.value_at_quantile(0.5)),
                    fmt_ns(h.value_at_quantile(0.99)),
                    fmt_ns(h.max()),
                    h.len()
                );
            }
        }
        for (symbol, l) in b.symbols.iter().zip(&ledger.symbols) {
            if !l.traded {
                continue;
            }
            let _ = writeln!(
                out,
                "    {}: position {} (max {}) | realized {} unrealized {} fees {} | net {} | max drawdown {}",
                symbol.name,
                decimal_text(i128::from(l.position), l.qty_scale()),
                decimal_text(i128::from(l.max_position), l.qty_scale()),
                decimal_text(l.realized, l.cost_scale()),
                decimal_text(l.unrealized(), l.equity_scale()),
                decimal_text(l.fees, l.cost_scale()),
                decimal_text(l.equity(), l.equity_scale()),
                decimal_text(l.max_drawdown, l.equity_scale()),
            );
        }
        let summary = json.and_then(|j| j.get(key)).and_then(|v| v.get("summary"));
        if let Some(figures) = summary.and_then(figures_text) {
            let _ = writeln!(out, "    figures: {figures}");
        }
    }
    let c = &b.counters;
    if c.unanswered > 0 {
        let _ = writeln!(
            out,
            "  requests still on their way when the capture ended (never answered): {}",
            c.unanswered
        );
    }
    if c.step_limit_hits > 0 {
        let _ = writeln!(
            out,
            "  strategies and venue kept answering each other at one instant {} time(s): the rest waited for the next frame",
            c.step_limit_hits
        );
    }
    out
}

/// Per-strategy counts of a run or a paced replay (`{name: {...}}` as `kspin run --json` gives
/// them): events and, when the paper model answered the orders (`paper`), requests, fills and
/// refusals (live, the `trading` line has the order figures).
pub fn strategy_lines(strategies: &Value, paper: bool) -> String {
    let mut out = String::new();
    for (name, v) in strategies.as_object().into_iter().flatten() {
        let rejects = match &v["rejects"] {
            Value::Object(_) => rejects_text(&v["rejects"]),
            n => n.to_string(),
        };
        let orders = if paper {
            format!(
                " | intents {} fills {} rejects {rejects}",
                v["intents"], v["fills"]
            )
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "  strategy {name}: events published {} received {} dropped {}{orders}",
            v["events_published"], v["events_received"], v["events_dropped"]
        );
        if let Some(figures) = figures_text(&v["summary"]) {
            let _ = writeln!(out, "    figures: {figures}");
        }
    }
    out
}

/// A paced replay's strategies (strategy threads, `kspin run`'s paper fills).
pub fn paced_text(strategies: &Value) -> String {
    let mut out =
        String::from("strategies (paced: strategy threads and paper fills; not deterministic):\n");
    out.push_str(&strategy_lines(strategies, true));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_and_durations_read_well() {
        let r = serde_json::json!({"would_take": 0, "risk_position": 2, "book_stale": 1});
        assert_eq!(rejects_text(&r), "book_stale 1, risk_position 2");
        assert_eq!(rejects_text(&serde_json::json!({})), "none");
        assert_eq!(fmt_ns(850), "850ns");
        assert_eq!(fmt_ns(1_200), "1.20µs");
        assert_eq!(fmt_ns(3_500_000), "3.50ms");
    }
}
