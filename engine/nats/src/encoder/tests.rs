//! The encoder against hand-built wire sequences, read back by the verifier.

use super::*;
use crate::format::Message;
use crate::Verifier;
use kspin_api::wire::{top_fingerprint, BookDone, LevelPacker, SnapshotStart};

fn wire(kind: WireKind) -> WireEvent {
    WireEvent::new(1, 2, kind)
}

/// The wire events of one book message (levels applied to `engine`), as the bus sends them.
fn book_message(
    engine: &mut OrderBook,
    levels: &[(BookSide, i64, i64)],
    snapshot: Option<SnapshotReason>,
) -> Vec<WireEvent> {
    let symbol = SymbolId(0);
    let mut out = Vec::new();
    if let Some(reason) = snapshot {
        engine.clear();
        out.push(wire(WireKind::BookSnapshot(SnapshotStart {
            symbol,
            reason,
        })));
    }
    let mut packer = LevelPacker::new(symbol);
    for &(side, p, q) in levels {
        let kind = match side {
            BookSide::Bid => SideKind::Bid,
            BookSide::Ask => SideKind::Ask,
        };
        let _ = engine.apply_level(kind, Price(p), Qty(q));
        if let Some(b) = packer.push(side, Price(p), Qty(q)) {
            out.push(wire(WireKind::BookLevels(b)));
        }
    }
    if let Some(b) = packer.flush() {
        out.push(wire(WireKind::BookLevels(b)));
    }
    engine.truncate_to_depth();
    let (bp, bq) = engine.best_bid().unwrap_or((Price::ZERO, Qty::ZERO));
    let (ap, aq) = engine.best_ask().unwrap_or((Price::ZERO, Qty::ZERO));
    out.push(wire(WireKind::BookDone(BookDone {
        symbol,
        levels_changed: packer.levels(),
        snapshot: snapshot.is_some(),
        time_ns: 5,
        top: top_fingerprint(bp, bq, ap, aq),
    })));
    out
}

#[test]
fn verified_messages_rebuild_the_engine_book_with_every_checksum() {
    let info = SymbolInfo::new(0, "X/Y", 1, 2, 10);
    let mut enc = Encoder::new("sim", 9, &[info], quanta::Clock::new());
    let mut engine = OrderBook::new(10, 1, 2);
    let mut out = Vec::new();
    use BookSide::{Ask, Bid};
    let snap = [(Bid, 100, 5), (Bid, 99, 1), (Ask, 101, 2), (Ask, 103, 4)];
    for w in book_message(&mut engine, &snap, Some(SnapshotReason::Initial)) {
        assert_eq!(enc.on_wire(&w, &mut out), None);
    }
    enc.on_wire(&wire(WireKind::BookLive(SymbolId(0))), &mut out);
    for step in [
        vec![(Bid, 100, 0), (Ask, 102, 7)],
        vec![(Bid, 98, 3)],
        vec![(Ask, 101, 0), (Ask, 103, 0)],
    ] {
        for w in book_message(&mut engine, &step, None) {
            enc.on_wire(&w, &mut out);
        }
    }
    // A lost message: the next one is a snapshot (recovery), still with the next sequence.
    enc.owe_snapshot(0);
    for w in book_message(&mut engine, &[(Bid, 97, 1)], None) {
        enc.on_wire(&w, &mut out);
    }
    let subjects: Vec<&str> = out.iter().map(|m| m.subject.as_str()).collect();
    assert_eq!(
        subjects,
        [
            "kspin.sim.book.X/Y",
            "kspin.sim.status.X/Y",
            "kspin.sim.book.X/Y",
            "kspin.sim.book.X/Y",
            "kspin.sim.book.X/Y",
            "kspin.sim.book.X/Y",
        ]
    );
    let ids: Vec<&str> = out.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids[0], "sim:X/Y:9:1");
    assert_eq!(ids[5], "sim:X/Y:9:6");
    assert_eq!(
        out.iter().map(|m| m.snapshot).collect::<Vec<_>>(),
        [true, false, false, false, false, true]
    );
    let mut verifier = Verifier::new();
    for m in &out {
        verifier.on_message(&Message::parse(&m.body).unwrap(), 0);
    }
    let f = verifier.figures("X/Y").unwrap();
    assert_eq!(
        (f.checksum_ok, f.checksum_mismatch, f.gaps, f.snapshots),
        (5, 0, 0, 2)
    );
    let mirrored = verifier.book("X/Y").unwrap();
    assert_eq!(mirrored.checksum_uncached(), engine.checksum_uncached());
    assert_eq!(mirrored.best_bid(), engine.best_bid());
    assert_eq!(mirrored.best_ask(), engine.best_ask());
    assert_eq!(enc.counters().snapshots, 2);
}

#[test]
fn a_diverged_replica_asks_for_a_snapshot_and_publishes_stale() {
    let info = SymbolInfo::new(0, "X/Y", 1, 2, 10);
    let mut enc = Encoder::new("sim", 1, &[info], quanta::Clock::new());
    let mut engine = OrderBook::new(10, 1, 2);
    let mut out = Vec::new();
    let mut events = book_message(
        &mut engine,
        &[(BookSide::Bid, 100, 5)],
        Some(SnapshotReason::Initial),
    );
    if let Some(last) = events.last_mut() {
        if let WireKind::BookDone(mut done) = last.kind() {
            done.top ^= 1;
            last.set_kind(WireKind::BookDone(done));
        }
    }
    let diverged: Vec<_> = events
        .iter()
        .filter_map(|w| enc.on_wire(w, &mut out))
        .collect();
    assert_eq!(diverged, [SymbolId(0)]);
    assert_eq!(out.len(), 1);
    let m = Message::parse(&out[0].body).unwrap();
    assert_eq!(m.kind, Kind::Status);
    assert_eq!(enc.counters().diverged, 1);
}

#[test]
fn fills_and_order_updates_have_their_own_sequence_and_numbered_fill_ids() {
    use kspin_api::{ClientOrderId, Decimal, OrderUpdate, RejectReason};
    let info = SymbolInfo::new(0, "X/Y", 1, 2, 10);
    let mut enc = Encoder::new("sim", 9, &[info], quanta::Clock::new());
    enc.set_strategies(vec!["q".into()]);
    let mut engine = OrderBook::new(10, 1, 2);
    let mut out = Vec::new();
    let snap = [(BookSide::Bid, 100, 5), (BookSide::Ask, 101, 2)];
    for w in book_message(&mut engine, &snap, Some(SnapshotReason::Initial)) {
        enc.on_wire(&w, &mut out);
    }
    let (id, s) = (ClientOrderId(4), SymbolId(0));
    let tap = |strategy: u16, update: OrderUpdate| TapOrder {
        strategy,
        recv_tsc: 0,
        time_ns: 77,
        update,
    };
    for t in [
        tap(0, OrderUpdate::accepted(id, s)),
        tap(0, OrderUpdate::filled(id, s, Price(101), Qty(1), Qty(1))),
        tap(
            0,
            OrderUpdate::filled(id, s, Price(101), Qty(1), Qty(0)).with_fee(Decimal {
                mantissa: 25,
                scale: 3,
            }),
        ),
        // The same client id after the order ended: numbered afresh.
        tap(0, OrderUpdate::filled(id, s, Price(100), Qty(2), Qty(0))),
        tap(3, OrderUpdate::rejected(id, s, RejectReason::WouldTake)),
    ] {
        enc.on_order(&t, &mut out);
    }
    let subjects: Vec<&str> = out.iter().map(|m| m.subject.as_str()).collect();
    assert_eq!(
        subjects,
        [
            "kspin.sim.book.X/Y",
            "kspin.sim.order.X/Y",
            "kspin.sim.fill.X/Y",
            "kspin.sim.fill.X/Y",
            "kspin.sim.fill.X/Y",
            "kspin.sim.order.X/Y",
        ]
    );
    let ids: Vec<&str> = out.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids[0], "sim:X/Y:9:1");
    assert_eq!(
        ids[1..],
        [
            "sim:X/Y:orders:9:1",
            "sim:X/Y:orders:9:2",
            "sim:X/Y:orders:9:3",
            "sim:X/Y:orders:9:4",
            "sim:X/Y:orders:9:5"
        ]
    );
    let bodies: Vec<OrderBody> = out[1..]
        .iter()
        .map(|m| match Message::parse(&m.body).unwrap().body {
            Body::Order(o) => o,
            other => panic!("{other:?}"),
        })
        .collect();
    let fill_ids: Vec<Option<&str>> = bodies.iter().map(|b| b.fill_id.as_deref()).collect();
    assert_eq!(
        fill_ids,
        [None, Some("q:4:1"), Some("q:4:2"), Some("q:4:1"), None]
    );
    assert_eq!((bodies[2].fee, bodies[2].fee_scale), (25, 3));
    assert_eq!(
        (bodies[2].price, bodies[2].qty, bodies[2].remaining),
        (101, 1, 0)
    );
    assert_eq!(bodies[4].strategy, "strategy3");
    assert_eq!(bodies[4].reason.as_deref(), Some("would_take"));
    let c = enc.counters();
    assert_eq!((c.fills, c.order_updates), (3, 2));
    // The verifier follows the order sequence apart from the book's.
    let mut verifier = Verifier::new();
    for m in &out {
        verifier.on_message(&Message::parse(&m.body).unwrap(), 0);
    }
    let o = verifier.order_figures("X/Y").unwrap();
    assert_eq!((o.messages, o.fills, o.updates, o.gaps), (5, 3, 2, 0));
    assert_eq!(verifier.fill_ids(), ["q:4:1", "q:4:2", "q:4:1"]);
    assert_eq!(enc.take_fill_ids(), verifier.fill_ids());
    assert_eq!(verifier.figures("X/Y").unwrap().gaps, 0);
}

#[test]
fn a_requested_snapshot_is_the_symbols_next_message() {
    let info = SymbolInfo::new(0, "X/Y", 1, 2, 10);
    let mut enc = Encoder::new("sim", 9, &[info], quanta::Clock::new());
    let mut engine = OrderBook::new(10, 1, 2);
    let mut out = Vec::new();
    let snap = [(BookSide::Bid, 100, 5), (BookSide::Ask, 101, 2)];
    for w in book_message(&mut engine, &snap, Some(SnapshotReason::Initial)) {
        enc.on_wire(&w, &mut out);
    }
    enc.on_wire(&wire(WireKind::BookLive(SymbolId(0))), &mut out);
    assert!(!enc.request_snapshot("A/B"));
    assert!(enc.request_snapshot("X/Y"));
    enc.pay_snapshot_debts("recovery", 0, &mut out);
    let last = Message::parse(&out.last().unwrap().body).unwrap();
    match last.body {
        Body::Book(b) => {
            assert!(b.snapshot);
            assert_eq!(b.reason.as_deref(), Some("requested"));
        }
        other => panic!("{other:?}"),
    }
    // Paid: nothing more owed.
    let n = out.len();
    enc.pay_snapshot_debts("recovery", 0, &mut out);
    assert_eq!(out.len(), n);
}
