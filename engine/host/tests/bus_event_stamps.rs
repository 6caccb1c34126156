//! The strategy host's per-event stamp log (what `kspin bench latency` joins with the engine's
//! frame stamps): one entry per delivered engine event, in delivery order, carrying the
//! `recv_tsc` of the frame that caused it; bounded by the capacity asked for; empty unless asked.
//! Frames are stamped with real TSC readings, as the engine stamps them: only then does each
//! event's `publish_tsc` (the bus's TSC) travel, being within 2^31 ticks of its `recv_tsc`.

mod bus_common;

use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bus_common::*;
use kspin_host::Bus;
use kspin_ring::IdlePolicy;

const SYMBOLS: usize = 2;
const FRAMES: usize = 400;

/// The host's report, events published to it, frames driven, and the range of the frames'
/// read stamps (strictly increasing TSC readings).
fn run(capacity: Option<usize>) -> (kspin_host::HostReport, u64, usize, Range<u64>) {
    let symbols = symbol_table(SYMBOLS);
    let mut gen = MarketGen::new(SYMBOLS, 7);
    let frames = gen.frames(FRAMES);
    let mut bus = Bus::new(&symbols);
    let (recorder, _out) = Recorder::new(FRAMES * 4);
    let mut handle = bus
        .add_strategy(
            "recorder",
            None,
            Box::new(recorder),
            1 << 16,
            IdlePolicy::SHARED_CORE,
        )
        .unwrap();
    if let Some(c) = capacity {
        handle.record_event_stamps(c);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let running = handle.spawn(Arc::clone(&stop)).unwrap();
    let mut feed = passive_feed(SYMBOLS);
    let mut states = vec![Vec::new(); SYMBOLS];
    // Each frame is read "now" on the clock the bus stamps `publish_tsc` with (the invariant
    // TSC, or the OS clock where there is none), one tick later at least than the one before.
    let clock = quanta::Clock::new();
    let first = clock.raw();
    let mut last = first;
    drive_stamped(&mut feed, &mut bus, &frames, &mut states, |n| {
        last = if n == 0 {
            first
        } else {
            clock.raw().max(last + 1)
        };
        last
    });
    stop.store(true, Ordering::Release);
    let report = running.join().unwrap();
    let published = bus.lane_counters(0).unwrap().events_published;
    (report, published, frames.len(), first..last + 1)
}

#[test]
fn logs_every_delivered_market_event_in_order() {
    let (report, _, frames, read) = run(Some(1 << 16));
    let stamps = &report.event_stamps;
    assert!(!stamps.is_empty());
    // Engine events only (no timers), each with a frame's recv_tsc, in frame order, with ordered
    // stamps.
    assert!(stamps.len() as u64 <= report.counters.events_delivered);
    assert!(stamps.windows(2).all(|w| w[0].recv_tsc <= w[1].recv_tsc));
    for s in stamps {
        assert!(read.contains(&s.recv_tsc), "{s:?} {read:?}");
        assert!(s.publish_tsc != 0, "{s:?}");
        assert!(s.received_tsc <= s.returned_tsc, "{s:?}");
    }
    // Every frame that produced a book change or a trade reached the strategy.
    let frames_seen = {
        let mut v: Vec<u64> = stamps.iter().map(|s| s.recv_tsc).collect();
        v.dedup();
        v.len()
    };
    assert!(frames_seen > frames / 2, "{frames_seen} of {frames} frames");
}

#[test]
fn the_log_is_bounded_and_off_by_default() {
    let (report, published, _, _) = run(Some(10));
    assert!(published > 10);
    assert_eq!(report.event_stamps.len(), 10);
    assert!(report.event_stamps.capacity() < 64, "the log never grew");
    let (report, _, _, _) = run(None);
    assert!(report.event_stamps.is_empty());
}
