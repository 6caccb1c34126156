//! [`Snapshot`]: everything the operators' tools see of a running engine at one moment — the
//! market-data (and trading) connection, each book's state, counters and top levels, each
//! strategy's lane, the engine's latency (a histogram, the last second's percentiles and their
//! recent history), the trade tape, recent strategy log lines and the host checks.
//!
//! Owns the types only. Invariants: prices and quantities are exact decimal text (as the `--json`
//! summary writes them), never floats; counters are cumulative since the engine started; a
//! snapshot is self-contained (it serialises to the `/snapshot` JSON that `kspin top` reads back
//! into the same types). Built off the engine core by [`crate::Collector`]; never touched by it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The whole view; see the module docs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// kspin's version.
    pub version: String,
    /// Seconds since the collector started.
    pub uptime_s: f64,
    /// Engine stats snapshots received so far (the core sends one a second).
    pub stats_seq: u64,
    /// Telemetry ticks received so far (books; the core's tap interval).
    pub tap_ticks: u64,
    /// The engine has stopped (its last figures).
    pub stopped: bool,
    pub engine: EngineView,
    /// `market_data` first, then `trading` when trading live.
    pub connections: Vec<ConnectionView>,
    /// In the configuration's symbol order.
    pub books: Vec<BookView>,
    /// In the configuration's strategy order.
    pub strategies: Vec<StrategyView>,
    /// Live order entry (absent on paper).
    pub trading: Option<TradingView>,
    pub latency: LatencyView,
    /// The latest trades, oldest first.
    pub tape: Vec<TradeView>,
    /// The latest strategy log lines, oldest first.
    pub logs: Vec<LogLine>,
    /// `kspin tune check`'s findings for the configured cores, made at start-up.
    pub host_checks: Vec<HostCheck>,
    /// Records the engine's telemetry rings dropped because this side was slow.
    pub taps_dropped: TapsDropped,
}

/// Engine-wide counters (the `--json` summary's top-level keys of the same names).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EngineView {
    pub frames: u64,
    /// Frames per second over the last stats interval.
    pub frames_per_s: f64,
    pub book_messages: u64,
    pub checksum_ok: u64,
    pub checksum_mismatch: u64,
    pub resyncs: u64,
    pub decode_errors: u64,
    pub decode_errors_by_kind: BTreeMap<String, u64>,
    pub trades: u64,
    pub tickers: u64,
    pub heartbeats: u64,
    pub statuses: u64,
    pub error_acks: u64,
    pub dropped_not_live: u64,
    pub rejected_messages: u64,
    pub rejected_by_reason: BTreeMap<String, u64>,
    pub books_live: u32,
    pub books_resyncing: u32,
    pub subscribed: u32,
    pub resync_refused: u64,
    pub resync_timeouts: u64,
    pub maintenance_seen: u64,
    pub requests_sent: u64,
    pub requests_dropped: u64,
    pub loops: u64,
}

/// One connection to the venue.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConnectionView {
    /// `market_data` or `trading`.
    pub name: String,
    /// `waiting`, `connecting`, `streaming`, `stopped` (market data); `waiting`,
    /// `fetching_token`, `connecting`, `reconciling`, `ready` (trading).
    pub state: String,
    /// Open and usable (streaming; ready for trading).
    pub up: bool,
    pub connects: u64,
    pub connect_failures: u64,
    pub disconnects: u64,
    /// `disconnects` split by what ended the connection (the causes sum to `disconnects`).
    pub disconnects_by_cause: BTreeMap<String, u64>,
    pub reconnects: u64,
    pub stalls: u64,
    pub frames: u64,
    /// Bytes read off the socket (market data).
    pub bytes_read: Option<u64>,
    pub pings_sent: u64,
}

/// One book.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BookView {
    pub symbol: String,
    /// As in the `--json` summary: `live`, `awaiting_snapshot`, `resyncing`, `unvalidated`,
    /// `halted`, `inactive` (`unknown` before the first tick).
    pub state: String,
    pub live: bool,
    pub depth: u32,
    pub price_scale: u8,
    pub qty_scale: u8,
    pub bid_levels: u32,
    pub ask_levels: u32,
    pub book_messages: u64,
    pub snapshots: u64,
    pub checksum_ok: u64,
    pub checksum_mismatch: u64,
    pub resyncs: u64,
    pub trades: u64,
    pub best_bid: Option<String>,
    pub best_bid_qty: Option<String>,
    pub best_ask: Option<String>,
    pub best_ask_qty: Option<String>,
    /// `best_ask - best_bid`, exact.
    pub spread: Option<String>,
    /// Best first, `[price, qty]`, up to ten levels.
    pub bids: Vec<[String; 2]>,
    pub asks: Vec<[String; 2]>,
}

/// One strategy's lane (and, on paper, its orders).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StrategyView {
    pub name: String,
    pub core: Option<usize>,
    pub events_offered: u64,
    pub events_published: u64,
    /// Taken by the strategy's host (`events_published - queued`).
    pub events_received: u64,
    pub events_dropped: u64,
    /// Events waiting in its ring: how far behind the engine it is.
    pub queued: u64,
    /// A book of it waits for a catch-up snapshot.
    pub lagging: bool,
    pub lag_episodes: u64,
    pub snapshots_handed: u64,
    pub resnapshots: u64,
    pub order_updates: u64,
    /// Order requests taken from its intent ring (paper).
    pub intents: u64,
    pub fills: u64,
    pub cancels: u64,
    pub rejects: u64,
    pub rejects_by_reason: BTreeMap<String, u64>,
    pub open_orders: u64,
    /// Paper position per symbol (exact decimal), for symbols it traded.
    pub positions: BTreeMap<String, String>,
    /// Log lines it wrote, and how many of them the console did not show.
    pub log_lines: u64,
    pub log_lines_suppressed: u64,
}

/// Live order entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TradingView {
    pub orders_sent: u64,
    pub requests_sent: u64,
    pub acks: u64,
    pub fills: u64,
    pub cancels: u64,
    pub amends: u64,
    pub rejects_by_reason: BTreeMap<String, u64>,
    pub open_orders: u64,
    pub reconciliations: u64,
    pub killed: bool,
    /// Position per symbol (exact decimal).
    pub positions: BTreeMap<String, String>,
    /// Read of the triggering frame → order written.
    pub tick_to_trade: HistogramView,
}

/// A latency histogram in power-of-two buckets (`kspin_runtime::LatencyBuckets`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistogramView {
    /// Samples per bucket: bucket `k` counts latencies in `(2^(k-1), 2^k]` ns; the last one
    /// everything above.
    pub counts: Vec<u64>,
    pub sum_ns: u64,
}

impl HistogramView {
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }
}

/// The engine's internal latency (frame read → decoded, applied, checked, published).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencyView {
    /// Every frame since start.
    pub read_to_published: HistogramView,
    /// The last stats interval.
    pub last: LatencyPoint,
    /// One point per stats interval, oldest first (the last few minutes).
    pub history: Vec<LatencyPoint>,
}

/// Percentiles of one stats interval.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencyPoint {
    /// Seconds since the collector started.
    pub at_s: f64,
    pub p50_ns: u64,
    pub p99_ns: u64,
    pub max_ns: u64,
    pub samples: u64,
}

/// One trade of the tape.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradeView {
    pub symbol: String,
    /// The taker's side: `buy` or `sell`.
    pub side: String,
    pub price: String,
    pub qty: String,
    /// The venue's timestamp (RFC 3339).
    pub time: String,
    pub trade_id: u64,
}

/// One strategy log line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    pub strategy: String,
    pub text: String,
}

/// One `kspin tune check` finding.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostCheck {
    /// Stable id (`cmdline.isolcpus`, `sysctl.vm.swappiness`, ...).
    pub id: String,
    /// `ok`, `warn`, `fail` or `unknown`.
    pub verdict: String,
    pub found: String,
    pub fix: String,
}

/// Records dropped by the engine's telemetry rings (the reader was slow; figures catch up on the
/// next tick, trades are lost from the tape).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TapsDropped {
    pub books: u64,
    pub trades: u64,
    pub lanes: u64,
    pub trading: u64,
    /// Frames whose stage record (stage spans and frame latency) the monitor thread's ring could
    /// not take: missing from the latency figures.
    #[serde(default)]
    pub stages: u64,
}
