//! `trade_flow`: VWAP, buy and sell volume and trade rate of one symbol over a rolling window of
//! exchange time.
//!
//! Parameters: `symbol` (required); `window` (duration, default `60s`); `capacity` (most trades
//! the window holds, default 4096, 16..=1000000: preallocated, the oldest trade is evicted early
//! and counted if a burst exceeds it); `log_every` (default 1). The window after a trade at time
//! `t` holds the trades with time in `(t - window, t]`; a trade stamped earlier than the newest
//! one is treated as happening at the newest time. Sums are exact `i128`; VWAP is rounded to the
//! price scale and the rate (trades per second) to 3 decimals. No allocation after construction.

use kspin_api::fixed::div_round;
use kspin_api::{
    Context, Event, EventKind, LogRecord, LogSchema, ParamError, Params, Price, Qty, Side,
    Strategy, StrategySummary, SymbolId, Trade,
};
use std::collections::VecDeque;
use std::time::Duration;

/// Registry name.
pub const NAME: &str = "trade_flow";

/// Decimals of the logged trade rate.
const RATE_DECIMALS: u8 = 3;

static FLOW: LogSchema = LogSchema::new("flow", ["vwap", "buy", "sell", "rate"]);

#[derive(Debug, Clone, Copy)]
struct Entry {
    time_ns: u64,
    price: Price,
    qty: Qty,
    side: Side,
}

pub struct TradeFlow {
    symbol: SymbolId,
    price_scale: u8,
    qty_scale: u8,
    window_ns: u64,
    log_every: u64,
    window: VecDeque<Entry>,
    capacity: usize,
    newest_ns: u64,
    notional: i128,
    buy_qty: i128,
    sell_qty: i128,
    trades: u64,
    evicted_early: u64,
    total_buy: i128,
    total_sell: i128,
    last_vwap: i64,
}

fn saturate(v: i128) -> i64 {
    v.clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

impl TradeFlow {
    pub fn from_params(p: &Params) -> Result<TradeFlow, ParamError> {
        let symbol = p.get_symbol("symbol")?;
        let window = p.get_duration_or("window", Duration::from_secs(60))?;
        if window.is_zero() {
            return Err(ParamError::invalid("window", "0", "a duration > 0"));
        }
        let capacity = p.get_u64_in("capacity", 4096, 16, 1_000_000)? as usize;
        let log_every = p.get_u64_in("log_every", 1, 1, u64::MAX)?;
        let (price_scale, qty_scale) = crate::scales(p, symbol);
        Ok(TradeFlow {
            symbol,
            price_scale,
            qty_scale,
            window_ns: window.as_nanos().min(u64::MAX as u128) as u64,
            log_every,
            window: VecDeque::with_capacity(capacity),
            capacity,
            newest_ns: 0,
            notional: 0,
            buy_qty: 0,
            sell_qty: 0,
            trades: 0,
            evicted_early: 0,
            total_buy: 0,
            total_sell: 0,
            last_vwap: 0,
        })
    }

    fn add(&mut self, e: Entry, sign: i128) {
        self.notional += sign * e.price.0 as i128 * e.qty.0 as i128;
        match e.side {
            Side::Buy => self.buy_qty += sign * e.qty.0 as i128,
            Side::Sell => self.sell_qty += sign * e.qty.0 as i128,
        }
    }

    fn evict_front(&mut self) {
        if let Some(old) = self.window.pop_front() {
            self.add(old, -1);
        }
    }

    fn on_trade(&mut self, t: &Trade) -> Option<LogRecord> {
        self.newest_ns = self.newest_ns.max(t.time_ns);
        let horizon = self.newest_ns.saturating_sub(self.window_ns);
        while self
            .window
            .front()
            .is_some_and(|e| e.time_ns <= horizon && self.newest_ns >= self.window_ns)
        {
            self.evict_front();
        }
        if self.window.len() == self.capacity {
            self.evict_front();
            self.evicted_early += 1;
        }
        let e = Entry {
            time_ns: self.newest_ns,
            price: t.price,
            qty: t.qty,
            side: t.side,
        };
        self.add(e, 1);
        self.window.push_back(e);
        self.trades += 1;
        match t.side {
            Side::Buy => self.total_buy += t.qty.0 as i128,
            Side::Sell => self.total_sell += t.qty.0 as i128,
        }
        let volume = self.buy_qty + self.sell_qty;
        self.last_vwap = div_round(self.notional, volume).map_or(0, saturate);
        let rate = div_round(
            self.window.len() as i128 * 1_000_000_000 * 1_000,
            self.window_ns as i128,
        )
        .map_or(0, saturate);
        (self.trades % self.log_every == 0).then(|| {
            LogRecord::new(&FLOW, Some(self.symbol))
                .value(self.last_vwap, self.price_scale)
                .value(saturate(self.buy_qty), self.qty_scale)
                .value(saturate(self.sell_qty), self.qty_scale)
                .value(rate, RATE_DECIMALS)
        })
    }
}

impl Strategy for TradeFlow {
    fn on_event(&mut self, event: &Event, ctx: &mut dyn Context) {
        if let EventKind::Trade(t) = &event.kind {
            if t.symbol == self.symbol {
                if let Some(r) = self.on_trade(t) {
                    ctx.log(r);
                }
            }
        }
    }

    fn summary(&self) -> StrategySummary {
        StrategySummary::new()
            .count("trades", self.trades)
            .count("window_trades", self.window.len() as u64)
            .count("evicted_early", self.evicted_early)
            .with("vwap_last", self.last_vwap, self.price_scale)
            .with("buy_volume", saturate(self.total_buy), self.qty_scale)
            .with("sell_volume", saturate(self.total_sell), self.qty_scale)
    }
}
