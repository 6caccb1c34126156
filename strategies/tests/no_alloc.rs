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
}
