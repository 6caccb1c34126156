//! `kspin bench latency` and `kspin bench floor`: end-to-end latency from the simulated venue's
//! write to a strategy's callback, per stage, against the raw loopback floor measured in the same
//! run.
//!
//! A run is several short rounds (`--rounds`); each round has up to four phases, each against a
//! fresh venue (same seed, same rate, pinned) with a fresh send-stamp side channel, kspin and
//! the busy-poll floor back to back in every round (their order alternating, see
//! [`round_order`]), so each round's kspin p50 pairs with a floor p50 measured moments apart and
//! [`super::latency_verdict`] can judge the paired differences and the floor's stability:
//! - `kspin`: the engine core on its own pinned core publishing through the strategy bus to one
//!   [`ProbeStrategy`] on the strategy core, with a [`LatencyProbe`] in front of the bus that
//!   keeps every frame's stage stamps (no work on the core beyond a copy), and the strategy
//!   host's per-event stamp log;
//! - `kspin_recording`: the same with `Recording<LatencyProbe<Bus>>` (what recording costs);
//! - `floor`: a bare tungstenite client on the same kind of loopback socket, blocking reads, no
//!   decode: the time the kernel alone takes;
//! - `floor_spin`: the same client busy-polling a non-blocking socket (kspin's own reading mode).
//!
//! After each phase the venue's send stamps, the engine's frame stamps and the strategy's event
//! stamps are joined (see [`super::probe`]). The load is open-loop (the venue sends on its
//! schedule whatever the engine does, and every frame has its own send stamp), so a stalled
//! engine shows up as latency, never as missing samples: no coordinated omission. Frames read in
//! the first `--warmup` are skipped.
//!
//! Cores: the venue, the engine and the strategy each get a core when there are three or more.
//! With two, the strategy shares the venue's core: both then give the core away (the venue after
//! every loop turn, in every phase of the run so the phases stay comparable; the strategy host
//! when idle, after a short spin), and the wire → strategy figures include the scheduler's hand-over between the
//! two (a few µs here); the run says so.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde_json::{json, Map, Value};

use kspin_ring::IdlePolicy;

use super::conditions::{set_up_thread, ThreadSetup};
use super::engine_thread::EngineThread;
use super::probe::{self, Joined, LatencyProbe, ProbeStrategy, PROBE_STRATEGY};
use super::report::{median_percentiles, percentiles_json};
use super::{BenchError, BenchOptions, VenuePacing};
use kspin_host::{symbol_infos, Bus, EventStamps, Pinning, RunningStrategy};
use kspin_net::Endpoint;
use kspin_runtime::capture::reader::capture_symbol;
use kspin_runtime::capture::{
    start_recording, CaptureHeader, OpenMode, Recording, DEFAULT_RING_BYTES,
};
use kspin_runtime::plan::SymbolPlan;
use kspin_runtime::requests::Requests;
use kspin_runtime::{EngineCore, FrameStamps, Publisher, Stage, StageHistograms};
use kspin_sim::{PacingMode, SendStamps, SimConfig, SimVenue, VenueHandle};

/// The phases a latency run can have, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Kspin,
    KspinRecording,
    Floor,
    FloorSpin,
}

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Phase::Kspin => "kspin",
            Phase::KspinRecording => "kspin_recording",
            Phase::Floor => "floor",
            Phase::FloorSpin => "floor_spin",
        }
    }
}

/// One phase's outcome.
pub struct PhaseResult {
    pub histograms: StageHistograms,
    pub threads: Vec<ThreadSetup>,
    /// Frames received (after warm-up) that were paired with a send stamp.
    pub samples: u64,
    /// Of those, frames whose first event reached the strategy (kspin phases).
    pub strategy_samples: u64,
    /// Checksum mismatches seen by the engine (0 for floor phases).
    pub checksum_mismatch: u64,
}

fn plan(opts: &BenchOptions) -> Vec<SymbolPlan> {
    opts.symbols
        .iter()
        .map(|s| SymbolPlan {
            symbol: s.clone(),
            depth: opts.depth,
            book: true,
            trade: opts.trades,
            ticker: false,
            precision: kspin_sim::pairs::find_pair(s).map(|p| (p.price_precision, p.qty_precision)),
        })
        .collect()
}

/// Event ring of the probe strategy: the default `engine.ring_capacity`.
const PROBE_RING_CAPACITY: usize = 1 << 14;

/// True when the strategy thread shares the venue's core (fewer than three cores).
fn strategy_shares_venue(opts: &BenchOptions) -> bool {
    opts.strategy_core == opts.venue_core
}

/// True when the strategy thread shares a core with another busy thread of the run.
fn strategy_shares_core(opts: &BenchOptions) -> bool {
    strategy_shares_venue(opts) || opts.strategy_core == opts.engine_core
}

/// Frames a phase can see: every market event can produce a book, a trade and a ticker frame
/// per symbol, plus the handshake frames and heartbeats.
fn frame_capacity(opts: &BenchOptions) -> usize {
    let secs = opts.seconds + opts.warmup + 2.0;
    (opts.rate as f64 * secs * 3.0) as usize + 10_000
}

fn start_venue(
    opts: &BenchOptions,
    clock: &quanta::Clock,
    pacing: VenuePacing,
) -> Result<(VenueHandle, Arc<SendStamps>), BenchError> {
    let pacing = match pacing {
        VenuePacing::Spin => PacingMode::Spin,
        VenuePacing::SpinYield => PacingMode::SpinYield,
    };
    let stamps = Arc::new(SendStamps::new(clock.clone(), frame_capacity(opts)));
    let venue = SimVenue::start(SimConfig {
        rate_per_sec: opts.rate as u32,
        seed: opts.seed,
        symbols: opts.symbols.clone(),
        pacing,
        send_stamps: Some(stamps.clone()),
        core: Some(opts.venue_core),
        ..SimConfig::default()
    })?;
    Ok((venue, stamps))
}

fn engine_config(
    opts: &BenchOptions,
    venue: &VenueHandle,
) -> Result<(kspin_runtime::CoreConfig, Endpoint), BenchError> {
    let mut cfg = kspin_runtime::CoreConfig::new(plan(opts));
    let endpoint = Endpoint::parse(&venue.url()).map_err(|e| BenchError::Setup(e.to_string()))?;
    cfg.stall_timeout = Duration::from_secs(10);
    cfg.ping_interval = Duration::from_secs(30);
    cfg.connect_timeout = Duration::from_secs(5);
    Ok((cfg, endpoint))
}

/// Runs the engine core on its pinned core against `venue` for warm-up + measurement; returns
/// the core and the TSC at which the warm-up ended.
fn drive_engine<P: Publisher + Send + 'static>(
    opts: &BenchOptions,
    clock: &quanta::Clock,
    core: EngineCore<P>,
) -> Result<(EngineCore<P>, ThreadSetup, u64), BenchError> {
    let thread = EngineThread::spawn(opts, core)?;
    std::thread::sleep(Duration::from_secs_f64(opts.warmup));
    let warm_tsc = clock.raw();
    std::thread::sleep(Duration::from_secs_f64(opts.seconds));
    let (core, setup) = thread.stop()?;
    Ok((core, setup, warm_tsc))
}

fn venue_setup(opts: &BenchOptions) -> ThreadSetup {
    ThreadSetup {
        role: match opts.venue_pacing {
            VenuePacing::Spin => "simulated venue (spin-paced)",
            VenuePacing::SpinYield => {
                "simulated venue (spin-paced, yields when idle: the strategy shares its core)"
            }
        },
        core: opts.venue_core,
        pinned: true,
        rt: None,
    }
}

/// The bus of a kspin phase with the probe strategy on it, its thread started.
fn start_probe_strategy(
    opts: &BenchOptions,
    stop: Arc<AtomicBool>,
) -> Result<(Bus, RunningStrategy), BenchError> {
    let mut bus = Bus::new(&symbol_infos(&plan(opts)));
    let idle = if strategy_shares_core(opts) {
        IdlePolicy::SHARED_CORE
    } else {
        IdlePolicy::Spin
    };
    let mut handle = bus
        .add_strategy(
            PROBE_STRATEGY,
            Some(opts.strategy_core),
            Box::new(ProbeStrategy::default()),
            PROBE_RING_CAPACITY,
            idle,
        )
        .map_err(|e| BenchError::Setup(e.to_string()))?;
    handle.record_event_stamps(2 * frame_capacity(opts));
    let running = handle
        .spawn(stop)
        .map_err(|e| BenchError::Setup(e.to_string()))?;
    Ok((bus, running))
}

fn strategy_setup(opts: &BenchOptions, pinning: Pinning) -> ThreadSetup {
    ThreadSetup {
        role: if strategy_shares_core(opts) {
            "strategy host (latency_probe; spins, then yields when idle)"
        } else {
            "strategy host (latency_probe; busy-poll)"
        },
        core: opts.strategy_core,
        pinned: matches!(pinning, Pinning::Pinned(_)),
        rt: None,
    }
}

/// The `kspin` and `kspin_recording` phases.
pub fn run_kspin_phase(
    opts: &BenchOptions,
    clock: &quanta::Clock,
    record_to: Option<&Path>,
) -> Result<PhaseResult, BenchError> {
    let (venue, stamps) = start_venue(opts, clock, opts.venue_pacing)?;
    let strategy_stop = Arc::new(AtomicBool::new(false));
    let started = engine_config(opts, &venue).and_then(|cfg| {
        let (bus, strategy) = start_probe_strategy(opts, strategy_stop.clone())?;
        let probe = LatencyProbe::wrapping(bus, frame_capacity(opts));
        let result = drive_phase(opts, clock, &venue, cfg, probe, record_to);
        // Release: everything the core published is in the ring before the host sees the flag.
        strategy_stop.store(true, Ordering::Release);
        let report = strategy
            .join()
            .map_err(|e| BenchError::Setup(e.to_string()));
        Ok((result?, report?))
    });
    venue.stop();
    let (driven, report) = started?;
    let joined = join_stamps(clock, &driven, &stamps, &report.event_stamps)?;
    Ok(PhaseResult {
        histograms: joined.histograms,
        threads: vec![
            driven.setup,
            strategy_setup(opts, report.pinning),
            venue_setup(opts),
        ],
        samples: joined.samples,
        strategy_samples: joined.strategy_samples,
        checksum_mismatch: driven.checksum_mismatch,
    })
}

/// The engine side of a kspin phase, after the run.
struct Driven {
    probe: LatencyProbe<Bus>,
    setup: ThreadSetup,
    warm_tsc: u64,
    checksum_mismatch: u64,
}

/// Runs the engine core with `probe` (recording into `record_to` if given) and hands the probe
/// back.
fn drive_phase(
    opts: &BenchOptions,
    clock: &quanta::Clock,
    venue: &VenueHandle,
    (cfg, endpoint): (kspin_runtime::CoreConfig, Endpoint),
    probe: LatencyProbe<Bus>,
    record_to: Option<&Path>,
) -> Result<Driven, BenchError> {
    let Some(path) = record_to else {
        let core = EngineCore::new(
            cfg,
            probe,
            super::loopback_transport(&endpoint)?,
            clock.clone(),
        )?;
        let (core, setup, warm_tsc) = drive_engine(opts, clock, core)?;
        let checksum_mismatch = core.feed().counters().checksum_mismatch;
        return Ok(Driven {
            probe: core.into_publisher(),
            setup,
            warm_tsc,
            checksum_mismatch,
        });
    };
    let header = CaptureHeader {
        venue: venue.url(),
        symbols: plan(opts).iter().map(capture_symbol).collect(),
        started_unix_ns: 0,
        writer: format!("kspin {} bench", env!("CARGO_PKG_VERSION")),
    };
    let (producer, recorder) = start_recording(
        path,
        &header,
        OpenMode::Create,
        DEFAULT_RING_BYTES,
        clock.clone(),
    )?;
    let core = EngineCore::new(
        cfg,
        Recording::new(probe, producer, clock.clone()),
        super::loopback_transport(&endpoint)?,
        clock.clone(),
    )?;
    let driven = drive_engine(opts, clock, core);
    let summary = recorder.finish()?;
    if summary.dropped > 0 {
        eprintln!("kspin bench: recording dropped {} frames", summary.dropped);
    }
    let (core, setup, warm_tsc) = driven?;
    let checksum_mismatch = core.feed().counters().checksum_mismatch;
    Ok(Driven {
        probe: core.into_publisher().into_inner(),
        setup,
        warm_tsc,
        checksum_mismatch,
    })
}

/// [`probe::join_stamps`] for a driven phase.
fn join_stamps(
    clock: &quanta::Clock,
    driven: &Driven,
    sent: &SendStamps,
    events: &[EventStamps],
) -> Result<Joined, BenchError> {
    probe::join_stamps(clock, &driven.probe, sent, events, driven.warm_tsc)
}

/// The floor phases: a bare tungstenite client, blocking (`spin == false`) or busy-polling.
pub fn run_floor_phase(
    opts: &BenchOptions,
    clock: &quanta::Clock,
    spin: bool,
) -> Result<PhaseResult, BenchError> {
    let (venue, stamps) = start_venue(opts, clock, opts.venue_pacing)?;
    let requests = Requests::render(&plan(opts)).map_err(|e| BenchError::Setup(e.to_string()))?;
    let addr = venue.local_addr();
    let url = venue.url();
    let capacity = frame_capacity(opts);
    let stop = Arc::new(AtomicBool::new(false));
    let thread_stop = stop.clone();
    let (engine_core, rt) = (opts.engine_core, opts.rt);
    let floor_clock = clock.clone();
    let thread = std::thread::Builder::new()
        .name("kspin-bench-floor".into())
        .spawn(move || -> Result<(Vec<u64>, ThreadSetup), String> {
            let setup = set_up_thread(
                if spin {
                    "floor client (tungstenite, busy-poll)"
                } else {
                    "floor client (tungstenite, blocking)"
                },
                engine_core,
                rt,
            );
            let mut reads = vec![0u64; capacity];
            let tcp = std::net::TcpStream::connect(addr).map_err(|e| e.to_string())?;
            tcp.set_nodelay(true).map_err(|e| e.to_string())?;
            tcp.set_read_timeout(Some(Duration::from_millis(50)))
                .map_err(|e| e.to_string())?;
            let (mut ws, _) = tungstenite::client(url.as_str(), tcp).map_err(|e| e.to_string())?;
            // The same subscriptions as the kspin phases (which know every precision and do
            // not subscribe `instrument`).
            for bytes in requests.books.iter().chain(requests.others.iter()) {
                let text = String::from_utf8_lossy(bytes).into_owned();
                ws.send(tungstenite::Message::Text(text.into()))
                    .map_err(|e| e.to_string())?;
            }
            if spin {
                ws.get_ref()
                    .set_nonblocking(true)
                    .map_err(|e| e.to_string())?;
            }
            let mut n = 0usize;
            while !thread_stop.load(Ordering::Relaxed) {
                match ws.read() {
                    Ok(tungstenite::Message::Text(_)) => {
                        let t = floor_clock.raw();
                        if let Some(slot) = reads.get_mut(n) {
                            *slot = t;
                        }
                        n += 1;
                    }
                    Ok(_) => {}
                    Err(tungstenite::Error::Io(e))
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) => {}
                    Err(e) => return Err(e.to_string()),
                }
            }
            reads.truncate(n.min(capacity));
            Ok((reads, setup))
        })
        .map_err(|e| BenchError::Setup(e.to_string()))?;
    std::thread::sleep(Duration::from_secs_f64(opts.warmup));
    let warm_tsc = clock.raw();
    std::thread::sleep(Duration::from_secs_f64(opts.seconds));
    stop.store(true, Ordering::Relaxed);
    let joined = thread.join().map_err(|_| BenchError::Panicked)?;
    venue.stop();
    let (reads, setup) = joined.map_err(BenchError::Floor)?;
    let mut histograms = StageHistograms::new().map_err(|e| BenchError::Setup(e.to_string()))?;
    let mut samples = 0;
    for (i, &read) in reads.iter().enumerate() {
        let wire = stamps.get(i as u64 + 1);
        if read < warm_tsc || wire == 0 {
            continue;
        }
        let mut fs = FrameStamps::default();
        fs.set(Stage::Wire, wire);
        fs.set(Stage::Read, read);
        histograms.record(clock, &fs);
        samples += 1;
    }
    Ok(PhaseResult {
        histograms,
        threads: vec![setup, venue_setup(opts)],
        samples,
        strategy_samples: 0,
        checksum_mismatch: 0,
    })
}

/// The spans reported per phase (the rest stay empty for these phases).
pub fn reported_spans(phase: Phase) -> &'static [&'static str] {
    match phase {
        Phase::Kspin | Phase::KspinRecording => &[
            "wire_to_received",
            "wire_to_returned",
            "wire_to_published",
            "wire_to_read",
            "read_to_decoded",
            "decoded_to_applied",
            "applied_to_published",
            "published_to_received",
            "received_to_returned",
            "read_to_published",
        ],
        Phase::Floor | Phase::FloorSpin => &["wire_to_read"],
    }
}

/// Key, in each phase's figures, of the per-round p50 of every reported span (in round order).
pub const P50_PER_ROUND: &str = "p50_per_round";

/// All runs of all phases: per-phase, per-span medians of the percentiles, and the merged
/// histograms (for `.hgrm` files and plots).
pub struct LatencyOutcome {
    pub figures: Map<String, Value>,
    pub merged: Vec<(Phase, StageHistograms)>,
    pub threads: Vec<Value>,
}

/// The order of `phases` (indices) in round `round`: as given in even rounds, reversed in odd
/// ones, so phases listed next to each other (kspin and the busy-poll floor) always run back to
/// back, and slow drift of the shared machine favours neither side of a pair over the run.
pub fn round_order(phases: usize, round: usize) -> Vec<usize> {
    if round % 2 == 0 {
        (0..phases).collect()
    } else {
        (0..phases).rev().collect()
    }
}

/// Runs `phases` in `opts.runs` rounds (interleaved: every phase once per round, in
/// [`round_order`], so slow drift of the shared machine affects all phases alike), and reports
/// each phase's per-round p50s beside the medians.
pub fn run_phases(
    opts: &BenchOptions,
    clock: &quanta::Clock,
    phases: &[Phase],
) -> Result<LatencyOutcome, BenchError> {
    let mut per_run: Vec<Vec<PhaseResult>> = phases.iter().map(|_| Vec::new()).collect();
    let scratch = std::env::temp_dir().join(format!("kspin-bench-{}.kcap", std::process::id()));
    for run in 0..opts.runs {
        for i in round_order(phases.len(), run) {
            let phase = phases[i];
            eprintln!(
                "kspin bench: round {}/{} phase {} ({} s at {} events/s)",
                run + 1,
                opts.runs,
                phase.name(),
                opts.seconds,
                opts.rate
            );
            let r = match phase {
                Phase::Kspin => run_kspin_phase(opts, clock, None)?,
                Phase::KspinRecording => run_kspin_phase(opts, clock, Some(&scratch))?,
                Phase::Floor => run_floor_phase(opts, clock, false)?,
                Phase::FloorSpin => run_floor_phase(opts, clock, true)?,
            };
            per_run[i].push(r);
        }
    }
    let _ = std::fs::remove_file(&scratch);
    let mut figures = Map::new();
    let mut merged = Vec::new();
    let mut threads = Vec::new();
    for (i, &phase) in phases.iter().enumerate() {
        let runs = &per_run[i];
        let mut spans = Map::new();
        let mut p50_per_round = Map::new();
        for &span in reported_spans(phase) {
            let per: Vec<Value> = runs
                .iter()
                .filter_map(|r| r.histograms.span(span))
                .map(percentiles_json)
                .collect();
            spans.insert(span.into(), median_percentiles(&per));
            p50_per_round.insert(
                span.into(),
                json!(per
                    .iter()
                    .map(|p| p["p50"].as_u64().unwrap_or(0))
                    .collect::<Vec<_>>()),
            );
        }
        spans.insert(P50_PER_ROUND.into(), Value::Object(p50_per_round));
        spans.insert(
            "samples_per_run".into(),
            json!(runs.iter().map(|r| r.samples).collect::<Vec<_>>()),
        );
        if matches!(phase, Phase::Kspin | Phase::KspinRecording) {
            spans.insert(
                "strategy_samples_per_run".into(),
                json!(runs.iter().map(|r| r.strategy_samples).collect::<Vec<_>>()),
            );
        }
        spans.insert(
            "checksum_mismatch".into(),
            json!(runs.iter().map(|r| r.checksum_mismatch).sum::<u64>()),
        );
        figures.insert(phase.name().into(), Value::Object(spans));
        let mut all = StageHistograms::new().map_err(|e| BenchError::Setup(e.to_string()))?;
        for r in runs {
            all.merge(&r.histograms)
                .map_err(|e| BenchError::Setup(format!("{e:?}")))?;
        }
        merged.push((phase, all));
        if let Some(r) = runs.first() {
            for t in &r.threads {
                threads.push(
                    json!({"phase": phase.name(), "thread": t.to_json(), "text": t.describe()}),
                );
            }
        }
    }
    Ok(LatencyOutcome {
        figures,
        merged,
        threads,
    })
}

/// The histogram of `span` in `phase` of the merged set.
pub fn merged_span<'a>(
    merged: &'a [(Phase, StageHistograms)],
    phase: Phase,
    span: &str,
) -> Option<&'a Histogram<u64>> {
    merged
        .iter()
        .find(|(p, _)| *p == phase)
        .and_then(|(_, h)| h.span(span))
}

#[cfg(test)]
mod tests {
    use super::round_order;

    #[test]
    fn rounds_alternate_the_phase_order_and_keep_neighbours_adjacent() {
        assert_eq!(round_order(4, 0), vec![0, 1, 2, 3]);
        assert_eq!(round_order(4, 1), vec![3, 2, 1, 0]);
        assert_eq!(round_order(4, 2), vec![0, 1, 2, 3]);
        assert_eq!(round_order(2, 5), vec![1, 0]);
    }
}
