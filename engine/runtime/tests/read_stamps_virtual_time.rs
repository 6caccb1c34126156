//! The live driver's read stamps, exact on virtual time: every frame of one read carries the TSC
//! at which that read handed over its first frame, so a frame queued behind others of the same
//! read counts its wait in its read → published span (and the publisher sees the same receive
//! stamp); a frame of a later read gets that read's own stamp. The publisher spends 100 ns of
//! mock time after each frame, which a stamp taken per frame would show.

mod virtual_venue;

use std::time::Duration;

use kspin_core::feed::SubscriptionState;
use virtual_venue::*;

const HEARTBEAT: &str = r#"{"channel":"heartbeat"}"#;

#[test]
fn frames_of_one_read_share_its_read_stamp() {
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
    // (receive, read, published) per frame.
    assert_eq!(
        run.core.publisher().frames,
        [
            (t, t, t),
            (t, t, t + 100),
            (t, t, t + 200),
            (next, next, next)
        ]
    );
}
