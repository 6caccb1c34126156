//! The live driver's read stamps, exact on virtual time: the first frame of a read is stamped
//! when the read hands it over, each later frame of the same read at the previous frame's
//! published stamp, so a frame queued behind another counts its wait (here the publisher's
//! 100 ns of mock time after each frame) in its read → published span, and the publisher sees
//! that stamp as the frame's receive stamp; a frame of a later read gets a fresh stamp.

mod virtual_venue;

use std::time::Duration;

use kspin_core::feed::SubscriptionState;
use virtual_venue::*;

const HEARTBEAT: &str = r#"{"channel":"heartbeat"}"#;

#[test]
fn later_frames_of_a_read_start_where_the_previous_one_was_published() {
    let mut run = VirtualRun::new(config(&["BTC/USD"], 10), &["BTC/USD"]);
    // t=0 attempt, t=1 open + subscribe, t=2 ack and snapshot read: live.
    run.run_until(10);
    let live = run
        .core
        .feed()
        .books()
        .all(|(_, b)| b.state == SubscriptionState::Live);
    assert!(live);
    let log = run.core.publisher_mut();
    log.stamps = true;
    log.frame_done_advance = Some((run.clock.clone(), Duration::from_nanos(100)));
    // Three frames queued at once: one read. The mock clock reads whole milliseconds until the
    // first frame's end.
    let t = run.now_ms * 1_000_000;
    for _ in 0..3 {
        run.venue.send(HEARTBEAT);
    }
    run.step();
    // One frame in the next millisecond: a read of its own, after the 300 ns spent above.
    let next = t + 1_000_000 + 300;
    run.venue.send(HEARTBEAT);
    run.step();
    // (receive, read, published) per frame: frame 2 starts at frame 1's end (t, before the
    // 100 ns after it), frame 3 at frame 2's end (t + 100).
    assert_eq!(
        run.core.publisher().frames,
        [
            (t, t, t),
            (t, t, t + 100),
            (t + 100, t + 100, t + 200),
            (next, next, next)
        ]
    );
}
