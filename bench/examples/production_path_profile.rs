//! A fixed workload for instruction-count profiling of the production engine-core path, under
//! `valgrind --tool=callgrind` (deterministic counts, comparable before/after a change on a noisy
//! machine): a generated multi-symbol stream (BTC/USD, ETH/USD, SOL/USD, MINA/GBP at depth 10,
//! interleaved, every checksum valid) through `Engine::replay_frame` with stage stamps on, into
//! the strategy bus with two strategy lanes (their rings large enough never to fill; nothing
//! consumes them, so only the engine side is counted).
//!
//! Run (arguments: updates per symbol, default 5000, then `nobus` to publish to nobody or `gen`
//! to stop after generating the stream, then, with `nobus`, how many passes over the frames for
//! a sampling profiler, default 1):
//! `cargo build --release -p kspin-bench --example production_path_profile && valgrind
//! --tool=callgrind --callgrind-out-file=/tmp/cg.out target/release/examples/production_path_profile`
//! and the same with `gen` for the generation-only count. Instructions per message =
//! (total − generation total) / messages printed. With
//! `--toggle-collect='*production_path_profile::run*' --toggle-collect='*record_stages_when_idle*'`
//! only the frame path is counted (no generation, no stage recording, which a live core does
//! when a poll reads nothing).

use std::hint::black_box;

use kspin_host::{symbol_infos, Bus};
use kspin_ring::IdlePolicy;
use kspin_runtime::plan::SymbolPlan;
use kspin_runtime::{Engine, EngineConfig, NoStrategies, Publisher};
use kspin_sim::stream::book_stream;

const SYMBOLS: [&str; 4] = ["BTC/USD", "ETH/USD", "SOL/USD", "MINA/GBP"];
const DEPTH: u16 = 10;

struct Quiet;
impl kspin_api::Strategy for Quiet {
    fn on_event(&mut self, _: &kspin_api::Event, _: &mut dyn kspin_api::Context) {}
    fn summary(&self) -> kspin_api::StrategySummary {
        kspin_api::StrategySummary::new()
    }
}

#[inline(never)]
fn run<P: Publisher>(engine: &mut Engine<P>, frames: &[Vec<u8>]) -> u64 {
    let mut n = 0;
    for (i, f) in frames.iter().enumerate() {
        engine.replay_frame(black_box(f), 1_000 + i as u64);
        n += 1;
        if i % 256 == 255 {
            record_stages_when_idle(engine);
        }
    }
    engine.discard_requests();
    n
}

/// What a live core does when a poll reads nothing: record the queued stage stamps. Off the frame
/// path, so a second `--toggle-collect='*record_stages_when_idle*'` leaves it out of the count
/// (callgrind toggles collection off on entry and back on at return).
#[inline(never)]
fn record_stages_when_idle<P: Publisher>(engine: &mut Engine<P>) {
    engine.record_stages();
}

fn main() {
    let updates: usize = std::env::args()
        .nth(1)
        .and_then(|d| d.parse().ok())
        .unwrap_or(5_000);
    let mode = std::env::args().nth(2).unwrap_or_default();
    let no_bus = mode == "nobus";
    let streams: Vec<_> = SYMBOLS
        .iter()
        .enumerate()
        .filter_map(|(k, s)| book_stream(s, DEPTH, updates, 11 + k as u64))
        .collect();
    // Interleave: snapshots first, then one update of each symbol in turn.
    let mut frames: Vec<Vec<u8>> = streams.iter().map(|s| s.snapshot.clone()).collect();
    for i in 0..updates {
        for s in &streams {
            if let Some(u) = s.updates.get(i) {
                frames.push(u.clone());
            }
        }
    }
    let plan: Vec<SymbolPlan> = streams
        .iter()
        .map(|s| SymbolPlan {
            symbol: s.pair.symbol.to_owned(),
            depth: DEPTH,
            book: true,
            trade: true,
            ticker: false,
            precision: Some(s.precision()),
        })
        .collect();
    let cfg = EngineConfig {
        symbols: plan.clone(),
        decoder: kspin_core::kraken::DecoderLimits::default(),
        policy: Default::default(),
        mode: kspin_core::feed::FeedMode::Passive,
    };
    let clock = quanta::Clock::new();
    if mode == "gen" {
        // Generation only: subtract this count from the others.
        println!("{} frames generated", black_box(&frames).len());
        return;
    }
    let (messages, ok) = if no_bus {
        let mut engine = Engine::new(&cfg, NoStrategies, clock).expect("engine");
        // For a sampling profiler (`perf record`), the same frames again and again (each pass
        // starts with the snapshots): the third argument, default 1.
        let passes: usize = std::env::args()
            .nth(3)
            .and_then(|p| p.parse().ok())
            .unwrap_or(1);
        let mut n = 0;
        for _ in 0..passes {
            n += run(&mut engine, &frames);
        }
        (n, engine.pipeline().feed().counters().checksum_ok)
    } else {
        let mut bus = Bus::new(&symbol_infos(&plan));
        let mut handles = Vec::new();
        for name in ["a", "b"] {
            handles.push(
                bus.add_strategy(name, None, Box::new(Quiet), 1 << 18, IdlePolicy::Spin)
                    .expect("lane"),
            );
        }
        let mut engine = Engine::new(&cfg, bus, clock).expect("engine");
        let n = run(&mut engine, &frames);
        let dropped: u64 = engine
            .publisher()
            .strategy_stats()
            .iter()
            .map(|s| s.lane.events_dropped)
            .sum();
        assert_eq!(
            dropped, 0,
            "a lane filled: the profile would measure catch-up"
        );
        black_box(&handles);
        (n, engine.pipeline().feed().counters().checksum_ok)
    };
    println!(
        "{} symbols depth {DEPTH}: {messages} messages, checksum ok {ok}, bus {}",
        streams.len(),
        !no_bus
    );
}
