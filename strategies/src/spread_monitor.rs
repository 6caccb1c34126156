//! `spread_monitor`: logs spread, mid, microprice and book imbalance of one symbol on book
//! changes, and keeps min / max / last figures for the run summary.
//!
//! Parameters: `symbol` (required); `levels` (imbalance depth, default 5, 1..=1000);
//! `log_every` (log every Nth book change, default 1). Figures are computed only while the book
//! is live; one-sided books are counted. Fixed-point throughout (microprice at price scale + 4,
//! imbalance in 1/10000 of the ratio); no allocation after construction.

use kspin_api::{
    BookView, Context, Event, EventKind, LogRecord, LogSchema, ParamError, Params, Strategy,
    StrategySummary, SymbolId, MICROPRICE_EXTRA_DECIMALS,
};

/// Registry name.
pub const NAME: &str = "spread_monitor";

/// Decimals of the logged imbalance (4: 1/10000 of the ratio).
const IMBALANCE_DECIMALS: u8 = 4;

static SPREAD: LogSchema = LogSchema::new("spread", ["spread", "mid", "micro", "imbalance"]);

pub struct SpreadMonitor {
    symbol: SymbolId,
    price_scale: u8,
    levels: usize,
    log_every: u64,
    changes: u64,
    measured: u64,
    one_sided: u64,
    stale: u64,
    min_spread: Option<i64>,
    max_spread: Option<i64>,
    last_spread: i64,
    last_micro: i64,
    last_imbalance: i64,
}

impl SpreadMonitor {
    pub fn from_params(p: &Params) -> Result<SpreadMonitor, ParamError> {
        let symbol = p.get_symbol("symbol")?;
        let levels = p.get_u64_in("levels", 5, 1, 1000)? as usize;
        let log_every = p.get_u64_in("log_every", 1, 1, u64::MAX)?;
        Ok(SpreadMonitor {
            symbol,
            price_scale: crate::scales(p, symbol).0,
            levels,
            log_every,
            changes: 0,
            measured: 0,
            one_sided: 0,
            stale: 0,
            min_spread: None,
            max_spread: None,
            last_spread: 0,
            last_micro: 0,
            last_imbalance: 0,
        })
    }

    fn measure(&mut self, book: &dyn BookView) -> Option<LogRecord> {
        let (Some(spread), Some(mid), Some(micro)) = (book.spread(), book.mid(), book.microprice())
        else {
            self.one_sided += 1;
            return None;
        };
        let imbalance = book
            .imbalance_scaled(self.levels, IMBALANCE_DECIMALS)
            .unwrap_or(0);
        self.measured += 1;
        self.last_spread = spread.0;
        self.last_micro = micro.mantissa;
        self.last_imbalance = imbalance;
        self.min_spread = Some(self.min_spread.map_or(spread.0, |m| m.min(spread.0)));
        self.max_spread = Some(self.max_spread.map_or(spread.0, |m| m.max(spread.0)));
        Some(
            LogRecord::new(&SPREAD, Some(self.symbol))
                .value(spread.0, self.price_scale)
                .value(mid.mantissa, mid.scale)
                .value(micro.mantissa, micro.scale)
                .value(imbalance, IMBALANCE_DECIMALS),
        )
    }
}

impl Strategy for SpreadMonitor {
    fn on_event(&mut self, event: &Event, ctx: &mut dyn Context) {
        match event.kind {
            EventKind::BookChanged(c) if c.symbol == self.symbol => {
                self.changes += 1;
                let Some(book) = ctx.book(self.symbol) else {
                    return;
                };
                if !book.is_live() {
                    return;
                }
                let record = self.measure(book);
                if let Some(r) = record {
                    if self.measured % self.log_every == 0 {
                        ctx.log(r);
                    }
                }
            }
            EventKind::BookStale(s) if s.symbol == self.symbol => self.stale += 1,
            _ => {}
        }
    }

    fn summary(&self) -> StrategySummary {
        let ps = self.price_scale;
        StrategySummary::new()
            .count("book_changes", self.changes)
            .count("measured", self.measured)
            .count("one_sided", self.one_sided)
            .count("stale", self.stale)
            .with("spread_min", self.min_spread.unwrap_or(0), ps)
            .with("spread_max", self.max_spread.unwrap_or(0), ps)
            .with("spread_last", self.last_spread, ps)
            .with(
                "micro_last",
                self.last_micro,
                ps + MICROPRICE_EXTRA_DECIMALS,
            )
            .with("imbalance_last", self.last_imbalance, IMBALANCE_DECIMALS)
    }
}
