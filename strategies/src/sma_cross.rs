//! `sma_cross`: a long-only SMA-crossover signal on candle closes of one symbol, emitting paper
//! order intents.
//!
//! Parameters: `symbol` (required); `qty` (order quantity, decimal, required, exact at the qty
//! scale); `interval` (candle interval, default `1m`); `fast` (default 5) and `slow` (default 20)
//! SMA lengths in candles, `1 <= fast < slow <= 10000`; `order_type` (`market`, default, or
//! `limit` at the candle close). When the fast SMA crosses above the slow one while flat it buys
//! `qty`; when it crosses below while long it sells `qty`. The first comparison only sets the
//! state. Comparisons are exact (`sum_fast * slow` vs `sum_slow * fast`); logged SMAs are rounded
//! to price scale + 2. Signals are skipped while the exchange is not `online` (an unknown status
//! counts as online, for paper runs). A rejected or unfilled-cancelled order restores the
//! previous state, so the next cross retries. The `signal` log's `order` is the order's number
//! (`ClientOrderId::seq`: 1 for its first order). Closes live in a ring preallocated to `slow`.

use crate::candle::CandleBuilder;
use crate::candles::interval_param;
use kspin_api::fixed::div_round;
use kspin_api::{
    ClientOrderId, Context, Event, EventKind, LogRecord, LogSchema, OrderIntent, OrderStatus,
    OrderType, OrderUpdate, ParamError, Params, Price, Qty, Side, Strategy, StrategySummary,
    SymbolId, SystemStatus,
};

/// Registry name.
pub const NAME: &str = "sma_cross";

/// Extra decimals of the logged SMAs.
const SMA_EXTRA_DECIMALS: u8 = 2;

static SMA: LogSchema = LogSchema::new("sma", ["fast", "slow", "close", ""]);
static SIGNAL: LogSchema = LogSchema::new("signal", ["side", "price", "qty", "order"]);

#[derive(Debug, Clone, Copy)]
struct Pending {
    id: ClientOrderId,
    side: Side,
    filled: i64,
}

pub struct SmaCross {
    symbol: SymbolId,
    price_scale: u8,
    qty_scale: u8,
    qty: Qty,
    order_type: OrderType,
    fast: usize,
    slow: usize,
    builder: CandleBuilder,
    closes: Vec<i64>,
    head: usize,
    len: usize,
    sum_fast: i128,
    sum_slow: i128,
    /// Last strict relation: `Some(true)` = fast above slow.
    above: Option<bool>,
    long: bool,
    pending: Option<Pending>,
    system: SystemStatus,
    candles: u64,
    crosses_up: u64,
    crosses_down: u64,
    intents: u64,
    submit_errors: u64,
    skipped_offline: u64,
    fills: u64,
    rejects: u64,
    position: i64,
}

impl SmaCross {
    pub fn from_params(p: &Params) -> Result<SmaCross, ParamError> {
        let symbol = p.get_symbol("symbol")?;
        let qty = p.get_qty("qty", symbol)?;
        if qty.0 <= 0 {
            return Err(ParamError::invalid("qty", qty.0, "a quantity > 0"));
        }
        let interval_ns = interval_param(p)?;
        let fast = p.get_u64_in("fast", 5, 1, 9_999)? as usize;
        let slow = p.get_u64_in("slow", 20, 2, 10_000)? as usize;
        if fast >= slow {
            return Err(ParamError::invalid(
                "fast",
                fast,
                format!("fewer candles than `slow` ({slow})"),
            ));
        }
        let order_type = match p.get_str_or("order_type", "market") {
            "market" => OrderType::Market,
            "limit" => OrderType::Limit,
            other => return Err(ParamError::invalid("order_type", other, "market or limit")),
        };
        let (price_scale, qty_scale) = crate::scales(p, symbol);
        Ok(SmaCross {
            symbol,
            price_scale,
            qty_scale,
            qty,
            order_type,
            fast,
            slow,
            builder: CandleBuilder::new(interval_ns),
            closes: vec![0; slow],
            head: 0,
            len: 0,
            sum_fast: 0,
            sum_slow: 0,
            above: None,
            long: false,
            pending: None,
            system: SystemStatus::Unknown,
            candles: 0,
            crosses_up: 0,
            crosses_down: 0,
            intents: 0,
            submit_errors: 0,
            skipped_offline: 0,
            fills: 0,
            rejects: 0,
            position: 0,
        })
    }

    /// Adds a close to both running sums.
    fn push_close(&mut self, close: i64) {
        let n = self.slow;
        if self.len >= self.fast {
            // The close leaving the fast window: `fast` places behind the write position.
            let leaving = self.closes[(self.head + n - self.fast) % n];
            self.sum_fast -= leaving as i128;
        }
        if self.len == n {
            self.sum_slow -= self.closes[self.head] as i128;
        }
        self.sum_fast += close as i128;
        self.sum_slow += close as i128;
        self.closes[self.head] = close;
        self.head = (self.head + 1) % n;
        self.len = (self.len + 1).min(n);
    }

    fn on_close(&mut self, close: Price, ctx: &mut dyn Context) {
        self.candles += 1;
        self.push_close(close.0);
        if self.len < self.slow {
            return;
        }
        let (fast, slow) = (self.fast as i128, self.slow as i128);
        let sma = |sum: i128, n: i128| {
            div_round(sum * 100, n)
                .map_or(0, |v| v.clamp(i64::MIN as i128, i64::MAX as i128) as i64)
        };
        let sma_scale = self.price_scale + SMA_EXTRA_DECIMALS;
        ctx.log(
            LogRecord::new(&SMA, Some(self.symbol))
                .value(sma(self.sum_fast, fast), sma_scale)
                .value(sma(self.sum_slow, slow), sma_scale)
                .value(close.0, self.price_scale),
        );
        let lhs = self.sum_fast * slow;
        let rhs = self.sum_slow * fast;
        if lhs == rhs {
            return;
        }
        let now_above = lhs > rhs;
        let before = self.above.replace(now_above);
        match (before, now_above) {
            (Some(false), true) => {
                self.crosses_up += 1;
                if !self.long {
                    self.signal(Side::Buy, close, ctx);
                }
            }
            (Some(true), false) => {
                self.crosses_down += 1;
                if self.long {
                    self.signal(Side::Sell, close, ctx);
                }
            }
            _ => {}
        }
    }

    fn signal(&mut self, side: Side, close: Price, ctx: &mut dyn Context) {
        if !matches!(self.system, SystemStatus::Online | SystemStatus::Unknown) {
            self.skipped_offline += 1;
            return;
        }
        let intent = match self.order_type {
            OrderType::Limit => OrderIntent::limit(self.symbol, side, close, self.qty),
            _ => OrderIntent::market(self.symbol, side, self.qty),
        };
        let order = match ctx.submit(intent) {
            Ok(id) => {
                self.intents += 1;
                self.long = side == Side::Buy;
                self.pending = Some(Pending {
                    id,
                    side,
                    filled: 0,
                });
                id.seq() as i64
            }
            Err(_) => {
                self.submit_errors += 1;
                0
            }
        };
        ctx.log(
            LogRecord::new(&SIGNAL, Some(self.symbol))
                .value(side.sign(), 0)
                .value(close.0, self.price_scale)
                .value(self.qty.0, self.qty_scale)
                .value(order, 0),
        );
    }

    fn on_order(&mut self, u: &OrderUpdate) {
        let Some(p) = self.pending.as_mut().filter(|p| p.id == u.client_id) else {
            return;
        };
        let side = p.side;
        match u.status {
            OrderStatus::Filled => {
                self.fills += 1;
                p.filled += u.fill_qty.0;
                self.position += side.sign() * u.fill_qty.0;
            }
            OrderStatus::Rejected(_) => {
                self.rejects += 1;
                self.long = side == Side::Sell;
            }
            OrderStatus::Cancelled if p.filled == 0 => self.long = side == Side::Sell,
            _ => {}
        }
        if u.is_final() {
            self.pending = None;
        }
    }
}

impl Strategy for SmaCross {
    fn on_event(&mut self, event: &Event, ctx: &mut dyn Context) {
        match &event.kind {
            EventKind::Trade(t) if t.symbol == self.symbol => {
                if let Some(c) = self.builder.on_trade(t.time_ns, t.price, t.qty) {
                    self.on_close(c.close, ctx);
                }
            }
            EventKind::Order(u) if u.symbol == self.symbol => self.on_order(u),
            EventKind::Connection(c) => self.system = c.system,
            _ => {}
        }
    }

    fn summary(&self) -> StrategySummary {
        StrategySummary::new()
            .count("candles", self.candles)
            .count("crosses_up", self.crosses_up)
            .count("crosses_down", self.crosses_down)
            .count("intents", self.intents)
            .count("submit_errors", self.submit_errors)
            .count("skipped_offline", self.skipped_offline)
            .count("fills", self.fills)
            .count("rejects", self.rejects)
            .with("position", self.position, self.qty_scale)
    }
}
