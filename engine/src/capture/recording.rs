//! [`Recording`]: a [`Publisher`] wrapper that copies every received frame (with its receive TSC)
//! and every link change into the capture ring, then hands everything on to the wrapped
//! publisher unchanged.
//!
//! Owns the core's [`CaptureProducer`]. Invariants: the wrapped publisher sees exactly the calls
//! it would see without recording, in the same order; recording a frame is one bounded copy into
//! preallocated memory (no allocation, lock, syscall or formatting on the core), and a full ring
//! drops the record (counted, marked by a gap record) rather than waiting.

use super::format::RecordKind;
use super::writer::CaptureProducer;
use crate::book::{ApplyReport, OrderBook};
use crate::feed::{Feed, FeedSink, StaleReason};
use crate::kraken::{AckMsg, BookData, StatusMsg, Ticker, Trade, UpdateKind};
use crate::runtime::{FrameStamps, Publisher};

/// See the module docs.
pub struct Recording<P: Publisher> {
    inner: P,
    producer: CaptureProducer,
    clock: quanta::Clock,
}

impl<P: Publisher> Recording<P> {
    /// Records into `producer` (from [`super::start_recording`]) and forwards to `inner`.
    /// `clock` stamps link changes (frames carry the core's receive stamp).
    pub fn new(inner: P, producer: CaptureProducer, clock: quanta::Clock) -> Recording<P> {
        Recording {
            inner,
            producer,
            clock,
        }
    }

    pub fn inner(&self) -> &P {
        &self.inner
    }

    pub fn inner_mut(&mut self) -> &mut P {
        &mut self.inner
    }

    /// Records dropped so far because the capture ring was full.
    pub fn dropped(&self) -> u64 {
        self.producer.dropped()
    }
}

impl<P: Publisher> FeedSink for Recording<P> {
    #[inline]
    fn book_updated(
        &mut self,
        symbol: usize,
        book: &OrderBook,
        data: &BookData<'_>,
        kind: UpdateKind,
        report: &ApplyReport,
    ) {
        self.inner.book_updated(symbol, book, data, kind, report);
    }
    fn checksum_mismatch(&mut self, symbol: usize, computed: u32, expected: u32) {
        self.inner.checksum_mismatch(symbol, computed, expected);
    }
    fn book_stale(&mut self, symbol: usize, reason: StaleReason) {
        self.inner.book_stale(symbol, reason);
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
    #[inline]
    fn trade(&mut self, symbol: usize, trade: &Trade<'_>) {
        self.inner.trade(symbol, trade);
    }
    #[inline]
    fn ticker(&mut self, symbol: usize, ticker: &Ticker<'_>) {
        self.inner.ticker(symbol, ticker);
    }
    fn status(&mut self, status: &StatusMsg<'_>) {
        self.inner.status(status);
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
}

impl<P: Publisher> Publisher for Recording<P> {
    #[inline]
    fn on_frame(&mut self, recv_tsc: u64, payload: &[u8]) {
        self.producer.push(RecordKind::Frame, recv_tsc, payload);
        self.inner.on_frame(recv_tsc, payload);
    }
    #[inline]
    fn frame_done(&mut self, stamps: &FrameStamps) {
        self.inner.frame_done(stamps);
    }
    #[inline]
    fn service(&mut self, feed: &Feed) {
        self.inner.service(feed);
    }
    fn link(&mut self, up: bool) {
        let kind = if up {
            RecordKind::LinkUp
        } else {
            RecordKind::LinkDown
        };
        self.producer.push(kind, self.clock.raw(), &[]);
        self.inner.link(up);
    }
}
