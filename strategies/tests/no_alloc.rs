//! Proves the built-ins' per-event invariant: after construction and a warm-up, feeding a long
//! mixed event stream through the test harness allocates nothing — the strategy, and with it
//! everything the harness runs on the measuring thread: frame writing, the engine's pipeline,
//! bus and paper model, and the strategy host. Uses the shared counting allocator, counting on
//! the measuring thread only.

use kspin_api::{
    ClientOrderId, OrderUpdate, Params, Price, Qty, Side, Strategy, SymbolId, SymbolInfo,
};
use kspin_host::testing::TestHost;
use kspin_testkit::{counting, take_allocations};

kspin_testkit::install_counting_allocator!();

const BTC: SymbolId = SymbolId(0);
const ONE: i64 = 100_000_000;

#[test]
fn builtins_do_not_allocate_per_event() {
    let symbols = vec![SymbolInfo::new(0, "BTC/USD", 1, 8, 10)];
    let configs: [(&str, &[(&str, &str)]); 6] = [
        ("spread_monitor", &[("symbol", "BTC/USD")]),
        ("trade_flow", &[("symbol", "BTC/USD"), ("capacity", "64")]),
        ("candles", &[("symbol", "BTC/USD"), ("interval", "1s")]),
        (
            "sma_cross",
            &[("symbol", "BTC/USD"), ("qty", "0.1"), ("interval", "1s")],
        ),
        ("whale_alert", &[("min_notional", "1000")]),
        (
            "quoter",
            &[("symbol", "BTC/USD"), ("qty", "0.1"), ("take_every", "5")],
        ),
    ];
    for (name, pairs) in configs {
        let params = Params::from_pairs(&symbols, pairs).unwrap();
        let mut strategy = kspin_strategies::builtins().build(name, &params).unwrap();
        let s: &mut dyn Strategy = &mut *strategy;
        let mut host = TestHost::new(symbols.clone());
        host.reserve(50_000);
        host.start(s);
        host.book_snapshot(s, BTC, &[(1000, ONE), (999, ONE)], &[(1001, ONE)]);

        take_allocations();
        counting(true);
        for i in 0..2_000i64 {
            let t = i as u64 * 300_000_000;
            let bump = i % 7;
            host.book_update(s, BTC, &[(1000 - bump, ONE + i)], &[(1001 + bump, ONE)]);
            host.trade(s, BTC, Side::Buy, 1000 + (i * 37) % 50, ONE / 4, t);
            host.order_update(
                s,
                OrderUpdate::filled(
                    ClientOrderId(1 + i as u64 / 10),
                    BTC,
                    Price(1000),
                    Qty(1),
                    Qty(0),
                ),
            );
        }
        counting(false);
        let allocated = take_allocations();
        assert_eq!(allocated, 0, "{name} allocated {allocated} times");
        assert!(host.events().len() > 6_000, "{name}");
        if name == "sma_cross" || name == "quoter" {
            // Its orders went through the intent ring and were filled by the paper model.
            let paper = host.bus().paper_counters(0).unwrap();
            assert!(paper.intents > 10 && paper.fills > 10, "{paper:?}");
        }
    }

    // The quoter once more, on a market that moves under its quotes: amends, fills of resting
    // quotes, takes, and a cancel-all on every stale book.
    let pairs = [
        ("symbol", "BTC/USD"),
        ("qty", "0.1"),
        ("take_every", "7"),
        ("requote_bps", "0"),
        ("min_requote_ms", "20"),
    ];
    let params = Params::from_pairs(&symbols, &pairs).unwrap();
    let mut strategy = kspin_strategies::builtins()
        .build("quoter", &params)
        .unwrap();
    let s: &mut dyn Strategy = &mut *strategy;
    let mut host = TestHost::new(symbols.clone());
    host.reserve(50_000);
    host.start(s);
    host.book_snapshot(s, BTC, &[(100_000, ONE)], &[(100_002, ONE)]);
    for i in 1..=200 {
        moving_market(&mut host, s, i); // warm-up: every kind of step once
    }
    take_allocations();
    counting(true);
    for i in 201..=2_200 {
        moving_market(&mut host, s, i);
    }
    counting(false);
    let allocated = take_allocations();
    assert_eq!(allocated, 0, "quoter allocated {allocated} times");
    let summary = s.summary();
    let figure = |name| summary.get(name).map_or(0, |f| f.value);
    for name in ["quotes_placed", "amends", "cancels", "takes", "fills"] {
        assert!(figure(name) > 20, "{name}: {summary}");
    }
    // Resting quotes were filled too (the 20 ms throttle lets the market catch them).
    assert!(figure("fills") > figure("takes"), "{summary}");
}

/// The best bid of step `i`: a triangle wave of 0 to 400 ticks above 100000 (10 bps is 100).
fn top_bid(i: i64) -> i64 {
    let k = i % 80;
    100_000 + 10 * if k < 40 { k } else { 80 - k }
}

/// Step `i`: the one-level book moves from step `i - 1`'s touch to step `i`'s; every 100th
/// step the book goes stale and comes back with a snapshot.
fn moving_market(host: &mut TestHost, s: &mut dyn Strategy, i: i64) {
    host.set_now(i as u64 * 1_000_000);
    let (old, new) = (top_bid(i - 1), top_bid(i));
    host.book_update(
        s,
        BTC,
        &[(old, 0), (new, ONE)],
        &[(old + 2, 0), (new + 2, ONE)],
    );
    if i % 100 == 0 {
        host.book_stale(s, BTC, kspin_api::StaleReason::ChecksumMismatch);
        host.book_snapshot(s, BTC, &[(new, ONE)], &[(new + 2, ONE)]);
    }
}
