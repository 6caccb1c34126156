//! End-to-end tests of the contract as a strategy sees it, through the test harness (the
//! engine's pipeline, bus and strategy host on one thread, with a scripted clock): wire
//! assembly into replica books, stale/live transitions, divergence detection and recovery,
//! timers, the intent ring and log stamping.

use kspin_api::replica::{Assembled, AssemblyFault, ReplicaBook};
use kspin_api::wire::{SnapshotReason, WireKind};
use kspin_api::{
    BookSide, BookView, ClientOrderId, Context, Event, EventKind, LinkState, OrderIntent,
    OrderRequest, OrderUpdate, Price, Qty, Side, StaleReason, Strategy, StrategySummary,
    SubmitError, SymbolId, SymbolInfo, SystemStatus, TimerId,
};
use kspin_host::testing::TestHost;
use std::time::Duration;

const BTC: SymbolId = SymbolId(0);
const ETH: SymbolId = SymbolId(1);

fn symbols() -> Vec<SymbolInfo> {
    vec![
        SymbolInfo::new(0, "BTC/USD", 1, 8, 10),
        SymbolInfo::new(1, "ETH/USD", 2, 8, 3),
    ]
}

/// Records a line per event and checks that the book view matches every `BookChanged`.
#[derive(Default)]
struct Probe {
    seen: Vec<String>,
    submit_on_trade: bool,
    timer_every: Option<Duration>,
}

impl Strategy for Probe {
    fn on_start(&mut self, ctx: &mut dyn Context) {
        if let Some(every) = self.timer_every {
            ctx.set_timer(TimerId(1), every).unwrap();
        }
    }

    fn on_event(&mut self, event: &Event, ctx: &mut dyn Context) {
        let line = match event.kind {
            EventKind::BookChanged(c) => {
                let book = ctx.book(c.symbol).unwrap();
                assert_eq!(book.best_bid(), c.best_bid(), "view lags the event");
                assert_eq!(book.best_ask(), c.best_ask(), "view lags the event");
                format!(
                    "book {} n={} snap={} live={} bid={:?} ask={:?} len={}/{}",
                    c.symbol.0,
                    c.levels_changed,
                    c.snapshot,
                    book.is_live(),
                    c.best_bid().map(|(p, q)| (p.0, q.0)),
                    c.best_ask().map(|(p, q)| (p.0, q.0)),
                    book.len(BookSide::Bid),
                    book.len(BookSide::Ask),
                )
            }
            EventKind::BookStale(s) => format!(
                "stale {} {:?} live={}",
                s.symbol.0,
                s.reason,
                ctx.book(s.symbol).unwrap().is_live()
            ),
            EventKind::BookLive(s) => {
                format!("live {} live={}", s.0, ctx.book(s).unwrap().is_live())
            }
            EventKind::Trade(t) => {
                if self.submit_on_trade {
                    let r = ctx.submit(OrderIntent::limit(t.symbol, Side::Buy, t.price, t.qty));
                    format!("trade {} -> {:?}", t.trade_id, r)
                } else {
                    format!("trade {} {} {}", t.trade_id, t.price.0, t.qty.0)
                }
            }
            EventKind::Timer(t) => {
                if let Some(every) = self.timer_every {
                    ctx.set_timer(t.id, every).unwrap();
                }
                format!("timer {} due={} recv={}", t.id.0, t.due_tsc, event.recv_tsc)
            }
            EventKind::Connection(c) => format!("conn {:?} {:?}", c.state, c.system),
            EventKind::Order(u) => format!("order {} {:?}", u.client_id.0, u.status),
            EventKind::Ticker(t) => format!("ticker {}", t.last.0),
        };
        self.seen.push(line);
    }

    fn summary(&self) -> StrategySummary {
        StrategySummary::new().count("events", self.seen.len() as u64)
    }
}

#[test]
fn book_messages_become_level_batches_then_one_consistent_book_change() {
    let mut host = TestHost::new(symbols());
    let mut s = Probe::default();
    host.book_snapshot(
        &mut s,
        BTC,
        &[(1000, 5), (999, 6), (998, 7)],
        &[(1002, 1), (1001, 2)],
    );
    // Marker, 3 batches (2 + 2 + 1 levels), BookDone, BookLive.
    let kinds: Vec<&str> = host
        .wire()
        .iter()
        .map(|w| match w.kind() {
            WireKind::BookSnapshot(m) => {
                assert_eq!(m.reason, SnapshotReason::Initial);
                "snap"
            }
            WireKind::BookLevels(_) => "levels",
            WireKind::BookDone(_) => "done",
            WireKind::BookLive(_) => "live",
            _ => "other",
        })
        .collect();
    assert_eq!(
        kinds,
        ["snap", "levels", "levels", "levels", "done", "live"]
    );

    host.book_update(&mut s, BTC, &[(1000, 0), (1000, 4)], &[(1001, 0)]);
    host.book_update(&mut s, BTC, &[], &[(1000, 9)]);
    assert_eq!(
        s.seen,
        [
            "book 0 n=5 snap=true live=false bid=Some((1000, 5)) ask=Some((1001, 2)) len=3/2",
            "live 0 live=true",
            "book 0 n=3 snap=false live=true bid=Some((1000, 4)) ask=Some((1002, 1)) len=3/1",
            "book 0 n=1 snap=false live=true bid=Some((1000, 4)) ask=Some((1000, 9)) len=3/2",
        ]
    );
    assert_eq!(host.faults(), 0);
}

#[test]
fn replica_truncates_to_depth_like_the_engine() {
    let mut host = TestHost::new(symbols());
    let mut s = Probe::default();
    host.book_snapshot(&mut s, ETH, &[(100, 1), (99, 1), (98, 1)], &[(101, 1)]);
    // A fourth, better bid pushes the worst one out (depth 3).
    host.book_update(&mut s, ETH, &[(1005, 2)], &[]);
    let replica = host.replica(ETH);
    let bids: Vec<i64> = (0..replica.len(BookSide::Bid))
        .filter_map(|rank| replica.level(BookSide::Bid, rank))
        .map(|(price, _)| price.0)
        .collect();
    assert_eq!(bids, [1005, 100, 99]);
    assert_eq!(host.faults(), 0);
}

#[test]
fn stale_then_resync_snapshot_then_live() {
    let mut host = TestHost::new(symbols());
    let mut s = Probe::default();
    host.book_snapshot(&mut s, BTC, &[(1000, 5)], &[(1001, 2)]);
    host.book_stale(&mut s, BTC, StaleReason::ChecksumMismatch);
    host.book_snapshot(&mut s, BTC, &[(990, 1)], &[(995, 1)]);
    assert_eq!(
        &s.seen[2..],
        [
            "stale 0 ChecksumMismatch live=false",
            "book 0 n=2 snap=true live=false bid=Some((990, 1)) ask=Some((995, 1)) len=1/1",
            "live 0 live=true",
        ]
    );
}

#[test]
fn a_diverged_replica_goes_stale_and_the_engine_hands_the_book_again() {
    let mut host = TestHost::new(symbols());
    let mut s = Probe::default();
    host.book_snapshot(&mut s, BTC, &[(1000, 5)], &[(1001, 2)]);
    // Simulate a host bug: the replica gains a level the engine never had.
    host.replica_mut(BTC)
        .apply_level(BookSide::Bid, Price(10005), Qty(1));
    let before = s.seen.len();
    host.book_update(&mut s, BTC, &[(999, 1)], &[]);
    // The host reports it and asks the engine for the book again (a `Resnapshot` request on the
    // intent ring); the engine hands its book as a catch-up snapshot, then `BookLive`. (The
    // engine never said the book was stale, so the replica is live again from the snapshot.)
    assert_eq!(
        &s.seen[before..],
        [
            "stale 0 ReplicaDiverged live=false",
            "book 0 n=3 snap=true live=true bid=Some((1000, 5)) ask=Some((1001, 2)) len=2/1",
            "live 0 live=true",
        ]
    );
    assert_eq!(
        host.orders().last().map(|m| m.request),
        Some(OrderRequest::Resnapshot { symbol: BTC })
    );
    assert!(host.wire().iter().any(|w| matches!(
        w.kind(),
        WireKind::BookSnapshot(m) if m.reason == SnapshotReason::CatchUp
    )));
    assert_eq!(host.faults(), 1);

    // Diverging again within a second: the request waits (no snapshot storm) and the updates
    // to the diverged replica are absorbed.
    host.replica_mut(BTC)
        .apply_level(BookSide::Ask, Price(1), Qty(1));
    host.book_update(&mut s, BTC, &[(998, 1)], &[]);
    assert_eq!(s.seen.last().unwrap(), "stale 0 ReplicaDiverged live=false");
    let before = s.seen.len();
    host.book_update(&mut s, BTC, &[(997, 1)], &[]);
    assert_eq!(
        s.seen.len(),
        before,
        "updates to a diverged replica are absorbed"
    );
    // A second later (scripted time) the request goes out and the book is live again.
    host.advance(&mut s, Duration::from_secs(1));
    assert_eq!(
        &s.seen[before..],
        [
            "book 0 n=5 snap=true live=true bid=Some((1000, 5)) ask=Some((1001, 2)) len=4/1",
            "live 0 live=true",
        ]
    );
    assert_eq!(host.host_counters().resnapshots_requested, 2);
    assert_eq!(host.faults(), 2);
}

#[test]
fn unknown_symbols_and_level_count_mismatches_are_faults() {
    let mut host = TestHost::new(symbols());
    let mut s = Probe::default();
    let out = host.feed(&mut s, WireKind::BookLive(SymbolId(7)));
    assert_eq!(
        out,
        Assembled::Rejected(AssemblyFault::UnknownSymbol(SymbolId(7)))
    );
    host.book_snapshot(&mut s, BTC, &[(1000, 5)], &[(1001, 2)]);
    let done = kspin_api::wire::BookDone {
        symbol: BTC,
        levels_changed: 3,
        snapshot: false,
        time_ns: 0,
        top: kspin_api::wire::top_fingerprint(Price(1000), Qty(5), Price(1001), Qty(2)),
    };
    let out = host.feed(&mut s, WireKind::BookDone(done));
    assert!(matches!(
        out,
        Assembled::Diverged {
            fault: AssemblyFault::LevelCount {
                announced: 3,
                received: 0,
                ..
            },
            ..
        }
    ));
    assert_eq!(host.faults(), 2);
}

#[test]
fn timers_fire_in_due_order_and_can_rearm() {
    let mut host = TestHost::new(symbols());
    let mut s = Probe {
        timer_every: Some(Duration::from_millis(400)),
        ..Probe::default()
    };
    host.start(&mut s);
    host.advance(&mut s, Duration::from_millis(1000));
    assert_eq!(
        s.seen,
        [
            "timer 1 due=400000000 recv=400000000",
            "timer 1 due=800000000 recv=800000000",
        ]
    );
    assert_eq!(host.now_tsc(), 1_000_000_000);
}

#[test]
fn too_many_timers_are_refused() {
    let mut host = TestHost::new(symbols());
    for i in 0..kspin_api::MAX_TIMERS as u16 {
        host.set_timer(TimerId(i), Duration::from_secs(1)).unwrap();
    }
    // Re-setting a pending id is fine; a new one is not.
    assert_eq!(host.set_timer(TimerId(0), Duration::from_secs(2)), Ok(()));
    assert_eq!(
        host.set_timer(TimerId(99), Duration::from_secs(1)),
        Err(kspin_api::TimerError::TooMany)
    );
    host.cancel_timer(TimerId(3));
    assert_eq!(host.set_timer(TimerId(99), Duration::from_secs(1)), Ok(()));
}

#[test]
fn intents_carry_ids_and_trigger_tsc_and_a_full_ring_is_reported() {
    let mut host = TestHost::new(symbols());
    let mut s = Probe {
        submit_on_trade: true,
        ..Probe::default()
    };
    // The engine stops taking from the intent ring with one slot left.
    host.set_intent_ring_free(1);
    host.set_now(500);
    host.trade(&mut s, BTC, Side::Sell, 1000, 3, 1);
    host.set_now(700);
    host.trade(&mut s, BTC, Side::Sell, 1000, 3, 2);
    // Ids are the host's numbering: strategy 0's first order is `1 << 40 | 1`.
    let first = host.order_id(1);
    assert_eq!(first, ClientOrderId((1 << 40) | 1));
    assert_eq!(
        s.seen,
        [
            format!("trade 1 -> Ok({first:?})"),
            "trade 2 -> Err(RingFull)".to_owned()
        ]
    );
    assert!(host.orders().is_empty(), "still in the held ring");
    // Released, the engine takes what waits.
    host.set_intent_ring_free(usize::MAX);
    let orders = host.orders();
    assert_eq!(orders.len(), 1);
    assert_eq!((orders[0].trigger_tsc, orders[0].submit_tsc), (500, 500));
    assert_eq!(
        host.intents(),
        [(
            first,
            OrderIntent::limit(BTC, Side::Buy, Price(1000), Qty(3))
        )]
    );
    // Invalid intents never reach the ring.
    assert_eq!(
        host.submit(OrderIntent::market(BTC, Side::Buy, Qty(0))),
        Err(SubmitError::InvalidQty)
    );
    assert_eq!(host.orders().len(), 1);
}

#[test]
fn other_events_pass_through_in_order() {
    let mut host = TestHost::new(symbols());
    let mut s = Probe::default();
    host.connection(&mut s, LinkState::Connected, SystemStatus::Online);
    host.trade(&mut s, ETH, Side::Buy, 250000, 10, 5);
    host.order_update(&mut s, OrderUpdate::accepted(ClientOrderId(4), ETH));
    assert_eq!(
        s.seen,
        [
            "conn Connected Online",
            "trade 1 250000 10",
            "order 4 Accepted",
        ]
    );
    assert_eq!(host.events().len(), 3);
    assert_eq!(s.summary().to_string(), "events=3");
}
