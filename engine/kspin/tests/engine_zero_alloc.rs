//! Proves the whole engine core allocates nothing in steady state, TLS included: a counting
//! `#[global_allocator]` (counting only on the test thread, which is the core's thread, via a
//! thread-local switch) over more than 100 000 messages from the simulated venue through TLS —
//! decode, feed, books, checksums, trades, the publisher, pings and their pongs, and a checksum
//! resync (unsubscribe → ack → subscribe → snapshot) in the middle, and the telemetry taps of
//! `kspin run --metrics` (book tops every millisecond; a reader thread drains them, then stops so
//! that the ring fills and drops) — after a warm-up. The books are then compared with the venue's.
//!
//! A second test proves a reconnect costs the core nothing either: with the per-thread counters
//! (so the two tests may run at once), a TLS drop → reconnect → resubscribe → every book rebuilt
//! from fresh snapshots allocates, requests and frees 0 bytes on the core's thread (the
//! handshake, DNS and buffer recycling run on the transport's connector thread).

mod engine_support;

kspin_testkit::install_counting_allocator!();

use kspin_testkit::{allocated_bytes, allocs, counting, frees, take_allocations};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use engine_support::*;
use kspin::sim::{FaultKind, PacingMode, SimConfig};

const SYMBOLS: [(&str, u16); 4] = [
    ("BTC/USD", 10),
    ("ETH/USD", 25),
    ("DOGE/USD", 100),
    ("SOL/USD", 10),
];
const WARMUP: u64 = 5_000;
const COUNTED: u64 = 100_000;

#[test]
fn engine_core_allocates_nothing_over_100k_tls_messages() {
    // The counter itself works (so a zero below means something).
    counting(true);
    let probe = std::hint::black_box(Vec::<u8>::with_capacity(64));
    counting(false);
    drop(probe);
    assert_eq!(take_allocations(), 1);

    let venue = venue_with(SimConfig {
        tls: true,
        symbols: SYMBOLS.iter().map(|s| s.0.to_string()).collect(),
        pacing: PacingMode::MaxRate,
        heartbeat: Duration::from_millis(200),
        ..SimConfig::default()
    });
    let mut cfg = core_config(&venue, &SYMBOLS);
    // Pings go out on the timer while counting, and their pongs come back.
    cfg.ping_interval = Duration::from_millis(100);
    let mut core = core(cfg);
    let tap_cfg = kspin::runtime::TapConfig {
        interval: Duration::from_millis(1),
        ..kspin::runtime::TapConfig::default()
    };
    let (books, trades, mut reader) =
        kspin::runtime::telemetry::taps(SYMBOLS.len(), &tap_cfg).unwrap();
    core.attach_taps(books, trades);
    let read = Arc::new(AtomicU64::new(0));
    let reading = Arc::new(AtomicBool::new(true));
    let reader_thread = {
        let (read, reading) = (Arc::clone(&read), Arc::clone(&reading));
        std::thread::spawn(move || {
            while reading.load(Ordering::Relaxed) {
                let n = reader.books.pop_batch(|_| {}, usize::MAX)
                    + reader.trades.pop_batch(|_| {}, usize::MAX);
                read.fetch_add(n as u64, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    start(&mut core);
    stream(&mut core, WARMUP);
    // Warm the resync path too (its requests are pre-rendered; this proves nothing is lazy).
    let eth = index_of(&core, "ETH/USD");
    venue.inject(FaultKind::Corrupt(Some("ETH/USD".into())));
    poll_until(&mut core, "the warm-up resync", |c| {
        c.feed().book(eth).unwrap().counters.resyncs == 1 && all_live(c)
    });

    let frames_before = core.feed().counters().frames;
    let pongs_before = core.publisher().pongs;
    counting(true);
    stream_with_telemetry(&mut core, COUNTED / 4);
    counting(false);
    // Nobody reads the taps from here on: the book ring fills and drops.
    reading.store(false, Ordering::Relaxed);
    reader_thread.join().unwrap();
    counting(true);
    stream_with_telemetry(&mut core, COUNTED / 4);
    // `inject` allocates on this thread (the venue's queue), not the core: not counted.
    counting(false);
    venue.inject(FaultKind::Corrupt(Some("ETH/USD".into())));
    counting(true);
    poll_until(&mut core, "the counted resync", |c| {
        c.feed().book(eth).unwrap().counters.resyncs == 2 && all_live(c)
    });
    stream(&mut core, COUNTED / 2);
    counting(false);
    let allocations = take_allocations();

    let frames = core.feed().counters().frames - frames_before;
    let c = *core.counters();
    assert!(frames >= COUNTED, "{frames} frames counted");
    assert_eq!(c.connects, 1, "a reconnect happened\n{}", describe(&core));
    assert!(
        core.publisher().pongs > pongs_before,
        "no ping round trip while counting"
    );
    assert_eq!(
        allocations, 0,
        "allocations in EngineCore::poll while counting"
    );
    let taps = core.snapshot().taps;
    assert!(taps.ticks > 100, "{taps:?}");
    assert!(read.load(Ordering::Relaxed) > 0, "the reader got book tops");
    assert!(taps.books_dropped > 0, "the unread ring dropped: {taps:?}");

    venue.pause();
    drain(&mut core);
    assert_books_exact(&core, &venue);
    let f = core.feed().counters();
    assert_eq!(
        (f.checksum_mismatch, f.resyncs),
        (2, 2),
        "{}",
        describe(&core)
    );
    assert_eq!(venue.stats().connections_dropped_slow, 0);
}

/// [`stream`] through [`kspin::runtime::EngineCore::poll_with_telemetry`] (the loop of `run`):
/// `n` more book messages, telemetry ticks included.
fn stream_with_telemetry(core: &mut Core, n: u64) {
    let target = core.feed().counters().book_messages + n;
    let started = Instant::now();
    let mut i = 0u32;
    while core.feed().counters().book_messages < target {
        core.poll_with_telemetry();
        i = i.wrapping_add(1);
        if i % 64 == 0 {
            std::thread::yield_now();
            assert!(started.elapsed() < BUDGET, "stalled\n{}", describe(core));
        }
    }
}

#[test]
fn engine_core_reconnects_allocate_nothing() {
    let venue = venue(true, &["BTC/USD", "ETH/USD"], 2_000, false);
    let mut core = core(core_config(&venue, &[("BTC/USD", 10), ("ETH/USD", 25)]));
    start(&mut core);
    stream(&mut core, 500);
    // One warm-up reconnect: whatever the core touches first on that path is touched now.
    let reconnect = |core: &mut Core, connects: u64| {
        // `inject` allocates on this thread (the venue's queue), not the core: not counted.
        venue.inject(FaultKind::Drop);
        let before = (allocs(), allocated_bytes(), frees());
        poll_until(core, "the reconnect", |c| {
            c.counters().connects == connects && all_live(c)
        });
        stream(core, 200);
        (
            allocs() - before.0,
            allocated_bytes() - before.1,
            frees() - before.2,
        )
    };
    let warm_up = reconnect(&mut core, 2);
    let counted = [3, 4].map(|connects| reconnect(&mut core, connects));
    eprintln!("core thread (allocations, bytes, frees): warm-up {warm_up:?}, counted {counted:?}");
    assert_eq!(counted, [(0, 0, 0); 2], "{}", describe(&core));
    let c = *core.counters();
    assert_eq!((c.reconnects, c.disconnects), (3, 3), "{}", describe(&core));
    venue.pause();
    drain(&mut core);
    assert_books_exact(&core, &venue);
    assert_eq!(venue.stats().connections_cut, 3);
}
