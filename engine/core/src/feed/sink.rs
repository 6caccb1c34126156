//! What the feed tells its consumer: the [`FeedSink`] callbacks (verified book states, staleness,
//! resync requests, trades, tickers, status) and why a book went stale ([`StaleReason`]).
//!
//! Owns only the trait, a sink that ignores everything ([`NullSink`]) and the reason enum.
//! Invariant: every callback has an empty default, so a consumer implements only what it uses;
//! nothing here allocates or does I/O.

use crate::book::{ApplyReport, FixedLevel, OrderBook};
use crate::kraken::{AckMsg, BookData, StatusMsg, Ticker, Trade, UpdateKind};

/// Why a book went stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaleReason {
    ChecksumMismatch,
    /// A message could not be applied, or the pair's precision changed under the book.
    BadMessage,
    Disconnected,
    Halted,
}

/// Receives what the feed decides. Every method has an empty default so that a consumer
/// implements only what it uses.
#[allow(unused_variables)]
pub trait FeedSink {
    /// A book message was applied and its checksum matched (or the symbol is unvalidated).
    /// `data` is the message as decoded; `levels` are its levels at the book's precision, bids
    /// then asks in message order, exactly as applied (converted once, by the feed); `book` is
    /// the state after it.
    fn book_updated(
        &mut self,
        symbol: usize,
        book: &OrderBook,
        data: &BookData<'_>,
        levels: &[FixedLevel],
        kind: UpdateKind,
        report: &ApplyReport,
    ) {
    }
    /// A checksum did not match: `computed` by kspin, `expected` by the exchange.
    fn checksum_mismatch(&mut self, symbol: usize, computed: u32, expected: u32) {}
    /// The book can no longer be trusted until it is live again.
    fn book_stale(&mut self, symbol: usize, reason: StaleReason) {}
    /// The book passed a fresh snapshot's checksum after being stale (or for the first time).
    fn book_live(&mut self, symbol: usize, book: &OrderBook) {}
    /// Live mode: send an unsubscribe for this symbol's book (first step of a resync).
    fn send_unsubscribe(&mut self, symbol: usize) {}
    /// Live mode: send a subscribe for this symbol's book (second step of a resync).
    fn send_subscribe(&mut self, symbol: usize) {}
    fn trade(&mut self, symbol: usize, trade: &Trade<'_>) {}
    fn ticker(&mut self, symbol: usize, ticker: &Ticker<'_>) {}
    fn status(&mut self, status: &StatusMsg<'_>) {}
    fn heartbeat(&mut self) {}
    fn pong(&mut self, req_id: Option<u64>) {}
    /// A subscribe/unsubscribe was refused (`error` as sent by the exchange).
    fn error_ack(&mut self, ack: &AckMsg<'_>) {}
    /// The `instrument` channel changed the precision of a symbol whose book exists: its
    /// mantissas are now at `price_scale` / `qty_scale` decimals. Called before the book goes
    /// stale for it.
    fn precision_changed(&mut self, symbol: usize, price_scale: u8, qty_scale: u8) {}
}

/// A sink that ignores everything.
pub struct NullSink;
impl FeedSink for NullSink {}

/// The body of a `FeedSink` impl that hands every callback to the field `$inner` unchanged: for
/// publisher wrappers (recording, latency probes) that add work around frames but must not change
/// what the wrapped publisher sees. Use inside `impl FeedSink for Wrapper { ... }`.
#[macro_export]
macro_rules! forward_feed_sink {
    ($inner:ident) => {
        #[inline]
        fn book_updated(
            &mut self,
            symbol: usize,
            book: &$crate::book::OrderBook,
            data: &$crate::kraken::BookData<'_>,
            levels: &[$crate::book::FixedLevel],
            kind: $crate::kraken::UpdateKind,
            report: &$crate::book::ApplyReport,
        ) {
            self.$inner
                .book_updated(symbol, book, data, levels, kind, report);
        }
        fn checksum_mismatch(&mut self, symbol: usize, computed: u32, expected: u32) {
            self.$inner.checksum_mismatch(symbol, computed, expected);
        }
        fn book_stale(&mut self, symbol: usize, reason: $crate::feed::StaleReason) {
            self.$inner.book_stale(symbol, reason);
        }
        fn book_live(&mut self, symbol: usize, book: &$crate::book::OrderBook) {
            self.$inner.book_live(symbol, book);
        }
        fn send_unsubscribe(&mut self, symbol: usize) {
            self.$inner.send_unsubscribe(symbol);
        }
        fn send_subscribe(&mut self, symbol: usize) {
            self.$inner.send_subscribe(symbol);
        }
        #[inline]
        fn trade(&mut self, symbol: usize, trade: &$crate::kraken::Trade<'_>) {
            self.$inner.trade(symbol, trade);
        }
        #[inline]
        fn ticker(&mut self, symbol: usize, ticker: &$crate::kraken::Ticker<'_>) {
            self.$inner.ticker(symbol, ticker);
        }
        fn status(&mut self, status: &$crate::kraken::StatusMsg<'_>) {
            self.$inner.status(status);
        }
        fn heartbeat(&mut self) {
            self.$inner.heartbeat();
        }
        fn pong(&mut self, req_id: Option<u64>) {
            self.$inner.pong(req_id);
        }
        fn error_ack(&mut self, ack: &$crate::kraken::AckMsg<'_>) {
            self.$inner.error_ack(ack);
        }
        fn precision_changed(&mut self, symbol: usize, price_scale: u8, qty_scale: u8) {
            self.$inner
                .precision_changed(symbol, price_scale, qty_scale);
        }
    };
}
