//! The engine core's driver: one thread that owns the exchange [`Transport`] and the
//! [`Engine`], and busy-polls them.
//!
//! One loop iteration: drive the connection (wait out the backoff, connect, handshake, or read
//! every available frame and hand each to [`Engine::on_frame`]); send the requests the feed asked
//! for; check the stall, ping and resync timers; give the publisher its turn; once a second, push
//! a [`CoreStats`] snapshot into the monitor ring. Nothing in it sleeps, locks or formats, and
//! after start-up nothing allocates.
//!
//! Time and the connection come from outside: the driver reads only the injected
//! `quanta::Clock` (the TSC live; `quanta::Clock::mock()` on virtual time in tests) and talks
//! only to its [`Transport`] ([`kspin_net::WsTransport`] live; an in-memory transport in tests),
//! so every timer below is tested to the millisecond without a socket or a wall clock.
//!
//! Recovery is part of the loop: any connection error, a stall (no frame for `stall_timeout`), or a
//! connect/handshake timeout ends the connection, marks every book stale, and schedules the next
//! attempt with [`Backoff`] (instant retries after a random drop, ≥ 5 s after maintenance, never
//! more than `max_attempts_per_window` attempts per rolling 10 minutes; a connection that
//! delivers a verified book resets the failure streak). On reconnect every subscription is sent
//! again exactly once and every book is rebuilt from its fresh snapshot.
//!
//! Every end is counted by its cause ([`crate::cause::EndCause`]: the transport's error mapped,
//! or the driver's own reason — stall, checksum policy, connect timeout, local stop) in
//! [`CoreCounters`]; a rejected certificate gets no instant retry.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use kspin_api::{OrderMessage, OrderUpdate};
use kspin_core::feed::{Feed, FeedMode, FeedSink, MismatchPolicy, SubscriptionState};
use kspin_core::kraken::DecoderLimits;
use kspin_core::Pipeline;
use kspin_net::{HandshakeState, Transport, WsTransport};
use kspin_ring::Producer;
use quanta::{Clock, Instant};

use super::backoff::{Backoff, BackoffPolicy, DisconnectCause};
use super::cause::{EndCause, EndCauses};
use super::engine::{Engine, EngineConfig};
use super::stages::{FrameStamps, StageHistograms};
use super::stats::{CoreCounters, CoreStats, LatencyRecorder, LinkState};
use super::telemetry::{CoreTelemetry, TradeTap};
use crate::plan::SymbolPlan;

/// What the core publishes into: the strategy bus, or nothing. Besides the feed's callbacks it is
/// told when a frame starts (its receive TSC), when the link changes, and is given a turn every
/// loop iteration.
pub trait Publisher: FeedSink {
    /// A frame read at `recv_tsc` (quanta raw) is about to be decoded; `payload` is its text,
    /// borrowed for this call only (a recorder copies it into its capture ring here).
    #[inline]
    fn on_frame(&mut self, _recv_tsc: u64, _payload: &[u8]) {}
    /// The frame started by the last [`Publisher::on_frame`] is done: `stamps` holds its stage
    /// stamps (read, decoded, applied, published; 0 where not reached). A latency probe copies
    /// them here; the core has already recorded them in its [`StageHistograms`].
    #[inline]
    fn frame_done(&mut self, _stamps: &FrameStamps) {}
    /// Once per loop iteration, with the feed's books (lag catch-up, intents).
    #[inline]
    fn service(&mut self, _feed: &Feed) {}
    /// The connection opened (`true`) or ended (`false`).
    fn link(&mut self, _up: bool) {}
    /// Live order entry: hands every order request waiting in the strategies' intent rings to
    /// `take` (with the strategy's index), instead of answering it from a paper model. A
    /// publisher without strategies has none.
    #[inline]
    fn take_orders(&mut self, _feed: &Feed, _take: &mut dyn FnMut(usize, &OrderMessage)) {}
    /// An order update for strategy `strategy` from the venue; `false` when it could not be
    /// queued (counted by the publisher).
    #[inline]
    fn order_update(&mut self, _strategy: usize, _update: OrderUpdate) -> bool {
        false
    }
    /// At each telemetry tick ([`crate::telemetry`]), when taps are attached: publish the
    /// publisher's own figures (per-strategy lanes) into its telemetry ring, if it has one.
    /// Never blocks: a full ring drops.
    #[inline]
    fn telemetry(&mut self, _feed: &Feed) {}
    /// The order path became ready (`true`: connected, authenticated and reconciled, orders go
    /// out) or stopped being ready.
    fn order_link(&mut self, _ready: bool) {}
}

/// The order path of the engine core: a second connection the driver polls in the same loop
/// ([`crate::trading::TradingLink`] live; [`NoOrderLink`] without live trading).
pub trait OrderLink<P: Publisher> {
    /// Once per loop iteration: drive the connection, read what it says, run its timers, take
    /// the strategies' orders and send them.
    fn poll(&mut self, engine: &mut Engine<P>);
    /// Right after each market-data frame: take and send the orders it triggered (so a burst
    /// of market data never delays an order by more than the frame in hand).
    fn after_frame(&mut self, engine: &mut Engine<P>);
    /// The engine is stopping: say goodbye to the venue (cancel, disarm) and close.
    fn shutdown(&mut self, engine: &mut Engine<P>);
    /// The order path's connection ends by cause, for the monitor (`None`: no connection).
    fn end_causes(&self) -> Option<EndCauses> {
        None
    }
    /// At each telemetry tick, when taps are attached: publish the order path's figures into
    /// its telemetry ring, if it has one. Never blocks: a full ring drops.
    #[inline]
    fn telemetry(&mut self) {}
    /// Whether its orders carry the decoded and applied stamps of the frame that triggered them
    /// (the tick-to-trade breakdown). Then the engine takes those stamps on every frame instead
    /// of on one in [`crate::stages::DETAIL_SAMPLE_EVERY`], so that every order has them.
    fn stamps_trigger_frames(&self) -> bool {
        false
    }
}

/// An order path chosen at start-up: `None` is [`NoOrderLink`].
impl<P: Publisher, L: OrderLink<P>> OrderLink<P> for Option<L> {
    #[inline]
    fn poll(&mut self, engine: &mut Engine<P>) {
        if let Some(link) = self {
            link.poll(engine);
        }
    }
    #[inline]
    fn after_frame(&mut self, engine: &mut Engine<P>) {
        if let Some(link) = self {
            link.after_frame(engine);
        }
    }
    fn shutdown(&mut self, engine: &mut Engine<P>) {
        if let Some(link) = self {
            link.shutdown(engine);
        }
    }
    fn end_causes(&self) -> Option<EndCauses> {
        self.as_ref().and_then(|link| link.end_causes())
    }
    fn stamps_trigger_frames(&self) -> bool {
        self.as_ref()
            .is_some_and(|link| link.stamps_trigger_frames())
    }
    #[inline]
    fn telemetry(&mut self) {
        if let Some(link) = self {
            link.telemetry();
        }
    }
}

/// No live order entry: strategies' orders go to the publisher's paper model.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoOrderLink;

impl<P: Publisher> OrderLink<P> for NoOrderLink {
    #[inline]
    fn poll(&mut self, _engine: &mut Engine<P>) {}
    #[inline]
    fn after_frame(&mut self, _engine: &mut Engine<P>) {}
    fn shutdown(&mut self, _engine: &mut Engine<P>) {}
}

/// A publisher with no strategies.
pub struct NoStrategies;
impl FeedSink for NoStrategies {}
impl Publisher for NoStrategies {}

/// Everything the core needs, resolved from the configuration at start-up (the connection is
/// its [`Transport`], built separately).
#[derive(Debug, Clone)]
pub struct CoreConfig {
    pub symbols: Vec<SymbolPlan>,
    pub stall_timeout: Duration,
    pub ping_interval: Duration,
    pub connect_timeout: Duration,
    /// A book that was live once and has been resyncing or waiting for its snapshot this long
    /// (while connected) forces a reconnect: the exchange refused or lost the resync.
    pub resync_timeout: Duration,
    pub backoff: BackoffPolicy,
    pub policy: MismatchPolicy,
    pub decoder: DecoderLimits,
    pub seed: u64,
    /// Subscribe `instrument` on every connection even when every precision is known (sent with
    /// the book subscriptions, not waited for), so a precision change announced by the exchange
    /// is followed (the book resubscribes at the new precision) instead of failing every
    /// checksum until a restart.
    pub watch_instrument: bool,
}

impl CoreConfig {
    /// A configuration for `symbols` with kspin's default timers and policies.
    pub fn new(symbols: Vec<SymbolPlan>) -> CoreConfig {
        CoreConfig {
            symbols,
            stall_timeout: Duration::from_secs(10),
            ping_interval: Duration::from_secs(20),
            connect_timeout: Duration::from_secs(5),
            resync_timeout: Duration::from_secs(15),
            backoff: BackoffPolicy::default(),
            policy: MismatchPolicy::default(),
            decoder: DecoderLimits::default(),
            seed: 0,
            watch_instrument: true,
        }
    }

    /// The frame side of this configuration.
    pub fn engine_config(&self) -> EngineConfig {
        EngineConfig {
            symbols: self.symbols.clone(),
            decoder: self.decoder,
            policy: self.policy,
            mode: FeedMode::Live,
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Waiting for the backoff to expire.
    Waiting { until: Instant },
    /// Connect / TLS / WebSocket handshake under way.
    Handshaking { since: Instant },
    /// Open: waiting for the `instrument` snapshot before subscribing books.
    AwaitingInstrument { since: Instant },
    /// Open and subscribed.
    Streaming,
}

/// How long to wait for the `instrument` snapshot before subscribing anyway (books for symbols
/// without a known precision then wait, counted, until one arrives).
const INSTRUMENT_WAIT: Duration = Duration::from_secs(10);

/// The engine core; see the module docs.
pub struct EngineCore<P: Publisher, T: Transport = WsTransport, O: OrderLink<P> = NoOrderLink> {
    cfg: CoreConfig,
    transport: T,
    orders: O,
    /// A connection attempt is under way or open (the transport must be closed on failure).
    connected: bool,
    phase: Phase,
    engine: Engine<P>,
    backoff: Backoff,
    clock: Clock,
    origin: Instant,
    counters: CoreCounters,
    last_rx: Instant,
    last_tx: Instant,
    last_stats: Instant,
    ping_id: u64,
    instrument_seen: bool,
    needs_instrument: bool,
    ever_connected: bool,
    /// The current connection has proved itself (a book went live, or with no book
    /// subscriptions a frame arrived while streaming); the backoff's failure streak was reset.
    healthy: bool,
    has_books: bool,
    /// Per symbol: since when its book has been waiting (resyncing / awaiting a snapshot).
    waiting_since: Box<[Option<Instant>]>,
    last_deadline_check: Instant,
    /// Book tops and the publisher's and order path's figures, at the tap interval, when
    /// something reads them ([`EngineCore::attach_taps`]).
    telemetry: Option<CoreTelemetry>,
}

/// Why the core could not be built.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error("rendering requests: {0}")]
    Requests(#[from] kspin_core::kraken::request::WriteError),
    #[error("latency histogram: {0}")]
    Histogram(#[from] hdrhistogram::CreationError),
    #[error("connection settings: {0}")]
    Net(#[from] kspin_net::NetError),
    #[error("too many symbols (at most {})", kspin_core::feed::MAX_SYMBOLS)]
    TooManySymbols,
    #[error("{0}")]
    StageRecords(#[from] crate::stage_records::StageRecordError),
}

impl<P: Publisher, T: Transport> EngineCore<P, T> {
    /// Builds the core and every buffer it will use, with no live order entry. Connects on the
    /// first [`EngineCore::poll`].
    pub fn new(
        cfg: CoreConfig,
        publisher: P,
        transport: T,
        clock: Clock,
    ) -> Result<EngineCore<P, T>, CoreError> {
        EngineCore::with_orders(cfg, publisher, transport, NoOrderLink, clock)
    }
}

impl<P: Publisher, T: Transport, O: OrderLink<P>> EngineCore<P, T, O> {
    /// [`EngineCore::new`] with an order path polled in the same loop.
    pub fn with_orders(
        cfg: CoreConfig,
        publisher: P,
        transport: T,
        orders: O,
        clock: Clock,
    ) -> Result<EngineCore<P, T, O>, CoreError> {
        let mut engine = Engine::new(&cfg.engine_config(), publisher, clock.clone())?;
        if orders.stamps_trigger_frames() {
            engine.set_stage_detail_sample_every(1);
        }
        let needs_instrument = cfg.symbols.iter().any(|p| p.precision.is_none());
        let has_books = cfg.symbols.iter().any(|p| p.book);
        let now = clock.now();
        Ok(EngineCore {
            backoff: Backoff::new(cfg.backoff, cfg.seed),
            transport,
            orders,
            connected: false,
            phase: Phase::Waiting { until: now },
            engine,
            clock,
            origin: now,
            counters: CoreCounters::default(),
            last_rx: now,
            last_tx: now,
            last_stats: now,
            ping_id: 1000,
            instrument_seen: false,
            needs_instrument,
            ever_connected: false,
            healthy: false,
            has_books,
            waiting_since: vec![None; cfg.symbols.len()].into_boxed_slice(),
            last_deadline_check: now,
            telemetry: None,
            cfg,
        })
    }

    pub fn feed(&self) -> &Feed {
        self.engine.pipeline().feed()
    }

    /// The pipeline (its counters hold the frames and decode errors).
    pub fn pipeline(&self) -> &Pipeline {
        self.engine.pipeline()
    }

    /// The frame side: pipeline, publisher, stage stamps.
    pub fn engine(&self) -> &Engine<P> {
        &self.engine
    }

    pub fn counters(&self) -> &CoreCounters {
        &self.counters
    }

    /// See [`Engine::latency`].
    pub fn latency(&mut self) -> &LatencyRecorder {
        self.engine.latency()
    }

    /// Per-stage latency of every frame recorded so far (read → decoded → applied →
    /// published); `None` once [`Engine::take_stage_recorder`] handed the recording away.
    pub fn stage_histograms(&mut self) -> Option<&StageHistograms> {
        self.engine.stage_histograms()
    }

    /// See [`Engine::take_stage_recorder`].
    pub fn take_stage_recorder(&mut self) -> Option<crate::stage_records::StageRecorder> {
        self.engine.take_stage_recorder()
    }

    /// Turns the per-stage stamps off (`false`) or on (the default).
    pub fn set_stage_stamps(&mut self, on: bool) {
        self.engine.set_stage_stamps(on);
    }

    pub fn publisher(&self) -> &P {
        self.engine.publisher()
    }

    pub fn publisher_mut(&mut self) -> &mut P {
        self.engine.publisher_mut()
    }

    /// The transport (tests inspect their in-memory one).
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// The order path.
    pub fn orders(&self) -> &O {
        &self.orders
    }

    pub fn orders_mut(&mut self) -> &mut O {
        &mut self.orders
    }

    /// The engine (frame side), mutably (tests drive the order path with it).
    pub fn engine_mut(&mut self) -> &mut Engine<P> {
        &mut self.engine
    }

    /// Ends the core (closing its connection) and hands back its publisher.
    pub fn into_publisher(mut self) -> P {
        self.transport.close();
        self.engine.into_publisher()
    }

    /// Ends the core (closing its connection) and hands back its publisher and order path.
    pub fn into_parts(mut self) -> (P, O) {
        self.transport.close();
        (self.engine.into_publisher(), self.orders)
    }

    /// Attaches the telemetry taps ([`crate::telemetry::taps`]): trades go to `trades` as they
    /// are published, books (and the publisher's and order path's figures) to `books` at its
    /// interval while [`EngineCore::run`] runs, and once more when it stops. Start-up only.
    pub fn attach_taps(&mut self, books: CoreTelemetry, trades: TradeTap) {
        self.telemetry = Some(books);
        self.engine.set_trade_tap(trades);
    }

    /// Runs until `stop` is set, pushing a snapshot into `stats` once a second (and, with taps
    /// attached, telemetry at the taps' interval).
    pub fn run(&mut self, stop: &AtomicBool, stats: &mut Producer<CoreStats>) {
        while !stop.load(Ordering::Relaxed) {
            let now = self.poll_with_telemetry();
            if now.duration_since(self.last_stats) >= Duration::from_secs(1) {
                self.last_stats = now;
                let snapshot = self.snapshot();
                // A full monitor ring only loses a status line.
                let _ = stats.try_push(snapshot);
            }
        }
        self.orders.shutdown(&mut self.engine);
        if self.connected {
            // Counted by cause only: `disconnects` counts the ends nobody asked for.
            self.counters.disconnects_by_cause.add(EndCause::LocalStop);
        }
        self.transport.close();
        self.connected = false;
        // The last telemetry before the last snapshot: a reader that has both has the end state.
        if let Some(t) = &mut self.telemetry {
            t.publish_all_books(self.engine.pipeline().feed());
            self.engine.publisher_telemetry();
            self.orders.telemetry();
        }
        let _ = stats.try_push(CoreStats {
            link: LinkState::Stopped,
            ..self.snapshot()
        });
    }

    /// [`EngineCore::poll`], then the telemetry tick when one is due (with taps attached): one
    /// iteration of [`EngineCore::run`] without the stats. Returns the time it read. Never blocks.
    pub fn poll_with_telemetry(&mut self) -> Instant {
        self.poll();
        let now = self.clock.now();
        if self.telemetry.as_ref().is_some_and(|t| t.due(now)) {
            self.publish_telemetry(now);
        }
        now
    }

    /// One telemetry tick: book tops, the publisher's figures, the order path's figures.
    fn publish_telemetry(&mut self, now: Instant) {
        if let Some(t) = &mut self.telemetry {
            t.publish_books(now, self.engine.pipeline().feed());
            self.engine.publisher_telemetry();
            self.orders.telemetry();
        }
    }

    /// One loop iteration; never blocks.
    pub fn poll(&mut self) {
        self.counters.loops += 1;
        let now = self.clock.now();
        match self.phase {
            Phase::Waiting { until } => {
                if now >= until {
                    self.start_connect(now);
                }
            }
            Phase::Handshaking { since } => self.poll_handshake(now, since),
            Phase::AwaitingInstrument { since } => {
                self.read(now);
                let still_waiting = matches!(self.phase, Phase::AwaitingInstrument { .. });
                if still_waiting
                    && (self.instrument_seen || now.duration_since(since) >= INSTRUMENT_WAIT)
                {
                    self.subscribe_all(now);
                }
            }
            Phase::Streaming => {
                self.read(now);
                self.check_resync_deadlines(now);
            }
        }
        self.engine.service();
        self.orders.poll(&mut self.engine);
    }

    /// A snapshot of the counters for the monitor (also resets the interval latency).
    pub fn snapshot(&mut self) -> CoreStats {
        let feed = self.engine.pipeline().feed();
        let mut s = CoreStats {
            feed: *feed.counters(),
            pipeline: *self.engine.pipeline().counters(),
            core: self.counters,
            link: match self.phase {
                Phase::Waiting { .. } => LinkState::Waiting,
                Phase::Handshaking { .. } => LinkState::Connecting,
                Phase::AwaitingInstrument { .. } | Phase::Streaming => LinkState::Streaming,
            },
            order_link_causes: self.orders.end_causes(),
            ..CoreStats::default()
        };
        s.core.requests_dropped = self.engine.requests().dropped;
        if let Some(t) = &self.telemetry {
            s.taps = t.counters();
        }
        s.taps.trades_dropped = self.engine.trades_dropped();
        s.stage_records_dropped = self.engine.stage_records_dropped();
        for (_, b) in feed.books() {
            match b.state {
                SubscriptionState::Live => s.books_live += 1,
                SubscriptionState::Unsubscribing | SubscriptionState::AwaitingSnapshot => {
                    s.books_resyncing += 1
                }
                _ => {}
            }
        }
        self.engine.latency_mut().take_interval(&mut s);
        s
    }

    fn elapsed(&self, now: Instant) -> Duration {
        now.duration_since(self.origin)
    }

    fn start_connect(&mut self, now: Instant) {
        self.backoff.record_attempt(self.elapsed(now));
        if self.ever_connected {
            self.counters.reconnects += 1;
        }
        self.connected = true;
        match self.transport.connect() {
            Ok(()) => self.phase = Phase::Handshaking { since: now },
            Err(e) => self.fail(now, DisconnectCause::ConnectFailed, EndCause::of(&e)),
        }
    }

    fn poll_handshake(&mut self, now: Instant, since: Instant) {
        match self.transport.poll_handshake() {
            Ok(HandshakeState::Open) => {
                self.counters.connects += 1;
                self.ever_connected = true;
                self.last_rx = now;
                self.last_tx = now;
                self.instrument_seen = false;
                self.healthy = false;
                self.engine.link(true);
                if self.needs_instrument {
                    let bytes = &self.engine.requests().instrument;
                    if let Err(e) = self.transport.send_text(bytes) {
                        self.fail(now, DisconnectCause::Dropped, EndCause::of(&e));
                        return;
                    }
                    self.counters.requests_sent += 1;
                    self.phase = Phase::AwaitingInstrument { since: now };
                } else {
                    self.subscribe_all(now);
                }
            }
            Ok(HandshakeState::InProgress) => {
                if now.duration_since(since) >= self.cfg.connect_timeout {
                    self.fail(
                        now,
                        DisconnectCause::ConnectFailed,
                        EndCause::ConnectTimeout,
                    );
                }
            }
            Err(e) => self.fail(now, DisconnectCause::ConnectFailed, EndCause::of(&e)),
        }
    }

    /// Sends every subscription (exactly once per connection) and starts streaming.
    fn subscribe_all(&mut self, now: Instant) {
        // Every precision known: `instrument` (when watched) goes out with the books instead of
        // holding them back until its snapshot.
        let watch = self.cfg.watch_instrument && !self.needs_instrument;
        let requests = self.engine.requests();
        let instrument = watch.then_some(&requests.instrument);
        for bytes in instrument
            .into_iter()
            .chain(requests.books.iter())
            .chain(requests.others.iter())
        {
            if let Err(e) = self.transport.send_text(bytes) {
                self.fail(now, DisconnectCause::Dropped, EndCause::of(&e));
                return;
            }
            self.counters.requests_sent += 1;
        }
        for (i, p) in self.cfg.symbols.iter().enumerate() {
            if p.book {
                self.engine.feed_mut().subscribe_sent(i);
            }
        }
        self.last_tx = now;
        self.phase = Phase::Streaming;
    }

    /// Reads every available frame and processes it; then requests, flush, timers.
    ///
    /// The first frame of a read is stamped read when the transport hands it over; each later
    /// frame of the same read at the previous frame's published stamp, when the engine was
    /// free to take it (its bytes were in hand by then). So a frame of a burst counts in its
    /// read → published span the time it waited behind the previous frame's end (the order
    /// path's turn, unframing it), and a burst costs one clock read per frame plus one per
    /// read, not two per frame. Read stamps stay one per frame and increasing, as the latency
    /// harness and strategies that join on them need.
    fn read(&mut self, now: Instant) {
        let engine = &mut self.engine;
        let orders = &mut self.orders;
        let clock = &self.clock;
        let mut next_read: Option<u64> = None;
        let result = self.transport.read_frames(|payload| {
            let read = next_read.unwrap_or_else(|| clock.raw());
            next_read = Some(engine.on_frame_stamped(payload, read).1);
            orders.after_frame(engine);
        });
        let tally = self.engine.take_tally();
        self.instrument_seen |= tally.instrument_seen;
        self.counters.maintenance_seen += tally.maintenance_announced;
        self.counters.resync_refused += tally.resync_refused;
        match result {
            Ok(report) => {
                if report.frames > 0 {
                    self.last_rx = now;
                } else {
                    // Nothing to read: record the stage stamps queued meanwhile (off the
                    // frame path; a no-op when another thread records them).
                    self.engine.record_stages();
                }
                self.counters.bytes_read += report.bytes as u64;
                let proved = tally.went_live
                    || (!self.has_books
                        && report.frames > 0
                        && matches!(self.phase, Phase::Streaming));
                if proved && !self.healthy {
                    // A connection that delivered a verified book is healthy: the next drop
                    // starts again with instant retries (PROTOCOL.md §4). One that fails before
                    // this point keeps growing the backoff.
                    self.healthy = true;
                    self.backoff.reset_streak();
                }
            }
            Err(e) => {
                self.fail(now, DisconnectCause::Dropped, EndCause::of(&e));
                return;
            }
        }
        self.send_pending(now);
        if !self.connected {
            return;
        }
        // Timers.
        if now.duration_since(self.last_rx) >= self.cfg.stall_timeout {
            self.counters.stalls += 1;
            self.fail(now, DisconnectCause::Dropped, EndCause::Stall);
            return;
        }
        if now.duration_since(self.last_tx) >= self.cfg.ping_interval {
            self.send_ping(now);
            if !self.connected {
                return;
            }
        }
        if let Err(e) = self.transport.flush() {
            self.fail(now, DisconnectCause::Dropped, EndCause::of(&e));
        }
    }

    /// Queues a `ping` now, outside the ping timer, and returns its `req_id`; the publisher's
    /// `pong` sees it come back after every frame the venue sent before it (a drain barrier for
    /// tests and tools). `None` unless the connection is open. It goes out with the next poll.
    pub fn ping_now(&mut self) -> Option<u64> {
        if !matches!(
            self.phase,
            Phase::Streaming | Phase::AwaitingInstrument { .. }
        ) {
            return None;
        }
        let now = self.clock.now();
        self.send_ping(now)
    }

    fn send_ping(&mut self, now: Instant) -> Option<u64> {
        self.ping_id += 1;
        let ping_id = self.ping_id;
        let bytes = self.engine.requests_mut().ping(ping_id);
        let sent = self.transport.send_text(bytes);
        self.last_tx = now;
        match sent {
            Ok(()) => {
                self.counters.pings_sent += 1;
                Some(ping_id)
            }
            Err(e) => {
                self.fail(now, DisconnectCause::Dropped, EndCause::of(&e));
                None
            }
        }
    }

    fn send_pending(&mut self, now: Instant) {
        if !self.engine.requests().has_pending() {
            return;
        }
        let transport = &mut self.transport;
        let mut failed = None;
        let sent = self.engine.drain_requests(|bytes| {
            failed = transport.send_text(bytes).err();
            failed.is_none()
        });
        self.counters.requests_sent += sent;
        self.last_tx = now;
        if let Some(e) = failed {
            self.fail(now, DisconnectCause::Dropped, EndCause::of(&e));
        }
    }

    /// Once a second: a book that was live once and has been resyncing or awaiting its snapshot
    /// for `resync_timeout` means the exchange refused or lost the resync (an error ack names no
    /// symbol); reconnecting rebuilds every book from fresh snapshots. Books never live yet are
    /// left alone: a symbol the exchange refuses outright must not cause a reconnect loop.
    fn check_resync_deadlines(&mut self, now: Instant) {
        if now.duration_since(self.last_deadline_check) < Duration::from_secs(1) {
            return;
        }
        self.last_deadline_check = now;
        let mut expired = false;
        let feed = self.engine.pipeline().feed();
        for (i, since) in self.waiting_since.iter_mut().enumerate() {
            let waiting = feed.book(i).is_some_and(|b| {
                matches!(
                    b.state,
                    SubscriptionState::Unsubscribing | SubscriptionState::AwaitingSnapshot
                ) && b.counters.snapshots > 0
            });
            if !waiting {
                *since = None;
                continue;
            }
            let start = *since.get_or_insert(now);
            expired |= now.duration_since(start) >= self.cfg.resync_timeout;
        }
        if expired {
            self.counters.resync_timeouts += 1;
            self.fail(now, DisconnectCause::Dropped, EndCause::ChecksumPolicy);
        }
    }

    /// Ends the connection and schedules the next attempt; `end` is counted by cause.
    fn fail(&mut self, now: Instant, cause: DisconnectCause, end: EndCause) {
        // A refused certificate is never retried at once; every failure while the exchange is
        // in maintenance waits as after maintenance (≥ 5 s, PROTOCOL.md §4), whether the read,
        // the connect or the handshake failed.
        let cause = if self.engine.maintenance() {
            DisconnectCause::Maintenance
        } else if end.is_certificate() {
            DisconnectCause::CertificateRejected
        } else {
            cause
        };
        self.waiting_since.fill(None);
        self.transport.close();
        self.connected = false;
        match cause {
            DisconnectCause::ConnectFailed | DisconnectCause::CertificateRejected => {
                self.counters.connect_failures += 1;
                self.counters.connect_failures_by_cause.add(end);
            }
            _ => {
                self.counters.disconnects += 1;
                self.counters.disconnects_by_cause.add(end);
            }
        }
        self.engine.requests_mut().clear_pending();
        self.engine.link(false);
        let delay = self.backoff.next_delay(self.elapsed(now), cause);
        self.phase = Phase::Waiting { until: now + delay };
    }

    /// The connection has been healthy long enough: the next drop starts with instant retries.
    /// The core does this itself as soon as a connection delivers a verified book; this is for
    /// a caller with its own notion of health.
    pub fn connection_healthy(&mut self) {
        self.backoff.reset_streak();
    }
}
