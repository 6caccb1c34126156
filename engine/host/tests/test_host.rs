//! The test harness (`kspin_host::testing::TestHost`) as the engine it stands for: paper fills
//! answered by the bus's paper model against the engine's book (resting orders included), the
//! paper model switched off for tests that play the venue, link drops and precision changes as
//! the feed and bus report them, exact tickers, and every stamp read from the scripted clock.

use std::time::Duration;

use kspin_api::wire::{SnapshotReason, WireKind};
use kspin_api::{
    BookStale, BookView, ClientOrderId, ConnectionStatus, Context, Event, EventKind, Link,
    LinkState, OrderIntent, OrderRequest, OrderUpdate, Price, Qty, Side, StaleReason, Strategy,
    StrategySummary, SymbolId, SymbolInfo, SystemStatus, Ticker, TimerFired, TimerId,
};
use kspin_host::testing::TestHost;

const BTC: SymbolId = SymbolId(0);
const ETH: SymbolId = SymbolId(1);
const ONE: i64 = 100_000_000;

fn symbols() -> Vec<SymbolInfo> {
    vec![
        SymbolInfo::new(0, "BTC/USD", 1, 8, 10),
        SymbolInfo::new(1, "ETH/USD", 2, 8, 10),
    ]
}

/// Records every event; submits `on_live` on the first `BookLive`, and cancels what it
/// submitted on each trade when `cancel_on_trade`.
#[derive(Default)]
struct Trader {
    seen: Vec<EventKind>,
    on_live: Vec<OrderIntent>,
    ids: Vec<ClientOrderId>,
    cancel_on_trade: bool,
}

impl Strategy for Trader {
    fn on_event(&mut self, event: &Event, ctx: &mut dyn Context) {
        self.seen.push(event.kind);
        match event.kind {
            EventKind::BookLive(_) => {
                for intent in core::mem::take(&mut self.on_live) {
                    self.ids.push(ctx.submit(intent).expect("room in the ring"));
                }
            }
            EventKind::Trade(t) if self.cancel_on_trade => {
                for &id in &self.ids {
                    ctx.cancel(t.symbol, id).expect("room in the ring");
                }
            }
            _ => {}
        }
    }

    fn summary(&self) -> StrategySummary {
        StrategySummary::new()
    }
}

fn order_updates(host: &TestHost) -> Vec<OrderUpdate> {
    host.events()
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::Order(u) => Some(u),
            _ => None,
        })
        .collect()
}

#[test]
fn a_resting_paper_order_fills_on_a_later_book_state_and_is_cancelled() {
    let mut host = TestHost::new(symbols());
    let mut s = Trader {
        on_live: vec![OrderIntent::limit(BTC, Side::Buy, Price(1001), Qty(5))],
        cancel_on_trade: true,
        ..Trader::default()
    };
    host.book_snapshot(&mut s, BTC, &[(1000, 10)], &[(1002, 10)]);
    let id = host.order_id(1);
    assert_eq!(s.ids, [id]);
    assert_eq!(order_updates(&host), [OrderUpdate::accepted(id, BTC)]);
    // An ask at the order's limit: the engine's book now crosses it by 3.
    host.book_update(&mut s, BTC, &[], &[(1001, 3)]);
    host.trade(&mut s, BTC, Side::Sell, 1000, 1, 1);
    assert_eq!(
        order_updates(&host),
        [
            OrderUpdate::accepted(id, BTC),
            OrderUpdate::filled(id, BTC, Price(1001), Qty(3), Qty(2)),
            OrderUpdate::cancelled(id, BTC, Qty(2)),
        ]
    );
    // Each answer comes right after the event that caused it.
    let order = |k: &EventKind| match k {
        EventKind::BookChanged(_) => "book",
        EventKind::BookLive(_) => "live",
        EventKind::Order(_) => "order",
        EventKind::Trade(_) => "trade",
        _ => "other",
    };
    let kinds: Vec<&str> = s.seen.iter().map(order).collect();
    assert_eq!(
        kinds,
        ["book", "live", "order", "book", "order", "trade", "order"]
    );
    let paper = host.bus().paper_counters(0).expect("one strategy");
    assert_eq!(
        (paper.intents, paper.fills, paper.cancels, paper.rejects),
        (2, 1, 1, 0)
    );
    assert_eq!(host.orders().len(), 2);
}

#[test]
fn with_paper_fills_off_orders_are_taken_and_the_test_answers_them() {
    let mut host = TestHost::new(symbols());
    host.set_paper_fills(false);
    let mut s = Trader {
        on_live: vec![OrderIntent::market(BTC, Side::Buy, Qty(ONE))],
        ..Trader::default()
    };
    host.book_snapshot(&mut s, BTC, &[(1000, ONE)], &[(1001, ONE)]);
    let id = host.order_id(1);
    assert_eq!(
        host.intents(),
        [(id, OrderIntent::market(BTC, Side::Buy, Qty(ONE)))]
    );
    assert!(order_updates(&host).is_empty());
    let fill = OrderUpdate::filled(id, BTC, Price(1005), Qty(ONE), Qty(0));
    host.order_update(&mut s, fill);
    assert_eq!(order_updates(&host), [fill]);
    assert_eq!(host.bus().paper_counters(0).map(|p| p.intents), Some(0));
}

#[test]
fn a_batch_enters_the_ring_whole_and_amend_and_cancel_all_reach_the_engine() {
    let mut host = TestHost::new(symbols());
    host.set_paper_fills(false);
    let mut s = Trader::default();
    host.book_snapshot(&mut s, BTC, &[(1000, ONE)], &[(1002, ONE)]);
    let bid = OrderIntent::post_only(BTC, Side::Buy, Price(999), Qty(ONE));
    let ask = OrderIntent::post_only(BTC, Side::Sell, Price(1003), Qty(ONE));
    let mut ids = [ClientOrderId(0); 2];
    host.submit_batch(&[bid, ask], &mut ids).expect("room");
    assert_eq!(ids, [host.order_id(1), host.order_id(2)]);
    // Refused whole: one order, several symbols, or too short an id slice.
    let eth = OrderIntent::limit(ETH, Side::Buy, Price(5), Qty(1));
    for (intents, n) in [(&[bid][..], 2), (&[bid, eth][..], 2), (&[bid, ask][..], 1)] {
        let mut out = [ClientOrderId(0); 2];
        assert_eq!(
            host.submit_batch(intents, &mut out[..n]),
            Err(kspin_api::SubmitError::InvalidBatch)
        );
    }
    host.amend(BTC, ids[0], Price(0), Qty(2 * ONE))
        .expect("room");
    host.cancel_all(Some(BTC)).expect("room");
    let taken: Vec<(u8, OrderRequest)> = host
        .orders()
        .iter()
        .map(|m| (m.batch_rest, m.request))
        .collect();
    assert_eq!(
        taken,
        [
            (
                1,
                OrderRequest::New {
                    client_id: ids[0],
                    intent: bid
                }
            ),
            (
                0,
                OrderRequest::New {
                    client_id: ids[1],
                    intent: ask
                }
            ),
            (
                0,
                OrderRequest::Amend {
                    client_id: ids[0],
                    symbol: BTC,
                    price: Price(0),
                    qty: Qty(2 * ONE)
                }
            ),
            (0, OrderRequest::CancelAll { symbol: Some(BTC) }),
        ]
    );
}

#[test]
fn a_dropped_link_makes_every_live_book_stale_until_its_next_snapshot() {
    let mut host = TestHost::new(symbols());
    let mut s = Trader::default();
    host.book_snapshot(&mut s, BTC, &[(1000, ONE)], &[(1001, ONE)]);
    host.book_snapshot(&mut s, ETH, &[(20000, ONE)], &[(20001, ONE)]);
    let before = s.seen.len();
    host.connection(&mut s, LinkState::Disconnected, SystemStatus::Online);
    let stale = |symbol| {
        EventKind::BookStale(BookStale {
            symbol,
            reason: StaleReason::Disconnected,
        })
    };
    assert_eq!(
        s.seen[before..],
        [
            stale(BTC),
            stale(ETH),
            EventKind::Connection(ConnectionStatus {
                link: Link::Public,
                state: LinkState::Disconnected,
                system: SystemStatus::Unknown,
            }),
        ]
    );
    assert!(!host.replica(BTC).is_live());
    // Not live: the engine drops updates until a snapshot.
    let before = s.seen.len();
    host.book_update(&mut s, BTC, &[(999, ONE)], &[]);
    assert_eq!(s.seen.len(), before);
    host.connection(&mut s, LinkState::Connected, SystemStatus::Unknown);
    host.book_snapshot(&mut s, BTC, &[(990, ONE)], &[(991, ONE)]);
    assert!(matches!(
        s.seen[before..],
        [
            EventKind::Connection(ConnectionStatus {
                state: LinkState::Connected,
                ..
            }),
            EventKind::BookChanged(_),
            EventKind::BookLive(BTC),
        ]
    ));
    assert!(host.wire().iter().any(|w| matches!(
        w.kind(),
        WireKind::BookSnapshot(m) if m.symbol == BTC && m.reason == SnapshotReason::Resync
    )));
    assert_eq!(host.replica(BTC).best_bid(), Some((Price(990), Qty(ONE))));
    assert!(host.replica(BTC).is_live());
    assert!(!host.replica(ETH).is_live());
}

#[test]
fn a_precision_change_freezes_the_symbol_until_its_next_snapshot() {
    let mut host = TestHost::new(symbols());
    let mut s = Trader::default();
    host.book_snapshot(&mut s, BTC, &[(1000, ONE)], &[(1001, ONE)]);
    let before = s.seen.len();
    host.book_stale(&mut s, BTC, StaleReason::PrecisionChanged);
    host.trade(&mut s, BTC, Side::Buy, 1000, ONE, 1); // frozen: not forwarded
    host.trade(&mut s, ETH, Side::Buy, 20000, ONE, 2);
    assert!(matches!(
        s.seen[before..],
        [
            EventKind::BookStale(BookStale {
                symbol: BTC,
                reason: StaleReason::PrecisionChanged,
            }),
            EventKind::Trade(t),
        ] if t.symbol == ETH
    ));
    assert_eq!(host.bus().counters().precision_changes, 1);
    // The next snapshot restores the precision first: the book is live again.
    host.book_snapshot(&mut s, BTC, &[(1000, ONE)], &[(1002, ONE)]);
    host.trade(&mut s, BTC, Side::Buy, 1001, ONE, 3);
    assert!(matches!(
        s.seen[before + 2..],
        [
            EventKind::BookChanged(_),
            EventKind::BookLive(BTC),
            EventKind::Trade(t),
        ] if t.price == Price(1001)
    ));
}

#[test]
fn updates_before_a_snapshot_are_dropped_and_mismatches_resync() {
    let mut host = TestHost::new(symbols());
    let mut s = Trader::default();
    host.book_update(&mut s, BTC, &[(1000, ONE)], &[]);
    host.book_stale(&mut s, BTC, StaleReason::ChecksumMismatch); // not live: nothing to say
    assert!(s.seen.is_empty());
    let feed = host.pipeline().feed().counters();
    assert_eq!((feed.dropped_not_live, feed.checksum_mismatch), (2, 0));
    host.book_snapshot(&mut s, BTC, &[(1000, ONE)], &[(1001, ONE)]);
    host.book_stale(&mut s, BTC, StaleReason::ChecksumMismatch);
    assert_eq!(host.pipeline().feed().counters().checksum_mismatch, 1);
    assert_eq!(
        s.seen.last(),
        Some(&EventKind::BookStale(BookStale {
            symbol: BTC,
            reason: StaleReason::ChecksumMismatch,
        }))
    );
    assert_eq!(host.faults(), 0);
}

#[test]
fn tickers_arrive_exactly() {
    let mut host = TestHost::new(symbols());
    let mut s = Trader::default();
    let ticker = Ticker {
        symbol: ETH,
        bid: Price(199_999),
        ask: Price(200_001),
        last: Price(200_000),
        volume: Qty(12_345 * ONE + 6),
    };
    host.ticker(&mut s, ticker);
    assert_eq!(s.seen, [EventKind::Ticker(ticker)]);
}

#[test]
fn every_stamp_reads_the_scripted_clock() {
    let mut host = TestHost::new(symbols());
    let mut s = Trader::default();
    host.set_now(1_234);
    assert_eq!(host.now_tsc(), 1_234);
    host.trade(&mut s, BTC, Side::Buy, 1000, ONE, 1);
    let event = host.events()[0];
    assert_eq!((event.recv_tsc, event.publish_tsc), (1_234, 1_234));
    host.set_timer(TimerId(3), Duration::from_micros(1))
        .expect("a free timer");
    host.advance(&mut s, Duration::from_micros(5));
    let timer = host.events()[1];
    assert_eq!(
        timer.kind,
        EventKind::Timer(TimerFired {
            id: TimerId(3),
            due_tsc: 2_234,
        })
    );
    assert_eq!((timer.recv_tsc, timer.publish_tsc), (2_234, 0));
    assert_eq!(host.now_tsc(), 6_234);
    assert_eq!(host.host_counters().timers_fired, 1);
    // A request the test makes itself goes through the ring too.
    let id = host
        .submit(OrderIntent::limit(BTC, Side::Buy, Price(1), Qty(1)))
        .expect("room");
    assert_eq!(host.orders()[0].submit_tsc, 6_234);
    assert_eq!(
        host.orders()[0].request,
        OrderRequest::New {
            client_id: id,
            intent: OrderIntent::limit(BTC, Side::Buy, Price(1), Qty(1)),
        }
    );
}

/// Time on every event: the book, ticker and trade carry their exchange time (the harness
/// writes the scripted clock into the frames), stale notices and fills the market clock (the
/// latest exchange time seen), timers their due time; `Context::now_ns` and `tsc_to_ns` read the
/// same scripted clock.
#[test]
fn events_carry_exchange_time_and_the_context_converts_stamps() {
    #[derive(Default)]
    struct Clocked {
        seen: Vec<(u64, EventKind)>,
        now_ns: Vec<u64>,
        recv_ns: Vec<u64>,
    }
    impl Strategy for Clocked {
        fn on_event(&mut self, event: &Event, ctx: &mut dyn Context) {
            self.seen.push((event.time_ns, event.kind));
            self.now_ns.push(ctx.now_ns());
            self.recv_ns.push(ctx.tsc_to_ns(event.recv_tsc));
            if let EventKind::BookLive(s) = event.kind {
                let _ = ctx.submit(OrderIntent::market(s, Side::Buy, Qty(ONE / 100)));
                let _ = ctx.set_timer(TimerId(1), Duration::from_millis(500));
            }
        }
        fn summary(&self) -> StrategySummary {
            StrategySummary::new()
        }
    }
    const T0: u64 = 1_764_000_000_123_456_000; // 2025-11-24, with µs like Kraken's
    let mut host = TestHost::new(symbols());
    let mut s = Clocked::default();
    host.set_now(T0);
    host.book_snapshot(&mut s, BTC, &[(900_000, ONE)], &[(900_010, ONE)]);
    host.set_now(T0 + 7_000);
    host.trade(&mut s, BTC, Side::Sell, 900_000, ONE / 10, T0 + 5_000);
    host.advance(&mut s, Duration::from_secs(1));
    let time_of = |pred: &dyn Fn(&EventKind) -> bool| -> Vec<u64> {
        s.seen
            .iter()
            .filter(|(_, k)| pred(k))
            .map(|(t, _)| *t)
            .collect()
    };
    assert_eq!(time_of(&|k| matches!(k, EventKind::BookChanged(_))), [T0]);
    assert_eq!(time_of(&|k| matches!(k, EventKind::BookLive(_))), [T0]);
    // The paper fill is answered at the market clock of the book that priced it.
    assert_eq!(
        time_of(&|k| matches!(k, EventKind::Order(u) if u.fill().is_some())),
        [T0]
    );
    assert_eq!(time_of(&|k| matches!(k, EventKind::Trade(_))), [T0 + 5_000]);
    // The timer set at T0 for 500 ms fires at its due time.
    assert_eq!(
        time_of(&|k| matches!(k, EventKind::Timer(_))),
        [T0 + 500_000_000]
    );
    // The scripted clock is the host's clock: now_ns and converted stamps agree with it.
    assert_eq!(s.now_ns[0], T0);
    assert_eq!(s.recv_ns[0], s.now_ns[0]);
    assert!(s.now_ns.windows(2).all(|w| w[0] <= w[1]));
}
