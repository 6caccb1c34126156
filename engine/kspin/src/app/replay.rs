//! `kspin replay FILE`: drives a recording of Kraken v2 text frames (one frame per line, exactly
//! as received) through the same decode → feed → book → checksum code as the live engine, and
//! reports what happened.
//!
//! A capture file written by `kspin record` (detected by its `KSPINCAP` magic) is replayed through
//! the engine-core path itself (`EngineCore::replay_frame`) with the symbols, depths and
//! precisions of its header, so its outcome is exactly the live run's; `--paced` replays it with
//! the recorded timing instead of at full speed. A torn tail is reported and ignored.
//!
//! This is a command, not the engine core: it reads the whole file, formats and allocates freely.
//! Exit status: 0 every checksum matched, 1 any mismatched, 2 the file could not be read or held
//! no decodable frame. A bad line is reported with its line number and the replay goes on.

use std::collections::BTreeMap;
use std::path::PathBuf;

use kspin_api::FixedDisplay;
use serde_json::{json, Value};

use kspin_core::feed::{DepthSource, Feed, FeedMode, FeedOptions, NullSink, PrecisionSource};
use kspin_core::kraken::{Decoder, DecoderLimits, Message};
use kspin_runtime::capture::{Capture, RecordKind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use kspin_ring::IdlePolicy;

use crate::config::StrategyConfig;
use crate::strategies::build_strategies;
use kspin_api::Registry;
use kspin_host::{reports_json, spawn_strategy, strategy_reports};
use kspin_runtime::EngineCore;

/// Arguments of `kspin replay`.
#[derive(Debug, Clone, clap::Args)]
pub struct ReplayArgs {
    /// A file of Kraken v2 WebSocket text frames, one per line.
    pub file: PathBuf,
    /// Print one JSON object instead of the human summary.
    #[arg(long)]
    pub json: bool,
    /// Book depth for every symbol (default: from the subscribe ack in the file, else 10).
    #[arg(long, value_name = "N")]
    pub depth: Option<usize>,
    /// Precision of a symbol as SYMBOL=PRICE_DECIMALS:QTY_DECIMALS (repeatable); otherwise
    /// from `instrument` frames in the file, else inferred from the first snapshot.
    #[arg(long, value_name = "SYMBOL=P:Q")]
    pub precision: Vec<String>,
    /// Captures only: replay with the recorded timing (default: as fast as possible).
    #[arg(long)]
    pub paced: bool,
    /// Run the `[[strategy]]` sections of this kspin.toml on the replayed capture (strategy
    /// threads, rings and paper fills exactly as in `kspin run`; capture files only, whose header
    /// gives every symbol's precision before the first frame).
    #[arg(long, value_name = "KSPIN_TOML")]
    pub strategies: Option<PathBuf>,
}

/// The figures of one replay, for printing or for tests.
#[derive(Debug, Clone)]
pub struct ReplayReport {
    pub file: String,
    pub lines: u64,
    pub frames: u64,
    pub frames_by_kind: BTreeMap<&'static str, u64>,
    pub book_messages: u64,
    pub checksum_ok: u64,
    pub checksum_mismatch: u64,
    pub errors: u64,
    /// (line, reason) of the first bad lines (at most 50 kept).
    pub error_lines: Vec<(u64, String)>,
    pub symbols: Vec<SymbolReport>,
    /// `kspin run`'s per-strategy figures when `--strategies` drove strategies.
    pub strategies: Option<Value>,
}

impl ReplayReport {
    /// A report of `file` with nothing counted yet.
    fn empty(file: &str) -> ReplayReport {
        ReplayReport {
            file: file.to_owned(),
            lines: 0,
            frames: 0,
            frames_by_kind: BTreeMap::new(),
            book_messages: 0,
            checksum_ok: 0,
            checksum_mismatch: 0,
            errors: 0,
            error_lines: Vec::new(),
            symbols: Vec::new(),
            strategies: None,
        }
    }
}

/// Per-symbol figures of a replay.
#[derive(Debug, Clone)]
pub struct SymbolReport {
    pub symbol: String,
    pub depth: usize,
    pub depth_source: &'static str,
    pub price_decimals: u8,
    pub qty_decimals: u8,
    pub precision_source: &'static str,
    pub state: &'static str,
    pub checksum_ok: u64,
    pub checksum_mismatch: u64,
    pub first_mismatch_line: Option<u64>,
    pub best_bid: Option<(String, String)>,
    pub best_ask: Option<(String, String)>,
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

fn kind_name(msg: &Message<'_>) -> &'static str {
    match msg {
        Message::Status(_) => "status",
        Message::Heartbeat => "heartbeat",
        Message::Pong(_) => "pong",
        Message::Subscribed(_) => "subscribe_ack",
        Message::Unsubscribed(_) => "unsubscribe_ack",
        Message::Book(_) => "book",
        Message::Trade(_) => "trade",
        Message::Ticker(_) => "ticker",
        Message::Ohlc(_) => "ohlc",
        Message::Instrument(_) => "instrument",
        Message::Request(_) => "request",
    }
}

/// Replays `text` (the file's contents) and returns the report.
pub fn replay_text(
    file: &str,
    text: &[u8],
    args: &ReplayArgs,
) -> Result<ReplayReport, ReplayError> {
    let mut feed = Feed::new(FeedOptions {
        mode: FeedMode::Passive,
        default_depth: 10,
        forced_depth: args.depth,
        infer_precision: true,
        add_unknown_symbols: true,
        ..FeedOptions::default()
    });
    for spec in &args.precision {
        let (symbol, p, q) = parse_precision(spec)?;
        feed.add_symbol(symbol, args.depth.unwrap_or(10), Some((p, q)));
    }
    let mut decoder = Decoder::new(DecoderLimits::default());
    let mut report = ReplayReport::empty(file);
    for (i, line) in text.split(|&b| b == b'\n').enumerate() {
        let line_no = i as u64 + 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        report.lines += 1;
        match decoder.decode(line) {
            Ok(msg) => {
                report.frames += 1;
                *report.frames_by_kind.entry(kind_name(&msg)).or_default() += 1;
                feed.on_message(line_no, &msg, &mut NullSink);
            }
            Err(e) => {
                report.errors += 1;
                if report.error_lines.len() < 50 {
                    report.error_lines.push((line_no, e.to_string()));
                }
            }
        }
    }
    fill_from_feed(&mut report, &feed);
    Ok(report)
}

/// Copies the feed's counters and per-symbol outcome into `report`.
fn fill_from_feed(report: &mut ReplayReport, feed: &Feed) {
    let counters = feed.counters();
    report.book_messages = counters.book_messages;
    report.checksum_ok = counters.checksum_ok;
    report.checksum_mismatch = counters.checksum_mismatch;
    for (entry, (_, sb)) in feed.symbols().iter().zip(feed.books()) {
        let level = |l: Option<(kspin_api::Price, kspin_api::Qty)>| {
            l.map(|(p, q)| {
                (
                    FixedDisplay {
                        mantissa: p.0,
                        scale: entry.price_scale,
                    }
                    .to_string(),
                    FixedDisplay {
                        mantissa: q.0,
                        scale: entry.qty_scale,
                    }
                    .to_string(),
                )
            })
        };
        report.symbols.push(SymbolReport {
            symbol: entry.name.to_string(),
            depth: sb.book.depth(),
            depth_source: match entry.depth_source {
                DepthSource::Default => "default",
                DepthSource::Configured => "configured",
                DepthSource::Ack => "ack",
                DepthSource::Inferred => "inferred",
            },
            price_decimals: entry.price_scale,
            qty_decimals: entry.qty_scale,
            precision_source: match entry.precision {
                PrecisionSource::Unknown => "unknown",
                PrecisionSource::Instrument => "instrument",
                PrecisionSource::Configured => "configured",
                PrecisionSource::Inferred => "inferred",
            },
            state: sb.state.name(),
            checksum_ok: sb.counters.checksum_ok,
            checksum_mismatch: sb.counters.checksum_mismatch,
            first_mismatch_line: sb.first_mismatch.map(|(line, _, _)| line),
            best_bid: level(sb.book.best_bid()),
            best_ask: level(sb.book.best_ask()),
        });
    }
}

/// Replays a capture (`bytes` of a `KSPINCAP` file) through the engine-core path with the
/// configuration its header records; `paced` keeps the recorded timing.
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
    let core_config = capture.replay_core_config();
    let symbols = kspin_host::symbol_infos(&core_config.symbols);
    if !strategies.is_empty() {
        if let Some(p) = core_config.symbols.iter().find(|p| p.precision.is_none()) {
            return Err(ReplayError::Strategies(format!(
                "the capture's header has no precision for {}; strategies need it before the first frame",
                p.symbol
            )));
        }
    }
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
    let mut core = EngineCore::new(core_config, bus, clock)
        .map_err(|e| ReplayError::Capture(e.to_string()))?;
    let mut log_drain = core.publisher_mut().take_log_drain();
    // A second decoder only to name frame kinds and bad records for the report.
    let mut decoder = Decoder::new(DecoderLimits::default());
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
                match decoder.decode(record.payload) {
                    Ok(msg) => {
                        report.frames += 1;
                        *report.frames_by_kind.entry(kind_name(&msg)).or_default() += 1;
                    }
                    Err(e) => {
                        report.errors += 1;
                        if report.error_lines.len() < 50 {
                            report.error_lines.push((record_no, e.to_string()));
                        }
                    }
                }
                core.replay_frame(record.recv_tsc, record.payload);
                core.replay_service();
            }
            RecordKind::LinkUp => core.replay_link(true),
            RecordKind::LinkDown => core.replay_link(false),
            RecordKind::Gap => {
                report.errors += 1;
                if report.error_lines.len() < 50 {
                    report.error_lines.push((
                        record_no,
                        "the recorder dropped frames here (its ring was full)".into(),
                    ));
                }
            }
        }
    }
    if capture.torn_bytes() > 0 && report.error_lines.len() < 50 {
        report.error_lines.push((
            capture.record_count() + 1,
            format!(
                "torn tail: {} bytes after the last valid record ignored",
                capture.torn_bytes()
            ),
        ));
    }
    fill_from_feed(&mut report, core.feed());
    if !hosts.is_empty() {
        // Let every strategy drain its ring (the bus hands catch-up snapshots as room appears),
        // then stop them and collect their figures.
        for _ in 0..10_000 {
            core.replay_service();
            if !core.publisher().needs_service() {
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
            core.publisher().strategy_stats(),
            reports,
        )));
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

impl ReplayReport {
    /// 0 all matched, 1 any mismatch, 2 nothing decodable.
    pub fn exit_code(&self) -> i32 {
        if self.frames == 0 {
            2
        } else if self.checksum_mismatch > 0 {
            1
        } else {
            0
        }
    }

    pub fn to_json(&self) -> Value {
        let symbols: serde_json::Map<String, Value> = self
            .symbols
            .iter()
            .map(|s| {
                (
                    s.symbol.clone(),
                    json!({
                        "depth": s.depth,
                        "depth_source": s.depth_source,
                        "checksum_ok": s.checksum_ok,
                        "checksum_mismatch": s.checksum_mismatch,
                        "best_bid": s.best_bid.as_ref().map(|b| b.0.clone()),
                        "best_bid_qty": s.best_bid.as_ref().map(|b| b.1.clone()),
                        "best_ask": s.best_ask.as_ref().map(|a| a.0.clone()),
                        "best_ask_qty": s.best_ask.as_ref().map(|a| a.1.clone()),
                        "price_decimals": s.price_decimals,
                        "qty_decimals": s.qty_decimals,
                        "precision_source": s.precision_source,
                        "state": s.state,
                        "first_mismatch_line": s.first_mismatch_line,
                    }),
                )
            })
            .collect();
        json!({
            "file": self.file,
            "frames": self.frames,
            "frames_by_kind": self.frames_by_kind,
            "book_messages": self.book_messages,
            "checksum_ok": self.checksum_ok,
            "checksum_mismatch": self.checksum_mismatch,
            "errors": self.errors,
            "error_lines": self.error_lines.iter().map(|(l, e)| json!({"line": l, "error": e})).collect::<Vec<_>>(),
            "symbols": symbols,
            "strategies": self.strategies,
        })
    }

    pub fn render_text(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let kinds: Vec<String> = self
            .frames_by_kind
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        let _ = writeln!(out, "replay {}", self.file);
        let _ = writeln!(out, "frames: {} ({})", self.frames, kinds.join(", "));
        let _ = writeln!(
            out,
            "book messages: {}  checksums ok: {}  mismatched: {}  bad lines: {}",
            self.book_messages, self.checksum_ok, self.checksum_mismatch, self.errors
        );
        for (line, err) in &self.error_lines {
            let _ = writeln!(out, "  line {line}: {err}");
        }
        for s in &self.symbols {
            let side = |l: &Option<(String, String)>| match l {
                Some((p, q)) => format!("{p} x {q}"),
                None => "-".to_owned(),
            };
            let depth_note = match s.depth_source {
                "inferred" => " (inferred from the first snapshot)",
                "default" => " (default: no ack or snapshot)",
                _ => "",
            };
            let precision = match s.precision_source {
                "unknown" => "unknown".to_owned(),
                "inferred" => format!(
                    "{}:{} (inferred from the first snapshot)",
                    s.price_decimals, s.qty_decimals
                ),
                _ => format!("{}:{}", s.price_decimals, s.qty_decimals),
            };
            let _ = writeln!(
                out,
                "{}: depth {}{}, precision {}, checksums ok {} mismatched {}, state {}",
                s.symbol,
                s.depth,
                depth_note,
                precision,
                s.checksum_ok,
                s.checksum_mismatch,
                s.state
            );
            if let Some(line) = s.first_mismatch_line {
                let _ = writeln!(out, "  first mismatch at line {line}");
            }
            let _ = writeln!(
                out,
                "  best bid {}  best ask {}",
                side(&s.best_bid),
                side(&s.best_ask)
            );
        }
        out
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
    let strategies = match &args.strategies {
        Some(toml) => match crate::config::Config::load(toml) {
            Ok(config) => config.strategies,
            Err(e) => {
                eprintln!("kspin replay: --strategies: {e}");
                return 2;
            }
        },
        None => Vec::new(),
    };
    let result = if kspin_runtime::capture::is_capture_file(&text) {
        replay_capture(&path, text, args.paced, registry, &strategies)
    } else if args.strategies.is_some() {
        Err(ReplayError::StrategiesNeedCapture)
    } else if args.paced {
        Err(ReplayError::PacedNeedsCapture)
    } else {
        replay_text(&path, &text, args)
    };
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("kspin replay: {e}");
            return 2;
        }
    };
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
