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

use std::sync::Arc;

use prometheus::proto::{
    Bucket, Counter, Gauge, Histogram, LabelPair, Metric, MetricFamily, MetricType,
};

use crate::model::{HistogramView, Snapshot};

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

fn encode_connections(enc: &mut Families, s: &Snapshot) {
    let per = |f: fn(&crate::model::ConnectionView) -> u64| -> Vec<(Labels, u64)> {
        s.connections
            .iter()
            .map(|c| (labels(&[("connection", &c.name)]), f(c)))
            .collect()
    };
    gauge(
        enc,
        "kspin_connection_up",
        "1 while the connection is open and usable (market data streaming; trading ready).",
        &s.connections
            .iter()
            .map(|c| (labels(&[("connection", &c.name)]), c.up.into()))
            .collect::<Vec<_>>(),
    );
    gauge(
        enc,
        "kspin_connection_state",
        "1 for the connection's current state (waiting, connecting, streaming, stopped; trading: fetching_token, reconciling, ready).",
        &s.connections
            .iter()
            .map(|c| {
                (
                    labels(&[("connection", &c.name), ("state", &c.state)]),
                    1u64.into(),
                )
            })
            .collect::<Vec<_>>(),
    );
    counter(
        enc,
        "kspin_connection_connects",
        "Connections opened.",
        &per(|c| c.connects),
    );
    counter(
        enc,
        "kspin_connection_connect_failures",
        "Connection attempts that failed before the connection opened.",
        &per(|c| c.connect_failures),
    );
    counter(
        enc,
        "kspin_connection_disconnects",
        "Open connections that ended.",
        &per(|c| c.disconnects),
    );
    counter(
        enc,
        "kspin_connection_disconnects_by_cause",
        "Open connections that ended, by cause (stall, resync_timeout, subscribe_refused; dropped: the venue closed or a read, write, TLS or WebSocket error).",
        &s.connections
            .iter()
            .flat_map(|c| {
                c.disconnects_by_cause.iter().map(move |(cause, n)| {
                    (labels(&[("connection", &c.name), ("cause", cause)]), *n)
                })
            })
            .collect::<Vec<_>>(),
    );
    counter(
        enc,
        "kspin_connection_reconnects",
        "Connection attempts after the first.",
        &per(|c| c.reconnects),
    );
    counter(
        enc,
        "kspin_connection_frames",
        "WebSocket frames received.",
        &per(|c| c.frames),
    );
    counter(
        enc,
        "kspin_connection_received_bytes",
        "Bytes read from the socket.",
        &s.connections
            .iter()
            .filter_map(|c| {
                c.bytes_read
                    .map(|b| (labels(&[("connection", &c.name)]), b))
            })
            .collect::<Vec<_>>(),
    );
    counter(
        enc,
        "kspin_connection_pings_sent",
        "Application-level pings sent.",
        &per(|c| c.pings_sent),
    )
}

fn encode_engine(enc: &mut Families, s: &Snapshot) {
    let e = &s.engine;
    let none = Labels::new;
    let one = |v: u64| [(none(), v)];
    counter(
        enc,
        "kspin_engine_book_messages",
        "Book messages applied, all symbols.",
        &one(e.book_messages),
    );
    counter(
        enc,
        "kspin_engine_checksum_ok",
        "Book checksums that matched, all symbols.",
        &one(e.checksum_ok),
    );
    counter(
        enc,
        "kspin_engine_checksum_mismatch",
        "Book checksums that did not match, all symbols.",
        &one(e.checksum_mismatch),
    );
    counter(
        enc,
        "kspin_engine_resyncs",
        "Book resyncs, all symbols.",
        &one(e.resyncs),
    );
    counter(
        enc,
        "kspin_engine_trades",
        "Trades received, all symbols.",
        &one(e.trades),
    );
    counter(
        enc,
        "kspin_engine_tickers",
        "Tickers received, all symbols.",
        &one(e.tickers),
    );
    counter(
        enc,
        "kspin_engine_heartbeats",
        "Heartbeats received.",
        &one(e.heartbeats),
    );
    counter(
        enc,
        "kspin_engine_error_acks",
        "Subscription requests the venue refused.",
        &one(e.error_acks),
    );
    counter(
        enc,
        "kspin_engine_dropped_not_live",
        "Book updates dropped while their book was not live (resyncing, awaiting a snapshot).",
        &one(e.dropped_not_live),
    );
    counter(
        enc,
        "kspin_engine_resync_timeouts",
        "Reconnects forced because a book stayed resyncing too long.",
        &one(e.resync_timeouts),
    );
    counter(
        enc,
        "kspin_engine_requests_dropped",
        "Requests (resyncs) dropped on a full request queue.",
        &one(e.requests_dropped),
    );
    counter(
        enc,
        "kspin_engine_loops",
        "Iterations of the engine core's busy loop.",
        &one(e.loops),
    );
    let mut decode: Vec<(Labels, u64)> = e
        .decode_errors_by_kind
        .iter()
        .map(|(k, n)| (labels(&[("kind", k)]), *n))
        .collect();
    if decode.is_empty() {
        decode.push((labels(&[("kind", "any")]), 0));
    }
    counter(
        enc,
        "kspin_engine_decode_errors",
        "Frames that did not decode, by kind.",
        &decode,
    );
    let mut rejected: Vec<(Labels, u64)> = e
        .rejected_by_reason
        .iter()
        .map(|(k, n)| (labels(&[("reason", k)]), *n))
        .collect();
    if rejected.is_empty() {
        rejected.push((labels(&[("reason", "any")]), 0));
    }
    counter(
        enc,
        "kspin_engine_rejected_messages",
        "Messages the feed rejected, by reason.",
        &rejected,
    );
    gauge(
        enc,
        "kspin_engine_books_live",
        "Books live (verified and streaming).",
        &[(none(), e.books_live.into())],
    );
    gauge(
        enc,
        "kspin_engine_books_resyncing",
        "Books resyncing or awaiting their snapshot.",
        &[(none(), e.books_resyncing.into())],
    );
    gauge(
        enc,
        "kspin_engine_books_subscribed",
        "Symbols subscribed.",
        &[(none(), e.subscribed.into())],
    );
    gauge(
        enc,
        "kspin_engine_frames_per_second",
        "Frames per second over the last stats interval.",
        &[(none(), e.frames_per_s.into())],
    );
    histogram(
        enc,
        "kspin_engine_latency_seconds",
        "Internal latency of every frame: read → decoded, applied, checksum-checked and published to the strategies' rings.",
        &[(none(), &s.latency.read_to_published)],
    );
    let last = &s.latency.last;
    gauge(
        enc,
        "kspin_engine_latency_last_interval_seconds",
        "Internal latency over the last stats interval: its p50, p99 and max.",
        &[
            (
                labels(&[("stat", "p50")]),
                (last.p50_ns as f64 / 1e9).into(),
            ),
            (
                labels(&[("stat", "p99")]),
                (last.p99_ns as f64 / 1e9).into(),
            ),
            (
                labels(&[("stat", "max")]),
                (last.max_ns as f64 / 1e9).into(),
            ),
        ],
    );
    counter(
        enc,
        "kspin_telemetry_dropped",
        "Telemetry records the engine core dropped because the metrics thread was slow (books, trades, lanes, trading).",
        &[
            (labels(&[("ring", "books")]), s.taps_dropped.books),
            (labels(&[("ring", "trades")]), s.taps_dropped.trades),
            (labels(&[("ring", "lanes")]), s.taps_dropped.lanes),
            (labels(&[("ring", "trading")]), s.taps_dropped.trading),
        ],
    )
}

fn encode_books(enc: &mut Families, s: &Snapshot) {
    let sym = |b: &crate::model::BookView| labels(&[("symbol", &b.symbol)]);
    let per_u = |f: fn(&crate::model::BookView) -> u64| -> Vec<(Labels, u64)> {
        s.books.iter().map(|b| (sym(b), f(b))).collect()
    };
    let per_g = |f: &dyn Fn(&crate::model::BookView) -> Option<Value>| -> Vec<(Labels, Value)> {
        s.books
            .iter()
            .filter_map(|b| f(b).map(|v| (sym(b), v)))
            .collect()
    };
    gauge(
        enc,
        "kspin_book_live",
        "1 while the book is live (its last checksum matched).",
        &per_g(&|b| Some(b.live.into())),
    );
    gauge(
        enc,
        "kspin_book_state",
        "1 for the book's current state (live, awaiting_snapshot, resyncing, unvalidated, halted, inactive).",
        &s.books
            .iter()
            .map(|b| (labels(&[("symbol", &b.symbol), ("state", &b.state)]), 1u64.into()))
            .collect::<Vec<_>>(),
    );
    counter(
        enc,
        "kspin_book_messages",
        "Book messages applied.",
        &per_u(|b| b.book_messages),
    );
    counter(
        enc,
        "kspin_book_snapshots",
        "Book snapshots received.",
        &per_u(|b| b.snapshots),
    );
    counter(
        enc,
        "kspin_book_checksum_ok",
        "Checksums that matched.",
        &per_u(|b| b.checksum_ok),
    );
    counter(
        enc,
        "kspin_book_checksum_mismatch",
        "Checksums that did not match.",
        &per_u(|b| b.checksum_mismatch),
    );
    counter(
        enc,
        "kspin_book_resyncs",
        "Resyncs of this book.",
        &per_u(|b| b.resyncs),
    );
    counter(
        enc,
        "kspin_book_trades",
        "Trades received.",
        &per_u(|b| b.trades),
    );
    gauge(
        enc,
        "kspin_book_depth",
        "Subscribed depth.",
        &per_g(&|b| Some(b.depth.into())),
    );
    gauge(
        enc,
        "kspin_book_levels",
        "Levels held now, per side.",
        &s.books
            .iter()
            .flat_map(|b| {
                [
                    (
                        labels(&[("symbol", &b.symbol), ("side", "bid")]),
                        b.bid_levels.into(),
                    ),
                    (
                        labels(&[("symbol", &b.symbol), ("side", "ask")]),
                        b.ask_levels.into(),
                    ),
                ]
            })
            .collect::<Vec<_>>(),
    );
    gauge(
        enc,
        "kspin_book_best_bid",
        "Best bid price (float, for graphs; exact in /snapshot).",
        &per_g(&|b| float(&b.best_bid).map(Value::from)),
    );
    gauge(
        enc,
        "kspin_book_best_ask",
        "Best ask price (float, for graphs; exact in /snapshot).",
        &per_g(&|b| float(&b.best_ask).map(Value::from)),
    );
    gauge(
        enc,
        "kspin_book_best_bid_qty",
        "Quantity at the best bid.",
        &per_g(&|b| float(&b.best_bid_qty).map(Value::from)),
    );
    gauge(
        enc,
        "kspin_book_best_ask_qty",
        "Quantity at the best ask.",
        &per_g(&|b| float(&b.best_ask_qty).map(Value::from)),
    );
    gauge(
        enc,
        "kspin_book_spread",
        "Best ask minus best bid.",
        &per_g(&|b| float(&b.spread).map(Value::from)),
    )
}

fn encode_strategies(enc: &mut Families, s: &Snapshot) {
    use crate::model::StrategyView as V;
    let st = |v: &V| labels(&[("strategy", &v.name)]);
    let per = |f: fn(&V) -> u64| -> Vec<(Labels, u64)> {
        s.strategies.iter().map(|v| (st(v), f(v))).collect()
    };
    counter(
        enc,
        "kspin_strategy_events_offered",
        "Events the engine had for the strategy.",
        &per(|v| v.events_offered),
    );
    counter(
        enc,
        "kspin_strategy_events_published",
        "Events pushed into the strategy's ring.",
        &per(|v| v.events_published),
    );
    counter(
        enc,
        "kspin_strategy_events_received",
        "Events the strategy's host took from its ring.",
        &per(|v| v.events_received),
    );
    counter(
        enc,
        "kspin_strategy_events_dropped",
        "Events dropped because the strategy lagged (its ring was full).",
        &per(|v| v.events_dropped),
    );
    gauge(
        enc,
        "kspin_strategy_events_queued",
        "Events waiting in the strategy's ring: how far behind the engine it is.",
        &s.strategies
            .iter()
            .map(|v| (st(v), v.queued.into()))
            .collect::<Vec<_>>(),
    );
    gauge(
        enc,
        "kspin_strategy_lagging",
        "1 while a book of the strategy waits for a catch-up snapshot.",
        &s.strategies
            .iter()
            .map(|v| (st(v), v.lagging.into()))
            .collect::<Vec<_>>(),
    );
    counter(
        enc,
        "kspin_strategy_lag_episodes",
        "Times the strategy started lagging.",
        &per(|v| v.lag_episodes),
    );
    counter(
        enc,
        "kspin_strategy_snapshots_handed",
        "Catch-up snapshots handed to the strategy.",
        &per(|v| v.snapshots_handed),
    );
    counter(
        enc,
        "kspin_strategy_resnapshots",
        "Fresh snapshots the strategy's host asked for.",
        &per(|v| v.resnapshots),
    );
    counter(
        enc,
        "kspin_strategy_order_updates",
        "Order updates delivered to the strategy.",
        &per(|v| v.order_updates),
    );
    counter(
        enc,
        "kspin_strategy_intents",
        "Order requests taken from the strategy's intent ring (paper).",
        &per(|v| v.intents),
    );
    counter(
        enc,
        "kspin_strategy_fills",
        "Paper fills.",
        &per(|v| v.fills),
    );
    counter(
        enc,
        "kspin_strategy_cancels",
        "Paper orders cancelled.",
        &per(|v| v.cancels),
    );
    let rejects: Vec<(Labels, u64)> = s
        .strategies
        .iter()
        .flat_map(|v| {
            let mut r: Vec<(Labels, u64)> = v
                .rejects_by_reason
                .iter()
                .map(|(reason, n)| (labels(&[("strategy", &v.name), ("reason", reason)]), *n))
                .collect();
            if r.is_empty() {
                r.push((labels(&[("strategy", &v.name), ("reason", "any")]), 0));
            }
            r
        })
        .collect();
    counter(
        enc,
        "kspin_strategy_rejects",
        "Paper orders rejected, by reason.",
        &rejects,
    );
    gauge(
        enc,
        "kspin_strategy_open_orders",
        "Paper orders resting.",
        &s.strategies
            .iter()
            .map(|v| (st(v), v.open_orders.into()))
            .collect::<Vec<_>>(),
    );
    gauge(
        enc,
        "kspin_strategy_position",
        "Paper position per symbol (float, base currency).",
        &s.strategies
            .iter()
            .flat_map(|v| {
                v.positions.iter().filter_map(move |(sym, qty)| {
                    qty.parse::<f64>()
                        .ok()
                        .map(|q| (labels(&[("strategy", &v.name), ("symbol", sym)]), q.into()))
                })
            })
            .collect::<Vec<_>>(),
    );
    counter(
        enc,
        "kspin_strategy_log_lines",
        "Log lines the strategy wrote (all in the log file).",
        &per(|v| v.log_lines),
    );
    counter(
        enc,
        "kspin_strategy_log_lines_suppressed",
        "Log lines the console did not show (rate limit).",
        &per(|v| v.log_lines_suppressed),
    )
}

fn encode_trading(enc: &mut Families, s: &Snapshot) {
    let Some(t) = &s.trading else {
        return;
    };
    let none = Labels::new;
    let one = |v: u64| [(none(), v)];
    counter(
        enc,
        "kspin_trading_orders_sent",
        "New orders written to the venue.",
        &one(t.orders_sent),
    );
    counter(
        enc,
        "kspin_trading_requests_sent",
        "Requests written of any kind.",
        &one(t.requests_sent),
    );
    counter(
        enc,
        "kspin_trading_acks",
        "Orders the venue acknowledged.",
        &one(t.acks),
    );
    counter(enc, "kspin_trading_fills", "Fills applied.", &one(t.fills));
    counter(
        enc,
        "kspin_trading_cancels",
        "Orders that ended cancelled or expired.",
        &one(t.cancels),
    );
    counter(
        enc,
        "kspin_trading_amends",
        "Amends that took effect.",
        &one(t.amends),
    );
    counter(
        enc,
        "kspin_trading_reconciliations",
        "Execution snapshots reconciled.",
        &one(t.reconciliations),
    );
    let mut rejects: Vec<(Labels, u64)> = t
        .rejects_by_reason
        .iter()
        .map(|(r, n)| (labels(&[("reason", r)]), *n))
        .collect();
    if rejects.is_empty() {
        rejects.push((labels(&[("reason", "any")]), 0));
    }
    counter(
        enc,
        "kspin_trading_rejects",
        "Orders, amends and cancels refused (pre-trade risk or the venue), by reason.",
        &rejects,
    );
    gauge(
        enc,
        "kspin_trading_open_orders",
        "Orders open on the venue.",
        &[(none(), t.open_orders.into())],
    );
    gauge(
        enc,
        "kspin_trading_killed",
        "1 once the kill switch was thrown.",
        &[(none(), t.killed.into())],
    );
    gauge(
        enc,
        "kspin_trading_position",
        "Position per symbol (float, base currency).",
        &t.positions
            .iter()
            .filter_map(|(sym, q)| {
                q.parse::<f64>()
                    .ok()
                    .map(|q| (labels(&[("symbol", sym)]), q.into()))
            })
            .collect::<Vec<_>>(),
    );
    histogram(
        enc,
        "kspin_trading_tick_to_trade_seconds",
        "Tick-to-trade: read of the market-data frame that triggered an order → its bytes written on the trading socket.",
        &[(none(), &t.tick_to_trade)],
    )
}

fn encode_host(enc: &mut Families, s: &Snapshot) {
    let code = |v: &str| match v {
        "ok" => 0u64,
        "warn" => 1,
        "fail" => 2,
        _ => 3,
    };
    gauge(
        enc,
        "kspin_host_check",
        "kspin tune check's verdict per item at start-up: 0 ok, 1 warn, 2 fail, 3 unknown.",
        &s.host_checks
            .iter()
            .map(|c| (labels(&[("check", &c.id)]), code(&c.verdict).into()))
            .collect::<Vec<_>>(),
    );
    let count = |v: &str| s.host_checks.iter().filter(|c| c.verdict == v).count() as u64;
    gauge(
        enc,
        "kspin_host_checks",
        "kspin tune check's items per verdict at start-up.",
        &["ok", "warn", "fail", "unknown"]
            .iter()
            .map(|v| (labels(&[("verdict", v)]), count(v).into()))
            .collect::<Vec<_>>(),
    )
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
