//! [`Tape`]: a publisher wrapper for the deterministic replay that notes, per frame, what the
//! paper venue matches resting orders against — the public trades (taker side, price, quantity at
//! the strategies' scales), which books have a new verified state, and the venue's last trading
//! status — and hands every callback on to the wrapped publisher unchanged.
//!
//! Owns the notes of the frames since the last [`Tape::take`]. Invariants: the wrapped publisher
//! sees exactly what it would see unwrapped, in the same order; notes are kept in reused buffers
//! (the replay tool's, not the engine core's: it may grow them).

use kspin_api::{OrderMessage, OrderUpdate, Price, Qty, Side, SymbolInfo, SystemStatus};
use kspin_core::book::{ApplyReport, FixedLevel, OrderBook};
use kspin_core::feed::{Feed, FeedSink, StaleReason};
use kspin_core::kraken::{self, AckMsg, BookData, StatusMsg, UpdateKind};
use kspin_runtime::{FrameStamps, Publisher};

/// One public trade as the venue matches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TapeTrade {
    pub symbol: usize,
    /// The aggressor's side: a `Sell` trade hit resting bids, a `Buy` trade lifted asks.
    pub taker: Side,
    pub price: Price,
    pub qty: Qty,
}

/// See the module docs.
pub struct Tape<P> {
    inner: P,
    /// `(price_scale, qty_scale)` strategies use, per symbol.
    scales: Vec<(u8, u8)>,
    trades: Vec<TapeTrade>,
    /// Symbols with a new book state (or gone stale) since the last take, in first-seen order.
    books: Vec<usize>,
    book_seen: Vec<bool>,
    system: Option<SystemStatus>,
}

/// What the frames since the last [`Tape::take`] did, for the venue.
#[derive(Debug, Default)]
pub struct TapeNotes {
    pub trades: Vec<TapeTrade>,
    pub books: Vec<usize>,
    /// The last trading status announced, if any.
    pub system: Option<SystemStatus>,
}

impl<P> Tape<P> {
    /// Wraps `inner` for `symbols` (the strategies' table).
    pub fn new(inner: P, symbols: &[SymbolInfo]) -> Tape<P> {
        Tape {
            inner,
            scales: symbols
                .iter()
                .map(|s| (s.price_scale, s.qty_scale))
                .collect(),
            trades: Vec::new(),
            books: Vec::new(),
            book_seen: vec![false; symbols.len()],
            system: None,
        }
    }

    pub fn inner(&self) -> &P {
        &self.inner
    }

    pub fn inner_mut(&mut self) -> &mut P {
        &mut self.inner
    }

    /// Moves the notes into `notes` (whose buffers are reused) and starts afresh.
    pub fn take(&mut self, notes: &mut TapeNotes) {
        notes.trades.clear();
        notes.books.clear();
        core::mem::swap(&mut notes.trades, &mut self.trades);
        core::mem::swap(&mut notes.books, &mut self.books);
        notes.system = self.system.take();
        for &s in &notes.books {
            if let Some(seen) = self.book_seen.get_mut(s) {
                *seen = false;
            }
        }
    }

    fn note_book(&mut self, symbol: usize) {
        if let Some(seen) = self.book_seen.get_mut(symbol) {
            if !*seen {
                *seen = true;
                self.books.push(symbol);
            }
        }
    }
}

impl<P: FeedSink> FeedSink for Tape<P> {
    fn book_updated(
        &mut self,
        symbol: usize,
        book: &OrderBook,
        data: &BookData<'_>,
        levels: &[FixedLevel],
        kind: UpdateKind,
        report: &ApplyReport,
    ) {
        self.inner
            .book_updated(symbol, book, data, levels, kind, report);
        self.note_book(symbol);
    }
    fn checksum_mismatch(&mut self, symbol: usize, computed: u32, expected: u32) {
        self.inner.checksum_mismatch(symbol, computed, expected);
    }
    fn book_stale(&mut self, symbol: usize, reason: StaleReason) {
        self.inner.book_stale(symbol, reason);
        self.note_book(symbol);
    }
    fn book_live(&mut self, symbol: usize, book: &OrderBook) {
        self.inner.book_live(symbol, book);
    }
    fn send_unsubscribe(&mut self, symbol: usize) {
        self.inner.send_unsubscribe(symbol);
    }
    fn send_subscribe(&mut self, symbol: usize) {
        self.inner.send_subscribe(symbol);
    }
    fn trade(&mut self, symbol: usize, trade: &kraken::Trade<'_>) {
        self.inner.trade(symbol, trade);
        let Some(&(ps, qs)) = self.scales.get(symbol) else {
            return;
        };
        if let (Ok(price), Ok(qty)) = (
            Price::from_decimal(trade.price, ps),
            Qty::from_decimal(trade.qty, qs),
        ) {
            let taker = match trade.side {
                kraken::Side::Buy => Side::Buy,
                kraken::Side::Sell => Side::Sell,
            };
            self.trades.push(TapeTrade {
                symbol,
                taker,
                price,
                qty,
            });
        }
    }
    fn ticker(&mut self, symbol: usize, ticker: &kraken::Ticker<'_>) {
        self.inner.ticker(symbol, ticker);
    }
    fn status(&mut self, status: &StatusMsg<'_>) {
        self.inner.status(status);
        self.system = Some(SystemStatus::from(status.system));
    }
    fn heartbeat(&mut self) {
        self.inner.heartbeat();
    }
    fn pong(&mut self, req_id: Option<u64>) {
        self.inner.pong(req_id);
    }
    fn error_ack(&mut self, ack: &AckMsg<'_>) {
        self.inner.error_ack(ack);
    }
    fn precision_changed(&mut self, symbol: usize, price_scale: u8, qty_scale: u8) {
        self.inner.precision_changed(symbol, price_scale, qty_scale);
        self.note_book(symbol);
    }
}

impl<P: Publisher> Publisher for Tape<P> {
    fn on_frame(&mut self, recv_tsc: u64, payload: &[u8]) {
        self.inner.on_frame(recv_tsc, payload);
    }
    fn frame_done(&mut self, stamps: &FrameStamps) {
        self.inner.frame_done(stamps);
    }
    fn service(&mut self, feed: &Feed) {
        self.inner.service(feed);
    }
    fn link(&mut self, up: bool) {
        self.inner.link(up);
    }
    fn take_orders(&mut self, feed: &Feed, take: &mut dyn FnMut(usize, &OrderMessage)) {
        self.inner.take_orders(feed, take);
    }
    fn order_update(&mut self, strategy: usize, update: OrderUpdate) -> bool {
        self.inner.order_update(strategy, update)
    }
}
