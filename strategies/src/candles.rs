//! `candles`: OHLCV candles of one symbol from its trades, at a configurable interval of
//! exchange time (see [`crate::candle`] for the bucketing rules).
//!
//! Parameters: `symbol` (required); `interval` (duration, default `1m`). Each closed candle is
//! logged as two records, `candle` (open, high, low, close) and `candle_volume` (volume, trades,
//! start in Unix seconds). The candle still open at the end is reported only in the summary.
//! No allocation after construction.

use crate::candle::{Candle, CandleBuilder};
use kspin_api::{
    Context, Event, EventKind, LogRecord, LogSchema, ParamError, Params, Strategy, StrategySummary,
    SymbolId,
};
use std::time::Duration;

/// Registry name.
pub const NAME: &str = "candles";

static OHLC: LogSchema = LogSchema::new("candle", ["open", "high", "low", "close"]);
static VOLUME: LogSchema = LogSchema::new("candle_volume", ["volume", "trades", "start", ""]);

/// Parses the `interval` parameter shared by the candle-based strategies.
pub(crate) fn interval_param(p: &Params) -> Result<u64, ParamError> {
    let interval = p.get_duration_or("interval", Duration::from_secs(60))?;
    if interval.is_zero() {
        return Err(ParamError::invalid("interval", "0", "a duration > 0"));
    }
    Ok(interval.as_nanos().min(u64::MAX as u128) as u64)
}

pub struct Candles {
    symbol: SymbolId,
    price_scale: u8,
    qty_scale: u8,
    builder: CandleBuilder,
    trades: u64,
    closed: u64,
    last: Option<Candle>,
}

impl Candles {
    pub fn from_params(p: &Params) -> Result<Candles, ParamError> {
        let symbol = p.get_symbol("symbol")?;
        let interval_ns = interval_param(p)?;
        let (price_scale, qty_scale) = crate::scales(p, symbol);
        Ok(Candles {
            symbol,
            price_scale,
            qty_scale,
            builder: CandleBuilder::new(interval_ns),
            trades: 0,
            closed: 0,
            last: None,
        })
    }

    fn log_candle(&self, c: &Candle, ctx: &mut dyn Context) {
        let ps = self.price_scale;
        ctx.log(
            LogRecord::new(&OHLC, Some(self.symbol))
                .value(c.open.0, ps)
                .value(c.high.0, ps)
                .value(c.low.0, ps)
                .value(c.close.0, ps),
        );
        ctx.log(
            LogRecord::new(&VOLUME, Some(self.symbol))
                .value(c.volume.0, self.qty_scale)
                .value(c.trades as i64, 0)
                .value((c.start_ns / 1_000_000_000) as i64, 0),
        );
    }
}

impl Strategy for Candles {
    fn on_event(&mut self, event: &Event, ctx: &mut dyn Context) {
        let EventKind::Trade(t) = &event.kind else {
            return;
        };
        if t.symbol != self.symbol {
            return;
        }
        self.trades += 1;
        if let Some(closed) = self.builder.on_trade(t.time_ns, t.price, t.qty) {
            self.closed += 1;
            self.last = Some(closed);
            self.log_candle(&closed, ctx);
        }
    }

    fn summary(&self) -> StrategySummary {
        let ps = self.price_scale;
        let last = self.last;
        let open = self.builder.open_candle();
        StrategySummary::new()
            .count("trades", self.trades)
            .count("candles_closed", self.closed)
            .with("last_close", last.map_or(0, |c| c.close.0), ps)
            .with(
                "last_volume",
                last.map_or(0, |c| c.volume.0),
                self.qty_scale,
            )
            .with("open_high", open.map_or(0, |c| c.high.0), ps)
            .with("open_low", open.map_or(0, |c| c.low.0), ps)
            .count("open_trades", open.map_or(0, |c| c.trades as u64))
    }
}
