//! Every disconnect and every failed attempt is counted by its cause, on virtual time with the
//! in-memory transport (the pattern of `recovery_virtual_time.rs`): each kind of transport error
//! the venue ends a connection with, a stall, the resync deadline (checksum policy), refused,
//! hanging and TLS-failing handshakes, and a rejected certificate, which is never retried
//! faster than the backoff (no instant retries; 250 ms doubling). Counts are exact.

mod virtual_venue;

use kspin_core::feed::SubscriptionState;
use kspin_net::memory::AttemptOutcome;
use kspin_net::{NetError, TlsFailure};
use kspin_runtime::{CauseCounts, EndCause};
use virtual_venue::*;

fn both_live(run: &VirtualRun) -> bool {
    run.core
        .feed()
        .books()
        .all(|(_, b)| b.state == SubscriptionState::Live)
}

fn named(counts: &CauseCounts) -> Vec<(&'static str, u64)> {
    counts.named().collect()
}

#[test]
fn each_way_a_connection_ends_is_counted_under_its_own_name() {
    let mut run = VirtualRun::new(config(&["BTC/USD", "ETH/USD"], 10), &["BTC/USD", "ETH/USD"]);
    run.venue.answers.heartbeat_ms = 100;
    run.run_until(1_000);
    assert!(both_live(&run));
    let ends = [
        NetError::TlsNoCloseNotify,
        NetError::Eof,
        NetError::Closed { code: Some(1001) },
        NetError::Closed { code: Some(1013) },
        NetError::Closed { code: None },
        NetError::Tls(TlsFailure::Decrypt),
        NetError::Tls(TlsFailure::AlertReceived(20)),
        NetError::Tls(TlsFailure::AlertReceived(80)),
        NetError::Tls(TlsFailure::UnexpectedMessage),
        NetError::FrameTooLarge {
            len: 2 << 20,
            max: 1 << 20,
        },
        NetError::Protocol("binary frame"),
        NetError::Io(std::io::ErrorKind::ConnectionReset),
    ];
    for (i, end) in ends.iter().enumerate() {
        run.drop_connection(*end);
        let connects = i as u64 + 2;
        run.run_until_cond(5_000, |r| {
            r.core.counters().connects == connects && both_live(r)
        });
        run.run_until(run.now_ms + 200);
    }
    let c = run.core.counters();
    assert_eq!(
        named(&c.disconnects_by_cause),
        [
            ("record_authentication_failed", 1),
            ("tls_protocol_error", 1),
            ("eof_without_close_notify", 1),
            ("eof", 1),
            ("websocket_protocol_error", 1),
            ("frame_too_large", 1),
            ("io_error", 1),
            ("tls_alert_bad_record_mac", 1),
            ("tls_alert_internal_error", 1),
            ("websocket_close_1001", 1),
            ("websocket_close_1013", 1),
            ("websocket_close_no_code", 1),
        ]
    );
    assert_eq!(c.disconnects, 12);
    assert_eq!(c.disconnects_by_cause.total(), c.disconnects);
    assert_eq!(
        (c.connect_failures, c.connect_failures_by_cause.total()),
        (0, 0)
    );
}

#[test]
fn a_stall_and_the_resync_deadline_are_named() {
    let mut run = VirtualRun::new(config(&["BTC/USD", "ETH/USD"], 10), &["BTC/USD", "ETH/USD"]);
    run.venue.answers.heartbeat_ms = 100;
    run.run_until(1_000);
    // Silence: the stall timeout (800 ms) ends the connection.
    run.venue.answers.heartbeat_ms = 0;
    run.run_until_cond(2_000, |r| r.core.counters().stalls == 1);
    run.venue.answers.heartbeat_ms = 100;
    run.run_until_cond(2_000, both_live);
    // A resync the exchange never answers: the resync deadline rebuilds the connection.
    run.venue.answers.unsubscribe = false;
    run.venue.update(0, true);
    run.run_until_cond(10_000, |r| r.core.counters().resync_timeouts == 1);
    let c = run.core.counters();
    assert_eq!(
        named(&c.disconnects_by_cause),
        [("stall", 1), ("checksum_policy", 1)]
    );
    assert_eq!(c.disconnects, 2);
}

#[test]
fn failed_attempts_are_counted_by_cause() {
    let mut run = VirtualRun::new(config(&["BTC/USD"], 10), &["BTC/USD"]);
    run.set_outcome(AttemptOutcome::Refuse);
    run.run_until(3);
    run.set_outcome(AttemptOutcome::Hang);
    run.run_until(1_000);
    run.set_outcome(AttemptOutcome::Fail(NetError::Tls(
        TlsFailure::AlertReceived(40),
    )));
    run.run_until(3_000);
    run.set_outcome(AttemptOutcome::Fail(NetError::Eof));
    run.run_until(6_000);
    let c = run.core.counters();
    assert_eq!(
        named(&c.connect_failures_by_cause),
        [
            ("eof", 1),
            ("connect_failed", 3),
            ("connect_timeout", 1),
            ("tls_alert_handshake_failure", 3),
        ]
    );
    assert_eq!(c.connect_failures, 8);
    // 0, 1, 2 refused (instant retries); 3 hangs until its 500 ms timeout; 753 hangs until
    // the handshake fails at 1000 (alert); 1500 and 2501 fail the same way; 4502 meets EOF.
    assert_eq!(run.attempts, [0, 1, 2, 3, 753, 1_500, 2_501, 4_502]);
    assert_eq!((c.disconnects, c.disconnects_by_cause.total()), (0, 0));
}

#[test]
fn a_rejected_certificate_is_never_retried_faster_than_the_backoff() {
    let mut run = VirtualRun::new(config(&["BTC/USD"], 10), &["BTC/USD"]);
    run.set_outcome(AttemptOutcome::Fail(NetError::Tls(
        TlsFailure::UntrustedCertificate,
    )));
    run.run_until(20_000);
    // No instant retries: 250 ms after the first failure, then doubling (each failure is seen
    // at the poll after its attempt, 1 ms later).
    assert_eq!(run.attempts, [0, 251, 752, 1_753, 3_754, 7_755, 15_756]);
    let c = run.core.counters();
    assert_eq!(
        named(&c.connect_failures_by_cause),
        [("certificate_rejected", 7)]
    );
    assert_eq!(
        c.connect_failures_by_cause
            .get(EndCause::CertificateRejected),
        c.connect_failures
    );
    // The venue's real certificate again: the next attempt opens and streams.
    run.set_outcome(AttemptOutcome::Open);
    run.run_until_cond(40_000, both_live);
    assert_eq!(run.attempts.last(), Some(&31_757));
}
