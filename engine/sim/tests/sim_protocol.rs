//! End-to-end: the venue's request/response protocol and channels match Kraken's v2 shapes
//! (PROTOCOL.md §1.2–1.8): status, acks and error acks, ping/pong, heartbeat, instrument,
//! trade and ticker consistent with the book.

mod sim_support;

use std::time::Duration;

use kspin_api::{Decimal, Price, Qty};
use kspin_sim::{instruments, SimConfig, SimVenue, VenueHandle};
use sim_support::*;

fn paused_venue() -> VenueHandle {
    SimVenue::start(SimConfig {
        start_paused: true,
        rate_per_sec: 2_000,
        ..SimConfig::default()
    })
    .unwrap()
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[test]
fn status_frame_on_connect_with_u64_connection_ids() {
    let venue = paused_venue();
    let mut ids = Vec::new();
    for _ in 0..2 {
        let mut c = connect(&venue);
        let s = c.text();
        let v = json(&s);
        assert_eq!(v["channel"], "status");
        assert_eq!(v["type"], "update");
        assert_eq!(v["data"][0]["version"], "2.0.10");
        assert_eq!(v["data"][0]["system"], "online");
        assert_eq!(v["data"][0]["api_version"], "v2");
        let data = array(&raw(&s, "data").unwrap()).remove(0);
        ids.push(raw(&data, "connection_id").unwrap().parse::<u64>().unwrap());
    }
    assert!(ids[0] > i64::MAX as u64, "first connection id exceeds i64");
    assert!(ids[1] <= i64::MAX as u64);
}

#[test]
fn acks_errors_ping_and_unsubscribe() {
    let venue = paused_venue();
    let mut c = connect(&venue);
    c.text();
    c.send(r#"{"method":"subscribe","params":{"channel":"book","symbol":["BTC/USD"],"depth":27,"snapshot":true},"req_id":27}"#);
    let e = json(&c.text());
    assert_eq!(e["error"], "Subscription depth not supported");
    assert_eq!(e["method"], "subscribe");
    assert_eq!(e["success"], false);
    assert_eq!(e["req_id"], 27);
    assert!(e.get("result").is_none());
    assert!(e["time_in"].as_str().unwrap().ends_with('Z'));
    assert!(e["time_out"].as_str().unwrap().len() == "2026-08-16T23:54:19.629343Z".len());

    c.send(r#"{"method":"subscribe","params":{"channel":"book","symbol":["XBT/USD","BTC/USD"],"depth":10},"req_id":8}"#);
    let e = json(&c.text());
    assert_eq!(e["error"], "Currency pair not supported XBT/USD");
    assert_eq!(e["success"], false);
    assert_eq!(e["symbol"], "XBT/USD");
    assert_eq!(e["req_id"], 8);
    let ack = c.text();
    assert!(ack.starts_with(
        r#"{"method":"subscribe","result":{"channel":"book","depth":10,"snapshot":true,"symbol":"BTC/USD"},"success":true,"time_in":""#
    ), "{ack}");
    assert!(ack.ends_with(r#","req_id":8}"#), "{ack}");
    let snap = c.text();
    assert_eq!(book_entries(&snap)[0].bids.len(), 10);

    c.send(r#"{"method":"ping","req_id":101}"#);
    let p = json(&c.text());
    assert_eq!(p["method"], "pong");
    assert_eq!(p["req_id"], 101);
    assert!(p["time_in"].is_string() && p["time_out"].is_string());

    c.send(r#"{"method":"unsubscribe","params":{"channel":"book","symbol":["BTC/USD"],"depth":10},"req_id":9}"#);
    let u = c.text();
    assert!(u.starts_with(
        r#"{"method":"unsubscribe","result":{"channel":"book","depth":10,"symbol":"BTC/USD"},"success":true"#
    ), "{u}");
    c.send(
        r#"{"method":"unsubscribe","params":{"channel":"book","symbol":["BTC/USD"]},"req_id":10}"#,
    );
    assert_eq!(json(&c.text())["error"], "Subscription Not Found");
    c.send("not json");
    assert_eq!(json(&c.text())["error"], "Malformed request");
    c.send(r#"{"method":"fly"}"#);
    assert_eq!(json(&c.text())["error"], "Method not found");
    // The connection stays usable after errors.
    c.send(r#"{"method":"ping","req_id":102}"#);
    assert_eq!(json(&c.text())["req_id"], 102);
    let s = venue.stats();
    assert_eq!((s.acks, s.pongs), (2, 2));
    assert_eq!(s.error_acks, 5);
}

#[test]
fn instrument_snapshot_lists_pairs_at_their_precisions() {
    let venue = paused_venue();
    let mut c = connect(&venue);
    c.text();
    c.send(r#"{"method":"subscribe","params":{"channel":"instrument"},"req_id":79}"#);
    let ack = json(&c.text());
    assert_eq!(ack["result"]["channel"], "instrument");
    assert_eq!(ack["req_id"], 79);
    let snap = c.text();
    assert!(snap.contains(r#""qty_increment":1e-08"#));
    let pairs = array(&raw(&raw(&snap, "data").unwrap(), "pairs").unwrap());
    assert_eq!(pairs.len(), instruments().len());
    for p in &pairs {
        let sym = str_field(p, "symbol").unwrap();
        let known = instruments().iter().find(|i| i.symbol == sym).unwrap();
        let pp: u8 = raw(p, "price_precision").unwrap().parse().unwrap();
        let qp: u8 = raw(p, "qty_precision").unwrap().parse().unwrap();
        assert_eq!((pp, qp), (known.price_precision, known.qty_precision));
        // price_increment is 10^-price_precision, in Kraken's float notation.
        let inc = Decimal::parse(raw(p, "price_increment").unwrap().as_bytes()).unwrap();
        assert_eq!(Price::from_decimal(inc, pp).unwrap(), Price(1));
    }
    let mut scales: Vec<u8> = instruments().iter().map(|p| p.price_precision).collect();
    scales.sort_unstable();
    scales.dedup();
    assert!(scales.len() >= 4);
}

#[test]
fn heartbeat_when_idle() {
    let venue = SimVenue::start(SimConfig {
        rate_per_sec: 0,
        heartbeat: Duration::from_millis(30),
        ..SimConfig::default()
    })
    .unwrap();
    let mut c = connect(&venue);
    c.text();
    c.send(
        r#"{"method":"subscribe","params":{"channel":"ticker","symbol":["ETH/USD"]},"req_id":1}"#,
    );
    assert_eq!(json(&c.text())["success"], true);
    assert_eq!(json(&c.text())["type"], "snapshot");
    assert_eq!(c.text(), r#"{"channel":"heartbeat"}"#);
    assert_eq!(c.text(), r#"{"channel":"heartbeat"}"#);
}

fn price(text: &str, pp: u8) -> Price {
    Price::from_decimal(Decimal::parse(text.as_bytes()).unwrap(), pp).unwrap()
}

fn qty(text: &str, qp: u8) -> Qty {
    Qty::from_decimal(Decimal::parse(text.as_bytes()).unwrap(), qp).unwrap()
}

#[test]
fn trades_and_ticker_follow_the_book() {
    let venue = paused_venue();
    let sym = "SOL/USD";
    let (pp, qp) = (2, 8);
    let mut c = connect(&venue);
    c.text();
    let mut books = ClientBooks::default();
    subscribe_book(&mut c, &mut books, &[sym], 10, 1);
    c.send(r#"{"method":"subscribe","params":{"channel":"trade","symbol":["SOL/USD"],"snapshot":true},"req_id":2}"#);
    c.send(
        r#"{"method":"subscribe","params":{"channel":"ticker","symbol":["SOL/USD"]},"req_id":3}"#,
    );
    let mut pending = 5; // book ack + snapshot, trade ack + snapshot, ticker ack (+ snapshot below)
    while pending > 0 {
        let t = c.text();
        books.apply(&t);
        pending -= 1;
    }
    assert_eq!(json(&c.text())["type"], "snapshot"); // ticker snapshot
    venue.resume();
    let mut trades = 0;
    let mut tickers = 0;
    let mut last_trade = None;
    let mut last_id = 0u64;
    while trades < 100 || tickers < 50 {
        let t = c.text();
        match channel(&t).as_deref() {
            Some("book") => assert!(books.apply(&t).iter().all(|r| *r == Applied::Ok)),
            Some("trade") => {
                let book = &books.books[sym];
                for tr in array(&raw(&t, "data").unwrap()) {
                    let p = price(&raw(&tr, "price").unwrap(), pp);
                    assert!(qty(&raw(&tr, "qty").unwrap(), qp).0 > 0);
                    let id: u64 = raw(&tr, "trade_id").unwrap().parse().unwrap();
                    assert!(id > last_id, "trade ids increase");
                    last_id = id;
                    // The book update for the trade came first: what was hit is gone or smaller.
                    match str_field(&tr, "side").as_deref() {
                        Some("buy") => assert!(book.best_ask().unwrap().0 >= p),
                        Some("sell") => assert!(book.best_bid().unwrap().0 <= p),
                        other => panic!("side {other:?}"),
                    }
                    last_trade = Some(p);
                    trades += 1;
                }
            }
            Some("ticker") => {
                let v = json(&t);
                assert_eq!(v["type"], "update");
                let d = array(&raw(&t, "data").unwrap()).remove(0);
                let book = &books.books[sym];
                let bid = (
                    price(&raw(&d, "bid").unwrap(), pp),
                    qty(&raw(&d, "bid_qty").unwrap(), qp),
                );
                let ask = (
                    price(&raw(&d, "ask").unwrap(), pp),
                    qty(&raw(&d, "ask_qty").unwrap(), qp),
                );
                assert_eq!(Some(bid), book.best_bid());
                assert_eq!(Some(ask), book.best_ask());
                assert_eq!(Some(price(&raw(&d, "last").unwrap(), pp)), last_trade);
                let low = price(&raw(&d, "low").unwrap(), pp);
                let high = price(&raw(&d, "high").unwrap(), pp);
                assert!(low <= high);
                tickers += 1;
            }
            Some("heartbeat") => {}
            other => panic!("unexpected {other:?}: {t}"),
        }
    }
}

#[test]
fn wrong_path_is_not_found_and_unknown_symbol_fails_start() {
    let venue = paused_venue();
    let tcp = std::net::TcpStream::connect(venue.local_addr()).unwrap();
    let url = format!("ws://127.0.0.1:{}/", venue.local_addr().port());
    let err = tungstenite::client(url.as_str(), tcp)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("404"), "{err}");
    let bad = SimVenue::start(SimConfig {
        symbols: vec!["XBT/USD".into()],
        ..SimConfig::default()
    });
    assert!(matches!(bad, Err(kspin_sim::SimError::UnknownSymbol(s)) if s == "XBT/USD"));
}
