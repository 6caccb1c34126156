//! `kspin mirror`: a remote consumer of `kspin run --nats`. Reads the JetStream stream,
//! rebuilds every book, verifies each Kraken checksum, detects sequence gaps and heals them at
//! the next snapshot, and prints per symbol `checksum_ok`, `checksum_mismatch`, `gaps` and
//! `snapshots` with a top-level `messages` count (`--json`: one object on stdout).
//!
//! With `--strategies CONFIG` (the `[[strategy]]` blocks of a kspin configuration, as
//! `kspin run` and `kspin replay --strategies` read them) the verified books also feed local
//! strategies through the same bus and host threads as `kspin run` ([`kspin_nats::MirrorFeed`]),
//! with the paper model answering their orders; `--json` then gains `strategies` (the same
//! per-strategy object as `kspin run`'s, with each replica's book checksum under `books`) and
//! `feed` (what was handed to them).
//!
//! Exit code: 0; 1 when a checksum mismatched; 2 when NATS or the stream could not be reached,
//! or the strategies could not be started.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use kspin_api::Registry;
use kspin_host::{reports_json, spawn_strategy, strategy_reports, RunningStrategy};
use kspin_nats::{run_mirror, run_mirror_with, MirrorConfig, MirrorFeed};
use kspin_ring::IdlePolicy;
use serde_json::{json, Value};

use crate::strategies::build_strategies;

/// Arguments of `kspin mirror`.
#[derive(Debug, Clone, clap::Args)]
pub struct MirrorArgs {
    /// NATS server, `nats://host:port`.
    #[arg(long, value_name = "URL")]
    pub nats: String,
    /// Follow only this symbol (repeatable; every symbol by default).
    #[arg(long = "symbol", value_name = "S")]
    pub symbols: Vec<String>,
    /// Stop after this many seconds.
    #[arg(long, value_name = "SECS")]
    pub duration: f64,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
    /// JetStream stream to read (`[nats] stream` of the publishing engines).
    #[arg(long, default_value = "KSPIN")]
    pub stream: String,
    /// `new`: only messages published from now on (books appear at the next periodic
    /// snapshot); `start`: everything the stream holds.
    #[arg(long, value_name = "WHERE", default_value = "new", value_parser = ["new", "start"])]
    pub from: String,
    /// Stop as soon as the stream has been read to its end (with `--from start`: verify what a
    /// finished run published).
    #[arg(long)]
    pub drain: bool,
    /// Feed these strategies (the `[[strategy]]` blocks of a kspin configuration) with the
    /// verified books, as `kspin run` does; their symbols are the configuration's subscriptions
    /// unless `--symbol` is given.
    #[arg(long, value_name = "CONFIG")]
    pub strategies: Option<PathBuf>,
    /// Only wait for the periodic snapshot after a gap (by default the mirror asks the bridge
    /// for one on `kspinctl.<venue>.snapshot.request`).
    #[arg(long)]
    pub no_snapshot_requests: bool,
}

/// Runs `kspin mirror`; returns the exit code.
pub fn run(args: &MirrorArgs, registry: &Registry) -> i32 {
    let mut config = MirrorConfig {
        url: args.nats.clone(),
        stream: args.stream.clone(),
        symbols: args.symbols.clone(),
        duration: Duration::from_secs_f64(args.duration.max(0.0)),
        drain: args.drain,
        from_start: args.from == "start",
        ask_snapshots: !args.no_snapshot_requests,
    };
    let mut report = match &args.strategies {
        None => match run_mirror(&config) {
            Ok(v) => v.report(&config.symbols),
            Err(e) => {
                eprintln!("kspin mirror: {e}");
                return 2;
            }
        },
        Some(path) => match with_strategies(&mut config, path, registry) {
            Ok(report) => report,
            Err(e) => {
                eprintln!("kspin mirror: {e}");
                return 2;
            }
        },
    };
    if report.is_null() {
        report = json!({});
    }
    if args.json {
        println!("{report}");
    } else {
        print!("{}", text(&report));
        if report["strategies"].is_object() {
            print!(
                "{}",
                super::replay_text::strategy_lines(&report["strategies"], true)
            );
        }
    }
    let mismatched = report["symbols"].as_object().is_some_and(|s| {
        s.values()
            .any(|v| v["checksum_mismatch"].as_u64() != Some(0))
    });
    i32::from(mismatched)
}

/// The mirror with local strategies: builds them (and starts their threads) once every symbol
/// has a verified book, runs the mirror, lets them drain their rings, stops them and returns
/// the report with `strategies` and `feed`.
fn with_strategies(
    config: &mut MirrorConfig,
    path: &std::path::Path,
    registry: &Registry,
) -> Result<Value, String> {
    let strategies_config = crate::config::Config::load(path)
        .map_err(|e| format!("--strategies {}: {e}", path.display()))?;
    if config.symbols.is_empty() {
        for sub in &strategies_config.subscriptions {
            for s in &sub.symbols {
                if !config.symbols.contains(s) {
                    config.symbols.push(s.clone());
                }
            }
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    let mut hosts: Vec<RunningStrategy> = Vec::new();
    let mut start_error: Option<String> = None;
    let (verifier, bus, counters) = {
        let build = |symbols: &[kspin_api::SymbolInfo]| {
            let (bus, handles) = build_strategies(
                registry,
                &strategies_config.strategies,
                symbols,
                strategies_config.engine.ring_capacity,
                IdlePolicy::SHARED_CORE,
            )
            .map_err(|e| e.to_string())?;
            for handle in handles {
                hosts.push(spawn_strategy(handle, Arc::clone(&stop)).map_err(|e| e.to_string())?);
            }
            Ok(bus)
        };
        let mut feed = MirrorFeed::new(config.symbols.clone(), Box::new(build));
        let verifier = run_mirror_with(config, Some(&mut feed)).map_err(|e| e.to_string())?;
        // Let every strategy drain its ring (catch-up snapshots as room appears), bounded.
        for _ in 0..10_000 {
            feed.poll(&verifier);
            if !feed.needs_service() {
                break;
            }
            std::thread::sleep(Duration::from_micros(100));
        }
        if let Some(e) = feed.error() {
            start_error = Some(e.to_owned());
        }
        let counters = feed.counters();
        (verifier, feed.into_bus(), counters)
    };
    stop.store(true, Ordering::SeqCst);
    let mut reports = Vec::with_capacity(hosts.len());
    for host in hosts {
        reports.push(host.join().map_err(|e| e.to_string())?);
    }
    if let Some(e) = start_error {
        return Err(format!("--strategies: {e}"));
    }
    let mut report = verifier.report(&config.symbols);
    let started = bus.is_some();
    let strategies = match bus {
        Some(mut bus) => {
            if let Some(mut drain) = bus.take_log_drain() {
                drain.drain(usize::MAX, |strategy, _record, text| {
                    eprintln!("  [{strategy}] {text}")
                });
            }
            reports_json(&strategy_reports(bus.strategy_stats(), reports))
        }
        None => json!({}),
    };
    report["strategies"] = strategies;
    report["feed"] = json!({
        "started": started,
        "before_start": counters.before_start,
        "snapshots": counters.snapshots,
        "updates": counters.updates,
        "trades": counters.trades,
        "tickers": counters.tickers,
        "stale": counters.stale,
        "connections": counters.connections,
        "periodic_skipped": counters.periodic_skipped,
    });
    Ok(report)
}

fn text(r: &Value) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "kspin mirror: {} messages, {} duplicates dropped",
        r["messages"], r["duplicates"]
    );
    if r["orders"]["messages"].as_u64().is_some_and(|n| n > 0) {
        let o = &r["orders"];
        let _ = writeln!(
            out,
            "  orders: {} messages, {} fills, {} other updates | gaps {} duplicates {}",
            o["messages"], o["fills"], o["updates"], o["gaps"], o["duplicates"]
        );
    }
    if let Some(symbols) = r["symbols"].as_object() {
        for (name, v) in symbols {
            let _ = writeln!(
                out,
                "  {name}: checksums ok {} mismatched {} | gaps {} healed {} | snapshots {} | synced {}",
                v["checksum_ok"], v["checksum_mismatch"], v["gaps"], v["healed"], v["snapshots"], v["synced"]
            );
        }
    }
    out
}
