//! The soak's publisher: the strategy [`Bus`] (so strategies, lag and conflation run as under
//! `kspin run`) with a judge in front of it that compares every book the engine publishes with
//! the venue's reference book at the same point.
//!
//! "The same point": the venue's [`BookTap`] keys the reference after each book frame by the
//! connection's `connection_id` (which its `status` frame, the first of every connection,
//! carries) and the frame's number on that connection; the judge counts the frames of the
//! current connection the same way (`Publisher::on_frame` sees every text frame, decodable or
//! not) and asks the tap for frame `n` when the engine publishes the book it applied from it.
//! Owns the judge's counts. Invariants: every publication is either compared level by level
//! (`checked`, and `wrong` when any level differs) or counted as `unverifiable` (no reference
//! for it: should never happen); the bus sees exactly what it would see without the judge. It
//! runs on the engine core's thread but is a test harness: it locks the tap's mutex and may
//! allocate a message for the first wrong book.

use std::sync::Arc;

use kspin_core::book::{ApplyReport, FixedLevel, OrderBook};
use kspin_core::feed::{Feed, FeedSink, StaleReason};
use kspin_core::kraken::{AckMsg, BookData, StatusMsg, Ticker, Trade, UpdateKind};
use kspin_host::Bus;
use kspin_runtime::{FrameStamps, Publisher};
use kspin_sim::BookTap;

/// What the judge found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Judgement {
    /// Books published and compared with the reference.
    pub checked: u64,
    /// Books published that differ from the reference.
    pub wrong: u64,
    /// Books published with no reference to compare with.
    pub unverifiable: u64,
    /// The first wrong book, described.
    pub first_wrong: Option<String>,
}

/// See the module docs.
pub struct CheckedBus {
    bus: Bus,
    tap: Arc<BookTap>,
    connection_id: Option<u64>,
    frame: u64,
    judgement: Judgement,
}

impl CheckedBus {
    pub fn new(bus: Bus, tap: Arc<BookTap>) -> CheckedBus {
        CheckedBus {
            bus,
            tap,
            connection_id: None,
            frame: 0,
            judgement: Judgement::default(),
        }
    }

    pub fn bus(&self) -> &Bus {
        &self.bus
    }

    pub fn judgement(&self) -> &Judgement {
        &self.judgement
    }

    fn judge(&mut self, symbol: usize, book: &OrderBook) {
        let Some(id) = self.connection_id else {
            self.judgement.unverifiable += 1;
            return;
        };
        let Some(reference) = self.tap.take(id, self.frame) else {
            self.judgement.unverifiable += 1;
            return;
        };
        self.judgement.checked += 1;
        let same = reference.symbol == symbol
            && book.bids().iter().eq(reference.bids.iter().copied())
            && book.asks().iter().eq(reference.asks.iter().copied());
        if !same {
            self.judgement.wrong += 1;
            if self.judgement.first_wrong.is_none() {
                self.judgement.first_wrong = Some(format!(
                    "connection {id} frame {}: symbol {symbol} published bids {:?} asks {:?}; \
                     the venue's reference (symbol {}) bids {:?} asks {:?}",
                    self.frame,
                    book.bids().iter().collect::<Vec<_>>(),
                    book.asks().iter().collect::<Vec<_>>(),
                    reference.symbol,
                    reference.bids,
                    reference.asks,
                ));
            }
        }
    }
}

impl FeedSink for CheckedBus {
    fn book_updated(
        &mut self,
        symbol: usize,
        book: &OrderBook,
        data: &BookData<'_>,
        levels: &[FixedLevel],
        kind: UpdateKind,
        report: &ApplyReport,
    ) {
        self.judge(symbol, book);
        self.bus
            .book_updated(symbol, book, data, levels, kind, report);
    }
    fn checksum_mismatch(&mut self, symbol: usize, computed: u32, expected: u32) {
        self.bus.checksum_mismatch(symbol, computed, expected);
    }
    fn book_stale(&mut self, symbol: usize, reason: StaleReason) {
        self.bus.book_stale(symbol, reason);
    }
    fn book_live(&mut self, symbol: usize, book: &OrderBook) {
        self.bus.book_live(symbol, book);
    }
    fn send_unsubscribe(&mut self, symbol: usize) {
        self.bus.send_unsubscribe(symbol);
    }
    fn send_subscribe(&mut self, symbol: usize) {
        self.bus.send_subscribe(symbol);
    }
    fn trade(&mut self, symbol: usize, trade: &Trade<'_>) {
        self.bus.trade(symbol, trade);
    }
    fn ticker(&mut self, symbol: usize, ticker: &Ticker<'_>) {
        self.bus.ticker(symbol, ticker);
    }
    fn status(&mut self, status: &StatusMsg<'_>) {
        if self.connection_id != Some(status.connection_id) {
            self.connection_id = Some(status.connection_id);
            self.tap.keep_only(status.connection_id);
        }
        self.bus.status(status);
    }
    fn heartbeat(&mut self) {
        self.bus.heartbeat();
    }
    fn pong(&mut self, req_id: Option<u64>) {
        self.bus.pong(req_id);
    }
    fn error_ack(&mut self, ack: &AckMsg<'_>) {
        self.bus.error_ack(ack);
    }
    fn precision_changed(&mut self, symbol: usize, price_scale: u8, qty_scale: u8) {
        self.bus.precision_changed(symbol, price_scale, qty_scale);
    }
}

impl Publisher for CheckedBus {
    fn on_frame(&mut self, recv_tsc: u64, payload: &[u8]) {
        self.frame += 1;
        self.bus.on_frame(recv_tsc, payload);
    }
    fn frame_done(&mut self, stamps: &FrameStamps) {
        self.bus.frame_done(stamps);
    }
    fn service(&mut self, feed: &Feed) {
        self.bus.service(feed);
    }
    fn link(&mut self, up: bool) {
        if up {
            self.frame = 0;
            self.connection_id = None;
        }
        self.bus.link(up);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kspin_api::{Price, Qty};
    use kspin_core::book::SideKind;
    use kspin_core::kraken::SystemStatus;
    use kspin_sim::RefBook;

    fn status(id: u64) -> StatusMsg<'static> {
        StatusMsg {
            system: SystemStatus::Online,
            api_version: "v2",
            connection_id: id,
            version: "",
        }
    }

    fn publish(judge: &mut CheckedBus, book: &OrderBook) {
        let data = BookData {
            symbol: "BTC/USD",
            bids: &[],
            asks: &[],
            checksum: None,
            timestamp: None,
        };
        judge.book_updated(
            0,
            book,
            &data,
            &[],
            UpdateKind::Update,
            &ApplyReport::default(),
        );
    }

    #[test]
    fn a_book_that_differs_from_the_reference_by_one_level_is_wrong() {
        let tap = Arc::new(BookTap::new());
        let symbols = kspin_host::symbol_infos(&[kspin_runtime::plan::SymbolPlan {
            symbol: "BTC/USD".into(),
            depth: 10,
            book: true,
            trade: false,
            ticker: false,
            precision: Some((1, 8)),
        }]);
        let mut judge = CheckedBus::new(Bus::new(&symbols), Arc::clone(&tap));
        let mut reference = RefBook::new(10, 1, 8);
        reference.apply(
            true,
            &[(Price(100), Qty(5)), (Price(99), Qty(7))],
            &[(Price(101), Qty(3))],
        );
        let mut book = OrderBook::new(10, 1, 8);
        book.apply_level(SideKind::Bid, Price(100), Qty(5));
        book.apply_level(SideKind::Bid, Price(99), Qty(7));
        book.apply_level(SideKind::Ask, Price(101), Qty(3));
        // Connection 42: frame 1 is the status, frames 2 and 3 carry books.
        tap.record(42, 2, 0, &reference);
        tap.record(42, 3, 0, &reference);
        judge.link(true);
        judge.on_frame(0, b"");
        judge.status(&status(42));
        judge.on_frame(0, b"");
        publish(&mut judge, &book);
        assert_eq!((judge.judgement().checked, judge.judgement().wrong), (1, 0));
        book.apply_level(SideKind::Bid, Price(99), Qty(8));
        judge.on_frame(0, b"");
        publish(&mut judge, &book);
        assert_eq!((judge.judgement().checked, judge.judgement().wrong), (2, 1));
        assert!(judge
            .judgement()
            .first_wrong
            .as_deref()
            .is_some_and(|w| w.contains("frame 3")));
        // A frame with no reference (no book in it at the venue) cannot be checked.
        judge.on_frame(0, b"");
        publish(&mut judge, &book);
        assert_eq!(judge.judgement().unverifiable, 1);
    }
}
