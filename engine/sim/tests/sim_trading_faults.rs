//! End-to-end: Kraken's trading limits (the per-pair rate counter and the open-order limit,
//! spot-ratelimits.md), the dead man's switch and GTD expiry, and the trading faults
//! (`auth-drop`, `ack-delay`, `reject`) as a client sees them.

mod sim_support;
mod trading_support;

use std::time::{Duration, Instant};

use kspin_sim::trading::decimal::parse_rfc3339;
use kspin_sim::{FaultKind, Liquidity, SimConfig, SimTradingConfig, SimVenue, TradingTier};
use sim_support::HANG_GUARD;
use trading_support::*;

fn frozen(tier: TradingTier) -> kspin_sim::VenueHandle {
    SimVenue::start(SimConfig {
        start_paused: true,
        symbols: vec!["BTC/USD".into(), "ETH/USD".into()],
        trading: Some(SimTradingConfig {
            tier,
            ..SimTradingConfig::default()
        }),
        ..SimConfig::default()
    })
    .unwrap()
}

/// A resting BTC/USD limit buy `ticks` tenths below the best bid.
fn resting(venue: &kspin_sim::VenueHandle, ticks: i64, extra: &str) -> String {
    let (bids, _) = venue.book_mantissas("BTC/USD", 10).unwrap();
    format!(
        r#""order_type":"limit","side":"buy","order_qty":0.0001,"limit_price":{},"symbol":"BTC/USD"{extra}"#,
        fixed((bids[0].0 - ticks).into(), 1)
    )
}

#[test]
fn the_rate_counter_refuses_above_the_starter_threshold() {
    let venue = frozen(TradingTier::Starter);
    let mut a = Auth::connect(&venue);
    let (ack, _) = a.subscribe_executions(r#""ratecounter":true,"snap_orders":false"#);
    assert_eq!(ack["maxratecount"], 60);
    let order = resting(&venue, 1_000, "");
    let mut limited = None;
    for cycle in 0..30 {
        // Add (+1) then cancel at once (+8): 9 a cycle, so 6 cycles (54) always pass.
        let added = a.call("add_order", &order);
        if added["success"] == false {
            limited = Some((cycle, added["error"].clone()));
            break;
        }
        let pending = a.exec_of("pending_new");
        assert!(pending["ratecount"].as_u64().unwrap() >= 1, "{pending}");
        let id = added["result"]["order_id"].as_str().unwrap().to_owned();
        let cancelled = a.call("cancel_order", &format!(r#""order_id":["{id}"]"#));
        if cancelled["success"] == false {
            limited = Some((cycle, cancelled["error"].clone()));
            break;
        }
    }
    let (cycle, error) = limited.expect("the rate limit was never reached");
    assert_eq!(error, "EOrder:Rate limit exceeded");
    assert!(cycle >= 6, "refused after {cycle} cycles");
    assert!(venue.rate_counter("BTC/USD").unwrap() > 50.0);
    assert!(venue.stats().rejected_rate_limit >= 1);
    // The counter is per pair: ETH/USD still trades.
    let (bids, _) = venue.book_mantissas("ETH/USD", 10).unwrap();
    let eth = format!(
        r#""order_type":"limit","side":"buy","order_qty":0.5,"limit_price":{},"symbol":"ETH/USD""#,
        fixed((bids[0].0 - 1_000).into(), 2)
    );
    a.ok("add_order", &eth);
}

#[test]
fn open_orders_per_pair_stop_at_the_tier_limit() {
    let venue = frozen(TradingTier::Intermediate);
    let mut a = Auth::connect(&venue);
    for i in 0..80 {
        a.ok("add_order", &resting(&venue, 100 + i, ""));
    }
    assert_eq!(
        a.err("add_order", &resting(&venue, 500, "")),
        "EOrder:Orders limit exceeded"
    );
    let two = format!(
        r#""symbol":"BTC/USD","orders":[{0},{0}]"#,
        r#"{"order_type":"limit","side":"buy","order_qty":0.0001,"limit_price":10000}"#
    );
    assert_eq!(a.err("batch_add", &two), "EOrder:Orders limit exceeded");
    let first = venue.open_orders()[0].order_id.clone();
    a.ok("cancel_order", &format!(r#""order_id":["{first}"]"#));
    a.ok("add_order", &resting(&venue, 500, ""));
    assert_eq!(venue.open_orders().len(), 80);
    assert_eq!(venue.stats().rejected_orders_limit, 2);
}

#[test]
fn gtd_expiry_and_the_dead_mans_switch_cancel_a_silent_client() {
    let venue = frozen(TradingTier::Starter);
    let mut a = Auth::connect(&venue);
    a.subscribe_executions("");
    let mut quiet = Auth::connect(&venue);
    let (ack, _) = quiet.subscribe_executions(r#""order_status":false"#);
    assert_eq!(ack["snap_orders"], true);
    let mut at = String::new();
    kspin_sim::frames::push_timestamp(&mut at, kspin_sim::frames::now_micros() + 500_000);
    let gtd = format!(r#","time_in_force":"gtd","expire_time":{at}"#);
    a.ok("add_order", &resting(&venue, 200, &gtd));
    a.ok(
        "add_order",
        &resting(&venue, 300, r#","cl_ord_id":"left-alone""#),
    );
    // Arm, disarm, arm again: the switch is set by the last call.
    let off = a.ok("cancel_all_orders_after", r#""timeout":0"#);
    assert_eq!(off["triggerTime"], "0");
    let armed = Instant::now();
    let on = a.ok("cancel_all_orders_after", r#""timeout":1"#);
    let t = |k: &str| parse_rfc3339(on[k].as_str().unwrap()).unwrap();
    assert_eq!(t("triggerTime") - t("currentTime"), 1_000_000);
    // Then silence: the GTD order expires, the other is cancelled by the switch.
    let expired = a.exec_of("expired");
    assert_eq!(
        (expired["order_status"].clone(), expired["reason"].clone()),
        ("expired".into(), "Order expired".into())
    );
    let dead = a.exec_of("canceled");
    assert_eq!(dead["cl_ord_id"], "left-alone");
    assert_eq!(dead["reason"], "Dead man's switch");
    assert!(armed.elapsed() < HANG_GUARD);
    assert!(venue.open_orders().is_empty());
    // `order_status: false` saw only new / expired / canceled.
    let seen: Vec<String> = (0..4)
        .map(|_| quiet.exec().0["exec_type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(seen, ["new", "new", "expired", "canceled"]);
    let s = venue.stats();
    assert_eq!(
        (s.dead_man_cancels, s.orders_expired, s.dead_man_requests),
        (1, 1, 2)
    );
}

#[test]
fn orders_stay_open_and_fill_while_the_client_is_away() {
    let venue = SimVenue::start(SimConfig {
        tls: true,
        start_paused: true,
        rate_per_sec: 4_000,
        symbols: vec!["BTC/USD".into()],
        ..SimConfig::default()
    })
    .unwrap();
    let mut a = Auth::connect(&venue);
    a.subscribe_executions("");
    // One tick under the best ask: not marketable now, filled once the ask comes down to it.
    let (_, asks) = venue.book_mantissas("BTC/USD", 10).unwrap();
    let limit = asks[0].0 - 1;
    let placed = a.ok(
        "add_order",
        &format!(
            r#""order_type":"limit","side":"buy","order_qty":5,"limit_price":{},"symbol":"BTC/USD","cl_ord_id":"away""#,
            fixed(limit.into(), 1)
        ),
    );
    let id = placed["order_id"].as_str().unwrap().to_owned();
    venue.inject(FaultKind::AuthDrop);
    a.expect_closed();
    venue.resume();
    let start = Instant::now();
    while venue.fills().is_empty() {
        assert!(
            start.elapsed() < HANG_GUARD,
            "the resting order never filled"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    venue.pause();
    let fills = venue.fills();
    assert!(fills
        .iter()
        .all(|f| f.liquidity == Liquidity::Maker && f.price == limit && f.order_id == id));
    let filled: i64 = fills.iter().map(|f| f.qty).sum();
    // Back with the same (fresh) token: the snapshot is the truth.
    let mut b = Auth::connect_with(&venue, a.token.clone());
    let (_, snap) = b.subscribe_executions(r#""snap_trades":true"#);
    let data = snap.unwrap()["data"].as_array().unwrap().clone();
    let orders: Vec<_> = data.iter().filter(|d| d["exec_type"] == "new").collect();
    let trades: Vec<_> = data.iter().filter(|d| d["exec_type"] == "trade").collect();
    assert_eq!(trades.len(), fills.len());
    for (t, f) in trades.iter().zip(&fills) {
        assert_eq!(
            (t["exec_id"].as_str(), t["liquidity_ind"].as_str()),
            (Some(f.exec_id.as_str()), Some("m"))
        );
    }
    if filled < 500_000_000 {
        assert_eq!(orders.len(), 1);
        assert_eq!(orders[0]["order_id"], id.as_str());
        assert_eq!(orders[0]["cl_ord_id"], "away");
        assert_eq!(orders[0]["order_status"], "partially_filled");
        assert_eq!(orders[0]["cum_qty"].as_f64().unwrap(), filled as f64 / 1e8);
    } else {
        assert!(orders.is_empty());
    }
    let s = venue.stats();
    assert_eq!(s.auth_drops, 1);
    assert_eq!(s.fills as usize, fills.len());
}

#[test]
fn delayed_acks_arrive_after_their_executions_and_rejects_use_the_given_text() {
    let venue = frozen(TradingTier::Starter);
    let mut a = Auth::connect(&venue);
    a.subscribe_executions(r#""snap_orders":false"#);
    venue.inject(FaultKind::AckDelay {
        delay: Duration::from_millis(200),
        duration: Duration::from_secs(30),
    });
    let id = a.send("add_order", &resting(&venue, 100, ""));
    let mut order = Vec::new();
    while order.last().map(String::as_str) != Some("answer") {
        let v = json(&a.client.text());
        order.push(if v["req_id"] == id {
            "answer".to_owned()
        } else {
            v["data"][0]["exec_type"].as_str().unwrap_or("?").to_owned()
        });
    }
    assert_eq!(order, ["pending_new", "new", "answer"]);
    venue.inject(FaultKind::Reject {
        count: 2,
        text: "EOrder:Insufficient funds".into(),
    });
    for _ in 0..2 {
        assert_eq!(
            a.err("add_order", &resting(&venue, 100, "")),
            "EOrder:Insufficient funds"
        );
    }
    a.ok("add_order", &resting(&venue, 100, ""));
    let s = venue.stats();
    assert_eq!(
        (s.rejected_fault, s.orders_placed, s.faults_fired),
        (2, 2, 2)
    );
}
