//! A Kraken venue on an in-memory transport and a virtual clock, for testing the driver's
//! recovery to the millisecond: [`VirtualRun`] owns an [`EngineCore`] over a [`MemoryTransport`]
//! with a mocked `quanta::Clock`, and a [`VirtualVenue`] that answers its requests (acks,
//! snapshots, pongs, the instrument list) with frames written by the simulated venue's writers
//! and checksums from the venue's own reference book (`kspin_sim::RefBook`, which shares no code
//! with the engine).
//!
//! [`VirtualRun::step`] is one millisecond: set the clock, poll the core once, let the venue
//! answer what was sent. A frame the venue queues at `t` is read by the poll at `t + 1`.
//! Connection attempts are stamped with the virtual time at which they happened.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use kspin_api::{Price, Qty};
use kspin_core::book::{ApplyReport, FixedLevel, OrderBook};
use kspin_core::feed::{FeedSink, MismatchPolicy, StaleReason};
use kspin_core::kraken::{BookData, DecoderLimits, StatusMsg, UpdateKind};
use kspin_net::memory::{memory_transport, AttemptOutcome, MemoryPeer, MemoryTransport};
use kspin_net::NetError;
use kspin_runtime::plan::SymbolPlan;
use kspin_runtime::{BackoffPolicy, CoreConfig, EngineCore, FrameStamps, Publisher, Stage};
use kspin_sim::frames::{self, ReqTimes};
use kspin_sim::pairs::find_pair;
use kspin_sim::{RefBook, SimPair};
use serde_json::Value;

/// What the publisher saw, in order, with the virtual time (ms) it saw it at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    Link(bool),
    Live(usize),
    Stale(usize, StaleReason),
    Mismatch(usize),
    Maintenance,
}

/// A publisher that logs what the core tells it.
#[derive(Debug, Default)]
pub struct Log {
    pub now_ms: u64,
    pub seen: Vec<(u64, Seen)>,
    pub updates: u64,
    pub pongs: Vec<Option<u64>>,
    /// Each frame's receive stamp and the read and published stamps it finished with, when
    /// `stamps` is on.
    pub stamps: bool,
    pub frames: Vec<(u64, u64, u64)>,
    /// Mock time to spend after each frame's end (the virtual clock and the amount), to tell a
    /// stamp taken per frame from one taken per read.
    pub frame_done_advance: Option<(Arc<quanta::Mock>, Duration)>,
    received: u64,
}

impl FeedSink for Log {
    fn book_updated(
        &mut self,
        _symbol: usize,
        _book: &OrderBook,
        _data: &BookData<'_>,
        _levels: &[FixedLevel],
        _kind: UpdateKind,
        _report: &ApplyReport,
    ) {
        self.updates += 1;
    }
    fn checksum_mismatch(&mut self, symbol: usize, _computed: u32, _expected: u32) {
        self.seen.push((self.now_ms, Seen::Mismatch(symbol)));
    }
    fn book_stale(&mut self, symbol: usize, reason: StaleReason) {
        self.seen.push((self.now_ms, Seen::Stale(symbol, reason)));
    }
    fn book_live(&mut self, symbol: usize, _book: &OrderBook) {
        self.seen.push((self.now_ms, Seen::Live(symbol)));
    }
    fn status(&mut self, status: &StatusMsg<'_>) {
        if status.system == kspin_core::kraken::SystemStatus::Maintenance {
            self.seen.push((self.now_ms, Seen::Maintenance));
        }
    }
    fn pong(&mut self, req_id: Option<u64>) {
        self.pongs.push(req_id);
    }
}

impl Publisher for Log {
    fn link(&mut self, up: bool) {
        self.seen.push((self.now_ms, Seen::Link(up)));
    }

    fn on_frame(&mut self, recv_tsc: u64, _payload: &[u8]) {
        self.received = recv_tsc;
    }

    fn frame_done(&mut self, stamps: &FrameStamps) {
        if self.stamps {
            let (read, published) = (stamps.get(Stage::Read), stamps.get(Stage::Published));
            self.frames.push((self.received, read, published));
        }
        if let Some((mock, advance)) = &self.frame_done_advance {
            mock.increment(*advance);
        }
    }
}

/// How the venue answers.
#[derive(Debug, Clone, Copy)]
pub struct Answers {
    pub subscribe: bool,
    pub unsubscribe: bool,
    pub ping: bool,
    /// Send a heartbeat every this many ms while connected (0: never).
    pub heartbeat_ms: u64,
}

impl Default for Answers {
    fn default() -> Self {
        Answers {
            subscribe: true,
            unsubscribe: true,
            ping: true,
            heartbeat_ms: 0,
        }
    }
}

/// The venue's side: the true book of each symbol and how it answers requests.
pub struct VirtualVenue {
    pub peer: MemoryPeer,
    pub pairs: Vec<&'static SimPair>,
    pub truth: Vec<RefBook>,
    pub depth: u16,
    pub answers: Answers,
    /// Every request the engine sent: (virtual ms, connection, JSON).
    pub requests: Vec<(u64, u32, Value)>,
    step: i64,
    last_heartbeat: u64,
}

fn times() -> ReqTimes {
    ReqTimes {
        time_in: 1_700_000_000_000_000,
        time_out: 1_700_000_000_000_000,
    }
}

impl VirtualVenue {
    fn new(peer: MemoryPeer, symbols: &[&str], depth: u16) -> VirtualVenue {
        let pairs: Vec<&'static SimPair> = symbols
            .iter()
            .map(|s| find_pair(s).expect("a pair the simulated venue lists"))
            .collect();
        let truth = pairs
            .iter()
            .map(|p| {
                let mut book = RefBook::new(usize::from(depth), p.price_precision, p.qty_precision);
                let unit = 10i64.pow(u32::from(p.price_precision));
                let mid = 1_000 * unit;
                let bids: Vec<_> = (1..=i64::from(depth))
                    .map(|k| (Price(mid - k), Qty(100_000_000 + k)))
                    .collect();
                let asks: Vec<_> = (1..=i64::from(depth))
                    .map(|k| (Price(mid + k), Qty(200_000_000 + k)))
                    .collect();
                book.apply(true, &bids, &asks);
                book
            })
            .collect();
        VirtualVenue {
            peer,
            pairs,
            truth,
            depth,
            answers: Answers::default(),
            requests: Vec::new(),
            step: 0,
            last_heartbeat: 0,
        }
    }

    pub fn send(&self, text: &str) {
        self.peer.push_text(text);
    }

    fn index(&self, symbol: &str) -> Option<usize> {
        self.pairs.iter().position(|p| p.symbol == symbol)
    }

    /// Answers everything the engine sent since the last call.
    pub fn serve(&mut self, now_ms: u64) {
        for sent in self.peer.take_sent() {
            let Ok(request) = serde_json::from_str::<Value>(&sent.text) else {
                continue;
            };
            self.requests
                .push((now_ms, sent.connection, request.clone()));
            let method = request["method"].as_str().unwrap_or("");
            let id = request["req_id"].to_string();
            let channel = request["params"]["channel"].as_str().unwrap_or("");
            let symbols: Vec<String> = request["params"]["symbol"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            match (method, channel) {
                ("ping", _) if self.answers.ping => {
                    let mut out = String::new();
                    frames::pong(&mut out, times(), Some(&id));
                    self.send(&out);
                }
                ("subscribe", "instrument") => {
                    let mut out = String::new();
                    frames::instrument(&mut out, &self.pairs);
                    self.send(&out);
                }
                ("subscribe", "book") if self.answers.subscribe => {
                    for s in &symbols {
                        self.ack("subscribe", s, &id);
                    }
                    for s in &symbols {
                        if let Some(i) = self.index(s) {
                            self.snapshot(i);
                        }
                    }
                }
                ("unsubscribe", "book") if self.answers.unsubscribe => {
                    for s in &symbols {
                        self.ack("unsubscribe", s, &id);
                    }
                }
                _ => {}
            }
        }
        if self.answers.heartbeat_ms > 0
            && self.peer.open_connection().is_some()
            && now_ms >= self.last_heartbeat + self.answers.heartbeat_ms
        {
            self.last_heartbeat = now_ms;
            self.send(frames::HEARTBEAT);
        }
    }

    fn ack(&self, method: &str, symbol: &str, id: &str) {
        let mut result = format!("{{\"channel\":\"book\",\"depth\":{}", self.depth);
        if method == "subscribe" {
            result.push_str(",\"snapshot\":true");
        }
        result.push_str(&format!(",\"symbol\":\"{symbol}\"}}"));
        let mut out = String::new();
        frames::ack_ok(&mut out, method, &result, times(), Some(id));
        self.send(&out);
    }

    /// Sends the true book of `i` as a snapshot.
    pub fn snapshot(&self, i: usize) {
        let bids: Vec<_> = self.truth[i].bids().collect();
        let asks: Vec<_> = self.truth[i].asks().collect();
        let mut out = String::new();
        frames::book(
            &mut out,
            true,
            self.pairs[i],
            &bids,
            &asks,
            self.truth[i].checksum(),
            0,
        );
        self.send(&out);
    }

    /// Changes the true book of `i` by one level and sends the update, its checksum wrong when
    /// `corrupt`.
    pub fn update(&mut self, i: usize, corrupt: bool) {
        self.step += 1;
        let k = self.step;
        let best_bid = self.truth[i].bids().next().map_or(1_000, |(p, _)| p.0);
        let level = [(Price(best_bid - (k % 3)), Qty(300_000_000 + k))];
        self.truth[i].apply(false, &level, &[]);
        let mut checksum = self.truth[i].checksum();
        if corrupt {
            checksum ^= 0x5A5A_0001;
        }
        let mut out = String::new();
        frames::book(&mut out, false, self.pairs[i], &level, &[], checksum, 0);
        self.send(&out);
    }

    /// Sends a `status` frame.
    pub fn status(&self, system: &str) {
        let mut out = String::new();
        frames::status(&mut out, system, 7);
        self.send(&out);
    }

    /// The requests with `method`, as (ms, connection, request).
    pub fn requests_of(&self, method: &str) -> Vec<(u64, u32, &Value)> {
        self.requests
            .iter()
            .filter(|(_, _, r)| r["method"] == method)
            .map(|(t, c, r)| (*t, *c, r))
            .collect()
    }
}

/// A core on virtual time against a [`VirtualVenue`].
pub struct VirtualRun {
    pub core: EngineCore<Log, MemoryTransport>,
    pub venue: VirtualVenue,
    pub clock: Arc<quanta::Mock>,
    pub now_ms: u64,
    /// The virtual time of every connection attempt.
    pub attempts: Vec<u64>,
}

/// A configuration with exact timers: no jitter, Kraken's backoff shape with short delays.
pub fn config(symbols: &[&str], depth: u16) -> CoreConfig {
    let plan = symbols
        .iter()
        .map(|s| {
            let pair = find_pair(s).expect("listed pair");
            SymbolPlan {
                symbol: (*s).to_owned(),
                depth,
                book: true,
                trade: false,
                ticker: false,
                precision: Some((pair.price_precision, pair.qty_precision)),
            }
        })
        .collect();
    CoreConfig {
        stall_timeout: Duration::from_millis(800),
        ping_interval: Duration::from_secs(30),
        connect_timeout: Duration::from_millis(500),
        resync_timeout: Duration::from_millis(3_000),
        backoff: BackoffPolicy {
            instant_retries: 3,
            initial: Duration::from_millis(250),
            max: Duration::from_secs(30),
            after_maintenance: Duration::from_secs(5),
            jitter: 0.0,
            max_attempts_per_window: 150,
        },
        policy: MismatchPolicy::default(),
        decoder: DecoderLimits::default(),
        seed: 3,
        watch_instrument: false,
        ..CoreConfig::new(plan)
    }
}

impl VirtualRun {
    pub fn new(cfg: CoreConfig, symbols: &[&str]) -> VirtualRun {
        let depth = cfg.symbols.first().map_or(10, |p| p.depth);
        let (transport, peer) = memory_transport();
        let (clock, mock) = quanta::Clock::mock();
        let core = EngineCore::new(cfg, Log::default(), transport, clock).expect("core builds");
        VirtualRun {
            core,
            venue: VirtualVenue::new(peer, symbols, depth),
            clock: mock,
            now_ms: 0,
            attempts: Vec::new(),
        }
    }

    /// One millisecond: the clock moves to the next ms, the core polls once, the venue answers.
    /// (The first step polls at 0 ms.)
    pub fn step(&mut self) {
        let before = self.venue.peer.attempts();
        self.core.publisher_mut().now_ms = self.now_ms;
        self.core.poll();
        if self.venue.peer.attempts() > before {
            self.attempts.push(self.now_ms);
        }
        self.venue.serve(self.now_ms);
        self.now_ms += 1;
        self.clock.increment(Duration::from_millis(1));
    }

    /// Steps until the virtual time is `ms` (exclusive).
    pub fn run_until(&mut self, ms: u64) {
        while self.now_ms < ms {
            self.step();
        }
    }

    /// Steps until `done` holds; panics after `limit_ms` of virtual time.
    pub fn run_until_cond(&mut self, limit_ms: u64, mut done: impl FnMut(&VirtualRun) -> bool) {
        let limit = self.now_ms + limit_ms;
        while !done(self) {
            assert!(
                self.now_ms < limit,
                "not within {limit_ms} ms of virtual time"
            );
            self.step();
        }
    }

    /// What the publisher saw.
    pub fn seen(&self) -> &[(u64, Seen)] {
        &self.core.publisher().seen
    }

    pub fn set_outcome(&self, outcome: AttemptOutcome) {
        self.venue.peer.set_outcome(outcome);
    }

    /// Ends the open connection (read error `error`) at the next read.
    pub fn drop_connection(&self, error: NetError) {
        self.venue.peer.end_connection(error);
    }
}
