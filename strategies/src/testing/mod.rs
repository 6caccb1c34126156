//! A scripted strategy host for tests: [`TestHost`] owns an engine-side reference book and a
//! replica per symbol, turns scripted market data into the exact wire events the engine bus
//! publishes, runs them through the same [`WireAssembler`] the engine host uses, implements
//! [`Context`], and records every order request, log record and delivered event.
//!
//! So a strategy tested here sees precisely what it will see in production, except that the
//! clock is scripted: the harness TSC is a nanosecond counter that only moves with
//! [`TestHost::advance`] / [`TestHost::set_now`]. Test-only: it allocates freely and panics on
//! misuse (an unknown symbol in a script).

mod ref_book;

pub use ref_book::RefBook;

use core::time::Duration;
use kspin_api::replica::{Assembled, ReplicaBook, WireAssembler};
use kspin_api::wire::{LevelPacker, SnapshotReason, SnapshotStart, WireEvent, WireKind};
use kspin_api::{
    BookChange, BookSide, BookStale, BookView, ClientOrderId, ConnectionStatus, Context, Event,
    EventKind, Link, LinkState, LogRecord, OrderIntent, OrderMessage, OrderRequest, OrderUpdate,
    Price, Qty, Side, StaleReason, Strategy, SubmitError, SymbolId, SymbolInfo, SystemStatus,
    Ticker, TimerError, TimerFired, TimerId, TimerTable, Trade, TradeOrderType,
};

/// The scripted host; see the module docs.
pub struct TestHost {
    symbols: Vec<SymbolInfo>,
    /// What the engine's books hold (source of `BookDone`'s top of book).
    engine_books: Vec<RefBook>,
    engine_live: Vec<bool>,
    had_snapshot: Vec<bool>,
    /// The strategy's replicas, fed only through wire events.
    replicas: Vec<RefBook>,
    assembler: WireAssembler,
    now: u64,
    /// `recv_tsc` of the event being handled.
    trigger: u64,
    next_client_id: u64,
    next_trade_id: u64,
    ring_free: usize,
    timers: TimerTable,
    orders: Vec<OrderMessage>,
    logs: Vec<LogRecord>,
    events: Vec<Event>,
    wire: Vec<WireEvent>,
}

impl TestHost {
    /// A host for `symbols` (`symbols[i].id` must be `SymbolId(i)`), TSC 0, unlimited intent ring.
    pub fn new(symbols: Vec<SymbolInfo>) -> TestHost {
        for (i, s) in symbols.iter().enumerate() {
            assert_eq!(s.id.index(), i, "symbol table out of order");
        }
        // Built twice rather than cloned: a clone would not keep the preallocated capacity.
        let books = || symbols.iter().map(RefBook::new).collect::<Vec<_>>();
        TestHost {
            engine_live: vec![false; symbols.len()],
            had_snapshot: vec![false; symbols.len()],
            replicas: books(),
            engine_books: books(),
            assembler: WireAssembler::new(symbols.len()),
            symbols,
            now: 0,
            trigger: 0,
            next_client_id: 1,
            next_trade_id: 1,
            ring_free: usize::MAX,
            timers: TimerTable::new(),
            orders: Vec::new(),
            logs: Vec::new(),
            events: Vec::new(),
            wire: Vec::new(),
        }
    }

    /// Preallocates room for `events` more recorded events, wire events, logs and orders, so
    /// that a run of that length allocates nothing in the host (for allocation-counting tests).
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

    /// Calls `on_start`.
    pub fn start(&mut self, strategy: &mut dyn Strategy) {
        self.trigger = 0;
        strategy.on_start(self);
    }

    /// Calls `on_stop`.
    pub fn stop(&mut self, strategy: &mut dyn Strategy) {
        self.trigger = 0;
        strategy.on_stop(self);
    }

    /// Feeds one wire event (stamped with the current TSC) through the assembler and delivers
    /// what it yields.
    pub fn feed(&mut self, strategy: &mut dyn Strategy, kind: WireKind) -> Assembled {
        let wire = WireEvent::new(self.now, self.now, kind);
        self.wire.push(wire);
        let out = self.assembler.apply(&mut self.replicas, &wire);
        match out {
            Assembled::Deliver(event) | Assembled::Diverged { event, .. } => {
                self.deliver(strategy, event)
            }
            Assembled::Absorbed | Assembled::Rejected(_) => {}
        }
        out
    }

    fn deliver(&mut self, strategy: &mut dyn Strategy, event: Event) {
        self.trigger = event.recv_tsc;
        self.events.push(event);
        strategy.on_event(&event, self);
    }

    fn index(&self, symbol: SymbolId) -> usize {
        assert!(symbol.index() < self.symbols.len(), "unknown {symbol:?}");
        symbol.index()
    }

    /// Publishes one book message the way the engine bus does: optional snapshot marker, level
    /// batches, `BookDone` with the engine book's top.
    fn book_message(
        &mut self,
        strategy: &mut dyn Strategy,
        symbol: SymbolId,
        snapshot: Option<SnapshotReason>,
        bids: &[(i64, i64)],
        asks: &[(i64, i64)],
    ) {
        let i = self.index(symbol);
        if let Some(reason) = snapshot {
            self.engine_books[i].clear();
            self.feed(
                strategy,
                WireKind::BookSnapshot(SnapshotStart { symbol, reason }),
            );
        }
        let mut packer = LevelPacker::new(symbol);
        let levels = bids
            .iter()
            .map(|&l| (BookSide::Bid, l))
            .chain(asks.iter().map(|&l| (BookSide::Ask, l)));
        for (side, (p, q)) in levels {
            self.engine_books[i].apply_level(side, Price(p), Qty(q));
            if let Some(batch) = packer.push(side, Price(p), Qty(q)) {
                self.feed(strategy, WireKind::BookLevels(batch));
            }
        }
        if let Some(batch) = packer.flush() {
            self.feed(strategy, WireKind::BookLevels(batch));
        }
        let book = &mut self.engine_books[i];
        book.end_message();
        let (bid_price, bid_qty) = book.best_bid().unwrap_or((Price::ZERO, Qty::ZERO));
        let (ask_price, ask_qty) = book.best_ask().unwrap_or((Price::ZERO, Qty::ZERO));
        let done = BookChange {
            symbol,
            levels_changed: packer.levels(),
            snapshot: snapshot.is_some(),
            bid_price,
            bid_qty,
            ask_price,
            ask_qty,
        };
        self.feed(strategy, WireKind::BookDone(done));
    }

    /// A full book (levels as `(price, qty)` mantissas, any order); followed by `BookLive` if the
    /// engine book was not live, as the engine does.
    pub fn book_snapshot(
        &mut self,
        strategy: &mut dyn Strategy,
        symbol: SymbolId,
        bids: &[(i64, i64)],
        asks: &[(i64, i64)],
    ) {
        let i = self.index(symbol);
        let reason = if !self.had_snapshot[i] {
            SnapshotReason::Initial
        } else if self.engine_live[i] {
            SnapshotReason::CatchUp
        } else {
            SnapshotReason::Resync
        };
        self.had_snapshot[i] = true;
        self.book_message(strategy, symbol, Some(reason), bids, asks);
        if !self.engine_live[i] {
            self.engine_live[i] = true;
            self.feed(strategy, WireKind::BookLive(symbol));
        }
    }

    /// A book update (qty 0 removes a level), bids applied before asks.
    pub fn book_update(
        &mut self,
        strategy: &mut dyn Strategy,
        symbol: SymbolId,
        bids: &[(i64, i64)],
        asks: &[(i64, i64)],
    ) {
        self.book_message(strategy, symbol, None, bids, asks);
    }

    /// The engine marks the book stale.
    pub fn book_stale(
        &mut self,
        strategy: &mut dyn Strategy,
        symbol: SymbolId,
        reason: StaleReason,
    ) {
        let i = self.index(symbol);
        self.engine_live[i] = false;
        self.feed(strategy, WireKind::BookStale(BookStale { symbol, reason }));
    }

    /// A public trade at exchange time `time_ns` (trade ids are assigned 1, 2, ...).
    pub fn trade(
        &mut self,
        strategy: &mut dyn Strategy,
        symbol: SymbolId,
        side: Side,
        price: i64,
        qty: i64,
        time_ns: u64,
    ) {
        let trade = Trade {
            symbol,
            side,
            ord_type: TradeOrderType::Market,
            price: Price(price),
            qty: Qty(qty),
            trade_id: self.next_trade_id,
            time_ns,
        };
        self.next_trade_id += 1;
        self.feed(strategy, WireKind::Trade(trade));
    }

    pub fn ticker(&mut self, strategy: &mut dyn Strategy, ticker: Ticker) {
        self.feed(strategy, WireKind::Ticker(ticker));
    }

    /// A status change on the public link.
    pub fn connection(
        &mut self,
        strategy: &mut dyn Strategy,
        state: LinkState,
        system: SystemStatus,
    ) {
        let status = ConnectionStatus {
            link: Link::Public,
            state,
            system,
        };
        self.feed(strategy, WireKind::Connection(status));
    }

    /// An order update, as the engine's paper model or Kraken would send it.
    pub fn order_update(&mut self, strategy: &mut dyn Strategy, update: OrderUpdate) {
        self.feed(strategy, WireKind::Order(update));
    }

    /// Sets the TSC (ns) without firing timers.
    pub fn set_now(&mut self, tsc: u64) {
        self.now = tsc;
    }

    /// Moves the clock forward by `by`, firing due timers in due order (ties by id), each
    /// delivered with `recv_tsc` = its due TSC.
    pub fn advance(&mut self, strategy: &mut dyn Strategy, by: Duration) {
        let end = self
            .now
            .saturating_add(by.as_nanos().min(u64::MAX as u128) as u64);
        while let Some((id, due)) = self.timers.pop_due(end) {
            self.now = self.now.max(due);
            let event = Event::new(due, 0, EventKind::Timer(TimerFired { id, due_tsc: due }));
            self.deliver(strategy, event);
        }
        self.now = end;
    }

    /// Makes the next `free` submits/cancels succeed and later ones fail with `RingFull`
    /// (`usize::MAX` = unlimited).
    pub fn set_intent_ring_free(&mut self, free: usize) {
        self.ring_free = free;
    }

    /// Every order request, in order.
    pub fn orders(&self) -> &[OrderMessage] {
        &self.orders
    }

    /// The new-order intents with their ids.
    pub fn intents(&self) -> Vec<(ClientOrderId, OrderIntent)> {
        self.orders
            .iter()
            .filter_map(|m| match m.request {
                OrderRequest::New { client_id, intent } => Some((client_id, intent)),
                OrderRequest::Cancel { .. } | OrderRequest::Resnapshot { .. } => None,
            })
            .collect()
    }

    pub fn logs(&self) -> &[LogRecord] {
        &self.logs
    }

    /// The log records formatted as the engine's drain does.
    pub fn log_lines(&self) -> Vec<String> {
        self.logs
            .iter()
            .map(|r| r.display(&self.symbols).to_string())
            .collect()
    }

    /// Removes and returns the formatted log lines.
    pub fn take_log_lines(&mut self) -> Vec<String> {
        let lines = self.log_lines();
        self.logs.clear();
        lines
    }

    /// Events delivered to the strategy so far.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// Wire events fed so far.
    pub fn wire(&self) -> &[WireEvent] {
        &self.wire
    }

    /// The strategy's replica of `symbol`.
    pub fn replica(&self, symbol: SymbolId) -> &RefBook {
        &self.replicas[self.index(symbol)]
    }

    /// Mutable replica access, to simulate a host bug (replica divergence) in tests.
    pub fn replica_mut(&mut self, symbol: SymbolId) -> &mut RefBook {
        let i = self.index(symbol);
        &mut self.replicas[i]
    }

    /// Assembler faults so far.
    pub fn faults(&self) -> u64 {
        self.assembler.faults()
    }

    fn take_ring_slot(&mut self) -> Result<(), SubmitError> {
        if self.ring_free == 0 {
            return Err(SubmitError::RingFull);
        }
        if self.ring_free != usize::MAX {
            self.ring_free -= 1;
        }
        Ok(())
    }

    fn push_order(&mut self, request: OrderRequest) {
        self.orders.push(OrderMessage {
            trigger_tsc: self.trigger,
            submit_tsc: self.now,
            request,
        });
    }
}

impl Context for TestHost {
    fn symbols(&self) -> &[SymbolInfo] {
        &self.symbols
    }

    fn book(&self, symbol: SymbolId) -> Option<&dyn BookView> {
        self.replicas
            .get(symbol.index())
            .map(|b| b as &dyn BookView)
    }

    fn submit(&mut self, intent: OrderIntent) -> Result<ClientOrderId, SubmitError> {
        intent.validate(self.symbols.len())?;
        self.take_ring_slot()?;
        let client_id = ClientOrderId(self.next_client_id);
        self.next_client_id += 1;
        self.push_order(OrderRequest::New { client_id, intent });
        Ok(client_id)
    }

    fn cancel(&mut self, symbol: SymbolId, client_id: ClientOrderId) -> Result<(), SubmitError> {
        if symbol.index() >= self.symbols.len() {
            return Err(SubmitError::UnknownSymbol);
        }
        self.take_ring_slot()?;
        self.push_order(OrderRequest::Cancel { client_id, symbol });
        Ok(())
    }

    fn log(&mut self, mut record: LogRecord) {
        record.tsc = self.trigger;
        self.logs.push(record);
    }

    fn now_tsc(&self) -> u64 {
        self.now
    }

    fn set_timer(&mut self, id: TimerId, after: Duration) -> Result<(), TimerError> {
        let due = self
            .now
            .saturating_add(after.as_nanos().min(u64::MAX as u128) as u64);
        self.timers.set(id, due)
    }

    fn cancel_timer(&mut self, id: TimerId) {
        self.timers.cancel(id);
    }
}
