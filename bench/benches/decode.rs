//! Decode-only cost of Kraken v2 frames: kspin's decoder against serde_json parsing the same
//! frames into `serde_json::Value` (the same-run baseline), plus a per-frame latency histogram.
//!
//! Frames: the 29 real MINA/GBP depth-25 book updates of
//! `engine/testdata/vectors/real_minagbp_d25_2026-08-16.jsonl`, synthetic BTC/USD book updates
//! (1–3 levels, the common live shape), trade updates (1 and 3 trades) and the real 25-level
//! snapshot. Throughput is per message: criterion's "elem/s" is messages per second.
//!
//! Also the whole engine-core path per message (decode → feed → book → checksum) beside
//! serde_json parsing the same frames, as criterion groups and as per-message histograms, and the
//! checksum alone after a one-level change (memoised vs from scratch).
//!
//! Run: `cargo bench -p kspin-bench --bench decode` (about 90 s);
//! `cargo bench -p kspin-bench --bench decode -- "engine_core_path|checksum_"` for the engine path.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hdrhistogram::Histogram;
use kspin_core::kraken::{Decoder, DecoderLimits, Message};

const MINAGBP: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../engine/testdata/vectors/real_minagbp_d25_2026-08-16.jsonl"
));

/// The real book frames of the MINA/GBP recording: (snapshot, updates).
fn real_book_frames() -> (Vec<u8>, Vec<Vec<u8>>) {
    let book: Vec<&str> = MINAGBP
        .lines()
        .filter(|l| l.starts_with(r#"{"channel":"book""#))
        .collect();
    let snapshot = book
        .iter()
        .find(|l| l.contains(r#""type":"snapshot""#))
        .expect("snapshot")
        .as_bytes()
        .to_vec();
    let updates = book
        .iter()
        .filter(|l| l.contains(r#""type":"update""#))
        .map(|l| l.as_bytes().to_vec())
        .collect();
    (snapshot, updates)
}

/// BTC/USD updates shaped like live ones: 1–3 levels, engine-precision numbers, a checksum.
fn synthetic_btc_updates() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for i in 0..32u64 {
        let p = 1_059_067 + (i * 37) % 400;
        let q = 9_440_620 + i * 104_729;
        let level = |k: u64| {
            format!(
                r#"{{"price":{}.{},"qty":{}.{:08}}}"#,
                (p + k) / 10,
                (p + k) % 10,
                (q * (k + 1)) / 100_000_000,
                (q * (k + 1)) % 100_000_000
            )
        };
        let levels = |n: u64| (0..n).map(level).collect::<Vec<_>>().join(",");
        let (bids, asks) = match i % 4 {
            0 => (levels(1), String::new()),
            1 => (String::new(), levels(1)),
            2 => (levels(2), levels(1)),
            _ => (levels(1), levels(2)),
        };
        out.push(
            format!(
                r#"{{"channel":"book","type":"update","data":[{{"symbol":"BTC/USD","bids":[{bids}],"asks":[{asks}],"checksum":{},"timestamp":"2026-11-22T10:00:{:02}.{:06}Z"}}]}}"#,
                3_310_070_434u64.wrapping_add(i * 7919) % (1 << 32),
                i % 60,
                (i * 123_457) % 1_000_000
            )
            .into_bytes(),
        );
    }
    out
}

fn trade_frames() -> Vec<Vec<u8>> {
    let trade = |id: u64, side: &str| {
        format!(
            r#"{{"symbol":"BTC/USD","side":"{side}","price":105906.{},"qty":0.{:08},"ord_type":"market","trade_id":{id},"timestamp":"2026-11-22T10:00:01.{:06}Z"}}"#,
            id % 10,
            id * 7_919 % 100_000_000,
            id * 31 % 1_000_000
        )
    };
    (0..32u64)
        .map(|i| {
            let body = if i % 2 == 0 {
                trade(80_000_000 + i, "buy")
            } else {
                [
                    trade(80_000_000 + i, "sell"),
                    trade(80_000_100 + i, "sell"),
                    trade(80_000_200 + i, "buy"),
                ]
                .join(",")
            };
            format!(r#"{{"channel":"trade","type":"update","data":[{body}]}}"#).into_bytes()
        })
        .collect()
}

fn decode_all(dec: &mut Decoder, frames: &[Vec<u8>]) -> usize {
    let mut n = 0;
    for f in frames {
        match dec.decode(black_box(f)) {
            Ok(Message::Book(b)) => n += b.get(0).bids.len(),
            Ok(Message::Trade(t)) => n += t.len(),
            _ => n += 1000,
        }
    }
    n
}

fn serde_all(frames: &[Vec<u8>]) -> usize {
    let mut n = 0;
    for f in frames {
        let v: serde_json::Value = serde_json::from_slice(black_box(f)).expect("valid");
        n += v.as_object().map_or(0, |o| o.len());
    }
    n
}

fn print_conditions() {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let pinned = core_affinity::get_core_ids()
        .and_then(|ids| ids.last().copied())
        .map(|id| (id.id, core_affinity::set_for_current(id)));
    eprintln!(
        "run conditions: {cores} logical cores (shared VM), bench thread pinned to (core, ok) {pinned:?}, \
         release profile (lto=fat, cgu=1), no target-cpu flags"
    );
    let mut timer = Histogram::<u64>::new(3).expect("histogram");
    for _ in 0..200_000 {
        let t = Instant::now();
        let ns = black_box(t).elapsed().as_nanos() as u64;
        timer.record(ns.max(1)).ok();
    }
    eprintln!(
        "timer overhead (Instant::now + elapsed, nothing between): p50 {} p99 {} ns",
        timer.value_at_quantile(0.5),
        timer.value_at_quantile(0.99)
    );
}

/// Per-frame latency of decode (scanner and sonic-only) vs serde_json::Value over many passes
/// of `frames`.
fn histogram(name: &str, frames: &[Vec<u8>]) {
    let mut dec = Decoder::new(DecoderLimits::default());
    let mut sonic = Decoder::sonic_only(DecoderLimits::default());
    let mut ours = Histogram::<u64>::new(3).expect("histogram");
    let mut general = Histogram::<u64>::new(3).expect("histogram");
    let mut base = Histogram::<u64>::new(3).expect("histogram");
    let passes = 200_000 / frames.len().max(1);
    for _ in 0..passes {
        for f in frames {
            let t = Instant::now();
            let ok = dec.decode(black_box(f)).is_ok();
            let ns = t.elapsed().as_nanos() as u64;
            black_box(ok);
            ours.record(ns.max(1)).ok();
            let t = Instant::now();
            let ok = sonic.decode(black_box(f)).is_ok();
            let ns = t.elapsed().as_nanos() as u64;
            black_box(ok);
            general.record(ns.max(1)).ok();
            let t = Instant::now();
            let v: serde_json::Value = serde_json::from_slice(black_box(f)).expect("valid");
            let ns = t.elapsed().as_nanos() as u64;
            black_box(v);
            base.record(ns.max(1)).ok();
        }
    }
    let q = |h: &Histogram<u64>| {
        format!(
            "p50 {} p99 {} p99.9 {} max {} ns",
            h.value_at_quantile(0.5),
            h.value_at_quantile(0.99),
            h.value_at_quantile(0.999),
            h.max()
        )
    };
    eprintln!(
        "latency {name} ({} frames, Instant per frame, timer overhead included):\n  kspin decode      {}\n  kspin sonic_only  {}\n  serde_json::Value {}\n  p50 ratio serde_json/kspin {:.2}x",
        ours.len(),
        q(&ours),
        q(&general),
        q(&base),
        base.value_at_quantile(0.5) as f64 / ours.value_at_quantile(0.5).max(1) as f64
    );
}

fn bench_decode(c: &mut Criterion) {
    print_conditions();
    let (snapshot, real_updates) = real_book_frames();
    let btc = synthetic_btc_updates();
    let trades = trade_frames();
    let snapshot = vec![snapshot];
    histogram("book_update_real_minagbp", &real_updates);
    histogram("book_update_synthetic_btcusd", &btc);
    histogram("trade_update", &trades);

    let sets: [(&str, &[Vec<u8>]); 4] = [
        ("book_update_real_minagbp", &real_updates),
        ("book_update_synthetic_btcusd", &btc),
        ("trade_update", &trades),
        ("book_snapshot_real_minagbp_25", &snapshot),
    ];
    for (name, frames) in sets {
        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Elements(frames.len() as u64));
        let mut dec = Decoder::new(DecoderLimits::default());
        group.bench_function("kspin_decode", |b| b.iter(|| decode_all(&mut dec, frames)));
        let mut sonic = Decoder::sonic_only(DecoderLimits::default());
        group.bench_function("kspin_sonic_only", |b| {
            b.iter(|| decode_all(&mut sonic, frames))
        });
        group.bench_function("serde_json_value", |b| b.iter(|| serde_all(frames)));
        group.finish();
    }
}

/// The whole engine-core path for one message: decode → feed (state machine) → book apply and
/// truncate → CRC32 checksum, exactly as the live engine runs it (with no strategies attached),
/// over a generated stream of valid, checksummed updates; beside serde_json merely parsing the
/// same frames into `Value`.
fn bench_engine_path(c: &mut Criterion) {
    use kspin_api::Qty;
    use kspin_core::book::ApplyMode;
    use kspin_core::feed::{Feed, FeedMode, FeedOptions, NullSink};
    for (symbol, depth) in [("BTC/USD", 25u16), ("MINA/GBP", 10), ("ETH/USD", 100)] {
        let stream =
            kspin_bench::streams::book_stream(symbol, depth, 4_000, 11).expect("known pair");
        let frames: Vec<&[u8]> = stream.frames().collect();
        let scales = (stream.pair.price_precision, stream.pair.qty_precision);
        let new_feed = || {
            let mut feed = Feed::new(FeedOptions {
                mode: FeedMode::Passive,
                ..FeedOptions::default()
            });
            feed.add_symbol(symbol, usize::from(depth), Some(scales));
            feed
        };
        let mut dec = Decoder::new(DecoderLimits::default());
        // Sanity: the stream verifies, so the bench measures the verified path.
        let mut feed = new_feed();
        for (i, f) in frames.iter().enumerate() {
            if let Ok(msg) = dec.decode(f) {
                feed.on_message(i as u64, &msg, &mut NullSink);
            }
        }
        assert_eq!(feed.counters().checksum_mismatch, 0);
        eprintln!(
            "engine path stream {symbol} depth {depth}: {} updates, mean {} bytes/update",
            stream.updates.len(),
            stream.mean_update_len()
        );
        let name = format!(
            "engine_core_path_{}_d{depth}",
            symbol.replace('/', "").to_lowercase()
        );
        let mut group = c.benchmark_group(&name);
        group.throughput(Throughput::Elements(frames.len() as u64));
        group.bench_function("kspin_decode_apply_checksum", |b| {
            b.iter(|| {
                let mut frame_no = 0;
                for f in &frames {
                    frame_no += 1;
                    if let Ok(msg) = dec.decode(black_box(f)) {
                        feed.on_message(frame_no, &msg, &mut NullSink);
                    }
                }
                feed.counters().checksum_ok
            })
        });
        group.bench_function("serde_json_value", |b| {
            b.iter(|| {
                let mut n = 0;
                for f in &frames {
                    let v: serde_json::Value = serde_json::from_slice(black_box(f)).expect("valid");
                    n += v.as_object().map_or(0, |o| o.len());
                }
                n
            })
        });
        group.finish();
        assert_eq!(
            feed.counters().checksum_mismatch,
            0,
            "the measured path must stay verified"
        );

        engine_path_histogram(&name, &frames, &mut dec, &mut feed);

        // Checksum alone, on the final book of the stream, after a one-level change (the best
        // ask's quantity alternates between two values), so that the memoised checksum must
        // recompute; `apply_only` is the cost of the change itself, to subtract.
        let mut book = feed.book(0).expect("book").book.clone();
        let (best_price, best_qty) = book.best_ask().expect("asks");
        let toggles = [
            [(best_price, Qty(best_qty.0 + 1))],
            [(best_price, best_qty)],
        ];
        let mut group = c.benchmark_group(format!(
            "checksum_{}_d{depth}",
            symbol.replace('/', "").to_lowercase()
        ));
        group.throughput(Throughput::Elements(1));
        let mut turn = 0;
        group.bench_function("apply_only", |b| {
            b.iter(|| {
                turn ^= 1;
                book.apply_exact(ApplyMode::Update, &[], black_box(&toggles[turn]))
            })
        });
        group.bench_function("apply_then_kspin_checksum", |b| {
            b.iter(|| {
                turn ^= 1;
                book.apply_exact(ApplyMode::Update, &[], black_box(&toggles[turn]));
                book.checksum()
            })
        });
        group.bench_function("apply_then_uncached_checksum", |b| {
            b.iter(|| {
                turn ^= 1;
                book.apply_exact(ApplyMode::Update, &[], black_box(&toggles[turn]));
                book.checksum_uncached()
            })
        });
        let text = kspin_core::book::checksum::checksum_text(book.bids(), book.asks());
        group.bench_function("crc32fast_of_prebuilt_text", |b| {
            b.iter(|| crc32fast::hash(black_box(text.as_bytes())))
        });
        group.finish();
    }
}

/// Per-message latency of the engine-core path (decode → feed → book → checksum), with
/// serde_json merely parsing the same frame measured in the same loop as the baseline.
fn engine_path_histogram(
    name: &str,
    frames: &[&[u8]],
    dec: &mut Decoder,
    feed: &mut kspin_core::feed::Feed,
) {
    use kspin_core::feed::NullSink;
    let mut ours = Histogram::<u64>::new(3).expect("histogram");
    let mut base = Histogram::<u64>::new(3).expect("histogram");
    let passes = (200_000 / frames.len().max(1)).max(1);
    let mut frame_no = 0;
    for _ in 0..passes {
        for f in frames {
            frame_no += 1;
            let t = Instant::now();
            if let Ok(msg) = dec.decode(black_box(f)) {
                feed.on_message(frame_no, &msg, &mut NullSink);
            }
            let ns = t.elapsed().as_nanos() as u64;
            ours.record(ns.max(1)).ok();
            let t = Instant::now();
            let v: serde_json::Value = serde_json::from_slice(black_box(f)).expect("valid");
            let ns = t.elapsed().as_nanos() as u64;
            black_box(v);
            base.record(ns.max(1)).ok();
        }
    }
    assert_eq!(feed.counters().checksum_mismatch, 0);
    let q = |h: &Histogram<u64>| {
        format!(
            "p50 {} p99 {} p99.9 {} max {} ns",
            h.value_at_quantile(0.5),
            h.value_at_quantile(0.99),
            h.value_at_quantile(0.999),
            h.max()
        )
    };
    eprintln!(
        "latency {name} ({} messages, Instant per message, timer overhead included):\n  kspin decode+feed+book+checksum {}\n  serde_json::Value parse only    {}\n  p50 ratio serde_json/kspin {:.2}x",
        ours.len(),
        q(&ours),
        q(&base),
        base.value_at_quantile(0.5) as f64 / ours.value_at_quantile(0.5).max(1) as f64
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2)).sample_size(30);
    targets = bench_decode, bench_engine_path
}
criterion_main!(benches);
