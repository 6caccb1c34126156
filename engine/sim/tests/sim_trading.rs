//! End-to-end: an order's whole life on the authenticated endpoint (PROTOCOL.md §1.10–1.11),
//! against a frozen market so every fill is known in advance: a resting limit goes `pending_new`
//! → `new`; a marketable limit takes two levels at their prices (taker fee) and rests the
//! rest; amends and cancels (by `order_id`, by `cl_ord_id`, all, in batches) report as Kraken
//! words them; balances move by each fill's cost and fee; bad orders get Kraken's errors.

mod sim_support;
mod trading_support;

use kspin_sim::{Liquidity, OrderStatus, SimConfig, SimVenue, VenueHandle};
use serde_json::Value;
use trading_support::*;

fn frozen() -> VenueHandle {
    SimVenue::start(SimConfig {
        start_paused: true,
        symbols: vec!["BTC/USD".into(), "ETH/USD".into()],
        ..SimConfig::default()
    })
    .unwrap()
}

fn is_order_id(v: &Value) -> bool {
    let s = v.as_str().unwrap_or("");
    let b = s.as_bytes();
    b.len() == 19 && b[0] == b'O' && b[6] == b'-' && b[12] == b'-'
}

/// Cost (4 decimals, halves up) and taker fee (0.40 %, rounded up) of `qty` at `price` on
/// BTC/USD (price 1 decimal, qty 8).
fn cost_fee(price: i64, qty: i64, bps: i128) -> (i128, i128) {
    let n = i128::from(price) * i128::from(qty);
    (rescale(n, 9, 4, false), rescale(n * bps, 13, 4, true))
}

#[test]
fn rest_take_amend_and_cancel_with_balances() {
    let venue = frozen();
    let mut a = Auth::connect(&venue);
    let (ack, snap) = a.subscribe_executions(r#""snap_trades":true"#);
    assert_eq!(ack["maxratecount"], 60);
    assert_eq!(
        (ack["snap_orders"].clone(), ack["snap_trades"].clone()),
        (true.into(), true.into())
    );
    let snap = snap.unwrap();
    assert_eq!(
        (snap["data"].clone(), snap["sequence"].clone()),
        (Value::Array(vec![]), 1.into())
    );
    a.ok("subscribe", r#""channel":"balances""#);
    let balances = a.wait_text(|v| v["channel"] == "balances" && v["type"] == "snapshot");
    assert!(
        balances.contains(r#"{"asset":"USD","asset_class":"currency","balance":1000000.0000,"wallets":[{"type":"spot","id":"main","balance":1000000.0000}]}"#),
        "{balances}"
    );
    assert!(balances.contains(r#""asset":"BTC","asset_class":"currency","balance":100.0000000000"#));
    let (bids, asks) = venue.book_mantissas("BTC/USD", 10).unwrap();
    let (usd0, btc0) = (venue.balance("USD"), venue.balance("BTC"));

    // A resting limit: pending_new (full terms, numbers at the pair's precision), then new.
    let rest_px = bids[0].0 - 100;
    let placed = a.ok(
        "add_order",
        &format!(
            r#""order_type":"limit","side":"buy","order_qty":0.01,"limit_price":{},"symbol":"BTC/USD","cl_ord_id":"rest-1""#,
            fixed(rest_px.into(), 1)
        ),
    );
    assert!(is_order_id(&placed["order_id"]), "{placed}");
    assert_eq!(placed["cl_ord_id"], "rest-1");
    let rest_id = placed["order_id"].as_str().unwrap().to_owned();
    let pending = a.wait_text(|v| v["data"][0]["exec_type"] == "pending_new");
    for part in [
        format!(
            r#""order_id":"{rest_id}","cl_ord_id":"rest-1","symbol":"BTC/USD","exec_type":"pending_new","order_status":"pending_new""#
        ),
        r#""side":"buy","order_type":"limit","order_qty":0.01000000"#.to_owned(),
        format!(
            r#""limit_price":{},"time_in_force":"GTC","post_only":false"#,
            fixed(rest_px.into(), 1)
        ),
        r#""sequence":2"#.to_owned(),
    ] {
        assert!(pending.contains(&part), "{part} in {pending}");
    }
    let (new, seq) = a.exec();
    assert_eq!(
        (new["exec_type"].clone(), new["order_status"].clone(), seq),
        ("new".into(), "new".into(), 3)
    );

    // A marketable limit through two ask levels: two taker fills at the levels' prices, the
    // rest of the order rests.
    let (l0, l1) = (asks[0], asks[1]);
    let qty = l0.1 + l1.1 + 100_000;
    let taker = a.ok(
        "add_order",
        &format!(
            r#""order_type":"limit","side":"buy","order_qty":{},"limit_price":{},"symbol":"BTC/USD","order_userref":42"#,
            fixed(qty.into(), 8),
            fixed(l1.0.into(), 1)
        ),
    );
    assert_eq!(taker["order_userref"], 42);
    assert!(taker.get("cl_ord_id").is_none());
    let taker_id = taker["order_id"].as_str().unwrap().to_owned();
    a.exec_of("pending_new");
    a.exec_of("new");
    let mut spent = 0i128;
    let mut cum = 0i64;
    for (i, (price, q)) in [l0, l1].into_iter().enumerate() {
        let t = a.wait_text(|v| v["data"][0]["exec_type"] == "trade");
        let (cost, fee) = cost_fee(price, q, 40);
        cum += q;
        for part in [
            format!(r#""order_id":"{taker_id}","order_userref":42"#),
            r#""exec_type":"trade","order_status":"partially_filled","side":"buy","order_type":"limit""#.to_owned(),
            format!(r#""last_qty":{},"last_price":{},"liquidity_ind":"t""#, fixed(q.into(), 8), fixed(price.into(), 1)),
            format!(r#""cost":{},"cum_qty":{}"#, fixed(cost, 4), fixed(cum.into(), 8)),
            format!(r#""fee_usd_equiv":{0},"fees":[{{"asset":"USD","qty":{0}}}]"#, fixed(fee, 4)),
        ] {
            assert!(t.contains(&part), "fill {i}: {part} in {t}");
        }
        let v = json(&t);
        assert!(v["data"][0]["exec_id"].as_str().unwrap().starts_with('T'));
        // Ledger: the base asset first, then the quote with its fee.
        let base = a.wait_text(|v| v["channel"] == "balances" && v["data"][0]["asset"] == "BTC");
        assert!(
            base.contains(&format!(
                r#""amount":{},"fee":0.0000000000"#,
                fixed(i128::from(q) * 100, 10)
            )),
            "{base}"
        );
        let quote = a.wait_text(|v| v["channel"] == "balances" && v["data"][0]["asset"] == "USD");
        spent += cost + fee;
        assert!(
            quote.contains(&format!(
                r#""amount":{},"fee":{},"balance":{}"#,
                fixed(-cost, 4),
                fixed(fee, 4),
                fixed(usd0 - spent, 4)
            )),
            "{quote}"
        );
        assert_eq!(json(&quote)["data"][0]["ref_id"], v["data"][0]["exec_id"]);
    }
    assert_eq!(venue.balance("USD"), usd0 - spent);
    assert_eq!(venue.balance("BTC"), btc0 + i128::from(cum) * 100);
    let fills = venue.fills();
    assert_eq!(fills.len(), 2);
    assert!(fills
        .iter()
        .all(|f| f.liquidity == Liquidity::Taker && f.order_id == taker_id));
    let open = venue.open_orders();
    assert_eq!(open.len(), 2);
    assert_eq!(
        (open[1].cum_qty, open[1].status),
        (cum, OrderStatus::PartiallyFilled)
    );
    assert!(
        !a.sync()
            .iter()
            .any(|v| v["data"][0]["exec_type"] == "filled"),
        "the rest keeps resting"
    );

    // Amend by cl_ord_id: new quantity and price, reported as `amended`.
    let new_px = rest_px - 10;
    let amend = a.ok(
        "amend_order",
        &format!(
            r#""cl_ord_id":"rest-1","order_qty":0.02,"limit_price":{}"#,
            fixed(new_px.into(), 1)
        ),
    );
    assert!(amend["amend_id"].as_str().unwrap().starts_with('T'));
    assert_eq!(amend["cl_ord_id"], "rest-1");
    let amended = a.wait_text(|v| v["data"][0]["exec_type"] == "amended");
    assert!(amended.contains(r#""amended":true"#) && amended.contains(r#""order_qty":0.02000000"#));
    assert!(amended.contains(&format!(r#""limit_price":{}"#, fixed(new_px.into(), 1))));
    assert_eq!(venue.open_orders()[0].order_qty, 2_000_000);

    // Cancel by order_id, then by cl_ord_id.
    let c = a.ok("cancel_order", &format!(r#""order_id":["{taker_id}"]"#));
    assert_eq!(c["order_id"], taker_id.as_str());
    let canceled = a.wait_text(|v| v["data"][0]["exec_type"] == "canceled");
    assert!(canceled.contains(r#""order_status":"canceled""#));
    assert!(canceled.contains(&format!(r#""cum_qty":{}"#, fixed(cum.into(), 8))));
    assert!(canceled.contains(r#""reason":"User requested""#));
    let c = a.ok("cancel_order", r#""cl_ord_id":["rest-1"]"#);
    assert_eq!(
        (c["order_id"].as_str(), c["cl_ord_id"].as_str()),
        (Some(rest_id.as_str()), Some("rest-1"))
    );
    assert_eq!(a.exec_of("canceled")["cl_ord_id"], "rest-1");
    assert!(venue.open_orders().is_empty());
    assert_eq!(
        a.err("cancel_order", r#""cl_ord_id":["rest-1"]"#),
        "EOrder:Unknown order"
    );

    // A market sell: the quote balance grows by cost − fee per level.
    let usd1 = venue.balance("USD");
    let sell_qty = 100_000i64;
    a.ok(
        "add_order",
        r#""order_type":"market","side":"sell","order_qty":0.001,"symbol":"BTC/USD""#,
    );
    let mut left = sell_qty;
    let mut got = 0i128;
    for (price, level) in bids.iter().copied() {
        if left == 0 {
            break;
        }
        let q = left.min(level);
        left -= q;
        let (cost, fee) = cost_fee(price, q, 40);
        got += cost - fee;
        let t = a.exec_of("trade");
        assert_eq!(t["last_price"].as_f64().unwrap(), price as f64 / 10.0);
    }
    let filled = a.exec_of("filled");
    assert_eq!(filled["order_status"], "filled");
    assert_eq!(venue.balance("USD"), usd1 + got);

    // A second session's snapshot: no open orders, and the fills when asked.
    let mut b = Auth::connect(&venue);
    let (_, snap) = b.subscribe_executions(r#""snap_trades":true,"snap_orders":true"#);
    let data = snap.unwrap()["data"].as_array().unwrap().clone();
    let ids: Vec<_> = venue.fills().iter().map(|f| f.exec_id.clone()).collect();
    assert_eq!(
        data.iter()
            .map(|d| d["exec_id"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>(),
        ids
    );
    assert!(data.iter().all(|d| d["exec_type"] == "trade"));
    let s = venue.stats();
    assert_eq!(
        (s.orders_placed, s.orders_amended, s.orders_cancelled),
        (3, 1, 2)
    );
    assert_eq!(s.fills as usize, ids.len());
    assert_eq!(s.rejected_unknown_order, 1);
    // Executions: a snapshot each, 2 + 4 + 1 + 2 + 2 + at least 2 updates; balances: a
    // snapshot, then two entries per fill.
    assert!(s.execution_frames >= 15, "{s:?}");
    assert_eq!(s.balance_frames, 1 + 2 * s.fills);
}

#[test]
fn batches_cancel_all_and_validate() {
    let venue = frozen();
    let mut a = Auth::connect(&venue);
    a.subscribe_executions("");
    let (bids, _) = venue.book_mantissas("ETH/USD", 10).unwrap();
    let px = |k: i64| fixed((bids[0].0 - 100 * k).into(), 2);
    let orders: Vec<String> = (1..=3)
        .map(|k| format!(r#"{{"order_type":"limit","side":"buy","order_qty":0.5,"limit_price":{},"order_userref":{k}}}"#, px(k)))
        .collect();
    let result = a.ok(
        "batch_add",
        &format!(r#""symbol":"ETH/USD","orders":[{}]"#, orders.join(",")),
    );
    let list = result.as_array().unwrap();
    assert_eq!(list.len(), 3);
    for (k, r) in list.iter().enumerate() {
        assert!(is_order_id(&r["order_id"]));
        assert_eq!(r["order_userref"], k + 1);
    }
    for _ in 0..3 {
        a.exec_of("pending_new");
        a.exec_of("new");
    }
    let first = list[0]["order_id"].as_str().unwrap();
    // By order_id and by order_userref (as a string), as batch_cancel.md lists them.
    let c = a.ok("batch_cancel", &format!(r#""orders":["{first}","2"]"#));
    assert_eq!(c["count"], 2);
    a.exec_of("canceled");
    a.exec_of("canceled");
    assert_eq!(venue.open_orders().len(), 1);
    a.ok(
        "add_order",
        &format!(r#""order_type":"limit","side":"sell","order_qty":0.5,"limit_price":{},"symbol":"ETH/USD""#, px(-50)),
    );
    assert_eq!(a.ok("cancel_all", "")["count"], 2);
    assert!(venue.open_orders().is_empty());
    assert_eq!(a.ok("cancel_all", "")["count"], 0);

    // validate: answered, nothing placed, no events.
    a.sync();
    let v = a.ok(
        "add_order",
        &format!(r#""order_type":"limit","side":"buy","order_qty":0.5,"limit_price":{},"symbol":"ETH/USD","cl_ord_id":"dry","validate":true"#, px(1)),
    );
    assert_eq!(v, serde_json::json!({"cl_ord_id":"dry"}));
    assert!(!a.sync().iter().any(|f| f["channel"] == "executions"));
    assert!(venue.open_orders().is_empty());
    // A batch of one, and a batch with one bad order, are refused whole.
    let one = format!(r#""symbol":"ETH/USD","orders":[{}]"#, orders[0]);
    assert_eq!(
        a.err("batch_add", &one),
        "EGeneral:Invalid arguments:orders"
    );
    let bad = r#"{"order_type":"limit","side":"buy","order_qty":0.5,"limit_price":1.005}"#;
    let mixed = format!(r#""symbol":"ETH/USD","orders":[{},{bad}]"#, orders[0]);
    assert_eq!(
        a.err("batch_add", &mixed),
        "EOrder:Invalid price:ETH/USD price can only be specified up to 2 decimals."
    );
    assert!(venue.open_orders().is_empty());
    let s = venue.stats();
    assert_eq!(
        (s.orders_placed, s.orders_validated, s.orders_cancelled),
        (4, 1, 4)
    );
}

#[test]
fn bad_orders_get_krakens_errors() {
    let venue = frozen();
    let mut a = Auth::connect(&venue);
    let (bids, asks) = venue.book_mantissas("BTC/USD", 10).unwrap();
    let order =
        |extra: &str| format!(r#""order_type":"limit","side":"buy","symbol":"BTC/USD",{extra}"#);
    let ask = fixed(asks[0].0.into(), 1);
    for (params, error) in [
        (
            order(&format!(
                r#""order_qty":0.01,"limit_price":{ask},"post_only":true"#
            )),
            "EOrder:Post only order".to_owned(),
        ),
        (
            order(r#""order_qty":0.01,"limit_price":60000.25"#),
            "EOrder:Invalid price:BTC/USD price can only be specified up to 1 decimals.".to_owned(),
        ),
        (
            order(r#""order_qty":0.000000001,"limit_price":60000"#),
            "EGeneral:Invalid arguments:order_qty".to_owned(),
        ),
        (
            order(r#""order_qty":0.00001,"limit_price":60000"#),
            "EOrder:Order minimum not met".to_owned(),
        ),
        (
            order(&format!(r#""order_qty":1000,"limit_price":{ask}"#)),
            "EOrder:Insufficient funds".to_owned(),
        ),
        (
            order(r#""order_qty":0.01,"limit_price":60000,"time_in_force":"gtd""#),
            "EGeneral:Invalid arguments:expire_time".to_owned(),
        ),
        (
            order(r#""order_qty":0.01,"limit_price":60000,"margin":true"#),
            "EGeneral:Invalid arguments:margin".to_owned(),
        ),
        (
            r#""order_type":"limit","side":"buy","symbol":"XBT/USD","order_qty":1,"limit_price":1"#
                .to_owned(),
            "EQuery:Unknown asset pair".to_owned(),
        ),
        (
            order(r#""order_qty":0.01,"limit_price":60000,"deadline":"2020-01-01T00:00:00.000Z""#),
            "EService:Deadline elapsed".to_owned(),
        ),
    ] {
        assert_eq!(a.err("add_order", &params), error, "{params}");
    }
    // A post-only limit below the touch rests; a GTD order carries its expiry (at most a
    // month ahead).
    let bid = fixed(bids[0].0.into(), 1);
    a.ok(
        "add_order",
        &order(&format!(
            r#""order_qty":0.01,"limit_price":{bid},"post_only":true"#
        )),
    );
    let gtd = |at: &str| {
        order(&format!(
            r#""order_qty":0.01,"limit_price":{bid},"time_in_force":"gtd","expire_time":"{at}""#
        ))
    };
    assert_eq!(
        a.err("add_order", &gtd("2099-01-01T00:00:00Z")),
        "EGeneral:Invalid arguments:expire_time"
    );
    let mut tomorrow = String::new();
    kspin_sim::frames::push_timestamp(
        &mut tomorrow,
        kspin_sim::frames::now_micros() + 86_400_000_000,
    );
    a.ok("add_order", &gtd(tomorrow.trim_matches('"')));
    let open = venue.open_orders();
    assert_eq!(open.len(), 2);
    assert!(open[0].post_only && open[1].expire_time.is_some());
    assert_eq!(
        a.err(
            "add_order",
            &order(&format!(
                r#""order_qty":0.01,"limit_price":{bid},"cl_ord_id":"x","order_userref":1"#
            ))
        ),
        "EGeneral:Invalid arguments:cl_ord_id"
    );
    assert_eq!(
        a.err(
            "amend_order",
            r#""order_id":"OAAAAA-BBBBB-CCCCCC","order_qty":1"#
        ),
        "EOrder:Unknown order"
    );
    assert_eq!(
        a.err("amend_order", r#""order_qty":1"#),
        "EGeneral:Invalid arguments:order_id"
    );
    assert_eq!(
        a.err("cancel_all_orders_after", r#""timeout":86400"#),
        "EGeneral:Invalid arguments:timeout"
    );
    assert_eq!(
        a.err("edit_order", r#""order_id":"X""#),
        "EGeneral:Unknown method"
    );
    // Non-trading requests are answered as on the public endpoint.
    a.client.send("{not json");
    let e = a.wait(|v| v["success"] == false && v["error"] == "Malformed request");
    assert_eq!(e["success"], false);
    a.sync();
    let s = venue.stats();
    assert_eq!(
        (
            s.rejected_post_only,
            s.rejected_funds,
            s.rejected_unavailable
        ),
        (1, 1, 1)
    );
    assert_eq!(s.rejected_unknown_order, 1);
    assert!(s.rejected_invalid >= 8);
}

#[test]
fn private_subscriptions_accept_the_older_names_and_say_so() {
    let venue = frozen();
    let mut a = Auth::connect(&venue);
    let (ack, snap) = a.subscribe_executions(r#""snapshot_trades":true"#);
    assert_eq!(
        (ack["snap_orders"].clone(), ack["snap_trades"].clone()),
        (false.into(), true.into())
    );
    assert_eq!(
        ack["warnings"][0],
        "snapshot_trades is deprecated, use snap_trades"
    );
    assert_eq!(snap.unwrap()["sequence"], 1);
    assert_eq!(
        a.err("subscribe", r#""channel":"executions""#),
        "Already subscribed"
    );
    assert_eq!(
        a.ok("unsubscribe", r#""channel":"executions""#)["channel"],
        "executions"
    );
    assert_eq!(
        a.err("unsubscribe", r#""channel":"executions""#),
        "Subscription Not Found"
    );
    // `snapshot: false`: no snapshot at all; updates start at sequence 1.
    let (ack, snap) = a.subscribe_executions(r#""snapshot":false"#);
    assert!(snap.is_none() && ack["snap_orders"] == false);
    a.ok(
        "add_order",
        r#""order_type":"market","side":"buy","order_qty":0.0001,"symbol":"BTC/USD""#,
    );
    let (first, seq) = a.exec();
    assert_eq!((first["exec_type"].clone(), seq), ("pending_new".into(), 1));
    // Unknown fields are refused; public channels work on the authenticated endpoint too.
    assert_eq!(
        a.err("subscribe", r#""channel":"balances","depth":10"#),
        "EGeneral:Invalid arguments:depth"
    );
    a.client.send(
        r#"{"method":"subscribe","params":{"channel":"trade","symbol":["BTC/USD"]},"req_id":7}"#,
    );
    assert_eq!(a.answer(7)["result"]["channel"], "trade");
}

#[test]
fn every_mangled_request_gets_an_error_answer() {
    let venue = frozen();
    let mut a = Auth::connect(&venue);
    let token = a.token.clone();
    let mangled = [
        r#"{"method":"add_order","params":[],"req_id":1}"#.to_owned(),
        r#"{"method":"add_order","params":null,"req_id":1}"#.to_owned(),
        r#"{"method":"add_order","req_id":1}"#.to_owned(),
        r#"{"method":"add_order","params":{"token":7},"req_id":1}"#.to_owned(),
        format!(r#"{{"method":"add_order","params":{{"token":"{token}"}},"req_id":1}}"#),
        format!(
            r#"{{"method":"add_order","params":{{"token":"{token}","symbol":["BTC/USD"]}},"req_id":1}}"#
        ),
        format!(
            r#"{{"method":"add_order","params":{{"token":"{token}","symbol":"BTC/USD","order_type":"limit","side":"buy","order_qty":1e999,"limit_price":1}},"req_id":1}}"#
        ),
        format!(
            r#"{{"method":"add_order","params":{{"token":"{token}","symbol":"BTC/USD","order_type":"limit","side":"buy","order_qty":-1,"limit_price":1}},"req_id":1}}"#
        ),
        format!(
            r#"{{"method":"add_order","params":{{"token":"{token}","symbol":"BTC/USD","order_type":"limit","side":"buy","order_qty":0.1,"limit_price":99999999999999999999}},"req_id":1}}"#
        ),
        format!(
            r#"{{"method":"add_order","params":{{"token":"{token}","symbol":"BTC/USD","order_type":"market","side":"buy","order_qty":0.1,"order_userref":99999999999}},"req_id":1}}"#
        ),
        format!(
            r#"{{"method":"amend_order","params":{{"token":"{token}","order_id":["x"],"order_qty":1}},"req_id":1}}"#
        ),
        format!(
            r#"{{"method":"cancel_order","params":{{"token":"{token}","order_id":"not-a-list"}},"req_id":1}}"#
        ),
        format!(r#"{{"method":"cancel_order","params":{{"token":"{token}"}},"req_id":1}}"#),
        format!(
            r#"{{"method":"cancel_all_orders_after","params":{{"token":"{token}","timeout":-1}},"req_id":1}}"#
        ),
        format!(
            r#"{{"method":"cancel_all_orders_after","params":{{"token":"{token}","timeout":"60"}},"req_id":1}}"#
        ),
        format!(
            r#"{{"method":"batch_add","params":{{"token":"{token}","symbol":"BTC/USD","orders":{{}}}},"req_id":1}}"#
        ),
        format!(
            r#"{{"method":"batch_add","params":{{"token":"{token}","symbol":"BTC/USD","orders":[1,2]}},"req_id":1}}"#
        ),
        format!(
            r#"{{"method":"batch_cancel","params":{{"token":"{token}","orders":["a"]}},"req_id":1}}"#
        ),
        format!(
            r#"{{"method":"subscribe","params":{{"token":"{token}","channel":"executions","snap_orders":"yes"}},"req_id":1}}"#
        ),
        format!(
            r#"{{"method":"add_order","params":{{"token":"{token}","symbol":"BTC/USD","order_type":"limit","side":"buy","order_qty":0.1,"limit_price":1,"expire_time":"2030-01-01T00:00:00Z","time_in_force":"gtd"}},"req_id":1}}"#
        ),
        format!(
            r#"{{"method":"add_order","params":{{"token":"{token}","symbol":"BTC/USD","order_type":"limit","side":"buy","order_qty":0.1,"limit_price":1,"cl_ord_id":"\u0000"}},"req_id":1}}"#
        ),
        format!(
            r#"{{"method":"add_order","params":{{"token":"{token}","symbol":"BTC/USD","order_type":"limit","side":"buy","order_qty":0.1,"limit_price":1,"deadline":"soon"}},"req_id":1}}"#
        ),
        format!(
            r#"{{"method":"add_order","params":{{"token":"{token}","symbol":"BTC/USD"{}}},"req_id":1}}"#,
            ",\"x\":[".repeat(200) + &"]".repeat(200)
        ),
    ];
    for text in &mangled {
        a.client.send(text);
        let v = a.wait(|v| v.get("success").is_some());
        assert_eq!(v["success"], false, "{text}: {v}");
        assert!(!v["error"].as_str().unwrap().is_empty(), "{text}: {v}");
    }
    a.sync();
    assert!(venue.open_orders().is_empty());
}

#[test]
fn unfilled_rests_of_ioc_and_market_orders_are_cancelled() {
    let venue = frozen();
    let mut a = Auth::connect(&venue);
    a.subscribe_executions(r#""snap_orders":false"#);
    let (bids, asks) = venue.book_mantissas("BTC/USD", 10).unwrap();
    // An IOC below the ask takes nothing and is cancelled at once.
    let below = fixed((asks[0].0 - 1).min(bids[0].0).into(), 1);
    a.ok(
        "add_order",
        &format!(r#""order_type":"limit","side":"buy","order_qty":0.01,"limit_price":{below},"time_in_force":"ioc","symbol":"BTC/USD""#),
    );
    let kinds =
        |a: &mut Auth, n: usize| -> Vec<serde_json::Value> { (0..n).map(|_| a.exec().0).collect() };
    let first = kinds(&mut a, 3);
    let types: Vec<_> = first
        .iter()
        .map(|r| r["exec_type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["pending_new", "new", "canceled"]);
    assert_eq!(first[0]["time_in_force"], "IOC");
    assert_eq!(first[2]["reason"], "Immediate or cancel");
    // An IOC through the first level fills it and cancels the rest.
    let qty = asks[0].1 + 1_000;
    a.ok(
        "add_order",
        &format!(
            r#""order_type":"limit","side":"buy","order_qty":{},"limit_price":{},"time_in_force":"IOC","symbol":"BTC/USD""#,
            fixed(qty.into(), 8),
            fixed(asks[0].0.into(), 1)
        ),
    );
    let second = kinds(&mut a, 4);
    let types: Vec<_> = second
        .iter()
        .map(|r| r["exec_type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["pending_new", "new", "trade", "canceled"]);
    assert_eq!(
        second[3]["cum_qty"].as_f64().unwrap(),
        asks[0].1 as f64 / 1e8
    );
    assert!(venue.open_orders().is_empty());
    let s = venue.stats();
    assert_eq!((s.fills, s.remainders_cancelled), (1, 2));
}
