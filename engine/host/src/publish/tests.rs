//! Unit tests of the bus: exact wire sequences for publishing, lag and catch-up, resnapshot
//! requests and precision freezes.

use super::*;
use crate::lane::book_done;
use kspin_api::wire::{LevelBatch, SnapshotStart};
use kspin_api::{BookSide, Decimal, StrategySummary};
use kspin_api::{BookStale, LinkState};
use kspin_api::{Price, Qty};
use kspin_core::book::ApplyMode;
use kspin_core::book::ApplyReport;
use kspin_core::book::SideKind;
use kspin_core::feed::{FeedSink, StaleReason};
use kspin_core::kraken::UpdateKind;
use kspin_core::kraken::{BookData, Level};

struct Idle;
impl Strategy for Idle {
    fn on_event(&mut self, _: &kspin_api::Event, _: &mut dyn kspin_api::Context) {}
    fn summary(&self) -> StrategySummary {
        StrategySummary::new()
    }
}

fn level(p: i64, q: i64) -> Level {
    Level {
        price: Decimal {
            mantissa: p,
            scale: 1,
        },
        qty: Decimal {
            mantissa: q,
            scale: 0,
        },
    }
}

fn data<'a>(bids: &'a [Level], asks: &'a [Level]) -> BookData<'a> {
    BookData {
        symbol: "X/Y",
        bids,
        asks,
        checksum: None,
        timestamp: None,
    }
}

/// The levels as the feed hands them on (scales 1 and 0, as in `level`).
fn fixed(bids: &[Level], asks: &[Level]) -> Vec<FixedLevel> {
    let sided = |side| {
        move |l: &Level| FixedLevel {
            side,
            price: Price(l.price.mantissa),
            qty: Qty(l.qty.mantissa),
        }
    };
    bids.iter()
        .map(sided(SideKind::Bid))
        .chain(asks.iter().map(sided(SideKind::Ask)))
        .collect()
}

fn kinds(rx: &mut Consumer<WireEvent>) -> Vec<WireKind> {
    let mut out = Vec::new();
    while let Some(w) = rx.try_pop() {
        out.push(w.kind());
    }
    out
}

fn batch(levels: &[(BookSide, i64, i64)]) -> WireKind {
    let mut b = LevelBatch::empty(SymbolId(0));
    for (i, &(side, p, q)) in levels.iter().enumerate() {
        b.sides[i] = side;
        b.prices[i] = Price(p);
        b.qtys[i] = Qty(q);
    }
    b.count = levels.len() as u8;
    WireKind::BookLevels(b)
}

/// Exact wire sequences: snapshot + BookLive, update, drop on a full ring, catch-up.
#[test]
fn publishes_whole_messages_and_catches_up_a_full_ring() {
    let symbols = [SymbolInfo::new(0, "X/Y", 1, 0, 10)];
    let mut bus = Bus::new(&symbols);
    let mut h = bus
        .add_strategy("t", None, Box::new(Idle), 8, IdlePolicy::Spin)
        .unwrap();
    let rx = h.events_mut();
    let mut book = OrderBook::new(10, 1, 0);
    let report = ApplyReport::default();
    let (bids, asks) = ([level(100, 2), level(99, 1)], [level(101, 3)]);
    let exact = |l: &[Level]| -> Vec<(Price, Qty)> {
        l.iter()
            .map(|l| (Price(l.price.mantissa), Qty(l.qty.mantissa)))
            .collect()
    };
    book.apply_exact(ApplyMode::Snapshot, &exact(&bids), &exact(&asks));
    bus.book_live(0, &book);
    bus.book_updated(
        0,
        &book,
        &data(&bids, &asks),
        &fixed(&bids, &asks),
        UpdateKind::Snapshot,
        &report,
    );
    let done = |levels, snapshot, book: &OrderBook| {
        WireKind::BookDone(book_done(SymbolId(0), book, levels, snapshot, 0))
    };
    let start = |reason| {
        WireKind::BookSnapshot(SnapshotStart {
            symbol: SymbolId(0),
            reason,
        })
    };
    assert_eq!(
        kinds(rx),
        vec![
            start(SnapshotReason::Initial),
            batch(&[(BookSide::Bid, 100, 2), (BookSide::Bid, 99, 1)]),
            batch(&[(BookSide::Ask, 101, 3)]),
            done(3, true, &book),
            WireKind::BookLive(SymbolId(0)),
        ]
    );

    // An update: its levels in message order, then BookDone.
    let (ub, ua) = ([level(100, 0)], [level(102, 4)]);
    book.apply_exact(ApplyMode::Update, &exact(&ub), &exact(&ua));
    bus.book_updated(
        0,
        &book,
        &data(&ub, &ua),
        &fixed(&ub, &ua),
        UpdateKind::Update,
        &report,
    );
    assert_eq!(
        kinds(rx),
        vec![
            batch(&[(BookSide::Bid, 100, 0), (BookSide::Ask, 102, 4)]),
            done(2, false, &book),
        ]
    );

    // Fill the ring (8 slots) with updates of 2 events each; the fifth is dropped whole.
    for q in 1..=5 {
        let ua = [level(103, q)];
        book.apply_exact(ApplyMode::Update, &[], &exact(&ua));
        bus.book_updated(
            0,
            &book,
            &data(&[], &ua),
            &fixed(&[], &ua),
            UpdateKind::Update,
            &report,
        );
    }
    let c = bus.lane_counters(0).unwrap();
    assert_eq!((c.events_dropped, c.lag_episodes), (2, 1));
    assert!(bus.is_lagging(0));
    assert_eq!(rx.len(), 8);

    // Room again: service hands the current book as a catch-up snapshot (no BookLive: the
    // strategy already knows the book is live), and the lag ends.
    let delivered = kinds(rx);
    assert_eq!(delivered.len(), 8);
    let sources = [(book.clone(), true)];
    bus.service(&sources[..]);
    assert!(!bus.is_lagging(0));
    assert!(!bus.needs_service());
    assert_eq!(
        kinds(rx),
        vec![
            start(SnapshotReason::CatchUp),
            batch(&[(BookSide::Bid, 99, 1), (BookSide::Ask, 101, 3)]),
            batch(&[(BookSide::Ask, 102, 4), (BookSide::Ask, 103, 5)]),
            done(4, true, &book),
        ]
    );
    let c = bus.lane_counters(0).unwrap();
    assert_eq!((c.snapshots_handed, c.catchup_events), (1, 4));

    // Stale while not lagging: one BookStale; a later catch-up of a non-live book is silent.
    bus.book_stale(0, StaleReason::ChecksumMismatch);
    assert_eq!(
        kinds(rx),
        vec![WireKind::BookStale(BookStale {
            symbol: SymbolId(0),
            reason: WireStale::ChecksumMismatch,
        })]
    );
}

/// The back channel: a host whose replica diverged asks for the book again; the bus hands
/// the engine's book as a catch-up snapshot followed by `BookLive`, and the order path
/// never sees the request.
#[test]
fn a_resnapshot_request_hands_the_book_again_and_says_live() {
    let symbols = [SymbolInfo::new(0, "X/Y", 1, 0, 10)];
    let mut bus = Bus::new(&symbols);
    let mut h = bus
        .add_strategy("t", None, Box::new(Idle), 64, IdlePolicy::Spin)
        .unwrap();
    let mut book = OrderBook::new(10, 1, 0);
    book.apply_exact(
        ApplyMode::Snapshot,
        &[(Price(100), Qty(2))],
        &[(Price(101), Qty(3))],
    );
    let (bids, asks) = ([level(100, 2)], [level(101, 3)]);
    bus.book_live(0, &book);
    let report = ApplyReport::default();
    bus.book_updated(
        0,
        &book,
        &data(&bids, &asks),
        &fixed(&bids, &asks),
        UpdateKind::Snapshot,
        &report,
    );
    assert_eq!(
        kinds(h.events_mut()).len(),
        4,
        "initial snapshot and BookLive"
    );

    let request = kspin_api::OrderMessage::new(
        0,
        OrderRequest::Resnapshot {
            symbol: SymbolId(0),
        },
    );
    h.intents_mut().try_push(request).unwrap();
    let sources = [(book.clone(), true)];
    // Handed at once (the ring has room): the lane never lags for it.
    bus.drain_intents(&sources[..]);
    assert!(!bus.is_lagging(0) && !bus.needs_service());
    assert_eq!(
        kinds(h.events_mut()),
        vec![
            WireKind::BookSnapshot(SnapshotStart {
                symbol: SymbolId(0),
                reason: SnapshotReason::CatchUp,
            }),
            batch(&[(BookSide::Bid, 100, 2), (BookSide::Ask, 101, 3)]),
            WireKind::BookDone(book_done(SymbolId(0), &book, 2, true, 0)),
            WireKind::BookLive(SymbolId(0)),
        ]
    );
    let c = bus.lane_counters(0).unwrap();
    assert_eq!(
        (c.resnapshots_requested, c.snapshots_handed, c.lag_episodes),
        (1, 1, 0)
    );
    assert_eq!(bus.paper_counters(0).unwrap().intents, 0);
}

/// A freeze is told even to a strategy that never saw the book live, and even when its ring
/// is full at that moment (owed, then handed by `service`); nothing of the symbol follows.
#[test]
fn a_precision_change_is_always_told_and_silences_the_symbol() {
    let symbols = [SymbolInfo::new(0, "X/Y", 1, 0, 10)];
    let stale = WireKind::BookStale(BookStale {
        symbol: SymbolId(0),
        reason: WireStale::PrecisionChanged,
    });
    let mut bus = Bus::new(&symbols);
    let mut h = bus
        .add_strategy("t", None, Box::new(Idle), 2, IdlePolicy::Spin)
        .unwrap();
    bus.precision_changed(0, 2, 0);
    assert_eq!(kinds(h.events_mut()), vec![stale]);
    assert_eq!(bus.counters().precision_changes, 1);
    // Frozen: a book at the new scale, a trade and liveness publish nothing.
    let book = OrderBook::new(10, 2, 0);
    let report = ApplyReport::default();
    let (bids, asks) = ([level(100, 2)], [level(101, 3)]);
    bus.book_live(0, &book);
    bus.book_updated(
        0,
        &book,
        &data(&bids, &asks),
        &fixed(&bids, &asks),
        UpdateKind::Snapshot,
        &report,
    );
    bus.book_stale(0, StaleReason::BadMessage);
    assert!(kinds(h.events_mut()).is_empty());
    let sources = [(book.clone(), true)];
    bus.service(&sources[..]);
    assert!(
        kinds(h.events_mut()).is_empty(),
        "no catch-up of a frozen book"
    );

    // Thaw, then freeze again with the ring full: the notice is owed until there is room.
    bus.precision_changed(0, 1, 0);
    for _ in 0..2 {
        bus.publish_connection(ConnectionStatus {
            link: Link::Public,
            state: LinkState::Connected,
            system: SystemStatus::Online,
        });
    }
    bus.precision_changed(0, 3, 0);
    assert!(bus.is_lagging(0));
    assert_eq!(kinds(h.events_mut()).len(), 2, "the two statuses");
    bus.service(&sources[..]);
    assert_eq!(kinds(h.events_mut()), vec![stale]);
    assert!(!bus.is_lagging(0));
}

/// A tap (the NATS bridge's lane) gets the strategies' wire sequence with the same conflation
/// and catch-up, answers a resnapshot request, and is not reported as a strategy.
#[test]
fn a_tap_is_a_lane_like_a_strategy_but_not_one() {
    let symbols = [SymbolInfo::new(0, "X/Y", 1, 0, 10)];
    let mut bus = Bus::new(&symbols);
    let _strategy = bus
        .add_strategy("s", None, Box::new(Idle), 64, IdlePolicy::Spin)
        .unwrap();
    let mut tap = bus.add_tap("nats", 4).unwrap();
    assert_eq!(tap.index, 1);
    let mut book = OrderBook::new(10, 1, 0);
    let report = ApplyReport::default();
    let exact = |l: &[Level]| -> Vec<(Price, Qty)> {
        l.iter()
            .map(|l| (Price(l.price.mantissa), Qty(l.qty.mantissa)))
            .collect()
    };
    let bids = [level(100, 2)];
    book.apply_exact(ApplyMode::Snapshot, &exact(&bids), &[]);
    bus.book_live(0, &book);
    bus.book_updated(
        0,
        &book,
        &data(&bids, &[]),
        &fixed(&bids, &[]),
        UpdateKind::Snapshot,
        &report,
    );
    assert_eq!(kinds(&mut tap.events).len(), 4); // start, levels, done, live
                                                 // Three updates of 2 events into 4 slots: the third is dropped, the tap lags.
    for q in 1..=3 {
        let ub = [level(99, q)];
        book.apply_exact(ApplyMode::Update, &exact(&ub), &[]);
        bus.book_updated(
            0,
            &book,
            &data(&ub, &[]),
            &fixed(&ub, &[]),
            UpdateKind::Update,
            &report,
        );
    }
    let c = bus.lane_counters(1).unwrap();
    assert_eq!((c.events_dropped, c.lag_episodes), (2, 1));
    assert_eq!(kinds(&mut tap.events).len(), 4);
    let sources = [(book.clone(), true)];
    bus.service(&sources[..]);
    let caught_up = kinds(&mut tap.events);
    assert_eq!(
        caught_up.first(),
        Some(&WireKind::BookSnapshot(SnapshotStart {
            symbol: SymbolId(0),
            reason: SnapshotReason::CatchUp,
        }))
    );
    // The bridge's replica diverged: it asks for the book again over its intent ring.
    let request = OrderRequest::Resnapshot {
        symbol: SymbolId(0),
    };
    tap.intents.try_push(OrderMessage::new(0, request)).unwrap();
    bus.drain_intents(&sources[..]);
    let again = kinds(&mut tap.events);
    assert_eq!(again.len(), caught_up.len() + 1, "snapshot and BookLive");
    assert_eq!(bus.lane_counters(1).unwrap().resnapshots_requested, 1);
    // Only the strategy is a strategy.
    let stats = bus.strategy_stats();
    assert_eq!(stats.len(), 1);
    assert_eq!(stats[0].name, "s");
}

/// Every order update that reaches a strategy's ring is copied to the tap's order ring with
/// the strategy's index, in the order the strategy gets them; a tap sees its names.
#[test]
fn a_tap_gets_a_copy_of_every_order_update_a_strategy_gets() {
    use kspin_api::{ClientOrderId, OrderUpdate};
    let symbols = [SymbolInfo::new(0, "X/Y", 1, 0, 10)];
    let mut bus = Bus::new(&symbols);
    let _a = bus
        .add_strategy("a", None, Box::new(Idle), 64, IdlePolicy::Spin)
        .unwrap();
    let _b = bus
        .add_strategy("b", None, Box::new(Idle), 64, IdlePolicy::Spin)
        .unwrap();
    let mut tap = bus.add_tap("nats", 64).unwrap();
    assert_eq!(tap.strategies, ["a", "b"]);
    let (id, s) = (ClientOrderId(7), SymbolId(0));
    let updates = [
        (1, OrderUpdate::accepted(id, s)),
        (1, OrderUpdate::filled(id, s, Price(5), Qty(1), Qty(2))),
        (0, OrderUpdate::cancelled(ClientOrderId(3), s, Qty(4))),
    ];
    for (strategy, u) in updates {
        assert!(bus.publish_order_update(strategy, u));
    }
    let mut copied = Vec::new();
    while let Some(o) = tap.orders.try_pop() {
        copied.push((usize::from(o.strategy), o.update));
    }
    assert_eq!(copied, updates);
    assert_eq!(bus.order_tap_drops(), 0);
    // The tap itself never gets order updates on its event ring.
    assert!(kinds(&mut tap.events).is_empty());
}
