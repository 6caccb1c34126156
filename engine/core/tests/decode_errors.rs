//! Bad input becomes a typed error, never a panic: one test per error kind, exact variants.

use kspin_api::FixedError;
use kspin_core::kraken::{DecodeError, Decoder, DecoderLimits, Message};

fn both(frame: &[u8]) -> Result<String, DecodeError> {
    let mut fast = Decoder::new(DecoderLimits::default());
    let mut general = Decoder::sonic_only(DecoderLimits::default());
    let a = fast.decode(frame).map(|m| format!("{m:?}"));
    let b = general.decode(frame).map(|m| format!("{m:?}"));
    assert_eq!(
        a,
        b,
        "scanner and general decoder disagree on {}",
        String::from_utf8_lossy(frame)
    );
    a
}

fn err(frame: &str) -> DecodeError {
    both(frame.as_bytes()).unwrap_err()
}

const UPDATE: &str = r#"{"channel":"book","type":"update","data":[{"symbol":"MINA/GBP","bids":[{"price":0.0279,"qty":0.00000000}],"asks":[],"checksum":222201382,"timestamp":"2026-08-16T23:37:05.723653Z"}]}"#;

#[test]
fn baseline_frame_decodes() {
    assert!(both(UPDATE.as_bytes()).is_ok());
}

#[test]
fn oversized() {
    let mut dec = Decoder::new(DecoderLimits {
        max_frame_len: 64,
        ..DecoderLimits::default()
    });
    assert_eq!(
        dec.decode(UPDATE.as_bytes()).unwrap_err(),
        DecodeError::Oversized {
            len: UPDATE.len(),
            max: 64
        }
    );
    assert_eq!(
        DecodeError::Oversized { len: 1, max: 0 }.kind(),
        "oversized"
    );
}

#[test]
fn malformed_json() {
    for bad in [
        "",
        "{",
        r#"{"channel":"book""#,
        r#"{"channel":"book",}"#,
        r#"{"channel":book}"#,
        r#"{"channel":"heartbeat"} x"#,
        r#"{"channel":"heartbeat"}}"#,
        &UPDATE[..UPDATE.len() - 1],
        &UPDATE[..UPDATE.len() / 2],
        &UPDATE.replace("0.0279", "0.0279.1"),
        &UPDATE.replace("0.0279", "01"),
        &UPDATE.replace("0.0279", "1."),
    ] {
        assert_eq!(err(bad), DecodeError::Malformed, "{bad}");
    }
    assert_eq!(
        both(b"{\"channel\":\"\xff\"}").unwrap_err(),
        DecodeError::Malformed
    );
}

#[test]
fn not_an_object() {
    for bad in ["[]", "[1,2]", "42", "\"book\"", "null", "true"] {
        assert_eq!(err(bad), DecodeError::NotAnObject, "{bad}");
    }
}

#[test]
fn unknown_channel_and_method() {
    assert_eq!(
        err(r#"{"channel":"level3","type":"update","data":[{"x":1}]}"#),
        DecodeError::UnknownChannel
    );
    assert_eq!(
        err(r#"{"data":[],"channel":"spread"}"#),
        DecodeError::UnknownChannel
    );
    // Order entry is known (decode_private.rs); a response to any other method is not.
    assert_eq!(
        err(r#"{"method":"query_orders","req_id":1,"result":{"order_id":"X"},"success":true}"#),
        DecodeError::UnknownMethod
    );
    assert_eq!(
        err(r#"{"method":"edit_everything","result":[{"order_id":"X"}],"success":true}"#),
        DecodeError::UnknownMethod
    );
}

#[test]
fn missing_fields() {
    assert_eq!(
        err(r#"{"type":"update"}"#),
        DecodeError::MissingField("channel")
    );
    assert_eq!(
        err(r#"{"channel":"book","type":"update"}"#),
        DecodeError::MissingField("data")
    );
    assert_eq!(
        err(r#"{"channel":"book","data":[]}"#),
        DecodeError::MissingField("type")
    );
    assert_eq!(
        err(&UPDATE.replace(r#""symbol":"MINA/GBP","#, "")),
        DecodeError::MissingField("symbol")
    );
    assert_eq!(
        err(&UPDATE.replace(r#""price":0.0279,"#, "")),
        DecodeError::MissingField("price")
    );
    assert_eq!(
        err(&UPDATE.replace(r#","qty":0.00000000"#, "")),
        DecodeError::MissingField("qty")
    );
    assert_eq!(
        err(
            r#"{"channel":"trade","type":"update","data":[{"symbol":"A/B","side":"buy","price":1,"qty":1,"timestamp":"t"}]}"#
        ),
        DecodeError::MissingField("trade_id")
    );
    assert_eq!(
        err(r#"{"channel":"status","type":"update","data":[{"version":"2"}]}"#),
        DecodeError::MissingField("system")
    );
    assert_eq!(
        err(r#"{"method":"subscribe","result":{"channel":"book"}}"#),
        DecodeError::MissingField("success")
    );
}

#[test]
fn wrong_types() {
    assert_eq!(err(r#"{"channel":5}"#), DecodeError::WrongType("channel"));
    assert_eq!(
        err(r#"{"channel":"book","type":"delta","data":[]}"#),
        DecodeError::WrongType("type")
    );
    assert_eq!(
        err(r#"{"channel":"book","type":"update","data":{"a":1}}"#),
        DecodeError::WrongType("data")
    );
    assert_eq!(
        err(r#"{"channel":"book","type":"update","data":[7]}"#),
        DecodeError::WrongType("data")
    );
    assert_eq!(
        err(&UPDATE.replace(r#""bids":["#, r#""bids":"x","y":["#)),
        DecodeError::WrongType("bids")
    );
    assert_eq!(
        err(&UPDATE.replace(r#""asks":[]"#, r#""asks":[1]"#)),
        DecodeError::WrongType("asks")
    );
    assert_eq!(
        err(&UPDATE.replace("0.0279", "true")),
        DecodeError::WrongType("price")
    );
    assert_eq!(
        err(&UPDATE.replace("0.0279", "{}")),
        DecodeError::WrongType("price")
    );
    assert_eq!(
        err(&UPDATE.replace(r#""MINA/GBP""#, "[1]")),
        DecodeError::WrongType("symbol")
    );
    assert_eq!(
        err(&UPDATE.replace("222201382", "\"x\"")),
        DecodeError::BadNumber {
            field: "checksum",
            error: FixedError::Invalid
        }
    );
    assert_eq!(
        err(&UPDATE.replace("222201382", "null")),
        DecodeError::WrongType("checksum")
    );
    assert_eq!(
        err(
            r#"{"channel":"trade","type":"update","data":[{"symbol":"A/B","side":"up","price":1,"qty":1,"trade_id":1,"timestamp":"t"}]}"#
        ),
        DecodeError::WrongType("side")
    );
    assert_eq!(
        err(r#"{"method":"subscribe","success":"yes"}"#),
        DecodeError::WrongType("success")
    );
    assert_eq!(
        err(r#"{"method":"subscribe","success":true,"result":[1]}"#),
        DecodeError::WrongType("result")
    );
}

#[test]
fn bad_numbers() {
    assert_eq!(
        err(&UPDATE.replace("222201382", "4294967296")),
        DecodeError::BadNumber {
            field: "checksum",
            error: FixedError::Overflow
        }
    );
    assert_eq!(
        err(&UPDATE.replace("222201382", "-1")),
        DecodeError::BadNumber {
            field: "checksum",
            error: FixedError::Invalid
        }
    );
    assert_eq!(
        err(&UPDATE.replace("0.0279", "0.0000000000000000001")),
        DecodeError::BadNumber {
            field: "price",
            error: FixedError::TooPrecise
        }
    );
    assert_eq!(
        err(&UPDATE.replace("0.0279", "1e400")),
        DecodeError::BadNumber {
            field: "price",
            error: FixedError::Overflow
        }
    );
    assert_eq!(
        err(&UPDATE.replace("0.0279", "99999999999999999999")),
        DecodeError::BadNumber {
            field: "price",
            error: FixedError::Overflow
        }
    );
    assert_eq!(
        err(
            r#"{"channel":"status","data":[{"system":"online","connection_id":18446744073709551616}]}"#
        ),
        DecodeError::BadNumber {
            field: "connection_id",
            error: FixedError::Overflow
        }
    );
    assert_eq!(
        err(r#"{"method":"subscribe","success":true,"result":{"channel":"book","depth":70000}}"#),
        DecodeError::BadNumber {
            field: "depth",
            error: FixedError::Overflow
        }
    );
}

#[test]
fn arena_full() {
    let limits = DecoderLimits {
        max_levels: 2,
        max_books: 1,
        max_trades: 1,
        max_scratch: 4,
        ..DecoderLimits::default()
    };
    let mut fast = Decoder::new(limits);
    let mut general = Decoder::sonic_only(limits);
    let three = UPDATE.replace(
        r#""bids":[{"price":0.0279,"qty":0.00000000}]"#,
        r#""bids":[{"price":1,"qty":1},{"price":2,"qty":1},{"price":3,"qty":1}]"#,
    );
    let two_books = r#"{"channel":"book","type":"update","data":[{"symbol":"A"},{"symbol":"B"}]}"#;
    let two_trades = r#"{"channel":"trade","type":"update","data":[{"symbol":"A/B","side":"buy","price":1,"qty":1,"trade_id":1,"timestamp":"t"},{"symbol":"A/B","side":"buy","price":1,"qty":1,"trade_id":2,"timestamp":"t"}]}"#;
    let escaped = r#"{"channel":"book","type":"update","data":[{"symbol":"\u0041\u0042\u0043\u0044\u0045"}]}"#;
    for dec in [&mut fast, &mut general] {
        assert_eq!(
            dec.decode(three.as_bytes()).unwrap_err(),
            DecodeError::ArenaFull("levels")
        );
        assert_eq!(
            dec.decode(two_books.as_bytes()).unwrap_err(),
            DecodeError::ArenaFull("books")
        );
        assert_eq!(
            dec.decode(two_trades.as_bytes()).unwrap_err(),
            DecodeError::ArenaFull("trades")
        );
        assert_eq!(
            dec.decode(escaped.as_bytes()).unwrap_err(),
            DecodeError::EscapedString("symbol")
        );
        // The decoder is still usable afterwards.
        assert!(matches!(
            dec.decode(UPDATE.as_bytes()),
            Ok(Message::Book(_))
        ));
    }
}

#[test]
fn kinds_are_stable_names() {
    assert_eq!(DecodeError::Malformed.kind(), "malformed");
    assert_eq!(DecodeError::WrongType("x").kind(), "wrong_type");
    assert_eq!(
        DecodeError::ArenaFull("levels").to_string(),
        "arena full: too many levels"
    );
}

/// Frames nested far beyond Kraken's 5 levels are refused before sonic-rs sees them, on a
/// thread whose stack (128 KiB) a recursive skip of even a few thousand levels would overflow.
#[test]
fn deep_nesting_is_a_typed_error_on_a_small_stack() {
    let worker = std::thread::Builder::new()
        .stack_size(128 << 10)
        .spawn(|| {
            let mut dec = Decoder::new(DecoderLimits::default());
            let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
            let frames = [
                format!(r#"{{"channel":"heartbeat","x":{}}}"#, deep(80_000)),
                format!(
                    r#"{{"channel":"book","type":"update","data":[{{"symbol":"BTC/USD","bids":{},"asks":[],"checksum":1}}]}}"#,
                    deep(80_000)
                ),
                format!(r#"{{"method":"pong","req_id":1,"result":{}}}"#, deep(33)),
                "{".repeat(80_000),
            ];
            for f in &frames {
                assert_eq!(
                    dec.decode(f.as_bytes()).err(),
                    Some(DecodeError::TooDeep { max: 32 })
                );
                assert_eq!(DecodeError::TooDeep { max: 32 }.kind(), "too_deep");
            }
            // 32 levels are fine, and the decoder is intact afterwards.
            let ok = format!(r#"{{"channel":"heartbeat","x":{}}}"#, deep(31));
            assert!(matches!(dec.decode(ok.as_bytes()), Ok(Message::Heartbeat)));
        })
        .unwrap();
    worker.join().unwrap();
}
