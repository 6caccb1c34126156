//! Every checksum in the vendored Kraken vectors (`engine/testdata/vectors/`, copied from
//! `shared/kraken/vectors/`) must verify through `OrderBook` + `book_checksum`.
//!
//! The frames are read here with a deliberately independent extractor (sonic-rs lazy values and
//! raw number text), not with kspin's decoder, so that this test checks the book and checksum
//! alone and cross-checks the decoder's own vector tests.

use std::path::PathBuf;

use kspin_api::{Decimal, Price, Qty};
use kspin_core::book::{order_checksum, ApplyMode, OrderBook};
use sonic_rs::{JsonContainerTrait, JsonValueTrait};

fn vector(name: &str) -> String {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "..",
        "testdata",
        "vectors",
        name,
    ]
    .iter()
    .collect();
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn raw<'a>(json: &'a str, key: &str) -> Option<sonic_rs::LazyValue<'a>> {
    sonic_rs::get_from_str(json, [key]).ok()
}

fn levels(entry: &str, key: &str) -> Vec<(Decimal, Decimal)> {
    let Some(list) = raw(entry, key) else {
        return Vec::new();
    };
    let list = list.as_raw_str().to_owned();
    sonic_rs::to_array_iter(&list)
        .map(|lv| {
            let lv = lv.unwrap();
            let text = lv.as_raw_str();
            let price = raw(text, "price")
                .or_else(|| raw(text, "limit_price"))
                .unwrap();
            let qty = raw(text, "qty").or_else(|| raw(text, "order_qty")).unwrap();
            (
                Decimal::parse(price.as_raw_str().as_bytes()).unwrap(),
                Decimal::parse(qty.as_raw_str().as_bytes()).unwrap(),
            )
        })
        .collect()
}

/// One book entry of a frame: (symbol, snapshot?, bids, asks, checksum).
type Entry = (
    String,
    bool,
    Vec<(Decimal, Decimal)>,
    Vec<(Decimal, Decimal)>,
    Option<u32>,
);

fn book_entries(line: &str, channel: &str) -> Vec<Entry> {
    let is_channel = raw(line, "channel").is_some_and(|c| c.as_str() == Some(channel));
    if !is_channel {
        return Vec::new();
    }
    let snapshot = raw(line, "type")
        .and_then(|t| t.as_str().map(|s| s == "snapshot"))
        .unwrap_or(false);
    let data = raw(line, "data").unwrap();
    let data = data.as_raw_str().to_owned();
    sonic_rs::to_array_iter(&data)
        .map(|e| {
            let e = e.unwrap();
            let text = e.as_raw_str();
            let symbol = raw(text, "symbol")
                .and_then(|s| s.as_str().map(str::to_owned))
                .unwrap();
            let checksum = raw(text, "checksum")
                .and_then(|c| c.as_u64())
                .map(|c| c as u32);
            (
                symbol,
                snapshot,
                levels(text, "bids"),
                levels(text, "asks"),
                checksum,
            )
        })
        .collect()
}

/// Replays a file through one book per symbol and returns (verified, mismatched) checksums.
fn replay(name: &str, depth: usize, price_dp: u8, qty_dp: u8) -> (usize, usize) {
    let text = vector(name);
    let mut books: Vec<(String, OrderBook)> = Vec::new();
    let (mut ok, mut bad) = (0, 0);
    for (lineno, line) in text.lines().enumerate() {
        for (symbol, snapshot, bids, asks, checksum) in book_entries(line, "book") {
            let at = match books.iter().position(|(s, _)| *s == symbol) {
                Some(at) => at,
                None => {
                    books.push((symbol.clone(), OrderBook::new(depth, price_dp, qty_dp)));
                    books.len() - 1
                }
            };
            let book = &mut books[at].1;
            let mode = if snapshot {
                ApplyMode::Snapshot
            } else {
                ApplyMode::Update
            };
            book.apply(mode, bids.into_iter(), asks.into_iter())
                .unwrap();
            if let Some(want) = checksum {
                if book.checksum() == want {
                    ok += 1;
                } else {
                    eprintln!(
                        "{name}:{}: {symbol}: checksum {} != {want}",
                        lineno + 1,
                        book.checksum()
                    );
                    bad += 1;
                }
            }
        }
    }
    (ok, bad)
}

#[test]
fn documented_v2_example_verifies() {
    assert_eq!(
        replay("docs_spot-ws-book-v2_example.jsonl", 10, 1, 8),
        (1, 0)
    );
}

#[test]
fn documented_v2_example_checksum_is_3310070434() {
    let line = vector("docs_spot-ws-book-v2_example.jsonl");
    let (_, _, bids, asks, checksum) = book_entries(line.trim(), "book").remove(0);
    assert_eq!(checksum, Some(3310070434));
    let mut book = OrderBook::new(10, 1, 8);
    book.apply(ApplyMode::Snapshot, bids.into_iter(), asks.into_iter())
        .unwrap();
    assert_eq!(book.checksum(), 3310070434);
    // The documented intermediate strings, verbatim.
    let text = kspin_core::book::checksum::checksum_text(book.bids(), book.asks());
    let (asks_text, bids_text) = text.split_at(text.len() - 141);
    assert!(asks_text
        .starts_with("45285210000045286415457195345286615457110945289615456091145290215890660"));
    assert_eq!(
        bids_text,
        "452835100000004528341545820154528211000000045281010000000452803154592586452790799000045277633101034527753000000045277315460273745276615445238"
    );
}

#[test]
fn matic_docs_example_verifies_only_at_pair_precision() {
    assert_eq!(
        replay("docs_websocket-v2-book_MATICUSD_example.jsonl", 10, 4, 8),
        (2, 0)
    );
    // At any other precision the digit strings differ and no checksum matches.
    assert_eq!(
        replay("docs_websocket-v2-book_MATICUSD_example.jsonl", 10, 5, 8),
        (0, 2)
    );
    assert_eq!(
        replay("docs_websocket-v2-book_MATICUSD_example.jsonl", 10, 4, 9),
        (0, 2)
    );
}

#[test]
fn real_mina_gbp_depth_25_recording_verifies_all_30() {
    assert_eq!(
        replay("real_minagbp_d25_2026-08-16.jsonl", 25, 4, 8),
        (30, 0)
    );
}

#[test]
fn real_algo_usd_recording_verifies() {
    assert_eq!(
        replay("real_algousd_d10_2024-10-03.jsonl", 10, 5, 8),
        (2, 0)
    );
}

#[test]
fn real_btc_usdt_snapshot_verifies() {
    assert_eq!(replay("real_btcusdt_d25_snapshot.jsonl", 25, 1, 8), (1, 0));
}

#[test]
fn documented_v1_example_checksum_is_974947235() {
    // v1 uses the same string rule; the docs' book state at price 5 / volume 8 decimals.
    let doc: sonic_rs::Value =
        sonic_rs::from_str(&vector("docs_spot-ws-book-v1_example.json")).unwrap();
    let side = |key: &str| -> Vec<(Price, Qty)> {
        doc.get(key)
            .and_then(|v| v.as_array())
            .unwrap()
            .iter()
            .map(|lv| {
                let p = lv.get(0).and_then(|v| v.as_str()).unwrap();
                let q = lv.get(1).and_then(|v| v.as_str()).unwrap();
                (
                    Price::parse(p.as_bytes(), 5).unwrap(),
                    Qty::parse(q.as_bytes(), 8).unwrap(),
                )
            })
            .collect()
    };
    let mut book = OrderBook::new(10, 5, 8);
    book.apply_exact(ApplyMode::Snapshot, &side("bs"), &side("as"));
    let want: u32 = doc
        .get("expected_checksum")
        .and_then(|v| v.as_str())
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(want, 974947235);
    assert_eq!(book.checksum(), want);
}

#[test]
fn documented_level3_example_checksum_is_1063832831() {
    let text = vector("docs_spot-ws-l3-v2_example.jsonl");
    let (_, _, bids, asks, checksum) = book_entries(text.trim(), "level3").remove(0);
    let at = |v: Vec<(Decimal, Decimal)>| -> Vec<(u64, u64)> {
        v.into_iter()
            .map(|(p, q)| (p.to_scale(1).unwrap() as u64, q.to_scale(8).unwrap() as u64))
            .collect()
    };
    assert_eq!(checksum, Some(1063832831));
    assert_eq!(order_checksum(at(asks), at(bids)), 1063832831);
}
