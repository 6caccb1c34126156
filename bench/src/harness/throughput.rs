//! `kspin bench throughput`: how many messages per second the engine core sustains over loopback
//! with no drops and no checksum mismatches, and from which offered rate drops start.
//!
//! A sweep of spin-paced offered rates (one short step each), then the venue at its maximum rate.
//! Each step uses a fresh venue and engine core on their pinned cores. At the end of a step the
//! venue is paused and the engine given time to read what is in flight; a drop is then any frame
//! the venue sent on the connection that the engine did not process, a connection the venue cut
//! as too slow, or a reconnect. The venue generates and checksums every frame itself, so on a
//! small machine it, not the engine, may be what limits the rate; the report says which, and a
//! final phase (`engine_limit`, see [`super::blast`]) measures the engine with pre-framed frames
//! written as fast as the socket takes them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::engine_thread::EngineThread;
use super::report::median;
use super::{BenchError, BenchOptions};
use kspin_core::feed::FeedSink;
use kspin_net::Endpoint;
use kspin_runtime::plan::SymbolPlan;
use kspin_runtime::{EngineCore, FrameStamps, Publisher};
use kspin_sim::{PacingMode, SendStamps, SimConfig, SimVenue};

/// Issue 13's target for the engine limit (book messages/s, every checksum verified); issue 5's
/// was 2 M.
pub const TARGET_ENGINE_MSGS_PER_SEC: u64 = 3_000_000;

/// Offered rates of the sweep (market events per second).
pub const SWEEP: [u64; 4] = [250_000, 500_000, 1_000_000, 2_000_000];
/// After the venue pauses, the engine drains in-flight frames until it stops progressing for
/// this long...
const DRAIN: Duration = Duration::from_millis(300);
/// ... or this much time has passed.
const DRAIN_LIMIT: Duration = Duration::from_secs(5);

/// Counts processed frames in a shared atomic (a relaxed store per frame; read by the main
/// thread to measure the rate).
struct FrameCounter {
    frames: u64,
    shared: Arc<AtomicU64>,
}

impl FeedSink for FrameCounter {}

impl Publisher for FrameCounter {
    #[inline]
    fn frame_done(&mut self, _stamps: &FrameStamps) {
        self.frames += 1;
        self.shared.store(self.frames, Ordering::Relaxed);
    }
}

/// One step's figures.
#[derive(Debug, Clone)]
pub struct Step {
    pub offered: Option<u64>,
    pub venue_frames_per_sec: f64,
    pub engine_frames_per_sec: f64,
    pub engine_book_msgs_per_sec: f64,
    pub drops: u64,
    pub checksum_mismatch: u64,
}

impl Step {
    pub fn to_json(&self) -> Value {
        json!({
            "offered_events_per_sec": self.offered,
            "venue_frames_per_sec": self.venue_frames_per_sec.round(),
            "msgs_per_sec": self.engine_frames_per_sec.round(),
            "book_msgs_per_sec": self.engine_book_msgs_per_sec.round(),
            "drops": self.drops,
            "checksum_mismatch": self.checksum_mismatch,
        })
    }
}

fn run_step(
    opts: &BenchOptions,
    clock: &quanta::Clock,
    offered: Option<u64>,
    seconds: f64,
) -> Result<Step, BenchError> {
    let sent = Arc::new(SendStamps::new(clock.clone(), 0));
    let venue = SimVenue::start(SimConfig {
        rate_per_sec: offered.unwrap_or(0).min(u64::from(u32::MAX)) as u32,
        seed: opts.seed,
        symbols: opts.symbols.clone(),
        pacing: if offered.is_some() {
            PacingMode::Spin
        } else {
            PacingMode::MaxRate
        },
        send_stamps: Some(sent.clone()),
        core: Some(opts.venue_core),
        ..SimConfig::default()
    })?;
    let plan: Vec<SymbolPlan> = opts
        .symbols
        .iter()
        .map(|s| SymbolPlan {
            symbol: s.clone(),
            depth: opts.depth,
            book: true,
            trade: opts.trades,
            ticker: false,
            precision: None,
        })
        .collect();
    let mut cfg = kspin_runtime::CoreConfig::new(plan);
    let endpoint = Endpoint::parse(&venue.url()).map_err(|e| BenchError::Setup(e.to_string()))?;
    cfg.stall_timeout = Duration::from_secs(10);
    cfg.connect_timeout = Duration::from_secs(5);
    let counter = Arc::new(AtomicU64::new(0));
    let core = EngineCore::new(
        cfg,
        FrameCounter {
            frames: 0,
            shared: counter.clone(),
        },
        super::loopback_transport(&endpoint)?,
        clock.clone(),
    )?;
    let thread = EngineThread::spawn(opts, core)?;
    std::thread::sleep(Duration::from_secs_f64(opts.warmup));
    let (t0, engine0, venue0) = (Instant::now(), counter.load(Ordering::Relaxed), sent.sent());
    std::thread::sleep(Duration::from_secs_f64(seconds));
    let (t1, engine1, venue1) = (Instant::now(), counter.load(Ordering::Relaxed), sent.sent());
    venue.pause();
    // Let the engine read what is in flight: until it has everything sent, or makes no progress
    // for DRAIN (the backlog in the venue's buffers can be large at the maximum rate).
    let mut last = counter.load(Ordering::Relaxed);
    let give_up = Instant::now() + DRAIN_LIMIT;
    while Instant::now() < give_up {
        std::thread::sleep(DRAIN);
        let now = counter.load(Ordering::Relaxed);
        if now >= sent.sent() || now == last {
            break;
        }
        last = now;
    }
    let (core, _setup) = thread.stop()?;
    let venue_stats = venue.stats();
    venue.stop();
    let secs = (t1 - t0).as_secs_f64().max(1e-9);
    let feed = core.feed().counters();
    let processed = core.publisher().frames;
    let drops = sent.sent().saturating_sub(processed)
        + venue_stats.connections_dropped_slow
        + core.counters().reconnects;
    let books_per_frame = feed.book_messages as f64 / processed.max(1) as f64;
    Ok(Step {
        offered,
        venue_frames_per_sec: venue1.saturating_sub(venue0) as f64 / secs,
        engine_frames_per_sec: engine1.saturating_sub(engine0) as f64 / secs,
        engine_book_msgs_per_sec: engine1.saturating_sub(engine0) as f64 / secs * books_per_frame,
        drops,
        checksum_mismatch: feed.checksum_mismatch,
    })
}

/// Runs the sweep once and the maximum-rate step `opts.runs` times; returns the JSON figures.
pub fn run(opts: &BenchOptions, clock: &quanta::Clock) -> Result<Value, BenchError> {
    let mut sweep = Vec::new();
    let mut drops_start: Option<u64> = None;
    for &rate in SWEEP.iter() {
        eprintln!("kspin bench: throughput step, offered {rate} events/s");
        let step = run_step(opts, clock, Some(rate), opts.seconds.min(1.0))?;
        if drops_start.is_none() && (step.drops > 0 || step.checksum_mismatch > 0) {
            drops_start = Some(rate);
        }
        sweep.push(step);
    }
    let mut max_steps = Vec::new();
    for run in 0..opts.runs {
        eprintln!(
            "kspin bench: throughput run {}/{} at the venue's maximum rate",
            run + 1,
            opts.runs
        );
        max_steps.push(run_step(opts, clock, None, opts.seconds)?);
    }
    let med = |f: fn(&Step) -> f64| median(&mut max_steps.iter().map(f).collect::<Vec<_>>());
    let msgs_per_sec = med(|s| s.engine_frames_per_sec);
    let venue_rate = med(|s| s.venue_frames_per_sec);
    let drops: u64 = max_steps.iter().map(|s| s.drops).sum();
    let mismatch: u64 = max_steps.iter().map(|s| s.checksum_mismatch).sum();
    // The venue's own rate bounds what can be measured: within 5 % of it means venue-limited.
    let limited_by = if msgs_per_sec >= 0.95 * venue_rate {
        "venue (the engine kept up with everything sent)"
    } else {
        "engine"
    };
    // The engine's own limit, with a sender that is not the bottleneck.
    let blast = super::blast::run(opts)?;
    Ok(json!({
        "msgs_per_sec": msgs_per_sec.round(),
        "book_msgs_per_sec": med(|s| s.engine_book_msgs_per_sec).round(),
        "venue_frames_per_sec": venue_rate.round(),
        "drops": drops,
        "checksum_mismatch": mismatch,
        "limited_by": limited_by,
        "drops_start_at_offered_events_per_sec": drops_start,
        "target_msgs_per_sec": TARGET_ENGINE_MSGS_PER_SEC,
        "engine_limit": blast,
        "max_rate_runs": max_steps.iter().map(Step::to_json).collect::<Vec<_>>(),
        "sweep": sweep.iter().map(Step::to_json).collect::<Vec<_>>(),
    }))
}
