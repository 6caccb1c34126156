//! The stamps tick-to-trade reads ([`Engine::order_view`]'s `RecentFrames`): a detail-sampled
//! frame is found by its read stamp with its inner stamps, an unsampled one is not (it has none),
//! and with sampling at 1 (what an order path sets) every one of the last `RECENT_FRAMES` frames
//! is found. Mock clock: exact stamps.

mod common;

use kspin_runtime::engine::RECENT_FRAMES;
use kspin_runtime::{Engine, NoStrategies, Stage};
use quanta::Clock;

const HEARTBEAT: &[u8] = br#"{"channel":"heartbeat"}"#;

fn engine(sample_every: u32) -> (Engine<NoStrategies>, Clock) {
    let (clock, _mock) = common::mock_clock();
    let cfg = common::btc_usd(true, false);
    let mut engine = Engine::new(&cfg, NoStrategies, clock.clone()).unwrap();
    engine.set_stage_detail_sample_every(sample_every);
    (engine, clock)
}

/// The read stamp of the `i`th frame (distinct, all before the mock clock's now).
fn read_of(clock: &Clock, i: u64) -> u64 {
    clock.raw() - 1_000 + i
}

#[test]
fn sampled_frames_are_found_with_their_decoded_stamp() {
    let (mut engine, clock) = engine(4);
    for i in 0..8 {
        engine.on_frame(HEARTBEAT, read_of(&clock, i));
    }
    let (_, _, recent) = engine.order_view();
    for i in 0..8 {
        let found = recent.find(read_of(&clock, i));
        if i % 4 == 0 {
            let stamps = found.expect("a sampled frame is kept");
            assert_eq!(stamps.get(Stage::Read), read_of(&clock, i));
            assert_eq!(stamps.get(Stage::Decoded), clock.raw());
        } else {
            assert!(found.is_none(), "frame {i} is not a detail sample");
        }
    }
    assert!(recent.find(0).is_none());
}

#[test]
fn every_frame_is_kept_when_every_frame_is_sampled() {
    let (mut engine, clock) = engine(1);
    let frames = RECENT_FRAMES as u64 + 3;
    for i in 0..frames {
        engine.on_frame(HEARTBEAT, read_of(&clock, i));
    }
    let (_, _, recent) = engine.order_view();
    for i in 0..frames {
        let found = recent.find(read_of(&clock, i));
        if i < 3 {
            assert!(
                found.is_none(),
                "frame {i} is older than the last RECENT_FRAMES"
            );
        } else {
            assert_eq!(found.map(|s| s.get(Stage::Decoded)), Some(clock.raw()));
        }
    }
}

#[test]
fn nothing_is_kept_with_stamps_off() {
    let (mut engine, clock) = engine(1);
    engine.set_stage_stamps(false);
    engine.on_frame(HEARTBEAT, read_of(&clock, 0));
    let (_, _, recent) = engine.order_view();
    assert!(recent.find(read_of(&clock, 0)).is_none());
}
