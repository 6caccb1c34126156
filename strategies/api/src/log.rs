//! Strategy log records: fixed-size `Copy` values a strategy hands to [`crate::Context::log`];
//! the host pushes them into the strategy's log ring and the engine formats them off the hot
//! cores.
//!
//! A record points to a `static` [`LogSchema`] (the label and the field names) and carries up to
//! [`MAX_LOG_VALUES`] integers, each with its own decimal scale, so nothing is formatted or
//! allocated on the strategy core. Formatting ([`LogRecord::display`]) needs the symbol table and
//! happens on the drain side (and in tests).

use crate::fixed::FixedDisplay;
use crate::symbol::{SymbolId, SymbolInfo};
use core::fmt;

/// Values one record carries.
pub const MAX_LOG_VALUES: usize = 4;

/// The constant part of a kind of record: its label and the names of its values.
///
/// ```
/// use kspin_api::LogSchema;
/// static SPREAD: LogSchema = LogSchema::new("spread", ["spread", "mid", "", ""]);
/// ```
#[derive(Debug, PartialEq, Eq)]
pub struct LogSchema {
    pub label: &'static str,
    /// Name of each value, in order; unused trailing names are `""`.
    pub fields: [&'static str; MAX_LOG_VALUES],
}

impl LogSchema {
    pub const fn new(label: &'static str, fields: [&'static str; MAX_LOG_VALUES]) -> LogSchema {
        LogSchema { label, fields }
    }
}

/// One log record. Build with [`LogRecord::new`] and [`LogRecord::value`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogRecord {
    pub schema: &'static LogSchema,
    pub symbol: Option<SymbolId>,
    /// Stamped by the host: the `recv_tsc` of the event being handled (0 outside events).
    pub tsc: u64,
    pub values: [i64; MAX_LOG_VALUES],
    pub scales: [u8; MAX_LOG_VALUES],
    pub len: u8,
}

impl LogRecord {
    #[inline]
    pub const fn new(schema: &'static LogSchema, symbol: Option<SymbolId>) -> LogRecord {
        LogRecord {
            schema,
            symbol,
            tsc: 0,
            values: [0; MAX_LOG_VALUES],
            scales: [0; MAX_LOG_VALUES],
            len: 0,
        }
    }

    /// Appends `mantissa * 10^-scale`. Values beyond [`MAX_LOG_VALUES`] are dropped.
    #[inline]
    pub const fn value(mut self, mantissa: i64, scale: u8) -> LogRecord {
        let i = self.len as usize;
        if i < MAX_LOG_VALUES {
            self.values[i] = mantissa;
            self.scales[i] = scale;
            self.len += 1;
        }
        self
    }

    /// The values as `(name, mantissa, scale)`.
    pub fn fields(&self) -> impl Iterator<Item = (&'static str, i64, u8)> + '_ {
        let n = (self.len as usize).min(MAX_LOG_VALUES);
        (0..n).map(move |i| (self.schema.fields[i], self.values[i], self.scales[i]))
    }

    /// Text form `label SYMBOL name=value ...` (values written with their scale). The symbol is
    /// looked up in `symbols`; an unknown id prints as `#<id>`.
    pub fn display<'a>(&'a self, symbols: &'a [SymbolInfo]) -> LogDisplay<'a> {
        LogDisplay {
            record: self,
            symbols,
        }
    }
}

/// See [`LogRecord::display`].
pub struct LogDisplay<'a> {
    record: &'a LogRecord,
    symbols: &'a [SymbolInfo],
}

impl fmt::Display for LogDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self.record;
        f.write_str(r.schema.label)?;
        if let Some(id) = r.symbol {
            match self.symbols.get(id.index()) {
                Some(info) => write!(f, " {}", info.name)?,
                None => write!(f, " #{}", id.0)?,
            }
        }
        for (name, mantissa, scale) in r.fields() {
            write!(f, " {}={}", name, FixedDisplay { mantissa, scale })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static SCHEMA: LogSchema = LogSchema::new("spread", ["spread", "mid", "imb", ""]);

    #[test]
    fn formats_with_scales_and_symbol_names() {
        let syms = [SymbolInfo::new(0, "BTC/USD", 1, 8, 10)];
        let r = LogRecord::new(&SCHEMA, Some(SymbolId(0)))
            .value(5, 1)
            .value(1_000_005, 2)
            .value(-2500, 4);
        assert_eq!(
            r.display(&syms).to_string(),
            "spread BTC/USD spread=0.5 mid=10000.05 imb=-0.2500"
        );
        let unknown = LogRecord::new(&SCHEMA, Some(SymbolId(9))).value(1, 0);
        assert_eq!(unknown.display(&syms).to_string(), "spread #9 spread=1");
    }

    #[test]
    fn drops_values_beyond_capacity() {
        let mut r = LogRecord::new(&SCHEMA, None);
        for i in 0..6 {
            r = r.value(i, 0);
        }
        assert_eq!(r.len as usize, MAX_LOG_VALUES);
        assert_eq!(r.values, [0, 1, 2, 3]);
    }
}
