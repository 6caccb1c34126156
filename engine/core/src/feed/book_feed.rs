//! The feed: turns decoded Kraken messages into verified book states and outgoing notifications.
//!
//! Owns the symbol table, one [`OrderBook`] and [`SubscriptionState`] per symbol, the mismatch
//! policy and the counters. For every `book` message it applies the levels, truncates, computes
//! the checksum and only then tells the [`FeedSink`]: a book is handed on only in a state that
//! passed its checksum (DESIGN.md invariant 4). A mismatch affects that one symbol; the others keep
//! streaming. In live mode it asks the sink to resync (unsubscribe, then subscribe once the
//! unsubscribe is acknowledged); updates in between are dropped.
//!
//! The symbol table is fixed at start-up ([`Feed::add_symbol`]): live, from the configuration; in
//! a replay, from the plan learnt before the first frame. The per-message path has no
//! replay-only branch. Allocation: books are created when a symbol is added; processing any
//! message allocates nothing.

pub use super::sink::{FeedSink, NullSink, StaleReason};
use super::state::{
    FeedCounters, FeedMode, MismatchAction, MismatchPolicy, RejectReason, SubscriptionState,
    SymbolCounters,
};
use super::symbols::{PrecisionSource, SymbolTable};
use crate::book::{ApplyMode, LevelBuf, OrderBook};
use crate::kraken::{AckMsg, BookData, BookMsg, DecoderLimits, Message, UpdateKind};

/// Feed configuration.
#[derive(Debug, Clone, Copy, Default)]
pub struct FeedOptions {
    pub mode: FeedMode,
    pub policy: MismatchPolicy,
}

/// One symbol's book and its state.
#[derive(Debug, Clone)]
pub struct SymbolBook {
    pub book: OrderBook,
    pub state: SubscriptionState,
    pub counters: SymbolCounters,
    /// The first mismatch: (frame number, computed, expected).
    pub first_mismatch: Option<(u64, u32, u32)>,
    /// A snapshot of the current subscription was dropped because the precision was unknown:
    /// learning the precision must then resubscribe (no other snapshot would come).
    pub missed_snapshot: bool,
}

/// The feed; see the module docs.
pub struct Feed {
    options: FeedOptions,
    symbols: SymbolTable,
    books: Vec<SymbolBook>,
    /// The current message's levels, converted once: applied to the book and handed to the
    /// sink as they were applied.
    levels: LevelBuf,
    counters: FeedCounters,
}

impl Feed {
    /// A feed whose messages may carry as many levels as the default decoder accepts per frame.
    pub fn new(options: FeedOptions) -> Feed {
        Feed::with_level_capacity(options, DecoderLimits::default().max_levels)
    }

    /// A feed for messages of up to `max_levels` levels (bids and asks together): the decoder's
    /// own per-frame limit, so nothing it decodes is refused here. Allocates: start-up only.
    pub fn with_level_capacity(options: FeedOptions, max_levels: usize) -> Feed {
        Feed {
            options,
            symbols: SymbolTable::new(),
            books: Vec::new(),
            levels: LevelBuf::with_capacity(max_levels),
            counters: FeedCounters::default(),
        }
    }

    /// Adds a symbol with its depth and, when known, its precision (start-up). Returns its index
    /// (the same one if the symbol was added before), or `None` when the table is full.
    pub fn add_symbol(
        &mut self,
        name: &str,
        depth: usize,
        precision: Option<(u8, u8)>,
    ) -> Option<usize> {
        let index = self.symbols.find_or_add(name, depth).ok()?;
        if index == self.books.len() {
            let (p, q, source) = match precision {
                Some((p, q)) => (p, q, PrecisionSource::Configured),
                None => (0, 0, PrecisionSource::Unknown),
            };
            if let Some(entry) = self.symbols.get_mut(index) {
                entry.price_scale = p;
                entry.qty_scale = q;
                entry.precision = source;
            }
            self.books.push(SymbolBook {
                book: OrderBook::new(depth, p, q),
                state: SubscriptionState::Inactive,
                counters: SymbolCounters::default(),
                first_mismatch: None,
                missed_snapshot: false,
            });
        }
        Some(index)
    }

    #[inline]
    pub fn symbols(&self) -> &SymbolTable {
        &self.symbols
    }

    #[inline]
    pub fn counters(&self) -> &FeedCounters {
        &self.counters
    }

    #[inline]
    pub fn book(&self, symbol: usize) -> Option<&SymbolBook> {
        self.books.get(symbol)
    }

    pub fn books(&self) -> impl Iterator<Item = (&str, &SymbolBook)> {
        self.symbols.iter().map(|e| &*e.name).zip(self.books.iter())
    }

    /// Live mode: the runtime sent the subscribe for `symbol`.
    pub fn subscribe_sent(&mut self, symbol: usize) {
        if let Some(b) = self.books.get_mut(symbol) {
            if b.state != SubscriptionState::Halted {
                b.state = SubscriptionState::AwaitingSnapshot;
            }
            b.missed_snapshot = false;
        }
    }

    /// The connection dropped: every book is stale until its next snapshot.
    pub fn disconnected(&mut self, sink: &mut impl FeedSink) {
        for (i, b) in self.books.iter_mut().enumerate() {
            let was_live = b.state.is_live();
            if b.state != SubscriptionState::Halted {
                b.state = SubscriptionState::Inactive;
            }
            if was_live {
                sink.book_stale(i, StaleReason::Disconnected);
            }
        }
    }

    /// Processes one decoded message. `frame_no` identifies the frame in reports (line number
    /// in a replay).
    pub fn on_message(&mut self, frame_no: u64, msg: &Message<'_>, sink: &mut impl FeedSink) {
        self.counters.frames += 1;
        match msg {
            Message::Book(book) => self.on_book(frame_no, book, sink),
            Message::Trade(trades) => {
                for t in trades.iter() {
                    self.counters.trades += 1;
                    match self.symbols.find(t.symbol) {
                        Some(i) => {
                            if let Some(b) = self.books.get_mut(i) {
                                b.counters.trades += 1;
                            }
                            sink.trade(i, &t);
                        }
                        None => self.counters.unknown_symbol += 1,
                    }
                }
            }
            Message::Ticker(tickers) => {
                for t in tickers.iter() {
                    self.counters.tickers += 1;
                    match self.symbols.find(t.symbol) {
                        Some(i) => {
                            if let Some(b) = self.books.get_mut(i) {
                                b.counters.tickers += 1;
                            }
                            sink.ticker(i, &t);
                        }
                        None => self.counters.unknown_symbol += 1,
                    }
                }
            }
            Message::Ohlc(_) => self.counters.ohlc += 1,
            Message::Heartbeat => {
                self.counters.heartbeats += 1;
                sink.heartbeat();
            }
            Message::Status(status) => {
                self.counters.statuses += 1;
                sink.status(status);
            }
            Message::Pong(pong) => {
                self.counters.pongs += 1;
                sink.pong(pong.req_id);
            }
            Message::Subscribed(ack) => self.on_ack(ack, true, sink),
            Message::Unsubscribed(ack) => self.on_ack(ack, false, sink),
            Message::Instrument(instrument) => {
                self.counters.instruments += 1;
                for pair in instrument.iter() {
                    self.learn_precision(
                        pair.symbol,
                        pair.price_precision,
                        pair.qty_precision,
                        sink,
                    );
                }
            }
            Message::Request(_) => self.counters.requests += 1,
            // The authenticated connection's messages belong to the order gateway.
            Message::Executions(_) | Message::Balances(_) | Message::OrderResponse(_) => {
                self.counters.private += 1
            }
        }
    }

    fn learn_precision(&mut self, symbol: &str, price: u8, qty: u8, sink: &mut impl FeedSink) {
        let Some(i) = self.symbols.find(symbol) else {
            return;
        };
        let Some(entry) = self.symbols.get_mut(i) else {
            return;
        };
        if entry.precision == PrecisionSource::Configured
            && (entry.price_scale, entry.qty_scale) == (price, qty)
        {
            return;
        }
        let changed = (entry.price_scale, entry.qty_scale) != (price, qty);
        entry.price_scale = price;
        entry.qty_scale = qty;
        entry.precision = PrecisionSource::Instrument;
        let Some(b) = self.books.get_mut(i).filter(|_| changed) else {
            return;
        };
        // Stored mantissas are at the old precision: the book needs a snapshot at the
        // new one. A live subscription sends none by itself (nor does one whose snapshot
        // was dropped for want of a precision): resubscribe, as for a resync.
        let was_live = b.state.is_live();
        let missed = b.state == SubscriptionState::AwaitingSnapshot && b.missed_snapshot;
        b.book.set_precision(price, qty);
        sink.precision_changed(i, price, qty);
        if was_live {
            sink.book_stale(i, StaleReason::BadMessage);
        }
        if self.options.mode == FeedMode::Live && (was_live || missed) {
            b.counters.resyncs += 1;
            self.counters.resyncs += 1;
            b.state = SubscriptionState::Unsubscribing;
            sink.send_unsubscribe(i);
        } else if was_live {
            b.state = SubscriptionState::AwaitingSnapshot;
        }
    }

    fn on_ack(&mut self, ack: &AckMsg<'_>, subscribe: bool, sink: &mut impl FeedSink) {
        self.counters.acks += 1;
        if !ack.success {
            self.counters.error_acks += 1;
            sink.error_ack(ack);
            return;
        }
        if ack.channel != Some("book") {
            return;
        }
        let Some(symbol) = ack.symbol else { return };
        let Some(index) = self.symbols.find(symbol) else {
            self.counters.unknown_symbol += 1;
            return;
        };
        let Some(b) = self.books.get_mut(index) else {
            return;
        };
        if subscribe {
            match b.state {
                // A live book stays live: the snapshot that follows the ack replaces it (a
                // snapshot is accepted while live), so strategies are never left holding a book
                // the feed no longer updates.
                SubscriptionState::Live
                | SubscriptionState::Halted
                | SubscriptionState::Unvalidated => {}
                _ => b.state = SubscriptionState::AwaitingSnapshot,
            }
        } else if b.state == SubscriptionState::Unsubscribing {
            // Second step of a resync.
            b.state = SubscriptionState::AwaitingSnapshot;
            sink.send_subscribe(index);
        } else if b.state != SubscriptionState::Halted {
            // Unsubscribed by someone else (a recording of another client, an operator): no
            // more updates will come, so a book the sink holds as live is stale from here.
            let was_live = b.state.is_live();
            b.state = SubscriptionState::Inactive;
            if was_live {
                b.book.clear();
                sink.book_stale(index, StaleReason::Halted);
            }
        }
    }

    fn on_book(&mut self, frame_no: u64, msg: &BookMsg<'_>, sink: &mut impl FeedSink) {
        for data in msg.iter() {
            self.counters.book_messages += 1;
            let Some(index) = self.symbols.find(data.symbol) else {
                self.counters.unknown_symbol += 1;
                continue;
            };
            self.on_book_data(frame_no, index, msg.kind, &data, sink);
        }
    }

    fn on_book_data(
        &mut self,
        frame_no: u64,
        index: usize,
        kind: UpdateKind,
        data: &BookData<'_>,
        sink: &mut impl FeedSink,
    ) {
        let Some(entry) = self.symbols.get_mut(index) else {
            return;
        };
        let Some(sb) = self.books.get_mut(index) else {
            return;
        };
        sb.counters.book_messages += 1;
        let snapshot = kind == UpdateKind::Snapshot;

        if entry.precision == PrecisionSource::Unknown {
            self.counters.no_precision += 1;
            sb.missed_snapshot |= snapshot;
            return;
        }

        // Which states accept this message.
        let accept = match sb.state {
            SubscriptionState::Live | SubscriptionState::Unvalidated => true,
            SubscriptionState::Halted | SubscriptionState::Unsubscribing => false,
            // A snapshot starts (or restarts) a book. A passive feed has no acks to wait for.
            SubscriptionState::AwaitingSnapshot => snapshot,
            SubscriptionState::Inactive => snapshot && self.options.mode == FeedMode::Passive,
        };
        if !accept {
            sb.counters.dropped_not_live += 1;
            self.counters.dropped_not_live += 1;
            return;
        }

        let mode = if snapshot {
            ApplyMode::Snapshot
        } else {
            ApplyMode::Update
        };
        let bids = data.bids.iter().map(|l| (l.price, l.qty));
        let asks = data.asks.iter().map(|l| (l.price, l.qty));
        let report = match sb
            .book
            .convert_and_apply(mode, bids, asks, &mut self.levels)
        {
            Ok(report) => report,
            Err(error) => {
                let reason = RejectReason::of(&error).index();
                sb.counters.rejected_messages += 1;
                sb.counters.rejected_by_reason[reason] += 1;
                self.counters.rejected_messages += 1;
                self.counters.rejected_by_reason[reason] += 1;
                if sb.state == SubscriptionState::Unvalidated {
                    return;
                }
                // The book now lacks a message: treat it exactly like a mismatch.
                Self::go_stale(
                    self.options,
                    index,
                    sb,
                    &mut self.counters,
                    StaleReason::BadMessage,
                    sink,
                );
                return;
            }
        };
        sb.counters.absent_deletes += u64::from(report.absent_deletes);
        sb.counters.capacity_evictions += u64::from(report.capacity_evictions);
        sb.counters.crossed += u64::from(report.crossed);
        if snapshot {
            sb.counters.snapshots += 1;
            sb.missed_snapshot = false;
        }

        let computed = sb.book.checksum();
        let verified = match data.checksum {
            Some(expected) if expected != computed => {
                sb.counters.checksum_mismatch += 1;
                self.counters.checksum_mismatch += 1;
                if sb.first_mismatch.is_none() {
                    sb.first_mismatch = Some((frame_no, computed, expected));
                }
                sink.checksum_mismatch(index, computed, expected);
                false
            }
            Some(_) => {
                sb.counters.checksum_ok += 1;
                self.counters.checksum_ok += 1;
                true
            }
            // Kraken's v2 book always carries a checksum. Live, a message without one cannot
            // be verified, so it is a bad message; a replay of other recordings trusts it.
            None if self.options.mode == FeedMode::Live
                && sb.state != SubscriptionState::Unvalidated =>
            {
                let reason = RejectReason::NoChecksum.index();
                sb.counters.rejected_messages += 1;
                sb.counters.rejected_by_reason[reason] += 1;
                self.counters.rejected_messages += 1;
                self.counters.rejected_by_reason[reason] += 1;
                false
            }
            None => true,
        };

        if sb.state == SubscriptionState::Unvalidated {
            // The policy gave up validating: the book keeps streaming, but strategies were told
            // it is stale and it is never reported live again.
            sink.book_updated(index, &sb.book, data, self.levels.as_slice(), kind, &report);
        } else if verified {
            let was_live = sb.state.is_live();
            sb.state = SubscriptionState::Live;
            if !was_live {
                sink.book_live(index, &sb.book);
            }
            sink.book_updated(index, &sb.book, data, self.levels.as_slice(), kind, &report);
        } else {
            Self::go_stale(
                self.options,
                index,
                sb,
                &mut self.counters,
                StaleReason::ChecksumMismatch,
                sink,
            );
        }
    }

    /// The book failed: apply the policy, tell the sink, and start a resync when it applies.
    fn go_stale(
        options: FeedOptions,
        index: usize,
        sb: &mut SymbolBook,
        counters: &mut FeedCounters,
        reason: StaleReason,
        sink: &mut impl FeedSink,
    ) {
        let was_live = sb.state.is_live();
        let failures = sb.counters.checksum_mismatch + sb.counters.rejected_messages;
        let over_limit = failures >= u64::from(options.policy.max_mismatches);
        let action = if over_limit {
            options.policy.action
        } else {
            MismatchAction::KeepResyncing
        };
        match action {
            MismatchAction::StopValidating => {
                // Keep the book as applied; from now on nothing is checked, and strategies are
                // told the book is not to be trusted.
                sb.state = SubscriptionState::Unvalidated;
                sink.book_stale(index, reason);
                return;
            }
            MismatchAction::Halt => {
                sb.state = SubscriptionState::Halted;
                sb.book.clear();
                sink.book_stale(index, StaleReason::Halted);
                return;
            }
            MismatchAction::KeepResyncing => {}
        }
        sb.book.clear();
        sb.counters.resyncs += 1;
        counters.resyncs += 1;
        if was_live || sb.state == SubscriptionState::AwaitingSnapshot {
            sink.book_stale(index, reason);
        }
        match options.mode {
            FeedMode::Live => {
                sb.state = SubscriptionState::Unsubscribing;
                sink.send_unsubscribe(index);
            }
            FeedMode::Passive => sb.state = SubscriptionState::AwaitingSnapshot,
        }
    }
}
