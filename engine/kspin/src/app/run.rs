//! `kspin run`: starts the engine (and, by default, the embedded simulated venue) and reports.
//!
//! This is the command around the engine core, not the core: it reads the configuration, starts
//! the venue, runs the host checks, locks memory, spawns the pinned core thread, and on the main
//! thread prints one status line per second (on stderr) until Ctrl-C or `--duration`, then a
//! summary (text, or one JSON object on stdout with `--json`). It allocates and formats freely;
//! the core thread does neither.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kspin_api::FixedDisplay;
use serde_json::{json, Value};

use kspin_ring::IdlePolicy;

use super::precision::{self, PrecisionError};
use crate::config::{Config, SymbolPlan};
use crate::strategies::build_strategies;
use kspin_api::Registry;
use kspin_core::kraken::DecoderLimits;
use kspin_host::{reports_json, spawn_strategy, strategy_reports, Bus, BusError};
use kspin_net::{ConnLimits, Endpoint, TlsSettings, WsTransport};
use kspin_runtime::stats::DECODE_ERROR_NAMES;
use kspin_runtime::{BackoffPolicy, CoreConfig, CoreStats, EngineCore, LinkState, StageRecorder};
use kspin_sim::{FaultSpec, SimConfig, SimVenue, VenueHandle};

/// Arguments of `kspin run`.
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// Configuration file (default: built-in defaults, which run against the embedded simulated
    /// venue; see kspin.toml in the repository for every key).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Stop after this many seconds (default: run until Ctrl-C).
    #[arg(long, value_name = "SECS")]
    pub duration: Option<f64>,
    /// Print the final summary as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
    /// No per-second status lines.
    #[arg(long)]
    pub quiet: bool,
    /// Trade on the venue: required, together with `mode = "live"` under `[trading]` in the
    /// configuration, before any order leaves for the exchange (paper trading otherwise).
    #[arg(long)]
    pub live: bool,
    /// Metrics, the terminal dashboard and structured logs (`--metrics`, `--tui`, `--log-format`,
    /// `--log-file`).
    #[command(flatten)]
    pub ops: super::operators::OperatorArgs,
    /// Publish verified books, trades, tickers and book statuses to NATS JetStream at this
    /// `nats://` URL (overrides `[nats] url`).
    #[arg(long, value_name = "URL")]
    pub nats: Option<String>,
    /// Run engine shard N only: the symbols `[sharding]` assigns to it.
    #[arg(long, value_name = "N")]
    pub shard: Option<usize>,
}

/// Why `kspin run` could not start.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Config(#[from] crate::config::ConfigError),
    #[error("venue: {0}")]
    Sim(#[from] kspin_sim::SimError),
    #[error("venue.sim.faults: {0}")]
    Fault(String),
    #[error("venue.url: {0}")]
    Url(kspin_net::NetError),
    #[error("venue.trust_pem: cannot read {path}: {source}")]
    TrustPem {
        path: String,
        source: std::io::Error,
    },
    #[error("engine core: {0}")]
    Core(#[from] kspin_runtime::CoreError),
    #[error("precision: {0}")]
    Precision(#[from] PrecisionError),
    #[error("{0}")]
    Strategy(#[from] BusError),
    #[error("engine.core: core {core} does not exist on this machine (cores 0..{available})")]
    NoSuchCore { core: usize, available: usize },
    #[error("cannot start the engine thread: {0}")]
    Spawn(std::io::Error),
    #[error("the engine thread panicked")]
    Panicked,
    #[error("{0}")]
    Trading(#[from] super::trading::TradingError),
    #[error("{0}")]
    Operators(#[from] super::operators::OperatorsError),
    #[error("nats: {0}")]
    Nats(#[from] kspin_nats::NatsError),
}

/// Runs `kspin run`; returns the exit code.
pub fn run(args: &RunArgs, registry: &Registry) -> i32 {
    match run_inner(args, registry) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("kspin run: {e}");
            2
        }
    }
}

fn run_inner(args: &RunArgs, registry: &Registry) -> Result<i32, RunError> {
    let config = match &args.config {
        Some(path) => Config::load(path)?,
        None => Config::builtin(),
    };
    let mut plan = config.symbol_plan()?;
    if let Some(shard) = args.shard {
        config.sharding.select(shard, &mut plan)?;
    }
    let origin = args
        .config
        .as_ref()
        .map_or("the built-in configuration".to_owned(), |p| {
            p.display().to_string()
        });
    let live = super::trading::check_mode(&config, &origin, args.live)?;
    let credentials = if live {
        super::trading::load_credentials(&config)?
    } else {
        None
    };
    super::signals::install();

    // Cores: the engine core, plus a note when the machine is too small for a core each.
    let cores = core_affinity::get_core_ids().unwrap_or_default();
    let engine_core = config.engine.core;
    if !cores.is_empty() && !cores.iter().any(|c| c.id == engine_core) {
        return Err(RunError::NoSuchCore {
            core: engine_core,
            available: cores.len(),
        });
    }
    startup_checks(&config, cores.len());

    let Prepared {
        core: core_cfg,
        transport,
        venue,
    } = prepare(
        &config,
        &mut plan,
        live.then(|| super::trading::sim_trading(&config, credentials.as_ref())),
    )?;

    let symbol_infos = kspin_host::symbol_infos(&plan);
    let busy_threads = 1 + config.strategies.len() + usize::from(config.venue.url == "sim");
    let idle = match config.engine.strategy_idle.as_str() {
        "spin" => IdlePolicy::Spin,
        "spin_then_yield" => IdlePolicy::SHARED_CORE,
        _ if cores.len() < busy_threads => IdlePolicy::SHARED_CORE,
        _ => IdlePolicy::Spin,
    };
    let (mut bus, handles) = build_strategies(
        registry,
        &config.strategies,
        &symbol_infos,
        config.engine.ring_capacity,
        idle,
    )?;
    let log_drain = bus.take_log_drain();
    let bridge = super::nats::start(&config, args.nats.as_deref(), &mut bus, &symbol_infos)?;
    let clock = quanta::Clock::new();
    let (link, kill) = if live {
        let setup = super::trading::prepare_live(
            &config,
            &plan,
            venue.as_ref(),
            credentials,
            clock.clone(),
        )?;
        for line in &setup.banner {
            eprintln!("{line}");
        }
        bus.set_orders_live(true);
        (Some(setup.link), Some(setup.kill))
    } else {
        eprintln!("kspin: trading on paper (orders answered by the paper-fill model; trading.mode = \"live\" and --live to trade)");
        (None, None)
    };
    let mut core = EngineCore::with_orders(core_cfg, bus, transport, link, clock)?;
    let mut ops = super::operators::Operators::start(
        &args.ops, args.quiet, &config, &plan, &mut core, log_drain,
    )?;

    if config.engine.lock_memory {
        eprintln!("kspin: memory: {}", kspin_tuning::process::lock_memory());
    }
    let stop = Arc::new(AtomicBool::new(false));
    let strategies_stop = Arc::new(AtomicBool::new(false));
    let mut running = Vec::with_capacity(handles.len());
    for handle in handles {
        let name = handle.name().to_owned();
        let core_id = handle.core();
        let host = spawn_strategy(handle, Arc::clone(&strategies_stop))?;
        eprintln!(
            "kspin: strategy {name} on core {} ({:?}, idle {idle:?})",
            core_id.map_or("-".into(), |c| c.to_string()),
            host.pinning()
        );
        running.push(host);
    }
    let (mut stats_tx, mut stats_rx) = kspin_ring::spsc::<CoreStats>(64);
    // Stage stamps and the frame latency are recorded here, on the monitor thread: the core only
    // writes each frame's 16-byte record into the ring.
    let mut stages = core.take_stage_recorder();
    let rt_priority = config.engine.rt_priority;
    let core_stop = Arc::clone(&stop);
    let started = Instant::now();
    let thread = std::thread::Builder::new()
        .name("kspin-core".into())
        .spawn(move || {
            let pinned = core_affinity::set_for_current(core_affinity::CoreId { id: engine_core });
            // Touch the stack the loop will use and keep the allocator from returning memory, so
            // the first frames do not page-fault (mlockall, when permitted, already populated
            // the arenas allocated before this thread started).
            let prefault = kspin_tuning::process::prefault(256 << 10, 0);
            eprintln!("kspin: engine core: {prefault}");
            if rt_priority > 0 {
                let fifo = kspin_tuning::process::set_fifo_priority(
                    std::path::Path::new("/"),
                    i32::from(rt_priority),
                );
                eprintln!("kspin: engine core SCHED_FIFO {rt_priority}: {fifo}");
            }
            eprintln!(
                "kspin: engine core thread {} core {engine_core}",
                if pinned {
                    "pinned to"
                } else {
                    "could not be pinned to"
                }
            );
            core.run(&core_stop, &mut stats_tx);
            core
        })
        .map_err(RunError::Spawn)?;

    // Monitor: status lines, duration, Ctrl-C.
    let deadline = args
        .duration
        .map(|s| started + Duration::from_secs_f64(s.max(0.0)));
    let mut last_frames = 0u64;
    let mut last_at = started;
    let mut cause_log = super::causes::CauseLog::default();
    let mut trading_cause_log = super::causes::CauseLog::named("trading link ");
    let venue_url = venue
        .as_ref()
        .map_or_else(|| config.venue.url.clone(), |v| v.url());
    loop {
        std::thread::sleep(MONITOR_TICK);
        if let Some(stages) = &mut stages {
            stages.drain();
        }
        while let Some(mut s) = stats_rx.try_pop() {
            if let Some(stages) = &mut stages {
                fill_latency(stages, &mut s);
            }
            ops.on_core_stats(&s);
            let now = Instant::now();
            let rate = (s.feed.frames.saturating_sub(last_frames)) as f64
                / now.duration_since(last_at).as_secs_f64().max(1e-9);
            last_frames = s.feed.frames;
            last_at = now;
            if !args.quiet && s.link != LinkState::Stopped {
                eprintln!("{}", status_line(started.elapsed(), rate, &s, plan.len()));
            }
            for line in cause_log.changes(&s.core, &venue_url) {
                eprintln!("{line}");
            }
            if let Some(causes) = &s.order_link_causes {
                for line in trading_cause_log.changes_of(causes, "the trading endpoint") {
                    eprintln!("{line}");
                }
            }
        }
        if let Some(kill) = &kill {
            if super::signals::kill_requested() && !kill.swap(true, Ordering::SeqCst) {
                eprintln!("kspin: kill switch thrown: cancelling every order, refusing new ones");
            }
        }
        let timed_out = deadline.is_some_and(|d| Instant::now() >= d);
        if timed_out || super::signals::interrupted() || thread.is_finished() {
            break;
        }
    }
    stop.store(true, Ordering::SeqCst);
    let mut core = thread.join().map_err(|_| RunError::Panicked)?;
    if bridge.is_some() {
        super::nats::final_catch_up(&mut core);
    }
    // The core has stopped publishing: let the strategies finish what is in their rings.
    strategies_stop.store(true, Ordering::SeqCst);
    let mut host_reports = Vec::with_capacity(running.len());
    for host in running {
        host_reports.push(host.join()?);
    }
    // The last snapshots with the last frames' latency; `finish` then finds the ring empty.
    if let Some(stages) = &mut stages {
        while let Some(mut s) = stats_rx.try_pop() {
            fill_latency(stages, &mut s);
            ops.on_core_stats(&s);
        }
    }
    ops.finish(&mut stats_rx, core.publisher_mut());
    let strategies = reports_json(&strategy_reports(
        core.publisher().strategy_stats(),
        host_reports,
    ));
    let elapsed = started.elapsed();
    let venue_stats = venue.as_ref().map(|v| v.stats());
    if let Some(v) = venue {
        v.stop();
    }
    let venue_json = venue_stats.map(|s| {
        Value::Object(
            s.named()
                .into_iter()
                .map(|(k, v)| (k.to_owned(), json!(v)))
                .collect(),
        )
    });
    let mut summary = summary_json(&mut core, stages.as_mut(), &plan, elapsed, venue_json);
    summary["strategies"] = strategies;
    summary["trading"] = match core.orders() {
        Some(link) => super::trading::live_json(link, &plan),
        None => super::trading::paper_json(core.publisher(), &plan, config.strategies.len()),
    };
    let bus = core.publisher().counters();
    summary["bus"] = json!({
        "unknown_symbol": bus.unknown_symbol,
        "unconvertible": bus.unconvertible,
        "oversized_messages": bus.oversized_messages,
        "precision_changes": bus.precision_changes,
    });
    if let Some(bridge) = bridge {
        summary["nats"] = super::nats::finish(bridge, core.publisher())?;
    }
    if args.json {
        println!("{summary}");
    } else {
        print!("{}", summary_text(&summary));
    }
    ops.linger();
    Ok(0)
}

/// What a run needs before any thread starts (shared by `kspin run` and `kspin record`).
pub(crate) struct Prepared {
    pub core: CoreConfig,
    /// The connection to the venue, resolved and with its TLS trust (no DNS on the core).
    pub transport: WsTransport,
    /// The embedded venue, when `url = "sim"`.
    pub venue: Option<VenueHandle>,
}

/// Sets up what a run needs before any thread starts: the embedded venue (when `url = "sim"`),
/// the endpoint and TLS trust, every symbol's precision (strategy replicas need it from the first
/// event), and the core's configuration.
/// `trading`: the embedded venue's trading side (live runs); `None` runs market data only.
pub(crate) fn prepare(
    config: &Config,
    plan: &mut [SymbolPlan],
    trading: Option<kspin_sim::SimTradingConfig>,
) -> Result<Prepared, RunError> {
    let policy = config.mismatch_policy()?;
    // The venue: embedded simulator by default.
    let mut venue: Option<VenueHandle> = None;
    let (endpoint, tls) = if config.venue.url == "sim" {
        let faults = config
            .venue
            .sim
            .faults
            .iter()
            .map(|f| {
                f.parse::<FaultSpec>()
                    .map_err(|e| RunError::Fault(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let handle = SimVenue::start(SimConfig {
            tls: config.venue.sim.tls,
            rate_per_sec: config.venue.sim.rate,
            seed: config.venue.sim.seed,
            symbols: plan.iter().map(|p| p.symbol.clone()).collect(),
            faults,
            trading,
            ..SimConfig::default()
        })?;
        eprintln!(
            "kspin: embedded simulated venue at {} ({} events/s, seed {})",
            handle.url(),
            config.venue.sim.rate,
            config.venue.sim.seed
        );
        // Connect to the address the venue listens on (127.0.0.1 only: `localhost` may resolve to
        // ::1 first) and verify its certificate under the name it was issued for.
        let mut endpoint = Endpoint::parse(&handle.url()).map_err(RunError::Url)?;
        let server_name = endpoint.tls.then(|| endpoint.host.clone());
        endpoint.host = handle.local_addr().ip().to_string();
        let tls = TlsSettings {
            extra_root_pem: handle.cert_pem().map(str::to_owned),
            use_webpki_roots: false,
            server_name_override: server_name,
        };
        venue = Some(handle);
        (endpoint, tls)
    } else {
        let endpoint = Endpoint::parse(&config.venue.url).map_err(RunError::Url)?;
        let extra_root_pem = match &config.venue.trust_pem {
            Some(path) => {
                Some(
                    std::fs::read_to_string(path).map_err(|source| RunError::TrustPem {
                        path: path.display().to_string(),
                        source,
                    })?,
                )
            }
            None => None,
        };
        let tls = TlsSettings {
            extra_root_pem,
            use_webpki_roots: config.venue.webpki_roots,
            server_name_override: None,
        };
        (endpoint, tls)
    };

    // Every symbol's precision, before anything runs.
    if config.venue.url == "sim" {
        precision::from_sim_pairs(plan)?;
    } else if !config.strategies.is_empty() {
        // One extra connection, only when strategies need the scales before the first event;
        // without strategies the core learns them from the instrument channel itself.
        precision::fetch(
            &endpoint,
            &tls,
            config.engine.max_frame_bytes,
            plan,
            Duration::from_secs(15),
        )?;
    }

    let core_cfg = CoreConfig {
        symbols: plan.to_vec(),
        stall_timeout: config.stall_timeout(),
        ping_interval: config.ping_interval(),
        connect_timeout: Duration::from_millis(config.engine.connect_timeout_ms),
        resync_timeout: Duration::from_millis(config.engine.resync_timeout_ms),
        backoff: BackoffPolicy {
            instant_retries: config.backoff.instant_retries,
            initial: Duration::from_millis(config.backoff.initial_ms),
            max: Duration::from_millis(config.backoff.max_ms),
            after_maintenance: Duration::from_millis(config.backoff.after_maintenance_ms),
            jitter: config.backoff.jitter,
            max_attempts_per_window: config.backoff.max_attempts_per_10_min,
        },
        policy,
        decoder: DecoderLimits {
            max_frame_len: config.engine.max_frame_bytes,
            ..DecoderLimits::default()
        },
        seed: config.venue.sim.seed ^ 0x6b73_7069_6e00,
        watch_instrument: config.engine.watch_instrument,
    };
    let limits = ConnLimits {
        max_frame_len: config.engine.max_frame_bytes,
        ..ConnLimits::default()
    };
    let transport = WsTransport::new(&endpoint, &tls, limits).map_err(RunError::Url)?;
    Ok(Prepared {
        core: core_cfg,
        transport,
        venue,
    })
}

pub(crate) fn startup_checks(config: &Config, available_cores: usize) {
    let engine_core = config.engine.core;
    let strategy_cores: Vec<usize> = config.strategies.iter().filter_map(|s| s.core).collect();
    let report = kspin_tuning::check::run_checks(&kspin_tuning::check::CheckInput {
        root: "/".into(),
        engine_core: Some(engine_core),
        strategy_cores: strategy_cores.clone(),
        irq_sample: None,
    });
    let warnings = report.warnings();
    if !warnings.is_empty() {
        eprintln!(
            "kspin: host check: {} item(s) cost latency here (details: kspin tune check):",
            warnings.len()
        );
        for w in warnings.iter().take(6) {
            eprintln!("  - {w}");
        }
        if warnings.len() > 6 {
            eprintln!("  - … and {} more", warnings.len() - 6);
        }
    }
    let issues = kspin_tuning::cores::validate_core_plan(
        std::path::Path::new("/"),
        engine_core,
        &strategy_cores,
        config.engine.allow_smt_siblings,
    );
    for issue in &issues {
        eprintln!("kspin: core plan: {issue}");
    }
    let wanted = 1 + strategy_cores.len() + usize::from(config.venue.url == "sim");
    if available_cores < wanted {
        eprintln!(
            "kspin: this machine has {available_cores} core(s) for {wanted} busy threads (engine, strategies, venue): they share cores, so latency figures here are not representative"
        );
    }
}

fn status_line(elapsed: Duration, rate: f64, s: &CoreStats, symbols: usize) -> String {
    let link = match s.link {
        LinkState::Waiting => "waiting",
        LinkState::Connecting => "connecting",
        LinkState::Streaming => "streaming",
        LinkState::Stopped => "stopped",
    };
    format!(
        "[{:>5.1}s] {link} {:>8.0} msg/s | books live {}/{} resyncing {} | reconnects {} | checksum ok {} fail {} | decode errors {} | p50 {} p99 {}",
        elapsed.as_secs_f64(),
        rate,
        s.books_live,
        symbols,
        s.books_resyncing,
        s.core.reconnects,
        s.feed.checksum_ok,
        s.feed.checksum_mismatch,
        s.pipeline.decode_errors,
        fmt_ns(s.p50_ns),
        fmt_ns(s.p99_ns),
    )
}

fn fmt_ns(ns: u64) -> String {
    if ns >= 1_000_000 {
        format!("{:.2}ms", ns as f64 / 1e6)
    } else if ns >= 1_000 {
        format!("{:.2}µs", ns as f64 / 1e3)
    } else {
        format!("{ns}ns")
    }
}

fn summary_json<O: kspin_runtime::OrderLink<Bus>>(
    core: &mut EngineCore<Bus, WsTransport, O>,
    stages: Option<&mut StageRecorder>,
    plan: &[SymbolPlan],
    elapsed: Duration,
    venue: Option<Value>,
) -> Value {
    let (lat, stages_json) = match stages {
        Some(stages) => {
            stages.drain();
            (stages.latency().total(), stages_json(stages.histograms()))
        }
        None => (core.latency().total(), Value::Null),
    };
    let feed = core.feed().counters();
    let pipeline = core.pipeline().counters();
    let c = core.counters();
    let q = |x: f64| {
        if lat.is_empty() {
            0
        } else {
            lat.value_at_quantile(x)
        }
    };
    let mut symbols = serde_json::Map::new();
    for (entry, (_, sb)) in core.feed().symbols().iter().zip(core.feed().books()) {
        let fmt = |l: Option<(kspin_api::Price, kspin_api::Qty)>, price: bool| {
            l.map(|(p, qty)| {
                if price {
                    FixedDisplay {
                        mantissa: p.0,
                        scale: entry.price_scale,
                    }
                    .to_string()
                } else {
                    FixedDisplay {
                        mantissa: qty.0,
                        scale: entry.qty_scale,
                    }
                    .to_string()
                }
            })
        };
        symbols.insert(
            entry.name.to_string(),
            json!({
                "depth": sb.book.depth(),
                "state": sb.state.name(),
                "book_messages": sb.counters.book_messages,
                "checksum_ok": sb.counters.checksum_ok,
                "checksum_mismatch": sb.counters.checksum_mismatch,
                "checksum": sb.book.checksum_uncached(),
                "resyncs": sb.counters.resyncs,
                "trades": sb.counters.trades,
                "best_bid": fmt(sb.book.best_bid(), true),
                "best_bid_qty": fmt(sb.book.best_bid(), false),
                "best_ask": fmt(sb.book.best_ask(), true),
                "best_ask_qty": fmt(sb.book.best_ask(), false),
            }),
        );
    }
    let by_kind: serde_json::Map<String, Value> = DECODE_ERROR_NAMES
        .iter()
        .zip(pipeline.decode_errors_by_kind.iter())
        .filter(|(name, n)| !name.is_empty() && **n > 0)
        .map(|(name, n)| (name.to_string(), json!(n)))
        .collect();
    json!({
        "duration_s": elapsed.as_secs_f64(),
        "frames": feed.frames,
        "book_messages": feed.book_messages,
        "checksum_ok": feed.checksum_ok,
        "checksum_mismatch": feed.checksum_mismatch,
        "resyncs": feed.resyncs,
        "reconnects": c.reconnects,
        "decode_errors": pipeline.decode_errors,
        "decode_errors_by_kind": by_kind,
        "trades": feed.trades,
        "tickers": feed.tickers,
        "heartbeats": feed.heartbeats,
        "statuses": feed.statuses,
        "error_acks": feed.error_acks,
        "dropped_not_live": feed.dropped_not_live,
        "rejected_messages": feed.rejected_messages,
        "rejected_by_reason": kspin_core::feed::RejectReason::ALL
            .iter()
            .filter(|r| feed.rejected_by_reason[r.index()] > 0)
            .map(|r| (r.name().to_owned(), json!(feed.rejected_by_reason[r.index()])))
            .collect::<serde_json::Map<String, Value>>(),
        "connects": c.connects,
        "connect_failures": c.connect_failures,
        "disconnects": c.disconnects,
        "connect_failures_by_cause": super::causes::causes_json(&c.connect_failures_by_cause),
        "disconnects_by_cause": super::causes::causes_json(&c.disconnects_by_cause),
        "stalls": c.stalls,
        "pings_sent": c.pings_sent,
        "latency_ns": {"p50": q(0.5), "p99": q(0.99), "p99_9": q(0.999), "max": lat.max(), "samples": lat.len()},
        "stages_ns": stages_json,
        // Frames whose stage record found the ring full (the monitor thread fell behind): they
        // are missing from `stages_ns` and `latency_ns`, so samples + this = frames.
        "stage_records_dropped": core.engine().stage_records_dropped(),
        "symbols": symbols,
        "subscribed": plan.len(),
        "venue": venue,
    })
}

/// How often the monitor thread looks at the core: drains the stage record ring (sized for this
/// tick, [`kspin_runtime::stage_records::STAGE_RECORDER_TICK`]) and prints what the core's
/// once-a-second snapshots say.
const MONITOR_TICK: Duration = kspin_runtime::stage_records::STAGE_RECORDER_TICK;

/// Fills a core snapshot's latency fields (the core no longer has them) from the frames the
/// monitor thread's stage recorder has recorded so far, and starts the next interval.
fn fill_latency(recorder: &mut StageRecorder, s: &mut CoreStats) {
    recorder.drain();
    recorder.latency_mut().take_interval(s);
}

/// Per-stage percentiles (ns) of the spans that have samples, keyed by span name.
fn stages_json(h: &kspin_runtime::stages::StageHistograms) -> Value {
    h.iter()
        .filter(|(_, hist)| !hist.is_empty())
        .map(|(span, hist)| {
            let q = |x: f64| hist.value_at_quantile(x);
            (
                span.name.to_owned(),
                json!({"p50": q(0.5), "p99": q(0.99), "p99_9": q(0.999), "max": hist.max(), "samples": hist.len()}),
            )
        })
        .collect::<serde_json::Map<String, Value>>()
        .into()
}

fn summary_text(s: &Value) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "kspin run: {:.1}s, {} frames, {} book messages, checksums ok {} mismatched {}, resyncs {}, reconnects {}, decode errors {}",
        s["duration_s"].as_f64().unwrap_or(0.0),
        s["frames"],
        s["book_messages"],
        s["checksum_ok"],
        s["checksum_mismatch"],
        s["resyncs"],
        s["reconnects"],
        s["decode_errors"]
    );
    let _ = writeln!(
        out,
        "internal latency (frame read → published): p50 {} p99 {} p99.9 {} max {}",
        fmt_ns(s["latency_ns"]["p50"].as_u64().unwrap_or(0)),
        fmt_ns(s["latency_ns"]["p99"].as_u64().unwrap_or(0)),
        fmt_ns(s["latency_ns"]["p99_9"].as_u64().unwrap_or(0)),
        fmt_ns(s["latency_ns"]["max"].as_u64().unwrap_or(0)),
    );
    let inner: Vec<String> = [
        "read_to_decoded",
        "decoded_to_applied",
        "applied_to_published",
    ]
    .iter()
    .filter_map(|name| {
        let p50 = s["stages_ns"][*name]["p50"].as_u64()?;
        Some(format!("{} {}", name.replace("_to_", " → "), fmt_ns(p50)))
    })
    .collect();
    if !inner.is_empty() {
        let _ = writeln!(out, "  stages (p50, sampled frames): {}", inner.join(", "));
    }
    let unrecorded = s["stage_records_dropped"].as_u64().unwrap_or(0);
    if unrecorded > 0 {
        let _ = writeln!(
            out,
            "  {unrecorded} frames not timed: the monitor thread fell behind the stage record ring"
        );
    }
    let paper = s["trading"]["mode"] != "live";
    out.push_str(&super::replay_text::strategy_lines(&s["strategies"], paper));
    out.push_str(&trading_text(&s["trading"]));
    if let Some(symbols) = s["symbols"].as_object() {
        for (name, v) in symbols {
            let _ = writeln!(
                out,
                "  {name}: {} | bid {} x {} | ask {} x {} | checksums ok {} mismatched {} | resyncs {}",
                v["state"].as_str().unwrap_or("?"),
                v["best_bid"].as_str().unwrap_or("-"),
                v["best_bid_qty"].as_str().unwrap_or("-"),
                v["best_ask"].as_str().unwrap_or("-"),
                v["best_ask_qty"].as_str().unwrap_or("-"),
                v["checksum_ok"],
                v["checksum_mismatch"],
                v["resyncs"]
            );
        }
    }
    out
}

/// The `trading` object as one line: mode, orders, fills, refusals by reason, open orders and
/// the positions (empty without it).
fn trading_text(t: &Value) -> String {
    let Some(mode) = t["mode"].as_str() else {
        return String::new();
    };
    let positions: Vec<String> = t["positions"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(symbol, p)| format!("{symbol} {}", p.as_str().unwrap_or("?")))
        .collect();
    let rejects = super::replay_text::rejects_text(&t["rejects"]);
    format!(
        "  trading ({mode}): orders sent {} | fills {} | cancels {} | rejects {rejects} | open orders {} | positions {}\n",
        t["orders_sent"],
        t["fills"],
        t["cancels"],
        t["open_orders"],
        if positions.is_empty() {
            "-".to_owned()
        } else {
            positions.join(", ")
        }
    )
}
