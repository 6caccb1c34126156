//! Proves the allocation invariants with a counting allocator that counts per thread: after
//! start-up and a warm-up, (1) the engine core's decode → feed → bus publish / service /
//! drain_intents path allocates nothing over a long stream, including while a strategy lags and
//! with the lanes' telemetry published every 100 frames (read, then left to fill and drop), and
//! (2) a strategy thread allocates nothing between its first and last event. One test per file:
//! the allocator is global.

mod bus_common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bus_common::*;
use kspin_core::kraken::{Decoder, DecoderLimits};
use kspin_host::Bus;
use kspin_ring::IdlePolicy;

kspin_testkit::install_counting_allocator!();

fn thread_allocations() -> u64 {
    kspin_testkit::allocs()
}

const SYMBOLS: usize = 4;
const FRAMES: usize = 40_000;

#[test]
fn engine_core_and_strategy_threads_do_not_allocate_per_event() {
    let symbols = symbol_table(SYMBOLS);
    let mut gen = MarketGen::new(SYMBOLS, 7);
    gen.corrupt_every = Some(5_000);
    let frames = gen.frames(FRAMES);
    assert!(
        thread_allocations() > 0,
        "the counting allocator counts this thread"
    );

    let mut bus = Bus::new(&symbols);
    let (fast, fast_out) = Recorder::new(FRAMES * 2);
    let fast = fast.counting(thread_allocations);
    let gate = Arc::new(AtomicBool::new(false));
    let (slow, _slow_out) = Recorder::new(16);
    let slow = slow.gated(Arc::clone(&gate), 0);
    let fast_h = bus
        .add_strategy(
            "fast",
            None,
            Box::new(fast),
            1 << 17,
            IdlePolicy::SHARED_CORE,
        )
        .unwrap();
    let slow_h = bus
        .add_strategy("slow", None, Box::new(slow), 64, IdlePolicy::SHARED_CORE)
        .unwrap();
    let mut lane_taps = bus.attach_taps().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let fast_t = fast_h.spawn(Arc::clone(&stop)).unwrap();
    let slow_t = slow_h.spawn(Arc::clone(&stop)).unwrap();

    let mut feed = passive_feed(SYMBOLS);
    let mut decoder = Decoder::new(DecoderLimits::default());
    let run = |range: std::ops::Range<usize>,
               feed: &mut kspin_core::feed::Feed,
               bus: &mut Bus,
               decoder: &mut Decoder| {
        for n in range {
            bus.set_frame_tsc(n as u64);
            let msg = decoder.decode(frames[n].as_bytes()).unwrap();
            feed.on_message(n as u64, &msg, bus);
            bus.service(feed);
            bus.drain_intents(feed);
            if n % 100 == 0 {
                bus.publish_taps();
            }
        }
    };
    // Warm-up: first snapshots, first lag of the stuck strategy.
    run(0..1_000, &mut feed, &mut bus, &mut decoder);
    let before = thread_allocations();
    run(1_000..frames.len() / 2, &mut feed, &mut bus, &mut decoder);
    // The lane figures were published (the reader's side allocates nothing either); from here
    // on nobody reads them: the ring fills and drops.
    let lane_records = lane_taps.stats.pop_batch(|_| {}, usize::MAX);
    assert!(lane_records > 0);
    // Let the slow one go: catch-up snapshots on the measured path too.
    gate.store(true, Ordering::Release);
    run(
        frames.len() / 2..frames.len(),
        &mut feed,
        &mut bus,
        &mut decoder,
    );
    let mut rounds = 0u64;
    while bus.needs_service() && rounds < 100_000_000 {
        bus.service(&feed);
        std::thread::yield_now();
        rounds += 1;
    }
    assert!(!bus.needs_service(), "the slow strategy never caught up");
    let after = thread_allocations();
    assert_eq!(
        after - before,
        0,
        "engine-core allocations over {} frames",
        frames.len() - 1_000
    );
    assert!(feed.counters().checksum_mismatch > 0);
    assert!(bus.lane_counters(1).unwrap().snapshots_handed > 0);

    stop.store(true, Ordering::Release);
    let fast_r = fast_t.join().unwrap();
    slow_t.join().unwrap();
    let rec = fast_out.lock().unwrap().take().unwrap();
    assert!(rec.books.len() > FRAMES / 2);
    assert_eq!(
        fast_r.counters.events_received,
        bus.lane_counters(0).unwrap().events_published
    );
    assert_eq!(
        rec.allocations_during_events,
        Some(0),
        "strategy-thread allocations per event"
    );
}
