//! The engine core's `Published` stamp is the frame's end: taken once every event of the frame
//! reached the publisher, so the read → published span covers every publish, however many events
//! a frame carries (and a frame that published nothing is stamped too). A publisher that takes
//! mock time per event shows it exactly.

mod common;

use std::sync::Arc;
use std::time::Duration;

use kspin_core::feed::FeedSink;
use kspin_core::kraken::Trade;
use kspin_runtime::{Engine, FrameStamps, Publisher, Stage};
use quanta::{Clock, Mock};

/// Takes 100 ns of mock time per trade, and keeps each finished frame's stamps.
struct SlowPublisher {
    mock: Arc<Mock>,
    clock: Clock,
    trades_at: Vec<u64>,
    frames: Vec<FrameStamps>,
}

impl FeedSink for SlowPublisher {
    fn trade(&mut self, _symbol: usize, _trade: &Trade<'_>) {
        self.mock.increment(Duration::from_nanos(100));
        self.trades_at.push(self.clock.raw());
    }
}

impl Publisher for SlowPublisher {
    fn frame_done(&mut self, stamps: &FrameStamps) {
        self.frames.push(*stamps);
    }
}

const TWO_TRADES: &[u8] = br#"{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"buy","price":1000.0,"qty":0.5,"ord_type":"market","trade_id":1,"timestamp":"2026-08-16T10:00:00.123456Z"},{"symbol":"BTC/USD","side":"sell","price":1000.1,"qty":0.25,"ord_type":"market","trade_id":2,"timestamp":"2026-08-16T10:00:00.123457Z"}]}"#;
const HEARTBEAT: &[u8] = br#"{"channel":"heartbeat"}"#;

#[test]
fn published_is_stamped_after_the_frames_last_event() {
    let (clock, mock) = common::mock_clock();
    let cfg = common::btc_usd(false, true);
    let publisher = SlowPublisher {
        mock: mock.clone(),
        clock: clock.clone(),
        trades_at: Vec::new(),
        frames: Vec::new(),
    };
    let mut engine = Engine::new(&cfg, publisher, clock.clone()).unwrap();
    engine.set_stage_detail_sample_every(1);
    let read = clock.raw();
    engine.on_frame(TWO_TRADES, read);
    engine.on_frame(HEARTBEAT, clock.raw());
    let p = engine.publisher();
    assert_eq!(p.trades_at.len(), 2);
    let [trades, heartbeat] = p.frames[..] else {
        panic!("two frames expected, got {}", p.frames.len());
    };
    // Applied before the first publish; published after the last one.
    assert_eq!(trades.get(Stage::Read), read);
    assert_eq!(trades.get(Stage::Applied), read);
    assert_eq!(trades.get(Stage::Published), p.trades_at[1]);
    assert_eq!(trades.get(Stage::Published), read + 200);
    // Nothing published: still stamped, at the frame's end.
    assert_eq!(heartbeat.get(Stage::Published), clock.raw());
}
