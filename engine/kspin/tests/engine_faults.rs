//! The real-socket end-to-end fault tests: the simulated venue over TCP (plain and TLS) injects
//! a fault, the engine core (driven on the test thread) recovers by itself, its counters say what
//! happened, and afterwards every book equals the venue's reference book exactly. The timers of
//! recovery (stall, backoff, refused connections, maintenance, resync deadline, pings) are
//! tested to the millisecond on virtual time in `engine/runtime/tests/recovery_virtual_time.rs`;
//! these tests cover what only real sockets show.
//!
//! Timeouts in `CoreConfig` are short so each test takes a few seconds; every wait is a bounded
//! hang guard, never a timing assertion.

mod engine_support;

use std::time::Duration;

use engine_support::*;
use kspin::feed::{StaleReason, SubscriptionState};
use kspin::runtime::stats::DECODE_ERROR_NAMES;
use kspin::sim::{FaultKind, VenueHandle};

const SYMBOLS: [(&str, u16); 3] = [("BTC/USD", 10), ("ETH/USD", 25), ("SOL/USD", 10)];

fn names() -> Vec<&'static str> {
    SYMBOLS.iter().map(|s| s.0).collect()
}

/// A running venue and a core that has streamed a little with exact books.
fn running(tls: bool, tweak: impl FnOnce(&mut TestConfig)) -> (VenueHandle, Core) {
    let venue = venue(tls, &names(), 1_000, false);
    let mut cfg = core_config(&venue, &SYMBOLS);
    tweak(&mut cfg);
    let mut core = core(cfg);
    start(&mut core);
    stream(&mut core, 200);
    settle_and_compare(&mut core, &venue);
    (venue, core)
}

fn decode_errors_of(core: &Core, kind: &str) -> u64 {
    assert!(DECODE_ERROR_NAMES.contains(&kind), "{kind}");
    core.pipeline().counters().decode_errors_of(kind)
}

fn decode_errors(core: &Core) -> u64 {
    core.pipeline().counters().decode_errors
}

/// Every symbol was resynced by a reconnect only: no checksum failures, every book rebuilt from
/// a second snapshot.
fn assert_rebuilt_by_reconnect(core: &Core) {
    let f = core.feed().counters();
    assert_eq!(
        (f.checksum_mismatch, f.resyncs),
        (0, 0),
        "{}",
        describe(core)
    );
    for (i, (name, b)) in core.feed().books().enumerate() {
        assert!(b.counters.snapshots >= 2, "{name}: {:?}", b.counters);
        assert!(core.publisher().stale[i] >= 1, "{name} never went stale");
        assert_eq!(
            core.publisher().last_stale[i],
            Some(StaleReason::Disconnected),
            "{name}"
        );
    }
}

#[test]
fn drop_reconnects_and_rebuilds_every_book() {
    let (venue, mut core) = running(false, |_| {});
    venue.inject(FaultKind::Drop);
    poll_until(&mut core, "the reconnect", |c| {
        c.counters().connects == 2 && all_live(c)
    });
    stream(&mut core, 200);
    settle_and_compare(&mut core, &venue);
    let c = core.counters();
    assert_eq!(c.disconnects, 1, "{}", describe(&core));
    assert_eq!(c.reconnects, 1);
    assert_eq!(c.connect_failures, 0);
    assert_eq!(c.stalls, 0);
    assert_eq!(
        (core.publisher().links_up, core.publisher().links_down),
        (2, 1)
    );
    assert_rebuilt_by_reconnect(&core);
    assert_eq!(venue.stats().connections_cut, 1);
}

#[test]
fn corrupt_checksum_resyncs_only_that_symbol() {
    let (venue, mut core) = running(true, |_| {});
    let eth = index_of(&core, "ETH/USD");
    venue.inject(FaultKind::Corrupt(Some("ETH/USD".into())));
    poll_until(&mut core, "the resync", |c| {
        c.feed().book(eth).unwrap().counters.resyncs == 1 && all_live(c)
    });
    stream(&mut core, 300);
    settle_and_compare(&mut core, &venue);
    assert_eq!(venue.stats().checksums_corrupted, 1);
    let c = core.counters();
    assert_eq!((c.connects, c.disconnects, decode_errors(&core)), (1, 0, 0));
    let f = core.feed().counters();
    assert_eq!(
        (f.checksum_mismatch, f.resyncs),
        (1, 1),
        "{}",
        describe(&core)
    );
    let r = core.publisher();
    for (i, (name, b)) in core.feed().books().enumerate() {
        if i == eth {
            assert_eq!(b.counters.checksum_mismatch, 1);
            assert_eq!(b.counters.resyncs, 1);
            assert_eq!(b.counters.snapshots, 2, "rebuilt from a fresh snapshot");
            assert_eq!(r.stale[i], 1);
            assert_eq!(r.last_stale[i], Some(StaleReason::ChecksumMismatch));
            assert_eq!(r.live[i], 2);
            assert_eq!(r.mismatches[i], 1);
        } else {
            // The others kept streaming: never stale, never resynced, one snapshot.
            assert_eq!(b.counters.checksum_mismatch, 0, "{name}");
            assert_eq!(b.counters.resyncs, 0, "{name}");
            assert_eq!(b.counters.snapshots, 1, "{name}");
            assert_eq!(b.counters.dropped_not_live, 0, "{name}");
            assert_eq!((r.stale[i], r.live[i]), (0, 1), "{name}");
            assert_eq!(b.state, SubscriptionState::Live);
        }
    }
}

#[test]
fn malformed_json_is_counted_and_skipped() {
    let (venue, mut core) = running(false, |_| {});
    venue.inject(FaultKind::Malformed);
    poll_until(&mut core, "the decode error", |c| decode_errors(c) == 1);
    stream(&mut core, 200);
    settle_and_compare(&mut core, &venue);
    assert_eq!(
        decode_errors_of(&core, "malformed"),
        1,
        "{}",
        describe(&core)
    );
    let c = core.counters();
    assert_eq!((c.connects, c.disconnects), (1, 0));
    let f = core.feed().counters();
    assert_eq!((f.checksum_mismatch, f.resyncs), (0, 0));
}

/// 80,000 nested `[` once overflowed the stack of the thread polling the core (here the test
/// thread) and aborted the process; now it is one typed decode error and the books stream on.
#[test]
fn deeply_nested_frame_is_counted_and_skipped() {
    let (venue, mut core) = running(true, |_| {});
    venue.inject(FaultKind::Deep(80_000));
    poll_until(&mut core, "the decode error", |c| decode_errors(c) == 1);
    stream(&mut core, 200);
    settle_and_compare(&mut core, &venue);
    assert_eq!(venue.stats().deep_frames, 1);
    assert_eq!(
        decode_errors_of(&core, "too_deep"),
        1,
        "{}",
        describe(&core)
    );
    let c = core.counters();
    assert_eq!((c.connects, c.disconnects), (1, 0));
    let f = core.feed().counters();
    assert_eq!((f.checksum_mismatch, f.resyncs), (0, 0));
}

#[test]
fn oversized_frames_are_refused_by_the_decoder_then_by_the_connection() {
    let (venue, mut core) = running(false, |cfg| {
        cfg.decoder.max_frame_len = 64 << 10;
        cfg.limits.max_frame_len = 1 << 20;
    });
    // Larger than the decoder's limit, within the connection's: one counted decode error.
    venue.inject(FaultKind::Oversized(200 << 10));
    poll_until(&mut core, "the decode error", |c| decode_errors(c) == 1);
    assert_eq!(
        decode_errors_of(&core, "oversized"),
        1,
        "{}",
        describe(&core)
    );
    assert_eq!(core.counters().disconnects, 0);
    stream(&mut core, 100);
    settle_and_compare(&mut core, &venue);
    // Larger than the connection's limit: the connection fails and the core reconnects.
    venue.inject(FaultKind::Oversized(2 << 20));
    poll_until(&mut core, "the reconnect", |c| {
        c.counters().connects == 2 && all_live(c)
    });
    stream(&mut core, 100);
    settle_and_compare(&mut core, &venue);
    let c = core.counters();
    assert_eq!(
        (c.disconnects, c.reconnects, decode_errors(&core)),
        (1, 1, 1)
    );
    assert_rebuilt_by_reconnect(&core);
    assert_eq!(venue.stats().oversized_frames, 2);
}

#[test]
fn tls_close_without_close_notify_reconnects() {
    let (venue, mut core) = running(true, |_| {});
    venue.inject(FaultKind::TlsNoCloseNotify);
    poll_until(&mut core, "the reconnect", |c| {
        c.counters().connects == 2 && all_live(c)
    });
    stream(&mut core, 200);
    settle_and_compare(&mut core, &venue);
    let c = core.counters();
    assert_eq!((c.disconnects, c.reconnects, c.connect_failures), (1, 1, 0));
    assert_rebuilt_by_reconnect(&core);
}

#[test]
fn burst_x10_is_absorbed_without_loss() {
    let (venue, mut core) = running(true, |_| {});
    let before = core.feed().counters().book_messages;
    venue.inject(FaultKind::Burst {
        factor: 10,
        duration: Duration::from_millis(1_000),
    });
    poll_for(&mut core, Duration::from_millis(1_200));
    settle_and_compare(&mut core, &venue);
    let c = core.counters();
    assert_eq!((c.connects, c.disconnects, decode_errors(&core)), (1, 0, 0));
    let f = core.feed().counters();
    assert_eq!(
        (f.checksum_mismatch, f.resyncs, f.dropped_not_live),
        (0, 0, 0)
    );
    // Every book frame the venue sent was processed and verified.
    let v = venue.stats();
    assert_eq!(f.book_messages, v.book_snapshots + v.book_updates);
    assert_eq!(f.checksum_ok, f.book_messages);
    assert!(f.book_messages - before > 1_000, "{}", describe(&core));
}

#[test]
fn each_drop_after_a_healthy_connection_retries_at_once() {
    // One instant retry, then a minute: were the failure streak never reset by a healthy
    // connection, the third drop would wait a minute and the budget would run out.
    let (venue, mut core) = running(false, |cfg| {
        cfg.backoff.instant_retries = 1;
        cfg.backoff.initial = Duration::from_secs(60);
        cfg.backoff.max = Duration::from_secs(60);
    });
    for n in 2..=4u64 {
        venue.inject(FaultKind::Drop);
        poll_until(&mut core, "the reconnect", |c| {
            c.counters().connects == n && all_live(c)
        });
        stream(&mut core, 50);
    }
    settle_and_compare(&mut core, &venue);
    let c = core.counters();
    assert_eq!((c.disconnects, c.reconnects, c.connect_failures), (3, 3, 0));
}
