//! `whale_alert`: logs every trade whose notional (price x quantity, in quote currency) reaches a
//! threshold.
//!
//! Parameters: `min_notional` (decimal, required, quote currency, e.g. `"100000"`); `symbol`
//! (optional: watch one symbol; all symbols when absent). The threshold is converted once per
//! symbol to the exact scale `price_scale + qty_scale` of a notional, so the comparison is an
//! exact integer one. An alert logs `whale` with side (+1 buy / -1 sell taker), price, quantity
//! and notional (rounded to the price scale). No allocation after construction.

use kspin_api::fixed::rescale_i128;
use kspin_api::{
    Context, Event, EventKind, LogRecord, LogSchema, ParamError, Params, Strategy, StrategySummary,
    SymbolId, Trade,
};

/// Registry name.
pub const NAME: &str = "whale_alert";

/// Decimals of the summary's `largest_notional` (symbols may differ in scale).
const SUMMARY_NOTIONAL_DECIMALS: u8 = 4;

static WHALE: LogSchema = LogSchema::new("whale", ["side", "price", "qty", "notional"]);

#[derive(Debug, Clone, Copy)]
struct Threshold {
    /// At `price_scale + qty_scale` decimals.
    min: i128,
    price_scale: u8,
    qty_scale: u8,
}

pub struct WhaleAlert {
    only: Option<SymbolId>,
    /// Indexed by symbol id.
    thresholds: Vec<Threshold>,
    trades: u64,
    alerts: u64,
    buy_alerts: u64,
    largest: i128,
}

fn saturate(v: i128) -> i64 {
    v.clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

impl WhaleAlert {
    pub fn from_params(p: &Params) -> Result<WhaleAlert, ParamError> {
        let only = p.opt_symbol("symbol")?;
        let min = p.get_decimal("min_notional")?;
        if min.mantissa <= 0 {
            return Err(ParamError::invalid("min_notional", min, "a notional > 0"));
        }
        let thresholds = p
            .symbols()
            .iter()
            .map(|s| {
                let scale = s.price_scale + s.qty_scale;
                rescale_i128(min.mantissa as i128, min.scale, scale)
                    .map(|min| Threshold {
                        min,
                        price_scale: s.price_scale,
                        qty_scale: s.qty_scale,
                    })
                    .ok_or_else(|| ParamError::invalid("min_notional", min, "a notional in range"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(WhaleAlert {
            only,
            thresholds,
            trades: 0,
            alerts: 0,
            buy_alerts: 0,
            largest: 0,
        })
    }

    fn on_trade(&mut self, t: &Trade) -> Option<LogRecord> {
        if self.only.is_some_and(|s| s != t.symbol) {
            return None;
        }
        let th = *self.thresholds.get(t.symbol.index())?;
        self.trades += 1;
        let notional = t.price.0 as i128 * t.qty.0 as i128;
        if notional < th.min {
            return None;
        }
        self.alerts += 1;
        if t.side == kspin_api::Side::Buy {
            self.buy_alerts += 1;
        }
        let scale = th.price_scale + th.qty_scale;
        let summary = rescale_i128(notional, scale, SUMMARY_NOTIONAL_DECIMALS).unwrap_or(i128::MAX);
        self.largest = self.largest.max(summary);
        let shown = rescale_i128(notional, scale, th.price_scale).map_or(i64::MAX, saturate);
        Some(
            LogRecord::new(&WHALE, Some(t.symbol))
                .value(t.side.sign(), 0)
                .value(t.price.0, th.price_scale)
                .value(t.qty.0, th.qty_scale)
                .value(shown, th.price_scale),
        )
    }
}

impl Strategy for WhaleAlert {
    fn on_event(&mut self, event: &Event, ctx: &mut dyn Context) {
        if let EventKind::Trade(t) = &event.kind {
            if let Some(r) = self.on_trade(t) {
                ctx.log(r);
            }
        }
    }

    fn summary(&self) -> StrategySummary {
        StrategySummary::new()
            .count("trades", self.trades)
            .count("alerts", self.alerts)
            .count("buy_alerts", self.buy_alerts)
            .count("sell_alerts", self.alerts - self.buy_alerts)
            .with(
                "largest_notional",
                saturate(self.largest),
                SUMMARY_NOTIONAL_DECIMALS,
            )
    }
}
