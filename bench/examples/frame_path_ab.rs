//! Wall-clock probe of the engine-core path for paired A/B comparisons of two builds: the
//! frames of a capture (`.kcap`) or JSON-lines file, as `kspin bench replay --file` reads them,
//! through the decoder alone (one pass) and then through `Engine::replay_frame` with stage
//! stamps off (nine passes, the median), on core 1. One line per run:
//! `decode D engine-nostamps E rest E-D` in ns per frame.
//!
//! Why: on this path instruction counts stopped predicting time (bench/RESULTS.md, hot path
//! rounds 7 and 8), and a single `kspin bench replay` run drifts by more than a small change
//! gains. Build the probe from each revision, copy the binaries aside, and run them alternately
//! many times on the same capture, comparing medians:
//!
//! ```sh
//! cargo build --release -p kspin-bench --example frame_path_ab
//! cp target/release/examples/frame_path_ab /tmp/probe-new   # and /tmp/probe-old from the base
//! for i in $(seq 40); do for b in old new; do
//!   echo "$b $(/tmp/probe-$b /tmp/multi.kcap)"; done; done
//! ```
//!
//! It never writes anything and allocates only while setting up (the frames, the engine).

use std::process::ExitCode;
use std::time::Instant;

use kspin_bench::harness::replay_speed::file_source;
use kspin_core::kraken::{Decoder, DecoderLimits};
use kspin_runtime::capture::reader::replay_engine_config;
use kspin_runtime::{Engine, NoStrategies};

/// Passes of the engine per run; the median is printed.
const ENGINE_PASSES: usize = 9;
/// The core the probe pins itself to (the engine core of `kspin bench`'s defaults on 2 cores).
const PROBE_CORE: usize = 1;

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: frame_path_ab FILE");
        return ExitCode::FAILURE;
    };
    let source = match file_source(std::path::Path::new(&path)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("frame_path_ab: {e}");
            return ExitCode::FAILURE;
        }
    };
    let _ = core_affinity::set_for_current(core_affinity::CoreId { id: PROBE_CORE });
    let frames = source.frames.len().max(1) as f64;

    let mut decoder = Decoder::new(DecoderLimits::default());
    let t = Instant::now();
    for f in &source.frames {
        let decoded = decoder.decode(std::hint::black_box(f));
        std::hint::black_box(decoded.is_ok());
    }
    let decode = t.elapsed().as_nanos() as f64 / frames;

    let config = replay_engine_config(source.plan.clone());
    let mut engine = match Engine::new(&config, NoStrategies, quanta::Clock::new()) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("frame_path_ab: {e}");
            return ExitCode::FAILURE;
        }
    };
    engine.set_stage_stamps(false);
    let mut passes: Vec<f64> = (0..ENGINE_PASSES)
        .map(|_| {
            let t = Instant::now();
            for f in &source.frames {
                engine.replay_frame(std::hint::black_box(f), 0);
            }
            t.elapsed().as_nanos() as f64 / frames
        })
        .collect();
    passes.sort_by(f64::total_cmp);
    let engine_ns = passes[ENGINE_PASSES / 2];
    println!(
        "decode {decode:.1} engine-nostamps {engine_ns:.1} rest {:.1}",
        engine_ns - decode
    );
    ExitCode::SUCCESS
}
