//! End-to-end decoding of every recorded vector and of the documented example of every message
//! kind, with exact expected values.

use kspin_api::Decimal;
use kspin_core::kraken::{
    AckMsg, Decoder, DecoderLimits, Level, Message, OrdType, PongMsg, RequestMsg, Side, StatusMsg,
    SystemStatus, UpdateKind,
};

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/vectors");

fn d(text: &str) -> Decimal {
    Decimal::parse(text.as_bytes()).unwrap()
}

fn lv(price: &str, qty: &str) -> Level {
    Level {
        price: d(price),
        qty: d(qty),
    }
}

fn lines(name: &str) -> Vec<String> {
    let text = std::fs::read_to_string(format!("{VECTORS}/{name}")).unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_vector_line_decodes_and_books_checksum() {
    let mut dec = Decoder::new(DecoderLimits::default());
    let mut books_with_checksum = 0;
    for name in [
        "real_minagbp_d25_2026-08-16.jsonl",
        "real_algousd_d10_2024-10-03.jsonl",
        "real_btcusdt_d25_snapshot.jsonl",
        "docs_spot-ws-book-v2_example.jsonl",
        "docs_websocket-v2-book_MATICUSD_example.jsonl",
    ] {
        for line in lines(name) {
            match dec.decode(line.as_bytes()) {
                Ok(Message::Book(b)) => {
                    assert!(!b.is_empty());
                    books_with_checksum += b.iter().filter(|x| x.checksum.is_some()).count();
                }
                Ok(_) => {}
                Err(e) => panic!("{name}: {e:?} on {line}"),
            }
        }
    }
    // 30 + 2 + 1 + 1 + 2 documented in the vectors README.
    assert_eq!(books_with_checksum, 36);
    // The level3 example is a channel this decoder does not handle.
    let l3 = lines("docs_spot-ws-l3-v2_example.jsonl");
    assert_eq!(
        dec.decode(l3[0].as_bytes()).unwrap_err(),
        kspin_core::kraken::DecodeError::UnknownChannel
    );
}

#[test]
fn minagbp_recording_exact() {
    let lines = lines("real_minagbp_d25_2026-08-16.jsonl");
    let mut dec = Decoder::new(DecoderLimits::default());
    match dec.decode(lines[0].as_bytes()).unwrap() {
        Message::Status(s) => assert_eq!(
            s,
            StatusMsg {
                system: SystemStatus::Online,
                api_version: "v2",
                connection_id: 3007355780899554854,
                version: "2.0.10"
            }
        ),
        other => panic!("{other:?}"),
    }
    match dec.decode(lines[1].as_bytes()).unwrap() {
        Message::Subscribed(a) => assert_eq!(
            a,
            AckMsg {
                success: true,
                req_id: None,
                channel: Some("book"),
                symbol: Some("MINA/GBP"),
                depth: Some(25),
                snapshot: Some(true),
                error: None,
                warnings_present: false,
                time_in: Some("2026-08-16T23:37:04.849274Z"),
                time_out: Some("2026-08-16T23:37:04.849309Z"),
            }
        ),
        other => panic!("{other:?}"),
    }
    match dec.decode(lines[2].as_bytes()).unwrap() {
        Message::Book(b) => {
            assert_eq!(b.kind, UpdateKind::Snapshot);
            assert_eq!(b.len(), 1);
            let x = b.get(0);
            assert_eq!(x.symbol, "MINA/GBP");
            assert_eq!(x.bids.len(), 25);
            assert_eq!(x.asks.len(), 25);
            assert_eq!(x.bids[0], lv("0.0286", "74198.19125726"));
            assert_eq!(
                x.bids[0].price,
                Decimal {
                    mantissa: 286,
                    scale: 4
                }
            );
            assert_eq!(x.bids[2], lv("0.0280", "12925.63811394"));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        dec.decode(lines[3].as_bytes()).unwrap(),
        Message::Heartbeat
    ));
    match dec.decode(lines[4].as_bytes()).unwrap() {
        Message::Book(b) => {
            assert_eq!(b.kind, UpdateKind::Update);
            let x = b.get(0);
            assert_eq!(
                x.bids,
                &[
                    lv("0.0279", "0.00000000"),
                    lv("0.0020", "5220.00000000"),
                    lv("0.0277", "1486.59884909")
                ]
            );
            assert!(x.asks.is_empty());
            assert_eq!(x.checksum, Some(222201382));
            assert_eq!(x.timestamp, Some("2026-08-16T23:37:05.723653Z"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn status_with_connection_id_above_i64() {
    let lines = lines("real_algousd_d10_2024-10-03.jsonl");
    let mut dec = Decoder::new(DecoderLimits::default());
    match dec.decode(lines[0].as_bytes()).unwrap() {
        Message::Status(s) => {
            assert_eq!(s.connection_id, 14949390454975033707);
            assert_eq!(s.version, "2.0.8");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn quoted_numbers_and_requests() {
    let mut dec = Decoder::new(DecoderLimits::default());
    let docs = lines("docs_spot-ws-book-v2_example.jsonl");
    match dec.decode(docs[0].as_bytes()).unwrap() {
        Message::Book(b) => {
            let x = b.get(0);
            assert_eq!(x.bids[0], lv("45283.5", "0.10000000"));
            assert_eq!(x.asks[9], lv("45299.5", "0.18772827"));
            assert_eq!(x.checksum, Some(3310070434));
            assert_eq!(x.timestamp, None);
        }
        other => panic!("{other:?}"),
    }
    let matic = lines("docs_websocket-v2-book_MATICUSD_example.jsonl");
    match dec.decode(matic[0].as_bytes()).unwrap() {
        Message::Request(r) => assert_eq!(
            r,
            RequestMsg {
                method: "subscribe",
                req_id: None
            }
        ),
        other => panic!("{other:?}"),
    }
    match dec.decode(matic[5].as_bytes()).unwrap() {
        Message::Request(r) => assert_eq!(r.method, "unsubscribe"),
        other => panic!("{other:?}"),
    }
    match dec.decode(br#"{"method":"ping","req_id":101}"#).unwrap() {
        Message::Request(r) => assert_eq!(
            r,
            RequestMsg {
                method: "ping",
                req_id: Some(101)
            }
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn pong_and_error_ack() {
    let mut dec = Decoder::new(DecoderLimits::default());
    let pong = br#"{"method":"pong","req_id":101,"time_in":"2023-09-24T14:10:23.799685Z","time_out":"2023-09-24T14:10:23.799703Z"}"#;
    match dec.decode(pong).unwrap() {
        Message::Pong(p) => assert_eq!(
            p,
            PongMsg {
                req_id: Some(101),
                success: true,
                error: None,
                time_in: Some("2023-09-24T14:10:23.799685Z"),
                time_out: Some("2023-09-24T14:10:23.799703Z"),
            }
        ),
        other => panic!("{other:?}"),
    }
    let err = br#"{"error":"Subscription depth not supported","method":"subscribe","success":false,"time_in":"2026-08-16T23:54:19.629313Z","time_out":"2026-08-16T23:54:19.629343Z","req_id":7}"#;
    match dec.decode(err).unwrap() {
        Message::Subscribed(a) => {
            assert!(!a.success);
            assert_eq!(a.error, Some("Subscription depth not supported"));
            assert_eq!(a.req_id, Some(7));
            assert_eq!((a.channel, a.symbol, a.depth), (None, None, None));
        }
        other => panic!("{other:?}"),
    }
    let unsub = br#"{"method":"unsubscribe","result":{"channel":"book","depth":25,"symbol":"MINA/GBP"},"success":true,"time_in":"2026-08-18T20:44:29.766514Z","time_out":"2026-08-18T20:44:29.766559Z"}"#;
    match dec.decode(unsub).unwrap() {
        Message::Unsubscribed(a) => {
            assert_eq!(
                (a.channel, a.symbol, a.depth, a.snapshot),
                (Some("book"), Some("MINA/GBP"), Some(25), None)
            );
        }
        other => panic!("{other:?}"),
    }
    let warn = br#"{"method":"subscribe","req_id":79,"result":{"channel":"instrument","snapshot":true,"warnings":["tick_size is deprecated, use price_increment"]},"success":true,"time_in":"2023-09-26T16:49:20.962586Z","time_out":"2023-09-26T16:49:20.962630Z"}"#;
    match dec.decode(warn).unwrap() {
        Message::Subscribed(a) => {
            assert_eq!(
                (a.channel, a.req_id, a.snapshot, a.warnings_present),
                (Some("instrument"), Some(79), Some(true), true)
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn trade_ticker_ohlc_instrument_docs_examples() {
    let mut dec = Decoder::new(DecoderLimits::default());
    let trade = br#"{"channel":"trade","type":"update","data":[{"symbol":"MATIC/USD","side":"sell","price":0.5117,"qty":40.0,"ord_type":"market","trade_id":4665906,"timestamp":"2023-09-25T07:49:37.708706Z"},{"symbol":"MATIC/USD","side":"buy","price":0.5118,"qty":1.5,"ord_type":"limit","trade_id":4665907,"timestamp":"2023-09-25T07:49:37.708706Z"}]}"#;
    match dec.decode(trade).unwrap() {
        Message::Trade(t) => {
            assert_eq!(t.kind, UpdateKind::Update);
            assert_eq!(t.len(), 2);
            let a = t.get(0);
            assert_eq!(
                (
                    a.symbol,
                    a.side,
                    a.price,
                    a.qty,
                    a.ord_type,
                    a.trade_id,
                    a.timestamp
                ),
                (
                    "MATIC/USD",
                    Side::Sell,
                    d("0.5117"),
                    d("40.0"),
                    OrdType::Market,
                    4665906,
                    "2023-09-25T07:49:37.708706Z"
                )
            );
            let b = t.iter().nth(1).unwrap();
            assert_eq!(
                (b.side, b.ord_type, b.trade_id),
                (Side::Buy, OrdType::Limit, 4665907)
            );
        }
        other => panic!("{other:?}"),
    }
    let ticker = br#"{"channel":"ticker","type":"snapshot","data":[{"symbol":"ALGO/USD","bid":0.10025,"bid_qty":740.0,"ask":0.10036,"ask_qty":1361.44813783,"last":0.10035,"volume":997038.98383185,"vwap":0.10148,"low":0.09979,"high":0.10285,"change":-0.00017,"change_pct":-0.17,"timestamp":"2023-09-25T09:04:31.742648Z"}]}"#;
    match dec.decode(ticker).unwrap() {
        Message::Ticker(t) => {
            let x = t.get(0);
            assert_eq!(t.kind, UpdateKind::Snapshot);
            assert_eq!(
                (x.symbol, x.bid, x.ask_qty, x.change, x.change_pct),
                (
                    "ALGO/USD",
                    d("0.10025"),
                    d("1361.44813783"),
                    d("-0.00017"),
                    d("-0.17")
                )
            );
            assert_eq!(
                (x.volume, x.vwap, x.low, x.high, x.last, x.bid_qty, x.ask),
                (
                    d("997038.98383185"),
                    d("0.10148"),
                    d("0.09979"),
                    d("0.10285"),
                    d("0.10035"),
                    d("740.0"),
                    d("0.10036")
                )
            );
            assert_eq!(x.timestamp, Some("2023-09-25T09:04:31.742648Z"));
        }
        other => panic!("{other:?}"),
    }
    let ohlc = br#"{"channel":"ohlc","type":"update","timestamp":"2023-10-04T16:26:30.524394914Z","data":[{"symbol":"MATIC/USD","open":0.5624,"high":0.5628,"low":0.5622,"close":0.5627,"trades":12,"volume":30927.68066226,"vwap":0.5626,"interval_begin":"2023-10-04T16:25:00.000000000Z","interval":5,"timestamp":"2023-10-04T16:30:00.000000Z"}]}"#;
    match dec.decode(ohlc).unwrap() {
        Message::Ohlc(o) => {
            assert_eq!(o.timestamp, Some("2023-10-04T16:26:30.524394914Z"));
            let c = o.get(0);
            assert_eq!(
                (c.symbol, c.open, c.high, c.low, c.close),
                (
                    "MATIC/USD",
                    d("0.5624"),
                    d("0.5628"),
                    d("0.5622"),
                    d("0.5627")
                )
            );
            assert_eq!(
                (c.vwap, c.volume, c.trades, c.interval_begin, c.interval),
                (
                    d("0.5626"),
                    d("30927.68066226"),
                    12,
                    "2023-10-04T16:25:00.000000000Z",
                    5
                )
            );
        }
        other => panic!("{other:?}"),
    }
    let instrument = br#"{"channel":"instrument","type":"snapshot","data":{"assets":[{"id":"BTC","status":"enabled","precision":10,"precision_display":5,"borrowable":true,"collateral_value":1.0,"margin_rate":0.01},{"id":"USD","status":"enabled","precision":4}],"pairs":[{"symbol":"BTC/USD","base":"BTC","quote":"USD","status":"online","qty_precision":8,"qty_increment":1e-08,"price_precision":1,"cost_precision":5,"ws_display_price_precision":1,"marginable":true,"has_index":true,"cost_min":0.5,"margin_initial":0.2,"position_limit_long":250,"position_limit_short":200,"tick_size":0.1,"price_increment":0.1,"qty_min":5e-05}]}}"#;
    match dec.decode(instrument).unwrap() {
        Message::Instrument(i) => {
            assert_eq!((i.kind, i.assets, i.len()), (UpdateKind::Snapshot, 2, 1));
            let p = i.get(0);
            assert_eq!(
                (p.symbol, p.base, p.quote, p.status),
                ("BTC/USD", "BTC", "USD", "online")
            );
            assert_eq!((p.price_precision, p.qty_precision), (1, 8));
            assert_eq!(
                p.qty_increment,
                Decimal {
                    mantissa: 1,
                    scale: 8
                }
            );
            assert_eq!(
                p.qty_min,
                Decimal {
                    mantissa: 5,
                    scale: 5
                }
            );
            assert_eq!(p.price_increment, d("0.1"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn field_order_is_never_relied_on() {
    let mut dec = Decoder::new(DecoderLimits::default());
    // data before channel and type; level keys reversed; unknown members everywhere.
    let frame = br#"{"x":[1,{"a":null}],"data":[{"timestamp":"2026-08-16T23:37:05.723653Z","checksum":222201382,"asks":[{"qty":1.5,"price":2.25,"z":true}],"bids":[],"symbol":"MINA/GBP","extra":{}}],"type":"update","channel":"book"}"#;
    match dec.decode(frame).unwrap() {
        Message::Book(b) => {
            assert_eq!(b.kind, UpdateKind::Update);
            let x = b.get(0);
            assert_eq!((x.symbol, x.checksum), ("MINA/GBP", Some(222201382)));
            assert_eq!(x.asks, &[lv("2.25", "1.5")]);
            assert!(x.bids.is_empty());
        }
        other => panic!("{other:?}"),
    }
    let status = br#"{"channel":"status","data":[{"api_version":"v2","connection_id":13834774380200032777,"system":"maintenance","version":"2.0.0"}],"type":"update"}"#;
    match dec.decode(status).unwrap() {
        Message::Status(s) => assert_eq!(
            (s.system, s.connection_id),
            (SystemStatus::Maintenance, 13834774380200032777)
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn several_symbols_in_one_book_message_and_escaped_symbol() {
    let mut dec = Decoder::new(DecoderLimits::default());
    let frame = br#"{"channel":"book","type":"update","data":[{"symbol":"A\/B","bids":[{"price":1,"qty":2}],"asks":[],"checksum":1},{"symbol":"C/D","bids":[],"asks":[{"price":3,"qty":4},{"price":5,"qty":6}],"checksum":2}]}"#;
    match dec.decode(frame).unwrap() {
        Message::Book(b) => {
            let all: Vec<_> = b.iter().collect();
            assert_eq!(all.len(), 2);
            assert_eq!(
                (all[0].symbol, all[0].bids, all[0].checksum),
                ("A/B", &[lv("1", "2")][..], Some(1))
            );
            assert_eq!(
                (all[1].symbol, all[1].asks, all[1].checksum),
                ("C/D", &[lv("3", "4"), lv("5", "6")][..], Some(2))
            );
        }
        other => panic!("{other:?}"),
    }
}
