//! The book/trade scanner and the general sonic-rs decoder give identical results (same
//! message, same error) on every vector, on a long generated stream that varies everything the
//! wire may vary, and on mutated real frames; and nothing panics on any of it.

use kspin_core::kraken::{Decoder, DecoderLimits};
use proptest::prelude::*;

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/vectors");

fn vector_frames() -> Vec<Vec<u8>> {
    let mut frames = Vec::new();
    for name in [
        "real_minagbp_d25_2026-08-16.jsonl",
        "real_algousd_d10_2024-10-03.jsonl",
        "real_btcusdt_d25_snapshot.jsonl",
        "docs_spot-ws-book-v2_example.jsonl",
        "docs_websocket-v2-book_MATICUSD_example.jsonl",
        "docs_spot-ws-l3-v2_example.jsonl",
    ] {
        let text = std::fs::read_to_string(format!("{VECTORS}/{name}")).unwrap();
        frames.extend(
            text.lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| l.as_bytes().to_vec()),
        );
    }
    frames.push(
        br#"{"channel":"trade","type":"update","data":[{"symbol":"MATIC/USD","side":"sell","price":0.5117,"qty":40.0,"ord_type":"market","trade_id":4665906,"timestamp":"2023-09-25T07:49:37.708706Z"}]}"#
            .to_vec(),
    );
    frames
}

struct Pair {
    fast: Decoder,
    general: Decoder,
}

impl Pair {
    fn new() -> Pair {
        let limits = DecoderLimits {
            max_levels: 64,
            max_books: 4,
            max_trades: 8,
            ..DecoderLimits::default()
        };
        Pair {
            fast: Decoder::new(limits),
            general: Decoder::sonic_only(limits),
        }
    }

    /// Both decoders' results, rendered; panics (fails the test) if they differ.
    fn check(&mut self, frame: &[u8]) -> Result<String, kspin_core::kraken::DecodeError> {
        let a = self.fast.decode(frame).map(|m| format!("{m:?}"));
        let b = self.general.decode(frame).map(|m| format!("{m:?}"));
        assert_eq!(
            a,
            b,
            "decoders disagree on {}",
            String::from_utf8_lossy(frame)
        );
        a
    }
}

#[test]
fn identical_on_every_vector() {
    let mut p = Pair::new();
    let mut ok = 0;
    for f in vector_frames() {
        ok += usize::from(p.check(&f).is_ok());
    }
    assert_eq!(ok, vector_frames().len() - 1); // all but the level3 example
}

/// xorshift64*: a tiny deterministic generator, so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

fn number(r: &mut Rng) -> String {
    match r.below(12) {
        0 => format!("\"{}.{}\"", r.below(100_000), r.below(1000)),
        1 => r
            .pick(&[
                "1e-08", "5e-05", "1.5E+3", "0e5", "-0", "-0.5", "1e400", "2.5e-30",
            ])
            .to_owned(),
        2 => r
            .pick(&[
                "99999999999999999999",
                "0.0000000000000000001",
                "123456789012345678.9",
                "0.10000000000000000000000",
            ])
            .to_owned(),
        3 => r
            .pick(&[
                "01", "1.", ".5", "-", "+1", "1.2.3", "\"\"", "true", "null", "[1]",
            ])
            .to_owned(),
        4 => format!("{}", r.below(1_000_000_000)),
        _ => format!(
            "{}.{:0width$}",
            r.below(200_000),
            r.below(100_000_000),
            width = (1 + r.below(8)) as usize
        ),
    }
}

fn ws(r: &mut Rng) -> &'static str {
    if r.below(8) == 0 {
        r.pick(&[" ", "\n", "\t ", "\r\n  "])
    } else {
        ""
    }
}

fn object(r: &mut Rng, mut members: Vec<String>) -> String {
    // Half the time Kraken's own order (the scanner's literal fast paths), else shuffled;
    // sometimes a duplicate or an unknown member.
    if r.below(2) == 0 {
        for i in (1..members.len()).rev() {
            members.swap(i, r.below(i as u64 + 1) as usize);
        }
    }
    if r.below(10) == 0 && !members.is_empty() {
        let dup = members[r.below(members.len() as u64) as usize].clone();
        members.push(dup);
    }
    if r.below(10) == 0 {
        members.push(format!(r#""extra{}":{{"a":[1,"x",null]}}"#, r.below(3)));
    }
    if r.below(20) == 0 && !members.is_empty() {
        members.remove(r.below(members.len() as u64) as usize);
    }
    let sep = format!("{},{}", ws(r), ws(r));
    format!("{{{}{}{}}}", ws(r), members.join(&sep), ws(r))
}

fn level(r: &mut Rng) -> String {
    let members = vec![
        format!(r#""price":{}"#, number(r)),
        format!(r#""qty":{}"#, number(r)),
    ];
    object(r, members)
}

fn string(r: &mut Rng, plain: &str) -> String {
    match r.below(25) {
        0 => "\"A\\/B\"".to_owned(),
        1 => "\"caf\u{e9}\"".to_owned(),
        2 => "5".to_owned(),
        _ => format!("\"{plain}\""),
    }
}

fn book_entry(r: &mut Rng) -> String {
    let levels = |r: &mut Rng| {
        (0..r.below(5))
            .map(|_| level(r))
            .collect::<Vec<_>>()
            .join(",")
    };
    let bids = levels(r);
    let asks = levels(r);
    let members = vec![
        format!(r#""symbol":{}"#, string(r, "BTC/USD")),
        format!(r#""bids":[{bids}]"#),
        format!(r#""asks":[{asks}]"#),
        format!(
            r#""checksum":{}"#,
            r.pick(&["3310070434", "0", "4294967295", "4294967296", "-1", "\"7\""])
        ),
        format!(
            r#""timestamp":{}"#,
            string(r, "2026-11-22T10:00:00.123456Z")
        ),
    ];
    object(r, members)
}

fn trade_entry(r: &mut Rng) -> String {
    let members = vec![
        format!(r#""symbol":{}"#, string(r, "BTC/USD")),
        format!(r#""side":"{}""#, r.pick(&["buy", "sell", "sell", "hold"])),
        format!(r#""price":{}"#, number(r)),
        format!(r#""qty":{}"#, number(r)),
        format!(
            r#""ord_type":"{}""#,
            r.pick(&["limit", "market", "iceberg"])
        ),
        format!(
            r#""trade_id":{}"#,
            r.pick(&[
                "4665906",
                "18446744073709551615",
                "18446744073709551616",
                "1.0"
            ])
        ),
        format!(
            r#""timestamp":{}"#,
            string(r, "2023-09-25T07:49:37.708706Z")
        ),
    ];
    object(r, members)
}

fn frame(r: &mut Rng) -> String {
    let trade = r.below(3) == 0;
    let n = [1, 1, 1, 1, 2, 0, 3][r.below(7) as usize];
    let data = (0..n)
        .map(|_| if trade { trade_entry(r) } else { book_entry(r) })
        .collect::<Vec<_>>()
        .join(",");
    let channel = if r.below(30) == 0 {
        "\"level3\""
    } else if trade {
        "\"trade\""
    } else {
        "\"book\""
    };
    let members = vec![
        format!(r#""channel":{channel}"#),
        format!(
            r#""type":"{}""#,
            r.pick(&["update", "update", "snapshot", "delta"])
        ),
        format!(r#""data":[{data}]"#),
    ];
    object(r, members)
}

#[test]
fn identical_on_a_long_generated_stream() {
    let mut p = Pair::new();
    let mut r = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut ok, mut err) = (0, 0);
    for _ in 0..60_000 {
        let f = frame(&mut r);
        match p.check(f.as_bytes()) {
            Ok(_) => ok += 1,
            Err(_) => err += 1,
        }
    }
    // Both outcomes are well represented, so both code paths were exercised.
    assert!(ok > 10_000 && err > 10_000, "ok {ok} err {err}");
}

fn mutate(frame: &[u8], ops: &[(u8, usize, u8)]) -> Vec<u8> {
    const INTERESTING: &[u8] = b"{}[]\",:0123456789.-eE \\tfnu\x00\x7f\xff";
    let mut f = frame.to_vec();
    for &(op, at, byte) in ops {
        if f.is_empty() {
            break;
        }
        let at = at % f.len();
        match op % 4 {
            0 => f[at] ^= 1 << (byte % 8),
            1 => f.truncate(at),
            2 => f.insert(at, INTERESTING[byte as usize % INTERESTING.len()]),
            _ => {
                f.remove(at);
            }
        }
    }
    f
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_real_frames_never_panic_and_agree(
        which in 0usize..64,
        ops in proptest::collection::vec((any::<u8>(), any::<usize>(), any::<u8>()), 1..4),
    ) {
        let frames = vector_frames();
        let f = mutate(&frames[which % frames.len()], &ops);
        let mut p = Pair::new();
        let _ = p.check(&f);
    }
}
