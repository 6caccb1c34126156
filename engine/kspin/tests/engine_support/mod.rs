//! Shared harness of the live-engine end-to-end tests: an [`EngineCore`] driven on the test
//! thread against the in-process simulated venue (plain or TLS, 127.0.0.1 only), a publisher that
//! records what the core tells it without allocating, bounded polling loops, and the "drain and
//! compare" check (pause the venue, ping, poll up to the pong, compare every book level by level
//! with what the venue says a correct client holds).
//!
//! Waits are hang guards, never timing assertions: every loop has a generous budget and fails
//! with the core's counters when it runs out.

#![allow(dead_code)]

pub mod scripted;

use std::time::{Duration, Instant};

use kspin::book::{ApplyReport, FixedLevel, OrderBook};
use kspin::feed::{FeedSink, MismatchPolicy, StaleReason, SubscriptionState};
use kspin::kraken::{AckMsg, BookData, DecoderLimits, StatusMsg, SystemStatus, UpdateKind};
use kspin::net::{ConnLimits, Endpoint, TlsSettings, WsTransport};
use kspin::runtime::{BackoffPolicy, CoreConfig, EngineCore, Publisher};
use kspin::sim::{SimConfig, SimVenue, VenueHandle};
use kspin_runtime::plan::SymbolPlan;

/// Hang guard of every wait: far beyond anything a loaded 2-core machine needs.
pub const BUDGET: Duration = Duration::from_secs(30);

/// Symbols the recorder keeps per-symbol counts for.
pub const MAX_TEST_SYMBOLS: usize = 16;

/// A publisher that records what the core reports, in fixed-size fields only (it is also used
/// under the counting allocator).
#[derive(Debug, Default)]
pub struct Recorder {
    pub last_pong: Option<u64>,
    pub pongs: u64,
    pub stale: [u32; MAX_TEST_SYMBOLS],
    pub last_stale: [Option<StaleReason>; MAX_TEST_SYMBOLS],
    pub live: [u32; MAX_TEST_SYMBOLS],
    pub mismatches: [u32; MAX_TEST_SYMBOLS],
    pub updates: [u64; MAX_TEST_SYMBOLS],
    /// Book updates handed on in a state that did not pass its checksum (must stay 0 outside
    /// `Unvalidated`): the recorder recomputes the checksum of every published book.
    pub published_unverified: u64,
    pub links_up: u32,
    pub links_down: u32,
    pub error_acks: u32,
    pub maintenance_statuses: u32,
    pub online_statuses: u32,
    pub heartbeats: u64,
    pub trades: u64,
}

impl FeedSink for Recorder {
    fn book_updated(
        &mut self,
        symbol: usize,
        book: &OrderBook,
        data: &BookData<'_>,
        _levels: &[FixedLevel],
        _kind: UpdateKind,
        _report: &ApplyReport,
    ) {
        if let Some(n) = self.updates.get_mut(symbol) {
            *n += 1;
        }
        if data.checksum.is_some_and(|c| c != book.checksum_uncached()) {
            self.published_unverified += 1;
        }
    }
    fn checksum_mismatch(&mut self, symbol: usize, _computed: u32, _expected: u32) {
        if let Some(n) = self.mismatches.get_mut(symbol) {
            *n += 1;
        }
    }
    fn book_stale(&mut self, symbol: usize, reason: StaleReason) {
        if let Some(n) = self.stale.get_mut(symbol) {
            *n += 1;
            self.last_stale[symbol] = Some(reason);
        }
    }
    fn book_live(&mut self, symbol: usize, _book: &OrderBook) {
        if let Some(n) = self.live.get_mut(symbol) {
            *n += 1;
        }
    }
    fn trade(&mut self, _symbol: usize, _trade: &kspin::kraken::Trade<'_>) {
        self.trades += 1;
    }
    fn status(&mut self, status: &StatusMsg<'_>) {
        match status.system {
            SystemStatus::Maintenance => self.maintenance_statuses += 1,
            SystemStatus::Online => self.online_statuses += 1,
            _ => {}
        }
    }
    fn heartbeat(&mut self) {
        self.heartbeats += 1;
    }
    fn pong(&mut self, req_id: Option<u64>) {
        self.pongs += 1;
        self.last_pong = req_id;
    }
    fn error_ack(&mut self, _ack: &AckMsg<'_>) {
        self.error_acks += 1;
    }
}

impl Publisher for Recorder {
    fn link(&mut self, up: bool) {
        if up {
            self.links_up += 1;
        } else {
            self.links_down += 1;
        }
    }
}

pub type Core = EngineCore<Recorder>;

/// Starts a venue trading `symbols` (plain or TLS), frozen until `resume()` when `paused`.
pub fn venue(tls: bool, symbols: &[&str], rate: u32, paused: bool) -> VenueHandle {
    venue_with(SimConfig {
        tls,
        rate_per_sec: rate,
        symbols: symbols.iter().map(|s| s.to_string()).collect(),
        start_paused: paused,
        heartbeat: Duration::from_millis(200),
        ..SimConfig::default()
    })
}

pub fn venue_with(cfg: SimConfig) -> VenueHandle {
    SimVenue::start(cfg).expect("venue starts")
}

/// The endpoint and trust for `venue`, as `kspin run` builds them: connect to 127.0.0.1 and
/// verify the certificate under the name in the URL.
pub fn endpoint_of(venue: &VenueHandle) -> (Endpoint, TlsSettings) {
    let mut endpoint = Endpoint::parse(&venue.url()).unwrap();
    let server_name = endpoint.tls.then(|| endpoint.host.clone());
    endpoint.host = venue.local_addr().ip().to_string();
    let tls = TlsSettings {
        extra_root_pem: venue.cert_pem().map(str::to_owned),
        use_webpki_roots: false,
        server_name_override: server_name,
    };
    (endpoint, tls)
}

/// One book subscription per symbol, with trades; precision learnt from `instrument`.
pub fn plan(symbols: &[(&str, u16)]) -> Vec<SymbolPlan> {
    symbols
        .iter()
        .map(|&(s, depth)| SymbolPlan {
            symbol: s.to_owned(),
            depth,
            book: true,
            trade: true,
            ticker: false,
            precision: None,
        })
        .collect()
}

/// A core configuration and the connection it uses (dereferences to the [`CoreConfig`]).
pub struct TestConfig {
    pub core: CoreConfig,
    pub endpoint: Endpoint,
    pub tls: TlsSettings,
    pub limits: ConnLimits,
}

impl std::ops::Deref for TestConfig {
    type Target = CoreConfig;
    fn deref(&self) -> &CoreConfig {
        &self.core
    }
}

impl std::ops::DerefMut for TestConfig {
    fn deref_mut(&mut self) -> &mut CoreConfig {
        &mut self.core
    }
}

/// A core configuration for tests: short backoff, no jitter, a stall timeout long enough that
/// a loaded machine never trips it (tests of stalls shorten it).
pub fn core_config(venue: &VenueHandle, symbols: &[(&str, u16)]) -> TestConfig {
    let (endpoint, tls) = endpoint_of(venue);
    core_config_for(endpoint, tls, symbols)
}

/// [`core_config`] for any endpoint.
pub fn core_config_for(
    endpoint: Endpoint,
    tls: TlsSettings,
    symbols: &[(&str, u16)],
) -> TestConfig {
    let core = CoreConfig {
        symbols: plan(symbols),
        stall_timeout: Duration::from_secs(10),
        ping_interval: Duration::from_secs(30),
        connect_timeout: Duration::from_secs(5),
        resync_timeout: Duration::from_secs(15),
        backoff: BackoffPolicy {
            instant_retries: 3,
            initial: Duration::from_millis(20),
            max: Duration::from_millis(200),
            after_maintenance: Duration::from_millis(300),
            jitter: 0.0,
            max_attempts_per_window: 150,
        },
        policy: MismatchPolicy::default(),
        decoder: DecoderLimits::default(),
        seed: 11,
        watch_instrument: false,
    };
    TestConfig {
        core,
        endpoint,
        tls,
        limits: ConnLimits::default(),
    }
}

pub fn core(cfg: TestConfig) -> Core {
    let transport = WsTransport::new(&cfg.endpoint, &cfg.tls, cfg.limits).expect("transport");
    EngineCore::new(
        cfg.core,
        Recorder::default(),
        transport,
        quanta::Clock::new(),
    )
    .expect("core builds")
}

/// A one-line account of the core, for failure messages.
pub fn describe(core: &Core) -> String {
    let mut s = format!(
        "core {:?}\nfeed {:?}\n",
        core.counters(),
        core.feed().counters()
    );
    for (name, b) in core.feed().books() {
        s.push_str(&format!("  {name}: {:?} {:?}\n", b.state, b.counters));
    }
    s
}

/// Polls `core` until `done` holds; panics with the counters after [`BUDGET`].
pub fn poll_until(core: &mut Core, what: &str, mut done: impl FnMut(&Core) -> bool) {
    let start = Instant::now();
    let mut n = 0u32;
    while !done(core) {
        core.poll();
        n = n.wrapping_add(1);
        if n % 64 == 0 {
            // Leave the shared 2-core machine some air; the core itself never sleeps.
            std::thread::yield_now();
            assert!(
                start.elapsed() < BUDGET,
                "gave up waiting for {what}\n{}",
                describe(core)
            );
        }
    }
}

/// Polls for `d` (no condition): lets a fault run its course.
pub fn poll_for(core: &mut Core, d: Duration) {
    let until = Instant::now() + d;
    poll_until(core, "time to pass", |_| Instant::now() >= until);
}

pub fn all_live(core: &Core) -> bool {
    core.feed()
        .books()
        .all(|(_, b)| b.state == SubscriptionState::Live)
}

pub fn index_of(core: &Core, symbol: &str) -> usize {
    core.feed()
        .symbols()
        .find(symbol)
        .expect("configured symbol")
}

/// After `venue.pause()`: sends a ping and polls until its pong, so that every frame the venue
/// sent before the pause has been processed.
pub fn drain(core: &mut Core) {
    let mut id = None;
    let start = Instant::now();
    while id.is_none() {
        id = core.ping_now();
        core.poll();
        assert!(start.elapsed() < BUDGET, "cannot ping\n{}", describe(core));
    }
    poll_until(core, "the pong", |c| c.publisher().last_pong == id);
}

/// Asserts every configured book equals, level by level, what the venue says a correct
/// client subscribed at that depth holds now (and is not empty).
pub fn assert_books_exact(core: &Core, venue: &VenueHandle) {
    for (name, b) in core.feed().books() {
        let depth = b.book.depth() as u16;
        let (bids, asks) = venue
            .book_levels(name, depth)
            .expect("venue knows the symbol");
        let mine_b: Vec<_> = b.book.bids().iter().collect();
        let mine_a: Vec<_> = b.book.asks().iter().collect();
        assert!(
            !bids.is_empty() && !asks.is_empty(),
            "{name}: venue book empty"
        );
        assert_eq!(mine_b, bids, "{name} depth {depth}: bids differ");
        assert_eq!(mine_a, asks, "{name} depth {depth}: asks differ");
    }
}

/// Waits until every book is live, freezes the venue, drains, compares every book with the
/// venue's, and resumes.
pub fn settle_and_compare(core: &mut Core, venue: &VenueHandle) {
    poll_until(core, "every book live", all_live);
    venue.pause();
    drain(core);
    assert!(
        all_live(core),
        "a book went stale while draining\n{}",
        describe(core)
    );
    assert_books_exact(core, venue);
    assert_eq!(core.publisher().published_unverified, 0);
    venue.resume();
}

/// Polls until at least `n` more book messages have been processed.
pub fn stream(core: &mut Core, n: u64) {
    let target = core.feed().counters().book_messages + n;
    poll_until(core, "book messages", |c| {
        c.feed().counters().book_messages >= target
    });
}

/// Connects, subscribes and waits until every book is live (venue may be paused).
pub fn start(core: &mut Core) {
    poll_until(core, "every book live after start", all_live);
}

/// [`settle_and_compare`] for the books the engine still maintains (`Live`, or `Unvalidated`:
/// kept and streamed but reported stale); a halted book is skipped (it must be empty).
pub fn settle_and_compare_trusted(core: &mut Core, venue: &VenueHandle) {
    venue.pause();
    drain(core);
    for (name, b) in core.feed().books() {
        if b.state == SubscriptionState::Halted {
            assert!(
                b.book.bids().is_empty() && b.book.asks().is_empty(),
                "{name}"
            );
            continue;
        }
        assert!(
            matches!(
                b.state,
                SubscriptionState::Live | SubscriptionState::Unvalidated
            ),
            "{name} is {:?}\n{}",
            b.state,
            describe(core)
        );
        let depth = b.book.depth() as u16;
        let (bids, asks) = venue
            .book_levels(name, depth)
            .expect("venue knows the symbol");
        assert_eq!(
            b.book.bids().iter().collect::<Vec<_>>(),
            bids,
            "{name} bids"
        );
        assert_eq!(
            b.book.asks().iter().collect::<Vec<_>>(),
            asks,
            "{name} asks"
        );
    }
    venue.resume();
}
