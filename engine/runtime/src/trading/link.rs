//! [`TradingLink`]: the authenticated connection (`wss://ws-auth.kraken.com/v2`), busy-polled by
//! the engine core in the same loop as market data, with the [`TradingSession`] behind it.
//!
//! One connection attempt: a fresh token from the [`TokenSource`] (fetched off the core), the
//! transport's handshake, then `executions` and `balances` subscribed; the first executions
//! snapshot is reconciled and orders may go out. While open: every frame is decoded (its own
//! decoder and arena) and handed to the session; a stall, a refused subscription or any
//! connection error ends the connection, the session is told (orders wait in its table for the
//! next reconciliation) and the next attempt follows the same [`Backoff`] rules as market data;
//! a `ping` keeps a quiet connection open and the dead man's switch is refreshed on its timer.
//! Strategies' orders are taken from their intent rings every loop iteration and after every
//! market-data frame ([`OrderLink::after_frame`]): an order waits for at most the frame in hand.
//!
//! Invariants: after construction nothing here allocates (updates for strategies wait in a fixed
//! outbox; requests the session makes while a read is in progress wait in a fixed buffer); no
//! secret leaves the session's writer; time comes from the injected clock only, so every timer is
//! tested on virtual time with an in-memory transport.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use kspin_api::{OrderMessage, OrderUpdate};
use kspin_auth::TokenFailure;
use kspin_core::kraken::request::write_ping;
use kspin_core::kraken::{Decoder, DecoderLimits, Message};
use kspin_core::trading::session::{OrderStage, SessionIo, TradingSession};
use kspin_net::{HandshakeState, Transport};
use quanta::{Clock, Instant};

use super::latency::{OrderLatency, OrderPoint, OrderStamps};
use super::telemetry::TradingTapWriter;
use super::token::TokenSource;
use crate::backoff::{Backoff, BackoffPolicy, DisconnectCause};
use crate::cause::{CauseCounts, EndCause, EndCauses};
use crate::driver::{OrderLink, Publisher};
use crate::engine::{Engine, RecentFrames};
use crate::stages::Stage;

/// Updates for strategies the link holds between handing them to the publisher.
pub const OUTBOX_CAPACITY: usize = 4096;
/// Bytes of requests the session may make while a read is in progress (reconciliation cancels).
const DEFERRED_BYTES: usize = 64 << 10;

/// How the link behaves (resolved from the config).
#[derive(Debug, Clone)]
pub struct TradingLinkConfig {
    pub stall_timeout: Duration,
    pub ping_interval: Duration,
    pub connect_timeout: Duration,
    /// How long to wait for a token before the attempt counts as failed.
    pub token_timeout: Duration,
    /// How long after the handshake the executions snapshot must have come.
    pub subscribe_timeout: Duration,
    pub backoff: BackoffPolicy,
    pub seed: u64,
    /// How often the dead man's switch is refreshed (well inside its timeout).
    pub dead_man_refresh: Duration,
    /// Cancel every open order on an orderly exit.
    pub cancel_on_exit: bool,
    pub decoder: DecoderLimits,
    /// Nanoseconds since the Unix epoch at the clock's reading when the link is built (the
    /// session's time: rate-counter ages, GTD expiries).
    pub epoch_ns: u64,
}

impl TradingLinkConfig {
    /// kspin's defaults (timers as for market data; the dead man's switch refreshed every 20 s).
    pub fn new(epoch_ns: u64) -> TradingLinkConfig {
        TradingLinkConfig {
            stall_timeout: Duration::from_secs(10),
            ping_interval: Duration::from_secs(20),
            connect_timeout: Duration::from_secs(5),
            token_timeout: Duration::from_secs(15),
            subscribe_timeout: Duration::from_secs(10),
            backoff: BackoffPolicy::default(),
            seed: 0,
            dead_man_refresh: Duration::from_secs(20),
            cancel_on_exit: true,
            decoder: DecoderLimits::default(),
            epoch_ns,
        }
    }
}

/// The link's own counters (the session counts orders).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkCounters {
    pub token_requests: u64,
    /// Tokens that could not be had, by kind.
    pub token_unreachable: u64,
    pub token_refused: u64,
    pub token_bad_response: u64,
    pub token_timeouts: u64,
    pub connects: u64,
    pub connect_failures: u64,
    pub disconnects: u64,
    /// `connect_failures` by cause (an attempt that never opened).
    pub connect_failures_by_cause: CauseCounts,
    /// `disconnects` by cause.
    pub disconnects_by_cause: CauseCounts,
    pub stalls: u64,
    /// Subscriptions the venue refused (a bad or expired token).
    pub subscribe_refused: u64,
    pub pings_sent: u64,
    pub frames: u64,
    pub decode_errors: u64,
    /// Updates for strategies lost because the outbox or the strategy's queue was full.
    pub updates_lost: u64,
    /// Requests made during a read that did not fit the deferred buffer.
    pub deferred_dropped: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Waiting {
        until: Instant,
    },
    Token {
        since: Instant,
        seq: u64,
    },
    Handshaking {
        since: Instant,
    },
    /// Open; subscribed; waiting for (or past) the executions snapshot.
    Open {
        since: Instant,
    },
}

/// Where the link currently is (for status lines and tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TradingLinkState {
    Waiting,
    FetchingToken,
    Connecting,
    /// Connected and subscribed; orders wait for the executions snapshot.
    Reconciling,
    /// Orders go out.
    Ready,
}

/// Fixed FIFO of (strategy, update).
struct Outbox {
    items: Box<[(u16, OrderUpdate)]>,
    head: usize,
    len: usize,
}

impl Outbox {
    fn new() -> Outbox {
        let filler = OrderUpdate::accepted(kspin_api::ClientOrderId(0), kspin_api::SymbolId(0));
        Outbox {
            items: vec![(0, filler); OUTBOX_CAPACITY].into_boxed_slice(),
            head: 0,
            len: 0,
        }
    }

    fn push(&mut self, strategy: usize, update: OrderUpdate) -> bool {
        if self.len == self.items.len() {
            return false;
        }
        let i = (self.head + self.len) % self.items.len();
        self.items[i] = (strategy as u16, update);
        self.len += 1;
        true
    }

    fn pop(&mut self) -> Option<(u16, OrderUpdate)> {
        if self.len == 0 {
            return None;
        }
        let item = self.items[self.head];
        self.head = (self.head + 1) % self.items.len();
        self.len -= 1;
        Some(item)
    }
}

/// The session's I/O while orders are taken: writes go straight to the socket (and are flushed
/// at once), stages are stamped.
struct DirectIo<'a, T: Transport> {
    transport: &'a mut T,
    connected: bool,
    /// A write failed: the connection is gone.
    failed: bool,
    clock: &'a Clock,
    stamps: OrderStamps,
    outbox: &'a mut Outbox,
    lost: &'a mut u64,
}

impl<T: Transport> SessionIo for DirectIo<'_, T> {
    #[inline]
    fn send(&mut self, frame: &[u8]) -> bool {
        if !self.connected || self.failed {
            return false;
        }
        let ok = self.transport.send_text(frame).is_ok() && self.transport.flush().is_ok();
        if ok {
            self.stamps.set(OrderPoint::Written, self.clock.raw());
        } else {
            self.failed = true;
        }
        ok
    }

    #[inline]
    fn update(&mut self, strategy: usize, update: OrderUpdate) {
        if !self.outbox.push(strategy, update) {
            *self.lost += 1;
        }
    }

    #[inline]
    fn stage(&mut self, stage: OrderStage) {
        let point = match stage {
            OrderStage::RiskPassed => OrderPoint::RiskPassed,
            OrderStage::Encoded => OrderPoint::Encoded,
        };
        self.stamps.set(point, self.clock.raw());
    }
}

/// The session's I/O while the connection is being read (the transport is busy): requests wait
/// in a fixed buffer, written when the read is over.
struct DeferredIo<'a> {
    buf: &'a mut [u8],
    len: &'a mut usize,
    outbox: &'a mut Outbox,
    lost: &'a mut u64,
    dropped: &'a mut u64,
}

impl SessionIo for DeferredIo<'_> {
    fn send(&mut self, frame: &[u8]) -> bool {
        let start = *self.len;
        let end = start + 4 + frame.len();
        match self.buf.get_mut(start..end) {
            Some(dst) => {
                dst[..4].copy_from_slice(&(frame.len() as u32).to_le_bytes());
                dst[4..].copy_from_slice(frame);
                *self.len = end;
                true
            }
            None => {
                *self.dropped += 1;
                false
            }
        }
    }

    fn update(&mut self, strategy: usize, update: OrderUpdate) {
        if !self.outbox.push(strategy, update) {
            *self.lost += 1;
        }
    }
}

/// See the module docs.
pub struct TradingLink<T: Transport, K: TokenSource> {
    cfg: TradingLinkConfig,
    transport: T,
    tokens: K,
    session: TradingSession,
    decoder: Decoder,
    phase: Phase,
    connected: bool,
    /// The current connection reached a reconciled session.
    healthy: bool,
    /// What the publisher was last told about the order path (`Publisher::order_link`).
    told_ready: bool,
    backoff: Backoff,
    clock: Clock,
    origin: Instant,
    origin_raw: u64,
    last_rx: Instant,
    last_tx: Instant,
    /// When the dead man's switch was last refreshed on this connection.
    last_dead_man: Option<Instant>,
    token_seq: u64,
    /// The token fetched for the attempt under way (handed to the session once open).
    token: Option<kspin_auth::WsToken>,
    kill: Arc<AtomicBool>,
    /// The kill switch's `cancel_all` went out on the current connection.
    kill_sent: bool,
    outbox: Outbox,
    deferred: Box<[u8]>,
    deferred_len: usize,
    latency: OrderLatency,
    counters: LinkCounters,
    ping_buf: [u8; 64],
    ping_id: u64,
    /// Where [`OrderLink::telemetry`] publishes, when something reads it.
    taps: Option<TradingTapWriter>,
}

impl<T: Transport, K: TokenSource> TradingLink<T, K> {
    /// Builds the link and every buffer it uses. `kill` is the kill switch (a signal handler or
    /// a command sets it). Connects on the first poll.
    pub fn new(
        cfg: TradingLinkConfig,
        session: TradingSession,
        transport: T,
        tokens: K,
        kill: Arc<AtomicBool>,
        clock: Clock,
    ) -> Result<TradingLink<T, K>, hdrhistogram::CreationError> {
        let now = clock.now();
        Ok(TradingLink {
            backoff: Backoff::new(cfg.backoff, cfg.seed),
            decoder: Decoder::new(cfg.decoder),
            transport,
            tokens,
            session,
            phase: Phase::Waiting { until: now },
            connected: false,
            healthy: false,
            told_ready: false,
            origin: now,
            origin_raw: clock.raw(),
            last_rx: now,
            last_tx: now,
            last_dead_man: None,
            token_seq: 0,
            token: None,
            kill,
            kill_sent: false,
            outbox: Outbox::new(),
            deferred: vec![0; DEFERRED_BYTES].into_boxed_slice(),
            deferred_len: 0,
            latency: OrderLatency::new()?,
            counters: LinkCounters::default(),
            ping_buf: [0; 64],
            ping_id: 1 << 40,
            taps: None,
            clock,
            cfg,
        })
    }

    pub fn session(&self) -> &TradingSession {
        &self.session
    }

    /// Publishes the link's figures into `taps` at every telemetry tick
    /// ([`super::telemetry`]). Start-up only.
    pub fn attach_taps(&mut self, taps: TradingTapWriter) {
        self.taps = Some(taps);
    }

    pub fn counters(&self) -> &LinkCounters {
        &self.counters
    }

    pub fn latency(&self) -> &OrderLatency {
        &self.latency
    }

    pub fn transport(&self) -> &T {
        &self.transport
    }

    pub fn tokens(&self) -> &K {
        &self.tokens
    }

    pub fn state(&self) -> TradingLinkState {
        match self.phase {
            Phase::Waiting { .. } => TradingLinkState::Waiting,
            Phase::Token { .. } => TradingLinkState::FetchingToken,
            Phase::Handshaking { .. } => TradingLinkState::Connecting,
            Phase::Open { .. } if self.session.is_ready() => TradingLinkState::Ready,
            Phase::Open { .. } => TradingLinkState::Reconciling,
        }
    }

    /// The session's time now: ns since the Unix epoch.
    fn now_ns(&self) -> u64 {
        let elapsed = self.clock.delta_as_nanos(self.origin_raw, self.clock.raw());
        self.cfg.epoch_ns.saturating_add(elapsed)
    }

    fn elapsed(&self, now: Instant) -> Duration {
        now.duration_since(self.origin)
    }

    fn direct_io(&mut self) -> (DirectIo<'_, T>, &mut TradingSession) {
        let io = DirectIo {
            transport: &mut self.transport,
            connected: self.connected && matches!(self.phase, Phase::Open { .. }),
            failed: false,
            clock: &self.clock,
            stamps: OrderStamps::default(),
            outbox: &mut self.outbox,
            lost: &mut self.counters.updates_lost,
        };
        (io, &mut self.session)
    }

    /// Ends the connection and schedules the next attempt; `end` is counted by cause.
    fn fail(&mut self, now: Instant, cause: DisconnectCause, end: EndCause) {
        let was_open = matches!(self.phase, Phase::Open { .. });
        // A refused certificate is never retried at once.
        let cause = if end.is_certificate() {
            DisconnectCause::CertificateRejected
        } else {
            cause
        };
        self.transport.close();
        self.connected = false;
        self.healthy = false;
        self.token = None;
        self.kill_sent = false;
        self.last_dead_man = None;
        self.deferred_len = 0;
        match cause {
            DisconnectCause::ConnectFailed | DisconnectCause::CertificateRejected if !was_open => {
                self.counters.connect_failures += 1;
                self.counters.connect_failures_by_cause.add(end);
            }
            _ => {
                self.counters.disconnects += 1;
                self.counters.disconnects_by_cause.add(end);
            }
        }
        let mut io = DeferredIo {
            buf: &mut [],
            len: &mut 0,
            outbox: &mut self.outbox,
            lost: &mut self.counters.updates_lost,
            dropped: &mut 0,
        };
        self.session.link_down(&mut io);
        let delay = self.backoff.next_delay(self.elapsed(now), cause);
        self.phase = Phase::Waiting { until: now + delay };
    }

    fn start_attempt(&mut self, now: Instant) {
        self.backoff.record_attempt(self.elapsed(now));
        self.token_seq += 1;
        if self.tokens.request(self.token_seq) {
            self.counters.token_requests += 1;
        }
        self.phase = Phase::Token {
            since: now,
            seq: self.token_seq,
        };
    }

    fn poll_token(&mut self, now: Instant, since: Instant, seq: u64) {
        match self.tokens.poll() {
            Some(reply) if reply.seq == seq => match reply.result {
                Ok(token) => {
                    self.token = Some(token);
                    self.connected = true;
                    match self.transport.connect() {
                        Ok(()) => self.phase = Phase::Handshaking { since: now },
                        Err(e) => self.fail(now, DisconnectCause::ConnectFailed, EndCause::of(&e)),
                    }
                }
                Err(failure) => {
                    match failure {
                        TokenFailure::Unreachable => self.counters.token_unreachable += 1,
                        TokenFailure::Refused => self.counters.token_refused += 1,
                        TokenFailure::BadResponse => self.counters.token_bad_response += 1,
                    }
                    self.fail(now, DisconnectCause::ConnectFailed, EndCause::TokenFailed);
                    // No instant retries against a REST endpoint that just failed (a refused key
                    // stays refused): at least the backoff's first delay.
                    if let Phase::Waiting { until } = self.phase {
                        let floor = now + self.cfg.backoff.initial;
                        self.phase = Phase::Waiting {
                            until: until.max(floor),
                        };
                    }
                }
            },
            Some(_) => {} // an answer to an abandoned request
            None if now.duration_since(since) >= self.cfg.token_timeout => {
                self.counters.token_timeouts += 1;
                self.fail(now, DisconnectCause::ConnectFailed, EndCause::TokenFailed);
            }
            None => {}
        }
    }

    fn poll_handshake(&mut self, now: Instant, since: Instant) {
        match self.transport.poll_handshake() {
            Ok(HandshakeState::Open) => {
                self.counters.connects += 1;
                self.last_rx = now;
                self.last_tx = now;
                self.phase = Phase::Open { since: now };
                let token = self.token.take();
                let text = token.as_ref().map_or("", |t| t.as_str());
                let (mut io, session) = self.direct_io();
                let subscribed = session.link_up(text.as_bytes(), &mut io);
                if !subscribed || io.failed {
                    self.fail(now, DisconnectCause::Dropped, EndCause::IoError);
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

    /// Reads and handles every frame available; then the deferred requests and the timers.
    fn read(&mut self, now: Instant, since: Instant) {
        let now_ns = self.now_ns();
        let mut refused = false;
        let decoder = &mut self.decoder;
        let session = &mut self.session;
        let counters = &mut self.counters;
        let mut io = DeferredIo {
            buf: &mut self.deferred,
            len: &mut self.deferred_len,
            outbox: &mut self.outbox,
            lost: &mut counters.updates_lost,
            dropped: &mut counters.deferred_dropped,
        };
        let mut frames = 0u64;
        let mut decode_errors = 0u64;
        let result = self.transport.read_frames(|payload| {
            frames += 1;
            match decoder.decode(payload) {
                Ok(Message::Subscribed(ack)) if !ack.success => refused = true,
                Ok(msg) => session.on_message(&msg, now_ns, &mut io),
                Err(_) => decode_errors += 1,
            }
        });
        self.counters.frames += frames;
        self.counters.decode_errors += decode_errors;
        if frames > 0 {
            self.last_rx = now;
        }
        if let Err(e) = result {
            return self.fail(now, DisconnectCause::Dropped, EndCause::of(&e));
        }
        if refused {
            self.counters.subscribe_refused += 1;
            return self.fail(
                now,
                DisconnectCause::ConnectFailed,
                EndCause::SubscribeRefused,
            );
        }
        self.send_deferred(now);
        if !self.connected {
            return;
        }
        if now.duration_since(self.last_rx) >= self.cfg.stall_timeout {
            self.counters.stalls += 1;
            return self.fail(now, DisconnectCause::Dropped, EndCause::Stall);
        }
        if !self.session.is_ready() && now.duration_since(since) >= self.cfg.subscribe_timeout {
            self.counters.subscribe_refused += 1;
            return self.fail(
                now,
                DisconnectCause::ConnectFailed,
                EndCause::SubscribeRefused,
            );
        }
        if self.session.is_ready() {
            if !self.healthy {
                // Reconciled: the connection proved itself; the next drop retries at once.
                self.healthy = true;
                self.backoff.reset_streak();
            }
            self.healthy_timers(now);
        }
        if now.duration_since(self.last_tx) >= self.cfg.ping_interval {
            self.ping_id += 1;
            let sent = write_ping(&mut self.ping_buf, Some(self.ping_id))
                .ok()
                .and_then(|n| self.ping_buf.get(..n))
                .is_some_and(|bytes| self.transport.send_text(bytes).is_ok());
            self.last_tx = now;
            if !sent {
                return self.fail(now, DisconnectCause::Dropped, EndCause::IoError);
            }
            self.counters.pings_sent += 1;
        }
    }

    /// Timers of a reconciled connection: the kill switch's cancel-all (once per connection)
    /// and the dead man's switch.
    fn healthy_timers(&mut self, now: Instant) {
        let killed = self.kill.load(Ordering::Relaxed) || self.session.is_killed();
        if killed && !self.kill_sent {
            let (mut io, session) = self.direct_io();
            let sent = session.kill(&mut io);
            let failed = io.failed;
            self.kill_sent = sent;
            self.last_tx = now;
            if failed {
                return self.fail(now, DisconnectCause::Dropped, EndCause::IoError);
            }
        }
        let due = self
            .last_dead_man
            .is_none_or(|at| now.duration_since(at) >= self.cfg.dead_man_refresh);
        if due {
            let (mut io, session) = self.direct_io();
            let sent = session.refresh_dead_man(&mut io);
            let failed = io.failed;
            if sent {
                self.last_tx = now;
            }
            self.last_dead_man = Some(now);
            if failed {
                self.fail(now, DisconnectCause::Dropped, EndCause::IoError);
            }
        }
    }

    /// Writes the requests the session made during the read.
    fn send_deferred(&mut self, now: Instant) {
        let mut at = 0;
        let mut failed = None;
        while at + 4 <= self.deferred_len {
            let mut len = [0u8; 4];
            len.copy_from_slice(&self.deferred[at..at + 4]);
            let len = u32::from_le_bytes(len) as usize;
            let Some(frame) = self.deferred.get(at + 4..at + 4 + len) else {
                break;
            };
            if !self.connected {
                failed = Some(EndCause::IoError);
                break;
            }
            if let Err(e) = self.transport.send_text(frame) {
                failed = Some(EndCause::of(&e));
                break;
            }
            self.last_tx = now;
            at += 4 + len;
        }
        self.deferred_len = 0;
        if let (Some(end), true) = (failed, self.connected) {
            self.fail(now, DisconnectCause::Dropped, end);
        }
    }

    /// Takes every waiting order from the strategies and hands it to the session; the order
    /// updates it produced go to the publisher.
    fn take_orders<P: Publisher>(&mut self, engine: &mut Engine<P>) {
        let now_ns = self.now_ns();
        let (feed, publisher, recent) = engine.order_view();
        let ready = self.session.is_ready();
        if ready != self.told_ready {
            // Strategies hear when orders can go out, and when they cannot.
            self.told_ready = ready;
            publisher.order_link(ready);
        }
        let connected = self.connected && matches!(self.phase, Phase::Open { .. });
        let failed = {
            let clock = &self.clock;
            let session = &mut self.session;
            let latency = &mut self.latency;
            let mut io = DirectIo {
                transport: &mut self.transport,
                connected,
                failed: false,
                clock,
                stamps: OrderStamps::default(),
                outbox: &mut self.outbox,
                lost: &mut self.counters.updates_lost,
            };
            publisher.take_orders(feed, &mut |strategy, message| {
                stamp_trigger(&mut io.stamps, message, &recent, clock.raw());
                session.on_request(strategy, message, feed, now_ns, &mut io);
                if io.stamps.get(OrderPoint::Written) != 0 {
                    latency.record(clock, &io.stamps);
                }
            });
            io.failed
        };
        self.flush_updates(publisher);
        if failed {
            let now = self.clock.now();
            self.fail(now, DisconnectCause::Dropped, EndCause::IoError);
        }
    }

    fn flush_updates<P: Publisher>(&mut self, publisher: &mut P) {
        while let Some((strategy, update)) = self.outbox.pop() {
            if !publisher.order_update(usize::from(strategy), update) {
                self.counters.updates_lost += 1;
            }
        }
    }
}

/// The stamps an order carries from before the link took it.
#[inline]
fn stamp_trigger(s: &mut OrderStamps, m: &OrderMessage, recent: &RecentFrames<'_>, now: u64) {
    s.clear();
    s.set(OrderPoint::Read, m.trigger_tsc);
    if let Some(frame) = recent.find(m.trigger_tsc) {
        s.set(OrderPoint::Decoded, frame.get(Stage::Decoded));
        s.set(OrderPoint::Applied, frame.get(Stage::Applied));
    }
    s.set(OrderPoint::Published, m.trigger_publish_tsc);
    s.set(OrderPoint::Received, m.received_tsc);
    s.set(OrderPoint::Submitted, m.submit_tsc);
    s.set(OrderPoint::Dequeued, now);
}

impl<P: Publisher, T: Transport, K: TokenSource> OrderLink<P> for TradingLink<T, K> {
    /// Orders carry their trigger frame's decoded and applied stamps ([`stamp_trigger`]).
    fn stamps_trigger_frames(&self) -> bool {
        true
    }

    fn poll(&mut self, engine: &mut Engine<P>) {
        let now = self.clock.now();
        match self.phase {
            Phase::Waiting { until } => {
                if now >= until {
                    self.start_attempt(now);
                }
            }
            Phase::Token { since, seq } => self.poll_token(now, since, seq),
            Phase::Handshaking { since } => self.poll_handshake(now, since),
            Phase::Open { since } => self.read(now, since),
        }
        if self.kill.load(Ordering::Relaxed) && !self.session.is_killed() {
            // Not connected (or not reconciled yet): refuse from now on; the cancel-all goes
            // out once the connection is reconciled (and the venue's dead man's switch covers
            // the gap).
            let mut io = DeferredIo {
                buf: &mut [],
                len: &mut 0,
                outbox: &mut self.outbox,
                lost: &mut self.counters.updates_lost,
                dropped: &mut 0,
            };
            let sent = self.session.kill(&mut io);
            debug_assert!(!sent, "an empty deferred buffer takes no request");
        }
        self.take_orders(engine);
        let open = self.connected && matches!(self.phase, Phase::Open { .. });
        if open {
            if let Err(e) = self.transport.flush() {
                self.fail(now, DisconnectCause::Dropped, EndCause::of(&e));
            }
        }
    }

    #[inline]
    fn after_frame(&mut self, engine: &mut Engine<P>) {
        self.take_orders(engine);
    }

    fn shutdown(&mut self, engine: &mut Engine<P>) {
        self.take_orders(engine);
        if self.connected && matches!(self.phase, Phase::Open { .. }) {
            let cancel = self.cfg.cancel_on_exit;
            let (mut io, session) = self.direct_io();
            session.shutdown(cancel, &mut io);
            // Bounded: a socket that will not drain is closed anyway.
            for _ in 0..10_000 {
                match self.transport.flush() {
                    Ok(kspin_net::FlushState::Pending) => std::hint::spin_loop(),
                    _ => break,
                }
            }
        }
        self.transport.close();
        self.connected = false;
        let (_, publisher, _) = engine.order_view();
        self.flush_updates(publisher);
    }

    fn end_causes(&self) -> Option<EndCauses> {
        Some(EndCauses {
            disconnects: self.counters.disconnects_by_cause,
            connect_failures: self.counters.connect_failures_by_cause,
        })
    }
    fn telemetry(&mut self) {
        let state = self.state();
        if let Some(taps) = &mut self.taps {
            taps.publish(state, &self.counters, &self.session, &self.latency);
        }
    }
}
