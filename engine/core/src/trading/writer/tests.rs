//! Tests of the order-entry writer: the exact text of every request, the documented examples of
//! Kraken's pages, every refusal, valid JSON whatever the strings and numbers, and no allocation
//! once built (for the whole of order entry: writer, client order ids and rate counter).

use super::*;
use crate::trading::cl_ord_id::ClOrdIdCodec;
use crate::trading::rate::{self, RateCounter, Tier};
use proptest::prelude::*;

// Counts per thread and forwards to `System`, so the crate's other unit tests are unaffected.
kspin_testkit::install_counting_allocator!();

const TOKEN: &str = "G38a1tGFzqGiUCmnegBcm8d4nfP3tytiNQz6tkCBYXY";

fn f(mantissa: i64, scale: u8) -> Fixed {
    Fixed { mantissa, scale }
}

fn writer(token: &str) -> OrderWriter {
    let mut w = OrderWriter::new(16 * 1024);
    w.set_token(token.as_bytes()).unwrap();
    w
}

fn text(r: Result<&[u8], OrderWriteError>) -> String {
    String::from_utf8(r.unwrap().to_vec()).unwrap()
}

fn limit(symbol: &str) -> AddOrder<'_> {
    AddOrder {
        symbol,
        side: Side::Buy,
        order_type: OrderKind::Limit,
        limit_price: Some(f(265_004, 1)),
        order_qty: f(12, 1),
        time_in_force: None,
        expire_time: None,
        post_only: false,
        cl_ord_id: None,
        order_userref: None,
        validate: false,
    }
}

fn batch_order(side: Side, price: Fixed, qty: Fixed, userref: u64) -> BatchOrder<'static> {
    BatchOrder {
        side,
        order_type: OrderKind::Limit,
        limit_price: Some(price),
        order_qty: qty,
        time_in_force: None,
        expire_time: None,
        post_only: false,
        cl_ord_id: None,
        order_userref: Some(userref),
    }
}

fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).unwrap()
}

/// Parses a documented example (JSON with the page's indentation) and drops `params` members
/// the writer does not support.
fn doc(example: &str, drop: &[&str]) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_str(example).unwrap();
    if let Some(params) = v["params"].as_object_mut() {
        for key in drop {
            params.remove(*key);
        }
    }
    v
}

#[test]
fn add_order_reproduces_the_documented_limit_example() {
    let mut w = writer(TOKEN);
    let order = AddOrder {
        order_userref: Some(100_054),
        ..limit("BTC/USD")
    };
    let got = text(w.add_order(123_456_789, &order));
    assert_eq!(
        got,
        r#"{"method":"add_order","params":{"order_type":"limit","side":"buy","order_qty":1.2,"symbol":"BTC/USD","limit_price":26500.4,"order_userref":100054,"token":"G38a1tGFzqGiUCmnegBcm8d4nfP3tytiNQz6tkCBYXY"},"req_id":123456789}"#
    );
    // add_order.md, "Example: Limit" (field order aside, the same request).
    let example = r#"{"method": "add_order", "params": {"order_type": "limit", "side": "buy",
        "limit_price": 26500.4, "order_userref": 100054, "order_qty": 1.2, "symbol": "BTC/USD",
        "token": "G38a1tGFzqGiUCmnegBcm8d4nfP3tytiNQz6tkCBYXY"}, "req_id": 123456789}"#;
    assert_eq!(json(got.as_bytes()), doc(example, &[]));
}

#[test]
fn add_order_writes_every_optional_field_in_order() {
    let mut w = writer("T0k3n+/=");
    let order = AddOrder {
        side: Side::Sell,
        limit_price: Some(f(987_654, 1)),
        order_qty: f(100_000, 8),
        time_in_force: Some(Tif::Gtd),
        expire_time: Some("2026-12-04T20:18:00Z"),
        post_only: true,
        cl_ord_id: Some("deadbeef0102a0b00123456789abcdef"),
        validate: true,
        ..limit("BTC/USD")
    };
    assert_eq!(
        text(w.add_order(u64::MAX, &order)),
        r#"{"method":"add_order","params":{"order_type":"limit","side":"sell","order_qty":0.00100000,"symbol":"BTC/USD","limit_price":98765.4,"time_in_force":"gtd","expire_time":"2026-12-04T20:18:00Z","post_only":true,"cl_ord_id":"deadbeef0102a0b00123456789abcdef","validate":true,"token":"T0k3n+/="},"req_id":18446744073709551615}"#
    );
    let market = AddOrder {
        order_type: OrderKind::Market,
        side: Side::Sell,
        limit_price: None,
        order_qty: f(125_000_000, 8),
        time_in_force: Some(Tif::Ioc),
        order_userref: Some(7),
        ..limit("ETH/USD")
    };
    assert_eq!(
        text(w.add_order(0, &market)),
        r#"{"method":"add_order","params":{"order_type":"market","side":"sell","order_qty":1.25000000,"symbol":"ETH/USD","time_in_force":"ioc","order_userref":7,"token":"T0k3n+/="},"req_id":0}"#
    );
    let gtc = AddOrder {
        time_in_force: Some(Tif::Gtc),
        ..limit("a\"b")
    };
    assert_eq!(
        text(w.add_order(1, &gtc)),
        r#"{"method":"add_order","params":{"order_type":"limit","side":"buy","order_qty":1.2,"symbol":"a\"b","limit_price":26500.4,"time_in_force":"gtc","token":"T0k3n+/="},"req_id":1}"#
    );
}

#[test]
fn add_order_refuses_what_the_docs_rule_out() {
    let mut w = writer(TOKEN);
    let base = limit("BTC/USD");
    let cases = [
        (
            AddOrder {
                cl_ord_id: Some("x"),
                order_userref: Some(1),
                ..base
            },
            OrderWriteError::Conflicting,
        ),
        (
            AddOrder {
                order_type: OrderKind::Market,
                ..base
            },
            OrderWriteError::Conflicting,
        ),
        (
            AddOrder {
                order_type: OrderKind::Market,
                limit_price: None,
                post_only: true,
                ..base
            },
            OrderWriteError::Conflicting,
        ),
        (
            AddOrder {
                limit_price: None,
                ..base
            },
            OrderWriteError::MissingLimitPrice,
        ),
        (
            AddOrder {
                time_in_force: Some(Tif::Gtd),
                ..base
            },
            OrderWriteError::MissingExpireTime,
        ),
        (
            AddOrder {
                expire_time: Some("2026-12-04T20:18:00Z"),
                ..base
            },
            OrderWriteError::Conflicting,
        ),
        (
            AddOrder {
                time_in_force: Some(Tif::Ioc),
                expire_time: Some("2026-12-04T20:18:00Z"),
                ..base
            },
            OrderWriteError::Conflicting,
        ),
        (
            AddOrder {
                order_qty: f(1, 19),
                ..base
            },
            OrderWriteError::ScaleTooLarge,
        ),
    ];
    for (order, want) in cases {
        assert_eq!(w.add_order(1, &order), Err(want), "{order:?}");
    }
}

#[test]
fn amend_order_by_either_id() {
    let mut w = writer("PM5Qm0MDrS54l657aQAtb7AhrwN30e2LBg1nUYOd6vU");
    let by_client = AmendOrder {
        order_id: None,
        cl_ord_id: Some("2c6be801-1f53-4f79-a0bb-4ea1c95dfae9"),
        order_qty: f(12, 1),
        limit_price: Some(f(490_795, 0)),
        post_only: false,
        deadline: None,
    };
    let got = text(w.amend_order(1, &by_client));
    assert_eq!(
        got,
        r#"{"method":"amend_order","params":{"cl_ord_id":"2c6be801-1f53-4f79-a0bb-4ea1c95dfae9","order_qty":1.2,"limit_price":490795,"token":"PM5Qm0MDrS54l657aQAtb7AhrwN30e2LBg1nUYOd6vU"},"req_id":1}"#
    );
    // amend_order.md "Example: Basic" (the page's text lacks the closing brace of `params`).
    let example = r#"{"method": "amend_order", "params": {"cl_ord_id": "2c6be801-1f53-4f79-a0bb-4ea1c95dfae9",
        "limit_price": 490795, "order_qty": 1.2, "token": "PM5Qm0MDrS54l657aQAtb7AhrwN30e2LBg1nUYOd6vU"}}"#;
    let mut ours = json(got.as_bytes());
    ours.as_object_mut().unwrap().remove("req_id");
    assert_eq!(ours, doc(example, &[]));

    w.set_token(b"DGB00LiKlPlLI/amQaSKUUr8niqXDb+1zwvtjp34nzk")
        .unwrap();
    let by_kraken = AmendOrder {
        order_id: Some("OAIYAU-LGI3M-PFM5VW"),
        cl_ord_id: None,
        order_qty: f(5, 1),
        limit_price: Some(f(610_313, 1)),
        post_only: true,
        deadline: Some("2024-07-21T09:53:59.050Z"),
    };
    // amend_order.md "Example: Advanced", plus the `order_qty` its schema requires.
    assert_eq!(
        text(w.amend_order(2, &by_kraken)),
        r#"{"method":"amend_order","params":{"order_id":"OAIYAU-LGI3M-PFM5VW","order_qty":0.5,"limit_price":61031.3,"post_only":true,"deadline":"2024-07-21T09:53:59.050Z","token":"DGB00LiKlPlLI/amQaSKUUr8niqXDb+1zwvtjp34nzk"},"req_id":2}"#
    );
    let both = AmendOrder {
        cl_ord_id: Some("x"),
        ..by_kraken
    };
    assert_eq!(w.amend_order(3, &both), Err(OrderWriteError::Conflicting));
    let neither = AmendOrder {
        order_id: None,
        ..by_kraken
    };
    assert_eq!(w.amend_order(3, &neither), Err(OrderWriteError::MissingId));
}

#[test]
fn cancels_reproduce_the_documented_examples() {
    let mut w = writer("zGXT1dUQQjJjy5VmGXMegdDQngXXehNo5qbMBVolwEQ");
    let ids = ["OM5CRX-N2HAL-GFGWE9", "OLUMT4-UTEGU-ZYM7E9"];
    assert_eq!(
        text(w.cancel_order(123_456_789, OrderIds::OrderId(&ids))),
        r#"{"method":"cancel_order","params":{"order_id":["OM5CRX-N2HAL-GFGWE9","OLUMT4-UTEGU-ZYM7E9"],"token":"zGXT1dUQQjJjy5VmGXMegdDQngXXehNo5qbMBVolwEQ"},"req_id":123456789}"#
    );
    assert_eq!(
        text(w.cancel_order(9, OrderIds::ClOrdId(&["deadbeef0102a0b00123456789abcdef"]))),
        r#"{"method":"cancel_order","params":{"cl_ord_id":["deadbeef0102a0b00123456789abcdef"],"token":"zGXT1dUQQjJjy5VmGXMegdDQngXXehNo5qbMBVolwEQ"},"req_id":9}"#
    );
    assert_eq!(
        w.cancel_order(9, OrderIds::OrderId(&[])),
        Err(OrderWriteError::MissingId)
    );

    w.set_token(b"weeBxllys/7kHy/zHpkATSDIS42BvDgWS2b04ZSZHZ5")
        .unwrap();
    assert_eq!(
        text(w.cancel_all(1_234_567_890)),
        r#"{"method":"cancel_all","params":{"token":"weeBxllys/7kHy/zHpkATSDIS42BvDgWS2b04ZSZHZ5"},"req_id":1234567890}"#
    );

    w.set_token(b"zwpdzWUe18Bn6h4TAMorh26+QbcMeST2B5tamfe+pgQ")
        .unwrap();
    assert_eq!(
        text(w.cancel_all_orders_after(1_234_567_890, 100)),
        r#"{"method":"cancel_all_orders_after","params":{"timeout":100,"token":"zwpdzWUe18Bn6h4TAMorh26+QbcMeST2B5tamfe+pgQ"},"req_id":1234567890}"#
    );
    assert_eq!(
        text(w.cancel_all_orders_after(5, 0)),
        r#"{"method":"cancel_all_orders_after","params":{"timeout":0,"token":"zwpdzWUe18Bn6h4TAMorh26+QbcMeST2B5tamfe+pgQ"},"req_id":5}"#
    );
    assert!(w.cancel_all_orders_after(5, 86_399).is_ok());
    assert_eq!(
        w.cancel_all_orders_after(5, 86_400),
        Err(OrderWriteError::TimeoutTooLong)
    );
}

#[test]
fn batch_add_reproduces_the_documented_example() {
    let mut w = writer("TxxxxxxxxxOxxxxxxxxxxKxxxxxxxExxxxxxxxN");
    let orders = [
        batch_order(Side::Buy, f(101_010, 2), f(123_456_789, 9), 1),
        batch_order(Side::Sell, f(202_020, 2), f(987_654_321, 9), 2),
    ];
    let got = text(w.batch_add(1_234_567_890, "BTC/USD", &orders, false));
    assert_eq!(
        got,
        r#"{"method":"batch_add","params":{"orders":[{"order_type":"limit","side":"buy","order_qty":0.123456789,"limit_price":1010.10,"order_userref":1},{"order_type":"limit","side":"sell","order_qty":0.987654321,"limit_price":2020.20,"order_userref":2}],"symbol":"BTC/USD","token":"TxxxxxxxxxOxxxxxxxxxxKxxxxxxxExxxxxxxxN"},"req_id":1234567890}"#
    );
    // batch_add.md's example without `deadline` and `stp_type` (not supported) and with
    // `"validate": false` left to its default.
    let example = r#"{"method": "batch_add", "params": {"deadline": "2022-06-13T08:09:10.123456Z",
        "orders": [{"limit_price": 1010.10, "order_qty": 0.123456789, "order_type": "limit",
        "order_userref": 1, "side": "buy"}, {"limit_price": 2020.20, "order_qty": 0.987654321,
        "order_type": "limit", "order_userref": 2, "side": "sell", "stp_type": "cancel_both"}],
        "symbol": "BTC/USD", "token": "TxxxxxxxxxOxxxxxxxxxxKxxxxxxxExxxxxxxxN",
        "validate": false}, "req_id": 1234567890}"#;
    let mut want = doc(example, &["deadline", "validate"]);
    want["params"]["orders"][1]
        .as_object_mut()
        .unwrap()
        .remove("stp_type");
    assert_eq!(json(got.as_bytes()), want);

    let validated = text(w.batch_add(3, "ETH/USD", &orders, true));
    assert!(
        validated.ends_with(r#"],"symbol":"ETH/USD","validate":true,"token":"TxxxxxxxxxOxxxxxxxxxxKxxxxxxxExxxxxxxxN"},"req_id":3}"#),
        "{validated}"
    );
}

#[test]
fn batch_sizes_follow_the_docs() {
    let mut w = writer(TOKEN);
    let order = batch_order(Side::Buy, f(1, 0), f(1, 0), 1);
    let orders = [order; 16];
    for n in 0..=16 {
        let r = w.batch_add(1, "BTC/USD", &orders[..n], false);
        if (2..=15).contains(&n) {
            assert!(r.is_ok(), "batch_add of {n}");
        } else {
            assert_eq!(r, Err(OrderWriteError::BatchSize), "batch_add of {n}");
        }
    }
    let conflicting = BatchOrder {
        cl_ord_id: Some("x"),
        ..order
    };
    assert_eq!(
        w.batch_add(1, "BTC/USD", &[order, conflicting], false),
        Err(OrderWriteError::Conflicting)
    );
    let ids = ["OXXXXX-XXXXX-XXXXXX"; 51];
    for n in 0..=51 {
        for list in [OrderIds::OrderId(&ids[..n]), OrderIds::ClOrdId(&ids[..n])] {
            let r = w.batch_cancel(1, list);
            if (2..=50).contains(&n) {
                assert!(r.is_ok(), "batch_cancel of {n}");
            } else {
                assert_eq!(r, Err(OrderWriteError::BatchSize), "batch_cancel of {n}");
            }
        }
    }
}

#[test]
fn batch_cancel_uses_the_documented_member_names() {
    let mut w = writer("TxxxxxxxxxOxxxxxxxxxxKxxxxxxxExxxxxxxxN");
    assert_eq!(
        text(w.batch_cancel(
            1_234_567_890,
            OrderIds::OrderId(&["1", "2", "ORDERX-IDXXX-XXXXX3"])
        )),
        r#"{"method":"batch_cancel","params":{"orders":["1","2","ORDERX-IDXXX-XXXXX3"],"token":"TxxxxxxxxxOxxxxxxxxxxKxxxxxxxExxxxxxxxN"},"req_id":1234567890}"#
    );
    assert_eq!(
        text(w.batch_cancel(4, OrderIds::ClOrdId(&["a", "b"]))),
        r#"{"method":"batch_cancel","params":{"cl_ord_id":["a","b"],"token":"TxxxxxxxxxOxxxxxxxxxxKxxxxxxxExxxxxxxxN"},"req_id":4}"#
    );
}

#[test]
fn subscribes_to_the_private_channels() {
    let mut w = writer(TOKEN);
    let got = text(w.subscribe_executions(8, true, true));
    assert_eq!(
        got,
        r#"{"method":"subscribe","params":{"channel":"executions","token":"G38a1tGFzqGiUCmnegBcm8d4nfP3tytiNQz6tkCBYXY","snap_orders":true,"snap_trades":true},"req_id":8}"#
    );
    // executions.md "Example: Subscribe" (no req_id there).
    let example = r#"{"method": "subscribe", "params": {"channel": "executions",
        "token": "G38a1tGFzqGiUCmnegBcm8d4nfP3tytiNQz6tkCBYXY", "snap_orders": true,
        "snap_trades": true}}"#;
    let mut ours = json(got.as_bytes());
    ours.as_object_mut().unwrap().remove("req_id");
    assert_eq!(ours, doc(example, &[]));
    assert_eq!(
        text(w.subscribe_executions(9, true, false)),
        r#"{"method":"subscribe","params":{"channel":"executions","token":"G38a1tGFzqGiUCmnegBcm8d4nfP3tytiNQz6tkCBYXY","snap_orders":true,"snap_trades":false},"req_id":9}"#
    );
    assert_eq!(
        text(w.subscribe_balances(10, true)),
        r#"{"method":"subscribe","params":{"channel":"balances","token":"G38a1tGFzqGiUCmnegBcm8d4nfP3tytiNQz6tkCBYXY","snapshot":true},"req_id":10}"#
    );
    assert_eq!(
        text(w.subscribe_balances(11, false)),
        r#"{"method":"subscribe","params":{"channel":"balances","token":"G38a1tGFzqGiUCmnegBcm8d4nfP3tytiNQz6tkCBYXY","snapshot":false},"req_id":11}"#
    );
}

type Request = fn(&mut OrderWriter) -> Result<&[u8], OrderWriteError>;

/// One valid request of every method.
fn every_method() -> [(&'static str, Request); 10] {
    [
        ("add_order", |w| {
            w.add_order(
                1,
                &AddOrder {
                    cl_ord_id: Some("c\"l"),
                    post_only: true,
                    validate: true,
                    ..limit("BTC/USD")
                },
            )
        }),
        ("amend_order", |w| {
            w.amend_order(
                2,
                &AmendOrder {
                    order_id: Some("OAIYAU-LGI3M-PFM5VW"),
                    cl_ord_id: None,
                    order_qty: f(5, 1),
                    limit_price: Some(f(1, 0)),
                    post_only: true,
                    deadline: Some("2024-07-21T09:53:59.050Z"),
                },
            )
        }),
        ("cancel_order", |w| {
            w.cancel_order(3, OrderIds::OrderId(&["A", "B"]))
        }),
        ("cancel_all", |w| w.cancel_all(4)),
        ("cancel_all_orders_after", |w| {
            w.cancel_all_orders_after(5, 60)
        }),
        ("batch_add", |w| {
            let o = batch_order(Side::Sell, f(-5, 3), f(7, 0), 9);
            w.batch_add(6, "MINA/GBP", &[o, o, o], true)
        }),
        ("batch_cancel", |w| {
            w.batch_cancel(7, OrderIds::ClOrdId(&["x", "y\n"]))
        }),
        ("subscribe_executions", |w| {
            w.subscribe_executions(8, false, true)
        }),
        ("subscribe_balances", |w| w.subscribe_balances(9, true)),
        ("cancel_order by cl_ord_id", |w| {
            w.cancel_order(10, OrderIds::ClOrdId(&["z"]))
        }),
    ]
}

#[test]
fn every_request_is_valid_json_and_carries_the_token() {
    let mut w = writer(TOKEN);
    for (name, request) in every_method() {
        let bytes = request(&mut w).unwrap().to_vec();
        let v = json(&bytes);
        assert_eq!(v["params"]["token"], TOKEN, "{name}");
        assert!(v["req_id"].is_u64(), "{name}");
    }
}

#[test]
fn a_buffer_too_small_is_an_error_at_every_length() {
    for (name, request) in every_method() {
        let full = request(&mut writer(TOKEN)).unwrap().to_vec();
        for cap in 0..full.len() {
            let mut w = OrderWriter::new(cap);
            w.set_token(TOKEN.as_bytes()).unwrap();
            assert_eq!(
                request(&mut w),
                Err(OrderWriteError::BufferTooSmall),
                "{name} at {cap}"
            );
        }
        let mut exact = OrderWriter::new(full.len());
        exact.set_token(TOKEN.as_bytes()).unwrap();
        assert_eq!(request(&mut exact), Ok(&full[..]), "{name}");
    }
}

#[test]
fn without_a_token_nothing_is_written() {
    let mut w = OrderWriter::new(4096);
    assert!(!w.has_token());
    for (name, request) in every_method() {
        assert_eq!(request(&mut w), Err(OrderWriteError::NoToken), "{name}");
    }
    w.set_token(TOKEN.as_bytes()).unwrap();
    assert!(w.has_token());
    assert!(w.cancel_all(1).is_ok());
    w.clear_token();
    assert!(w.buf.iter().all(|&b| b == 0));
    for (name, request) in every_method() {
        assert_eq!(request(&mut w), Err(OrderWriteError::NoToken), "{name}");
    }
}

#[test]
fn tokens_are_checked_and_never_shown() {
    let mut w = OrderWriter::new(256);
    assert_eq!(
        format!("{w:?}"),
        r#"OrderWriter { capacity: 256, token: "<none>" }"#
    );
    let long = [b'A'; MAX_TOKEN_LEN + 1];
    for bad in [
        &b""[..],
        &long[..],
        b"has space",
        b"quo\"te",
        b"back\\slash",
        "é".as_bytes(),
    ] {
        assert_eq!(w.set_token(bad), Err(OrderWriteError::InvalidToken));
        assert!(!w.has_token());
    }
    assert_eq!(w.set_token(&long[..MAX_TOKEN_LEN]), Ok(()));
    w.set_token(TOKEN.as_bytes()).unwrap();
    // A failed set clears the previous token rather than keeping a stale one.
    assert_eq!(w.set_token(b""), Err(OrderWriteError::InvalidToken));
    assert_eq!(w.cancel_all(1), Err(OrderWriteError::NoToken));
    w.set_token(TOKEN.as_bytes()).unwrap();
    let shown = format!("{w:?}");
    assert_eq!(
        shown,
        r#"OrderWriter { capacity: 256, token: "<redacted>" }"#
    );
    let errors = [
        OrderWriteError::BufferTooSmall,
        OrderWriteError::ScaleTooLarge,
        OrderWriteError::NoToken,
        OrderWriteError::InvalidToken,
        OrderWriteError::Conflicting,
        OrderWriteError::MissingId,
        OrderWriteError::MissingLimitPrice,
        OrderWriteError::MissingExpireTime,
        OrderWriteError::BatchSize,
        OrderWriteError::TimeoutTooLong,
    ];
    for e in errors {
        assert!(!e.to_string().contains(TOKEN) && !format!("{e:?}").contains(TOKEN));
    }
}

#[test]
fn nothing_allocates_once_built() {
    let mut w = writer(TOKEN);
    let codec = ClOrdIdCodec::new(0xdead_beef);
    let mut counter = RateCounter::new(Tier::Intermediate);
    let mut stamp = [0u8; 32];
    let before = kspin_testkit::allocs();
    let mut bytes = 0;
    for i in 0..1_000u64 {
        for (_, request) in every_method() {
            bytes += request(&mut w).map_or(0, <[u8]>::len);
        }
        let id = codec.encode(i as u16, 3, kspin_api::ClientOrderId(i));
        let order = AddOrder {
            cl_ord_id: Some(id.as_str()),
            ..limit("BTC/USD")
        };
        bytes += w.add_order(i, &order).map_or(0, <[u8]>::len);
        assert!(matches!(
            codec.decode(id.as_str()),
            crate::trading::cl_ord_id::ClOrdIdMatch::Ours { .. }
        ));
        let cost =
            rate::cancel_cost(i * 1_000_000) + rate::batch_cancel_cost([i, 2 * i].into_iter());
        if !counter.would_exceed(cost, i * 10_000_000) {
            counter.charge(cost, i * 10_000_000);
        }
        bytes += write_rfc3339_utc(i * 1_000_000_007, &mut stamp);
    }
    w.clear_token();
    w.set_token(TOKEN.as_bytes()).unwrap();
    let during = kspin_testkit::allocs() - before;
    assert_eq!(during, 0, "{during} allocations");
    assert!(bytes > 0 && counter.value_at(0) > 0);
}

proptest! {
    #[test]
    fn any_text_and_number_gives_valid_json_with_exact_numbers(
        m in (i64::MIN + 1)..=i64::MAX,
        s in 0u8..=18,
        qm in 0i64..=i64::MAX,
        qs in 0u8..=18,
        symbol in any::<String>(),
        cl in any::<String>(),
        ids in proptest::collection::vec(any::<String>(), 2..5),
    ) {
        let mut w = writer(TOKEN);
        let order = AddOrder {
            limit_price: Some(f(m, s)),
            order_qty: f(qm, qs),
            cl_ord_id: Some(&cl),
            ..limit(&symbol)
        };
        let bytes = w.add_order(42, &order).unwrap().to_vec();
        let v = json(&bytes);
        prop_assert_eq!(v["params"]["symbol"].as_str(), Some(symbol.as_str()));
        prop_assert_eq!(v["params"]["cl_ord_id"].as_str(), Some(cl.as_str()));
        for (key, mantissa, scale) in [("limit_price", m, s), ("order_qty", qm, qs)] {
            let raw = sonic_rs::get(bytes.as_slice(), &["params", key]).unwrap();
            let mut want = [0u8; 48];
            let n = kspin_api::fixed::write_fixed(mantissa, scale, &mut want);
            prop_assert_eq!(raw.as_raw_str().as_bytes(), &want[..n]);
            let parsed = Decimal::parse(raw.as_raw_str().as_bytes()).unwrap();
            prop_assert_eq!(parsed.to_scale(scale), Ok(mantissa));
        }
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let bytes = w.batch_cancel(1, OrderIds::ClOrdId(&refs)).unwrap().to_vec();
        let v = json(&bytes);
        let back: Vec<&str> = v["params"]["cl_ord_id"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap())
            .collect();
        prop_assert_eq!(back, refs);
    }
}
