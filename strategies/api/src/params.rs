//! Strategy parameters: the `[strategy.params]` table of `kspin.toml`, as an ordered list of
//! `(key, value-as-text)` pairs with typed getters whose errors name the key.
//!
//! The host builds one [`Params`] per configured strategy (numbers written as TOML strings or
//! integers are passed as their text; write decimals as strings, `"0.5"`, so they stay exact) and
//! gives it the symbol table so that [`Params::get_symbol`] can resolve names. Every getter marks
//! its key as read; after construction the registry calls [`Params::finish`], which rejects any
//! key the strategy never read, so a typo fails at start-up instead of being ignored.
//! Start-up only: this module allocates and is never used on a hot path.

use crate::fixed::{Decimal, FixedError, Price, Qty};
use crate::symbol::{find_symbol, SymbolId, SymbolInfo};
use core::cell::Cell;
use core::fmt;
use core::time::Duration;

/// Why a parameter was refused. Every variant names the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamError {
    /// A required key is absent.
    Missing { key: String },
    /// The value does not parse as, or does not satisfy, what the key needs.
    Invalid {
        key: String,
        value: String,
        expected: String,
    },
    /// A symbol name that is not in the configured symbol list.
    UnknownSymbol {
        key: String,
        symbol: String,
        known: Vec<String>,
    },
    /// A key the strategy does not take.
    UnknownKey { key: String },
    /// The same key twice.
    Duplicate { key: String },
}

impl ParamError {
    /// An [`ParamError::Invalid`] for checks a strategy makes itself (`fast < slow`, ...).
    pub fn invalid(key: &str, value: impl fmt::Display, expected: impl Into<String>) -> ParamError {
        ParamError::Invalid {
            key: key.to_owned(),
            value: value.to_string(),
            expected: expected.into(),
        }
    }
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamError::Missing { key } => write!(f, "missing required parameter `{key}`"),
            ParamError::Invalid {
                key,
                value,
                expected,
            } => write!(f, "parameter `{key}` = {value:?}: expected {expected}"),
            ParamError::UnknownSymbol { key, symbol, known } => write!(
                f,
                "parameter `{key}`: symbol {symbol:?} is not subscribed (configured symbols: {})",
                known.join(", ")
            ),
            ParamError::UnknownKey { key } => {
                write!(
                    f,
                    "unknown parameter `{key}` (this strategy does not take it)"
                )
            }
            ParamError::Duplicate { key } => write!(f, "parameter `{key}` given twice"),
        }
    }
}

impl std::error::Error for ParamError {}

#[derive(Debug, Clone)]
struct Entry {
    key: String,
    value: String,
    read: Cell<bool>,
}

/// The parameters of one strategy instance; see the module docs.
#[derive(Debug, Clone, Default)]
pub struct Params {
    entries: Vec<Entry>,
    symbols: Vec<SymbolInfo>,
}

const DURATION_HELP: &str =
    "a whole number with a unit: ns, us, ms, s, m or h (e.g. \"500ms\", \"1m\")";

impl Params {
    /// No parameters, resolving symbols against `symbols`.
    pub fn new(symbols: Vec<SymbolInfo>) -> Params {
        Params {
            entries: Vec::new(),
            symbols,
        }
    }

    /// Builds from `(key, value)` pairs (tests, examples).
    pub fn from_pairs(
        symbols: &[SymbolInfo],
        pairs: &[(&str, &str)],
    ) -> Result<Params, ParamError> {
        let mut p = Params::new(symbols.to_vec());
        for (k, v) in pairs {
            p.insert(k, v)?;
        }
        Ok(p)
    }

    /// Adds a parameter, in configuration order.
    pub fn insert(&mut self, key: &str, value: &str) -> Result<(), ParamError> {
        if self.entries.iter().any(|e| e.key == key) {
            return Err(ParamError::Duplicate {
                key: key.to_owned(),
            });
        }
        self.entries.push(Entry {
            key: key.to_owned(),
            value: value.to_owned(),
            read: Cell::new(false),
        });
        Ok(())
    }

    /// The symbol table parameters resolve against.
    pub fn symbols(&self) -> &[SymbolInfo] {
        &self.symbols
    }

    /// `(key, value)` pairs in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries
            .iter()
            .map(|e| (e.key.as_str(), e.value.as_str()))
    }

    /// The raw text of `key`, marking it read.
    pub fn raw(&self, key: &str) -> Option<&str> {
        let e = self.entries.iter().find(|e| e.key == key)?;
        e.read.set(true);
        Some(e.value.as_str())
    }

    /// Rejects the first key no getter has read.
    pub fn finish(&self) -> Result<(), ParamError> {
        match self.entries.iter().find(|e| !e.read.get()) {
            Some(e) => Err(ParamError::UnknownKey { key: e.key.clone() }),
            None => Ok(()),
        }
    }

    fn required<T>(&self, key: &str, v: Option<T>) -> Result<T, ParamError> {
        v.ok_or_else(|| ParamError::Missing {
            key: key.to_owned(),
        })
    }

    fn parsed<T>(
        &self,
        key: &str,
        expected: &str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Result<Option<T>, ParamError> {
        match self.raw(key) {
            None => Ok(None),
            Some(text) => parse(text)
                .map(Some)
                .ok_or_else(|| ParamError::invalid(key, text, expected)),
        }
    }

    pub fn get_str(&self, key: &str) -> Result<&str, ParamError> {
        let v = self.raw(key);
        self.required(key, v)
    }

    pub fn get_str_or<'a>(&'a self, key: &str, default: &'a str) -> &'a str {
        self.raw(key).unwrap_or(default)
    }

    /// A non-negative integer (decimal digits, `_` separators allowed).
    pub fn opt_u64(&self, key: &str) -> Result<Option<u64>, ParamError> {
        self.parsed(key, "a non-negative integer", parse_u64)
    }

    pub fn get_u64(&self, key: &str) -> Result<u64, ParamError> {
        let v = self.opt_u64(key)?;
        self.required(key, v)
    }

    pub fn get_u64_or(&self, key: &str, default: u64) -> Result<u64, ParamError> {
        Ok(self.opt_u64(key)?.unwrap_or(default))
    }

    /// An integer within `range` (inclusive), defaulting to `default`.
    pub fn get_u64_in(
        &self,
        key: &str,
        default: u64,
        min: u64,
        max: u64,
    ) -> Result<u64, ParamError> {
        let v = self.get_u64_or(key, default)?;
        if v < min || v > max {
            return Err(ParamError::invalid(
                key,
                v,
                format!("an integer from {min} to {max}"),
            ));
        }
        Ok(v)
    }

    /// An exact decimal (JSON number syntax, optionally quoted).
    pub fn opt_decimal(&self, key: &str) -> Result<Option<Decimal>, ParamError> {
        self.parsed(key, "a decimal number such as \"0.25\"", |t| {
            Decimal::parse(t.as_bytes()).ok()
        })
    }

    pub fn get_decimal(&self, key: &str) -> Result<Decimal, ParamError> {
        let v = self.opt_decimal(key)?;
        self.required(key, v)
    }

    /// `true` or `false`.
    pub fn get_bool_or(&self, key: &str, default: bool) -> Result<bool, ParamError> {
        Ok(self
            .parsed(key, "true or false", |t| match t {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            })?
            .unwrap_or(default))
    }

    /// A duration: a whole number and a unit, `ns`, `us`, `ms`, `s`, `m` or `h`.
    pub fn opt_duration(&self, key: &str) -> Result<Option<Duration>, ParamError> {
        self.parsed(key, DURATION_HELP, parse_duration)
    }

    pub fn get_duration(&self, key: &str) -> Result<Duration, ParamError> {
        let v = self.opt_duration(key)?;
        self.required(key, v)
    }

    pub fn get_duration_or(&self, key: &str, default: Duration) -> Result<Duration, ParamError> {
        Ok(self.opt_duration(key)?.unwrap_or(default))
    }

    /// A symbol name from the configured list, e.g. `BTC/USD`.
    pub fn opt_symbol(&self, key: &str) -> Result<Option<SymbolId>, ParamError> {
        let Some(name) = self.raw(key) else {
            return Ok(None);
        };
        match find_symbol(&self.symbols, name) {
            Some(info) => Ok(Some(info.id)),
            None => Err(ParamError::UnknownSymbol {
                key: key.to_owned(),
                symbol: name.to_owned(),
                known: self.symbols.iter().map(|s| s.name.clone()).collect(),
            }),
        }
    }

    pub fn get_symbol(&self, key: &str) -> Result<SymbolId, ParamError> {
        let v = self.opt_symbol(key)?;
        self.required(key, v)
    }

    /// A price for `symbol`, exact at its price scale.
    pub fn get_price(&self, key: &str, symbol: SymbolId) -> Result<Price, ParamError> {
        let d = self.get_decimal(key)?;
        let scale = self.scales(symbol).0;
        Price::from_decimal(d, scale).map_err(|e| self.scale_error(key, d, e, "price", scale))
    }

    /// A quantity for `symbol`, exact at its quantity scale.
    pub fn get_qty(&self, key: &str, symbol: SymbolId) -> Result<Qty, ParamError> {
        let d = self.get_decimal(key)?;
        let scale = self.scales(symbol).1;
        Qty::from_decimal(d, scale).map_err(|e| self.scale_error(key, d, e, "quantity", scale))
    }

    fn scales(&self, symbol: SymbolId) -> (u8, u8) {
        self.symbols
            .get(symbol.index())
            .map_or((0, 0), |s| (s.price_scale, s.qty_scale))
    }

    fn scale_error(
        &self,
        key: &str,
        d: Decimal,
        e: FixedError,
        what: &str,
        scale: u8,
    ) -> ParamError {
        ParamError::invalid(
            key,
            d,
            format!("a non-negative {what} with at most {scale} decimals ({e})"),
        )
    }
}

fn parse_u64(text: &str) -> Option<u64> {
    let t = text.trim_matches('"');
    if t.is_empty() || t.starts_with('_') {
        return None;
    }
    let mut v: u64 = 0;
    for b in t.bytes() {
        match b {
            b'0'..=b'9' => v = v.checked_mul(10)?.checked_add((b - b'0') as u64)?,
            b'_' => {}
            _ => return None,
        }
    }
    Some(v)
}

/// Parses `<whole number><unit>`; see [`Params::opt_duration`].
pub fn parse_duration(text: &str) -> Option<Duration> {
    let t = text.trim_matches('"').trim();
    let split = t.find(|c: char| !c.is_ascii_digit() && c != '_')?;
    let (num, unit) = t.split_at(split);
    let n = parse_u64(num)?;
    let ns_per_unit: u64 = match unit.trim() {
        "ns" => 1,
        "us" | "µs" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" | "min" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return None,
    };
    Some(Duration::from_nanos(n.checked_mul(ns_per_unit)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn syms() -> Vec<SymbolInfo> {
        vec![
            SymbolInfo::new(0, "BTC/USD", 1, 8, 10),
            SymbolInfo::new(1, "ETH/USD", 2, 8, 10),
        ]
    }

    #[test]
    fn typed_getters_parse_exactly() {
        let p = Params::from_pairs(
            &syms(),
            &[
                ("symbol", "ETH/USD"),
                ("n", "1_000"),
                ("notional", "\"50000.5\""),
                ("window", "250ms"),
                ("on", "true"),
                ("limit", "2500.25"),
                ("size", "0.001"),
            ],
        )
        .unwrap();
        assert_eq!(p.get_symbol("symbol"), Ok(SymbolId(1)));
        assert_eq!(p.get_u64("n"), Ok(1000));
        assert_eq!(
            p.get_decimal("notional"),
            Ok(Decimal {
                mantissa: 500005,
                scale: 1
            })
        );
        assert_eq!(p.get_duration("window"), Ok(Duration::from_millis(250)));
        assert_eq!(p.get_bool_or("on", false), Ok(true));
        assert_eq!(p.get_price("limit", SymbolId(1)), Ok(Price(250025)));
        assert_eq!(p.get_qty("size", SymbolId(1)), Ok(Qty(100_000)));
        assert_eq!(p.get_u64_or("absent", 7), Ok(7));
        assert_eq!(p.finish(), Ok(()));
    }

    #[test]
    fn errors_name_the_key() {
        let p = Params::from_pairs(
            &syms(),
            &[
                ("symbol", "XBT/USD"),
                ("window", "10 seconds"),
                ("n", "-3"),
                ("limit", "2500.255"),
                ("typo", "1"),
            ],
        )
        .unwrap();
        assert_eq!(
            p.get_symbol("symbol").unwrap_err().to_string(),
            "parameter `symbol`: symbol \"XBT/USD\" is not subscribed (configured symbols: BTC/USD, ETH/USD)"
        );
        assert_eq!(
            p.get_duration("window").unwrap_err().to_string(),
            format!("parameter `window` = \"10 seconds\": expected {DURATION_HELP}")
        );
        assert!(p
            .get_u64("n")
            .unwrap_err()
            .to_string()
            .starts_with("parameter `n`"));
        assert_eq!(
            p.get_price("limit", SymbolId(1)).unwrap_err().to_string(),
            "parameter `limit` = \"2500.255\": expected a non-negative price with at most 2 decimals (more decimals than the precision allows)"
        );
        assert_eq!(
            p.get_u64("missing").unwrap_err().to_string(),
            "missing required parameter `missing`"
        );
        assert_eq!(
            p.finish(),
            Err(ParamError::UnknownKey {
                key: "typo".to_owned()
            })
        );
        assert_eq!(
            Params::from_pairs(&syms(), &[("a", "1"), ("a", "2")]).unwrap_err(),
            ParamError::Duplicate {
                key: "a".to_owned()
            }
        );
    }

    #[test]
    fn ranges_and_durations() {
        let p = Params::from_pairs(&syms(), &[("fast", "0")]).unwrap();
        assert_eq!(
            p.get_u64_in("fast", 5, 1, 100).unwrap_err().to_string(),
            "parameter `fast` = \"0\": expected an integer from 1 to 100"
        );
        assert_eq!(parse_duration("1m"), Some(Duration::from_secs(60)));
        assert_eq!(parse_duration("15us"), Some(Duration::from_micros(15)));
        assert_eq!(parse_duration("2h"), Some(Duration::from_secs(7200)));
        for bad in ["", "s", "10", "1.5s", "10 parsecs", "-1s"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }
}
