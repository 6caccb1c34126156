//! End to end: generated Kraken frames → decoder → passive feed → bus → two strategy threads on
//! one bus: a fast one with a large ring, and a stuck-then-slow one with a small ring. Checks
//! (no timing assertions) that the engine side never blocks, the fast strategy sees every engine
//! book state in order, the slow one loses deltas that are counted and gets catch-up snapshots,
//! never sees a book state the engine did not have, and ends with the engine's books exactly.

#![allow(clippy::needless_range_loop)] // symbol indices address several parallel tables
mod bus_common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bus_common::*;
use kspin_host::{BookSource, Bus};
use kspin_ring::IdlePolicy;

const SYMBOLS: usize = 3;
const FRAMES: usize = 6_000;

#[test]
fn slow_strategy_never_blocks_the_engine_and_never_sees_a_wrong_book() {
    let symbols = symbol_table(SYMBOLS);
    let mut gen = MarketGen::new(SYMBOLS, 42);
    gen.corrupt_every = Some(700);
    let frames = gen.frames(FRAMES);

    let mut bus = Bus::new(&symbols);
    let (fast, fast_out) = Recorder::new(FRAMES * 2);
    let gate = Arc::new(AtomicBool::new(false));
    let (slow, slow_out) = Recorder::new(FRAMES * 2);
    let slow = slow.gated(Arc::clone(&gate), 20_000);
    let fast_h = bus
        .add_strategy(
            "fast",
            None,
            Box::new(fast),
            1 << 16,
            IdlePolicy::SHARED_CORE,
        )
        .unwrap();
    let slow_h = bus
        .add_strategy("slow", None, Box::new(slow), 64, IdlePolicy::SHARED_CORE)
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let fast_t = fast_h.spawn(Arc::clone(&stop)).unwrap();
    let slow_t = slow_h.spawn(Arc::clone(&stop)).unwrap();

    // Phase 1: the slow strategy is stuck on its first event while half the stream goes by.
    // Every publish must still return, and the feed must process every message.
    let mut feed = passive_feed(SYMBOLS);
    let mut states = vec![Vec::new(); SYMBOLS];
    let half = frames.len() / 2;
    drive(&mut feed, &mut bus, &frames[..half], &mut states);
    assert!(bus.is_lagging(1), "the stuck strategy lags");
    assert!(!bus.is_lagging(0));
    let stuck = bus.lane_counters(1).unwrap();
    assert!(stuck.events_dropped > 0);

    // Phase 2: it runs, slowly, while the rest streams (it may lag and catch up any number of
    // times; the checks below hold for every interleaving).
    gate.store(true, Ordering::Release);
    drive(&mut feed, &mut bus, &frames[half..], &mut states);
    let c = feed.counters();
    assert_eq!(c.book_messages, gen.book_messages);
    assert_eq!(c.trades, gen.trades);
    assert!(c.checksum_mismatch > 0, "the stream exercises resyncs");
    assert_eq!(
        c.checksum_ok + c.checksum_mismatch,
        gen.book_messages - c.dropped_not_live
    );

    // The runtime keeps calling service until it has caught up.
    let mut rounds = 0u64;
    while bus.is_lagging(1) || bus.needs_service() {
        bus.service(&feed);
        std::thread::yield_now();
        rounds += 1;
        assert!(rounds < 100_000_000, "the slow strategy never caught up");
    }
    stop.store(true, Ordering::Release);
    let fast_r = fast_t.join().unwrap();
    let slow_r = slow_t.join().unwrap();
    let fast_rec = fast_out.lock().unwrap().take().unwrap();
    let slow_rec = slow_out.lock().unwrap().take().unwrap();

    let fast_c = bus.lane_counters(0).unwrap();
    let slow_c = bus.lane_counters(1).unwrap();
    // Fast: nothing dropped, every engine state in order, all consistent.
    assert_eq!(fast_c.events_dropped, 0);
    assert_eq!(fast_c.lag_episodes, 0);
    assert_eq!(fast_r.counters.events_received, fast_c.events_published);
    assert_eq!(fast_r.counters.assembly_faults, 0);
    for s in 0..SYMBOLS {
        let seen: Vec<u64> = fast_rec
            .books
            .iter()
            .filter(|b| b.0 == s)
            .map(|b| b.1)
            .collect();
        assert_eq!(seen, states[s], "fast strategy, symbol {s}");
    }
    assert_eq!(fast_rec.trades, gen.trades);
    assert!(fast_rec.stale > 0);

    // Slow: drops counted, snapshots handed, everything it received was published.
    assert!(slow_c.events_dropped > 0);
    assert!(slow_c.snapshots_handed > 0);
    assert!(slow_c.lag_episodes >= 1);
    assert_eq!(slow_r.counters.events_received, slow_c.events_published);
    assert_eq!(slow_r.counters.assembly_faults, 0);
    // The same flow: what the fast one got equals what the slow one got, minus its catch-up
    // events, plus what it lost.
    assert_eq!(
        fast_c.events_published,
        slow_c.events_published - slow_c.catchup_events + slow_c.events_dropped
    );
    for s in 0..SYMBOLS {
        let seen: Vec<u64> = slow_rec
            .books
            .iter()
            .filter(|b| b.0 == s)
            .map(|b| b.1)
            .collect();
        assert!(!seen.is_empty());
        assert!(
            is_subsequence(&seen, &states[s]),
            "slow strategy saw a state the engine never had, symbol {s}"
        );
        // After catching up its view equals the engine's book exactly.
        let (book, live) = feed.current_book(s).unwrap();
        assert_eq!(*seen.last().unwrap(), book_digest(book), "symbol {s}");
        assert_eq!(
            slow_rec.final_views[s],
            (book_digest(book), live),
            "symbol {s}"
        );
        assert_eq!(
            fast_rec.final_views[s],
            (book_digest(book), live),
            "symbol {s}"
        );
    }
    assert!(slow_rec.trades < gen.trades);
}
