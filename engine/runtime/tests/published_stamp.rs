//! The engine core's `Published` stamp is the frame's end: taken once every event of the frame
//! reached the publisher, so the read → published span covers every publish, however many events
//! a frame carries (and a frame that published nothing is stamped too). Frames run back to back
//! (`Engine::on_frames`) start where the previous one was published. A publisher that takes
//! mock time per event shows it exactly.

mod common;

use std::sync::Arc;
use std::time::Duration;

use kspin_core::feed::FeedSink;
use kspin_core::kraken::Trade;
use kspin_runtime::{Engine, FrameStamps, Publisher, Stage};
use quanta::{Clock, Mock};

/// Takes 100 ns of mock time per trade and `frame_done_ns` after each frame's end, and keeps
/// each frame's receive stamp and finished stamps.
struct SlowPublisher {
    mock: Arc<Mock>,
    clock: Clock,
    frame_done_ns: u64,
    trades_at: Vec<u64>,
    received: Vec<u64>,
    frames: Vec<FrameStamps>,
}

impl SlowPublisher {
    fn new(mock: &Arc<Mock>, clock: &Clock, frame_done_ns: u64) -> SlowPublisher {
        SlowPublisher {
            mock: mock.clone(),
            clock: clock.clone(),
            frame_done_ns,
            trades_at: Vec::new(),
            received: Vec::new(),
            frames: Vec::new(),
        }
    }
}

impl FeedSink for SlowPublisher {
    fn trade(&mut self, _symbol: usize, _trade: &Trade<'_>) {
        self.mock.increment(Duration::from_nanos(100));
        self.trades_at.push(self.clock.raw());
    }
}

impl Publisher for SlowPublisher {
    fn on_frame(&mut self, recv_tsc: u64, _payload: &[u8]) {
        self.received.push(recv_tsc);
    }

    fn frame_done(&mut self, stamps: &FrameStamps) {
        self.frames.push(*stamps);
        self.mock
            .increment(Duration::from_nanos(self.frame_done_ns));
    }
}

const TWO_TRADES: &[u8] = br#"{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"buy","price":1000.0,"qty":0.5,"ord_type":"market","trade_id":1,"timestamp":"2026-08-16T10:00:00.123456Z"},{"symbol":"BTC/USD","side":"sell","price":1000.1,"qty":0.25,"ord_type":"market","trade_id":2,"timestamp":"2026-08-16T10:00:00.123457Z"}]}"#;
const HEARTBEAT: &[u8] = br#"{"channel":"heartbeat"}"#;

/// An engine for BTC/USD trades with every frame detail-sampled, publishing to a
/// [`SlowPublisher`] that spends `frame_done_ns` after each frame; its clock.
fn slow_engine(frame_done_ns: u64) -> (Engine<SlowPublisher>, Clock) {
    let (clock, mock) = common::mock_clock();
    let cfg = common::btc_usd(false, true);
    let publisher = SlowPublisher::new(&mock, &clock, frame_done_ns);
    let mut engine = Engine::new(&cfg, publisher, clock.clone()).unwrap();
    engine.set_stage_detail_sample_every(1);
    (engine, clock)
}

#[test]
fn published_is_stamped_after_the_frames_last_event() {
    let (mut engine, clock) = slow_engine(0);
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

/// Back to back, one clock read per frame: each frame's read (and receive) stamp is the previous
/// frame's published stamp, even though the publisher spent 50 ns after each frame's end (a
/// clock read at the next frame's start would have seen it); the first frame's is read from the
/// clock.
#[test]
fn frames_back_to_back_start_where_the_previous_one_was_published() {
    let (mut engine, clock) = slow_engine(50);
    let t0 = clock.raw();
    engine.on_frames([TWO_TRADES, HEARTBEAT, TWO_TRADES]);
    let p = engine.publisher();
    let stamps: Vec<(u64, u64)> = p
        .frames
        .iter()
        .map(|f| (f.get(Stage::Read), f.get(Stage::Published)))
        .collect();
    // Frame 1: two trades (200 ns), then 50 ns in frame_done. Frame 2 starts at frame 1's end,
    // publishes nothing; frame 3 starts at frame 2's end (t0 + 250, after frame 1's 50 ns) and
    // publishes two trades after frame 2's 50 ns.
    assert_eq!(
        stamps,
        [(t0, t0 + 200), (t0 + 200, t0 + 250), (t0 + 250, t0 + 500)]
    );
    assert_eq!(p.received, [t0, t0 + 200, t0 + 250]);
    assert_eq!(engine.pipeline().counters().frames, 3);
    // The same frames one at a time: each start is read from the clock, after the 50 ns.
    let (mut engine, clock) = slow_engine(50);
    let t0 = clock.raw();
    for frame in [TWO_TRADES, HEARTBEAT] {
        engine.replay_frame(frame, 0);
    }
    let reads: Vec<u64> = engine
        .publisher()
        .frames
        .iter()
        .map(|f| f.get(Stage::Read))
        .collect();
    assert_eq!(reads, [t0, t0 + 250]);
}
