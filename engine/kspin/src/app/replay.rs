//! `kspin replay FILE`: drives a recording through the engine's one frame path
//! (`Engine::replay_frame` → `Pipeline::on_frame`: decode → feed → book → checksum → publish)
//! and reports what happened ([`ReplayReport`]).
//!
//! Two kinds of file:
//! - a JSON-lines recording of Kraken v2 text frames (one frame per line, exactly as received):
//!   its symbols, depths and precisions are learnt first (`kspin_runtime::discover`, with
//!   `--depth` / `--precision` overrides), then every line goes through a pipeline configured as
//!   the live engine would be, in passive mode (nobody can answer a resync: a failed book waits
//!   for the recording's next snapshot);
//! - a capture written by `kspin record` (detected by its `KSPINCAP` magic): the header gives the
//!   live run's symbols, depths and precisions, the feed runs in live mode and follows the
//!   recording's own resyncs and link changes are replayed; `--strategies` runs a deterministic
//!   backtest (`super::backtest`: one thread, exchange time, a modelled paper venue), or with
//!   `--paced` hosts strategies on their own threads exactly as `kspin run` does, at the recorded
//!   timing (not deterministic).
//!
//! This is a command, not the engine core: it reads the whole file, formats and allocates freely.
//! Exit status: see [`ReplayReport::exit_code`]. A bad line is reported with its number and the
//! replay goes on.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use kspin_api::Registry;
use kspin_core::feed::FeedMode;
use kspin_core::kraken::DecoderLimits;
use kspin_core::FrameOutcome;
use kspin_host::{reports_json, spawn_strategy, strategy_reports};
use kspin_ring::IdlePolicy;
use kspin_runtime::capture::{Capture, RecordKind};
use kspin_runtime::discover::{discover_plan, DepthSource, DiscoverOptions, PrecisionSource};
use kspin_runtime::{Engine, EngineConfig, NoStrategies};

pub use super::replay_report::{ReplayReport, SymbolReport};
use crate::config::StrategyConfig;
use crate::strategies::build_strategies;

/// Arguments of `kspin replay`.
#[derive(Debug, Clone, clap::Args)]
pub struct ReplayArgs {
    /// A file of Kraken v2 WebSocket text frames, one per line, or a `kspin record` capture.
    pub file: PathBuf,
    /// Print one JSON object instead of the human summary.
    #[arg(long)]
    pub json: bool,
    /// Book depth for every symbol (default: from the subscribe ack in the file, else the
    /// first snapshot's size, else 10).
    #[arg(long, value_name = "N")]
    pub depth: Option<u16>,
    /// Precision of a symbol as SYMBOL=PRICE_DECIMALS:QTY_DECIMALS (repeatable); otherwise
    /// from `instrument` frames in the file, else inferred from the first snapshot.
    #[arg(long, value_name = "SYMBOL=P:Q")]
    pub precision: Vec<String>,
    /// Captures only: replay with the recorded timing (default: as fast as possible). With
    /// --strategies the strategies then run on their own threads with `kspin run`'s paper
    /// fills, at timing-dependent points: not deterministic.
    #[arg(long)]
    pub paced: bool,
    /// Run the `[[strategy]]` sections of this kspin.toml on the replayed capture: a
    /// deterministic backtest (one thread, exchange time, the live pre-trade checks with its
    /// `[trading]` limits, a paper venue modelled by its `[replay]` section); capture files only,
    /// whose header gives every symbol's precision before the first frame.
    #[arg(long, value_name = "KSPIN_TOML")]
    pub strategies: Option<PathBuf>,
    /// Order latency in µs of exchange time: a request sent at t reaches the paper venue at
    /// t + latency (overrides replay.latency_us; default 1000).
    #[arg(long, value_name = "US")]
    pub latency_us: Option<u64>,
    /// Extra latency per request, drawn uniformly from [0, US] with --seed (overrides
    /// replay.latency_jitter_us; default 0).
    #[arg(long, value_name = "US")]
    pub latency_jitter_us: Option<u64>,
    /// Seed of the latency jitter (overrides replay.seed; default 1).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Queue-position model of resting orders: back (joins the back of its level), front, or
    /// cross (fills only when the book crosses it) (overrides replay.queue; default back).
    #[arg(long, value_name = "MODEL", value_parser = ["back", "front", "cross"])]
    pub queue: Option<String>,
    /// Write each strategy's PnL and position over time as SVG plots into DIR.
    #[arg(long, value_name = "DIR")]
    pub plot: Option<PathBuf>,
    /// Add each strategy's callback durations (real time, so not reproducible) to --json.
    #[arg(long)]
    pub timings: bool,
}

/// Why a replay could not run.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "bad --precision {0:?}: expected SYMBOL=PRICE_DECIMALS:QTY_DECIMALS, e.g. BTC/USD=1:8"
    )]
    BadPrecision(String),
    #[error("{0}")]
    Capture(String),
    #[error("--strategies needs a capture file (its header gives every symbol's precision before the first frame)")]
    StrategiesNeedCapture,
    #[error("{0}")]
    Strategies(String),
    #[error("--paced needs a capture file (JSON lines carry no receive times)")]
    PacedNeedsCapture,
    #[error("--plot needs --strategies and a deterministic replay (without --paced)")]
    PlotNeedsBacktest,
    #[error("--plot {dir}: {reason}")]
    Plot { dir: String, reason: String },
    #[error("engine: {0}")]
    Engine(#[from] kspin_runtime::CoreError),
}

fn parse_precision(spec: &str) -> Result<(&str, u8, u8), ReplayError> {
    let bad = || ReplayError::BadPrecision(spec.to_owned());
    let (symbol, scales) = spec.rsplit_once('=').ok_or_else(bad)?;
    let (p, q) = scales.split_once(':').ok_or_else(bad)?;
    let p: u8 = p.trim().parse().map_err(|_| bad())?;
    let q: u8 = q.trim().parse().map_err(|_| bad())?;
    if symbol.is_empty() || p > kspin_api::fixed::MAX_SCALE || q > kspin_api::fixed::MAX_SCALE {
        return Err(bad());
    }
    Ok((symbol, p, q))
}

/// The non-empty lines of a JSON-lines file, with their 1-based line numbers.
fn json_lines(text: &[u8]) -> impl Iterator<Item = (u64, &[u8])> {
    text.split(|&b| b == b'\n')
        .enumerate()
        .map(|(i, line)| (i as u64 + 1, line.strip_suffix(b"\r").unwrap_or(line)))
        .filter(|(_, line)| !line.iter().all(u8::is_ascii_whitespace))
}

/// Replays `text` (a JSON-lines file's contents) and returns the report.
pub fn replay_text(
    file: &str,
    text: &[u8],
    args: &ReplayArgs,
) -> Result<ReplayReport, ReplayError> {
    let mut options = DiscoverOptions {
        depth: args.depth,
        precision: Vec::new(),
    };
    for spec in &args.precision {
        let (symbol, p, q) = parse_precision(spec)?;
        options.precision.push((symbol.to_owned(), p, q));
    }
    let discovered = discover_plan(json_lines(text).map(|(_, l)| l), &options);
    let provenance = discovered
        .iter()
        .map(|d| (d.depth_source, d.precision_source))
        .collect();
    let cfg = EngineConfig {
        symbols: discovered.into_iter().map(|d| d.plan).collect(),
        decoder: DecoderLimits::default(),
        policy: Default::default(),
        mode: FeedMode::Passive,
    };
    let mut engine = Engine::new(&cfg, NoStrategies, quanta::Clock::new())?;
    let mut report = ReplayReport::empty(file);
    for (line_no, line) in json_lines(text) {
        report.lines += 1;
        if let FrameOutcome::Refused(e) = engine.replay_frame(line, line_no) {
            report.bad_frame(line_no, &e);
        }
    }
    report.fill_from(engine.pipeline(), &provenance);
    Ok(report)
}

/// Replays a capture (`bytes` of a `KSPINCAP` file) through the engine's frame path with the
/// configuration its header records; `paced` keeps the recorded timing; `strategies` (built from
/// `registry`) run on the bus as in `kspin run`.
pub fn replay_capture(
    file: &str,
    bytes: Vec<u8>,
    paced: bool,
    registry: &Registry,
    strategies: &[StrategyConfig],
) -> Result<ReplayReport, ReplayError> {
    let capture =
        Capture::from_bytes(bytes).map_err(|e| ReplayError::Capture(format!("{file}: {e}")))?;
    let clock = quanta::Clock::new();
    let cfg = capture.engine_config();
    let symbols = kspin_host::symbol_infos(&cfg.symbols);
    if !strategies.is_empty() {
        if let Some(p) = cfg.symbols.iter().find(|p| p.precision.is_none()) {
            return Err(ReplayError::Strategies(format!(
                "the capture's header has no precision for {}; strategies need it before the first frame",
                p.symbol
            )));
        }
    }
    let provenance = cfg
        .symbols
        .iter()
        .map(|p| {
            let precision = match p.precision {
                Some(_) => PrecisionSource::Configured,
                None => PrecisionSource::Unknown,
            };
            (DepthSource::Configured, precision)
        })
        .collect();
    let (bus, handles) = build_strategies(
        registry,
        strategies,
        &symbols,
        1 << 16,
        IdlePolicy::SHARED_CORE,
    )
    .map_err(|e| ReplayError::Strategies(e.to_string()))?;
    let stop = Arc::new(AtomicBool::new(false));
    let mut hosts = Vec::with_capacity(handles.len());
    for handle in handles {
        hosts.push(
            spawn_strategy(handle, Arc::clone(&stop))
                .map_err(|e| ReplayError::Strategies(e.to_string()))?,
        );
    }
    let mut engine = Engine::new(&cfg, bus, clock)?;
    let mut log_drain = engine.publisher_mut().take_log_drain();
    let mut report = ReplayReport::empty(file);
    let started = std::time::Instant::now();
    let first_wall = capture.records().next().map_or(0, |r| r.wall_ns);
    for (i, record) in capture.records().enumerate() {
        if paced {
            let due = std::time::Duration::from_nanos(record.wall_ns.saturating_sub(first_wall));
            wait_until(started, due);
        }
        let record_no = i as u64 + 1;
        match record.kind {
            RecordKind::Frame => {
                report.lines += 1;
                if let FrameOutcome::Refused(e) =
                    engine.replay_frame(record.payload, record.recv_tsc)
                {
                    report.bad_frame(record_no, &e);
                }
                // The live run sent these; the recording holds what the exchange answered.
                engine.discard_requests();
                engine.service();
            }
            RecordKind::LinkUp => engine.link(true),
            RecordKind::LinkDown => engine.link(false),
            RecordKind::Gap => report.capture_gap(record_no),
        }
    }
    report.torn_tail(&capture);
    report.fill_from(engine.pipeline(), &provenance);
    if !hosts.is_empty() {
        // Let every strategy drain its ring (the bus hands catch-up snapshots as room appears),
        // then stop them and collect their figures.
        for _ in 0..10_000 {
            engine.service();
            if !engine.publisher().needs_service() {
                break;
            }
            std::thread::yield_now();
        }
        stop.store(true, Ordering::SeqCst);
        let mut reports = Vec::with_capacity(hosts.len());
        for host in hosts {
            reports.push(
                host.join()
                    .map_err(|e| ReplayError::Strategies(e.to_string()))?,
            );
        }
        if let Some(drain) = log_drain.as_mut() {
            drain.drain(usize::MAX, |strategy, _record, text| {
                eprintln!("  [{strategy}] {text}")
            });
        }
        report.strategies = Some(reports_json(&strategy_reports(
            engine.publisher().strategy_stats(),
            reports,
        )));
        report.paced_strategies = true;
    }
    Ok(report)
}

/// Sleeps, then spins, until `due` after `start` (sleeping only while more than 2 ms away keeps
/// the paced timing within a few µs of the recording).
fn wait_until(start: std::time::Instant, due: std::time::Duration) {
    loop {
        let left = due.saturating_sub(start.elapsed());
        if left.is_zero() {
            return;
        }
        if left > std::time::Duration::from_millis(2) {
            std::thread::sleep(left - std::time::Duration::from_millis(1));
        } else {
            std::hint::spin_loop();
        }
    }
}

/// Runs `kspin replay`; returns the exit code.
pub fn run(args: &ReplayArgs, registry: &Registry) -> i32 {
    let path = args.file.display().to_string();
    let text = match std::fs::read(&args.file) {
        Ok(t) => t,
        Err(source) => {
            eprintln!("kspin replay: {}", ReplayError::Read { path, source });
            return 2;
        }
    };
    let config = match &args.strategies {
        Some(toml) => match crate::config::Config::load(toml) {
            Ok(config) => Some(config),
            Err(e) => {
                eprintln!("kspin replay: --strategies: {e}");
                return 2;
            }
        },
        None => None,
    };
    let result = run_file(&path, text, args, registry, config.as_ref());
    let mut report = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("kspin replay: {e}");
            return 2;
        }
    };
    if let (Some(dir), Some(backtest)) = (&args.plot, &report.backtest) {
        match super::replay_plot::write_plots(dir, backtest) {
            Ok(files) => report.plots = files,
            Err(reason) => {
                let dir = dir.display().to_string();
                eprintln!("kspin replay: {}", ReplayError::Plot { dir, reason });
                return 2;
            }
        }
    }
    for (line, err) in &report.error_lines {
        eprintln!("{path}:{line}: {err}");
    }
    if args.json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.render_text());
    }
    report.exit_code()
}

/// Replays the file's bytes `text` as the arguments ask.
fn run_file(
    path: &str,
    text: Vec<u8>,
    args: &ReplayArgs,
    registry: &Registry,
    config: Option<&crate::config::Config>,
) -> Result<ReplayReport, ReplayError> {
    let capture = kspin_runtime::capture::is_capture_file(&text);
    if args.plot.is_some() && (config.is_none() || args.paced) {
        return Err(ReplayError::PlotNeedsBacktest);
    }
    match config {
        Some(_) if !capture => Err(ReplayError::StrategiesNeedCapture),
        Some(config) if !args.paced => {
            let capture = Capture::from_bytes(text)
                .map_err(|e| ReplayError::Capture(format!("{path}: {e}")))?;
            super::backtest::backtest_capture(path, &capture, registry, config, args)
        }
        Some(config) => {
            eprintln!(
                "kspin replay: --paced: strategies run on their own threads at the recorded pace with kspin run's paper fills, which land at timing-dependent points: this replay is not deterministic (leave out --paced for a deterministic backtest)"
            );
            replay_capture(path, text, true, registry, &config.strategies)
        }
        None if capture => replay_capture(path, text, args.paced, registry, &[]),
        None if args.paced => Err(ReplayError::PacedNeedsCapture),
        None => replay_text(path, &text, args),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precision_specs_parse_or_name_the_problem() {
        assert_eq!(parse_precision("BTC/USD=1:8").ok(), Some(("BTC/USD", 1, 8)));
        assert!(parse_precision("BTC/USD=1").is_err());
        assert!(parse_precision("=1:8").is_err());
        assert!(parse_precision("X=a:8").is_err());
        assert!(parse_precision("X=1:99").is_err());
    }
}
