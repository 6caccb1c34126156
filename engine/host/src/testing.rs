//! [`TestHost`]: the strategy test harness — the real engine pipeline, bus and strategy host on
//! one thread, with a scripted clock.
//!
//! Scripted market data ([`TestHost::book_snapshot`], [`TestHost::trade`], ...) becomes Kraken v2
//! text frames (book checksums computed on the engine's own `OrderBook`, see `frames.rs`) that
//! go through a real [`Pipeline`] — decode → feed → book → checksum — into a real [`Bus`] with
//! one lane, as in `kspin run` and `kspin replay`: the same wire packing, `BookDone` /
//! `BookLive`, staleness and catch-up snapshots. The lane's event ring is popped on the test
//! thread by the same host code the strategy thread runs (wire assembly into the real
//! [`Replica`]s, delivery, timers, resnapshot requests). The strategy's intents go through the
//! real intent ring to the bus, whose paper model answers them against the engine's current
//! book; the answers come back through the event ring. The clock is a `quanta` mock: raw ticks
//! are nanoseconds, they move only with [`TestHost::set_now`] and [`TestHost::advance`], and
//! every stamp (`recv_tsc`, `publish_tsc`, `now_tsc`, timer due ticks) reads it.
//!
//! After each scripted input the harness *settles*: it alternates the engine's service turn
//! (catch-up, intents, paper answers) with the host's poll until nothing moves, so each line of
//! a test sees the whole consequence of the one before. The feed runs in passive mode (a
//! replay's): a book that failed waits for the next scripted snapshot instead of resubscribing.
//!
//! Owns the pipeline, the bus, the strategy's host state, the log drain, the frame writer
//! (`frames.rs`), the mock clock and the recordings (events delivered, wire events, order
//! requests, log records: `recordings.rs`); it is also a `Context` for direct calls
//! (`context.rs`).
//!
//! Invariants: after [`TestHost::reserve`] and a warm-up, a scripted input allocates nothing
//! (frames are written into one reused buffer, recordings are reserved). Test support: it
//! panics on misuse (a symbol outside the table, a staleness the engine cannot produce, a
//! strategy that never settles), never because of what the strategy does otherwise.

mod context;
pub(crate) mod frames;
mod recordings;

use core::time::Duration;
use std::sync::Arc;

use kspin_api::replica::Assembled;
use kspin_api::wire::{WireEvent, WireKind};
use kspin_api::{
    ClientOrderId, Event, LinkState, LogRecord, OrderMessage, OrderRequest, OrderUpdate, Side,
    StaleReason, Strategy, SymbolId, SymbolInfo, SystemStatus, Ticker,
};
use kspin_core::feed::{FeedMode, FeedOptions};
use kspin_core::kraken::DecoderLimits;
use kspin_core::{FrameOutcome, Pipeline};
use kspin_runtime::Publisher;
use quanta::{Clock, Mock};

use crate::host::{client_order_id, HostCounters, StrategyRunner};
use crate::logs::LogDrain;
use crate::publish::IntentRoute;
use crate::{Bus, Replica};
use frames::{BookFrame, FrameWriter};
use recordings::Recording;

/// Slots of the harness lane's event ring (`kspin run`'s default `engine.ring_capacity`).
pub const EVENT_RING_CAPACITY: usize = 1 << 14;
/// Engine turns and host polls one scripted input may take before the harness gives up on a
/// strategy that never settles (one that answers every event with another order, say).
const MAX_SETTLE_ROUNDS: usize = 100_000;
/// The strategy's lane in the bus (the only one).
const LANE: usize = 0;

/// The harness; see the module docs.
pub struct TestHost {
    symbols: Vec<SymbolInfo>,
    pipeline: Pipeline,
    bus: Bus,
    runner: StrategyRunner,
    log_drain: LogDrain,
    frames: FrameWriter,
    mock: Arc<Mock>,
    /// The paper model answers new orders and cancels.
    paper_fills: bool,
    /// The engine takes nothing from the intent ring ([`TestHost::set_intent_ring_free`]).
    intents_held: bool,
    /// Filler requests at the head of the intent ring, dropped when the ring is released.
    fillers: usize,
    next_trade_id: u64,
    /// The harness changed the symbol's precision (a `PrecisionChanged` staleness); it is
    /// restored before the symbol's next snapshot.
    precision_shifted: Vec<bool>,
    orders: Vec<OrderMessage>,
    logs: Vec<LogRecord>,
    events: Vec<Event>,
    wire: Vec<WireEvent>,
}

impl TestHost {
    /// A harness for `symbols` (`symbols[i].id` must be `SymbolId(i)`; each symbol's depth and
    /// scales are the engine's), clock at 0, paper fills on.
    pub fn new(symbols: Vec<SymbolInfo>) -> TestHost {
        for (i, s) in symbols.iter().enumerate() {
            assert_eq!(s.id.index(), i, "symbol table out of order");
        }
        let (clock, mock) = Clock::mock();
        let mut pipeline = Pipeline::new(
            DecoderLimits::default(),
            FeedOptions {
                mode: FeedMode::Passive,
                ..FeedOptions::default()
            },
        );
        for s in &symbols {
            let precision = Some((s.price_scale, s.qty_scale));
            let added = pipeline
                .feed_mut()
                .add_symbol(&s.name, usize::from(s.depth), precision);
            assert!(added.is_some(), "too many symbols for the feed");
        }
        let mut bus = Bus::with_clock(&symbols, clock.clone());
        let ends = match bus.add_lane("test", None, EVENT_RING_CAPACITY) {
            Ok(ends) => ends,
            Err(e) => panic!("cannot allocate the harness rings: {e}"),
        };
        let log_drain = match bus.take_log_drain() {
            Some(drain) => drain,
            None => unreachable!("a new bus still has its log drain"),
        };
        let mut runner = StrategyRunner::new(
            ends.index,
            symbols.clone(),
            ends.events,
            ends.intents,
            ends.logs,
            clock,
        );
        // The scripted clock counts nanoseconds since the Unix epoch.
        runner.set_epoch(0, 0);
        TestHost {
            frames: FrameWriter::new(&symbols),
            precision_shifted: vec![false; symbols.len()],
            symbols,
            pipeline,
            bus,
            runner,
            log_drain,
            mock,
            paper_fills: true,
            intents_held: false,
            fillers: 0,
            next_trade_id: 1,
            orders: Vec::new(),
            logs: Vec::new(),
            events: Vec::new(),
            wire: Vec::new(),
        }
    }

    /// Preallocates room for `events` more recorded events, wire events, log records and order
    /// requests, so that a run of that length allocates nothing in the harness (for
    /// allocation-counting tests).
    pub fn reserve(&mut self, events: usize) {
        self.events.reserve(events);
        self.wire.reserve(events);
        self.logs.reserve(events);
        self.orders.reserve(events);
    }

    /// The symbol table.
    pub fn symbols(&self) -> &[SymbolInfo] {
        &self.symbols
    }

    /// Calls `on_start`, then settles (timers already due fire, intents are answered).
    pub fn start(&mut self, strategy: &mut dyn Strategy) {
        let mut recording = Recording {
            strategy: &mut *strategy,
            events: &mut self.events,
        };
        self.runner.start(&mut recording);
        self.drain_logs();
        self.settle(strategy);
    }

    /// Hands over what is still in the event ring, then calls `on_stop`; what the strategy
    /// submits there is taken by the engine (and recorded), but no longer answered to it.
    pub fn stop(&mut self, strategy: &mut dyn Strategy) {
        let mut recording = Recording {
            strategy,
            events: &mut self.events,
        };
        let wire = &mut self.wire;
        self.runner.drain(&mut recording, |w| wire.push(*w));
        self.runner.stop(&mut recording);
        self.drain_logs();
        self.engine_turn();
    }

    /// Hands one hand-made wire event (stamped now) to the host, bypassing the engine — to
    /// test how a strategy's host copes with a wire sequence the bus would never send — then
    /// settles. Returns what the host's assembler made of it.
    pub fn feed(&mut self, strategy: &mut dyn Strategy, kind: WireKind) -> Assembled {
        let now = self.mock.value();
        let wire = WireEvent::new(now, now, kind);
        self.wire.push(wire);
        let mut recording = Recording {
            strategy: &mut *strategy,
            events: &mut self.events,
        };
        let assembled = self.runner.handle(&mut recording, &wire);
        self.drain_logs();
        self.settle(strategy);
        assembled
    }

    /// A `book` snapshot of `symbol` (levels as `(price, qty)` mantissas, any order). The feed
    /// verifies it; the strategy sees `BookSnapshot{Initial}` (first of the symbol) or
    /// `{Resync}`, the levels best first, `BookDone`, and `BookLive` if the book was not live.
    pub fn book_snapshot(
        &mut self,
        strategy: &mut dyn Strategy,
        symbol: SymbolId,
        bids: &[(i64, i64)],
        asks: &[(i64, i64)],
    ) {
        let i = self.index(symbol);
        if core::mem::take(&mut self.precision_shifted[i]) {
            let (p, q) = (self.symbols[i].price_scale, self.symbols[i].qty_scale);
            self.frames.instrument(i, p, q);
            self.send_frame();
            self.settle(strategy);
        }
        self.frames.set_now(self.mock.value());
        self.frames.book(i, BookFrame::Snapshot, bids, asks);
        self.send_frame();
        self.settle(strategy);
    }

    /// A `book` update (qty 0 removes a level), bids applied before asks, each side in the
    /// order given. The engine drops it (and the strategy sees nothing) unless the book is
    /// live: send a snapshot first.
    pub fn book_update(
        &mut self,
        strategy: &mut dyn Strategy,
        symbol: SymbolId,
        bids: &[(i64, i64)],
        asks: &[(i64, i64)],
    ) {
        let i = self.index(symbol);
        self.frames.set_now(self.mock.value());
        self.frames.book(i, BookFrame::Update, bids, asks);
        self.send_frame();
        self.settle(strategy);
    }

    /// Makes the engine's book of `symbol` stale for `reason`, by what causes it in the engine:
    ///
    /// - `ChecksumMismatch`: an update with a wrong checksum (the book then waits for the next
    ///   [`Self::book_snapshot`]). Nothing happens to a book that is not live.
    /// - `Disconnected`: the market-data link drops — every live book goes stale, and the
    ///   strategy also sees `Connection{Disconnected}` (as [`Self::connection`]).
    /// - `PrecisionChanged`: an `instrument` message changes the pair's price precision; the
    ///   symbol is frozen for strategies until the next [`Self::book_snapshot`], which restores
    ///   the precision first.
    ///
    /// Panics for `Unsubscribed` (the engine reports it only when its mismatch policy halts a
    /// symbol) and `ReplicaDiverged` (the host's own finding: corrupt a replica with
    /// [`Self::replica_mut`] instead).
    pub fn book_stale(
        &mut self,
        strategy: &mut dyn Strategy,
        symbol: SymbolId,
        reason: StaleReason,
    ) {
        let i = self.index(symbol);
        match reason {
            StaleReason::ChecksumMismatch => {
                self.frames.bad_checksum(i);
                self.send_frame();
            }
            StaleReason::Disconnected => self.link(false),
            StaleReason::PrecisionChanged => {
                let info = &self.symbols[i];
                let price_scale = if info.price_scale < kspin_api::fixed::MAX_SCALE {
                    info.price_scale + 1
                } else {
                    info.price_scale - 1
                };
                self.frames.instrument(i, price_scale, info.qty_scale);
                self.send_frame();
                self.precision_shifted[i] = true;
            }
            StaleReason::Unsubscribed | StaleReason::ReplicaDiverged => panic!(
                "the engine does not make a book stale for {reason:?} on demand \
                 (Unsubscribed: only a halting mismatch policy; ReplicaDiverged: use replica_mut)"
            ),
        }
        self.settle(strategy);
    }

    /// A public trade of `symbol` at exchange time `time_ns` (a `market` order; trade ids are
    /// 1, 2, ...).
    pub fn trade(
        &mut self,
        strategy: &mut dyn Strategy,
        symbol: SymbolId,
        side: Side,
        price: i64,
        qty: i64,
        time_ns: u64,
    ) {
        let i = self.index(symbol);
        let trade_id = self.next_trade_id;
        self.next_trade_id += 1;
        self.frames.trade(i, side, price, qty, trade_id, time_ns);
        self.send_frame();
        self.settle(strategy);
    }

    /// A `ticker` message with `ticker`'s bid, ask, last price and volume.
    pub fn ticker(&mut self, strategy: &mut dyn Strategy, ticker: Ticker) {
        let i = self.index(ticker.symbol);
        self.frames.set_now(self.mock.value());
        self.frames.ticker(i, &ticker);
        self.send_frame();
        self.settle(strategy);
    }

    /// A change on the public link, as the engine reports it: `Connected` with a known
    /// `system` is a `status` message; `Connected` with `Unknown` is the link coming up;
    /// `Disconnected` is the link dropping, which the engine reports with `SystemStatus::Unknown`
    /// whatever `system` says, after making every live book stale.
    pub fn connection(
        &mut self,
        strategy: &mut dyn Strategy,
        state: LinkState,
        system: SystemStatus,
    ) {
        match (state, system) {
            (LinkState::Disconnected, _) => self.link(false),
            (LinkState::Connected, SystemStatus::Unknown) => self.link(true),
            (LinkState::Connected, system) => {
                self.frames.status(system);
                self.send_frame();
            }
        }
        self.settle(strategy);
    }

    /// An order update from the venue the test imagines (a fill, a reject), handed to the bus
    /// like an execution report: it reaches the strategy through the event ring.
    pub fn order_update(&mut self, strategy: &mut dyn Strategy, update: OrderUpdate) {
        self.bus.set_frame_tsc(self.mock.value());
        let queued = self.bus.publish_order_update(LANE, update);
        assert!(queued, "the lane's answer queue is full");
        self.settle(strategy);
    }

    /// Whether the engine's paper model answers the strategy's orders and cancels (on by
    /// default). Off, requests are still taken from the ring and recorded, and the test scripts
    /// the answers with [`Self::order_update`].
    pub fn set_paper_fills(&mut self, on: bool) {
        self.paper_fills = on;
    }

    /// Sets the clock (raw ticks = ns) without firing timers; due ones fire at the next input.
    pub fn set_now(&mut self, tsc: u64) {
        let now = self.mock.value();
        if tsc >= now {
            self.mock.increment(tsc - now);
        } else {
            self.mock.decrement(now - tsc);
        }
    }

    /// Moves the clock forward by `by`, stopping at each timer's due tick on the way so that
    /// timers fire in due order (ties by id) with `recv_tsc` = their due tick.
    pub fn advance(&mut self, strategy: &mut dyn Strategy, by: Duration) {
        let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        let end = self.mock.value().saturating_add(by);
        let mut steps = 0;
        loop {
            let due = self.runner.next_timer_due();
            if due > end {
                break;
            }
            steps += 1;
            assert!(
                steps <= MAX_SETTLE_ROUNDS,
                "timers keep coming due at {due}: the strategy never lets the clock advance"
            );
            self.set_now(due.max(self.mock.value()));
            self.settle(strategy);
        }
        self.set_now(end);
        self.settle(strategy);
    }

    /// Holds the intent ring as if the engine stopped taking from it with `free` slots left:
    /// the next `free` submits and cancels succeed, later ones fail with `RingFull`. What waits
    /// in the ring is taken (recorded in [`Self::orders`], answered) when the ring is released
    /// with `usize::MAX`, or held again with another `free`.
    pub fn set_intent_ring_free(&mut self, free: usize) {
        self.intents_held = false;
        let mut rounds = 0;
        while self.runner.intents_waiting() > 0 && rounds < MAX_SETTLE_ROUNDS {
            self.engine_turn();
            rounds += 1;
        }
        if free == usize::MAX {
            return;
        }
        self.intents_held = true;
        // Inert requests the engine will take and drop (routed away from the paper model).
        let filler = OrderMessage::new(
            0,
            OrderRequest::Cancel {
                client_id: ClientOrderId(0),
                symbol: SymbolId(0),
            },
        );
        while self.runner.intent_slots_free() > free && self.runner.push_intent(filler) {
            self.fillers += 1;
        }
    }

    /// The id the host gives the strategy's `n`-th order (from 1): `1 << 40 | n`, as strategy
    /// 0 of a `kspin run`.
    pub fn order_id(&self, n: u64) -> ClientOrderId {
        client_order_id(LANE, n)
    }

    /// The strategy's replica of `symbol`.
    pub fn replica(&self, symbol: SymbolId) -> &Replica {
        match self.runner.replica(symbol.index()) {
            Some(r) => r,
            None => panic!("unknown {symbol:?}"),
        }
    }

    /// Mutable replica access, to simulate a host bug (a diverged replica) in tests.
    pub fn replica_mut(&mut self, symbol: SymbolId) -> &mut Replica {
        match self.runner.replica_mut(symbol.index()) {
            Some(r) => r,
            None => panic!("unknown {symbol:?}"),
        }
    }

    /// Wire sequences the host's assembler could not reconcile so far.
    pub fn faults(&self) -> u64 {
        self.runner.counters().assembly_faults
    }

    /// The host's counters (events, timers, refused intents, resnapshot requests, ...).
    pub fn host_counters(&self) -> HostCounters {
        self.runner.counters()
    }

    /// The engine's bus (lane and paper counters of strategy 0).
    pub fn bus(&self) -> &Bus {
        &self.bus
    }

    /// The engine's pipeline (frame, feed and book state).
    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    fn index(&self, symbol: SymbolId) -> usize {
        assert!(symbol.index() < self.symbols.len(), "unknown {symbol:?}");
        symbol.index()
    }

    /// Runs the frame just written through the pipeline into the bus, stamped now.
    fn send_frame(&mut self) {
        let stamp = self.mock.value();
        let outcome = self
            .pipeline
            .on_frame(self.frames.text(), stamp, &mut self.bus);
        if let FrameOutcome::Refused(error) = outcome {
            panic!(
                "the harness wrote a frame the decoder refused ({error:?}): {}",
                String::from_utf8_lossy(self.frames.text())
            );
        }
    }

    /// The market-data link comes up or drops, as the runtime's engine reports it.
    fn link(&mut self, up: bool) {
        self.bus.set_frame_tsc(self.mock.value());
        if !up {
            self.pipeline.link_down(&mut self.bus);
        }
        Publisher::link(&mut self.bus, up);
    }

    /// The engine's per-iteration turn: catch-up, then the intent ring (recorded, answered by
    /// the paper model unless paper fills are off).
    fn engine_turn(&mut self) {
        let feed = self.pipeline.feed();
        self.bus.service(feed);
        if self.intents_held {
            return;
        }
        let (orders, fillers, paper) = (&mut self.orders, &mut self.fillers, self.paper_fills);
        self.bus.drain_intents_with(feed, |_, message| {
            if *fillers > 0 {
                *fillers -= 1;
                return IntentRoute::Taken;
            }
            orders.push(*message);
            if paper {
                IntentRoute::Paper
            } else {
                IntentRoute::Taken
            }
        });
    }

    /// One host poll with the strategy (recording wire events and delivered events), then the
    /// log ring. Returns the wire events taken.
    fn poll(&mut self, strategy: &mut dyn Strategy) -> usize {
        let mut recording = Recording {
            strategy,
            events: &mut self.events,
        };
        let wire = &mut self.wire;
        let taken = self.runner.poll(&mut recording, |w| wire.push(*w));
        self.drain_logs();
        taken
    }

    /// Engine turns and host polls until nothing is left to hand either way.
    fn settle(&mut self, strategy: &mut dyn Strategy) {
        for _ in 0..MAX_SETTLE_ROUNDS {
            self.engine_turn();
            let taken = self.poll(strategy);
            let intents_waiting = !self.intents_held && self.runner.intents_waiting() > 0;
            if taken == 0
                && self.runner.events_waiting() == 0
                && !intents_waiting
                && !self.bus.needs_service()
            {
                return;
            }
        }
        panic!("the strategy and the engine did not settle in {MAX_SETTLE_ROUNDS} rounds");
    }
}
