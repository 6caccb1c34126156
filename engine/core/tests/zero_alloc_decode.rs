//! Proves the decoder's zero-allocation guarantee with a counting global allocator: after
//! warm-up, decoding the real recordings and a long synthetic stream of book and trade frames
//! (both through the scanner and through the general sonic-rs path) allocates nothing.
//!
//! The counter is per thread, so the test harness's own threads cannot disturb it.

kspin_testkit::install_counting_allocator!();

use kspin_testkit::allocs;
use std::io::Write as _;

use kspin_core::kraken::{Decoder, DecoderLimits, Message};

/// Decodes `frame` and returns (allocations during the call, message kind).
fn decode_counted(dec: &mut Decoder, frame: &[u8]) -> (u64, &'static str) {
    let before = allocs();
    let kind = match dec.decode(frame) {
        Ok(Message::Book(b)) => {
            // Touch every level so nothing is lazily deferred.
            let n: usize = b.iter().map(|x| x.bids.len() + x.asks.len()).sum();
            std::hint::black_box(n);
            "book"
        }
        Ok(Message::Trade(t)) => {
            std::hint::black_box(t.iter().map(|x| x.trade_id).sum::<u64>());
            "trade"
        }
        Ok(Message::Heartbeat) => "heartbeat",
        Ok(Message::Status(_)) => "status",
        Ok(Message::Subscribed(_) | Message::Unsubscribed(_)) => "ack",
        Ok(Message::Request(_)) => "request",
        Ok(_) => "other",
        Err(_) => "error",
    };
    (allocs() - before, kind)
}

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/vectors");

#[test]
fn decoding_allocates_nothing_after_warm_up() {
    let mut frames: Vec<Vec<u8>> = Vec::new();
    for name in [
        "real_minagbp_d25_2026-08-16.jsonl",
        "real_algousd_d10_2024-10-03.jsonl",
        "real_btcusdt_d25_snapshot.jsonl",
        "docs_spot-ws-book-v2_example.jsonl",
        "docs_websocket-v2-book_MATICUSD_example.jsonl",
    ] {
        let text = std::fs::read_to_string(format!("{VECTORS}/{name}")).unwrap();
        frames.extend(
            text.lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| l.as_bytes().to_vec()),
        );
    }
    // Data before channel: the general path keeps the raw text and parses it afterwards.
    frames.push(br#"{"data":[{"symbol":"BTC/USD","bids":[{"price":1.5,"qty":2}],"asks":[]}],"type":"update","channel":"book"}"#.to_vec());
    frames.push(br#"{"channel":"heartbeat"}"#.to_vec());
    // The authenticated connection's messages (executions with fees, balances, order responses).
    frames.push(br#"{"channel":"executions","type":"update","data":[{"order_id":"OK4GJX-KSTLS-7DZZO5","order_userref":3,"exec_id":"TGBB7L-HT5LX-J3BZ4A","exec_type":"trade","trade_id":62887576,"symbol":"BTC/USD","side":"sell","last_qty":0.005,"last_price":26599.9,"liquidity_ind":"t","cost":132.9995,"order_type":"limit","timestamp":"2023-09-22T10:33:05.709993Z","order_status":"partially_filled","cum_qty":0.005,"cum_cost":132.9995,"avg_price":26599.9,"fee_usd_equiv":0.3458,"fees":[{"asset":"USD","qty":0.3458}]}],"sequence":10}"#.to_vec());
    frames.push(br#"{"channel":"balances","type":"snapshot","data":[{"asset":"BTC","asset_class":"currency","balance":1.2,"wallets":[{"type":"spot","id":"main","balance":1.2}]}],"sequence":1}"#.to_vec());
    frames.push(br#"{"method":"batch_add","req_id":1234567890,"result":[{"order_id":"ORDERX-IDXXX-XXXXX1","order_userref":1},{"order_id":"ORDERX-IDXXX-XXXXX2","order_userref":2}],"success":true,"time_in":"2022-06-13T08:09:10.123456Z","time_out":"2022-06-13T08:09:10.7890123"}"#.to_vec());
    frames.push(br#"{"method":"pong","req_id":101,"time_in":"2023-09-24T14:10:23.799685Z","time_out":"2023-09-24T14:10:23.799703Z"}"#.to_vec());

    // The counter works: building a decoder allocates its arena.
    let before = allocs();
    let mut fast = Decoder::new(DecoderLimits::default());
    let mut general = Decoder::sonic_only(DecoderLimits::default());
    assert!(
        allocs() - before >= 2 * 7,
        "counting allocator is not counting"
    );
    // Warm-up (lazy statics in dependencies, if any).
    for f in &frames {
        let _ = fast.decode(f);
        let _ = general.decode(f);
    }
    let mut books = 0;
    for dec in [&mut fast, &mut general] {
        for f in &frames {
            let (n, kind) = decode_counted(dec, f);
            assert_ne!(kind, "error", "{}", String::from_utf8_lossy(f));
            assert_eq!(
                n,
                0,
                "{kind} frame allocated {n} times: {}",
                String::from_utf8_lossy(f)
            );
            books += usize::from(kind == "book");
        }
    }
    assert!(books >= 2 * 36);

    // A long synthetic stream, generated into one reused buffer (its growth happens before the
    // counted call).
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut total = 0u64;
    let mut counted = [0usize; 2];
    for i in 0..120_000u64 {
        buf.clear();
        let price = 100_000 + (i * 7919) % 9_000_000;
        if i % 3 == 2 {
            write!(
                buf,
                r#"{{"channel":"trade","type":"update","data":[{{"symbol":"BTC/USD","side":"{}","price":{}.{},"qty":0.{:08},"ord_type":"{}","trade_id":{},"timestamp":"2026-11-22T10:00:00.{:06}Z"}}]}}"#,
                if i % 2 == 0 { "buy" } else { "sell" },
                price / 10,
                price % 10,
                i % 100_000_000,
                if i % 5 == 0 { "market" } else { "limit" },
                i,
                i % 1_000_000
            )
            .unwrap();
        } else {
            write!(
                buf,
                r#"{{"channel":"book","type":"update","data":[{{"symbol":"MINA/GBP","bids":[{{"price":0.{:04},"qty":{}.{:08}}}],"asks":[{{"price":0.{:04},"qty":0.00000000}}],"checksum":{},"timestamp":"2026-08-16T23:37:05.{:06}Z"}}]}}"#,
                price % 10_000,
                i,
                i % 100_000_000,
                (price + 1) % 10_000,
                (i * 2_654_435_761) % (1 << 32),
                i % 1_000_000
            )
            .unwrap();
        }
        let dec = if i % 2 == 0 { &mut fast } else { &mut general };
        let (n, kind) = decode_counted(dec, &buf);
        assert!(
            kind == "book" || kind == "trade",
            "{kind}: {}",
            String::from_utf8_lossy(&buf)
        );
        counted[usize::from(kind == "trade")] += 1;
        total += n;
    }
    assert_eq!(total, 0, "synthetic stream allocated");
    assert_eq!(counted, [80_000, 40_000]);
}
