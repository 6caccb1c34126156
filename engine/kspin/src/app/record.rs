//! `kspin record FILE`: runs the engine like `kspin run` (by default against the embedded
//! simulated venue) and copies every received frame, with its receive TSC and Unix time, into an
//! append-only capture file (`kspin replay FILE` reads it back).
//!
//! A command around the engine core: the core thread runs `EngineCore<Recording<NoStrategies>>`,
//! whose only extra work per frame is one copy into the capture ring; a writer thread off the hot
//! core drains the ring into the file. This thread prints status and the summary. `--append` adds
//! to an existing capture after cutting a torn tail left by a crash.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use super::run::{prepare, Prepared, RunError};
use crate::config::Config;
use kspin_runtime::capture::reader::capture_symbol;
use kspin_runtime::capture::{
    start_recording, CaptureError, CaptureHeader, OpenMode, Recording, DEFAULT_RING_BYTES,
};
use kspin_runtime::{CoreStats, EngineCore, NoStrategies};

/// Arguments of `kspin record`.
#[derive(Debug, Clone, clap::Args)]
pub struct RecordArgs {
    /// The capture file to write.
    pub file: PathBuf,
    /// Configuration file (default: built-in defaults, against the embedded simulated venue).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Stop after this many seconds (default: until Ctrl-C).
    #[arg(long, value_name = "SECS")]
    pub duration: Option<f64>,
    /// Append to an existing capture (a torn tail is cut first) instead of replacing it.
    #[arg(long)]
    pub append: bool,
    /// Capture ring size in MiB (frames that do not fit are dropped and marked in the file).
    #[arg(long, value_name = "MIB", default_value_t = DEFAULT_RING_BYTES >> 20)]
    pub ring_mib: usize,
    /// Print the summary as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
    /// No per-second status lines.
    #[arg(long)]
    pub quiet: bool,
}

/// Why `kspin record` could not run.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("{0}")]
    Run(#[from] RunError),
    #[error("{0}")]
    Capture(#[from] CaptureError),
    #[error("engine core: {0}")]
    Core(#[from] kspin_runtime::CoreError),
    #[error("{0}")]
    Config(#[from] crate::config::ConfigError),
    #[error("cannot start the engine thread: {0}")]
    Spawn(std::io::Error),
    #[error("the engine thread panicked")]
    Panicked,
}

/// Runs `kspin record`; returns the exit code.
pub fn run(args: &RecordArgs) -> i32 {
    match run_inner(args) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("kspin record: {e}");
            2
        }
    }
}

fn run_inner(args: &RecordArgs) -> Result<(), RecordError> {
    let config = match &args.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    let mut plan = config.symbol_plan()?;
    super::signals::install();
    let Prepared {
        core: core_cfg,
        transport,
        venue,
    } = prepare(&config, &mut plan, None)?;
    let header = CaptureHeader {
        venue: venue
            .as_ref()
            .map_or_else(|| config.venue.url.clone(), |v| v.url()),
        symbols: plan.iter().map(capture_symbol).collect(),
        started_unix_ns: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64),
        writer: format!("kspin {}", env!("CARGO_PKG_VERSION")),
    };
    let mode = if args.append {
        OpenMode::Append
    } else {
        OpenMode::Create
    };
    let clock = quanta::Clock::new();
    let (producer, recorder) = start_recording(
        &args.file,
        &header,
        mode,
        args.ring_mib.max(1) << 20,
        clock.clone(),
    )?;
    let mut core = EngineCore::new(
        core_cfg,
        Recording::new(NoStrategies, producer, clock.clone()),
        transport,
        clock,
    )?;
    let stop = Arc::new(AtomicBool::new(false));
    let (mut stats_tx, mut stats_rx) = kspin_ring::spsc::<CoreStats>(64);
    let core_stop = stop.clone();
    let engine_core = config.engine.core;
    let thread = std::thread::Builder::new()
        .name("kspin-core".into())
        .spawn(move || {
            core_affinity::set_for_current(core_affinity::CoreId { id: engine_core });
            core.run(&core_stop, &mut stats_tx);
            core
        })
        .map_err(RecordError::Spawn)?;
    eprintln!("kspin record: recording into {}", args.file.display());
    let started = Instant::now();
    let deadline = args
        .duration
        .map(|s| started + Duration::from_secs_f64(s.max(0.0)));
    loop {
        std::thread::sleep(Duration::from_millis(50));
        while let Some(s) = stats_rx.try_pop() {
            if !args.quiet {
                eprintln!(
                    "[{:>5.1}s] {} frames recorded, {} dropped, checksums ok {} fail {}",
                    started.elapsed().as_secs_f64(),
                    s.feed.frames,
                    recorder.dropped(),
                    s.feed.checksum_ok,
                    s.feed.checksum_mismatch
                );
            }
        }
        let timed_out = deadline.is_some_and(|d| Instant::now() >= d);
        if timed_out || super::signals::interrupted() || thread.is_finished() {
            break;
        }
    }
    stop.store(true, Ordering::SeqCst);
    let core = thread.join().map_err(|_| RecordError::Panicked)?;
    if let Some(v) = venue {
        v.stop();
    }
    let summary = recorder.finish()?;
    let feed = core.feed().counters();
    let out = json!({
        "file": args.file.display().to_string(),
        "duration_s": started.elapsed().as_secs_f64(),
        "records": summary.records,
        "frames": summary.frames,
        "dropped": summary.dropped,
        "file_bytes": summary.file_bytes,
        "torn_bytes_cut": summary.torn_bytes_cut,
        "checksum_ok": feed.checksum_ok,
        "checksum_mismatch": feed.checksum_mismatch,
    });
    if args.json {
        println!("{out}");
    } else {
        println!(
            "kspin record: {} frames ({} records, {} bytes) into {}; dropped {}; torn tail cut {} bytes; checksums ok {} mismatched {}",
            summary.frames,
            summary.records,
            summary.file_bytes,
            args.file.display(),
            summary.dropped,
            summary.torn_bytes_cut,
            feed.checksum_ok,
            feed.checksum_mismatch
        );
    }
    Ok(())
}
