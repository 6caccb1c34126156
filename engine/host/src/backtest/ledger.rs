//! [`Ledger`]: one strategy's accounting in a deterministic replay — orders sent, refusals by
//! reason, and per symbol its fills, fees, position, realised and unrealised profit and loss,
//! largest position, largest drawdown, and the position and equity over time (for plots).
//!
//! Exact integer arithmetic at the symbol's scales, never `f64` (but for the plot series, which
//! are only drawn): realised PnL is matched first-in first-out (a sell closes the oldest open
//! buys first) at `price_scale + qty_scale` decimals, in the quote currency; unrealised PnL
//! marks what is open to the last mid (`(bid + ask) / 2`, exact at `price_scale + 1` decimals);
//! fees are what the venue charged (rounded up to the cost's last decimal). Equity is
//! `realised + unrealised − fees`; the drawdown is the largest fall of equity from its running
//! peak (which starts at 0), observed at every fill and every new mid.
//!
//! Owns only figures; it allocates (the lots and the series grow with the replay) and is never on
//! the engine core.

use std::collections::VecDeque;

use kspin_api::{Decimal, OrderStatus, OrderUpdate, Price, RejectReason, Side};

/// One point of a series: exchange time (ns since the Unix epoch) and a mantissa.
pub type Point = (u64, i128);

/// One strategy's figures on one symbol; see the module docs for the scales.
#[derive(Debug, Clone)]
pub struct SymbolLedger {
    price_scale: u8,
    qty_scale: u8,
    /// Orders were sent on it (so it is reported).
    pub traded: bool,
    pub fills: u64,
    /// Filled position, qty mantissa (buys minus sells).
    pub position: i64,
    /// Largest absolute position, qty mantissa.
    pub max_position: i64,
    /// Open lots, oldest first: (qty, price), all on the position's side.
    lots: VecDeque<(i64, i64)>,
    /// Σ signed lot qty × price over the open lots, at `price_scale + qty_scale`.
    open_cost: i128,
    /// At `price_scale + qty_scale`.
    pub realized: i128,
    /// At `price_scale + qty_scale` (rounded up further only when that exceeds 18 decimals).
    pub fees: i128,
    /// The last mid, at `price_scale + 1`.
    mid: Option<i128>,
    /// Equity's running peak and the largest fall from it, at [`Self::equity_scale`].
    peak: i128,
    pub max_drawdown: i128,
    last_equity: i128,
    /// Position after each fill.
    pub position_series: Vec<(u64, i64)>,
    /// Equity whenever it changed.
    pub equity_series: Vec<Point>,
}

impl SymbolLedger {
    pub fn new(price_scale: u8, qty_scale: u8) -> SymbolLedger {
        SymbolLedger {
            price_scale,
            qty_scale,
            traded: false,
            fills: 0,
            position: 0,
            max_position: 0,
            lots: VecDeque::new(),
            open_cost: 0,
            realized: 0,
            fees: 0,
            mid: None,
            peak: 0,
            max_drawdown: 0,
            last_equity: 0,
            position_series: Vec::new(),
            equity_series: Vec::new(),
        }
    }

    /// Decimals of `realized` and `fees`: the cost's (`price_scale + qty_scale`).
    pub fn cost_scale(&self) -> u8 {
        self.price_scale + self.qty_scale
    }

    /// Decimals of equity, unrealised PnL and drawdown: `price_scale + qty_scale + 1`.
    pub fn equity_scale(&self) -> u8 {
        self.cost_scale() + 1
    }

    pub fn qty_scale(&self) -> u8 {
        self.qty_scale
    }

    /// Unrealised PnL of the open position at the last mid (0 before any mid), at
    /// [`Self::equity_scale`].
    pub fn unrealized(&self) -> i128 {
        match self.mid {
            Some(mid) => i128::from(self.position)
                .saturating_mul(mid)
                .saturating_sub(self.open_cost.saturating_mul(10)),
            None => 0,
        }
    }

    /// `realised + unrealised − fees`, at [`Self::equity_scale`].
    pub fn equity(&self) -> i128 {
        self.realized
            .saturating_sub(self.fees)
            .saturating_mul(10)
            .saturating_add(self.unrealized())
    }

    /// A fill of `qty` at `price` on `side`, charged `fee`, at `time_ns`.
    pub fn fill(&mut self, side: Side, price: Price, qty: i64, fee: Decimal, time_ns: u64) {
        self.fills += 1;
        self.fees = self.fees.saturating_add(self.fee_at_cost_scale(fee));
        let sign: i64 = match side {
            Side::Buy => 1,
            Side::Sell => -1,
        };
        let mut left = qty;
        // Close open lots of the other side first, oldest first.
        while left > 0 && self.position.signum() == -sign {
            let Some(lot) = self.lots.front_mut() else {
                break;
            };
            let closed = left.min(lot.0);
            // Long closed by a sell: (sell − buy) × qty; short closed by a buy: (sell − buy) too.
            let pnl = i128::from(price.0 - lot.1).saturating_mul(i128::from(closed));
            self.realized = self.realized.saturating_add(pnl * i128::from(-sign));
            self.open_cost = self
                .open_cost
                .saturating_sub(i128::from(-sign) * i128::from(closed) * i128::from(lot.1));
            self.position = self.position.saturating_add(sign * closed);
            lot.0 -= closed;
            left -= closed;
            if lot.0 == 0 {
                self.lots.pop_front();
            }
        }
        if left > 0 {
            self.lots.push_back((left, price.0));
            self.open_cost = self
                .open_cost
                .saturating_add(i128::from(sign) * i128::from(left) * i128::from(price.0));
            self.position = self.position.saturating_add(sign * left);
        }
        self.max_position = self.max_position.max(self.position.saturating_abs());
        self.position_series.push((time_ns, self.position));
        self.observe_equity(time_ns);
    }

    /// A new mid `(bid + ask) / 2`, given as `bid + ask` at the price scale, at `time_ns`.
    pub fn mark(&mut self, bid_plus_ask: i128, time_ns: u64) {
        let mid = bid_plus_ask.saturating_mul(5);
        if self.mid == Some(mid) {
            return;
        }
        self.mid = Some(mid);
        if self.position != 0 || self.equity_series.is_empty() {
            self.observe_equity(time_ns);
        }
    }

    fn observe_equity(&mut self, time_ns: u64) {
        let equity = self.equity();
        self.peak = self.peak.max(equity);
        self.max_drawdown = self.max_drawdown.max(self.peak.saturating_sub(equity));
        if self.equity_series.is_empty() || equity != self.last_equity {
            self.equity_series.push((time_ns, equity));
        }
        self.last_equity = equity;
    }

    /// `fee` at the cost scale (rounded up when it has more decimals, which a venue's fee at
    /// this scale never has).
    fn fee_at_cost_scale(&self, fee: Decimal) -> i128 {
        let to = self.cost_scale();
        let m = i128::from(fee.mantissa);
        if fee.scale <= to {
            let f = 10i128.saturating_pow(u32::from(to - fee.scale));
            m.saturating_mul(f)
        } else {
            let d = 10i128.saturating_pow(u32::from(fee.scale - to));
            (m + d - 1).div_euclid(d)
        }
    }
}

/// One strategy's accounting; see the module docs.
#[derive(Debug, Clone)]
pub struct Ledger {
    /// New orders that passed the pre-trade checks and went to the venue.
    pub orders_sent: u64,
    /// Refusals by [`RejectReason::index`]: the engine's pre-trade checks and the venue's,
    /// refused cancels and amends included.
    pub rejects: [u64; RejectReason::COUNT],
    pub fills: u64,
    pub symbols: Vec<SymbolLedger>,
}

impl Ledger {
    /// A ledger over symbols with these `(price_scale, qty_scale)`.
    pub fn new(scales: &[(u8, u8)]) -> Ledger {
        Ledger {
            orders_sent: 0,
            rejects: [0; RejectReason::COUNT],
            fills: 0,
            symbols: scales
                .iter()
                .map(|&(p, q)| SymbolLedger::new(p, q))
                .collect(),
        }
    }

    /// An order on `symbol` went out (or was refused on the way): the symbol is reported.
    pub fn order_sent(&mut self, symbol: usize, passed: bool) {
        if let Some(s) = self.symbols.get_mut(symbol) {
            s.traded = true;
        }
        if passed {
            self.orders_sent += 1;
        }
    }

    /// An update the strategy received about an order on `side`, at `time_ns`.
    pub fn on_update(&mut self, update: &OrderUpdate, side: Side, time_ns: u64) {
        match update.status {
            OrderStatus::Rejected(r)
            | OrderStatus::AmendRejected(r)
            | OrderStatus::CancelRejected(r) => {
                if let Some(c) = self.rejects.get_mut(r.index()) {
                    *c += 1;
                }
            }
            OrderStatus::Filled => {
                self.fills += 1;
                if let Some(s) = self.symbols.get_mut(update.symbol.index()) {
                    s.fill(
                        side,
                        update.fill_price,
                        update.fill_qty.0,
                        update.fee,
                        time_ns,
                    );
                }
            }
            OrderStatus::Accepted | OrderStatus::Cancelled | OrderStatus::Amended => {}
        }
    }

    /// A new top of `symbol`'s book (`bid + ask` at the price scale), at `time_ns`.
    pub fn mark(&mut self, symbol: usize, bid_plus_ask: i128, time_ns: u64) {
        if let Some(s) = self.symbols.get_mut(symbol).filter(|s| s.traded) {
            s.mark(bid_plus_ask, time_ns);
        }
    }

    /// Refusals of every reason.
    pub fn rejects_total(&self) -> u64 {
        self.rejects.iter().sum()
    }
}

/// `mantissa × 10^-scale` as exact decimal text, trailing fractional zeros dropped (`-12.5`,
/// `0`, `3`).
pub fn decimal_text(mantissa: i128, scale: u8) -> String {
    let negative = mantissa < 0;
    let digits = mantissa.unsigned_abs().to_string();
    let scale = usize::from(scale);
    let (int, frac) = if digits.len() > scale {
        digits.split_at(digits.len() - scale)
    } else {
        ("0", "")
    };
    let mut frac = if digits.len() > scale {
        frac.to_owned()
    } else {
        format!("{}{digits}", "0".repeat(scale - digits.len()))
    };
    while frac.ends_with('0') {
        frac.pop();
    }
    let sign = if negative && (int != "0" || !frac.is_empty()) {
        "-"
    } else {
        ""
    };
    if frac.is_empty() {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NO_FEE: Decimal = Decimal::ZERO;

    #[test]
    fn fifo_realises_exactly_and_marks_the_rest_to_the_mid() {
        // Price scale 1, qty scale 2: cost scale 3, equity scale 4.
        let mut l = SymbolLedger::new(1, 2);
        l.fill(Side::Buy, Price(1000), 100, NO_FEE, 1); // buy 1.00 @ 100.0
        l.fill(Side::Buy, Price(1010), 100, NO_FEE, 2); // buy 1.00 @ 101.0
        assert_eq!((l.position, l.max_position), (200, 200));
        // Sell 1.50 @ 102.0: closes 1.00 @ 100.0 (+2.0) and 0.50 @ 101.0 (+0.5).
        l.fill(Side::Sell, Price(1020), 150, NO_FEE, 3);
        assert_eq!(decimal_text(l.realized, l.cost_scale()), "2.5");
        assert_eq!(l.position, 50);
        // Mid 102.05 (bid 102.0 + ask 102.1): 0.50 open from 101.0 → +0.525.
        l.mark(1020 + 1021, 4);
        assert_eq!(decimal_text(l.unrealized(), l.equity_scale()), "0.525");
        // Flip short: sell 1.00 @ 99.0 closes 0.50 @ 101.0 (−1.0), opens 0.50 short @ 99.0.
        l.fill(Side::Sell, Price(990), 100, NO_FEE, 5);
        assert_eq!(decimal_text(l.realized, l.cost_scale()), "1.5");
        assert_eq!(l.position, -50);
        // Mid 102.05: the short loses 1.525.
        assert_eq!(decimal_text(l.unrealized(), l.equity_scale()), "-1.525");
        assert_eq!(decimal_text(l.equity(), l.equity_scale()), "-0.025");
        // Peak was 2.5 + 0.525 = 3.025 at t=4, now −0.025: drawdown 3.05.
        assert_eq!(decimal_text(l.max_drawdown, l.equity_scale()), "3.05");
        assert_eq!(
            l.position_series,
            vec![(1, 100), (2, 200), (3, 50), (5, -50)]
        );
    }

    #[test]
    fn fees_lower_equity_and_refusals_are_counted_by_reason() {
        let mut ledger = Ledger::new(&[(1, 2)]);
        ledger.order_sent(0, true);
        let id = kspin_api::ClientOrderId(1);
        let s = kspin_api::SymbolId(0);
        let fill = OrderUpdate::filled(id, s, Price(1000), kspin_api::Qty(100), kspin_api::Qty(0))
            .with_fee(Decimal {
                mantissa: 4,
                scale: 1,
            });
        ledger.on_update(&fill, Side::Buy, 1);
        let refused = OrderUpdate::rejected(
            id,
            s,
            RejectReason::Refused(kspin_api::RiskReason::Position),
        );
        ledger.on_update(&refused, Side::Buy, 2);
        let l = &ledger.symbols[0];
        assert_eq!(decimal_text(l.fees, l.cost_scale()), "0.4");
        assert_eq!(decimal_text(l.equity(), l.equity_scale()), "-0.4");
        assert_eq!(ledger.fills, 1);
        assert_eq!(
            ledger.rejects[RejectReason::Refused(kspin_api::RiskReason::Position).index()],
            1
        );
    }

    #[test]
    fn decimal_text_is_exact_and_short() {
        assert_eq!(decimal_text(0, 4), "0");
        assert_eq!(decimal_text(-5, 3), "-0.005");
        assert_eq!(decimal_text(12_500, 3), "12.5");
        assert_eq!(decimal_text(-120, 1), "-12");
        assert_eq!(decimal_text(7, 0), "7");
        assert_eq!(decimal_text(i128::MIN, 2).len(), 41);
    }
}
