//! Reading the `params` of trading requests: typed fields from their JSON text (numbers read as
//! text through [`super::decimal`], never `f64`), and a whole order checked into an
//! [`OrderRequest`] the way Kraken checks one.
//!
//! Owns pure functions over borrowed JSON text (`serde_json::value::RawValue`). Rules: a field
//! of the wrong type, an unknown field, or a documented Kraken feature the venue does not
//! simulate (triggers, conditional close, iceberg, margin, ...) is
//! `EGeneral:Invalid arguments:<field>`; a price with more decimals than the pair allows is
//! Kraken's `EOrder:Invalid price:<SYMBOL> price can only be specified up to <N> decimals.`; a
//! quantity with too many decimals `EGeneral:Invalid arguments:order_qty`; below the pair's
//! `qty_min` `EOrder:Order minimum not met`, below its `cost_min` `EOrder:Cost minimum not met`.
//! Invariants: no input panics; the first failing check names the answer. It never touches
//! the venue's state.

use std::collections::HashMap;

use serde_json::value::RawValue;

use super::decimal::{parse_decimal, parse_rfc3339, DecimalError};
use super::exchange::{errors, Reject, RejectKind};
use super::ledger::notional;
use super::orders::{OrderRequest, OrderType, Side, TimeInForce};
use crate::pairs::SimPair;

/// A JSON object's fields as raw text.
pub type Params<'a> = HashMap<String, &'a RawValue>;

/// Longest a GTD order may live ("up to one month in future").
const MAX_GTD_US: u64 = 31 * 86_400 * 1_000_000;
/// Largest `deadline` offset (60 s).
const MAX_DEADLINE_US: u64 = 60_000_000;

/// Fields an order may carry (add_order's, less the request-level ones for batch orders).
const ORDER_FIELDS: [&str; 23] = [
    "order_type",
    "side",
    "order_qty",
    "limit_price",
    "limit_price_type",
    "triggers",
    "time_in_force",
    "margin",
    "post_only",
    "reduce_only",
    "effective_time",
    "expire_time",
    "cl_ord_id",
    "order_userref",
    "conditional",
    "display_qty",
    "fee_preference",
    "no_mpp",
    "stp_type",
    "cash_order_qty",
    "sender_sub_id",
    "stop_price",
    "trigger",
];
/// Fields of `add_order` besides an order's.
pub const ADD_ORDER_FIELDS: [&str; 4] = ["symbol", "deadline", "validate", "token"];
/// Documented fields the venue refuses unless absent (features it does not simulate).
const UNSIMULATED: [&str; 8] = [
    "limit_price_type",
    "triggers",
    "effective_time",
    "conditional",
    "display_qty",
    "cash_order_qty",
    "stop_price",
    "trigger",
];

/// The fields of a JSON object, or `None` if `raw` is not one.
pub fn object(raw: &RawValue) -> Option<Params<'_>> {
    serde_json::from_str(raw.get()).ok()
}

/// The elements of a JSON array, or `None` if `raw` is not one.
pub fn array(raw: &RawValue) -> Option<Vec<&RawValue>> {
    serde_json::from_str(raw.get()).ok()
}

/// A string field: `Ok(None)` when absent, `Err` when not a string.
pub fn string(p: &Params, key: &str) -> Result<Option<String>, Reject> {
    match p.get(key) {
        None => Ok(None),
        Some(v) => serde_json::from_str::<String>(v.get())
            .map(Some)
            .map_err(|_| Reject::invalid(key)),
    }
}

/// A boolean field.
pub fn boolean(p: &Params, key: &str) -> Result<Option<bool>, Reject> {
    match p.get(key) {
        None => Ok(None),
        Some(v) => serde_json::from_str::<bool>(v.get())
            .map(Some)
            .map_err(|_| Reject::invalid(key)),
    }
}

/// An integer field.
pub fn integer(p: &Params, key: &str) -> Result<Option<i64>, Reject> {
    match p.get(key) {
        None => Ok(None),
        Some(v) => serde_json::from_str::<i64>(v.get())
            .map(Some)
            .map_err(|_| Reject::invalid(key)),
    }
}

/// The text of a number field (a JSON number token, not a string).
pub fn number<'a>(p: &Params<'a>, key: &str) -> Result<Option<&'a str>, Reject> {
    match p.get(key) {
        None => Ok(None),
        Some(v) => {
            let t = v.get().trim();
            if t.starts_with(['-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9']) {
                Ok(Some(t))
            } else {
                Err(Reject::invalid(key))
            }
        }
    }
}

/// A list of strings.
pub fn strings(p: &Params, key: &str) -> Result<Option<Vec<String>>, Reject> {
    match p.get(key) {
        None => Ok(None),
        Some(v) => serde_json::from_str::<Vec<String>>(v.get())
            .map(Some)
            .map_err(|_| Reject::invalid(key)),
    }
}

/// A list of integers.
pub fn integers(p: &Params, key: &str) -> Result<Option<Vec<i64>>, Reject> {
    match p.get(key) {
        None => Ok(None),
        Some(v) => serde_json::from_str::<Vec<i64>>(v.get())
            .map(Some)
            .map_err(|_| Reject::invalid(key)),
    }
}

/// Refuses any field not in `allowed`.
pub fn only(p: &Params, allowed: &[&[&str]]) -> Result<(), Reject> {
    match p
        .keys()
        .find(|k| !allowed.iter().any(|list| list.contains(&k.as_str())))
    {
        Some(k) => Err(Reject::invalid(k)),
        None => Ok(()),
    }
}

/// The pair a `symbol` field names: its index among the venue's pairs.
pub fn symbol(p: &Params, pairs: &[&'static SimPair]) -> Result<usize, Reject> {
    let name = string(p, "symbol")?.ok_or_else(|| Reject::invalid("symbol"))?;
    pairs
        .iter()
        .position(|pair| pair.symbol == name)
        .ok_or_else(|| Reject::new(RejectKind::Invalid, errors::UNKNOWN_PAIR))
}

/// A quantity at the pair's precision, positive.
pub fn quantity(text: &str, pair: &SimPair, field: &str) -> Result<i64, Reject> {
    match parse_decimal(text, pair.qty_precision) {
        Ok(q) if q > 0 => Ok(q),
        _ => Err(Reject::invalid(field)),
    }
}

/// A price at the pair's precision, positive; too many decimals is Kraken's price error.
pub fn price(text: &str, pair: &SimPair, field: &str) -> Result<i64, Reject> {
    match parse_decimal(text, pair.price_precision) {
        Ok(p) if p > 0 => Ok(p),
        Err(DecimalError::TooPrecise) => Err(Reject::new(
            RejectKind::Invalid,
            format!(
                "EOrder:Invalid price:{} price can only be specified up to {} decimals.",
                pair.symbol, pair.price_precision
            ),
        )),
        _ => Err(Reject::invalid(field)),
    }
}

/// Kraken's three `cl_ord_id` formats: a long UUID, a short UUID, or free ASCII text up to 18
/// characters.
pub fn valid_cl_ord_id(s: &str) -> bool {
    let hex = |t: &str| t.bytes().all(|b| b.is_ascii_hexdigit());
    let b = s.as_bytes();
    let long_uuid =
        b.len() == 36 && [8, 13, 18, 23].iter().all(|&i| b[i] == b'-') && hex(&s.replace('-', ""));
    let short_uuid = b.len() == 32 && hex(s);
    let free = !s.is_empty() && b.len() <= 18 && b.iter().all(|c| c.is_ascii_graphic());
    long_uuid || short_uuid || free
}

/// Checks a `deadline` (RFC3339, at most 60 s ahead): `EService:Deadline elapsed` once past.
pub fn deadline(p: &Params, now_us: u64) -> Result<(), Reject> {
    let Some(text) = string(p, "deadline")? else {
        return Ok(());
    };
    let at = parse_rfc3339(&text).ok_or_else(|| Reject::invalid("deadline"))?;
    if at < now_us {
        return Err(Reject::new(RejectKind::Unavailable, errors::DEADLINE));
    }
    if at > now_us + MAX_DEADLINE_US {
        return Err(Reject::invalid("deadline"));
    }
    Ok(())
}

fn no_unsimulated(p: &Params) -> Result<(), Reject> {
    if let Some(k) = UNSIMULATED.iter().find(|k| p.contains_key(**k)) {
        return Err(Reject::invalid(k));
    }
    for flag in ["margin", "reduce_only"] {
        if boolean(p, flag)? == Some(true) {
            return Err(Reject::invalid(flag));
        }
    }
    if let Some(f) = string(p, "fee_preference")? {
        if f != "base" && f != "quote" {
            return Err(Reject::invalid("fee_preference"));
        }
    }
    if let Some(s) = string(p, "stp_type")? {
        if !matches!(
            s.as_str(),
            "cancel_newest" | "cancel_oldest" | "cancel_both"
        ) {
            return Err(Reject::invalid("stp_type"));
        }
    }
    boolean(p, "no_mpp")?;
    string(p, "sender_sub_id")?;
    Ok(())
}

/// One order's fields checked into a request for pair `symbol` (see the module docs).
pub fn order(
    p: &Params,
    symbol: usize,
    pair: &SimPair,
    extra: &[&str],
    now_us: u64,
) -> Result<OrderRequest, Reject> {
    only(p, &[&ORDER_FIELDS, extra])?;
    no_unsimulated(p)?;
    let order_type = match string(p, "order_type")?.as_deref() {
        Some("limit") => OrderType::Limit,
        Some("market") => OrderType::Market,
        _ => return Err(Reject::invalid("order_type")),
    };
    let side = match string(p, "side")?.as_deref() {
        Some("buy") => Side::Buy,
        Some("sell") => Side::Sell,
        _ => return Err(Reject::invalid("side")),
    };
    let qty_text = number(p, "order_qty")?.ok_or_else(|| Reject::invalid("order_qty"))?;
    let order_qty = quantity(qty_text, pair, "order_qty")?;
    let limit_price = match (order_type, number(p, "limit_price")?) {
        (OrderType::Limit, Some(t)) => Some(price(t, pair, "limit_price")?),
        (OrderType::Limit, None) | (OrderType::Market, Some(_)) => {
            return Err(Reject::invalid("limit_price"))
        }
        (OrderType::Market, None) => None,
    };
    let time_in_force = match string(p, "time_in_force")?
        .map(|s| s.to_ascii_lowercase())
        .as_deref()
    {
        None | Some("gtc") => TimeInForce::Gtc,
        Some("gtd") if order_type == OrderType::Limit => TimeInForce::Gtd,
        Some("ioc") => TimeInForce::Ioc,
        _ => return Err(Reject::invalid("time_in_force")),
    };
    let expire_time = match (time_in_force, string(p, "expire_time")?) {
        (TimeInForce::Gtd, Some(t)) => {
            let at = parse_rfc3339(&t).ok_or_else(|| Reject::invalid("expire_time"))?;
            if at <= now_us || at > now_us + MAX_GTD_US {
                return Err(Reject::invalid("expire_time"));
            }
            Some(at)
        }
        (TimeInForce::Gtd, None) | (_, Some(_)) => return Err(Reject::invalid("expire_time")),
        (_, None) => None,
    };
    let post_only = boolean(p, "post_only")?.unwrap_or(false);
    if post_only && (order_type == OrderType::Market || time_in_force == TimeInForce::Ioc) {
        return Err(Reject::invalid("post_only"));
    }
    let cl_ord_id = string(p, "cl_ord_id")?;
    if cl_ord_id.as_deref().is_some_and(|c| !valid_cl_ord_id(c)) {
        return Err(Reject::invalid("cl_ord_id"));
    }
    let order_userref = integer(p, "order_userref")?;
    if order_userref.is_some_and(|u| i32::try_from(u).is_err()) {
        return Err(Reject::invalid("order_userref"));
    }
    if cl_ord_id.is_some() && order_userref.is_some() {
        return Err(Reject::invalid("cl_ord_id"));
    }
    let qty_min = parse_decimal(pair.qty_min, pair.qty_precision).unwrap_or(0);
    if order_qty < qty_min {
        return Err(Reject::new(RejectKind::Invalid, errors::ORDER_MINIMUM));
    }
    if let Some(lp) = limit_price {
        let scale = pair.price_precision + pair.qty_precision;
        let cost_min = parse_decimal(pair.cost_min, scale).unwrap_or(0);
        if notional(lp, order_qty) < i128::from(cost_min) {
            return Err(Reject::new(RejectKind::Invalid, errors::COST_MINIMUM));
        }
    }
    Ok(OrderRequest {
        symbol,
        side,
        order_type,
        time_in_force,
        order_qty,
        limit_price,
        post_only,
        expire_time,
        cl_ord_id,
        order_userref,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pairs::find_pair;
    use proptest::prelude::*;

    fn json_value() -> impl Strategy<Value = String> {
        prop_oneof![
            "-?[0-9]{1,22}(\\.[0-9]{0,22})?([eE][+-]?[0-9]{1,5})?",
            "\"[a-zA-Z0-9:./ -]{0,24}\"",
            Just("true".to_owned()),
            Just("false".to_owned()),
            Just("null".to_owned()),
            Just("[1,\"a\",[]]".to_owned()),
            Just("{\"x\":{}}".to_owned()),
        ]
    }

    proptest! {
        /// Any mix of known and unknown fields with any JSON values is answered, never a panic.
        #[test]
        fn no_order_panics(fields in proptest::collection::vec(
            (0usize..ORDER_FIELDS.len() + 3, json_value()), 0..10)
        ) {
            let mut text = String::from("{");
            for (i, (k, v)) in fields.iter().enumerate() {
                let name = ORDER_FIELDS.get(*k).copied().unwrap_or("symbol");
                text.push_str(&format!("{}\"{name}\":{v}", if i > 0 { "," } else { "" }));
            }
            text.push('}');
            if let Ok(raw) = serde_json::from_str::<&RawValue>(&text) {
                if let Some(p) = object(raw) {
                    for pair in crate::pairs::instruments() {
                        let _ = order(&p, 0, pair, &ADD_ORDER_FIELDS, 1_700_000_000_000_000);
                        let _ = deadline(&p, 1_700_000_000_000_000);
                    }
                }
            }
        }
    }

    fn check(json: &str) -> Result<OrderRequest, String> {
        let raw: &RawValue = serde_json::from_str(json).unwrap();
        let p = object(raw).unwrap();
        let pair = find_pair("BTC/USD").unwrap();
        order(&p, 0, pair, &ADD_ORDER_FIELDS, 1_700_000_000_000_000).map_err(|r| r.text)
    }

    #[test]
    fn orders_are_checked_like_kraken() {
        let ok = check(r#"{"order_type":"limit","side":"buy","order_qty":0.00012345,"limit_price":26500.4,"order_userref":7,"symbol":"BTC/USD"}"#).unwrap();
        assert_eq!((ok.order_qty, ok.limit_price), (12_345, Some(265_004)));
        assert_eq!(ok.time_in_force, TimeInForce::Gtc);
        let m = check(
            r#"{"order_type":"market","side":"sell","order_qty":1e-4,"time_in_force":"ioc"}"#,
        )
        .unwrap();
        assert_eq!((m.order_qty, m.limit_price), (10_000, None));
        for (json, err) in [
            (
                r#"{"order_type":"limit","side":"buy","order_qty":0.001,"limit_price":26500.45}"#,
                "EOrder:Invalid price:BTC/USD price can only be specified up to 1 decimals.",
            ),
            (
                r#"{"order_type":"limit","side":"buy","order_qty":0.000000001,"limit_price":1}"#,
                "EGeneral:Invalid arguments:order_qty",
            ),
            (
                r#"{"order_type":"limit","side":"buy","order_qty":"0.1","limit_price":1}"#,
                "EGeneral:Invalid arguments:order_qty",
            ),
            (
                r#"{"order_type":"stop-loss","side":"buy","order_qty":0.1}"#,
                "EGeneral:Invalid arguments:order_type",
            ),
            (
                r#"{"order_type":"limit","side":"up","order_qty":0.1,"limit_price":1}"#,
                "EGeneral:Invalid arguments:side",
            ),
            (
                r#"{"order_type":"limit","side":"buy","order_qty":0.1}"#,
                "EGeneral:Invalid arguments:limit_price",
            ),
            (
                r#"{"order_type":"market","side":"buy","order_qty":0.1,"post_only":true}"#,
                "EGeneral:Invalid arguments:post_only",
            ),
            (
                r#"{"order_type":"limit","side":"buy","order_qty":0.1,"limit_price":1000,"time_in_force":"gtd"}"#,
                "EGeneral:Invalid arguments:expire_time",
            ),
            (
                r#"{"order_type":"limit","side":"buy","order_qty":0.00001,"limit_price":60000}"#,
                "EOrder:Order minimum not met",
            ),
            (
                r#"{"order_type":"limit","side":"buy","order_qty":0.0001,"limit_price":1000}"#,
                "EOrder:Cost minimum not met",
            ),
            (
                r#"{"order_type":"limit","side":"buy","order_qty":0.1,"limit_price":1000,"iceberg":1}"#,
                "EGeneral:Invalid arguments:iceberg",
            ),
            (
                r#"{"order_type":"limit","side":"buy","order_qty":0.1,"limit_price":1000,"triggers":{}}"#,
                "EGeneral:Invalid arguments:triggers",
            ),
            (
                r#"{"order_type":"limit","side":"buy","order_qty":0.1,"limit_price":1000,"cl_ord_id":"this-is-far-too-long-for-free-text"}"#,
                "EGeneral:Invalid arguments:cl_ord_id",
            ),
            (
                r#"{"order_type":"limit","side":"buy","order_qty":0.1,"limit_price":1000,"cl_ord_id":"a","order_userref":1}"#,
                "EGeneral:Invalid arguments:cl_ord_id",
            ),
        ] {
            assert_eq!(check(json).unwrap_err(), err, "{json}");
        }
        let gtd = check(r#"{"order_type":"limit","side":"buy","order_qty":0.1,"limit_price":1000,"time_in_force":"gtd","expire_time":"2023-11-15T00:00:00Z"}"#).unwrap();
        assert_eq!(gtd.expire_time, Some(1_700_006_400_000_000));
        assert!(valid_cl_ord_id("6d1b345e-2821-40e2-ad83-4ecb18a06876"));
        assert!(valid_cl_ord_id("da8e4ad59b78481c93e589746b0cf91f"));
        assert!(valid_cl_ord_id("arb-20240509-00010"));
        assert!(!valid_cl_ord_id("has space"));
    }
}
