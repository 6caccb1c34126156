//! `kspin bench latency | floor | throughput | replay`: the latency benchmarking harness.
//!
//! Every subcommand runs with no arguments on a fresh clone and finishes within a couple of
//! minutes; prints the run conditions (cores, pinning, real-time priority, load, clock source);
//! repeats its measurement `--runs` times (`latency` and `floor`: `--rounds` interleaved rounds,
//! judged per round by [`latency_verdict`]) and reports medians, with a ratio to a baseline
//! measured in the same run; and with `--json` prints one JSON object with its figures. `latency` and
//! `floor` also write HdrHistogram `.hgrm` files and an SVG plot into `--out`.
//!
//! This is a command, off the engine core: it allocates, formats and sleeps freely on the main
//! thread. The measured threads (the engine core, the venue, the floor client) are pinned and
//! busy-poll; real-time priority is only taken with `--rt`, through the throttling guard of
//! `kspin_tuning::process::set_fifo_priority`.

pub mod blast;
pub mod conditions;
pub mod engine_thread;
pub mod latency;
pub mod latency_summary;
pub mod latency_verdict;
pub mod probe;
pub mod replay_speed;
pub mod report;
pub mod svg;
pub mod throughput;
pub mod tick_to_trade;

use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use conditions::RunConditions;
use latency::{merged_span, Phase};
use report::hgrm;

/// Arguments of `kspin bench`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub command: BenchCommand,
}

/// The benchmarks.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum BenchCommand {
    /// Wire → strategy latency per stage over loopback, against the raw floor and with
    /// recording on, in the same run; writes .hgrm files and an SVG plot.
    Latency(BenchOptions),
    /// The raw loopback floor alone: a bare tungstenite client, blocking and busy-polling.
    Floor(BenchOptions),
    /// Sustained messages/s with no drops and no checksum mismatches; where drops start.
    Throughput(BenchOptions),
    /// Frames from memory through the engine-core path, ns/message, beside serde_json.
    Replay(BenchOptions),
    /// Market-data read → order bytes written by the live order path, per stage, against a bare
    /// client writing a prepared order on the same loopback; writes .hgrm files.
    #[command(name = "tick-to-trade")]
    TickToTrade(BenchOptions),
}

/// Options shared by every benchmark (each ignores what does not apply to it).
#[derive(Debug, Clone, clap::Args)]
pub struct BenchOptions {
    /// Print one JSON object with the figures on stdout (progress stays on stderr).
    #[arg(long)]
    pub json: bool,
    /// Repetitions; figures are medians over them (default 3; for latency and floor the same
    /// as --rounds).
    #[arg(long = "runs", value_name = "N")]
    pub runs_arg: Option<usize>,
    /// latency, floor: interleaved rounds, every phase once per round with kspin and the
    /// busy-poll floor back to back (their order alternating); the verdict needs at least 3
    /// (default 6, or --runs if given).
    #[arg(long, value_name = "N")]
    pub rounds: Option<usize>,
    /// Measured seconds per phase (latency, floor) or per maximum-rate run (throughput).
    #[arg(long, default_value_t = 2.0)]
    pub seconds: f64,
    /// Seconds before measuring (connect, subscribe, snapshots, caches).
    #[arg(long, default_value_t = 0.5)]
    pub warmup: f64,
    /// Market events per second sent by the venue (latency, floor).
    #[arg(long, default_value_t = 20_000)]
    pub rate: u64,
    /// Symbols (repeatable).
    #[arg(long = "symbol", default_values_t = vec!["BTC/USD".to_string()])]
    pub symbols: Vec<String>,
    /// Book depth.
    #[arg(long, default_value_t = 10)]
    pub depth: u16,
    /// Subscribe trades too (latency, floor, throughput).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub trades: bool,
    /// Seed of the venue's market.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Core of the engine core (and of the floor client); default: the last core.
    #[arg(long = "engine-core", value_name = "CORE")]
    pub engine_core_arg: Option<usize>,
    /// Core of the simulated venue; default: core 0.
    #[arg(long, default_value_t = 0)]
    pub venue_core: usize,
    /// Core of the strategy thread (latency); default: a core of its own when there are three
    /// or more, else the venue's core (both then give the core away).
    #[arg(long = "strategy-core", value_name = "CORE")]
    pub strategy_core_arg: Option<usize>,
    /// Run the busy threads SCHED_FIFO (refused unless kernel.sched_rt_runtime_us is -1: a
    /// throttled spinning FIFO thread stops for 50 ms of every second).
    #[arg(long)]
    pub rt: bool,
    /// Where `.hgrm` files and the SVG plot go.
    #[arg(long, default_value = "kspin-bench-results")]
    pub out: PathBuf,
    /// replay: a capture (.kcap) or JSON-lines file instead of the generated stream.
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// replay: passes over the frames per variant per run.
    #[arg(long, default_value_t = 20)]
    pub passes: usize,
    /// tick-to-trade: book changes between two orders (0: about 1000 orders/s at --rate).
    #[arg(long, default_value_t = 0)]
    pub order_every: u32,
    /// Resolved repetitions (from --runs, or --rounds for latency and floor).
    #[arg(skip)]
    pub runs: usize,
    /// Resolved engine core (set from --engine-core-arg or the last core).
    #[arg(skip)]
    pub engine_core: usize,
    /// Resolved strategy core (set from --strategy-core or the core plan).
    #[arg(skip)]
    pub strategy_core: usize,
    /// How the venue paces its events in this run (every phase alike).
    #[arg(skip)]
    pub venue_pacing: VenuePacing,
}

/// How the simulated venue of a latency run waits between events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VenuePacing {
    /// Busy-polls its pinned core (it has the core to itself).
    #[default]
    Spin,
    /// Spins between events but yields its core after every loop turn, to a strategy thread
    /// that shares the core (and yields too when idle).
    SpinYield,
}

impl VenuePacing {
    /// The name in `--json` output.
    pub fn name(self) -> &'static str {
        match self {
            VenuePacing::Spin => "spin",
            VenuePacing::SpinYield => "spin_yield",
        }
    }
}

/// Why a benchmark could not run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("venue: {0}")]
    Sim(#[from] kspin_sim::SimError),
    #[error("engine core: {0}")]
    Core(#[from] kspin_runtime::CoreError),
    #[error("capture: {0}")]
    Capture(#[from] kspin_runtime::capture::CaptureError),
    #[error("floor client: {0}")]
    Floor(String),
    #[error("{0}")]
    Setup(String),
    #[error("a benchmark thread panicked")]
    Panicked,
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// A transport to a venue on loopback (plain `ws://`, default limits).
pub(crate) fn loopback_transport(
    endpoint: &kspin_net::Endpoint,
) -> Result<kspin_net::WsTransport, BenchError> {
    kspin_net::WsTransport::new(
        endpoint,
        &kspin_net::TlsSettings::default(),
        kspin_net::ConnLimits::default(),
    )
    .map_err(|e| BenchError::Setup(e.to_string()))
}

/// Runs `kspin bench ...`; returns the exit code.
pub fn run(args: &BenchArgs) -> i32 {
    match run_inner(args) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("kspin bench: {e}");
            2
        }
    }
}

fn resolve(opts: &BenchOptions) -> BenchOptions {
    let mut o = opts.clone();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    o.engine_core = opts.engine_core_arg.unwrap_or(cores.saturating_sub(1));
    o.strategy_core = opts.strategy_core_arg.unwrap_or_else(|| {
        (0..cores)
            .find(|&c| c != o.venue_core && c != o.engine_core)
            .unwrap_or(o.venue_core)
    });
    o.runs = opts.runs_arg.unwrap_or(DEFAULT_RUNS).max(1);
    o
}

/// Repetitions of every benchmark but latency and floor.
const DEFAULT_RUNS: usize = 3;

/// Rounds of latency and floor: enough for the verdict's floor-stability judgement
/// ([`latency_verdict::MIN_ROUNDS`]) with room for a disturbed round, within two minutes.
const DEFAULT_LATENCY_ROUNDS: usize = 6;

/// [`resolve`] for latency and floor: `runs` is the number of rounds.
fn resolve_rounds(opts: &BenchOptions) -> BenchOptions {
    let mut o = resolve(opts);
    o.runs = opts
        .rounds
        .or(opts.runs_arg)
        .unwrap_or(DEFAULT_LATENCY_ROUNDS)
        .max(1);
    o
}

fn run_inner(args: &BenchArgs) -> Result<(), BenchError> {
    let clock = quanta::Clock::new();
    let (name, opts) = match &args.command {
        BenchCommand::Latency(o) => {
            let o = resolve_rounds(o);
            // A strategy sharing the venue's core needs the venue to give the core away.
            let venue_pacing = if o.strategy_core == o.venue_core {
                VenuePacing::SpinYield
            } else {
                VenuePacing::Spin
            };
            ("latency", BenchOptions { venue_pacing, ..o })
        }
        BenchCommand::TickToTrade(o) => {
            let o = resolve(o);
            let venue_pacing = if o.strategy_core == o.venue_core {
                VenuePacing::SpinYield
            } else {
                VenuePacing::Spin
            };
            ("tick-to-trade", BenchOptions { venue_pacing, ..o })
        }
        BenchCommand::Floor(o) => ("floor", resolve_rounds(o)),
        BenchCommand::Throughput(o) => ("throughput", resolve(o)),
        BenchCommand::Replay(o) => ("replay", resolve(o)),
    };
    let conditions = RunConditions::gather(&clock);
    eprintln!("kspin bench {name}: {}", conditions.describe());
    if opts.engine_core == opts.venue_core && name != "replay" {
        eprintln!(
            "kspin bench: the engine and the venue share core {}: figures include their contention",
            opts.venue_core
        );
    }
    if opts.strategy_core == opts.engine_core && (name == "latency" || name == "tick-to-trade") {
        eprintln!(
            "kspin bench: the strategy shares core {} with the engine core: it yields when idle, \
             and figures include their contention",
            opts.engine_core
        );
    }
    if conditions.cores <= 2 {
        eprintln!(
            "kspin bench: {} core(s): the busy threads share the machine with everything else; \
             figures here are not representative of an isolated host",
            conditions.cores
        );
    }
    let started = std::time::Instant::now();
    let mut out = Map::new();
    out.insert("bench".into(), json!(name));
    out.insert("date_unix_s".into(), json!(unix_seconds()));
    out.insert("conditions".into(), conditions.to_json());
    out.insert(
        "options".into(),
        json!({"runs": opts.runs, "rounds": opts.runs, "seconds": opts.seconds, "warmup": opts.warmup,
               "rate_events_per_sec": opts.rate, "symbols": opts.symbols, "depth": opts.depth,
               "trades": opts.trades, "engine_core": opts.engine_core,
               "venue_core": opts.venue_core, "strategy_core": opts.strategy_core,
               "venue_pacing": opts.venue_pacing.name(), "rt": opts.rt}),
    );
    match name {
        "latency" | "floor" => {
            let phases: &[Phase] = if name == "latency" {
                // kspin and the busy-poll floor back to back in every round (see round_order).
                &[
                    Phase::KspinRecording,
                    Phase::Kspin,
                    Phase::FloorSpin,
                    Phase::Floor,
                ]
            } else {
                &[Phase::Floor, Phase::FloorSpin]
            };
            let outcome = latency::run_phases(&opts, &clock, phases)?;
            let files = write_latency_files(&opts.out, name, &conditions, &outcome.merged)?;
            let mut figures = outcome.figures;
            if name == "latency" {
                figures.insert("summary".into(), latency_summary::summary(&figures, &opts));
            }
            out.insert("threads".into(), Value::Array(outcome.threads));
            out.insert("files".into(), json!(files));
            if !opts.json {
                latency_summary::print_latency(&figures);
                for f in &files {
                    println!("wrote {f}");
                }
            }
            out.insert("latency_ns".into(), Value::Object(figures));
        }
        "tick-to-trade" => {
            let outcome = tick_to_trade::run(&opts, &clock)?;
            let mut files = Vec::new();
            std::fs::create_dir_all(&opts.out).map_err(|source| BenchError::Write {
                path: opts.out.clone(),
                source,
            })?;
            for (span, h) in &outcome.merged {
                let path = opts.out.join(format!("tick_to_trade-{span}.hgrm"));
                files.push(write_file(&path, &report::hgrm(h))?);
            }
            if !opts.json {
                let f = &outcome.figures;
                for key in [
                    "tick_to_trade_ns",
                    "engine_ns",
                    "engine_before_write_ns",
                    "baseline_ns",
                ] {
                    println!("{:<24} {}", key, report::percentiles_line(&f[key]));
                }
                println!(
                    "tick-to-trade p50 / baseline p50 = {} ({} orders, {} refused; targets {})",
                    f["ratio_p50_to_baseline"], f["orders"], f["order_rejects"], f["targets"]
                );
                for p in f["points"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .windows(2)
                {
                    let key = format!(
                        "{}_to_{}_ns",
                        p[0].as_str().unwrap_or(""),
                        p[1].as_str().unwrap_or("")
                    );
                    println!("  {:<28} {}", key, report::percentiles_line(&f[&key]));
                }
                for f in &files {
                    println!("wrote {f}");
                }
            }
            out.insert("threads".into(), Value::Array(outcome.threads));
            out.insert("files".into(), json!(files));
            for (k, v) in outcome.figures {
                out.insert(k, v);
            }
        }
        "throughput" => {
            let figures = throughput::run(&opts, &clock)?;
            if !opts.json {
                println!(
                    "throughput: {} msgs/s sustained (median of {} runs at the venue's maximum rate), drops {}, checksum mismatches {}, limited by the {}; venue sent {} frames/s",
                    figures["msgs_per_sec"], opts.runs, figures["drops"], figures["checksum_mismatch"],
                    figures["limited_by"].as_str().unwrap_or("?"), figures["venue_frames_per_sec"]
                );
                for s in figures["sweep"].as_array().into_iter().flatten() {
                    println!(
                        "  offered {:>9} events/s: venue {:>9} frames/s, engine {:>9} msgs/s, drops {}, mismatches {}",
                        s["offered_events_per_sec"], s["venue_frames_per_sec"], s["msgs_per_sec"], s["drops"], s["checksum_mismatch"]
                    );
                }
                let e = &figures["engine_limit"];
                println!(
                    "engine limit: {} book msgs/s (median of {} runs of {} pre-framed updates written as fast as the socket takes them), checksum mismatches {} of {} (target {} msgs/s)",
                    e["msgs_per_sec"], opts.runs, e["updates_per_run"], e["checksum_mismatch"], e["book_messages"], figures["target_msgs_per_sec"]
                );
            }
            out.insert("throughput".into(), figures);
        }
        _ => {
            let source = match &opts.file {
                Some(path) => replay_speed::file_source(path)?,
                None => replay_speed::generated_stream("BTC/USD", 25, 4_000, 7)
                    .ok_or_else(|| BenchError::Setup("BTC/USD is not a venue pair".into()))?,
            };
            let figures = replay_speed::run(&opts, &clock, &source)?;
            if !opts.json {
                println!(
                    "replay ({}): {} ns/msg through the engine-core path; serde_json→Value {} ns/msg; {}x faster; stage stamps cost {} ns/msg; recording costs {} ns/msg; telemetry (kspin run --metrics) {} ns/msg, ratio {} to the plain run (target ≤ {} ns/msg and ≥ {}x: {})",
                    figures["source"].as_str().unwrap_or(""), figures["ns_per_msg"], figures["baseline_ns_per_msg"],
                    figures["ratio"], figures["stage_stamp_cost_ns"], figures["recording_cost_ns"],
                    figures["telemetry_cost_ns"], figures["telemetry_ratio"],
                    replay_speed::TARGET_NS_PER_MSG,
                    replay_speed::TARGET_RATIO,
                    if figures["target_met"].as_bool() == Some(true) { "met" } else { "not met" }
                );
            }
            for (k, v) in figures.as_object().into_iter().flatten() {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    out.insert(
        "elapsed_s".into(),
        json!((started.elapsed().as_secs_f64() * 10.0).round() / 10.0),
    );
    if opts.json {
        println!("{}", Value::Object(out));
    }
    Ok(())
}

fn unix_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn write_file(path: &Path, text: &str) -> Result<String, BenchError> {
    std::fs::write(path, text).map_err(|source| BenchError::Write {
        path: path.to_owned(),
        source,
    })?;
    Ok(path.display().to_string())
}

/// One `.hgrm` per reported (phase, span) of the merged runs, and one SVG of the end-to-end
/// spans (plus kspin's internal stages).
fn write_latency_files(
    dir: &Path,
    name: &str,
    conditions: &RunConditions,
    merged: &[(Phase, kspin_runtime::StageHistograms)],
) -> Result<Vec<String>, BenchError> {
    std::fs::create_dir_all(dir).map_err(|source| BenchError::Write {
        path: dir.to_owned(),
        source,
    })?;
    let mut files = Vec::new();
    for (phase, h) in merged {
        for &span in latency::reported_spans(*phase) {
            if let Some(hist) = h.span(span) {
                let path = dir.join(format!("{name}-{}-{span}.hgrm", phase.name()));
                files.push(write_file(&path, &hgrm(hist))?);
            }
        }
    }
    let mut series = Vec::new();
    let labelled = [
        (Phase::Kspin, "wire_to_received", "kspin wire→strategy"),
        (Phase::Kspin, "wire_to_published", "kspin wire→published"),
        (
            Phase::KspinRecording,
            "wire_to_received",
            "kspin + recording wire→strategy",
        ),
        (Phase::Kspin, "wire_to_read", "kspin wire→read"),
        (Phase::Kspin, "read_to_published", "kspin read→published"),
        (
            Phase::Floor,
            "wire_to_read",
            "floor (tungstenite, blocking)",
        ),
        (
            Phase::FloorSpin,
            "wire_to_read",
            "floor (tungstenite, busy-poll)",
        ),
    ];
    for (phase, span, label) in labelled {
        if let Some(h) = merged_span(merged, phase, span) {
            series.push((label.to_string(), h));
        }
    }
    let subtitle = format!(
        "{} cores, clocksource {}, load {}; all runs merged",
        conditions.cores, conditions.clocksource, conditions.load_average
    );
    let svg = svg::percentile_plot(
        &format!("kspin bench {name}: loopback latency by percentile"),
        &subtitle,
        &series,
    );
    files.push(write_file(&dir.join(format!("{name}.svg")), &svg)?);
    Ok(files)
}
