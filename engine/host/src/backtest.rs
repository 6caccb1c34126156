//! [`Backtest`]: the deterministic replay of a capture with trading strategies — the engine's
//! pipeline and bus, every strategy's host and a paper venue, all stepped on one thread in
//! exchange time, so two replays of one capture give the same events, orders, fills and report.
//!
//! The caller (`kspin replay`) feeds the capture's records in order, each with its time
//! ([`record_times`]). Time moves only with the records and the events scheduled between them:
//!
//! 1. before a frame at time `T`, everything due by `T` happens in time order — requests
//!    reaching the venue (each handled against the book as it stands then, i.e. before the frame),
//!    good-till-date expiries, strategy timers — and after each instant the strategies settle;
//! 2. the frame goes through the engine (`Engine::replay_frame`: decode → feed → book → checksum
//!    → bus, the live code);
//! 3. the venue matches resting orders against the frame's trades and new book states
//!    ([`PaperVenue`], with the [`QueueModel`]); every strategy's equity is marked to the new mid;
//! 4. the strategies *settle*: the bus hands over catch-up and order updates, each strategy's
//!    host (the same `StrategyRunner` a strategy thread runs, as in the test harness) drains its
//!    ring and calls the strategy, and every request it sends is taken at once by the
//!    [`Gateway`] — the live pre-trade checks, refusals answered at once — and sent on its way to
//!    the venue with the [`LatencyModel`]'s delay; until nothing moves.
//!
//! Every strategy's clock (`now_ns`, `now_tsc`, timers, event stamps) is a scripted clock reading
//! the replay's time: raw ticks are nanoseconds since the Unix epoch. Callback durations can be
//! measured with the real TSC on the side ([`BacktestConfig::time_callbacks`]); nothing else reads
//! a real clock.
//!
//! Owns the strategies, their hosts, the bus's log drain, the gateway, the venue and the ledgers;
//! the engine (with the bus inside a [`Tape`]) is the caller's, lent to each call. Invariants:
//! no thread, no real time in any decision; every strategy sees `Accepted` before fills and one
//! final update per order, as live; each step is bounded (a strategy and the venue answering
//! each other forever at one instant are cut off at [`MAX_EVENTS_PER_STEP`] events, the rest
//! waiting for the next frame, counted). It allocates freely: it is a tool, not the engine core.

mod gateway;
mod latency;
mod ledger;
mod queue;
mod report;
mod tape;
mod times;
mod venue;

use std::collections::VecDeque;
use std::sync::Arc;

use kspin_api::{OrderRequest, OrderUpdate, Side, Strategy, SymbolInfo};
use kspin_core::FrameOutcome;
use kspin_runtime::Engine;
use quanta::{Clock, Mock};

pub use gateway::{Gateway, GatewayConfig};
pub use latency::LatencyModel;
pub use ledger::{decimal_text, Ledger, Point, SymbolLedger};
pub use queue::QueueModel;
pub use report::{quantiles, rejects_by_name, BacktestCounters, BacktestReport, BacktestSettings};
pub use tape::{Tape, TapeNotes, TapeTrade};
pub use times::record_times;
pub use venue::{Answer, PaperVenue, VenueConfig};

use crate::host::{CallbackTimer, HostReport, Pinning, StrategyRunner};
use crate::logs::LogDrain;
use crate::publish::IntentRoute;
use crate::stats::strategy_reports;
use crate::{Bus, BusError};

/// The engine a backtest steps: its publisher is the bus inside a [`Tape`].
pub type ReplayEngine = Engine<Tape<Bus>>;

/// Settle rounds (engine turn, then one poll of every strategy) at one instant before the
/// replay moves on.
const MAX_SETTLE_ROUNDS: usize = 100_000;
/// Scheduled instants (arrivals, expiries, timers) handled between two records before the rest
/// wait for the next record.
pub const MAX_EVENTS_PER_STEP: usize = 1_000_000;

/// How a backtest runs.
#[derive(Debug, Clone)]
pub struct BacktestConfig {
    pub latency: LatencyModel,
    pub venue: VenueConfig,
    pub gateway: GatewayConfig,
    /// Slots of each strategy's event ring.
    pub ring_capacity: usize,
    /// Measure every callback's duration with the TSC (real time: reported, never used).
    pub time_callbacks: bool,
}

/// One strategy and its host.
struct Hosted {
    name: String,
    strategy: Box<dyn Strategy>,
    runner: StrategyRunner,
}

/// Where strategies' log lines go: `(strategy name, formatted line)`.
pub type LogSink = Box<dyn FnMut(&str, &str)>;

/// See the module docs.
pub struct Backtest {
    symbols: Vec<SymbolInfo>,
    mock: Arc<Mock>,
    now: u64,
    start_ns: Option<u64>,
    hosted: Vec<Hosted>,
    gateway: Gateway,
    venue: PaperVenue,
    ledgers: Vec<Ledger>,
    /// Updates waiting for room in each strategy's answer queue, in order.
    outbox: Vec<VecDeque<OrderUpdate>>,
    answers: Vec<Answer>,
    refused: Vec<(usize, OrderUpdate)>,
    notes: TapeNotes,
    logs: LogDrain,
    log_sink: Option<LogSink>,
    settings: BacktestSettings,
    counters: BacktestCounters,
}

impl Backtest {
    /// A backtest of `strategies` (name, strategy; in configuration order) over `symbols`
    /// (`symbols[i].id == SymbolId(i)`, the feed's order), and the publisher to build the
    /// engine with: `Engine::new(cfg, publisher, clock)`.
    pub fn new(
        symbols: &[SymbolInfo],
        strategies: Vec<(String, Box<dyn Strategy>)>,
        cfg: BacktestConfig,
    ) -> Result<(Backtest, Tape<Bus>), BusError> {
        let (clock, mock) = Clock::mock();
        let mut bus = Bus::with_clock(symbols, clock.clone());
        let n = strategies.len();
        let mut hosted = Vec::with_capacity(n);
        for (name, strategy) in strategies {
            let ends = bus.add_lane(&name, None, cfg.ring_capacity)?;
            let mut runner = StrategyRunner::new(
                ends.index,
                symbols.to_vec(),
                ends.events,
                ends.intents,
                ends.logs,
                clock.clone(),
            );
            // The scripted clock counts nanoseconds since the Unix epoch.
            runner.set_epoch(0, 0);
            if cfg.time_callbacks {
                if let Ok(timer) = CallbackTimer::new(Clock::new()) {
                    runner.time_callbacks(timer);
                }
            }
            hosted.push(Hosted {
                name,
                strategy,
                runner,
            });
        }
        let logs = bus
            .take_log_drain()
            .unwrap_or_else(|| LogDrain::new(Vec::new()));
        let scales: Vec<(u8, u8)> = symbols
            .iter()
            .map(|s| (s.price_scale, s.qty_scale))
            .collect();
        let settings = BacktestSettings {
            latency_ns: cfg.latency.base_ns(),
            latency_jitter_ns: cfg.latency.jitter_ns(),
            seed: cfg.latency.seed(),
            queue: cfg.venue.queue.name(),
            maker_fee_bps: cfg.venue.maker_fee_bps,
            taker_fee_bps: cfg.venue.taker_fee_bps,
        };
        let backtest = Backtest {
            symbols: symbols.to_vec(),
            mock,
            now: 0,
            start_ns: None,
            gateway: Gateway::new(cfg.gateway, symbols, n, cfg.latency),
            venue: PaperVenue::new(cfg.venue, symbols),
            ledgers: (0..n).map(|_| Ledger::new(&scales)).collect(),
            outbox: (0..n).map(|_| VecDeque::new()).collect(),
            hosted,
            answers: Vec::new(),
            refused: Vec::new(),
            notes: TapeNotes::default(),
            logs,
            log_sink: None,
            settings,
            counters: BacktestCounters::default(),
        };
        Ok((backtest, Tape::new(bus, symbols)))
    }

    /// Sends the strategies' log lines to `sink` (otherwise they are dropped).
    pub fn set_log_sink(&mut self, sink: LogSink) {
        self.log_sink = Some(sink);
    }

    /// The replay's time now (ns since the Unix epoch).
    pub fn now_ns(&self) -> u64 {
        self.now
    }

    fn set_now(&mut self, t: u64) {
        if t > self.now {
            self.mock.increment(t - self.now);
            self.now = t;
        }
    }

    /// Calls every strategy's `on_start` at `time_ns` (the first record's time), then settles.
    pub fn start(&mut self, engine: &mut ReplayEngine, time_ns: u64) {
        self.set_now(time_ns);
        self.start_ns = Some(time_ns);
        for h in &mut self.hosted {
            h.runner.start(&mut *h.strategy);
        }
        self.settle(engine);
    }

    /// One recorded frame at `time_ns`: what is due before it, the frame, the venue's matching,
    /// the strategies settling (see the module docs).
    pub fn frame(
        &mut self,
        engine: &mut ReplayEngine,
        time_ns: u64,
        payload: &[u8],
    ) -> FrameOutcome {
        self.advance_to(engine, time_ns);
        let outcome = engine.replay_frame(payload, self.now);
        // The live run sent these; the recording holds what the exchange answered.
        engine.discard_requests();
        self.after_market(engine);
        self.settle(engine);
        outcome
    }

    /// The recorded market-data link came up or dropped at `time_ns`.
    pub fn link(&mut self, engine: &mut ReplayEngine, up: bool, time_ns: u64) {
        self.advance_to(engine, time_ns);
        engine.link(up);
        self.after_market(engine);
        self.settle(engine);
    }

    /// The next scheduled instant: a request reaching the venue, an expiry, a timer.
    fn next_event(&self) -> u64 {
        let timers = self
            .hosted
            .iter()
            .map(|h| h.runner.next_timer_due())
            .min()
            .unwrap_or(u64::MAX);
        self.gateway
            .next_arrival()
            .min(self.venue.next_expiry())
            .min(timers)
    }

    /// Handles everything scheduled at or before `target`, in time order, settling after each
    /// instant; then moves the clock to `target`.
    fn advance_to(&mut self, engine: &mut ReplayEngine, target: u64) {
        let mut steps = 0;
        loop {
            let next = self.next_event();
            if next > target {
                break;
            }
            steps += 1;
            if steps > MAX_EVENTS_PER_STEP {
                self.counters.step_limit_hits += 1;
                break;
            }
            self.set_now(next);
            let now = self.now;
            {
                let (feed, tape, _) = engine.order_view();
                tape.inner_mut().advance_market_clock(now);
                while let Some(request) = self.gateway.pop_arrived(now) {
                    self.venue.handle(
                        request.strategy,
                        &request.request,
                        feed,
                        now,
                        &mut self.answers,
                    );
                }
                self.venue.expire(now, &mut self.answers);
            }
            self.route_answers();
            self.settle(engine);
        }
        self.set_now(target);
    }

    /// The venue's matching against what the last frame did, and the marks to the new mids.
    fn after_market(&mut self, engine: &mut ReplayEngine) {
        let now = self.now;
        {
            let (feed, tape, _) = engine.order_view();
            tape.take(&mut self.notes);
            if let Some(system) = self.notes.system {
                self.venue.set_system(system);
                self.gateway.set_system(system);
            }
            for trade in &self.notes.trades {
                self.venue.on_trade(trade, &mut self.answers);
            }
            for &symbol in &self.notes.books {
                self.venue.on_book(symbol, feed, &mut self.answers);
                let top = feed
                    .book(symbol)
                    .filter(|b| b.state.is_live())
                    .and_then(|b| b.book.best_bid().zip(b.book.best_ask()));
                if let Some(((bid, _), (ask, _))) = top {
                    let sum = i128::from(bid.0) + i128::from(ask.0);
                    for ledger in &mut self.ledgers {
                        ledger.mark(symbol, sum, now);
                    }
                }
            }
        }
        self.route_answers();
    }

    /// Venue answers to the ledgers, the gateway's view and the strategies' outboxes, in order.
    fn route_answers(&mut self) {
        let now = self.now;
        for Answer { strategy, update } in self.answers.drain(..) {
            let side = self.gateway.side_of(update.client_id).unwrap_or(Side::Buy);
            if let Some(l) = self.ledgers.get_mut(strategy) {
                l.on_update(&update, side, now);
            }
            self.gateway.on_update(strategy, &update);
            if let Some(o) = self.outbox.get_mut(strategy) {
                o.push_back(update);
            }
        }
    }

    /// Engine turns and strategy polls until nothing moves (see the module docs).
    fn settle(&mut self, engine: &mut ReplayEngine) {
        for _ in 0..MAX_SETTLE_ROUNDS {
            let mut moved = 0usize;
            let now = self.now;
            {
                let (feed, tape, _) = engine.order_view();
                let bus = tape.inner_mut();
                bus.service(feed);
                let Backtest {
                    gateway,
                    refused,
                    ledgers,
                    ..
                } = self;
                bus.drain_intents_with(feed, |strategy, message| {
                    if !matches!(message.request, OrderRequest::Resnapshot { .. }) {
                        moved += 1;
                        for (symbol, passed) in gateway.take(strategy, message, feed, now, refused)
                        {
                            if let Some(l) = ledgers.get_mut(strategy) {
                                l.order_sent(symbol.index(), passed);
                            }
                        }
                    }
                    IntentRoute::Taken
                });
                for (strategy, update) in self.refused.drain(..) {
                    if let Some(l) = self.ledgers.get_mut(strategy) {
                        l.on_update(&update, Side::Buy, now);
                    }
                    if let Some(o) = self.outbox.get_mut(strategy) {
                        o.push_back(update);
                    }
                }
                for (i, outbox) in self.outbox.iter_mut().enumerate() {
                    while !outbox.is_empty() && bus.answer_room(i) > 0 {
                        if let Some(update) = outbox.pop_front() {
                            bus.publish_order_update(i, update);
                            moved += 1;
                        }
                    }
                }
            }
            for h in &mut self.hosted {
                moved += h.runner.poll(&mut *h.strategy, |_| {});
            }
            self.drain_logs();
            let quiet = {
                let (_, tape, _) = engine.order_view();
                !tape.inner().needs_service()
            } && self.outbox.iter().all(VecDeque::is_empty)
                && self
                    .hosted
                    .iter()
                    .all(|h| h.runner.events_waiting() == 0 && h.runner.intents_waiting() == 0);
            if moved == 0 && quiet {
                return;
            }
        }
        self.counters.step_limit_hits += 1;
    }

    fn drain_logs(&mut self) {
        let sink = &mut self.log_sink;
        self.logs.drain(usize::MAX, |strategy, _record, text| {
            if let Some(sink) = sink.as_mut() {
                sink(strategy, text);
            }
        });
    }

    /// Ends the replay: what is left in the rings is handed over, every strategy's `on_stop`
    /// runs (what it sends then is taken, never answered), and the report is made.
    pub fn finish(mut self, engine: &mut ReplayEngine, end_ns: u64) -> BacktestReport {
        self.advance_to(engine, end_ns);
        for h in &mut self.hosted {
            h.runner.drain(&mut *h.strategy, |_| {});
            h.runner.stop(&mut *h.strategy);
        }
        self.settle(engine);
        self.counters.unanswered = self.gateway.in_flight() as u64;
        let stats = {
            let (_, tape, _) = engine.order_view();
            tape.inner().strategy_stats()
        };
        let mut hosts = Vec::with_capacity(self.hosted.len());
        let mut callbacks = Vec::with_capacity(self.hosted.len());
        for (index, h) in self.hosted.into_iter().enumerate() {
            callbacks.push(h.runner.callback_histogram().cloned());
            let summary = h.strategy.summary();
            let (counters, _, _) = h.runner.finish();
            hosts.push(HostReport {
                index,
                name: h.name,
                core: None,
                pinning: Pinning::NotRequested,
                counters,
                summary,
                stages: None,
                event_stamps: Vec::new(),
                books: Vec::new(),
            });
        }
        BacktestReport {
            symbols: self.symbols,
            strategies: strategy_reports(stats, hosts),
            ledgers: self.ledgers,
            requests: self.gateway.requests.clone(),
            callbacks,
            settings: self.settings,
            counters: self.counters,
            span_ns: (self.start_ns.unwrap_or(end_ns), end_ns),
        }
    }
}

#[cfg(test)]
mod tests;
