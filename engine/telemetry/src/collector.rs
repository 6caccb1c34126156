//! [`Collector`]: turns what the engine core publishes — the once-a-second [`CoreStats`], the
//! taps' book tops and trades, the bus's lane figures, the order path's figures — and the
//! strategies' log lines into a [`Snapshot`].
//!
//! Owns the readers' ends of the taps and the latest record of each kind, the tape, recent log
//! lines and the latency history (each bounded). Invariants: it only reads rings (the core never
//! waits for it) and keeps the latest figures, so a slow reader sees fewer, never wrong, states;
//! everything it keeps is bounded; it allocates and formats freely (it never runs on the core).

use std::collections::{BTreeMap, VecDeque};
use std::time::Instant;

use kspin_api::{FixedDisplay, RejectReason};
use kspin_core::feed::RejectReason as FeedReject;
use kspin_core::kraken::Side;
use kspin_host::{LaneStats, LaneTapReader};
use kspin_runtime::stats::DECODE_ERROR_NAMES;
use kspin_runtime::trading::{TradingStats, TradingTapReader};
use kspin_runtime::{BookTop, CoreStats, LatencyBuckets, LinkState, TapReader};

use crate::causes::{market_data_causes, trading_causes};
use crate::model::*;

/// What the collector knows before the engine runs.
#[derive(Debug, Clone, Default)]
pub struct CollectorSetup {
    pub version: String,
    /// Symbol names in the feed's order.
    pub symbols: Vec<String>,
    /// Strategy names and cores in the bus's order (names as the `--json` summary keys them).
    pub strategies: Vec<(String, Option<usize>)>,
    pub host_checks: Vec<HostCheck>,
    /// Orders go to the venue (a `trading` connection and view).
    pub trading_live: bool,
    /// Trades kept for the tape.
    pub tape_len: usize,
    /// Log lines kept.
    pub log_len: usize,
    /// Latency points kept (one per stats interval).
    pub history_len: usize,
}

/// See the module docs.
pub struct Collector {
    setup: CollectorSetup,
    started: Instant,
    taps: Option<TapReader>,
    lanes: Option<LaneTapReader>,
    trading: Option<TradingTapReader>,
    core: Option<CoreStats>,
    stats_seq: u64,
    frames_at: Option<(u64, Instant)>,
    frames_per_s: f64,
    books: Vec<Option<BookTop>>,
    lane_stats: Vec<Option<LaneStats>>,
    /// `(lane, symbol) → qty mantissa`.
    lane_positions: BTreeMap<(u16, u16), i64>,
    trading_stats: Option<TradingStats>,
    trading_positions: Vec<i64>,
    tape: VecDeque<TradeView>,
    logs: VecDeque<LogLine>,
    /// Per strategy: lines written, lines the console did not show.
    log_counts: Vec<(u64, u64)>,
    history: VecDeque<LatencyPoint>,
}

impl Collector {
    pub fn new(setup: CollectorSetup) -> Collector {
        let n = setup.symbols.len();
        let k = setup.strategies.len();
        Collector {
            started: Instant::now(),
            taps: None,
            lanes: None,
            trading: None,
            core: None,
            stats_seq: 0,
            frames_at: None,
            frames_per_s: 0.0,
            books: vec![None; n],
            lane_stats: vec![None; k],
            lane_positions: BTreeMap::new(),
            trading_stats: None,
            trading_positions: vec![0; n],
            tape: VecDeque::with_capacity(setup.tape_len),
            logs: VecDeque::with_capacity(setup.log_len),
            log_counts: vec![(0, 0); k],
            history: VecDeque::with_capacity(setup.history_len),
            setup,
        }
    }

    /// Reads the engine core's taps from now on.
    pub fn with_taps(mut self, taps: TapReader) -> Collector {
        self.taps = Some(taps);
        self
    }

    /// Reads the bus's lane figures from now on.
    pub fn with_lanes(mut self, lanes: LaneTapReader) -> Collector {
        self.lanes = Some(lanes);
        self
    }

    /// Reads the order path's figures from now on.
    pub fn with_trading(mut self, trading: TradingTapReader) -> Collector {
        self.trading = Some(trading);
        self
    }

    /// One stats snapshot from the core (the monitor thread forwards each it pops).
    pub fn absorb_core(&mut self, s: &CoreStats) {
        let now = Instant::now();
        if let Some((frames, at)) = self.frames_at {
            let dt = now.duration_since(at).as_secs_f64();
            if dt > 0.0 {
                self.frames_per_s = s.feed.frames.saturating_sub(frames) as f64 / dt;
            }
        }
        self.frames_at = Some((s.feed.frames, now));
        self.stats_seq += 1;
        if s.link != LinkState::Stopped || s.samples > 0 {
            if self.history.len() == self.setup.history_len.max(1) {
                self.history.pop_front();
            }
            self.history.push_back(LatencyPoint {
                at_s: self.started.elapsed().as_secs_f64(),
                p50_ns: s.p50_ns,
                p99_ns: s.p99_ns,
                max_ns: s.max_ns,
                samples: s.samples,
            });
        }
        self.core = Some(*s);
    }

    /// Takes everything waiting in the taps. Returns the records taken.
    pub fn poll(&mut self) -> usize {
        let mut taken = 0;
        if let Some(taps) = &mut self.taps {
            let books = &mut self.books;
            taken += taps.books.pop_batch(
                |top| {
                    if let Some(slot) = books.get_mut(usize::from(top.symbol)) {
                        *slot = Some(top);
                    }
                },
                usize::MAX,
            );
            let (tape, symbols, len) = (&mut self.tape, &self.setup.symbols, self.setup.tape_len);
            taken += taps.trades.pop_batch(
                |t| {
                    if len == 0 {
                        return;
                    }
                    if tape.len() == len {
                        tape.pop_front();
                    }
                    tape.push_back(TradeView {
                        symbol: symbols
                            .get(usize::from(t.symbol))
                            .cloned()
                            .unwrap_or_default(),
                        side: match t.side {
                            Side::Buy => "buy",
                            Side::Sell => "sell",
                        }
                        .into(),
                        price: decimal(t.price.mantissa, t.price.scale),
                        qty: decimal(t.qty.mantissa, t.qty.scale),
                        time: t.timestamp().to_owned(),
                        trade_id: t.trade_id,
                    });
                },
                usize::MAX,
            );
        }
        if let Some(lanes) = &mut self.lanes {
            let stats = &mut self.lane_stats;
            taken += lanes.stats.pop_batch(
                |l| {
                    if let Some(slot) = stats.get_mut(usize::from(l.lane)) {
                        *slot = Some(l);
                    }
                },
                usize::MAX,
            );
            let positions = &mut self.lane_positions;
            taken += lanes.positions.pop_batch(
                |p| {
                    positions.insert((p.lane, p.symbol), p.qty);
                },
                usize::MAX,
            );
        }
        if let Some(trading) = &mut self.trading {
            let latest = &mut self.trading_stats;
            taken += trading.stats.pop_batch(|s| *latest = Some(s), usize::MAX);
            let positions = &mut self.trading_positions;
            taken += trading.positions.pop_batch(
                |p| {
                    if let Some(slot) = positions.get_mut(usize::from(p.symbol)) {
                        *slot = p.qty;
                    }
                },
                usize::MAX,
            );
        }
        taken
    }

    /// One strategy log line (already formatted off the hot cores); `shown` says whether the
    /// console printed it.
    pub fn add_log(&mut self, strategy: &str, text: &str, shown: bool) {
        if let Some(i) = self
            .setup
            .strategies
            .iter()
            .position(|(n, _)| n == strategy)
        {
            let c = &mut self.log_counts[i];
            c.0 += 1;
            c.1 += u64::from(!shown);
        }
        if self.setup.log_len == 0 {
            return;
        }
        if self.logs.len() == self.setup.log_len {
            self.logs.pop_front();
        }
        self.logs.push_back(LogLine {
            strategy: strategy.to_owned(),
            text: text.to_owned(),
        });
    }

    /// The view now.
    pub fn snapshot(&self) -> Snapshot {
        let core = self.core.unwrap_or_default();
        let mut snap = Snapshot {
            version: self.setup.version.clone(),
            uptime_s: self.started.elapsed().as_secs_f64(),
            stats_seq: self.stats_seq,
            tap_ticks: core.taps.ticks,
            stopped: self.core.is_some_and(|c| c.link == LinkState::Stopped),
            engine: self.engine_view(&core),
            connections: vec![market_data_view(&core)],
            books: self.book_views(),
            strategies: self.strategy_views(),
            trading: None,
            latency: LatencyView {
                read_to_published: histogram(&core.latency),
                last: self.history.back().copied().unwrap_or_default(),
                history: self.history.iter().copied().collect(),
            },
            tape: self.tape.iter().cloned().collect(),
            logs: self.logs.iter().cloned().collect(),
            host_checks: self.setup.host_checks.clone(),
            taps_dropped: TapsDropped {
                books: core.taps.books_dropped,
                trades: core.taps.trades_dropped,
                lanes: self
                    .lane_stats
                    .iter()
                    .flatten()
                    .map(|l| l.dropped)
                    .max()
                    .unwrap_or(0),
                trading: self.trading_stats.map_or(0, |t| t.dropped),
                stages: core.stage_records_dropped,
            },
        };
        if self.setup.trading_live {
            let t = self.trading_stats;
            snap.connections.push(trading_connection_view(t.as_ref()));
            snap.trading = Some(self.trading_view(t.as_ref()));
        }
        snap
    }

    fn engine_view(&self, s: &CoreStats) -> EngineView {
        let f = &s.feed;
        EngineView {
            frames: f.frames,
            frames_per_s: self.frames_per_s,
            book_messages: f.book_messages,
            checksum_ok: f.checksum_ok,
            checksum_mismatch: f.checksum_mismatch,
            resyncs: f.resyncs,
            decode_errors: s.pipeline.decode_errors,
            decode_errors_by_kind: DECODE_ERROR_NAMES
                .iter()
                .zip(s.pipeline.decode_errors_by_kind.iter())
                .filter(|(name, n)| !name.is_empty() && **n > 0)
                .map(|(name, n)| (name.to_string(), *n))
                .collect(),
            trades: f.trades,
            tickers: f.tickers,
            heartbeats: f.heartbeats,
            statuses: f.statuses,
            error_acks: f.error_acks,
            dropped_not_live: f.dropped_not_live,
            rejected_messages: f.rejected_messages,
            rejected_by_reason: FeedReject::ALL
                .iter()
                .filter(|r| f.rejected_by_reason[r.index()] > 0)
                .map(|r| (r.name().to_owned(), f.rejected_by_reason[r.index()]))
                .collect(),
            books_live: s.books_live,
            books_resyncing: s.books_resyncing,
            subscribed: self.setup.symbols.len() as u32,
            resync_refused: s.core.resync_refused,
            resync_timeouts: s.core.resync_timeouts,
            maintenance_seen: s.core.maintenance_seen,
            requests_sent: s.core.requests_sent,
            requests_dropped: s.core.requests_dropped,
            loops: s.core.loops,
        }
    }

    fn book_views(&self) -> Vec<BookView> {
        self.setup
            .symbols
            .iter()
            .zip(&self.books)
            .map(|(name, top)| match top {
                Some(t) => book_view(name, t),
                None => BookView {
                    symbol: name.clone(),
                    state: "unknown".into(),
                    ..BookView::default()
                },
            })
            .collect()
    }

    fn strategy_views(&self) -> Vec<StrategyView> {
        self.setup
            .strategies
            .iter()
            .enumerate()
            .map(|(i, (name, core))| {
                let mut v = StrategyView {
                    name: name.clone(),
                    core: *core,
                    log_lines: self.log_counts[i].0,
                    log_lines_suppressed: self.log_counts[i].1,
                    ..StrategyView::default()
                };
                if let Some(l) = &self.lane_stats[i] {
                    let c = &l.counters;
                    v.events_offered = c.events_published + c.events_dropped;
                    v.events_published = c.events_published;
                    v.queued = u64::from(l.queued);
                    v.events_received = c.events_published.saturating_sub(v.queued);
                    v.events_dropped = c.events_dropped;
                    v.lagging = l.lagging;
                    v.lag_episodes = c.lag_episodes;
                    v.snapshots_handed = c.snapshots_handed;
                    v.resnapshots = c.resnapshots_requested;
                    v.order_updates = c.order_updates;
                    v.intents = l.paper.intents;
                    v.fills = l.paper.fills;
                    v.cancels = l.paper.cancels;
                    v.rejects = l.paper.rejects;
                    v.rejects_by_reason = reject_counts(&l.paper.rejects_by_reason);
                    v.open_orders = u64::from(l.open_orders);
                }
                for ((lane, symbol), qty) in self
                    .lane_positions
                    .range((i as u16, 0)..=(i as u16, u16::MAX))
                {
                    debug_assert_eq!(usize::from(*lane), i);
                    if let Some(name) = self.setup.symbols.get(usize::from(*symbol)) {
                        v.positions
                            .insert(name.clone(), self.qty_text(*symbol, *qty));
                    }
                }
                v
            })
            .collect()
    }

    fn trading_view(&self, t: Option<&TradingStats>) -> TradingView {
        let mut v = TradingView::default();
        if let Some(t) = t {
            let c = &t.session;
            v.orders_sent = c.orders_sent;
            v.requests_sent = c.requests_sent;
            v.acks = c.acks;
            v.fills = c.fills;
            v.cancels = c.cancels;
            v.amends = c.amends;
            v.rejects_by_reason = reject_counts(&c.rejects);
            v.open_orders = u64::from(t.open_orders);
            v.reconciliations = c.reconciliations;
            v.killed = c.killed;
            v.tick_to_trade = histogram(&t.tick_to_trade);
        }
        for (i, name) in self.setup.symbols.iter().enumerate() {
            let qty = self.trading_positions[i];
            v.positions
                .insert(name.clone(), self.qty_text(i as u16, qty));
        }
        v
    }

    fn qty_text(&self, symbol: u16, qty: i64) -> String {
        let scale = self
            .books
            .get(usize::from(symbol))
            .and_then(|b| b.as_ref())
            .map_or(0, |b| b.qty_scale);
        decimal(qty, scale)
    }
}

/// Exact decimal text of a mantissa at `scale`.
pub(crate) fn decimal(mantissa: i64, scale: u8) -> String {
    FixedDisplay { mantissa, scale }.to_string()
}

fn histogram(b: &LatencyBuckets) -> HistogramView {
    HistogramView {
        counts: b.counts.to_vec(),
        sum_ns: b.sum_ns,
    }
}

fn reject_counts(counts: &[u64]) -> BTreeMap<String, u64> {
    (0..RejectReason::COUNT)
        .filter_map(RejectReason::from_index)
        .filter_map(|r| {
            let n = counts.get(r.index()).copied().unwrap_or(0);
            (n > 0).then(|| (r.name().to_owned(), n))
        })
        .collect()
}

fn book_view(name: &str, t: &BookTop) -> BookView {
    let (ps, qs) = (t.price_scale, t.qty_scale);
    let level = |l: &(i64, i64)| [decimal(l.0, ps), decimal(l.1, qs)];
    let best_bid = t.bids().first();
    let best_ask = t.asks().first();
    BookView {
        symbol: name.to_owned(),
        state: t.state.name().to_owned(),
        live: t.state.is_live(),
        depth: u32::from(t.depth),
        price_scale: ps,
        qty_scale: qs,
        bid_levels: u32::from(t.bid_levels),
        ask_levels: u32::from(t.ask_levels),
        book_messages: t.counters.book_messages,
        snapshots: t.counters.snapshots,
        checksum_ok: t.counters.checksum_ok,
        checksum_mismatch: t.counters.checksum_mismatch,
        resyncs: t.counters.resyncs,
        trades: t.counters.trades,
        best_bid: best_bid.map(|l| decimal(l.0, ps)),
        best_bid_qty: best_bid.map(|l| decimal(l.1, qs)),
        best_ask: best_ask.map(|l| decimal(l.0, ps)),
        best_ask_qty: best_ask.map(|l| decimal(l.1, qs)),
        spread: best_bid
            .zip(best_ask)
            .map(|(b, a)| decimal(a.0.saturating_sub(b.0), ps)),
        bids: t.bids().iter().map(level).collect(),
        asks: t.asks().iter().map(level).collect(),
    }
}

fn market_data_view(s: &CoreStats) -> ConnectionView {
    let c = &s.core;
    ConnectionView {
        name: "market_data".into(),
        state: match s.link {
            LinkState::Waiting => "waiting",
            LinkState::Connecting => "connecting",
            LinkState::Streaming => "streaming",
            LinkState::Stopped => "stopped",
        }
        .into(),
        up: s.link == LinkState::Streaming,
        connects: c.connects,
        connect_failures: c.connect_failures,
        disconnects: c.disconnects,
        disconnects_by_cause: market_data_causes(c),
        reconnects: c.reconnects,
        stalls: c.stalls,
        frames: s.feed.frames,
        bytes_read: Some(c.bytes_read),
        pings_sent: c.pings_sent,
    }
}

fn trading_connection_view(t: Option<&TradingStats>) -> ConnectionView {
    use kspin_runtime::trading::TradingLinkState as S;
    let Some(t) = t else {
        return ConnectionView {
            name: "trading".into(),
            state: "waiting".into(),
            ..ConnectionView::default()
        };
    };
    let l = &t.link;
    ConnectionView {
        name: "trading".into(),
        state: match t.state {
            S::Waiting => "waiting",
            S::FetchingToken => "fetching_token",
            S::Connecting => "connecting",
            S::Reconciling => "reconciling",
            S::Ready => "ready",
        }
        .into(),
        up: t.state == S::Ready,
        connects: l.connects,
        connect_failures: l.connect_failures,
        disconnects: l.disconnects,
        disconnects_by_cause: trading_causes(l),
        reconnects: l.connects.saturating_sub(1),
        stalls: l.stalls,
        frames: l.frames,
        bytes_read: None,
        pings_sent: l.pings_sent,
    }
}
