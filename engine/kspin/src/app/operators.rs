//! The operators' view of `kspin run`: the `--metrics`, `--tui`, `--log-format` and `--log-file`
//! options ([`OperatorArgs`]) and [`Operators`], which attaches the engine core's telemetry taps
//! at start-up and runs everything that reads them on one thread of its own: the collector
//! (snapshot for `/metrics`, `/snapshot` and the dashboard), the structured events derived from
//! the counters, and the strategy log lines (every one to the log file, the console's share
//! rate-limited and summarised).
//!
//! Owns that thread, the metrics server, the in-process dashboard and the logging guard.
//! Invariants: the engine core only ever pushes into rings (taps, the stats ring the monitor
//! forwards): nothing here can make it wait; the thread wakes every [`TICK`], so a slow disk or
//! terminal delays only it; [`Operators::finish`] runs after the core and the strategies have
//! stopped and takes their last figures and lines before the summary is printed.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use kspin_host::{Bus, LogDrain};
use kspin_net::WsTransport;
use kspin_ring::Consumer;
use kspin_runtime::telemetry::taps;
use kspin_runtime::trading::trading_taps;
use kspin_runtime::{CoreStats, EngineCore, TapConfig};
use kspin_telemetry::model::HostCheck;
use kspin_telemetry::{
    Collector, CollectorSetup, EventLog, MetricsServer, SharedSnapshot, Snapshot,
};

use super::logging::{self, LogFormat, LogGuard, StrategyConsole, CONFIG_TARGET, STRATEGY_TARGET};
use super::trading::LiveLink;
use crate::config::metrics::parse_listen;
use crate::config::{Config, SymbolPlan};

/// How often the operators' thread wakes.
pub const TICK: Duration = Duration::from_millis(100);
/// Trades kept for the tape, log lines kept, latency points kept (one a second).
const TAPE: usize = 256;
const LOGS: usize = 256;
const HISTORY: usize = 300;
/// The dashboard's redraw interval.
const TUI_INTERVAL: Duration = Duration::from_millis(250);

/// The operators' options of `kspin run`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct OperatorArgs {
    /// Serve Prometheus metrics at http://ADDR/metrics (and /snapshot, what `kspin top` reads).
    /// ADDR: HOST:PORT, :PORT or PORT (loopback); without ADDR 127.0.0.1:9184. Overrides
    /// `[metrics] listen`.
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1:9184")]
    pub metrics: Option<String>,
    /// Keep serving the final metrics SECS seconds after the run ended (a last scrape sees what
    /// the summary says; a second Ctrl-C ends it early). Overrides `[metrics] linger_s`.
    #[arg(long, value_name = "SECS")]
    pub metrics_linger: Option<f64>,
    /// Show the terminal dashboard (`kspin top`) in this terminal while running; `q` stops the
    /// run.
    #[arg(long)]
    pub tui: bool,
    /// Format of log events (console and --log-file).
    #[arg(long, value_enum, default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,
    /// Append every log event to FILE, every strategy log line included (the console shows a
    /// rate-limited share of them).
    #[arg(long, value_name = "FILE")]
    pub log_file: Option<PathBuf>,
}

/// Why the operators' view could not start (exit code 2, like a bad configuration).
#[derive(Debug, thiserror::Error)]
pub enum OperatorsError {
    #[error("{0}")]
    Log(#[from] logging::LogError),
    #[error("--metrics: {0}")]
    Address(String),
    #[error("metrics: {0}")]
    Serve(#[from] kspin_telemetry::ServeError),
    #[error("telemetry rings: {0}")]
    Ring(#[from] kspin_ring::RingError),
    #[error("cannot start the operators' thread: {0}")]
    Spawn(std::io::Error),
    #[error("--tui: {0}")]
    Tui(std::io::Error),
    #[error("--metrics-linger {0}: write seconds between 0 and 86400")]
    Linger(f64),
}

/// The engine core `kspin run` builds.
pub type RunCore = EngineCore<Bus, WsTransport, Option<LiveLink>>;

/// See the module docs.
pub struct Operators {
    stats: Sender<CoreStats>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    shared: SharedSnapshot,
    server: Option<MetricsServer>,
    /// How long the server outlives the run ([`Operators::linger`]).
    linger: Duration,
    tui: Option<super::top::terminal::InProcessTop>,
    _log: LogGuard,
}

/// What the operators' thread owns.
struct Worker {
    collector: Collector,
    drain: Option<LogDrain>,
    stats: Receiver<CoreStats>,
    console: StrategyConsole,
    events: EventLog,
    shared: SharedSnapshot,
    console_suppressed: Arc<AtomicU64>,
    suppressed_reported: u64,
    last_summary: Instant,
}

impl Operators {
    /// Starts logging, attaches the taps to `core` (and its bus and order path), takes the
    /// strategies' log drain, and starts the thread, the metrics server (`--metrics` or
    /// `[metrics] listen`) and the dashboard (`--tui`). `quiet` (`kspin run --quiet`): the
    /// console shows no status lines and, of the engine's own events, warnings and errors only;
    /// strategy lines still show (within the rate limit), and the log file gets everything.
    pub fn start(
        args: &OperatorArgs,
        quiet: bool,
        config: &Config,
        plan: &[SymbolPlan],
        core: &mut RunCore,
        log_drain: Option<LogDrain>,
    ) -> Result<Operators, OperatorsError> {
        let linger_s = args.metrics_linger.unwrap_or(config.metrics.linger_s);
        if !(0.0..=86_400.0).contains(&linger_s) {
            return Err(OperatorsError::Linger(linger_s));
        }
        let log = logging::init(args.log_format, args.log_file.as_deref(), quiet)?;
        if !log.installed {
            eprintln!("kspin: logging was set up earlier in this process; --log-file and --log-format keep their first values");
        }
        let host_checks = config_events(config);
        let (books, trades, reader) = taps(plan.len(), &TapConfig::default())?;
        core.attach_taps(books, trades);
        let lanes = core.publisher_mut().attach_taps()?;
        let mut trading = None;
        if let Some(link) = core.orders_mut() {
            let (writer, reader) = trading_taps(plan.len())?;
            link.attach_taps(writer);
            trading = Some(reader);
        }
        let setup = CollectorSetup {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            symbols: plan.iter().map(|p| p.symbol.clone()).collect(),
            strategies: strategy_names(config),
            host_checks,
            trading_live: trading.is_some(),
            tape_len: TAPE,
            log_len: LOGS,
            history_len: HISTORY,
        };
        let mut collector = Collector::new(setup).with_taps(reader).with_lanes(lanes);
        if let Some(t) = trading {
            collector = collector.with_trading(t);
        }
        let shared: SharedSnapshot = Arc::new(Mutex::new(Arc::new(collector.snapshot())));
        let listen = args
            .metrics
            .clone()
            .or_else(|| config.metrics.listen.clone());
        let server = match listen {
            Some(text) => {
                let addr = parse_listen(&text).map_err(OperatorsError::Address)?;
                let server = MetricsServer::start(&addr.to_string(), Arc::clone(&shared))?;
                let bound = server.local_addr();
                eprintln!("kspin: metrics at http://{bound}/metrics (kspin top --metrics {bound})");
                if !bound.ip().is_loopback() {
                    tracing::warn!(target: CONFIG_TARGET, address = %bound, "metrics served beyond this machine");
                    eprintln!(
                        "kspin: warning: metrics served on {bound}, reachable beyond this machine"
                    );
                }
                Some(server)
            }
            None => None,
        };
        let mut console = StrategyConsole::new(log.file.clone(), Instant::now());
        // `--quiet` hides status lines only (issue 12): strategy lines stay on the console.
        console.enabled = !args.tui;
        let (stats_tx, stats_rx) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let worker = Worker {
            collector,
            drain: log_drain,
            stats: stats_rx,
            console,
            events: EventLog::new(),
            shared: Arc::clone(&shared),
            console_suppressed: Arc::clone(&log.console_suppressed),
            suppressed_reported: 0,
            last_summary: Instant::now(),
        };
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("kspin-operators".into())
            .spawn(move || worker.run(&flag))
            .map_err(OperatorsError::Spawn)?;
        let tui = if args.tui {
            Some(
                super::top::terminal::InProcessTop::start(
                    Arc::clone(&shared),
                    TUI_INTERVAL,
                    super::signals::interrupt,
                )
                .map_err(OperatorsError::Tui)?,
            )
        } else {
            None
        };
        Ok(Operators {
            stats: stats_tx,
            stop,
            thread: Some(thread),
            shared,
            server,
            linger: Duration::from_secs_f64(linger_s),
            tui,
            _log: log,
        })
    }

    /// One stats snapshot the monitor popped from the core's ring.
    pub fn on_core_stats(&self, s: &CoreStats) {
        // The thread is gone only after `finish`: nothing left to tell it.
        let _ = self.stats.send(*s);
    }

    /// The run is over (core and strategies joined): forwards what is left in the stats ring
    /// and the bus's last lane figures (taken now that the strategies emptied their rings), lets
    /// the thread take them and the last log lines, and gives the terminal back. The metrics
    /// endpoint keeps serving the final snapshot until this is dropped ([`Operators::linger`]).
    pub fn finish(&mut self, stats: &mut Consumer<CoreStats>, bus: &mut Bus) {
        while let Some(s) = stats.try_pop() {
            self.on_core_stats(&s);
        }
        bus.publish_taps();
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        if let Some(mut tui) = self.tui.take() {
            tui.stop();
        }
    }

    /// After the summary: keeps serving the final metrics for the linger time (`--metrics-linger`,
    /// `[metrics] linger_s`), or until the next SIGINT/SIGTERM.
    pub fn linger(&self) {
        let Some(server) = &self.server else {
            return;
        };
        if self.linger.is_zero() {
            return;
        }
        eprintln!(
            "kspin: serving the final metrics at http://{}/metrics for {:.1}s more (Ctrl-C ends it)",
            server.local_addr(),
            self.linger.as_secs_f64()
        );
        super::signals::clear_interrupt();
        let until = Instant::now() + self.linger;
        while Instant::now() < until && !super::signals::interrupted() {
            std::thread::sleep(TICK);
        }
    }

    /// The latest snapshot.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        match self.shared.lock() {
            Ok(s) => Arc::clone(&s),
            Err(p) => Arc::clone(&p.into_inner()),
        }
    }

    /// Where the metrics are served, if they are.
    pub fn metrics_addr(&self) -> Option<std::net::SocketAddr> {
        self.server.as_ref().map(MetricsServer::local_addr)
    }
}

impl Drop for Operators {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Worker {
    fn run(mut self, stop: &AtomicBool) {
        loop {
            // Read the flag first: a pass after it was set takes everything sent before it.
            let last = stop.load(Ordering::SeqCst);
            self.pass(last);
            if last {
                break;
            }
            std::thread::sleep(TICK);
        }
    }

    /// One pass: stats, taps, log lines, events, the published snapshot.
    fn pass(&mut self, last: bool) {
        let mut new_stats = false;
        while let Ok(s) = self.stats.try_recv() {
            self.collector.absorb_core(&s);
            new_stats = true;
        }
        self.collector.poll();
        let now = Instant::now();
        let mut print = |line: &str| eprintln!("{line}");
        if let Some(drain) = self.drain.as_mut() {
            let (collector, console) = (&mut self.collector, &mut self.console);
            drain.drain(usize::MAX, |strategy, record, text| {
                let shown = console.line(strategy, text, now, &mut print);
                let symbol = record.symbol.map(|s| s.0);
                tracing::info!(target: STRATEGY_TARGET, strategy, label = record.schema.label, symbol, "{text}");
                collector.add_log(strategy, text, shown);
            });
        }
        self.console.summarise(now, last, &mut print);
        let suppressed = self.console_suppressed.load(Ordering::Relaxed);
        if suppressed > self.suppressed_reported
            && (last || now.duration_since(self.last_summary) >= logging::SUMMARY_EVERY)
        {
            eprintln!(
                "kspin: {} log event(s) not shown on the console (rate limit){}",
                suppressed - self.suppressed_reported,
                if self.console.file_name().is_some() {
                    "; all of them are in the log file"
                } else {
                    "; --log-file FILE keeps them all"
                }
            );
            self.suppressed_reported = suppressed;
            self.last_summary = now;
        }
        let snapshot = self.collector.snapshot();
        if new_stats || last {
            self.events.observe(&snapshot);
        }
        match self.shared.lock() {
            Ok(mut s) => *s = Arc::new(snapshot),
            Err(p) => *p.into_inner() = Arc::new(snapshot),
        }
    }
}

/// Strategy names as the `--json` summary keys them (a name configured twice gets `#2`, ...).
fn strategy_names(config: &Config) -> Vec<(String, Option<usize>)> {
    let mut out: Vec<(String, Option<usize>)> = Vec::with_capacity(config.strategies.len());
    for s in &config.strategies {
        let mut key = s.name.clone();
        let mut n = 1;
        while out.iter().any(|(k, _)| *k == key) {
            n += 1;
            key = format!("{}#{n}", s.name);
        }
        out.push((key, s.core));
    }
    out
}

/// The host checks for the configured cores (what `kspin tune check` says), each warning and
/// core-plan issue logged as one event (the console printed them already at start-up).
fn config_events(config: &Config) -> Vec<HostCheck> {
    let engine_core = config.engine.core;
    let strategy_cores: Vec<usize> = config.strategies.iter().filter_map(|s| s.core).collect();
    let report = kspin_tuning::check::run_checks(&kspin_tuning::check::CheckInput {
        root: "/".into(),
        engine_core: Some(engine_core),
        strategy_cores: strategy_cores.clone(),
        irq_sample: None,
    });
    for f in &report.findings {
        if matches!(
            f.verdict,
            kspin_tuning::check::Verdict::Warn | kspin_tuning::check::Verdict::Fail
        ) {
            tracing::warn!(target: CONFIG_TARGET, check = f.id, verdict = f.verdict.as_str(), found = %f.found, wanted = %f.wanted, fix = %f.fix, "host check");
        }
    }
    for issue in kspin_tuning::cores::validate_core_plan(
        std::path::Path::new("/"),
        engine_core,
        &strategy_cores,
        config.engine.allow_smt_siblings,
    ) {
        tracing::warn!(target: CONFIG_TARGET, issue = %issue, "core plan");
    }
    let cores = core_affinity::get_core_ids().map_or(0, |c| c.len());
    let busy = 1 + strategy_cores.len() + usize::from(config.venue.url == "sim");
    if cores < busy {
        tracing::warn!(target: CONFIG_TARGET, cores, busy_threads = busy, "busy threads share cores");
    }
    report
        .findings
        .iter()
        .map(|f| HostCheck {
            id: f.id.to_owned(),
            verdict: f.verdict.as_str().to_owned(),
            found: f.found.clone(),
            fix: f.fix.clone(),
        })
        .collect()
}
