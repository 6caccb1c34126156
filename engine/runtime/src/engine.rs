//! [`Engine`]: everything a frame touches on the engine core, without a connection or timers:
//! the [`Pipeline`] (decode → feed → book → checksum), the [`Publisher`] it hands verified
//! events to, the pending requests the feed asks for (resyncs), the stage stamps and the latency
//! histograms. The live driver ([`crate::driver::EngineCore`]) feeds it what it reads; a replay
//! feeds it recorded frames; a benchmark feeds it generated ones. Each calls
//! [`Engine::on_frame`] (live), [`Engine::on_frames`] (frames run back to back) or
//! [`Engine::replay_frame`], which all end in [`Pipeline::on_frame`]: one path, nothing
//! replay-only in it.
//!
//! Invariants: processing a frame never allocates, locks, blocks or formats; the stage stamps
//! are taken with the injected clock (`quanta::Clock`: the TSC live, a mock on virtual time); a
//! resync request the feed asks for is queued (bounded, counted when full) for whoever owns the
//! connection, and dropped by whoever has none ([`Engine::discard_requests`]).

use kspin_core::book::{ApplyReport, FixedLevel, OrderBook};
use kspin_core::feed::{FeedMode, FeedOptions, FeedSink, MismatchPolicy, StaleReason};
use kspin_core::kraken::{
    AckMsg, BookData, DecoderLimits, Message, StatusMsg, SystemStatus, Ticker, Trade, UpdateKind,
};
use kspin_core::{FrameOutcome, FrameSink, Pipeline};
use quanta::Clock;

use crate::driver::{CoreError, Publisher};
use crate::plan::SymbolPlan;
use crate::requests::{resync_symbol, PendingRequest, Requests};
use crate::stage_records::{
    stage_record_ring, StageRecord, StageRecordWriter, StageRecorder, STAGE_RECORD_RING,
};
use crate::stages::{FrameStamps, Stage, StageClock, StageHistograms};
use crate::telemetry::TradeTap;

/// Detail-sampled frames whose stage stamps the engine keeps for [`Engine::order_view`]: an
/// order is written within a few frames of its trigger when a strategy keeps up.
pub const RECENT_FRAMES: usize = 16;
use crate::stats::LatencyRecorder;

/// What the frames processed since the last [`Engine::take_tally`] did that the driver acts on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FrameTally {
    /// A book went live.
    pub went_live: bool,
    /// An `instrument` frame arrived.
    pub instrument_seen: bool,
    /// `status` frames announcing maintenance.
    pub maintenance_announced: u64,
    /// Error acks answering one of our resync requests.
    pub resync_refused: u64,
}

/// How an engine's pipeline is set up.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub symbols: Vec<SymbolPlan>,
    pub decoder: DecoderLimits,
    pub policy: MismatchPolicy,
    /// `Live` when the engine owns (or replays the recording of) a connection that resyncs;
    /// `Passive` for a recording of someone else's connection, where a failed book waits for
    /// the next snapshot.
    pub mode: FeedMode,
}

/// See the module docs.
pub struct Engine<P: Publisher> {
    pipeline: Pipeline,
    /// Everything the pipeline's events reach (publisher, requests, stage clock, tally): the
    /// pipeline's sink itself, so a frame hands it on by one pointer.
    sink: CoreSink<P>,
    /// Each frame's stamps go here (one slot copy); the recorder turns them into histograms.
    stage_writer: StageRecordWriter,
    /// The recording end while the engine keeps it: drained when the core is idle, when the
    /// ring is full, and when the histograms are asked for. `None` once handed to a thread.
    stage_recorder: Option<StageRecorder>,
    latency: LatencyRecorder,
    /// The stage stamps of the last [`RECENT_FRAMES`] detail-sampled frames (every frame when
    /// an order path sets the sampling to 1), for the order path to find the inner stamps of
    /// the frame that triggered an order (tick-to-trade). An unsampled frame has none to find.
    recent: [FrameStamps; RECENT_FRAMES],
    recent_next: usize,
}

impl<P: Publisher> Engine<P> {
    /// Builds the pipeline for `cfg.symbols` (their index is their symbol id everywhere), the
    /// pre-rendered requests and the histograms. Start-up only: this is where it allocates.
    pub fn new(cfg: &EngineConfig, publisher: P, clock: Clock) -> Result<Engine<P>, CoreError> {
        let mut pipeline = Pipeline::new(
            cfg.decoder,
            FeedOptions {
                mode: cfg.mode,
                policy: cfg.policy,
            },
        );
        for p in &cfg.symbols {
            pipeline
                .feed_mut()
                .add_symbol(&p.symbol, usize::from(p.depth), p.precision)
                .ok_or(CoreError::TooManySymbols)?;
        }
        let (stage_writer, stage_recorder) = stage_record_ring(STAGE_RECORD_RING, clock.clone())?;
        let latency = LatencyRecorder::new(clock.clone())?;
        Ok(Engine {
            pipeline,
            sink: CoreSink {
                publisher,
                requests: Requests::render(&cfg.symbols)?,
                maintenance: false,
                tally: FrameTally::default(),
                symbols: cfg.symbols.len(),
                stages: StageClock::new(clock),
                trade_tap: None,
                recv_tsc: 0,
            },
            stage_writer,
            stage_recorder: Some(stage_recorder),
            latency,
            recent: [FrameStamps::default(); RECENT_FRAMES],
            recent_next: 0,
        })
    }

    /// A frame just read, stamped `read_tsc` by the clock: the live entry.
    #[inline]
    pub fn on_frame(&mut self, payload: &[u8], read_tsc: u64) -> FrameOutcome {
        self.process(payload, read_tsc, read_tsc)
    }

    /// [`Engine::on_frame`], also returning the frame's `Published` stamp (the TSC read at its
    /// end): a driver stamps the next frame of a burst with it instead of reading the clock
    /// again.
    #[inline]
    pub fn on_frame_stamped(&mut self, payload: &[u8], read_tsc: u64) -> (FrameOutcome, u64) {
        self.process_stamped(payload, read_tsc, read_tsc)
    }

    /// Frames already in memory, processed back to back with nothing run between them (a
    /// burst replayed at full speed: `kspin bench replay`): as [`Engine::on_frame`] for each,
    /// with one TSC read per frame (its end) and one for the first frame's start. A frame's
    /// processing starts when the previous one's ends, so its read stamp is the previous
    /// frame's `Published` stamp, and the publisher sees that as the frame's receive stamp, as
    /// live. A frame's read → published span therefore also covers what the engine does for the
    /// previous frame after stamping it (its stage record, the `recent` copy, the publisher's
    /// `frame_done`) and the loop's step: work done while the frame waited. Outcomes are counted
    /// in the pipeline's counters, not returned. Not for making recordings (the receive stamps
    /// are processing times, not arrival times), nor for a caller that works between frames (a
    /// strategy, pacing): that work would count as the next frame's; those call
    /// [`Engine::on_frame`] or [`Engine::replay_frame`] per frame.
    #[inline]
    pub fn on_frames<'a>(&mut self, payloads: impl IntoIterator<Item = &'a [u8]>) {
        let mut read_tsc = self.sink.stages.clock().raw();
        for payload in payloads {
            read_tsc = self.on_frame_stamped(payload, read_tsc).1;
        }
    }

    /// A recorded frame: the publisher sees `recorded_tsc` (the live run's read stamp, which
    /// strategies join on), the stage histograms measure this process's own work from now.
    #[inline]
    pub fn replay_frame(&mut self, payload: &[u8], recorded_tsc: u64) -> FrameOutcome {
        let now = self.sink.stages.clock().raw();
        self.process(payload, recorded_tsc, now)
    }

    #[inline]
    fn process(&mut self, payload: &[u8], recv_tsc: u64, read_tsc: u64) -> FrameOutcome {
        self.process_stamped(payload, recv_tsc, read_tsc).0
    }

    /// One frame; its outcome and its `Published` stamp (the TSC read at its end).
    #[inline(always)]
    fn process_stamped(
        &mut self,
        payload: &[u8],
        recv_tsc: u64,
        read_tsc: u64,
    ) -> (FrameOutcome, u64) {
        self.sink.stages.begin(read_tsc);
        self.sink.recv_tsc = recv_tsc;
        let outcome = self.pipeline.on_frame(payload, recv_tsc, &mut self.sink);
        // Read → published: one TSC read at the frame's end, once every event of the frame
        // reached the publisher (or none did), so every record carries the frame's end.
        let done = self.sink.stages.clock().raw();
        if self.sink.stages.enabled() {
            self.sink.stages.current_mut().set(Stage::Published, done);
            // The record is the only per-frame instrumentation work on the core: the recorder
            // derives the stage spans and the frame latency from it. On a full ring, an engine
            // that records its own stamps (nobody took the recorder) and never went idle (a
            // replay, a burst) catches up now rather than drop.
            // A detail-sampled frame's record carries its inner stamps, and the frame goes into
            // `recent` for tick-to-trade (with an order path every frame is sampled:
            // `set_stage_detail_sample_every(1)`); an unsampled one has only its two ends.
            let record = if self.sink.stages.sampled() {
                self.recent[self.recent_next % RECENT_FRAMES] = *self.sink.stages.current();
                self.recent_next = self.recent_next.wrapping_add(1);
                StageRecord::of(self.sink.stages.current())
            } else {
                StageRecord::of_ends(read_tsc, done)
            };
            self.stage_writer
                .write_or_drain(record, &mut self.stage_recorder);
        } else {
            // Stamps off: the frame latency alone, queued as ticks and folded off the frame path.
            self.latency.record_ticks(read_tsc, done);
        }
        self.sink.publisher.frame_done(self.sink.stages.current());
        (outcome, done)
    }

    /// The connection opened (`true`) or ended (`false`): ended, every book is stale until its
    /// next snapshot. The publisher is told either way.
    pub fn link(&mut self, up: bool) {
        if !up {
            self.pipeline.link_down(&mut self.sink.publisher);
        }
        self.sink.publisher.link(up);
    }

    /// The publisher's per-iteration turn (lag catch-up, intents).
    #[inline]
    pub fn service(&mut self) {
        self.sink.publisher.service(self.pipeline.feed());
    }

    /// What the frames since the last call did (and forgets it).
    #[inline]
    pub fn take_tally(&mut self) -> FrameTally {
        core::mem::take(&mut self.sink.tally)
    }

    /// Whether the exchange's last `status` announced maintenance.
    pub fn maintenance(&self) -> bool {
        self.sink.maintenance
    }

    /// Sends the pending requests in order with `send` until it refuses one (which stays
    /// queued); a book whose subscribe went out awaits its snapshot. Returns how many were sent.
    pub fn drain_requests(&mut self, mut send: impl FnMut(&[u8]) -> bool) -> u64 {
        let feed = self.pipeline.feed_mut();
        let mut sent = 0;
        self.sink.requests.drain(|request, bytes| {
            if !send(bytes) {
                return false;
            }
            sent += 1;
            if let PendingRequest::SubscribeBook(s) = request {
                feed.subscribe_sent(s);
            }
            true
        });
        sent
    }

    /// Drops the resync requests the feed asked for (a replay has no connection to send them on).
    pub fn discard_requests(&mut self) {
        if self.sink.requests.has_pending() {
            self.sink.requests.clear_pending();
        }
    }

    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    /// What the order path works with, at once: the feed's books (read), the publisher (orders
    /// taken from it, updates given to it) and the stamps of recent frames (tick-to-trade).
    #[inline]
    pub fn order_view(&mut self) -> (&kspin_core::feed::Feed, &mut P, RecentFrames<'_>) {
        (
            self.pipeline.feed(),
            &mut self.sink.publisher,
            RecentFrames {
                stamps: &self.recent,
                next: self.recent_next,
            },
        )
    }

    /// The requests (pre-rendered subscriptions, pending resyncs, pings), for the driver.
    pub fn requests_mut(&mut self) -> &mut Requests {
        &mut self.sink.requests
    }

    pub fn requests(&self) -> &Requests {
        &self.sink.requests
    }

    /// The feed (for the driver's `subscribe_sent`).
    pub fn feed_mut(&mut self) -> &mut kspin_core::feed::Feed {
        self.pipeline.feed_mut()
    }

    pub fn publisher(&self) -> &P {
        &self.sink.publisher
    }

    pub fn publisher_mut(&mut self) -> &mut P {
        &mut self.sink.publisher
    }

    /// Hands back the publisher.
    pub fn into_publisher(self) -> P {
        self.sink.publisher
    }

    /// The frame latency (read → published) of every frame so far, after recording what is
    /// queued. With stage stamps on, the stage recorder derives it from each frame's record:
    /// once [`Engine::take_stage_recorder`] handed the recorder away, its holder reports it
    /// ([`StageRecorder::latency`]) and this one only has the frames run with stamps off.
    pub fn latency(&mut self) -> &LatencyRecorder {
        self.latency_mut()
    }

    /// [`Engine::latency`], to take a reporting interval from.
    pub fn latency_mut(&mut self) -> &mut LatencyRecorder {
        match &mut self.stage_recorder {
            Some(recorder) if self.sink.stages.enabled() => {
                recorder.drain();
                recorder.latency_mut()
            }
            _ => &mut self.latency,
        }
    }

    /// Per-stage latency of every frame so far (read → decoded → applied → published), after
    /// recording what is queued; `None` once [`Engine::take_stage_recorder`] handed it away.
    pub fn stage_histograms(&mut self) -> Option<&StageHistograms> {
        let recorder = self.stage_recorder.as_mut()?;
        recorder.drain();
        Some(recorder.histograms())
    }

    /// Records the stage stamps queued so far, if the engine still holds the recorder, and
    /// folds the queued frame latencies into their histograms: call it when the core has
    /// nothing else to do.
    #[inline]
    pub fn record_stages(&mut self) {
        if let Some(recorder) = &mut self.stage_recorder {
            recorder.drain();
        }
        self.latency.fold();
    }

    /// Hands the stage recording to another thread (start-up): from then on the core only copies
    /// each frame's stamps into the ring, and drops (and counts, [`Engine::stage_records_dropped`])
    /// those that find it full. `None` if already taken.
    pub fn take_stage_recorder(&mut self) -> Option<StageRecorder> {
        self.stage_recorder.take()
    }

    /// Frames whose stamps were not recorded because the recorder fell behind.
    pub fn stage_records_dropped(&self) -> u64 {
        self.stage_writer.dropped()
    }

    /// Turns the per-stage stamps off (`false`) or on (the default); off, only the read → done
    /// latency is recorded. Used to measure what stamping costs.
    pub fn set_stage_stamps(&mut self, on: bool) {
        self.sink.stages.set_enabled(on);
    }

    /// Takes the inner stage stamps (decoded, applied) on one frame in `every` (default
    /// [`crate::stages::DETAIL_SAMPLE_EVERY`]; 1: every frame). Read and published are stamped
    /// on every frame either way.
    pub fn set_stage_detail_sample_every(&mut self, every: u32) {
        self.sink.stages.set_detail_sample_every(every);
    }

    /// On how many frames in one the inner stage stamps are taken (1: every frame).
    pub fn stage_detail_sample_every(&self) -> u32 {
        self.sink.stages.detail_sample_every()
    }

    /// The clock the engine stamps with.
    pub fn clock(&self) -> &Clock {
        self.sink.stages.clock()
    }

    /// Copies every trade published from now on into `tap` (the trade tape of
    /// [`crate::telemetry`]). Start-up only.
    pub fn set_trade_tap(&mut self, tap: TradeTap) {
        self.sink.trade_tap = Some(tap);
    }

    /// Trades the tape dropped on a full ring (0 without a tape).
    pub fn trades_dropped(&self) -> u64 {
        self.sink.trade_tap.as_ref().map_or(0, TradeTap::dropped)
    }

    /// The publisher's telemetry turn ([`Publisher::telemetry`]) with the feed's books.
    pub fn publisher_telemetry(&mut self) {
        self.sink.publisher.telemetry(self.pipeline.feed());
    }
}

/// The stage stamps of the last [`RECENT_FRAMES`] detail-sampled frames.
#[derive(Debug, Clone, Copy)]
pub struct RecentFrames<'a> {
    stamps: &'a [FrameStamps; RECENT_FRAMES],
    next: usize,
}

impl RecentFrames<'_> {
    /// The stamps of the frame read at `read_tsc`, newest first; `None` once [`RECENT_FRAMES`]
    /// newer sampled frames came, for a frame not detail-sampled (it has no inner stamps), or
    /// with stage stamps off.
    pub fn find(&self, read_tsc: u64) -> Option<&FrameStamps> {
        if read_tsc == 0 {
            return None;
        }
        (1..=RECENT_FRAMES)
            .map(|back| &self.stamps[self.next.wrapping_sub(back) % RECENT_FRAMES])
            .find(|s| s.get(Stage::Read) == read_tsc)
    }
}

/// The pipeline's sink, owned by the engine: stamps the stages, forwards everything to the
/// publisher, turns resync requests into pending requests, and keeps the tally.
struct CoreSink<P: Publisher> {
    publisher: P,
    requests: Requests,
    /// The exchange's last `status` said maintenance.
    maintenance: bool,
    tally: FrameTally,
    symbols: usize,
    stages: StageClock,
    /// The trade tape, when something reads it ([`Engine::set_trade_tap`]).
    trade_tap: Option<TradeTap>,
    /// The current frame's receive stamp (what the publisher stamps events with).
    recv_tsc: u64,
}

impl<P: Publisher> FrameSink for CoreSink<P> {
    #[inline]
    fn frame_begin(&mut self, stamp: u64, payload: &[u8]) {
        self.publisher.on_frame(stamp, payload);
    }
    #[inline]
    fn frame_decoded(&mut self, msg: &Message<'_>) {
        self.stages.stamp_detail(Stage::Decoded);
        if let Message::Instrument(_) = msg {
            self.tally.instrument_seen = true;
        }
    }
}

impl<P: Publisher> FeedSink for CoreSink<P> {
    #[inline]
    fn book_updated(
        &mut self,
        symbol: usize,
        book: &OrderBook,
        data: &BookData<'_>,
        levels: &[FixedLevel],
        kind: UpdateKind,
        report: &ApplyReport,
    ) {
        self.stages.stamp_detail_once(Stage::Applied);
        self.publisher
            .book_updated(symbol, book, data, levels, kind, report);
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
        self.stages.stamp_detail_once(Stage::Applied);
        self.publisher.trade(symbol, trade);
        if let Some(tap) = &mut self.trade_tap {
            tap.push(symbol, trade, self.recv_tsc);
        }
    }
    #[inline]
    fn ticker(&mut self, symbol: usize, ticker: &Ticker<'_>) {
        self.stages.stamp_detail_once(Stage::Applied);
        self.publisher.ticker(symbol, ticker);
    }
    fn status(&mut self, status: &StatusMsg<'_>) {
        self.maintenance = status.system == SystemStatus::Maintenance;
        if self.maintenance {
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
