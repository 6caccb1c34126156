//! End to end through a strategy thread: a strategy submits orders on its first live book, the
//! engine side answers them from the paper model against the engine's own book, and the answers
//! come back as `Order` events, exactly.

mod bus_common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bus_common::*;
use kspin_api::{OrderIntent, OrderUpdate, Qty, Side, SymbolId};
use kspin_host::{BookSource, Bus};
use kspin_ring::IdlePolicy;

#[test]
fn orders_are_answered_from_the_engine_book() {
    let symbols = symbol_table(1);
    let mut gen = MarketGen::new(1, 3);
    let frames = gen.frames(0); // one snapshot
    let mut feed = passive_feed(1);
    let mut bus = Bus::new(&symbols);

    let (mut rec, out) = Recorder::new(64);
    let s = SymbolId(0);
    // Filled in below from the engine's book once it exists.
    let mut books = vec![Vec::new()];
    {
        // Learn the snapshot's levels by running it through a throwaway feed.
        let mut probe_bus = Bus::new(&symbols);
        let mut probe = passive_feed(1);
        drive(&mut probe, &mut probe_bus, &frames, &mut books);
        let (book, _) = probe.current_book(0).unwrap();
        let asks: Vec<_> = book.asks().iter().collect();
        let bids: Vec<_> = book.bids().iter().collect();
        let two_asks = Qty(asks[0].1 .0 + asks[1].1 .0 / 2);
        rec.on_first_book = vec![
            // Takes all of the best ask and half of the second.
            OrderIntent::market(s, Side::Buy, two_asks),
            // Rests below the best bid; cancelled by the strategy right after.
            OrderIntent::limit(s, Side::Buy, kspin_api::Price(bids[0].0 .0 - 100), Qty(5)),
            // Rejected: post-only at the best ask would take.
            kspin_api::OrderIntent {
                order_type: kspin_api::OrderType::PostOnly,
                ..OrderIntent::limit(s, Side::Buy, asks[0].0, Qty(1))
            },
        ];
        rec.cancel_second = true;
    }
    let handle = bus
        .add_strategy(
            "orders",
            Some(0),
            Box::new(rec),
            1024,
            IdlePolicy::SHARED_CORE,
        )
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let thread = handle.spawn(Arc::clone(&stop)).unwrap();
    let mut states = vec![Vec::new()];
    drive(&mut feed, &mut bus, &frames, &mut states);
    // The runtime's loop: drain intents until the four requests are answered.
    let mut rounds = 0u64;
    while bus.paper_counters(0).unwrap().intents < 4 || bus.needs_service() {
        bus.drain_intents(&feed);
        bus.service(&feed);
        std::thread::yield_now();
        rounds += 1;
        assert!(rounds < 100_000_000, "the requests never arrived");
    }
    stop.store(true, Ordering::Release);
    let report = thread.join().unwrap();
    let rec = out.lock().unwrap().take().unwrap();

    let (book, _) = feed.current_book(0).unwrap();
    let a0 = book.asks().level(0).unwrap();
    let a1 = book.asks().level(1).unwrap();
    let ids: Vec<_> = rec.orders.iter().map(|o| o.client_id).collect();
    let (m, l, p) = (ids[0], ids[3], ids[4]);
    // Ids are unique per run: strategy 0 numbers (1 << 40) | n.
    assert_eq!(
        [m.0, l.0, p.0],
        [(1 << 40) | 1, (1 << 40) | 2, (1 << 40) | 3]
    );
    let half = a1.1 .0 / 2;
    // Answered in ring order: market, limit, post-only, then the cancel of the limit.
    assert_eq!(
        rec.orders,
        vec![
            OrderUpdate::accepted(m, s),
            OrderUpdate::filled(m, s, a0.0, a0.1, Qty(half)),
            OrderUpdate::filled(m, s, a1.0, Qty(half), Qty(0)),
            OrderUpdate::accepted(l, s),
            OrderUpdate::rejected(p, s, kspin_api::RejectReason::WouldTake),
            OrderUpdate::cancelled(l, s, Qty(5)),
        ]
    );
    let paper = bus.paper_counters(0).unwrap();
    assert_eq!((paper.intents, paper.fills, paper.rejects), (4, 2, 1));
    assert_eq!(report.counters.intents_refused, 0);
    assert!(rec.orders[2].is_final() && !rec.orders[3].is_final());
}
