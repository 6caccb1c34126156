//! The repeated-mismatch policy end to end, with the simulated venue's `corrupt` fault fired
//! again and again on ETH/USD: keep resyncing, stop validating, halt — each with its counters,
//! the other symbols unaffected and every trusted book equal to the venue's.

mod engine_support;

use engine_support::*;
use kspin::feed::{MismatchAction, MismatchPolicy, StaleReason, SubscriptionState};
use kspin::sim::FaultKind;

const SYMBOLS: [(&str, u16); 3] = [("BTC/USD", 10), ("ETH/USD", 10), ("SOL/USD", 25)];

/// Corrupts ETH/USD `n` times under `policy` (after 2 mismatches), waiting after each one for
/// `settled`; returns the core for inspection after a final comparison with the venue.
fn corrupt_repeatedly(
    action: MismatchAction,
    n: u64,
    settled: impl Fn(&Core, u64) -> bool,
) -> (kspin::sim::VenueHandle, Core) {
    let names: Vec<&str> = SYMBOLS.iter().map(|s| s.0).collect();
    let venue = venue(false, &names, 1_500, false);
    let mut cfg = core_config(&venue, &SYMBOLS);
    cfg.policy = MismatchPolicy {
        action,
        max_mismatches: 2,
    };
    let mut core = core(cfg);
    start(&mut core);
    stream(&mut core, 100);
    for k in 1..=n {
        venue.inject(FaultKind::Corrupt(Some("ETH/USD".into())));
        poll_until(&mut core, "the mismatch to be handled", |c| settled(c, k));
        stream(&mut core, 100);
    }
    settle_and_compare_trusted(&mut core, &venue);
    assert_eq!(venue.stats().checksums_corrupted, n);
    (venue, core)
}

/// The symbols other than ETH/USD never noticed.
fn others_untouched(core: &Core) {
    let eth = index_of(core, "ETH/USD");
    for (i, (name, b)) in core.feed().books().enumerate() {
        if i != eth {
            assert_eq!(b.state, SubscriptionState::Live, "{name}");
            assert_eq!(
                (b.counters.resyncs, b.counters.checksum_mismatch),
                (0, 0),
                "{name}"
            );
            assert_eq!(b.counters.dropped_not_live, 0, "{name}");
            assert_eq!(core.publisher().stale[i], 0, "{name}");
        }
    }
    let c = core.counters();
    assert_eq!((c.connects, c.disconnects), (1, 0));
}

fn eth(core: &Core) -> &kspin::feed::SymbolBook {
    core.feed().book(index_of(core, "ETH/USD")).unwrap()
}

#[test]
fn policy_keep_resyncing_resyncs_every_time() {
    let (_venue, core) = corrupt_repeatedly(MismatchAction::KeepResyncing, 3, |c, k| {
        eth(c).counters.resyncs == k && all_live(c)
    });
    let b = eth(&core);
    assert_eq!((b.counters.checksum_mismatch, b.counters.resyncs), (3, 3));
    assert_eq!(b.counters.snapshots, 4);
    assert_eq!(b.state, SubscriptionState::Live);
    others_untouched(&core);
}

#[test]
fn policy_stop_validating_after_the_limit() {
    let (_venue, core) = corrupt_repeatedly(MismatchAction::StopValidating, 3, |c, k| {
        let b = eth(c);
        b.counters.checksum_mismatch == k
            && matches!(
                b.state,
                SubscriptionState::Live | SubscriptionState::Unvalidated
            )
    });
    let b = eth(&core);
    // First mismatch: a resync. Second: the limit, validation stops. Third: counted only.
    assert_eq!((b.counters.checksum_mismatch, b.counters.resyncs), (3, 1));
    assert_eq!(b.counters.snapshots, 2);
    assert_eq!(b.state, SubscriptionState::Unvalidated);
    // An unvalidated book is never live (DESIGN invariant 4): strategies were told it is stale
    // at the first mismatch (resync) and again when validation stopped.
    assert!(!b.state.is_live());
    assert_eq!(core.publisher().stale[index_of(&core, "ETH/USD")], 2);
    others_untouched(&core);
}

#[test]
fn policy_halt_after_the_limit() {
    let (_venue, core) = corrupt_repeatedly(MismatchAction::Halt, 2, |c, k| {
        let b = eth(c);
        b.counters.checksum_mismatch == k
            && matches!(b.state, SubscriptionState::Live | SubscriptionState::Halted)
    });
    let b = eth(&core);
    let i = index_of(&core, "ETH/USD");
    assert_eq!((b.counters.checksum_mismatch, b.counters.resyncs), (2, 1));
    assert_eq!(b.state, SubscriptionState::Halted);
    assert!(
        b.counters.dropped_not_live > 0,
        "updates after the halt are dropped"
    );
    let r = core.publisher();
    assert_eq!(r.stale[i], 2);
    assert_eq!(r.last_stale[i], Some(StaleReason::Halted));
    others_untouched(&core);
}
