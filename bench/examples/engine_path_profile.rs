//! A fixed workload for instruction-count profiling of the engine-core path (decode → feed →
//! book apply → checksum), under `valgrind --tool=callgrind`, whose counts are deterministic and
//! so comparable before/after a change on a noisy shared machine (wall-clock timing is not).
//!
//! Run (arguments: symbol, depth, passes, and `decode` to stop after decoding; defaults
//! BTC/USD 25 5):
//! `cargo build --release -p kspin-bench --example engine_path_profile && valgrind
//! --tool=callgrind --callgrind-out-file=/tmp/cg.out target/release/examples/engine_path_profile`
//! then `callgrind_annotate --inclusive=yes /tmp/cg.out`. The program generates one stream
//! (4,001 frames), then runs the path `passes` times over it and prints the counters so that
//! nothing is optimised away. Generation is inside the profile too: instructions per message =
//! (total at 5 passes − total at 0 passes) / (5 × 4,001).

use std::hint::black_box;

use kspin_core::feed::{Feed, FeedMode, FeedOptions, NullSink};
use kspin_core::kraken::{Decoder, DecoderLimits};

fn main() {
    let symbol = std::env::args().nth(1).unwrap_or_else(|| "BTC/USD".into());
    let depth: u16 = std::env::args()
        .nth(2)
        .and_then(|d| d.parse().ok())
        .unwrap_or(25);
    // Passes over the stream (each starts with the snapshot, so every pass verifies).
    let passes: usize = std::env::args()
        .nth(3)
        .and_then(|d| d.parse().ok())
        .unwrap_or(5);
    // `decode` as a fourth argument: decode only, to split the path's count.
    let decode_only = std::env::args().nth(4).as_deref() == Some("decode");
    let Some(stream) = kspin_bench::streams::book_stream(&symbol, depth, 4_000, 11) else {
        eprintln!("unknown symbol {symbol}");
        std::process::exit(2);
    };
    let frames: Vec<&[u8]> = stream.frames().collect();
    let mut feed = Feed::new(FeedOptions {
        mode: FeedMode::Passive,
        ..FeedOptions::default()
    });
    feed.add_symbol(
        &symbol,
        usize::from(depth),
        Some((stream.pair.price_precision, stream.pair.qty_precision)),
    );
    let mut dec = Decoder::new(DecoderLimits::default());
    for _ in 0..passes {
        for (i, f) in frames.iter().enumerate() {
            if let Ok(msg) = dec.decode(black_box(f)) {
                if decode_only {
                    black_box(&msg);
                } else {
                    feed.on_message(i as u64, &msg, &mut NullSink);
                }
            }
        }
    }
    let c = feed.counters();
    println!(
        "{symbol} depth {depth}: {} messages, checksum ok {}, mismatch {}",
        frames.len() * passes,
        c.checksum_ok,
        c.checksum_mismatch
    );
}
