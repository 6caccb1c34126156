//! `kspin soak --faults N [--seed S] [--json]`: the engine against the simulated venue over TLS
//! while faults of every class are injected at random, every published book compared with the
//! venue's independent reference book at the same point.
//!
//! The soak thread drives the engine core itself (one `poll` after another, as the core thread
//! of `kspin run` does), injects one fault at a time ([`faults`]), and polls until the engine
//! shows the fault's effect and every book is live again (recovered) or a minute passes
//! (unrecovered). The publisher ([`checker::CheckedBus`]) is the strategy bus with a judge in
//! front: every book the engine publishes is compared level by level with the venue's
//! [`kspin_sim::RefBook`] after the same frame (through the venue's [`kspin_sim::BookTap`]);
//! a probe strategy ([`probe`]) plays the slow strategy. Reports faults by class, wrong books,
//! panics (a hook counts them on every thread), recoveries, reconnects, the longest recovery,
//! RSS before and after, and whether Kraken's reconnect limits held (≤ 150 attempts in any
//! rolling 10 minutes; ≥ 5 s from a drop in maintenance to the next attempt). Exit code 0 when
//! every target is met, 1 when not, 2 when the soak could not start.
//!
//! It is a test harness, not the engine core: it allocates, locks the tap and formats freely.

mod checker;
mod faults;
mod probe;
mod report;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kspin_core::feed::{MismatchPolicy, SubscriptionState};
use kspin_core::kraken::DecoderLimits;
use kspin_host::{spawn_strategy, Bus, BusError};
use kspin_net::{ConnLimits, Endpoint, TlsSettings, WsTransport};
use kspin_ring::IdlePolicy;
use kspin_runtime::plan::SymbolPlan;
use kspin_runtime::{BackoffPolicy, CoreConfig, EngineCore};
use kspin_sim::{BookTap, SimConfig, SimVenue};

use checker::CheckedBus;
use faults::{Chooser, Expect, FaultClass, Injection, AFTER_MAINTENANCE, ATTEMPT_BUDGET};
use probe::ProbeControl;
pub use report::SoakReport;

/// Arguments of `kspin soak`.
#[derive(Debug, Clone, clap::Args)]
pub struct SoakArgs {
    /// Faults to inject (one at a time, each recovered before the next).
    #[arg(long, value_name = "N")]
    pub faults: u64,
    /// Seed of the fault sequence and of the venue's market.
    #[arg(long, value_name = "S", default_value_t = 1)]
    pub seed: u64,
    /// Print the report as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
    /// Market events per second of the venue (bursts are ×10).
    #[arg(long, value_name = "N", default_value_t = 1_000)]
    pub rate: u32,
    /// No progress lines on stderr.
    #[arg(long)]
    pub quiet: bool,
}

/// Why the soak could not start.
#[derive(Debug, thiserror::Error)]
pub enum SoakError {
    #[error("venue: {0}")]
    Sim(#[from] kspin_sim::SimError),
    #[error("connection settings: {0}")]
    Net(#[from] kspin_net::NetError),
    #[error("engine core: {0}")]
    Core(#[from] kspin_runtime::CoreError),
    #[error("{0}")]
    Strategy(#[from] BusError),
    #[error("precision: {0}")]
    Precision(#[from] super::precision::PrecisionError),
    #[error("the engine never had every book live at the start")]
    NeverLive,
}

/// The books of the soak: three depths, so truncation and refills are checked at each.
const SYMBOLS: [(&str, u16); 3] = [("BTC/USD", 10), ("ETH/USD", 25), ("SOL/USD", 100)];
/// The engine's stall timeout in the soak (the venue sends a heartbeat every second).
const STALL_TIMEOUT: Duration = Duration::from_millis(1_500);
/// How long one fault may take to recover before it counts as unrecovered.
const RECOVERY_BUDGET: Duration = Duration::from_secs(60);
/// Kraken's rolling window of connection attempts (PROTOCOL.md §4).
const WINDOW: Duration = Duration::from_secs(600);
/// Slack when comparing two instants taken around polls (a poll is microseconds; a poll that
/// reads a large frame can take longer).
const CLOCK_SLACK: Duration = Duration::from_millis(50);

/// Panics on any thread since the soak started.
static PANICS: AtomicU64 = AtomicU64::new(0);

/// Runs `kspin soak`; returns the exit code.
pub fn run(args: &SoakArgs) -> i32 {
    match soak(args) {
        Ok(report) => {
            if args.json {
                println!("{}", report.to_json());
            } else {
                print!("{}", report.to_text());
            }
            if report.passed() {
                0
            } else {
                1
            }
        }
        Err(e) => {
            eprintln!("kspin soak: {e}");
            2
        }
    }
}

type Core = EngineCore<CheckedBus, WsTransport>;

/// Connection attempts as the soak thread saw them (after each poll).
#[derive(Default)]
struct Attempts {
    at: Vec<Instant>,
    last_reconnects: u64,
    last_disconnects: u64,
    /// When the connection last ended, as seen after the poll that ended it.
    last_drop: Option<Instant>,
}

impl Attempts {
    fn observe(&mut self, core: &Core) {
        let c = core.counters();
        if c.disconnects > self.last_disconnects {
            self.last_disconnects = c.disconnects;
            self.last_drop = Some(Instant::now());
        }
        if c.reconnects > self.last_reconnects {
            self.last_reconnects = c.reconnects;
            self.at.push(Instant::now());
        }
    }

    fn in_last_window(&self, now: Instant) -> usize {
        self.at
            .iter()
            .rev()
            .take_while(|t| now.duration_since(**t) < WINDOW)
            .count()
    }

    /// The most attempts in any rolling window.
    fn max_in_window(&self) -> usize {
        let mut start = 0;
        let mut max = 0;
        for end in 0..self.at.len() {
            while self.at[end].duration_since(self.at[start]) >= WINDOW {
                start += 1;
            }
            max = max.max(end + 1 - start);
        }
        max
    }
}

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

fn all_live(core: &Core) -> bool {
    core.feed()
        .books()
        .all(|(_, b)| b.state == SubscriptionState::Live)
}

/// One poll, counted panics included (a panicking poll ends the soak).
fn poll(core: &mut Core, attempts: &mut Attempts) -> bool {
    let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| core.poll())).is_ok();
    attempts.observe(core);
    ok
}

/// Polls until `done` holds (checked every few polls) or `budget` runs out; `Err` on a panic.
fn poll_until(
    core: &mut Core,
    attempts: &mut Attempts,
    budget: Duration,
    mut done: impl FnMut(&Core) -> bool,
) -> Result<bool, ()> {
    let start = Instant::now();
    loop {
        for _ in 0..16 {
            if !poll(core, attempts) {
                return Err(());
            }
        }
        if done(core) {
            return Ok(true);
        }
        if start.elapsed() >= budget {
            return Ok(false);
        }
    }
}

fn install_panic_counter() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS.fetch_add(1, Ordering::SeqCst);
        previous(info);
    }));
}

fn plan() -> Result<Vec<SymbolPlan>, SoakError> {
    let mut plan: Vec<SymbolPlan> = SYMBOLS
        .iter()
        .map(|(symbol, depth)| SymbolPlan {
            symbol: (*symbol).to_owned(),
            depth: *depth,
            book: true,
            trade: true,
            ticker: false,
            precision: None,
        })
        .collect();
    super::precision::from_sim_pairs(&mut plan)?;
    Ok(plan)
}

fn core_config(plan: &[SymbolPlan], seed: u64) -> CoreConfig {
    CoreConfig {
        stall_timeout: STALL_TIMEOUT,
        ping_interval: Duration::from_secs(10),
        connect_timeout: Duration::from_secs(2),
        resync_timeout: Duration::from_secs(5),
        backoff: BackoffPolicy {
            instant_retries: 3,
            initial: Duration::from_millis(100),
            max: Duration::from_secs(2),
            after_maintenance: AFTER_MAINTENANCE,
            jitter: 0.2,
            max_attempts_per_window: 140,
        },
        policy: MismatchPolicy::default(),
        decoder: DecoderLimits::default(),
        seed: seed ^ 0x736f_616b,
        watch_instrument: false,
        ..CoreConfig::new(plan.to_vec())
    }
}

fn soak(args: &SoakArgs) -> Result<SoakReport, SoakError> {
    install_panic_counter();
    let started = Instant::now();
    let plan = plan()?;
    let tap = Arc::new(BookTap::new());
    let venue = SimVenue::start(SimConfig {
        tls: true,
        rate_per_sec: args.rate,
        seed: args.seed,
        symbols: plan.iter().map(|p| p.symbol.clone()).collect(),
        book_tap: Some(Arc::clone(&tap)),
        trading: None,
        ..SimConfig::default()
    })?;
    let mut endpoint = Endpoint::parse(&venue.url())?;
    let server_name = endpoint.host.clone();
    endpoint.host = venue.local_addr().ip().to_string();
    let tls = TlsSettings {
        extra_root_pem: venue.cert_pem().map(str::to_owned),
        use_webpki_roots: false,
        server_name_override: Some(server_name),
    };
    let transport = WsTransport::new(&endpoint, &tls, ConnLimits::default())?;

    let control = ProbeControl::default();
    let mut bus = Bus::new(&kspin_host::symbol_infos(&plan));
    // A small ring: a probe asleep for tens of milliseconds overflows it.
    let handle = bus.add_strategy(
        "soak_probe",
        None,
        Box::new(control.strategy()),
        256,
        IdlePolicy::SHARED_CORE,
    )?;
    let strategies_stop = Arc::new(AtomicBool::new(false));
    let host = spawn_strategy(handle, Arc::clone(&strategies_stop))?;
    let publisher = CheckedBus::new(bus, Arc::clone(&tap));
    let mut core = EngineCore::new(
        core_config(&plan, args.seed),
        publisher,
        transport,
        quanta::Clock::new(),
    )?;
    let mut attempts = Attempts::default();

    let mut report = SoakReport::new(args.faults, args.seed);
    let warm = poll_until(&mut core, &mut attempts, Duration::from_secs(30), all_live);
    if warm != Ok(true) {
        return Err(SoakError::NeverLive);
    }
    report.rss_start_kb = rss_kb();
    let mut chooser = Chooser::new(args.seed, STALL_TIMEOUT);
    let mut aborted = false;
    for n in 0..args.faults {
        let room = attempts.in_last_window(Instant::now()) + 5 <= ATTEMPT_BUDGET;
        let injection = chooser.next(room);
        match inject(&mut core, &mut attempts, &venue, &control, &injection) {
            Ok(outcome) => report.record(injection.class, outcome),
            Err(()) => {
                aborted = true;
                break;
            }
        }
        let gap = chooser.gap();
        let streaming = poll_until(&mut core, &mut attempts, gap, |_| false);
        if streaming.is_err() {
            aborted = true;
            break;
        }
        if !args.quiet && (n + 1) % 100 == 0 {
            report.counters = *core.counters();
            report.judgement = core.publisher().judgement().clone();
            eprintln!("kspin soak: {}", report.progress_line(started.elapsed()));
        }
    }
    report.rss_end_kb = rss_kb();
    report.aborted = aborted;
    report.max_attempts_in_window = attempts.max_in_window();
    report.counters = *core.counters();
    report.feed = *core.feed().counters();
    report.decode_errors = core.pipeline().counters().decode_errors;
    report.judgement = core.publisher().judgement().clone();
    report.lanes = core.publisher().bus().strategy_stats();
    report.tap_dropped = tap.dropped();
    drop(core);
    strategies_stop.store(true, Ordering::SeqCst);
    report.host = host.join().ok();
    venue.stop();
    report.panics = PANICS.load(Ordering::SeqCst);
    report.duration = started.elapsed();
    Ok(report)
}

/// What one fault did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub recovered: bool,
    pub recovery: Duration,
    /// Maintenance: from the drop to the next connection attempt.
    pub after_maintenance: Option<Duration>,
}

/// Injects one fault and waits for its recovery; `Err` when a poll panicked.
fn inject(
    core: &mut Core,
    attempts: &mut Attempts,
    venue: &kspin_sim::VenueHandle,
    probe: &ProbeControl,
    injection: &Injection,
) -> Result<Outcome, ()> {
    let before = *core.counters();
    let mismatches = core.feed().counters().checksum_mismatch;
    let decode_errors = core.pipeline().counters().decode_errors;
    let attempts_before = attempts.at.len();
    let start = Instant::now();
    for fault in &injection.venue {
        venue.inject(fault.clone());
    }
    let mut after_maintenance = None;
    if injection.drop_in_maintenance {
        let seen = poll_until(core, attempts, RECOVERY_BUDGET, |c| {
            c.engine().maintenance()
        })?;
        if seen {
            venue.inject(kspin_sim::FaultKind::Drop);
        }
    }
    if let Expect::SlowStrategy(d) = injection.expect {
        probe.stall_next_event(d);
    }
    let effect = match injection.expect {
        Expect::Disconnect => poll_until(core, attempts, RECOVERY_BUDGET, |c| {
            c.counters().disconnects > before.disconnects
        })?,
        Expect::Mismatch => poll_until(core, attempts, RECOVERY_BUDGET, |c| {
            c.feed().counters().checksum_mismatch > mismatches
        })?,
        Expect::DecodeError => poll_until(core, attempts, RECOVERY_BUDGET, |c| {
            c.pipeline().counters().decode_errors > decode_errors
        })?,
        Expect::Window(d) => poll_until(core, attempts, RECOVERY_BUDGET, |_| start.elapsed() >= d)?,
        Expect::SlowStrategy(d) => {
            let taken = poll_until(core, attempts, RECOVERY_BUDGET, |_| {
                probe.stall_taken() && start.elapsed() >= d
            })?;
            let handled = probe.handled();
            taken
                && poll_until(core, attempts, RECOVERY_BUDGET, |_| {
                    probe.handled() > handled
                })?
        }
    };
    let recovered = effect && poll_until(core, attempts, RECOVERY_BUDGET, all_live)?;
    if injection.drop_in_maintenance {
        if let (Some(drop), Some(next)) = (attempts.last_drop, attempts.at.get(attempts_before)) {
            after_maintenance = Some(next.saturating_duration_since(drop));
        }
    }
    Ok(Outcome {
        recovered,
        recovery: start.elapsed(),
        after_maintenance,
    })
}

/// The slack allowed when checking the gap after maintenance.
pub(crate) fn after_maintenance_floor() -> Duration {
    AFTER_MAINTENANCE.saturating_sub(CLOCK_SLACK)
}

/// Every class's name (the keys of `faults_injected`).
pub(crate) fn class_names() -> impl Iterator<Item = &'static str> {
    FaultClass::ALL.iter().map(|c| c.name())
}
