//! Instruction-count profiling of the engine-core path over a recorded stream, under
//! `valgrind --tool=callgrind` (deterministic counts, comparable before/after a change on a noisy
//! machine): the frames of a capture (`.kcap`) or JSON-lines file, as `kspin bench replay --file`
//! reads them, once through `Engine::replay_frame` with stage stamps on and no strategies.
//! Unlike `production_path_profile` (book updates only), a recording carries whatever the venue
//! sent, trades included.
//!
//! With a third argument `off-core`, the stage recorder is taken from the engine as `kspin run`
//! does and drained between chunks of frames outside the profiled function: the count is then
//! the engine core's own work in the production configuration (its stamps recorded elsewhere).
//!
//! Run (arguments: the file, then how many frames, default all, then optionally `off-core`):
//! `cargo build --release -p kspin-bench --example capture_path_profile && valgrind
//! --tool=callgrind --callgrind-out-file=/tmp/cg.out --toggle-collect='*capture_path_profile::pass*'
//! target/release/examples/capture_path_profile /tmp/multi.kcap 40000`; instructions per message
//! = the collected total / frames printed. The multi-symbol file is recorded with
//! `kspin record --config bench/results/replay-multi-symbol.toml --duration 11 --quiet
//! /tmp/multi.kcap`.

use std::process::ExitCode;

use kspin_bench::harness::replay_speed::file_source;
use kspin_runtime::capture::reader::replay_engine_config;
use kspin_runtime::{Engine, NoStrategies, Publisher};

#[inline(never)]
fn pass<P: Publisher>(engine: &mut Engine<P>, frames: &[Vec<u8>]) {
    for f in frames {
        engine.replay_frame(std::hint::black_box(f), 0);
    }
}

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: capture_path_profile FILE [FRAMES]");
        return ExitCode::FAILURE;
    };
    let source = match file_source(std::path::Path::new(&path)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("capture_path_profile: {e}");
            return ExitCode::FAILURE;
        }
    };
    let n = std::env::args()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(source.frames.len())
        .min(source.frames.len());
    let config = replay_engine_config(source.plan.clone());
    let mut engine = match Engine::new(&config, NoStrategies, quanta::Clock::new()) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("capture_path_profile: {e}");
            return ExitCode::FAILURE;
        }
    };
    let frames = &source.frames[..n];
    if std::env::args().nth(3).as_deref() == Some("off-core") {
        let Some(mut recorder) = engine.take_stage_recorder() else {
            eprintln!("capture_path_profile: the engine has no stage recorder");
            return ExitCode::FAILURE;
        };
        // Half a ring per chunk: the core never finds the ring full, as with a recorder thread
        // that keeps up.
        for chunk in frames.chunks(kspin_runtime::STAGE_RECORD_RING / 2) {
            pass(&mut engine, chunk);
            recorder.drain();
        }
        println!(
            "stage records: {} recorded, {} dropped",
            recorder.recorded(),
            engine.stage_records_dropped()
        );
    } else {
        pass(&mut engine, frames);
    }
    let c = engine.pipeline().feed().counters();
    println!(
        "frames {n}, checksum ok {}, mismatch {}",
        c.checksum_ok, c.checksum_mismatch
    );
    ExitCode::SUCCESS
}
