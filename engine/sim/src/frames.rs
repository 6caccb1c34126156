//! Text of every frame the venue sends, shaped like Kraken's v2 public endpoint (PROTOCOL.md
//! §1.2–1.8): key order as in the captured frames, numbers at the pair's precision with trailing
//! zeros (`"price":0.0280,"qty":4207.74770000`), RFC3339 timestamps with 6 decimals.
//!
//! Owns no state: pure functions appending to a caller's `String`. Invariants: every output is
//! valid JSON except [`malformed_frame`] (deliberately), and every string taken from a client is
//! escaped. It never parses and never does I/O.

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use kspin_api::{Price, Qty};

use super::market::{TickerFigures, TradePrint};
use super::pairs::{asset_precision, is_fiat, SimPair};

/// `version` in the status frame (the captured 2026 value, PROTOCOL.md §1.2).
pub const API_VERSION: &str = "2.0.10";

/// The `{"channel":"heartbeat"}` frame (PROTOCOL.md §1.2).
pub const HEARTBEAT: &str = r#"{"channel":"heartbeat"}"#;

/// Microseconds since the Unix epoch (0 if the clock is before 1970).
pub fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Appends `"2026-11-22T10:11:12.123456Z"` (with the quotes).
pub fn push_timestamp(out: &mut String, unix_micros: u64) {
    let secs = (unix_micros / 1_000_000) as i64;
    let micros = unix_micros % 1_000_000;
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    let _ = write!(
        out,
        "\"{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}Z\"",
        sod / 3_600,
        sod / 60 % 60,
        sod % 60
    );
}

/// Appends a mantissa at `scale` decimals, trailing zeros kept: the same text the reference
/// book's checksum is computed from ([`super::ref_book::decimal_text`]).
pub fn push_fixed(out: &mut String, mantissa: i64, scale: u8) {
    super::ref_book::push_decimal_text(out, mantissa, scale);
}

/// Appends a JSON string literal, escaped.
pub fn push_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The connection-level `status` frame.
pub fn status(out: &mut String, system: &str, connection_id: u64) {
    let _ = write!(
        out,
        "{{\"channel\":\"status\",\"type\":\"update\",\"data\":[{{\"version\":\"{API_VERSION}\",\
         \"system\":\"{system}\",\"api_version\":\"v2\",\"connection_id\":{connection_id}}}]}}"
    );
}

fn push_levels(out: &mut String, levels: &[(Price, Qty)], pair: &SimPair) {
    out.push('[');
    for (i, (p, q)) in levels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"price\":");
        push_fixed(out, p.0, pair.price_precision);
        out.push_str(",\"qty\":");
        push_fixed(out, q.0, pair.qty_precision);
        out.push('}');
    }
    out.push(']');
}

/// A `book` snapshot or update for one symbol.
pub fn book(
    out: &mut String,
    snapshot: bool,
    pair: &SimPair,
    bids: &[(Price, Qty)],
    asks: &[(Price, Qty)],
    checksum: u32,
    unix_micros: u64,
) {
    out.push_str("{\"channel\":\"book\",\"type\":\"");
    out.push_str(if snapshot { "snapshot" } else { "update" });
    out.push_str("\",\"data\":[{\"symbol\":");
    push_str(out, pair.symbol);
    out.push_str(",\"bids\":");
    push_levels(out, bids, pair);
    out.push_str(",\"asks\":");
    push_levels(out, asks, pair);
    let _ = write!(out, ",\"checksum\":{checksum},\"timestamp\":");
    push_timestamp(out, unix_micros);
    out.push_str("}]}");
}

/// A `trade` snapshot or update.
pub fn trades<'a>(
    out: &mut String,
    snapshot: bool,
    pair: &SimPair,
    prints: impl Iterator<Item = &'a TradePrint>,
) {
    out.push_str("{\"channel\":\"trade\",\"type\":\"");
    out.push_str(if snapshot { "snapshot" } else { "update" });
    out.push_str("\",\"data\":[");
    for (i, t) in prints.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"symbol\":");
        push_str(out, pair.symbol);
        out.push_str(if t.taker_buy {
            ",\"side\":\"buy\",\"price\":"
        } else {
            ",\"side\":\"sell\",\"price\":"
        });
        push_fixed(out, t.price.0, pair.price_precision);
        out.push_str(",\"qty\":");
        push_fixed(out, t.qty.0, pair.qty_precision);
        out.push_str(if t.market_order {
            ",\"ord_type\":\"market\""
        } else {
            ",\"ord_type\":\"limit\""
        });
        let _ = write!(out, ",\"trade_id\":{},\"timestamp\":", t.trade_id);
        push_timestamp(out, t.unix_micros);
        out.push('}');
    }
    out.push_str("]}");
}

/// A `ticker` snapshot or update.
pub fn ticker(
    out: &mut String,
    snapshot: bool,
    pair: &SimPair,
    t: &TickerFigures,
    unix_micros: u64,
) {
    let pp = pair.price_precision;
    let qp = pair.qty_precision;
    out.push_str("{\"channel\":\"ticker\",\"type\":\"");
    out.push_str(if snapshot { "snapshot" } else { "update" });
    out.push_str("\",\"data\":[{\"symbol\":");
    push_str(out, pair.symbol);
    let fields: [(&str, i64, u8); 11] = [
        ("bid", t.bid.0 .0, pp),
        ("bid_qty", t.bid.1 .0, qp),
        ("ask", t.ask.0 .0, pp),
        ("ask_qty", t.ask.1 .0, qp),
        ("last", t.last.0, pp),
        ("volume", t.volume.0, qp),
        ("vwap", t.vwap.0, pp),
        ("low", t.low.0, pp),
        ("high", t.high.0, pp),
        ("change", t.change, pp),
        ("change_pct", t.change_pct, 2),
    ];
    for (name, value, scale) in fields {
        let _ = write!(out, ",\"{name}\":");
        push_fixed(out, value, scale);
    }
    out.push_str(",\"timestamp\":");
    push_timestamp(out, unix_micros);
    out.push_str("}]}");
}

/// The `instrument` snapshot: assets and pairs (PROTOCOL.md §1.8), increments in Kraken's
/// float notation (`0.1`, `1e-08`).
pub fn instrument(out: &mut String, pairs: &[&SimPair]) {
    out.push_str("{\"channel\":\"instrument\",\"type\":\"snapshot\",\"data\":{\"assets\":[");
    let mut assets: Vec<&str> = Vec::new();
    for p in pairs {
        for a in [p.base, p.quote] {
            if !assets.contains(&a) {
                assets.push(a);
            }
        }
    }
    for (i, a) in assets.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"id\":");
        push_str(out, a);
        let fiat = is_fiat(a);
        let _ = write!(
            out,
            ",\"status\":\"enabled\",\"precision\":{},\"precision_display\":{},\
             \"borrowable\":{},\"collateral_value\":1.0,\"margin_rate\":0.02}}",
            asset_precision(a),
            if fiat { 2 } else { 5 },
            !fiat
        );
    }
    out.push_str("],\"pairs\":[");
    for (i, p) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let price_inc = SimPair::increment_text(p.price_precision);
        let qty_inc = SimPair::increment_text(p.qty_precision);
        out.push_str("{\"symbol\":");
        push_str(out, p.symbol);
        out.push_str(",\"base\":");
        push_str(out, p.base);
        out.push_str(",\"quote\":");
        push_str(out, p.quote);
        let _ = write!(
            out,
            ",\"status\":\"online\",\"qty_precision\":{qp},\"qty_increment\":{qty_inc},\
             \"price_precision\":{pp},\"cost_precision\":5,\"ws_display_price_precision\":{pp},\
             \"marginable\":false,\"has_index\":true,\"cost_min\":{cost_min},\
             \"tick_size\":{price_inc},\"price_increment\":{price_inc},\"qty_min\":{qty_min}}}",
            qp = p.qty_precision,
            pp = p.price_precision,
            cost_min = p.cost_min,
            qty_min = p.qty_min,
        );
    }
    out.push_str("]}}");
}

/// Times of a request: when it was read and when its answer was written.
#[derive(Debug, Clone, Copy)]
pub struct ReqTimes {
    pub time_in: u64,
    pub time_out: u64,
}

fn push_times_and_id(out: &mut String, times: ReqTimes, req_id: Option<&str>) {
    out.push_str(",\"time_in\":");
    push_timestamp(out, times.time_in);
    out.push_str(",\"time_out\":");
    push_timestamp(out, times.time_out);
    if let Some(id) = req_id {
        out.push_str(",\"req_id\":");
        out.push_str(id);
    }
    out.push('}');
}

/// A successful ack: `result` is the JSON object text.
pub fn ack_ok(out: &mut String, method: &str, result: &str, times: ReqTimes, req_id: Option<&str>) {
    out.push_str("{\"method\":");
    push_str(out, method);
    out.push_str(",\"result\":");
    out.push_str(result);
    out.push_str(",\"success\":true");
    push_times_and_id(out, times, req_id);
}

/// A failed ack: `error` text, no `result`; `symbol` when the failure names one.
pub fn ack_err(
    out: &mut String,
    method: &str,
    error: &str,
    symbol: Option<&str>,
    times: ReqTimes,
    req_id: Option<&str>,
) {
    out.push_str("{\"error\":");
    push_str(out, error);
    out.push_str(",\"method\":");
    push_str(out, method);
    out.push_str(",\"success\":false");
    if let Some(s) = symbol {
        out.push_str(",\"symbol\":");
        push_str(out, s);
    }
    push_times_and_id(out, times, req_id);
}

/// The answer to `{"method":"ping"}` (PROTOCOL.md §1.2).
pub fn pong(out: &mut String, times: ReqTimes, req_id: Option<&str>) {
    out.push_str("{\"method\":\"pong\"");
    if let Some(id) = req_id {
        out.push_str(",\"req_id\":");
        out.push_str(id);
    }
    out.push_str(",\"time_in\":");
    push_timestamp(out, times.time_in);
    out.push_str(",\"time_out\":");
    push_timestamp(out, times.time_out);
    out.push('}');
}

/// A deliberately malformed frame: a book update cut off mid-object (valid UTF-8, not JSON).
pub const MALFORMED: &str = r#"{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":67234.5,"qty":"#;

/// The malformed-JSON fault frame.
pub fn malformed_frame() -> &'static str {
    MALFORMED
}

/// A valid heartbeat frame whose unknown field `x` nests `levels` arrays: a parser that skips
/// unknown values by recursion runs out of stack on it.
pub fn deep_frame(levels: usize) -> String {
    const HEAD: &str = r#"{"channel":"heartbeat","x":"#;
    let mut out = String::with_capacity(HEAD.len() + 2 * levels + 1);
    out.push_str(HEAD);
    out.extend(std::iter::repeat_n('[', levels));
    out.extend(std::iter::repeat_n(']', levels));
    out.push('}');
    out
}

/// A syntactically valid frame of exactly `size` bytes (at least the fixed envelope): an unknown
/// channel padded with a long string, so a client's size limit, not its parser, must catch it.
pub fn oversized_frame(size: usize) -> String {
    const HEAD: &str = r#"{"channel":"oversized","data":""#;
    const TAIL: &str = r#""}"#;
    let pad = size.saturating_sub(HEAD.len() + TAIL.len());
    let mut out = String::with_capacity(HEAD.len() + pad + TAIL.len());
    out.push_str(HEAD);
    out.extend(std::iter::repeat_n('x', pad));
    out.push_str(TAIL);
    out
}

#[cfg(test)]
mod tests {
    use super::super::pairs::find_pair;
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_with_micros() {
        let mut s = String::new();
        push_timestamp(&mut s, 0);
        assert_eq!(s, "\"1970-01-01T00:00:00.000000Z\"");
        s.clear();
        // 2026-08-16T23:37:05.723653Z (a captured frame's timestamp).
        push_timestamp(&mut s, 1_786_923_425_723_653);
        assert_eq!(s, "\"2026-08-16T23:37:05.723653Z\"");
        s.clear();
        push_timestamp(&mut s, 951_782_400_000_001); // leap day 2000
        assert_eq!(s, "\"2000-02-29T00:00:00.000001Z\"");
    }

    #[test]
    fn book_frame_keeps_trailing_zeros() {
        let pair = find_pair("MINA/GBP").unwrap();
        let mut s = String::new();
        book(
            &mut s,
            false,
            pair,
            &[(Price(280), Qty(420_774_770_000))],
            &[],
            7,
            0,
        );
        assert_eq!(
            s,
            r#"{"channel":"book","type":"update","data":[{"symbol":"MINA/GBP","bids":[{"price":0.0280,"qty":4207.74770000}],"asks":[],"checksum":7,"timestamp":"1970-01-01T00:00:00.000000Z"}]}"#
        );
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["data"][0]["checksum"], 7);
    }

    #[test]
    fn acks_status_and_specials_are_well_formed() {
        let t = ReqTimes {
            time_in: 0,
            time_out: 1,
        };
        let mut s = String::new();
        ack_err(
            &mut s,
            "subscribe",
            "Subscription depth not supported",
            None,
            t,
            Some("5"),
        );
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["success"], false);
        assert_eq!(v["req_id"], 5);
        assert!(v.get("result").is_none());
        s.clear();
        status(&mut s, "online", u64::MAX);
        assert!(s.contains("\"connection_id\":18446744073709551615"));
        s.clear();
        let pairs: Vec<_> = super::super::pairs::instruments().iter().collect();
        instrument(&mut s, &pairs);
        assert!(s.contains("\"qty_increment\":1e-08"));
        assert!(serde_json::from_str::<serde_json::Value>(&s).is_ok());
        assert!(serde_json::from_str::<serde_json::Value>(MALFORMED).is_err());
        let big = oversized_frame(1 << 20);
        assert_eq!(big.len(), 1 << 20);
        assert!(serde_json::from_str::<serde_json::Value>(&big).is_ok());
        s.clear();
        push_str(&mut s, "a\"b\\c\n");
        assert_eq!(s, r#""a\"b\\c\u000a""#);
    }
}
