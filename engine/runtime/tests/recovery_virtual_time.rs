//! The driver's recovery timers on virtual time, to the millisecond: stall detection, the
//! reconnect backoff (instant retries, then doubling to the cap), Kraken's limit of attempts per
//! rolling 10 minutes, at least 5 s between attempts after maintenance, the resync deadline,
//! the ping interval and the connect timeout.
//!
//! Every test drives an `EngineCore` over an in-memory transport with a mocked clock
//! (`virtual_venue`): one poll per virtual millisecond, no socket, no wall clock, so half an
//! hour of reconnects takes well under a second and every attempt time is asserted exactly. The
//! expected times are derived in each test's comments from the rules in `backoff.rs` and
//! `driver.rs`. Timing convention: what the test queues while the clock reads `t` is read by
//! the poll at `t`; what the venue answers during the step at `t` is read at `t + 1`.

mod virtual_venue;

use kspin_core::feed::{StaleReason, SubscriptionState};
use kspin_net::memory::AttemptOutcome;
use kspin_net::NetError;
use virtual_venue::*;

const BTC: usize = 0;
const ETH: usize = 1;

fn both_live(run: &VirtualRun) -> bool {
    run.core
        .feed()
        .books()
        .all(|(_, b)| b.state == SubscriptionState::Live)
}

/// Delays of the test configuration's backoff after failure number `streak` (0-based): three
/// instant retries, then 250 ms doubling up to 30 s.
fn backoff_ms(streak: u32) -> u64 {
    if streak < 3 {
        0
    } else {
        (250u64 << (streak - 3).min(20)).min(30_000)
    }
}

#[test]
fn a_stall_ends_the_connection_at_the_stall_timeout_then_reconnects_follow_the_backoff() {
    let mut run = VirtualRun::new(config(&["BTC/USD", "ETH/USD"], 10), &["BTC/USD", "ETH/USD"]);
    run.venue.answers.heartbeat_ms = 100;
    // t=0 attempt, t=1 open + subscribe, t=2 acks and snapshots read: both books live.
    run.run_until(1_000);
    assert!(both_live(&run));
    assert_eq!(run.attempts, [0]);
    // Heartbeats were queued at 100, 200, ..., 900; the last one is read at 901. From now on
    // the venue is silent and refuses new connections.
    run.venue.answers.heartbeat_ms = 0;
    run.set_outcome(AttemptOutcome::Refuse);
    run.run_until(1_701);
    assert_eq!(
        run.core.counters().stalls,
        0,
        "not stalled before 901 + 800"
    );
    run.step(); // t = 1701: 800 ms without a frame.
    assert_eq!(run.core.counters().stalls, 1);
    assert_eq!(
        run.seen()
            .iter()
            .filter(|(_, s)| *s == Seen::Link(false))
            .collect::<Vec<_>>(),
        [&(1_701, Seen::Link(false))]
    );
    assert!(run
        .seen()
        .contains(&(1_701, Seen::Stale(BTC, StaleReason::Disconnected))));
    // The connection had delivered verified books, so the streak restarts: three instant
    // retries (the poll after each failure), then 250, 500, 1000, ... ms, capped at 30 s.
    run.run_until(100_000);
    let mut expected = vec![0u64, 1_702];
    for streak in 1..12 {
        let last = *expected.last().unwrap_or(&0);
        expected.push(last + backoff_ms(streak).max(1));
    }
    expected.retain(|&t| t < 100_000);
    assert_eq!(
        run.attempts,
        [
            0, 1_702, 1_703, 1_704, 1_954, 2_454, 3_454, 5_454, 9_454, 17_454, 33_454, 63_454,
            93_454
        ]
    );
    assert_eq!(run.attempts, expected);
    let c = run.core.counters();
    assert_eq!((c.connects, c.disconnects, c.connect_failures), (1, 1, 12));

    // The venue comes back: the next scheduled attempt (93454 + 30000) opens, resubscribes
    // everything once and rebuilds both books from fresh snapshots.
    run.set_outcome(AttemptOutcome::Open);
    run.run_until(123_457);
    assert_eq!(run.attempts.last(), Some(&123_454));
    assert!(both_live(&run));
    let subscribes = run.venue.requests_of("subscribe");
    assert_eq!(
        subscribes.len(),
        2,
        "one grouped book subscription per connection"
    );
    assert_eq!((subscribes[0].0, subscribes[1].0), (1, 123_455));
    assert_eq!(run.core.counters().reconnects, 13);
}

#[test]
fn never_more_than_150_attempts_in_any_rolling_10_minutes() {
    let mut cfg = config(&["BTC/USD"], 10);
    // Worst case for the limit: every failure is retried at once.
    cfg.backoff.instant_retries = u32::MAX;
    cfg.backoff.max_attempts_per_window = 150;
    let mut run = VirtualRun::new(cfg, &["BTC/USD"]);
    run.set_outcome(AttemptOutcome::Refuse);
    run.run_until(30 * 60 * 1_000);
    // 150 attempts one poll apart, then the 151st waits until the first leaves the window
    // (0 + 600 s), and so on: three bursts in 30 minutes.
    let expected: Vec<u64> = [0u64, 600_000, 1_200_000]
        .iter()
        .flat_map(|&start| start..start + 150)
        .collect();
    assert_eq!(run.attempts, expected);
    for (i, &t) in run.attempts.iter().enumerate() {
        let in_window = run.attempts[i..]
            .iter()
            .take_while(|&&u| u < t + 600_000)
            .count();
        assert!(in_window <= 150, "{in_window} attempts from {t} ms");
    }
}

#[test]
fn a_connection_that_flaps_is_held_to_the_limit_too() {
    let mut cfg = config(&["BTC/USD"], 10);
    cfg.backoff.max_attempts_per_window = 100; // kspin's default
    let mut run = VirtualRun::new(cfg, &["BTC/USD"]);
    // Every connection delivers a verified book (which resets the backoff streak) and is
    // dropped right after: instant retries forever, but for the window.
    let mut drops = 0;
    while run.now_ms < 20 * 60 * 1_000 {
        run.step();
        if both_live(&run) && run.venue.peer.open_connection().is_some() && drops < 1_000 {
            run.drop_connection(NetError::Eof);
            drops += 1;
        }
    }
    assert!(run.attempts.len() > 100);
    for (i, &t) in run.attempts.iter().enumerate() {
        let in_window = run.attempts[i..]
            .iter()
            .take_while(|&&u| u < t + 600_000)
            .count();
        assert!(in_window <= 100, "{in_window} attempts from {t} ms");
    }
    // The 101st attempt waits exactly for the first to leave the window.
    assert_eq!(run.attempts[100], run.attempts[0] + 600_000);
    assert!(
        run.attempts[99] < 1_000,
        "the first 100 go at once: {:?}",
        &run.attempts[..5]
    );
}

#[test]
fn after_maintenance_every_attempt_waits_five_seconds() {
    let mut run = VirtualRun::new(config(&["BTC/USD"], 10), &["BTC/USD"]);
    run.run_until(500);
    assert!(both_live(&run));
    // Read at 500: the exchange announces maintenance; at 600 it drops us and refuses
    // connections until 12 s.
    run.venue.status("maintenance");
    run.run_until(600);
    run.drop_connection(NetError::Eof);
    run.set_outcome(AttemptOutcome::Refuse);
    run.run_until(12_000);
    run.set_outcome(AttemptOutcome::Open);
    run.run_until(16_000);
    // Dropped at 600, then never sooner than 5 s apart, refused or not (PROTOCOL.md §4).
    assert_eq!(run.attempts, [0, 5_600, 10_600, 15_600]);
    assert!(run.seen().contains(&(500, Seen::Maintenance)));
    assert_eq!(run.core.counters().maintenance_seen, 1);
    assert!(both_live(&run), "rebuilt after maintenance");
}

#[test]
fn a_resync_the_exchange_never_answers_forces_a_reconnect_at_the_resync_timeout() {
    let mut run = VirtualRun::new(config(&["BTC/USD", "ETH/USD"], 10), &["BTC/USD", "ETH/USD"]);
    run.venue.answers.unsubscribe = false;
    run.venue.answers.heartbeat_ms = 100;
    run.run_until(1_500);
    assert!(both_live(&run));
    // Read at 1500: BTC's checksum is wrong; its unsubscribe goes out in the same poll and is
    // never acknowledged.
    run.venue.update(BTC, true);
    run.run_until(1_502);
    let unsubscribes = run.venue.requests_of("unsubscribe");
    assert_eq!(unsubscribes.len(), 1);
    assert_eq!(unsubscribes[0].0, 1_500);
    assert_eq!(
        unsubscribes[0].2["params"]["symbol"],
        serde_json::json!(["BTC/USD"])
    );
    assert!(run.seen().contains(&(1_500, Seen::Mismatch(BTC))));
    // The deadline is checked once a second (at 1000, 2000, ...): BTC is first seen waiting at
    // 2000, and 3 s later, at 5000, the core gives up on the resync and reconnects (at once:
    // the connection was healthy).
    run.run_until(5_000);
    assert_eq!(run.core.counters().resync_timeouts, 0);
    run.step();
    assert_eq!(run.core.counters().resync_timeouts, 1);
    run.run_until(5_010);
    assert_eq!(run.attempts, [0, 5_001]);
    assert!(both_live(&run), "every book rebuilt from a fresh snapshot");
    // ETH streamed on, untouched, until the reconnect.
    assert!(!run
        .seen()
        .iter()
        .any(|(t, s)| *t < 5_000 && matches!(s, Seen::Stale(ETH, _))));
}

#[test]
fn pings_keep_a_quiet_connection_alive_at_the_ping_interval() {
    let mut cfg = config(&["BTC/USD"], 10);
    cfg.ping_interval = std::time::Duration::from_secs(2);
    cfg.stall_timeout = std::time::Duration::from_secs(10);
    let mut run = VirtualRun::new(cfg, &["BTC/USD"]);
    run.venue.answers.heartbeat_ms = 100;
    run.run_until(9_000);
    // The subscription went out at 1; nothing else is sent, so a ping goes out every 2 s of
    // sending silence, and each pong comes back.
    let pings: Vec<(u64, u64)> = run
        .venue
        .requests_of("ping")
        .iter()
        .map(|(t, _, r)| (*t, r["req_id"].as_u64().unwrap_or(0)))
        .collect();
    assert_eq!(
        pings,
        [
            (2_001, 1_001),
            (4_001, 1_002),
            (6_001, 1_003),
            (8_001, 1_004)
        ]
    );
    assert_eq!(
        run.core.publisher().pongs,
        [Some(1_001), Some(1_002), Some(1_003), Some(1_004)]
    );
    assert_eq!(run.core.counters().pings_sent, 4);
    assert_eq!(run.core.counters().stalls, 0);
}

#[test]
fn a_handshake_that_never_completes_is_abandoned_at_the_connect_timeout() {
    let mut run = VirtualRun::new(config(&["BTC/USD"], 10), &["BTC/USD"]);
    run.set_outcome(AttemptOutcome::Hang);
    run.run_until(5_000);
    // Each attempt is given 500 ms; the next follows the backoff from the failure: three
    // instant retries (the next poll), then 250, 500, 1000 ms.
    assert_eq!(run.attempts, [0, 501, 1_002, 1_503, 2_253, 3_253, 4_753]);
    assert_eq!(run.core.counters().connect_failures, 6);
    assert_eq!(
        run.venue.peer.closes(),
        6,
        "every abandoned attempt is closed"
    );
    run.run_until(5_300);
    run.set_outcome(AttemptOutcome::Open);
    run.run_until(8_000);
    // 4753 hangs until 5253, then 2000 ms: 7253 opens.
    assert_eq!(run.attempts.last(), Some(&7_253));
    assert!(both_live(&run));
}
