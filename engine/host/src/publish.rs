//! [`Bus`]: the engine-core end of every strategy's rings. It is the feed's [`FeedSink`] for
//! market data, turns each verified book message, trade, ticker, stale notice and status into
//! wire events on one SPSC ring per strategy, keeps lagging strategies consistent, and answers
//! order intents from the paper model ([`super::paper`]) — or leaves them to whoever takes them
//! instead ([`Bus::drain_intents_with`], [`Bus::publish_order_update`]). Taps ([`tap`]) are lanes
//! for consumers that are not strategies (the NATS bridge), with a copy of every order update;
//! [`verified`] takes market data verified elsewhere (a NATS mirror) on the feed's own path.
//!
//! Owns, per strategy (a *lane*): the event producer, the intent consumer, the per-symbol dirty
//! and told-live bits, a small queue of order updates waiting for ring room, the paper trader and
//! the counters; per symbol: whether a snapshot was seen, the book version and scales.
//!
//! Invariants:
//! - **All or nothing per message**: a book message is pushed to a lane only when the ring has
//!   room for all its wire events, so a replica never sees half a message.
//! - **Never waits**: a full ring makes the lane *lagging*: the message's events are dropped and
//!   counted and its symbol marked dirty. While any symbol of a lane is dirty, its book deltas,
//!   trades and tickers are dropped (a dropped delta marks its symbol dirty). [`Bus::service`]
//!   (every loop iteration) and each book publish hand a dirty symbol a `BookSnapshot{CatchUp}`
//!   of the engine's *current* book — or a `BookStale` if that book is not live — once the whole
//!   sequence fits; with no dirty symbol left the lane is no longer lagging. A strategy therefore
//!   sees a subsequence of the engine's book states, never a wrong one.
//! - `BookLive` follows a snapshot exactly when the lane was last told the book is not live
//!   (which is the case when the feed reports the book went live, or when the strategy's host
//!   asked for the book again after its replica diverged: `OrderRequest::Resnapshot`).
//! - **Precision**: a symbol whose precision changed after start-up is frozen for strategies
//!   ([`super::precision`]): one `BookStale{PrecisionChanged}` (owed until delivered, even to a
//!   strategy that never saw the book live), then nothing of it until the precision returns.
//! - No allocation, lock, syscall or formatting after [`Bus::add_strategy`]; no panic on input.

use kspin_api::wire::{SnapshotReason, WireEvent, WireKind};
use kspin_api::{
    ConnectionStatus, Link, LogRecord, OrderMessage, OrderRequest, OrderUpdate,
    StaleReason as WireStale, Strategy, SymbolId, SymbolInfo, SystemStatus,
};
use kspin_ring::{try_spsc, Consumer, IdlePolicy, Producer};
use quanta::Clock;

use super::host::StrategyHandle;
use super::lane::{snapshot_events, AnswerQueue, Lane, LaneCounters, Stamps};
use super::logs::LogDrain;
use super::order_tap::OrderTaps;
use super::paper::{PaperCounters, PaperTrader, MAX_UPDATES_PER_REQUEST};
use super::precision::PrecisionGuard;
use super::stats::StrategyStats;
use super::{BookSource, BusError};
use kspin_core::book::{FixedLevel, OrderBook};
use pack::{pack_update, update_events, EMPTY_SLOT};

/// Slots of each strategy's intent ring (strategy → engine). A strategy sees
/// `SubmitError::RingFull` beyond this many unanswered requests.
pub const INTENT_RING_CAPACITY: usize = 1024;
/// Slots of each strategy's log ring (strategy → monitor thread).
pub const LOG_RING_CAPACITY: usize = 4096;
/// Requests taken from one lane's intent ring per [`Bus::drain_intents`] call (bounds the time
/// one call spends on one strategy).
pub const MAX_INTENTS_PER_DRAIN: usize = 64;

/// Who answers a new order or cancel taken from an intent ring ([`Bus::drain_intents_with`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntentRoute {
    /// The paper model (what [`Bus::drain_intents`] does with every request).
    Paper,
    /// Someone else: the bus only takes the request off the ring.
    Taken,
}

/// Engine-wide counters of the bus.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BusCounters {
    /// Feed symbol indices beyond the bus's symbol table.
    pub unknown_symbol: u64,
    /// Trades or tickers whose numbers do not fit the symbol's scales.
    pub unconvertible: u64,
    /// Book updates with more levels than a `BookChange` can announce (forwarded as catch-up).
    pub oversized_messages: u64,
    /// Symbols frozen for strategies because the exchange changed their precision.
    pub precision_changes: u64,
}

/// The strategy-side ends of a new lane's rings ([`Bus::add_lane`]).
pub(crate) struct LaneEnds {
    /// The lane's (and so the strategy's) index in the bus.
    pub(crate) index: usize,
    pub(crate) events: Consumer<WireEvent>,
    pub(crate) intents: Producer<OrderMessage>,
    pub(crate) logs: Producer<LogRecord>,
}

/// The engine side of every strategy's rings; see the module docs.
pub struct Bus {
    symbols: Vec<SymbolInfo>,
    clock: Clock,
    frame_tsc: u64,
    lanes: Vec<Lane>,
    had_snapshot: Box<[bool]>,
    /// The feed said the book went live; the next snapshot is followed by `BookLive`.
    going_live: Box<[bool]>,
    /// Bumped by every published book state; the paper model matches resting orders on change.
    versions: Box<[u64]>,
    /// `(price_scale, qty_scale)` per symbol, refreshed from each book message.
    scales: Box<[(u8, u8)]>,
    /// Why each book last went stale (for catch-up `BookStale`s).
    stale_reasons: Box<[WireStale]>,
    /// Exchange time of each book's last message (ns since the Unix epoch), for catch-ups.
    book_time_ns: Box<[u64]>,
    /// The latest exchange time seen on the feed: what events without their own time carry.
    market_ns: u64,
    /// Exchange timestamps' parser, its last minute remembered (they share it almost always).
    times: kspin_core::kraken::time::Rfc3339Parser,
    /// Symbols whose precision changed under the strategies: nothing of them is published.
    precision: PrecisionGuard,
    system: SystemStatus,
    /// Some lane needs [`Bus::service`].
    attention: bool,
    /// Orders go to a venue's order path, not the paper model.
    orders_live: bool,
    logs: LogDrain,
    log_drain_taken: bool,
    /// One book update's wire events, packed once and copied to every lane
    /// ([`UPDATE_SCRATCH_EVENTS`] slots, written from the front, never grown).
    scratch: Box<[WireEvent]>,
    counters: BusCounters,
    /// Per-lane figures for the metrics thread, when attached ([`Bus::attach_taps`]).
    taps: Option<telemetry::LaneTapWriter>,
    /// A copy of every order update handed to a strategy, for each tap ([`Bus::add_tap`]).
    order_taps: OrderTaps,
}

/// Wire events of the largest book update packed in one go: the default decoder's per-frame
/// level limit in batches, plus the `BookDone`. A larger update (possible only with raised
/// decoder limits) reaches strategies as a catch-up of the resulting book instead.
pub(crate) const UPDATE_SCRATCH_EVENTS: usize =
    update_events(kspin_core::kraken::DecoderLimits::DEFAULT_MAX_LEVELS);

impl std::fmt::Debug for Bus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bus")
            .field("symbols", &self.symbols.len())
            .field("strategies", &self.lanes.len())
            .field("attention", &self.attention)
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

impl Bus {
    /// A bus for `symbols` (`symbols[i].id == SymbolId(i)`, the feed's symbol order), with no
    /// strategy yet, stamping with the TSC. Start-up only.
    pub fn new(symbols: &[SymbolInfo]) -> Bus {
        Bus::with_clock(symbols, Clock::new())
    }

    /// [`Bus::new`] stamping `publish_tsc` with `clock` (a mock in the test harness).
    pub fn with_clock(symbols: &[SymbolInfo], clock: Clock) -> Bus {
        let n = symbols.len();
        Bus {
            symbols: symbols.to_vec(),
            clock,
            frame_tsc: 0,
            lanes: Vec::new(),
            had_snapshot: vec![false; n].into_boxed_slice(),
            going_live: vec![false; n].into_boxed_slice(),
            versions: vec![0; n].into_boxed_slice(),
            scales: symbols
                .iter()
                .map(|s| (s.price_scale, s.qty_scale))
                .collect(),
            stale_reasons: vec![WireStale::Disconnected; n].into_boxed_slice(),
            book_time_ns: vec![0; n].into_boxed_slice(),
            market_ns: 0,
            times: kspin_core::kraken::time::Rfc3339Parser::new(),
            precision: PrecisionGuard::new(symbols),
            system: SystemStatus::Unknown,
            attention: false,
            orders_live: false,
            logs: LogDrain::new(symbols.to_vec()),
            log_drain_taken: false,
            scratch: vec![EMPTY_SLOT; UPDATE_SCRATCH_EVENTS].into_boxed_slice(),
            counters: BusCounters::default(),
            taps: None,
            order_taps: OrderTaps::default(),
        }
    }

    /// Adds a strategy: allocates its event ring (`ring_capacity`, rounded up to a power of
    /// two), intent ring and log ring, and returns the handle to start its thread with
    /// [`super::host::spawn_strategy`]. Start-up only.
    pub fn add_strategy(
        &mut self,
        name: &str,
        core: Option<usize>,
        strategy: Box<dyn Strategy>,
        ring_capacity: usize,
        idle: IdlePolicy,
    ) -> Result<StrategyHandle, BusError> {
        let ends = self.add_lane(name, core, ring_capacity)?;
        Ok(StrategyHandle::new(
            ends.index,
            name,
            core,
            idle,
            self.symbols.clone(),
            strategy,
            ends.events,
            ends.intents,
            ends.logs,
        ))
    }

    /// The lane behind [`Self::add_strategy`]: its rings, with the strategy-side ends handed
    /// back (to a strategy thread's handle, or to the test harness's host on the test thread).
    pub(crate) fn add_lane(
        &mut self,
        name: &str,
        core: Option<usize>,
        ring_capacity: usize,
    ) -> Result<LaneEnds, BusError> {
        fn ring<T: Copy + Send>(
            strategy: &str,
            what: &'static str,
            capacity: usize,
        ) -> Result<(Producer<T>, Consumer<T>), BusError> {
            try_spsc(capacity).map_err(|source| BusError::Ring {
                strategy: strategy.to_owned(),
                what,
                source,
            })
        }
        let (events_tx, events_rx) = ring(name, "event", ring_capacity)?;
        let (intents_tx, intents_rx) = ring(name, "intent", INTENT_RING_CAPACITY)?;
        let (logs_tx, logs_rx) = ring(name, "log", LOG_RING_CAPACITY)?;
        let n = self.symbols.len();
        let index = self.lanes.len();
        self.lanes.push(Lane {
            name: name.to_owned(),
            core,
            events: events_tx,
            intents: intents_rx,
            dirty: vec![false; n].into_boxed_slice(),
            dirty_count: 0,
            cursor: 0,
            told_live: vec![false; n].into_boxed_slice(),
            owes_stale: vec![false; n].into_boxed_slice(),
            pending_status: None,
            answers: AnswerQueue::new(),
            paper: PaperTrader::with_symbols(self.symbols.len()),
            counters: LaneCounters::default(),
            tap: false,
        });
        self.logs.add(name, logs_rx);
        Ok(LaneEnds {
            index,
            events: events_rx,
            intents: intents_tx,
            logs: logs_tx,
        })
    }

    /// The log rings of every strategy, for the monitor thread (once; later calls get `None`).
    pub fn take_log_drain(&mut self) -> Option<LogDrain> {
        if self.log_drain_taken {
            return None;
        }
        self.log_drain_taken = true;
        Some(core::mem::replace(
            &mut self.logs,
            LogDrain::new(Vec::new()),
        ))
    }

    /// The symbol table.
    pub fn symbols(&self) -> &[SymbolInfo] {
        &self.symbols
    }

    /// Number of strategies.
    pub fn strategies(&self) -> usize {
        self.lanes.len()
    }

    /// The read TSC (quanta raw) of the frame being processed; stamps `recv_tsc`.
    #[inline]
    pub fn set_frame_tsc(&mut self, tsc: u64) {
        self.frame_tsc = tsc;
    }

    /// Quanta raw ticks now (the clock the bus stamps with).
    #[inline]
    pub fn now_tsc(&self) -> u64 {
        self.clock.raw()
    }

    /// Stamps for events now, at the market clock.
    #[inline]
    fn stamps(&self) -> Stamps {
        Stamps {
            recv: self.frame_tsc,
            publish: self.clock.raw(),
            time_ns: self.market_ns,
        }
    }

    /// Moves the market clock to `time_ns` if it is later.
    #[inline]
    fn observe(&mut self, time_ns: u64) {
        if time_ns > self.market_ns {
            self.market_ns = time_ns;
        }
    }

    /// Moves the market clock forward to `time_ns` (ns since the Unix epoch) if it is later: the
    /// deterministic replay's paper venue answering an order at its arrival time, so the update
    /// carries that time. Never moves it back.
    pub fn advance_market_clock(&mut self, time_ns: u64) {
        self.observe(time_ns);
    }

    /// Order updates strategy `index`'s answer queue can still take (0 for no such strategy):
    /// what [`Self::publish_order_update`] accepts without losing one.
    pub fn answer_room(&self, index: usize) -> usize {
        self.lanes.get(index).map_or(0, |l| l.answers.free())
    }

    /// The latest exchange time seen (ns since the Unix epoch; 0 before any).
    pub fn market_ns(&self) -> u64 {
        self.market_ns
    }

    /// True while strategy `index` has a dirty symbol.
    pub fn is_lagging(&self, index: usize) -> bool {
        self.lanes.get(index).is_some_and(Lane::lagging)
    }

    /// True when some strategy has catch-up, a conflated status or order updates waiting.
    pub fn needs_service(&self) -> bool {
        self.attention
    }

    /// Engine-side counters of strategy `index`.
    pub fn lane_counters(&self, index: usize) -> Option<LaneCounters> {
        self.lanes.get(index).map(|l| l.counters)
    }

    /// Paper-trading counters of strategy `index`.
    pub fn paper_counters(&self, index: usize) -> Option<PaperCounters> {
        self.lanes.get(index).map(|l| l.paper.counters())
    }

    /// Strategy `index`'s paper trader (positions, open orders).
    pub fn paper_trader(&self, index: usize) -> Option<&PaperTrader> {
        self.lanes.get(index).map(|l| &l.paper)
    }

    pub fn counters(&self) -> BusCounters {
        self.counters
    }

    /// Order updates not copied to a tap because its order ring was full.
    pub fn order_tap_drops(&self) -> u64 {
        self.order_taps.dropped
    }

    /// Per-strategy figures for the run summary (end of run; allocates).
    pub fn strategy_stats(&self) -> Vec<StrategyStats> {
        self.lanes
            .iter()
            .filter(|l| !l.tap)
            .map(|l| StrategyStats {
                name: l.name.clone(),
                core: l.core,
                lane: l.counters,
                paper: l.paper.counters(),
            })
            .collect()
    }

    /// Publishes a connection status change (the runtime calls this on connect / disconnect;
    /// the feed's `status` messages arrive through [`FeedSink::status`]).
    pub fn publish_connection(&mut self, status: ConnectionStatus) {
        if status.link == Link::Public && status.system != SystemStatus::Unknown {
            self.system = status.system;
        }
        let stamps = self.stamps();
        let system = self.system;
        for lane in &mut self.lanes {
            lane.paper.set_system(system);
            // A status is not a delta: it goes out even while lagging when there is room;
            // otherwise the latest one waits for `service`.
            if lane.pending_status.is_none() && lane.events.reserve(1) {
                lane.push(WireEvent::new(
                    stamps.recv,
                    stamps.publish,
                    WireKind::Connection(status),
                ));
            } else {
                lane.counters.events_dropped += 1;
                lane.pending_status = Some(status);
                self.attention = true;
            }
        }
    }

    /// Catch-up work, called by the runtime every loop iteration: hands dirty symbols their
    /// snapshots (round robin, as long as whole sequences fit), delivers conflated statuses and
    /// waiting order updates. A single branch when nothing waits.
    #[inline]
    pub fn service<B: BookSource + ?Sized>(&mut self, books: &B) {
        if !self.attention {
            return;
        }
        self.service_lanes(books);
    }

    #[cold]
    fn service_lanes<B: BookSource + ?Sized>(&mut self, books: &B) {
        let books = &self.precision.visible(books);
        let stamps = self.stamps();
        let n = self.symbols.len();
        let mut attention = false;
        for (index, lane) in self.lanes.iter_mut().enumerate() {
            if let Some(status) = lane.pending_status {
                if lane.events.reserve(1) {
                    lane.push(WireEvent::new(
                        stamps.recv,
                        stamps.publish,
                        WireKind::Connection(status),
                    ));
                    lane.counters.catchup_events += 1;
                    lane.pending_status = None;
                }
            }
            let mut scanned = 0;
            while lane.dirty_count > 0 && scanned < n {
                let s = lane.cursor % n;
                if lane.dirty[s] {
                    let current = books.current_book(s);
                    let (book, live) = match current {
                        Some((book, live)) => (Some(book), live),
                        None => (None, false),
                    };
                    let symbol = SymbolId(s as u16);
                    let at = stamps.at(self.book_time_ns[s]);
                    if !lane.hand_off(symbol, book, live, self.stale_reasons[s], at) {
                        break; // retried first next time
                    }
                }
                lane.cursor = (s + 1) % n;
                scanned += 1;
            }
            lane.flush_answers(index, stamps, &mut self.order_taps);
            attention |= lane.needs_service();
        }
        self.attention = attention;
    }

    /// Sends the strategies' orders to a venue's order path (the runtime's order link takes
    /// them with `Publisher::take_orders`) instead of the paper model. Start-up only.
    pub fn set_orders_live(&mut self, live: bool) {
        self.orders_live = live;
    }

    /// Whether orders go to a venue ([`Self::set_orders_live`]).
    pub fn orders_live(&self) -> bool {
        self.orders_live
    }

    /// Takes order requests from every strategy's intent ring and answers them from the paper
    /// model against `books`; matches resting orders against book states they have not seen.
    /// Called by the runtime every loop iteration. Never blocks: a request stays in its ring
    /// while the lane's answer queue lacks room for its answers.
    #[inline]
    pub fn drain_intents<B: BookSource + ?Sized>(&mut self, books: &B) {
        self.drain_intents_with(books, |_, _| IntentRoute::Paper);
    }

    /// [`Self::drain_intents`], showing every request taken to `route` first (with the
    /// strategy's index), which says whether the paper model answers a new order or cancel or
    /// someone else does ([`IntentRoute::Taken`]: an order gateway, or a test scripting the
    /// venue's answers with [`Self::publish_order_update`]). A `Resnapshot` request is always
    /// the bus's own, whatever `route` answers.
    pub fn drain_intents_with<B, R>(&mut self, books: &B, mut route: R)
    where
        B: BookSource + ?Sized,
        R: FnMut(usize, &OrderMessage) -> IntentRoute,
    {
        let books = &self.precision.visible(books);
        let stamps = self.stamps();
        let versions = &self.versions;
        let mut attention = false;
        for (index, lane) in self.lanes.iter_mut().enumerate() {
            let mut taken = 0;
            while taken < MAX_INTENTS_PER_DRAIN && lane.answers.free() >= MAX_UPDATES_PER_REQUEST {
                let Some(message) = lane.intents.try_pop() else {
                    break;
                };
                taken += 1;
                let routed = route(index, &message);
                match message.request {
                    OrderRequest::Resnapshot { symbol } => {
                        let s = symbol.index();
                        lane.request_resnapshot(s);
                        // Right away when it fits, so the lane does not lag for a poll.
                        if let Some(&reason) = self.stale_reasons.get(s) {
                            let (book, live) = books
                                .current_book(s)
                                .map_or((None, false), |(b, live)| (Some(b), live));
                            let at = stamps.at(self.book_time_ns[s]);
                            lane.hand_off_or_defer(symbol, book, live, reason, at);
                        }
                    }
                    request if routed == IntentRoute::Paper => {
                        lane.answer(&request, books, versions)
                    }
                    _ => {}
                }
            }
            let Lane {
                answers,
                paper,
                counters,
                ..
            } = lane;
            // One update at most per resting order; wait for room rather than lose one.
            if answers.free() >= paper.open_orders() {
                paper.on_book_states(books, versions, &mut |u| {
                    if !answers.push(u) {
                        counters.order_updates_lost += 1;
                    }
                });
            }
            lane.flush_answers(index, stamps, &mut self.order_taps);
            attention |= lane.needs_service();
        }
        self.attention |= attention;
    }

    /// Hands strategy `index` an order update that did not come from the paper model (an
    /// execution report from a venue): it queues behind the lane's waiting answers and goes out
    /// as soon as the ring has room. Returns `false`, counting it lost, when the answer queue is
    /// full (or `index` names no strategy).
    pub fn publish_order_update(&mut self, index: usize, update: OrderUpdate) -> bool {
        let stamps = self.stamps();
        let Some(lane) = self.lanes.get_mut(index) else {
            return false;
        };
        let queued = lane.answers.push(update);
        if !queued {
            lane.counters.order_updates_lost += 1;
        }
        lane.flush_answers(index, stamps, &mut self.order_taps);
        self.attention |= lane.needs_service();
        queued
    }

    /// [`Self::symbol_index`] of a symbol strategies may see (not frozen by a precision change).
    #[inline]
    fn visible_symbol(&mut self, symbol: usize) -> Option<SymbolId> {
        if self.precision.is_frozen(symbol) {
            return None;
        }
        self.symbol_index(symbol)
    }

    fn symbol_index(&mut self, symbol: usize) -> Option<SymbolId> {
        if symbol < self.symbols.len() && symbol <= u16::MAX as usize {
            Some(SymbolId(symbol as u16))
        } else {
            self.counters.unknown_symbol += 1;
            None
        }
    }

    fn publish_update(&mut self, symbol: SymbolId, book: &OrderBook, levels: &[FixedLevel]) {
        let count = levels.len();
        let stamps = self.stamps().at(self.book_time_ns[symbol.index()]);
        let stale = self.stale_reasons[symbol.index()];
        let need = update_events(count);
        if count > u16::MAX as usize || need > self.scratch.len() {
            // Cannot be announced in a BookChange (or packed without growing the scratch
            // buffer): give everyone the resulting book instead.
            self.counters.oversized_messages += 1;
            for lane in &mut self.lanes {
                lane.counters.events_dropped += 1;
                lane.mark_dirty(symbol.index());
                lane.hand_off(symbol, Some(book), true, stale, stamps);
            }
            self.attention = true;
            return;
        }
        // Pack once: the events are the same for every lane.
        let run = pack_update(&mut self.scratch, symbol, book, levels, stamps);
        debug_assert_eq!(run.len(), need);
        for lane in &mut self.lanes {
            if !lane.lagging() && lane.events.reserve(need) {
                lane.push_run(run);
            } else {
                lane.counters.events_dropped += need as u64;
                lane.mark_dirty(symbol.index());
                // The book at hand is the current one: hand it over right away if it fits.
                lane.hand_off(symbol, Some(book), true, stale, stamps);
                self.attention |= lane.lagging();
            }
        }
    }

    fn publish_snapshot(&mut self, symbol: SymbolId, book: &OrderBook) {
        let i = symbol.index();
        let reason = if self.had_snapshot[i] {
            SnapshotReason::Resync
        } else {
            SnapshotReason::Initial
        };
        self.had_snapshot[i] = true;
        let went_live = core::mem::take(&mut self.going_live[i]);
        let stamps = self.stamps().at(self.book_time_ns[i]);
        let stale = self.stale_reasons[i];
        for lane in &mut self.lanes {
            let need = snapshot_events(book, lane.told_live[i]);
            if !lane.lagging() && lane.events.reserve(need) {
                lane.push_snapshot(symbol, book, reason, stamps);
            } else {
                // What the message amounts to in the engine's flow, whatever this lane was told.
                lane.counters.events_dropped += snapshot_events(book, !went_live) as u64;
                lane.mark_dirty(i);
                lane.hand_off(symbol, Some(book), true, stale, stamps);
                self.attention |= lane.lagging();
            }
        }
    }
}

mod feed_sink;
mod pack;
mod tap;
pub mod telemetry;
#[cfg(test)]
mod tests;
mod verified;

pub use tap::TapEnds;
