//! Each built-in strategy, built through the registry and run in the test harness (the
//! engine's pipeline, bus, paper model and strategy host, with a scripted clock) on a known
//! event sequence, with its exact log output, order intents and summary.

use kspin_api::{
    EventKind, LinkState, OrderIntent, OrderUpdate, Params, Price, Qty, RejectReason, Side,
    StaleReason, Strategy, SymbolId, SymbolInfo, SystemStatus,
};
use kspin_host::testing::TestHost;

const BTC: SymbolId = SymbolId(0);
const ETH: SymbolId = SymbolId(1);
const SEC: u64 = 1_000_000_000;
/// One unit of an 8-decimal quantity.
const ONE: i64 = 100_000_000;

fn symbols() -> Vec<SymbolInfo> {
    vec![
        SymbolInfo::new(0, "BTC/USD", 1, 8, 10),
        SymbolInfo::new(1, "ETH/USD", 2, 8, 10),
    ]
}

fn build(name: &str, pairs: &[(&str, &str)]) -> (TestHost, Box<dyn Strategy>) {
    let params = Params::from_pairs(&symbols(), pairs).unwrap();
    let strategy = kspin_strategies::builtins().build(name, &params).unwrap();
    let mut host = TestHost::new(symbols());
    let mut strategy = strategy;
    host.start(&mut *strategy);
    (host, strategy)
}

#[test]
fn spread_monitor_logs_exact_figures_while_live() {
    let (mut host, mut s) = build("spread_monitor", &[("symbol", "BTC/USD"), ("levels", "2")]);
    let s = &mut *s;
    // Snapshot: not live until BookLive, so not measured.
    host.book_snapshot(
        s,
        BTC,
        &[(1000, 3 * ONE), (999, ONE)],
        &[(1001, ONE), (1003, 5 * ONE)],
    );
    host.book_update(s, BTC, &[(1000, 3 * ONE)], &[]);
    host.book_update(s, BTC, &[], &[(1001, 0)]);
    host.book_update(s, BTC, &[(1000, 0), (999, 0)], &[]); // one-sided
    host.book_update(s, ETH, &[(5, 1)], &[]); // other symbol
    host.book_stale(s, BTC, StaleReason::Disconnected);
    assert_eq!(
        host.log_lines(),
        [
            // spread 1 tick; mid 1000.5 ticks; micro (1000*1 + 1001*3)/4 = 1000.75 ticks;
            // imbalance over 2 levels (4 - 6) / 10.
            "spread BTC/USD spread=0.1 mid=100.05 micro=100.07500 imbalance=-0.2000",
            // micro (1000*5 + 1003*3)/8 = 1001.125 ticks; imbalance (4 - 5) / 9 = -0.1111.
            "spread BTC/USD spread=0.3 mid=100.15 micro=100.11250 imbalance=-0.1111",
        ]
    );
    assert_eq!(
        s.summary().to_string(),
        "book_changes=4 measured=2 one_sided=1 stale=1 spread_min=0.1 spread_max=0.3 \
         spread_last=0.3 micro_last=100.11250 imbalance_last=-0.1111"
    );
}

#[test]
fn spread_monitor_log_every_thins_the_log() {
    let (mut host, mut s) = build(
        "spread_monitor",
        &[("symbol", "BTC/USD"), ("log_every", "2")],
    );
    let s = &mut *s;
    host.book_snapshot(s, BTC, &[(1000, ONE)], &[(1001, ONE)]);
    for q in 1..=5 {
        host.book_update(s, BTC, &[(1000, q * ONE)], &[]);
    }
    assert_eq!(host.logs().len(), 2);
    assert_eq!(s.summary().get("measured").map(|f| f.value), Some(5));
}

#[test]
fn trade_flow_rolls_its_window_by_exchange_time() {
    let (mut host, mut s) = build(
        "trade_flow",
        &[("symbol", "BTC/USD"), ("window", "10s"), ("capacity", "16")],
    );
    let s = &mut *s;
    host.trade(s, BTC, Side::Buy, 1000, ONE, SEC);
    host.trade(s, BTC, Side::Sell, 1010, 3 * ONE, 5 * SEC);
    host.trade(s, ETH, Side::Sell, 1, 1, 6 * SEC); // other symbol
    host.trade(s, BTC, Side::Buy, 1020, 2 * ONE, 11 * SEC); // evicts the trade at 1 s
    host.trade(s, BTC, Side::Buy, 990, ONE / 2, 30 * SEC); // evicts everything before
    assert_eq!(
        host.log_lines(),
        [
            "flow BTC/USD vwap=100.0 buy=1.00000000 sell=0.00000000 rate=0.100",
            // (1000*1 + 1010*3) / 4 = 1007.5 ticks, rounded half away from zero.
            "flow BTC/USD vwap=100.8 buy=1.00000000 sell=3.00000000 rate=0.200",
            "flow BTC/USD vwap=101.4 buy=2.00000000 sell=3.00000000 rate=0.200",
            "flow BTC/USD vwap=99.0 buy=0.50000000 sell=0.00000000 rate=0.100",
        ]
    );
    assert_eq!(
        s.summary().to_string(),
        "trades=4 window_trades=1 evicted_early=0 vwap_last=99.0 buy_volume=3.50000000 \
         sell_volume=3.00000000"
    );
}

#[test]
fn trade_flow_evicts_early_when_a_burst_exceeds_capacity() {
    let (mut host, mut s) = build(
        "trade_flow",
        &[
            ("symbol", "BTC/USD"),
            ("capacity", "16"),
            ("log_every", "20"),
        ],
    );
    let s = &mut *s;
    for i in 0..20 {
        host.trade(s, BTC, Side::Buy, 1000 + i, ONE, SEC);
    }
    let summary = s.summary();
    assert_eq!(summary.get("window_trades").map(|f| f.value), Some(16));
    assert_eq!(summary.get("evicted_early").map(|f| f.value), Some(4));
    // The window holds prices 1004..=1019: VWAP 1011.5 ticks -> 101.2; rate 16 / 60 s.
    assert_eq!(
        host.log_lines(),
        ["flow BTC/USD vwap=101.2 buy=16.00000000 sell=0.00000000 rate=0.267"]
    );
}

#[test]
fn candles_close_on_the_first_trade_of_a_later_interval() {
    let (mut host, mut s) = build("candles", &[("symbol", "BTC/USD"), ("interval", "1m")]);
    let s = &mut *s;
    host.trade(s, BTC, Side::Buy, 1000, ONE, 60 * SEC);
    host.trade(s, BTC, Side::Buy, 1015, 2 * ONE, 75 * SEC);
    host.trade(s, ETH, Side::Buy, 1, 1, 80 * SEC);
    host.trade(s, BTC, Side::Sell, 995, ONE, 90 * SEC);
    host.trade(s, BTC, Side::Sell, 1005, ONE / 2, 119 * SEC);
    host.trade(s, BTC, Side::Buy, 1020, ONE, 125 * SEC);
    host.trade(s, BTC, Side::Buy, 1030, ONE, 300 * SEC); // 180..240 had no trades: no candle
    assert_eq!(
        host.log_lines(),
        [
            "candle BTC/USD open=100.0 high=101.5 low=99.5 close=100.5",
            "candle_volume BTC/USD volume=4.50000000 trades=4 start=60",
            "candle BTC/USD open=102.0 high=102.0 low=102.0 close=102.0",
            "candle_volume BTC/USD volume=1.00000000 trades=1 start=120",
        ]
    );
    assert_eq!(
        s.summary().to_string(),
        "trades=6 candles_closed=2 last_close=102.0 last_volume=1.00000000 open_high=103.0 \
         open_low=103.0 open_trades=1"
    );
}

/// One trade per 1-second candle; candle k closes when trade k+1 arrives.
fn sma_trade(host: &mut TestHost, s: &mut dyn Strategy, k: u64, price: i64) {
    host.set_now(k * 1000);
    host.trade(s, BTC, Side::Buy, price, ONE, k * SEC);
}

#[test]
fn sma_cross_emits_intents_on_crosses_and_tracks_fills() {
    let (mut host, mut s) = build(
        "sma_cross",
        &[
            ("symbol", "BTC/USD"),
            ("interval", "1s"),
            ("fast", "2"),
            ("slow", "3"),
            ("qty", "0.5"),
        ],
    );
    let s = &mut *s;
    // This test plays the venue itself: the engine takes the orders but does not answer them.
    host.set_paper_fills(false);
    host.connection(s, LinkState::Connected, SystemStatus::Online);
    let closes = [1000, 1000, 1000, 990, 1020, 1030, 980, 970, 970];
    for (k, &p) in closes.iter().enumerate().take(6) {
        sma_trade(&mut host, s, k as u64 + 1, p);
    }
    // The buy signal on close 5 (fast 1005 > slow 1003.33), answered by the imagined venue.
    let (buy, sell) = (host.order_id(1), host.order_id(2));
    host.order_update(s, OrderUpdate::accepted(buy, BTC));
    host.order_update(
        s,
        OrderUpdate::filled(buy, BTC, Price(1020), Qty(ONE / 2), Qty(0)),
    );
    sma_trade(&mut host, s, 7, closes[6]);
    sma_trade(&mut host, s, 8, closes[7]); // closes 980: cross down, sell
    host.order_update(s, OrderUpdate::rejected(sell, BTC, RejectReason::Risk));
    sma_trade(&mut host, s, 9, closes[8]);
    assert_eq!(
        host.log_lines(),
        [
            "sma BTC/USD fast=100.000 slow=100.000 close=100.0".to_owned(),
            "sma BTC/USD fast=99.500 slow=99.667 close=99.0".to_owned(),
            "sma BTC/USD fast=100.500 slow=100.333 close=102.0".to_owned(),
            format!(
                "signal BTC/USD side=1 price=102.0 qty=0.50000000 order={}",
                buy.seq()
            ),
            "sma BTC/USD fast=102.500 slow=101.333 close=103.0".to_owned(),
            "sma BTC/USD fast=100.500 slow=101.000 close=98.0".to_owned(),
            format!(
                "signal BTC/USD side=-1 price=98.0 qty=0.50000000 order={}",
                sell.seq()
            ),
            "sma BTC/USD fast=97.500 slow=99.333 close=97.0".to_owned(),
        ]
    );
    assert_eq!(
        host.intents(),
        [
            (buy, OrderIntent::market(BTC, Side::Buy, Qty(ONE / 2))),
            (sell, OrderIntent::market(BTC, Side::Sell, Qty(ONE / 2))),
        ]
    );
    // The intent carries the receive TSC of the trade that closed the candle.
    assert_eq!(host.orders()[0].trigger_tsc, 6000);
    assert_eq!(host.logs()[3].tsc, 6000);
    assert_eq!(
        s.summary().to_string(),
        "candles=8 crosses_up=1 crosses_down=1 intents=2 submit_errors=0 skipped_offline=0 \
         fills=1 rejects=1 position=0.50000000"
    );
}

#[test]
fn sma_cross_is_answered_by_the_engines_paper_model() {
    let (mut host, mut s) = build(
        "sma_cross",
        &[
            ("symbol", "BTC/USD"),
            ("interval", "1s"),
            ("fast", "2"),
            ("slow", "3"),
            ("qty", "0.5"),
        ],
    );
    let s = &mut *s;
    host.book_snapshot(s, BTC, &[(1000, 2 * ONE), (999, ONE)], &[(1001, ONE)]);
    let closes = [1000, 1000, 1000, 990, 1020, 1030, 980, 970, 970];
    for (k, &p) in closes.iter().enumerate() {
        sma_trade(&mut host, s, k as u64 + 1, p);
    }
    // The market buy takes the best ask, the market sell the best bid, each answered in the
    // engine's event ring right after the trade that triggered it.
    let (buy, sell) = (host.order_id(1), host.order_id(2));
    let updates: Vec<OrderUpdate> = host
        .events()
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::Order(u) => Some(u),
            _ => None,
        })
        .collect();
    assert_eq!(
        updates,
        [
            OrderUpdate::accepted(buy, BTC),
            OrderUpdate::filled(buy, BTC, Price(1001), Qty(ONE / 2), Qty(0)),
            OrderUpdate::accepted(sell, BTC),
            OrderUpdate::filled(sell, BTC, Price(1000), Qty(ONE / 2), Qty(0)),
        ]
    );
    let paper = host.bus().paper_counters(0).expect("one strategy");
    assert_eq!((paper.intents, paper.fills, paper.rejects), (2, 2, 0));
    assert_eq!(
        s.summary().to_string(),
        "candles=8 crosses_up=1 crosses_down=1 intents=2 submit_errors=0 skipped_offline=0 \
         fills=2 rejects=0 position=0.00000000"
    );
}

#[test]
fn sma_cross_counts_a_full_ring_and_skips_signals_while_offline() {
    let pairs = [
        ("symbol", "BTC/USD"),
        ("interval", "1s"),
        ("fast", "2"),
        ("slow", "3"),
        ("qty", "0.5"),
        ("order_type", "limit"),
    ];
    let closes = [1000, 1000, 1000, 990, 1020, 1030];

    let (mut host, mut s) = build("sma_cross", &pairs);
    host.set_intent_ring_free(0);
    for (k, &p) in closes.iter().enumerate() {
        sma_trade(&mut host, &mut *s, k as u64 + 1, p);
    }
    assert!(host
        .log_lines()
        .contains(&"signal BTC/USD side=1 price=102.0 qty=0.50000000 order=0".to_owned()));
    assert_eq!(s.summary().get("submit_errors").map(|f| f.value), Some(1));
    assert!(host.orders().is_empty());

    let (mut host, mut s) = build("sma_cross", &pairs);
    host.connection(&mut *s, LinkState::Connected, SystemStatus::Maintenance);
    for (k, &p) in closes.iter().enumerate() {
        sma_trade(&mut host, &mut *s, k as u64 + 1, p);
    }
    assert_eq!(s.summary().get("skipped_offline").map(|f| f.value), Some(1));
    assert!(host.orders().is_empty());

    // Online again: a limit order at the close.
    let (mut host, mut s) = build("sma_cross", &pairs);
    for (k, &p) in closes.iter().enumerate() {
        sma_trade(&mut host, &mut *s, k as u64 + 1, p);
    }
    assert_eq!(
        host.intents(),
        [(
            host.order_id(1),
            OrderIntent::limit(BTC, Side::Buy, Price(1020), Qty(ONE / 2))
        )]
    );
}

#[test]
fn whale_alert_compares_exact_notionals_per_symbol_scale() {
    let (mut host, mut s) = build("whale_alert", &[("min_notional", "10000")]);
    let s = &mut *s;
    host.trade(s, BTC, Side::Buy, 500_000, ONE / 10, SEC); // 5000
    host.trade(s, BTC, Side::Sell, 500_000, ONE / 5, SEC); // 10000: at the threshold
    host.trade(s, ETH, Side::Buy, 250_000, 9 * ONE / 2, SEC); // 11250
    host.trade(s, ETH, Side::Buy, 250_000, 4 * ONE - 1, SEC); // 9999.999975
    assert_eq!(
        host.log_lines(),
        [
            "whale BTC/USD side=-1 price=50000.0 qty=0.20000000 notional=10000.0",
            "whale ETH/USD side=1 price=2500.00 qty=4.50000000 notional=11250.00",
        ]
    );
    assert_eq!(
        s.summary().to_string(),
        "trades=4 alerts=2 buy_alerts=1 sell_alerts=1 largest_notional=11250.0000"
    );
}

#[test]
fn whale_alert_can_watch_one_symbol() {
    let (mut host, mut s) = build(
        "whale_alert",
        &[("min_notional", "1000.5"), ("symbol", "ETH/USD")],
    );
    let s = &mut *s;
    host.trade(s, BTC, Side::Buy, 500_000, ONE, SEC);
    host.trade(s, ETH, Side::Sell, 100_050, ONE, SEC); // exactly 1000.50
    host.trade(s, ETH, Side::Sell, 100_049, ONE, SEC);
    assert_eq!(
        host.log_lines(),
        ["whale ETH/USD side=-1 price=1000.50 qty=1.00000000 notional=1000.50"]
    );
    assert_eq!(s.summary().get("trades").map(|f| f.value), Some(2));
}
