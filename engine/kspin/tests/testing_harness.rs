//! A strategy crate that depends only on `kspin` and `kspin-api` tests its strategy through
//! `kspin::testing::TestHost`: the engine's pipeline, bus, paper model and strategy host on the
//! test thread, with a scripted clock.

use kspin::testing::TestHost;
use kspin_api::{
    Context, Event, EventKind, OrderIntent, OrderStatus, Price, Qty, Side, Strategy,
    StrategySummary, SymbolId, SymbolInfo,
};

const BTC: SymbolId = SymbolId(0);

/// Buys one unit at market on every trade.
#[derive(Default)]
struct BuyEveryTrade {
    fills: u64,
}

impl Strategy for BuyEveryTrade {
    fn on_event(&mut self, event: &Event, ctx: &mut dyn Context) {
        match event.kind {
            EventKind::Trade(t) => {
                let _ = ctx.submit(OrderIntent::market(t.symbol, Side::Buy, Qty(1)));
            }
            EventKind::Order(u) if u.status == OrderStatus::Filled => self.fills += 1,
            _ => {}
        }
    }

    fn summary(&self) -> StrategySummary {
        StrategySummary::new().count("fills", self.fills)
    }
}

#[test]
fn a_strategy_crate_tests_through_kspin_testing() {
    let mut host = TestHost::new(vec![SymbolInfo::new(0, "BTC/USD", 1, 8, 10)]);
    let mut s = BuyEveryTrade::default();
    host.start(&mut s);
    host.book_snapshot(&mut s, BTC, &[(1000, 5)], &[(1001, 5)]);
    host.trade(&mut s, BTC, Side::Sell, 1000, 1, 0);
    host.trade(&mut s, BTC, Side::Sell, 1000, 1, 1);
    host.stop(&mut s);
    assert_eq!(s.summary().to_string(), "fills=2");
    assert_eq!(host.intents().len(), 2);
    assert_eq!(host.intents()[0].0, host.order_id(1));
    let fill = host.events().iter().find_map(|e| match e.kind {
        EventKind::Order(u) if u.status == OrderStatus::Filled => Some(u),
        _ => None,
    });
    assert_eq!(fill.map(|u| u.fill_price), Some(Price(1001)));
}
