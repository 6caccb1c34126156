//! Processing one frame on the engine core: [`FrameCtx`] borrows what a frame touches (decoder,
//! feed, counters, histograms) and runs decode → feed → book → checksum → publish with its stage
//! stamps; [`CoreSink`] is the feed's sink during a read, forwarding to the publisher and turning
//! resync requests into pending requests; [`ReadTally`] is what a read did that the core acts on
//! afterwards. Shared by live reads and replayed frames. Never allocates.

use super::driver::Publisher;
use super::requests::{resync_symbol, PendingRequest, Requests};
use super::stages::{Stage, StageClock, StageHistograms};
use super::stats::{CoreCounters, LatencyRecorder};
use kspin_core::book::{ApplyReport, OrderBook};
use kspin_core::feed::{Feed, FeedSink, StaleReason};
use kspin_core::kraken::{
    AckMsg, BookData, Decoder, Message, StatusMsg, SystemStatus, Ticker, Trade, UpdateKind,
};

/// What processing one frame touches, borrowed from the core for one read (or one replayed
/// frame).
pub(super) struct FrameCtx<'a, P: Publisher> {
    pub(super) decoder: &'a mut Decoder,
    pub(super) feed: &'a mut Feed,
    pub(super) sink: CoreSink<'a, P>,
    pub(super) counters: &'a mut CoreCounters,
    pub(super) latency: &'a mut LatencyRecorder,
    pub(super) stage_histograms: &'a mut StageHistograms,
    pub(super) frame_no: &'a mut u64,
}

impl<P: Publisher> FrameCtx<'_, P> {
    /// One frame: decode → feed → book → checksum → publish, with its stage stamps. `t0` is the
    /// read stamp; `recv_tsc` is what the publisher is told (the same value when live).
    #[inline]
    pub(super) fn process(&mut self, recv_tsc: u64, t0: u64, payload: &[u8]) {
        *self.frame_no += 1;
        self.sink.stages.begin(t0);
        self.sink.publisher.on_frame(recv_tsc, payload);
        match self.decoder.decode(payload) {
            Ok(msg) => {
                self.sink.stages.stamp(Stage::Decoded);
                if let Message::Instrument(_) = msg {
                    *self.sink.instrument_seen = true;
                }
                self.feed.on_message(*self.frame_no, &msg, &mut self.sink);
            }
            Err(e) => self.counters.count_decode_error(&e),
        }
        let clock = self.sink.stages.clock();
        let t1 = clock.raw();
        self.latency.record(clock.delta_as_nanos(t0, t1));
        if self.sink.stages.enabled() {
            self.stage_histograms
                .record(clock, self.sink.stages.current());
        }
        self.sink.publisher.frame_done(self.sink.stages.current());
    }
}

/// What one read (or one replayed frame) did that the core acts on afterwards.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct ReadTally {
    /// A book went live.
    pub(super) went_live: bool,
    /// `status` frames announcing maintenance.
    pub(super) maintenance_announced: u64,
    /// Error acks answering one of our resync requests.
    pub(super) resync_refused: u64,
}

/// The feed's sink while the core reads: forwards everything to the publisher, stamps the
/// applied/published stages around market-data events, and turns resync requests into pending
/// requests.
pub(super) struct CoreSink<'a, P: Publisher> {
    pub(super) publisher: &'a mut P,
    pub(super) requests: &'a mut Requests,
    pub(super) maintenance: &'a mut bool,
    pub(super) instrument_seen: &'a mut bool,
    pub(super) tally: &'a mut ReadTally,
    pub(super) symbols: usize,
    pub(super) stages: &'a mut StageClock,
}

impl<P: Publisher> FeedSink for CoreSink<'_, P> {
    #[inline]
    fn book_updated(
        &mut self,
        symbol: usize,
        book: &OrderBook,
        data: &BookData<'_>,
        kind: UpdateKind,
        report: &ApplyReport,
    ) {
        self.stages.stamp_once(Stage::Applied);
        self.publisher
            .book_updated(symbol, book, data, kind, report);
        self.stages.stamp(Stage::Published);
    }
    fn checksum_mismatch(&mut self, symbol: usize, computed: u32, expected: u32) {
        self.publisher.checksum_mismatch(symbol, computed, expected);
    }
    fn book_stale(&mut self, symbol: usize, reason: StaleReason) {
        self.publisher.book_stale(symbol, reason);
    }
    fn book_live(&mut self, symbol: usize, book: &OrderBook) {
        self.tally.went_live = true;
        self.publisher.book_live(symbol, book);
    }
    fn send_unsubscribe(&mut self, symbol: usize) {
        self.requests.push(PendingRequest::UnsubscribeBook(symbol));
    }
    fn send_subscribe(&mut self, symbol: usize) {
        self.requests.push(PendingRequest::SubscribeBook(symbol));
    }
    #[inline]
    fn trade(&mut self, symbol: usize, trade: &Trade<'_>) {
        self.stages.stamp_once(Stage::Applied);
        self.publisher.trade(symbol, trade);
        self.stages.stamp(Stage::Published);
    }
    #[inline]
    fn ticker(&mut self, symbol: usize, ticker: &Ticker<'_>) {
        self.stages.stamp_once(Stage::Applied);
        self.publisher.ticker(symbol, ticker);
        self.stages.stamp(Stage::Published);
    }
    fn status(&mut self, status: &StatusMsg<'_>) {
        *self.maintenance = status.system == SystemStatus::Maintenance;
        if *self.maintenance {
            self.tally.maintenance_announced += 1;
        }
        self.publisher.status(status);
    }
    fn heartbeat(&mut self) {
        self.publisher.heartbeat();
    }
    fn pong(&mut self, req_id: Option<u64>) {
        self.publisher.pong(req_id);
    }
    fn error_ack(&mut self, ack: &AckMsg<'_>) {
        if ack
            .req_id
            .and_then(|id| resync_symbol(id, self.symbols))
            .is_some()
        {
            // Recovery is the resync deadline's job; this only makes the refusal visible.
            self.tally.resync_refused += 1;
        }
        self.publisher.error_ack(ack);
    }
    fn precision_changed(&mut self, symbol: usize, price_scale: u8, qty_scale: u8) {
        self.publisher
            .precision_changed(symbol, price_scale, qty_scale);
    }
}
