//! Proves the built-ins' per-event invariant: after construction and a warm-up, feeding a long
//! mixed event stream through the host allocates nothing. Uses a counting global allocator, so
//! this file holds a single test (tests in one binary share the allocator).

use kspin_api::{
    ClientOrderId, OrderUpdate, Params, Price, Qty, Side, Strategy, SymbolId, SymbolInfo,
};
use kspin_strategies::testing::TestHost;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// Only the measuring thread counts (the test harness's own threads allocate too).
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

fn count() {
    if COUNTING.with(Cell::get) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY: forwards every call unchanged to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const BTC: SymbolId = SymbolId(0);
const ONE: i64 = 100_000_000;

#[test]
fn builtins_do_not_allocate_per_event() {
    let symbols = vec![SymbolInfo::new(0, "BTC/USD", 1, 8, 10)];
    let configs: [(&str, &[(&str, &str)]); 5] = [
        ("spread_monitor", &[("symbol", "BTC/USD")]),
        ("trade_flow", &[("symbol", "BTC/USD"), ("capacity", "64")]),
        ("candles", &[("symbol", "BTC/USD"), ("interval", "1s")]),
        (
            "sma_cross",
            &[("symbol", "BTC/USD"), ("qty", "0.1"), ("interval", "1s")],
        ),
        ("whale_alert", &[("min_notional", "1000")]),
    ];
    for (name, pairs) in configs {
        let params = Params::from_pairs(&symbols, pairs).unwrap();
        let mut strategy = kspin_strategies::build(name, &params).unwrap();
        let s: &mut dyn Strategy = &mut *strategy;
        let mut host = TestHost::new(symbols.clone());
        host.reserve(50_000);
        host.start(s);
        host.book_snapshot(s, BTC, &[(1000, ONE), (999, ONE)], &[(1001, ONE)]);

        COUNTING.with(|c| c.set(true));
        let before = ALLOCATIONS.load(Ordering::Relaxed);
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
        let after = ALLOCATIONS.load(Ordering::Relaxed);
        COUNTING.with(|c| c.set(false));
        assert_eq!(
            after - before,
            0,
            "{name} allocated {} times",
            after - before
        );
        assert!(host.events().len() > 6_000, "{name}");
    }
}
