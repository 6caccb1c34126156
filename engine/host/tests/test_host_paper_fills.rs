//! The README's "Testing it" example, kept compiling and true: a strategy that buys at market on
//! the first live book, in the test harness with its paper fills and scripted clock.

use kspin_api::{
    Context, Event, EventKind, OrderIntent, Price, Qty, Side, Strategy, StrategySummary, SymbolId,
    SymbolInfo,
};
use kspin_host::testing::TestHost;

/// Buys `qty` at market once, on the first live book; remembers when (its clock).
struct BuyOnce {
    qty: Qty,
    done: bool,
    at_ns: u64,
}

impl Strategy for BuyOnce {
    fn on_event(&mut self, event: &Event, ctx: &mut dyn Context) {
        if let (EventKind::BookLive(symbol), false) = (event.kind, self.done) {
            self.done = ctx
                .submit(OrderIntent::market(symbol, Side::Buy, self.qty))
                .is_ok();
            self.at_ns = ctx.now_ns();
        }
    }
    fn summary(&self) -> StrategySummary {
        StrategySummary::new()
    }
}

#[test]
fn paper_fills_come_back_as_events_at_the_scripted_time() {
    let btc = SymbolId(0);
    let mut host = TestHost::new(vec![SymbolInfo::new(0, "BTC/USD", 1, 8, 10)]);
    let mut strategy = BuyOnce {
        qty: Qty(100_000_000), // 1.0
        done: false,
        at_ns: 0,
    };
    host.start(&mut strategy);
    host.set_now(1_767_225_600_000_000_000); // 2026-01-01T00:00:00Z: now_ns() and the book's time
    host.book_snapshot(
        &mut strategy,
        btc,
        &[(1000, 500_000_000)],
        &[(1001, 20_000_000), (1002, 500_000_000)],
    );
    // Filled at once against the engine's book: 0.2 at 100.1, 0.8 at 100.2.
    let fills: Vec<_> = host
        .events()
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::Order(update) => update.fill(),
            _ => None,
        })
        .collect();
    assert_eq!(
        fills,
        [
            (Price(1001), Qty(20_000_000), Qty(80_000_000)),
            (Price(1002), Qty(80_000_000), Qty(0)),
        ]
    );
    assert_eq!(strategy.at_ns, 1_767_225_600_000_000_000);
    assert_eq!(
        host.bus().paper_trader(0).and_then(|t| t.position(0)),
        Some(100_000_000)
    );
}
