//! The resync state machine end to end, against a scripted Kraken server on 127.0.0.1
//! (`engine_support::scripted`), so the order of events is exact: a checksum mismatch on BTC/USD
//! sends an unsubscribe (and nothing else) → only after its ack a subscribe → the book is rebuilt
//! from the fresh snapshot; every update in between — in flight before the ack, late after it, or
//! before the new snapshot — is dropped and counted, and ETH/USD streams on untouched. Also: a
//! precision change under a live book, a precision learnt after the snapshot went by, and a drop
//! in the middle of a resync.

mod engine_support;

use std::sync::mpsc::Receiver;

use engine_support::scripted::*;
use engine_support::*;
use kspin::book::{ApplyMode, OrderBook};
use kspin::feed::{StaleReason, SubscriptionState};
use kspin::sim::frames;
use kspin::sim::pairs::find_pair;
use kspin::sim::SimPair;
use kspin_api::{Price, Qty};

/// The server's script; returns the true books at the end.
fn script(mut s: Scripted, go: Receiver<()>) -> [Levels; 2] {
    s.status_online(42);
    // Initial subscription: one request for both symbols (same depth).
    s.subscribe_both();
    s.stream(3);
    // The fault: BTC's book is right, its checksum is not.
    s.update(BTC, true);
    // In flight before the engine's unsubscribe can arrive: BTC dropped, ETH applied.
    s.update(BTC, false);
    s.update(ETH, false);
    let unsub = s.request();
    assert_eq!(method(&unsub), "unsubscribe", "{unsub}");
    assert_eq!(book_symbols(&unsub), ["BTC/USD"]);
    // Still the old subscription (the ack is not sent yet): dropped.
    s.update(BTC, false);
    // The test pings once it sees BTC resyncing: a subscribe sent before the unsubscribe's ack
    // would arrive first.
    let ping = s.request();
    assert_eq!(
        method(&ping),
        "ping",
        "expected the test's ping, got {ping}"
    );
    s.pong(&ping["req_id"]);
    // The test looks at the engine between the pong and the ack.
    go.recv().expect("the test's go-ahead");
    s.ack("unsubscribe", BTC, &unsub["req_id"]);
    // Late frame of the old subscription after its ack: dropped.
    s.update(BTC, false);
    let resub = s.request();
    assert_eq!(method(&resub), "subscribe", "{resub}");
    assert_eq!(book_symbols(&resub), ["BTC/USD"]);
    assert_eq!(resub["params"]["depth"], DEPTH);
    assert_eq!(resub["params"]["snapshot"], true);
    // Before the new subscription's snapshot: dropped.
    s.update(BTC, false);
    s.ack("subscribe", BTC, &resub["req_id"]);
    s.snapshot(BTC);
    s.stream(5);
    s.finish()
}

#[test]
fn resync_is_unsubscribe_ack_subscribe_snapshot_and_drops_everything_between() {
    let (port, go, server) = spawn_script(script);
    let mut core = core(scripted_config_known_precision(port));

    poll_until(&mut core, "BTC resyncing", |c| {
        c.feed().book(BTC).unwrap().state == SubscriptionState::Unsubscribing
    });
    let id = core.ping_now();
    assert!(id.is_some());
    poll_until(&mut core, "the pong", |c| c.publisher().last_pong == id);
    {
        // Up to the pong: BTC waits for its unsubscribe ack with an empty book and has dropped the
        // two updates of the old subscription; ETH is live with every update applied.
        let btc = core.feed().book(BTC).unwrap();
        assert_eq!(btc.state, SubscriptionState::Unsubscribing);
        assert!(btc.book.bids().is_empty() && btc.book.asks().is_empty());
        assert_eq!(btc.counters.dropped_not_live, 2, "{}", describe(&core));
        let eth = core.feed().book(ETH).unwrap();
        assert_eq!(eth.state, SubscriptionState::Live);
        assert_eq!(eth.counters.book_messages, 5);
        assert_eq!(eth.counters.checksum_ok, 5);
    }
    go.send(()).unwrap();
    poll_until(&mut core, "BTC live again", all_live);
    drain_to_pong(&mut core);
    let truth = server.join().expect("the script ran to its end");

    // Both books equal the script's true books: nothing dropped leaked into the new BTC book.
    assert_books_are(&core, &truth);
    let btc = core.feed().book(BTC).unwrap().counters;
    let eth = core.feed().book(ETH).unwrap().counters;
    // BTC: 2 snapshots + 3 + 1 corrupt + 1 in flight + 1 before the ack + 1 after it + 1 before
    // the snapshot + 5 after.
    assert_eq!(btc.book_messages, 15);
    assert_eq!(btc.dropped_not_live, 4, "{}", describe(&core));
    assert_eq!(
        (btc.checksum_mismatch, btc.resyncs, btc.snapshots),
        (1, 1, 2)
    );
    assert_eq!(btc.checksum_ok, 2 + 3 + 5);
    assert_eq!((eth.book_messages, eth.checksum_ok), (10, 10));
    assert_eq!(
        (eth.dropped_not_live, eth.resyncs, eth.snapshots),
        (0, 0, 1)
    );
    let r = core.publisher();
    assert_eq!((r.stale[BTC], r.live[BTC], r.mismatches[BTC]), (1, 2, 1));
    assert_eq!(r.last_stale[BTC], Some(StaleReason::ChecksumMismatch));
    assert_eq!((r.stale[ETH], r.live[ETH]), (0, 1));
    assert_eq!(r.published_unverified, 0);
    let c = core.counters();
    // Initial subscribe, unsubscribe, subscribe, two pings.
    assert_eq!((c.connects, c.disconnects), (1, 0));
    assert_eq!(c.requests_sent, 3);
    assert_eq!(c.pings_sent, 2);
}

/// BTC/USD with one more price decimal: the instrument update of the next test.
fn btc_finer() -> &'static SimPair {
    Box::leak(Box::new(SimPair {
        price_precision: 2,
        ..*find_pair("BTC/USD").unwrap()
    }))
}

fn precision_script(mut s: Scripted, _go: Receiver<()>) -> [Levels; 2] {
    s.status_online(43);
    let inst = s.request();
    assert_eq!(method(&inst), "subscribe", "{inst}");
    assert_eq!(inst["params"]["channel"], "instrument", "{inst}");
    s.send({
        let mut out = String::new();
        frames::instrument(&mut out, &s.pairs);
        out
    });
    s.subscribe_both();
    s.stream(3);
    // Kraken changes BTC/USD's price precision: an instrument update; from now on every BTC
    // price has two decimals (the true book is the same prices, mantissas x10).
    let finer = btc_finer();
    s.send({
        let mut out = String::new();
        frames::instrument(&mut out, &[finer]);
        out.replacen("\"type\":\"snapshot\"", "\"type\":\"update\"", 1)
    });
    let rescale = |v: Vec<(Price, Qty)>| -> Vec<(Price, Qty)> {
        v.into_iter().map(|(p, q)| (Price(p.0 * 10), q)).collect()
    };
    let (bids, asks) = s.levels(BTC);
    let mut book = OrderBook::new(DEPTH.into(), 2, finer.qty_precision);
    book.apply_exact(ApplyMode::Snapshot, &rescale(bids), &rescale(asks));
    s.truth[BTC] = book;
    s.pairs[BTC] = finer;
    // An update at the new precision, still on the old subscription: not for the old book.
    s.update(BTC, false);
    s.update(ETH, false);
    // The engine resyncs BTC to get a snapshot at the new precision.
    s.resync(BTC);
    s.stream(3);
    s.finish()
}

#[test]
fn a_precision_change_on_a_live_book_resyncs_it_at_the_new_precision() {
    let (port, _go, server) = spawn_script(precision_script);
    // Precision learnt from `instrument` (nothing configured).
    let mut core = core(scripted_config(port));
    poll_until(&mut core, "BTC rebuilt at the new precision", |c| {
        all_live(c) && c.feed().book(BTC).unwrap().counters.snapshots == 2
    });
    drain_to_pong(&mut core);
    let truth = server.join().expect("the script ran to its end");
    assert_books_are(&core, &truth);
    let entry = core.feed().symbols().get(BTC).unwrap();
    assert_eq!((entry.price_scale, entry.qty_scale), (2, 8));
    assert_eq!(core.feed().book(BTC).unwrap().book.price_scale(), 2);
    let btc = core.feed().book(BTC).unwrap().counters;
    let eth = core.feed().book(ETH).unwrap().counters;
    assert_eq!(
        (btc.checksum_mismatch, btc.resyncs),
        (0, 1),
        "{}",
        describe(&core)
    );
    assert_eq!(btc.dropped_not_live, 1);
    assert_eq!(
        (eth.resyncs, eth.dropped_not_live, eth.checksum_ok),
        (0, 0, 8)
    );
    let r = core.publisher();
    assert_eq!((r.stale[BTC], r.live[BTC]), (1, 2));
    assert_eq!((r.stale[ETH], r.live[ETH]), (0, 1));
    assert_eq!(core.feed().counters().instruments, 2);
}

fn late_precision_script(mut s: Scripted, _go: Receiver<()>) -> [Levels; 2] {
    let inst = s.request();
    assert_eq!(inst["params"]["channel"], "instrument", "{inst}");
    // The instrument snapshot lists ETH/USD only (BTC/USD is listed later).
    s.send({
        let mut out = String::new();
        frames::instrument(&mut out, &s.pairs[ETH..]);
        out
    });
    let sub = s.request();
    assert_eq!(book_symbols(&sub), ["BTC/USD", "ETH/USD"]);
    let id = sub["req_id"].clone();
    s.ack("subscribe", BTC, &id);
    s.ack("subscribe", ETH, &id);
    // BTC's snapshot and updates cannot be read without a precision: dropped, counted.
    s.snapshot(BTC);
    s.snapshot(ETH);
    s.update(BTC, false);
    s.update(ETH, false);
    s.send({
        let mut out = String::new();
        frames::instrument(&mut out, &s.pairs[..ETH]);
        out.replacen("\"type\":\"snapshot\"", "\"type\":\"update\"", 1)
    });
    // No snapshot will come on the current subscription: the engine resubscribes.
    s.resync(BTC);
    s.stream(3);
    s.finish()
}

#[test]
fn a_snapshot_dropped_for_want_of_precision_is_fetched_again_once_it_is_known() {
    let (port, _go, server) = spawn_script(late_precision_script);
    let mut core = core(scripted_config(port));
    poll_until(&mut core, "BTC live", all_live);
    drain_to_pong(&mut core);
    let truth = server.join().expect("the script ran to its end");
    assert_books_are(&core, &truth);
    assert_eq!(
        core.feed().counters().no_precision,
        2,
        "{}",
        describe(&core)
    );
    let btc = core.feed().book(BTC).unwrap().counters;
    assert_eq!((btc.resyncs, btc.snapshots, btc.checksum_ok), (1, 1, 4));
    let r = core.publisher();
    assert_eq!((r.stale[BTC], r.live[BTC]), (0, 1));
    assert_eq!(core.feed().book(ETH).unwrap().counters.resyncs, 0);
}

fn cut_mid_resync_script(mut s: Scripted, _go: Receiver<()>) -> [Levels; 2] {
    s.subscribe_both();
    s.update(ETH, false);
    s.update(BTC, true);
    let unsub = s.request();
    assert_eq!(method(&unsub), "unsubscribe", "{unsub}");
    // The connection dies before the unsubscribe is acknowledged.
    s.cut_and_accept();
    // On the new connection: every subscription exactly once (the grouped one), and no
    // leftover resync request.
    s.subscribe_both();
    s.stream(3);
    s.finish()
}

#[test]
fn a_drop_in_the_middle_of_a_resync_resubscribes_everything_exactly_once() {
    let (port, _go, server) = spawn_script(cut_mid_resync_script);
    let mut core = core(scripted_config_known_precision(port));
    poll_until(&mut core, "reconnected, every book live", |c| {
        c.counters().connects == 2 && all_live(c)
    });
    drain_to_pong(&mut core);
    let truth = server.join().expect("the script ran to its end");
    assert_books_are(&core, &truth);
    for (name, b) in core.feed().books() {
        assert_eq!(b.counters.snapshots, 2, "{name}");
    }
    let btc = core.feed().book(BTC).unwrap().counters;
    assert_eq!((btc.checksum_mismatch, btc.resyncs), (1, 1));
    let c = core.counters();
    assert_eq!((c.disconnects, c.reconnects, c.requests_sent), (1, 1, 3));
    let r = core.publisher();
    // BTC went stale by its mismatch (the drop found it already stale); ETH by the drop.
    assert_eq!(r.last_stale[BTC], Some(StaleReason::ChecksumMismatch));
    assert_eq!(r.last_stale[ETH], Some(StaleReason::Disconnected));
    assert_eq!((r.live[BTC], r.live[ETH]), (2, 2));
}
