//! The seed corpora and regression inputs, generated from the vendored Kraken recordings
//! (engine/testdata/vectors/) and the repository's configs, so that they can be rebuilt when a
//! target's input format changes: `cargo test -p kspin-fuzz -- --ignored write_seed_corpora`.
//!
//! Owns the seed inputs of every target ([`seeds`]) and the regression inputs of the crashes
//! the project has had ([`regressions`]). Invariants: generation is deterministic (fixed keys,
//! fixed stamps), writes only named seed files (what fuzzing added to a corpus is kept) and
//! keeps the corpora small (a few hundred KB in all). Nothing here runs while fuzzing.

use std::path::{Path, PathBuf};

use kspin_runtime::capture::format::{encode_header, encode_record};
use kspin_runtime::capture::{CaptureHeader, CaptureSymbol, RecordKind};

use crate::targets::{
    TlsFuzzKeys, MODE_SCRIPT, OP_RAW, OP_SEAL_AND_FLIP, OP_SEAL_APP_DATA, OP_SEAL_INNER,
    SUITE_AES_256_GCM,
};

/// One named input of one target.
pub struct Seed {
    pub target: &'static str,
    pub name: String,
    pub bytes: Vec<u8>,
}

fn seed(target: &'static str, name: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Seed {
    Seed {
        target,
        name: name.into(),
        bytes: bytes.into(),
    }
}

/// The repository root (the fuzz crate is `<root>/fuzz`).
fn repo_root() -> PathBuf {
    crate::fuzz_dir().join("..")
}

/// The vendored recordings: (file stem, contents).
fn vectors() -> std::io::Result<Vec<(String, Vec<u8>)>> {
    let dir = repo_root().join("engine/testdata/vectors");
    let mut files = Vec::new();
    for path in crate::replay::input_files(&dir)? {
        let is_frames = matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("jsonl" | "json")
        );
        if is_frames {
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            files.push((stem, std::fs::read(&path)?));
        }
    }
    Ok(files)
}

fn lines(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    text.split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.is_empty())
}

/// Frames of the kinds the recordings lack (ticker, ohlc, instrument, trade, pong, acks),
/// as engine/core/tests/decode_vectors.rs has them.
const OTHER_FRAMES: [(&str, &str); 11] = [
    ("ping", r#"{"method":"ping","req_id":101}"#),
    (
        "pong",
        r#"{"method":"pong","req_id":101,"time_in":"2023-09-24T14:10:23.799685Z","time_out":"2023-09-24T14:10:23.799703Z"}"#,
    ),
    (
        "subscribe-error",
        r#"{"error":"Subscription depth not supported","method":"subscribe","success":false,"time_in":"2026-08-16T23:54:19.629313Z","time_out":"2026-08-16T23:54:19.629343Z","req_id":7}"#,
    ),
    (
        "unsubscribe-ack",
        r#"{"method":"unsubscribe","result":{"channel":"book","depth":25,"symbol":"MINA/GBP"},"success":true,"time_in":"2026-08-18T20:44:29.766514Z","time_out":"2026-08-18T20:44:29.766559Z"}"#,
    ),
    (
        "instrument-ack",
        r#"{"method":"subscribe","req_id":79,"result":{"channel":"instrument","snapshot":true,"warnings":["tick_size is deprecated, use price_increment"]},"success":true,"time_in":"2023-09-26T16:49:20.962586Z","time_out":"2023-09-26T16:49:20.962630Z"}"#,
    ),
    (
        "trade",
        r#"{"channel":"trade","type":"update","data":[{"symbol":"MATIC/USD","side":"sell","price":0.5117,"qty":40.0,"ord_type":"market","trade_id":4665906,"timestamp":"2023-09-25T07:49:37.708706Z"},{"symbol":"MATIC/USD","side":"buy","price":0.5118,"qty":1.5,"ord_type":"limit","trade_id":4665907,"timestamp":"2023-09-25T07:49:37.708706Z"}]}"#,
    ),
    (
        "ticker",
        r#"{"channel":"ticker","type":"snapshot","data":[{"symbol":"ALGO/USD","bid":0.10025,"bid_qty":740.0,"ask":0.10036,"ask_qty":1361.44813783,"last":0.10035,"volume":997038.98383185,"vwap":0.10148,"low":0.09979,"high":0.10285,"change":-0.00017,"change_pct":-0.17,"timestamp":"2023-09-25T09:04:31.742648Z"}]}"#,
    ),
    (
        "ohlc",
        r#"{"channel":"ohlc","type":"update","timestamp":"2023-10-04T16:26:30.524394914Z","data":[{"symbol":"MATIC/USD","open":0.5624,"high":0.5628,"low":0.5622,"close":0.5627,"trades":12,"volume":30927.68066226,"vwap":0.5626,"interval_begin":"2023-10-04T16:25:00.000000000Z","interval":5,"timestamp":"2023-10-04T16:30:00.000000Z"}]}"#,
    ),
    (
        "instrument",
        r#"{"channel":"instrument","type":"snapshot","data":{"assets":[{"id":"BTC","status":"enabled","precision":10,"precision_display":5,"borrowable":true,"collateral_value":1.0,"margin_rate":0.01},{"id":"USD","status":"enabled","precision":4}],"pairs":[{"symbol":"BTC/USD","base":"BTC","quote":"USD","status":"online","qty_precision":8,"qty_increment":1e-08,"price_precision":1,"cost_precision":5,"ws_display_price_precision":1,"marginable":true,"has_index":true,"cost_min":0.5,"margin_initial":0.2,"position_limit_long":250,"position_limit_short":200,"tick_size":0.1,"price_increment":0.1,"qty_min":5e-05}]}}"#,
    ),
    (
        "book-reordered-unknown-fields",
        r#"{"x":[1,{"a":null}],"data":[{"timestamp":"2026-08-16T23:37:05.723653Z","checksum":222201382,"asks":[{"qty":1.5,"price":2.25,"z":true}],"bids":[],"symbol":"MINA/GBP","extra":{}}],"type":"update","channel":"book"}"#,
    ),
    (
        "book-two-symbols-escaped",
        r#"{"channel":"book","type":"update","data":[{"symbol":"A\/B","bids":[{"price":1,"qty":2}],"asks":[],"checksum":1},{"symbol":"C/D","bids":[],"asks":[{"price":3,"qty":4},{"price":5,"qty":6}],"checksum":2}]}"#,
    ),
];

/// The frame that aborted the engine before c52fc3b: 80,000 nested arrays overflowed the stack
/// in sonic-rs's skipping of an unread value.
pub fn deep_nesting_frame() -> Vec<u8> {
    const DEPTH: usize = 80_000;
    let mut frame = br#"{"channel":"heartbeat","x":"#.to_vec();
    frame.extend(std::iter::repeat_n(b'[', DEPTH));
    frame.extend(std::iter::repeat_n(b']', DEPTH));
    frame.push(b'}');
    frame
}

/// Regression inputs: crashes the project has had, replayed by `cargo test` from `artifacts/`.
pub fn regressions() -> Vec<Seed> {
    vec![
        seed(
            "decode_frame",
            "crash-deep-nesting-80000",
            deep_nesting_frame(),
        ),
        seed(
            "book_sequence",
            "crash-deep-nesting-80000",
            deep_nesting_frame(),
        ),
    ]
}

fn decode_frame_seeds(vectors: &[(String, Vec<u8>)]) -> Vec<Seed> {
    let mut seeds = Vec::new();
    for (stem, text) in vectors {
        if stem.ends_with("v1_example") {
            // Not JSON lines: one v1 object (a v2 decoder must refuse it cleanly).
            seeds.push(seed("decode_frame", stem.clone(), text.clone()));
            continue;
        }
        for (i, line) in lines(text).enumerate() {
            seeds.push(seed("decode_frame", format!("{stem}-{:02}", i + 1), line));
        }
    }
    for (name, frame) in OTHER_FRAMES {
        seeds.push(seed("decode_frame", name, frame));
    }
    seeds
}

fn book_sequence_seeds(vectors: &[(String, Vec<u8>)]) -> Vec<Seed> {
    let mut seeds = Vec::new();
    for (stem, text) in vectors
        .iter()
        .filter(|(stem, _)| !stem.ends_with("v1_example"))
    {
        seeds.push(seed("book_sequence", stem.clone(), text.clone()));
    }
    // The MINA/GBP recording with a wrong checksum in its fifth update, then its snapshot again
    // and every update: mismatch, stale, resync from the snapshot, live again.
    if let Some((_, text)) = vectors.iter().find(|(s, _)| s.starts_with("real_minagbp")) {
        let all: Vec<&[u8]> = lines(text).collect();
        if let Some(snapshot_at) = all
            .iter()
            .position(|l| l.windows(10).any(|w| w == b"\"snapshot\""))
        {
            let mut out = Vec::new();
            for (i, line) in all.iter().enumerate() {
                let mut line = line.to_vec();
                if i == snapshot_at + 5 {
                    line = String::from_utf8_lossy(&line)
                        .replacen("\"checksum\":", "\"checksum\":0,\"was\":", 1)
                        .into_bytes();
                }
                out.extend_from_slice(&line);
                out.push(b'\n');
            }
            for line in &all[snapshot_at..] {
                out.extend_from_slice(line);
                out.push(b'\n');
            }
            seeds.push(seed("book_sequence", "minagbp-mismatch-resync", out));
        }
        // An instrument frame giving MINA/GBP's precision before its book.
        let mut with_precision = br#"{"channel":"instrument","type":"snapshot","data":{"assets":[],"pairs":[{"symbol":"MINA/GBP","base":"MINA","quote":"GBP","status":"online","qty_precision":8,"qty_increment":1e-08,"price_precision":4,"price_increment":0.0001,"qty_min":1}]}}"#.to_vec();
        with_precision.push(b'\n');
        with_precision.extend_from_slice(text);
        seeds.push(seed(
            "book_sequence",
            "minagbp-instrument-first",
            with_precision,
        ));
    }
    seeds
}

/// An unmasked server frame (RFC 6455 §5.2); `long_form` writes a 64-bit length whatever the
/// size (legal for the decoder, though not minimal).
fn ws_frame(opcode: u8, fin: bool, payload: &[u8], long_form: bool) -> Vec<u8> {
    let mut frame = vec![opcode | if fin { 0x80 } else { 0 }];
    if long_form || payload.len() > 0xffff {
        frame.push(127);
        frame.extend_from_slice(&(payload.len() as u64).to_be_bytes());
    } else if payload.len() >= 126 {
        frame.push(126);
        frame.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    } else {
        frame.push(payload.len() as u8);
    }
    frame.extend_from_slice(payload);
    frame
}

fn ws_frames_seeds(vectors: &[(String, Vec<u8>)]) -> Vec<Seed> {
    const TEXT: u8 = 0x1;
    const CONTINUATION: u8 = 0x0;
    const CLOSE: u8 = 0x8;
    const PING: u8 = 0x9;
    const PONG: u8 = 0xA;
    let Some((_, mina)) = vectors.iter().find(|(s, _)| s.starts_with("real_minagbp")) else {
        return Vec::new();
    };
    let frames: Vec<&[u8]> = lines(mina).collect();
    let mut stream = Vec::new();
    for frame in frames.iter().take(4) {
        stream.extend(ws_frame(TEXT, true, frame, false));
    }
    stream.extend(ws_frame(PING, true, b"kspin", false));
    if let Some(update) = frames.get(4) {
        let (a, b) = update.split_at(update.len() / 2);
        stream.extend(ws_frame(TEXT, false, a, false));
        stream.extend(ws_frame(PONG, true, b"", false));
        stream.extend(ws_frame(CONTINUATION, true, b, false));
    }
    stream.extend(ws_frame(TEXT, true, br#"{"channel":"heartbeat"}"#, true));
    stream.extend(ws_frame(
        CLOSE,
        true,
        &[0x03, 0xe8, b'b', b'y', b'e'],
        false,
    ));
    // Byte 0: piece size - 1; byte 1: message limit index (3 = 1000 bytes, 4 = 70,000).
    let mut seeds = Vec::new();
    for (name, piece, limit) in [
        ("stream-whole-pieces", 255u8, 4u8),
        ("stream-7-byte-pieces", 6, 4),
        ("stream-1-byte-pieces", 0, 4),
        ("stream-small-limit", 12, 3),
    ] {
        let mut input = vec![piece, limit];
        input.extend_from_slice(&stream);
        seeds.push(seed("ws_frames", name, input));
    }
    let mut fragmented = vec![2, 1];
    for part in [&b"{\"chan"[..], b"nel\":\"hea", b"rtbeat\"}"] {
        let opcode = if part.starts_with(b"{") {
            TEXT
        } else {
            CONTINUATION
        };
        fragmented.extend(ws_frame(opcode, part.ends_with(b"}"), part, false));
    }
    seeds.push(seed("ws_frames", "fragmented-three-parts", fragmented));
    seeds
}

/// A script operation of the `tls_records` target.
fn tls_op(op: u8, payload: &[u8]) -> Vec<u8> {
    let mut bytes = vec![op];
    bytes.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    bytes.extend_from_slice(payload);
    bytes
}

fn tls_records_seeds(vectors: &[(String, Vec<u8>)]) -> Vec<Seed> {
    let mut seeds = Vec::new();
    let frames: Vec<Vec<u8>> = vectors
        .iter()
        .find(|(s, _)| s.starts_with("real_minagbp"))
        .map(|(_, text)| {
            lines(text)
                .take(4)
                .map(|l| ws_frame(0x1, true, l, false))
                .collect()
        })
        .unwrap_or_default();
    for (suite, mode) in [("chacha20", 0u8), ("aes256gcm", SUITE_AES_256_GCM)] {
        let keys = TlsFuzzKeys::for_input(mode);
        // Wire mode: WebSocket frames in records 0.., then close_notify.
        let mut wire = vec![mode];
        for (seq, frame) in frames.iter().enumerate() {
            wire.extend(keys.seal_app_data(seq as u64, frame));
        }
        let mut close_notify = vec![1, 0];
        close_notify.push(21);
        wire.extend(keys.seal(frames.len() as u64, &close_notify));
        seeds.push(seed(
            "tls_records",
            format!("wire-{suite}-frames-close-notify"),
            wire,
        ));
        // Wire mode: padding, an empty record, a fatal alert.
        let mut wire = vec![mode];
        wire.extend(keys.seal(0, b"{\"channel\":\"heartbeat\"}\x17\0\0\0\0"));
        wire.extend(keys.seal_app_data(1, b""));
        wire.extend(keys.seal(2, &[2, 40, 21]));
        seeds.push(seed(
            "tls_records",
            format!("wire-{suite}-padding-alert"),
            wire,
        ));
        // Script mode: every operation once, a KeyUpdate and a NewSessionTicket.
        let mut script = vec![mode | MODE_SCRIPT];
        if let Some(first) = frames.first() {
            script.extend(tls_op(OP_SEAL_APP_DATA, first));
        }
        script.extend(tls_op(
            OP_SEAL_INNER,
            b"{\"channel\":\"heartbeat\"}\x17\0\0",
        ));
        script.extend(tls_op(
            OP_SEAL_AND_FLIP,
            b"\x00\x09\x80{\"channel\":\"heartbeat\"}",
        ));
        script.extend(tls_op(OP_RAW, b"\x17\x03\x03\x00\x20"));
        seeds.push(seed(
            "tls_records",
            format!("script-{suite}-every-op"),
            script,
        ));
        let mut script = vec![mode | MODE_SCRIPT];
        script.extend(tls_op(OP_SEAL_APP_DATA, b"before"));
        script.extend(tls_op(OP_SEAL_INNER, &[24, 0, 0, 1, 1, 22]));
        seeds.push(seed(
            "tls_records",
            format!("script-{suite}-key-update"),
            script,
        ));
        let mut script = vec![mode | MODE_SCRIPT];
        script.extend(tls_op(OP_SEAL_INNER, &[4, 0, 0, 4, 0, 0, 0, 0, 22]));
        seeds.push(seed(
            "tls_records",
            format!("script-{suite}-session-ticket"),
            script,
        ));
    }
    seeds
}

fn capture_header() -> CaptureHeader {
    CaptureHeader {
        venue: "wss://ws.kraken.com/v2".into(),
        symbols: vec![CaptureSymbol {
            symbol: "MINA/GBP".into(),
            depth: 25,
            price_decimals: Some(4),
            qty_decimals: Some(8),
            book: true,
            trade: false,
            ticker: false,
        }],
        started_unix_ns: 1_787_010_000_000_000_000,
        writer: "kspin-fuzz seeds".into(),
    }
}

fn capture_reader_seeds(vectors: &[(String, Vec<u8>)]) -> Vec<Seed> {
    let mut seeds = Vec::new();
    let frames: Vec<&[u8]> = vectors
        .iter()
        .find(|(s, _)| s.starts_with("real_minagbp"))
        .map(|(_, text)| lines(text).take(5).collect())
        .unwrap_or_default();
    let mut file = Vec::new();
    encode_header(&capture_header(), &mut file);
    seeds.push(seed("capture_reader", "header-only", file.clone()));
    encode_record(
        RecordKind::LinkUp,
        1_000,
        1_787_010_000_000_001_000,
        b"",
        &mut file,
    );
    for (i, frame) in frames.iter().enumerate() {
        let stamp = 2_000 + i as u64 * 1_000;
        encode_record(
            RecordKind::Frame,
            stamp,
            1_787_010_000_000_000_000 + stamp,
            frame,
            &mut file,
        );
    }
    encode_record(
        RecordKind::Gap,
        9_000,
        1_787_010_000_000_009_000,
        &3u64.to_le_bytes(),
        &mut file,
    );
    encode_record(
        RecordKind::LinkDown,
        10_000,
        1_787_010_000_000_010_000,
        b"",
        &mut file,
    );
    seeds.push(seed("capture_reader", "minagbp-session", file.clone()));
    let mut torn = file.clone();
    torn.truncate(file.len() - 7);
    seeds.push(seed("capture_reader", "minagbp-torn-tail", torn));
    let mut corrupt = file;
    let middle = corrupt.len() / 2;
    corrupt[middle] ^= 0x20;
    seeds.push(seed("capture_reader", "minagbp-corrupt-record", corrupt));
    seeds
}

fn config_seeds() -> std::io::Result<Vec<Seed>> {
    let mut seeds = Vec::new();
    for name in ["kspin.toml", "kspin.kraken.toml"] {
        seeds.push(seed("config", name, std::fs::read(repo_root().join(name))?));
    }
    seeds.push(seed("config", "empty.toml", ""));
    seeds.push(seed(
        "config",
        "precision-and-policy.toml",
        "[mismatch]\naction = \"stop_validating\"\nmax_mismatches = 3\n\n[[subscription]]\nsymbols = [\"BTC/USD\", \"MINA/GBP\"]\nchannels = [\"book\", \"trade\"]\ndepth = 100\n[subscription.precision]\n\"MINA/GBP\" = \"4:8\"\n\n[[subscription]]\nsymbols = [\"ETH/USD\"]\nchannels = [\"ticker\"]\ndepth = 1000\n",
    ));
    Ok(seeds)
}

/// Every seed of every target.
pub fn seeds() -> std::io::Result<Vec<Seed>> {
    let vectors = vectors()?;
    let mut all = decode_frame_seeds(&vectors);
    all.extend(book_sequence_seeds(&vectors));
    all.extend(ws_frames_seeds(&vectors));
    all.extend(tls_records_seeds(&vectors));
    all.extend(capture_reader_seeds(&vectors));
    all.extend(config_seeds()?);
    Ok(all)
}

/// Writes the seeds into `corpus/<target>/` and the regressions into `artifacts/<target>/`
/// under `fuzz_dir`; returns the files written.
pub fn write_all(fuzz_dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for (kind, inputs) in [("corpus", seeds()?), ("artifacts", regressions())] {
        for input in inputs {
            let dir = fuzz_dir.join(kind).join(input.target);
            std::fs::create_dir_all(&dir)?;
            let path = dir.join(&input.name);
            std::fs::write(&path, &input.bytes)?;
            written.push(path);
        }
    }
    Ok(written)
}
