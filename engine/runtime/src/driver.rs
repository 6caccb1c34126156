//! The engine core: one thread that owns the exchange connection, the decoder, the feed and the
//! publisher, and busy-polls them.
//!
//! One loop iteration: check the stop flag; drive the connection (wait out the backoff, connect,
//! handshake, or read every available frame and for each one decode → feed → book → checksum →
//! publish); send the requests the feed asked for; check the stall and ping timers; let the
//! publisher service its strategies; once a second, push a [`CoreStats`] snapshot into the monitor
//! ring. Nothing in it sleeps, locks or formats, and after start-up nothing allocates except a
//! reconnect (which builds a new connection and its buffers, once per reconnect).
//!
//! Recovery is part of the loop: any connection error, a stall (no frame for `stall_timeout`), or a
//! connect/handshake timeout ends the connection, marks every book stale, and schedules the next
//! attempt with [`Backoff`] (instant retries after a random drop, ≥ 5 s after maintenance, never
//! more than 150 attempts per 10 minutes; a connection that delivers a verified book resets the
//! failure streak). On reconnect every subscription is sent again exactly once and every book is
//! rebuilt from its fresh snapshot.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use kspin_ring::Producer;
use quanta::{Clock, Instant};

use super::backoff::{Backoff, BackoffPolicy, DisconnectCause};
use super::frame::{CoreSink, FrameCtx, ReadTally};
use super::requests::{PendingRequest, Requests};
use super::stages::{FrameStamps, StageClock, StageHistograms};
use super::stats::{CoreCounters, CoreStats, LatencyRecorder, LinkState};
use crate::plan::SymbolPlan;
use kspin_core::feed::{Feed, FeedMode, FeedOptions, FeedSink, MismatchPolicy, SubscriptionState};
use kspin_core::kraken::{Decoder, DecoderLimits};
use kspin_net::{ConnLimits, ConnectPlan, Connection, Endpoint, HandshakeState, TlsSettings};

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
}

/// A publisher with no strategies.
pub struct NoStrategies;
impl FeedSink for NoStrategies {}
impl Publisher for NoStrategies {}

/// Everything the core needs, resolved from the configuration at start-up.
#[derive(Debug, Clone)]
pub struct CoreConfig {
    pub endpoint: Endpoint,
    pub tls: TlsSettings,
    pub limits: ConnLimits,
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
pub struct EngineCore<P: Publisher> {
    cfg: CoreConfig,
    /// Resolved addresses and TLS configuration, prepared at start-up: reconnecting does no DNS
    /// lookup and no certificate parsing on the core while a cached address remains.
    plan: ConnectPlan,
    conn: Option<Connection>,
    phase: Phase,
    decoder: Decoder,
    feed: Feed,
    publisher: P,
    requests: Requests,
    backoff: Backoff,
    clock: Clock,
    origin: Instant,
    counters: CoreCounters,
    latency: LatencyRecorder,
    stages: StageClock,
    stage_histograms: StageHistograms,
    last_rx: Instant,
    last_tx: Instant,
    last_stats: Instant,
    frame_no: u64,
    ping_id: u64,
    maintenance: bool,
    instrument_seen: bool,
    needs_instrument: bool,
    ever_connected: bool,
    /// The current connection has proved itself (a book went live, or with no book
    /// subscriptions a frame arrived while streaming); the backoff's failure streak was reset.
    healthy: bool,
    has_books: bool,
    tally: ReadTally,
    /// Per symbol: since when its book has been waiting (resyncing / awaiting a snapshot).
    waiting_since: Box<[Option<Instant>]>,
    last_deadline_check: Instant,
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
}

impl<P: Publisher> EngineCore<P> {
    /// Builds the core and every buffer it will use. Connects on the first [`EngineCore::poll`].
    pub fn new(cfg: CoreConfig, publisher: P, clock: Clock) -> Result<EngineCore<P>, CoreError> {
        let mut feed = Feed::new(FeedOptions {
            mode: FeedMode::Live,
            policy: cfg.policy,
            default_depth: 10,
            forced_depth: None,
            infer_precision: false,
            add_unknown_symbols: false,
        });
        for p in &cfg.symbols {
            feed.add_symbol(&p.symbol, usize::from(p.depth), p.precision);
        }
        let requests = Requests::render(&cfg.symbols)?;
        let needs_instrument = cfg.symbols.iter().any(|p| p.precision.is_none());
        let has_books = cfg.symbols.iter().any(|p| p.book);
        let now = clock.now();
        Ok(EngineCore {
            decoder: Decoder::new(cfg.decoder),
            backoff: Backoff::new(cfg.backoff, cfg.seed),
            latency: LatencyRecorder::new()?,
            plan: ConnectPlan::new(&cfg.endpoint, &cfg.tls)?,
            stages: StageClock::new(clock.clone()),
            stage_histograms: StageHistograms::new()?,
            conn: None,
            phase: Phase::Waiting { until: now },
            feed,
            publisher,
            requests,
            clock,
            origin: now,
            counters: CoreCounters::default(),
            last_rx: now,
            last_tx: now,
            last_stats: now,
            frame_no: 0,
            ping_id: 1000,
            maintenance: false,
            instrument_seen: false,
            needs_instrument,
            ever_connected: false,
            healthy: false,
            has_books,
            tally: ReadTally::default(),
            waiting_since: vec![None; cfg.symbols.len()].into_boxed_slice(),
            last_deadline_check: now,
            cfg,
        })
    }

    pub fn feed(&self) -> &Feed {
        &self.feed
    }

    pub fn counters(&self) -> &CoreCounters {
        &self.counters
    }

    pub fn latency(&self) -> &LatencyRecorder {
        &self.latency
    }

    /// Per-stage latency of every frame so far (read → decoded → applied → published).
    pub fn stage_histograms(&self) -> &StageHistograms {
        &self.stage_histograms
    }

    /// Turns the per-stage stamps off (`false`) or on (the default). Off, only the read and
    /// done stamps of [`EngineCore::latency`] are taken; used to measure what stamping costs.
    pub fn set_stage_stamps(&mut self, on: bool) {
        self.stages.set_enabled(on);
    }

    /// Processes one frame exactly as if it had just been read from the connection, without a
    /// connection: for replaying a capture through the engine-core path. `recv_tsc` is what the
    /// publisher's `on_frame` is told (the recorded receive time); stage stamps use the clock now.
    /// Resync requests the feed asks for are dropped (there is nobody to send them to).
    pub fn replay_frame(&mut self, recv_tsc: u64, payload: &[u8]) {
        let (_, _, mut frame) = self.split_for_frames();
        let t0 = frame.sink.stages.clock().raw();
        frame.process(recv_tsc, t0, payload);
        if self.requests.has_pending() {
            self.requests.clear_pending();
        }
    }

    /// Replays a recorded link change: down marks every book stale exactly as a live disconnect
    /// does; both are told to the publisher.
    pub fn replay_link(&mut self, up: bool) {
        if !up {
            self.feed.disconnected(&mut self.publisher);
        }
        self.publisher.link(up);
    }

    /// Gives the publisher its per-iteration turn (lag catch-up, intents) between replayed
    /// frames, as `poll` does between reads.
    pub fn replay_service(&mut self) {
        self.publisher.service(&self.feed);
    }

    pub fn publisher(&self) -> &P {
        &self.publisher
    }

    pub fn publisher_mut(&mut self) -> &mut P {
        &mut self.publisher
    }

    /// Ends the core (closing its connection) and hands back its publisher.
    pub fn into_publisher(self) -> P {
        self.publisher
    }

    /// Runs until `stop` is set, pushing a snapshot into `stats` once a second.
    pub fn run(&mut self, stop: &AtomicBool, stats: &mut Producer<CoreStats>) {
        while !stop.load(Ordering::Relaxed) {
            self.poll();
            let now = self.clock.now();
            if now.duration_since(self.last_stats) >= Duration::from_secs(1) {
                self.last_stats = now;
                let snapshot = self.snapshot();
                // A full monitor ring only loses a status line.
                let _ = stats.try_push(snapshot);
            }
        }
        if let Some(conn) = self.conn.as_mut() {
            conn.close();
        }
        let _ = stats.try_push(CoreStats {
            link: LinkState::Stopped,
            ..self.snapshot()
        });
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
        self.publisher.service(&self.feed);
    }

    /// A snapshot of the counters for the monitor (also resets the interval latency).
    pub fn snapshot(&mut self) -> CoreStats {
        let mut s = CoreStats {
            feed: *self.feed.counters(),
            core: self.counters,
            link: match self.phase {
                Phase::Waiting { .. } => LinkState::Waiting,
                Phase::Handshaking { .. } => LinkState::Connecting,
                Phase::AwaitingInstrument { .. } | Phase::Streaming => LinkState::Streaming,
            },
            ..CoreStats::default()
        };
        s.core.requests_dropped = self.requests.dropped;
        for (_, b) in self.feed.books() {
            match b.state {
                SubscriptionState::Live => s.books_live += 1,
                SubscriptionState::Unsubscribing | SubscriptionState::AwaitingSnapshot => {
                    s.books_resyncing += 1
                }
                _ => {}
            }
        }
        self.latency.take_interval(&mut s);
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
        match Connection::connect_planned(&mut self.plan, self.cfg.limits) {
            Ok(conn) => {
                self.conn = Some(conn);
                self.phase = Phase::Handshaking { since: now };
            }
            Err(_) => self.fail(now, DisconnectCause::ConnectFailed),
        }
    }

    fn poll_handshake(&mut self, now: Instant, since: Instant) {
        let Some(conn) = self.conn.as_mut() else {
            self.fail(now, DisconnectCause::ConnectFailed);
            return;
        };
        match conn.poll_handshake() {
            Ok(HandshakeState::Open) => {
                self.plan.attempt_succeeded();
                self.counters.connects += 1;
                self.ever_connected = true;
                self.last_rx = now;
                self.last_tx = now;
                self.instrument_seen = false;
                self.healthy = false;
                self.publisher.link(true);
                if self.needs_instrument {
                    let bytes = &self.requests.instrument;
                    if conn.send_text(bytes).is_err() {
                        self.fail(now, DisconnectCause::Dropped);
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
                    self.fail(now, DisconnectCause::ConnectFailed);
                }
            }
            Err(_) => self.fail(now, DisconnectCause::ConnectFailed),
        }
    }

    /// Sends every subscription (exactly once per connection) and starts streaming.
    fn subscribe_all(&mut self, now: Instant) {
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        // Every precision known: `instrument` (when watched) goes out with the books instead of
        // holding them back until its snapshot.
        let watch = self.cfg.watch_instrument && !self.needs_instrument;
        let instrument = watch.then_some(&self.requests.instrument);
        for bytes in instrument
            .into_iter()
            .chain(self.requests.books.iter())
            .chain(self.requests.others.iter())
        {
            if conn.send_text(bytes).is_err() {
                self.fail(now, DisconnectCause::Dropped);
                return;
            }
            self.counters.requests_sent += 1;
        }
        for (i, p) in self.cfg.symbols.iter().enumerate() {
            if p.book {
                self.feed.subscribe_sent(i);
            }
        }
        self.last_tx = now;
        self.phase = Phase::Streaming;
    }

    /// Splits the core's borrows: the connection, the clock, and what processing a frame touches
    /// (shared by live reads and replayed frames).
    fn split_for_frames(&mut self) -> (Option<&mut Connection>, &Clock, FrameCtx<'_, P>) {
        let symbols = self.cfg.symbols.len();
        let EngineCore {
            conn,
            decoder,
            feed,
            publisher,
            requests,
            counters,
            latency,
            clock,
            stages,
            stage_histograms,
            frame_no,
            maintenance,
            instrument_seen,
            tally,
            ..
        } = self;
        let frame = FrameCtx {
            decoder,
            feed,
            sink: CoreSink {
                publisher,
                requests,
                maintenance,
                instrument_seen,
                tally,
                symbols,
                stages,
            },
            counters,
            latency,
            stage_histograms,
            frame_no,
        };
        (conn.as_mut(), clock, frame)
    }

    /// Reads every available frame and processes it; then requests, flush, timers.
    fn read(&mut self, now: Instant) {
        self.tally = ReadTally::default();
        let (conn, clock, mut frame) = self.split_for_frames();
        let Some(conn) = conn else {
            return;
        };
        let result = conn.read_frames(|payload| {
            let t0 = clock.raw();
            frame.process(t0, t0, payload);
        });
        match result {
            Ok(report) => {
                if report.frames > 0 {
                    self.last_rx = now;
                }
                self.counters.bytes_read += report.bytes as u64;
                self.counters.maintenance_seen += self.tally.maintenance_announced;
                self.counters.resync_refused += self.tally.resync_refused;
                let proved = self.tally.went_live
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
            Err(_) => {
                self.fail(now, DisconnectCause::Dropped);
                return;
            }
        }
        self.send_pending(now);
        // Timers.
        if now.duration_since(self.last_rx) >= self.cfg.stall_timeout {
            self.counters.stalls += 1;
            self.fail(now, DisconnectCause::Dropped);
            return;
        }
        if now.duration_since(self.last_tx) >= self.cfg.ping_interval {
            self.send_ping(now);
        }
        let flushed = self.conn.as_mut().map(|c| c.flush());
        if let Some(Err(_)) = flushed {
            self.fail(now, DisconnectCause::Dropped);
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
        let bytes = self.requests.ping(ping_id);
        let sent = match self.conn.as_mut() {
            Some(conn) => conn.send_text(bytes).is_ok(),
            None => false,
        };
        self.last_tx = now;
        if sent {
            self.counters.pings_sent += 1;
            Some(ping_id)
        } else {
            None
        }
    }

    fn send_pending(&mut self, now: Instant) {
        if !self.requests.has_pending() {
            return;
        }
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        let EngineCore {
            requests,
            feed,
            counters,
            ..
        } = self;
        requests.drain(|request, bytes| {
            if conn.send_text(bytes).is_err() {
                return false;
            }
            counters.requests_sent += 1;
            if let PendingRequest::SubscribeBook(s) = request {
                feed.subscribe_sent(s);
            }
            true
        });
        self.last_tx = now;
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
        for (i, since) in self.waiting_since.iter_mut().enumerate() {
            let waiting = self.feed.book(i).is_some_and(|b| {
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
            self.fail(now, DisconnectCause::Dropped);
        }
    }

    /// Ends the connection and schedules the next attempt.
    fn fail(&mut self, now: Instant, cause: DisconnectCause) {
        // Every failure while the exchange is in maintenance waits as after maintenance (≥ 5 s,
        // PROTOCOL.md §4), whether the read, the connect or the handshake failed.
        let cause = if self.maintenance {
            DisconnectCause::Maintenance
        } else {
            cause
        };
        self.waiting_since.fill(None);
        if let Some(mut conn) = self.conn.take() {
            conn.close();
        }
        match cause {
            DisconnectCause::ConnectFailed => {
                self.plan.attempt_failed();
                self.counters.connect_failures += 1;
            }
            _ => self.counters.disconnects += 1,
        }
        self.requests.clear_pending();
        self.feed.disconnected(&mut self.publisher);
        self.publisher.link(false);
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
