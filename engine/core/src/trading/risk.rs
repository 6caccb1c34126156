//! Pre-trade risk: the limits an order must pass on the engine core before any byte of it leaves.
//!
//! Owns [`RiskLimits`] (per strategy and symbol, resolved from the config at start-up),
//! [`Exposure`] (one strategy's position and open orders on one symbol) and the pure checks
//! ([`check_new`], [`check_amend`]) that turn an order and the market into `Ok` or the first
//! [`RiskReason`] that refuses it. The checks that need the order table, the rate counter or the
//! connection (open-order count, rate limit, kill switch, link) are the session's
//! ([`super::session`]); this module is arithmetic only.
//!
//! Invariants: integer arithmetic on mantissas only (`i128` where products could overflow),
//! never `f64`; every check is total (no panic, overflow saturates towards refusal); a limit of
//! zero quantity or notional means "no orders", never "no limit" ([`RiskLimits::unlimited`] is
//! the explicit opposite).

use kspin_api::{OrderType, Price, Qty, RiskReason, Side};

/// Limits on one strategy's orders on one symbol. Quantities are mantissas at the symbol's qty
/// scale, prices at its price scale; the notional limit is a mantissa at `price_scale +
/// qty_scale` (price × qty, exactly).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RiskLimits {
    /// Largest quantity of one order.
    pub max_order_qty: Qty,
    /// Largest price × quantity of one order (market orders: at the far touch).
    pub max_order_notional: i128,
    /// Largest absolute position, counting every open order on the side that would grow it as
    /// filled.
    pub max_position: Qty,
    /// How far (basis points of the mid) a limit price may be from the touch mid.
    pub price_band_bps: u32,
    /// Open orders the strategy may have on the symbol at once.
    pub max_open_orders: u32,
}

impl RiskLimits {
    /// No limit at all (tests and the paper model's benchmarks; never a config default).
    pub const fn unlimited() -> RiskLimits {
        RiskLimits {
            max_order_qty: Qty(i64::MAX),
            max_order_notional: i128::MAX,
            max_position: Qty(i64::MAX),
            price_band_bps: u32::MAX,
            max_open_orders: u32::MAX,
        }
    }
}

/// One strategy's standing on one symbol: its filled position and its open orders' remaining
/// quantity per side.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Exposure {
    /// Filled position (buys minus sells), qty mantissa.
    pub position: i64,
    /// Remaining quantity of open buy orders.
    pub open_buy: i64,
    /// Remaining quantity of open sell orders.
    pub open_sell: i64,
    /// Open orders (any side).
    pub open_orders: u32,
}

impl Exposure {
    /// The position if every open order on `side` filled, plus `extra` more on that side.
    fn worst_case(&self, side: Side, extra: i64) -> i64 {
        match side {
            Side::Buy => self
                .position
                .saturating_add(self.open_buy)
                .saturating_add(extra),
            Side::Sell => self
                .position
                .saturating_sub(self.open_sell)
                .saturating_sub(extra),
        }
    }

    /// Adds an open order's remaining quantity.
    pub fn open(&mut self, side: Side, qty: i64) {
        match side {
            Side::Buy => self.open_buy = self.open_buy.saturating_add(qty),
            Side::Sell => self.open_sell = self.open_sell.saturating_add(qty),
        }
        self.open_orders = self.open_orders.saturating_add(1);
    }

    /// Removes an order's remaining quantity (it filled, or is gone).
    pub fn reduce(&mut self, side: Side, qty: i64) {
        match side {
            Side::Buy => self.open_buy = self.open_buy.saturating_sub(qty).max(0),
            Side::Sell => self.open_sell = self.open_sell.saturating_sub(qty).max(0),
        }
    }

    /// An order is no longer open.
    pub fn close(&mut self, side: Side, remaining: i64) {
        self.reduce(side, remaining);
        self.open_orders = self.open_orders.saturating_sub(1);
    }

    /// A fill of `qty` on `side`: the position moves, the open quantity shrinks.
    pub fn fill(&mut self, side: Side, qty: i64) {
        self.position = match side {
            Side::Buy => self.position.saturating_add(qty),
            Side::Sell => self.position.saturating_sub(qty),
        };
        self.reduce(side, qty);
    }
}

/// The market an order is checked against: the touch of a live book.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Touch {
    pub bid: Option<Price>,
    pub ask: Option<Price>,
}

impl Touch {
    /// The mid (or the one side there is), as a mantissa at twice the resolution (bid + ask) so
    /// no rounding happens; `None` for an empty book.
    fn mid_x2(&self) -> Option<i128> {
        match (self.bid, self.ask) {
            (Some(b), Some(a)) => Some(i128::from(b.0) + i128::from(a.0)),
            (Some(p), None) | (None, Some(p)) => Some(2 * i128::from(p.0)),
            (None, None) => None,
        }
    }

    /// The price a market order on `side` would start trading at.
    fn far(&self, side: Side) -> Option<Price> {
        match side {
            Side::Buy => self.ask,
            Side::Sell => self.bid,
        }
    }
}

/// A new order's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderTerms {
    pub side: Side,
    pub order_type: OrderType,
    pub price: Price,
    pub qty: Qty,
}

/// Checks a new order against `limits`, the strategy's `exposure` and the `touch`. The order of
/// the checks is the order of [`RiskReason`]'s documentation: size, notional, position, band.
pub fn check_new(
    limits: &RiskLimits,
    exposure: &Exposure,
    touch: &Touch,
    order: &OrderTerms,
) -> Result<(), RiskReason> {
    if order.qty.0 > limits.max_order_qty.0 {
        return Err(RiskReason::OrderQty);
    }
    let price = match order.order_type {
        OrderType::Market => touch.far(order.side).ok_or(RiskReason::BookNotLive)?,
        OrderType::Limit | OrderType::PostOnly => order.price,
    };
    let notional = i128::from(price.0).saturating_mul(i128::from(order.qty.0));
    if notional > limits.max_order_notional {
        return Err(RiskReason::OrderNotional);
    }
    check_position(limits, exposure, order.side, order.qty.0)?;
    if order.order_type != OrderType::Market {
        check_band(limits, touch, order.price)?;
    }
    if exposure.open_orders >= limits.max_open_orders {
        return Err(RiskReason::OpenOrders);
    }
    Ok(())
}

/// Checks an amend of an open order on `side` with `old_remaining` open to a new total of
/// `new_total` (`new_remaining` open) at `new_price` (the caller resolves "price unchanged" to
/// the order's current price).
#[allow(clippy::too_many_arguments)]
pub fn check_amend(
    limits: &RiskLimits,
    exposure: &Exposure,
    touch: &Touch,
    side: Side,
    old_remaining: Qty,
    new_total: Qty,
    new_remaining: Qty,
    new_price: Price,
) -> Result<(), RiskReason> {
    if new_total.0 > limits.max_order_qty.0 {
        return Err(RiskReason::OrderQty);
    }
    let notional = i128::from(new_price.0).saturating_mul(i128::from(new_total.0));
    if notional > limits.max_order_notional {
        return Err(RiskReason::OrderNotional);
    }
    let growth = new_remaining.0.saturating_sub(old_remaining.0);
    if growth > 0 {
        check_position(limits, exposure, side, growth)?;
    }
    check_band(limits, touch, new_price)
}

fn check_position(
    limits: &RiskLimits,
    exposure: &Exposure,
    side: Side,
    extra: i64,
) -> Result<(), RiskReason> {
    let worst = exposure.worst_case(side, extra);
    if worst.unsigned_abs() > limits.max_position.0.unsigned_abs() {
        // Reducing the position is always allowed, even beyond the limit.
        let reduces = match side {
            Side::Buy => exposure.position < 0 && worst <= 0,
            Side::Sell => exposure.position > 0 && worst >= 0,
        };
        if !reduces {
            return Err(RiskReason::Position);
        }
    }
    Ok(())
}

/// `|price − mid| ≤ band × mid`, in integers: `|2·price − 2·mid| · 10⁴ ≤ band_bps · 2·mid`.
fn check_band(limits: &RiskLimits, touch: &Touch, price: Price) -> Result<(), RiskReason> {
    if limits.price_band_bps == u32::MAX {
        return Ok(());
    }
    let mid_x2 = touch.mid_x2().ok_or(RiskReason::BookNotLive)?;
    let distance_x2 = (2 * i128::from(price.0) - mid_x2).abs();
    if distance_x2.saturating_mul(10_000) > i128::from(limits.price_band_bps) * mid_x2 {
        return Err(RiskReason::PriceBand);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: RiskLimits = RiskLimits {
        max_order_qty: Qty(10),
        max_order_notional: 10_000,
        max_position: Qty(20),
        price_band_bps: 100, // 1 %
        max_open_orders: 3,
    };
    const TOUCH: Touch = Touch {
        bid: Some(Price(995)),
        ask: Some(Price(1005)),
    };

    fn limit(side: Side, price: i64, qty: i64) -> OrderTerms {
        OrderTerms {
            side,
            order_type: OrderType::Limit,
            price: Price(price),
            qty: Qty(qty),
        }
    }

    fn check(exposure: &Exposure, order: OrderTerms) -> Result<(), RiskReason> {
        check_new(&LIMITS, exposure, &TOUCH, &order)
    }

    #[test]
    fn size_notional_band_and_open_orders() {
        let flat = Exposure::default();
        assert_eq!(check(&flat, limit(Side::Buy, 1000, 10)), Ok(()));
        assert_eq!(
            check(&flat, limit(Side::Buy, 1000, 11)),
            Err(RiskReason::OrderQty)
        );
        // 1001 × 10 = 10 010 > 10 000.
        assert_eq!(
            check(&flat, limit(Side::Buy, 1001, 10)),
            Err(RiskReason::OrderNotional)
        );
        // Mid 1000, band 1 %: 990 and 1010 pass, 989 and 1011 do not.
        assert_eq!(check(&flat, limit(Side::Buy, 990, 1)), Ok(()));
        assert_eq!(check(&flat, limit(Side::Sell, 1010, 1)), Ok(()));
        assert_eq!(
            check(&flat, limit(Side::Buy, 989, 1)),
            Err(RiskReason::PriceBand)
        );
        assert_eq!(
            check(&flat, limit(Side::Sell, 1011, 1)),
            Err(RiskReason::PriceBand)
        );
        let busy = Exposure {
            open_orders: 3,
            ..Exposure::default()
        };
        assert_eq!(
            check(&busy, limit(Side::Buy, 1000, 1)),
            Err(RiskReason::OpenOrders)
        );
    }

    #[test]
    fn position_counts_open_orders_at_worst_case_and_reducing_is_allowed() {
        let mut e = Exposure::default();
        e.open(Side::Buy, 10);
        e.fill(Side::Buy, 4); // position 4, 6 still open
        assert_eq!((e.position, e.open_buy), (4, 6));
        // 4 + 6 + 10 = 20: at the limit.
        assert_eq!(check(&e, limit(Side::Buy, 1000, 10)), Ok(()));
        e.open(Side::Buy, 10);
        assert_eq!(
            check(&e, limit(Side::Buy, 1000, 1)),
            Err(RiskReason::Position)
        );
        // Sells reduce: 4 − 0 − 10 = −6.
        assert_eq!(check(&e, limit(Side::Sell, 1000, 10)), Ok(()));
        // Short beyond the limit, then buying back is allowed even if large.
        let short = Exposure {
            position: -30,
            ..Exposure::default()
        };
        assert_eq!(check(&short, limit(Side::Buy, 1000, 10)), Ok(()));
        assert_eq!(
            check(&short, limit(Side::Sell, 1000, 1)),
            Err(RiskReason::Position)
        );
    }

    #[test]
    fn market_orders_are_priced_at_the_far_touch_and_need_a_side() {
        let market = |side, qty| OrderTerms {
            side,
            order_type: OrderType::Market,
            price: Price::ZERO,
            qty: Qty(qty),
        };
        let flat = Exposure::default();
        assert_eq!(check(&flat, market(Side::Buy, 9)), Ok(()));
        // 1005 × 10 > 10 000 at the ask; 995 × 10 < 10 000 at the bid.
        assert_eq!(
            check(&flat, market(Side::Buy, 10)),
            Err(RiskReason::OrderNotional)
        );
        assert_eq!(check(&flat, market(Side::Sell, 10)), Ok(()));
        let no_asks = Touch {
            bid: Some(Price(995)),
            ask: None,
        };
        assert_eq!(
            check_new(&LIMITS, &flat, &no_asks, &market(Side::Buy, 1)),
            Err(RiskReason::BookNotLive)
        );
    }

    #[test]
    fn amends_check_the_new_terms_and_only_growth_counts_for_position() {
        let mut e = Exposure::default();
        e.open(Side::Buy, 10);
        e.fill(Side::Buy, 8);
        // Open 2 left; raising to 12 total (remaining 4) grows exposure by 2: 8 + 2 + 2 = 12.
        let amend = |total, remaining, price| {
            check_amend(
                &LIMITS,
                &e,
                &TOUCH,
                Side::Buy,
                Qty(2),
                Qty(total),
                Qty(remaining),
                Price(price),
            )
        };
        assert_eq!(amend(10, 2, 1000), Ok(()));
        assert_eq!(amend(11, 3, 900), Err(RiskReason::OrderQty));
        assert_eq!(amend(10, 2, 1011), Err(RiskReason::OrderNotional));
        assert_eq!(amend(9, 1, 1011), Err(RiskReason::PriceBand));
        let near_limit = Exposure {
            position: 15,
            open_buy: 2,
            open_orders: 1,
            ..Exposure::default()
        };
        assert_eq!(
            check_amend(
                &LIMITS,
                &near_limit,
                &TOUCH,
                Side::Buy,
                Qty(2),
                Qty(10),
                Qty(6),
                Price(1000)
            ),
            Err(RiskReason::Position)
        );
    }

    #[test]
    fn extremes_saturate_towards_refusal() {
        let flat = Exposure::default();
        let huge = OrderTerms {
            side: Side::Buy,
            order_type: OrderType::Limit,
            price: Price(i64::MAX),
            qty: Qty(i64::MAX),
        };
        assert!(check_new(&RiskLimits::unlimited(), &flat, &TOUCH, &huge).is_ok());
        assert_eq!(check(&flat, huge), Err(RiskReason::OrderQty));
        let empty = Touch {
            bid: None,
            ask: None,
        };
        assert_eq!(
            check_new(&LIMITS, &flat, &empty, &limit(Side::Buy, 1000, 1)),
            Err(RiskReason::BookNotLive)
        );
    }
}
