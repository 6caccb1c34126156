//! The pre-trade checks of one request, in the order live trading applies them, shared by the
//! live order path ([`super::session::TradingSession`]) and the deterministic replay's paper
//! venue (`kspin-host`'s backtest), so that an order refused live is refused in a replay with the
//! same [`RejectReason::Refused`] reason.
//!
//! Owns nothing but the order of the checks: [`check_new_order`] (kill switch, connection, venue
//! status, a live book, the strategy's [`RiskLimits`] against its [`Exposure`], the pair's open
//! orders and the order table, the modelled rate counter) and [`check_amend_order`] (the same
//! gates, the amend's own validity, one change at a time, then the limits and the rate counter).
//! The arithmetic is [`super::risk`]'s; the state (exposure, counts, rate counters) is the
//! caller's. Invariants: pure functions of their inputs, total (no panic), no allocation, no
//! clock (time is given), no floating point.

use kspin_api::{OrderIntent, OrderType, Price, Qty, RejectReason, RiskReason, Side, SystemStatus};

use super::rate::RateCounter;
use super::risk::{self, Exposure, OrderTerms, RiskLimits, Touch};

/// Whether anything may go out at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gate {
    /// The kill switch was thrown.
    pub killed: bool,
    /// Orders may go out (live: connected, authenticated and reconciled).
    pub ready: bool,
    /// The venue's trading status.
    pub system: SystemStatus,
}

impl Gate {
    /// Kill switch, connection, then venue status for a new order of `order_type`
    /// (`maintenance` and `cancel_only` refuse every order, `post_only` all but post-only ones).
    pub fn check_new(&self, order_type: OrderType) -> Result<(), RejectReason> {
        self.check_open()?;
        let closed = match self.system {
            SystemStatus::Maintenance | SystemStatus::CancelOnly => true,
            SystemStatus::PostOnly => order_type != OrderType::PostOnly,
            SystemStatus::Online | SystemStatus::Unknown => false,
        };
        if closed {
            return Err(RejectReason::Refused(RiskReason::MarketClosed));
        }
        Ok(())
    }

    /// Kill switch, connection, then venue status for an amend (refused under `maintenance`
    /// and `cancel_only`).
    pub fn check_amend(&self) -> Result<(), RejectReason> {
        self.check_open()?;
        if matches!(
            self.system,
            SystemStatus::Maintenance | SystemStatus::CancelOnly
        ) {
            return Err(RejectReason::Refused(RiskReason::MarketClosed));
        }
        Ok(())
    }

    fn check_open(&self) -> Result<(), RejectReason> {
        if self.killed {
            return Err(RejectReason::Refused(RiskReason::KillSwitch));
        }
        if !self.ready {
            return Err(RejectReason::Refused(RiskReason::NotConnected));
        }
        Ok(())
    }
}

/// The strategy's standing on the order's symbol: the touch of a live book at the strategy's
/// scales (`None`: not live), its limits and its exposure (`None`: no such strategy or symbol,
/// refused as `BookNotLive` like a symbol that cannot be traded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing<'a> {
    pub touch: Option<Touch>,
    pub limits: Option<&'a RiskLimits>,
    pub exposure: Option<&'a Exposure>,
}

/// Room for one more open order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacity {
    /// Open orders on the pair now (all strategies), counting earlier orders of the same batch.
    pub open_on_pair: u32,
    /// Open orders per pair the engine allows itself.
    pub max_open_per_pair: u32,
    /// No free slot in the order table (counting earlier orders of the same batch).
    pub table_full: bool,
}

/// The rate counter an order is charged to and its cost (hundredths), when the rate limit is
/// checked (live: unless switched off for benchmarks; not for the second and later orders of a
/// batch, whose cost is checked once for the whole batch).
#[derive(Debug, Clone, Copy)]
pub struct RateCheck<'a> {
    pub counter: &'a RateCounter,
    pub cost: u32,
}

/// The checks of a new order, in order: [`Gate::check_new`], a live book, the strategy's limits
/// ([`risk::check_new`]: size, notional, worst-case position, price band, its open orders), the
/// pair's open orders and the order table ([`RiskReason::OpenOrders`]), the rate counter at
/// `now_ns` ([`RiskReason::RateLimit`]).
pub fn check_new_order(
    gate: &Gate,
    standing: &Standing<'_>,
    capacity: &Capacity,
    rate: Option<RateCheck<'_>>,
    now_ns: u64,
    intent: &OrderIntent,
) -> Result<(), RejectReason> {
    let refuse = |r| Err(RejectReason::Refused(r));
    gate.check_new(intent.order_type)?;
    let (Some(touch), Some(limits), Some(exposure)) =
        (standing.touch, standing.limits, standing.exposure)
    else {
        return refuse(RiskReason::BookNotLive);
    };
    let terms = OrderTerms {
        side: intent.side,
        order_type: intent.order_type,
        price: intent.price,
        qty: intent.qty,
    };
    risk::check_new(limits, exposure, &touch, &terms).map_err(RejectReason::Refused)?;
    if capacity.open_on_pair >= capacity.max_open_per_pair || capacity.table_full {
        return refuse(RiskReason::OpenOrders);
    }
    if rate.is_some_and(|r| r.counter.would_exceed(r.cost, now_ns)) {
        return refuse(RiskReason::RateLimit);
    }
    Ok(())
}

/// What the engine knows of the working order an amend concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkingOrder {
    pub order_type: OrderType,
    pub side: Side,
    /// Its limit price now.
    pub price: Price,
    /// Quantity filled so far.
    pub filled: Qty,
    /// Quantity still open.
    pub remaining: Qty,
    /// A cancel or amend of it is on its way (the venue answers them in order; one at a time).
    pub change_pending: bool,
}

/// The checks of an amend of `order` to a new total quantity `qty` at `price` (zero: price
/// unchanged), in order: [`Gate::check_amend`]; `BadParameters` for a market order, a total not
/// above what has filled, or a negative price; `Other` while another change is pending; a live
/// book; the strategy's limits on the new terms ([`risk::check_amend`]); the rate counter.
#[allow(clippy::too_many_arguments)]
pub fn check_amend_order(
    gate: &Gate,
    standing: &Standing<'_>,
    order: &WorkingOrder,
    price: Price,
    qty: Qty,
    rate: Option<RateCheck<'_>>,
    now_ns: u64,
) -> Result<(), RejectReason> {
    gate.check_amend()?;
    if order.order_type == OrderType::Market || qty.0 <= order.filled.0 || price.0 < 0 {
        return Err(RejectReason::BadParameters);
    }
    if order.change_pending {
        return Err(RejectReason::Other);
    }
    let (Some(touch), Some(limits), Some(exposure)) =
        (standing.touch, standing.limits, standing.exposure)
    else {
        return Err(RejectReason::Refused(RiskReason::BookNotLive));
    };
    let new_price = if price.0 > 0 { price } else { order.price };
    let new_remaining = Qty(qty.0 - order.filled.0);
    risk::check_amend(
        limits,
        exposure,
        &touch,
        order.side,
        order.remaining,
        qty,
        new_remaining,
        new_price,
    )
    .map_err(RejectReason::Refused)?;
    if rate.is_some_and(|r| r.counter.would_exceed(r.cost, now_ns)) {
        return Err(RejectReason::Refused(RiskReason::RateLimit));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trading::rate::Tier;
    use kspin_api::SymbolId;

    const OPEN: Gate = Gate {
        killed: false,
        ready: true,
        system: SystemStatus::Online,
    };
    const TOUCH: Touch = Touch {
        bid: Some(Price(995)),
        ask: Some(Price(1005)),
    };
    const ROOM: Capacity = Capacity {
        open_on_pair: 0,
        max_open_per_pair: 2,
        table_full: false,
    };

    fn limits() -> RiskLimits {
        RiskLimits {
            max_order_qty: Qty(10),
            ..RiskLimits::unlimited()
        }
    }

    #[test]
    fn new_orders_are_checked_in_the_live_order() {
        let (limits, exposure) = (limits(), Exposure::default());
        let standing = Standing {
            touch: Some(TOUCH),
            limits: Some(&limits),
            exposure: Some(&exposure),
        };
        let buy = |qty| OrderIntent::limit(SymbolId(0), Side::Buy, Price(1000), Qty(qty));
        let check = |gate: &Gate, standing: &Standing<'_>, capacity: &Capacity, qty| {
            check_new_order(gate, standing, capacity, None, 0, &buy(qty))
        };
        assert_eq!(check(&OPEN, &standing, &ROOM, 1), Ok(()));
        let refused = |r| Err(RejectReason::Refused(r));
        // The gate comes first, whatever else is wrong.
        let killed = Gate {
            killed: true,
            ..OPEN
        };
        assert_eq!(
            check(&killed, &standing, &ROOM, 99),
            refused(RiskReason::KillSwitch)
        );
        let down = Gate {
            ready: false,
            ..OPEN
        };
        assert_eq!(
            check(&down, &standing, &ROOM, 99),
            refused(RiskReason::NotConnected)
        );
        let post_only = Gate {
            system: SystemStatus::PostOnly,
            ..OPEN
        };
        assert_eq!(
            check(&post_only, &standing, &ROOM, 1),
            refused(RiskReason::MarketClosed)
        );
        let stale = Standing {
            touch: None,
            ..standing
        };
        assert_eq!(
            check(&OPEN, &stale, &ROOM, 99),
            refused(RiskReason::BookNotLive)
        );
        // Limits before capacity, capacity before the rate counter.
        let full = Capacity {
            open_on_pair: 2,
            ..ROOM
        };
        assert_eq!(
            check(&OPEN, &standing, &full, 11),
            refused(RiskReason::OrderQty)
        );
        assert_eq!(
            check(&OPEN, &standing, &full, 1),
            refused(RiskReason::OpenOrders)
        );
        let mut counter = RateCounter::new(Tier::Starter);
        counter.charge(Tier::Starter.threshold_hundredths(), 0);
        let rate = Some(RateCheck {
            counter: &counter,
            cost: 100,
        });
        assert_eq!(
            check_new_order(&OPEN, &standing, &ROOM, rate, 0, &buy(1)),
            refused(RiskReason::RateLimit)
        );
    }

    #[test]
    fn amends_check_their_own_validity_before_the_limits() {
        let (limits, exposure) = (limits(), Exposure::default());
        let standing = Standing {
            touch: Some(TOUCH),
            limits: Some(&limits),
            exposure: Some(&exposure),
        };
        let order = WorkingOrder {
            order_type: OrderType::Limit,
            side: Side::Buy,
            price: Price(1000),
            filled: Qty(2),
            remaining: Qty(3),
            change_pending: false,
        };
        let amend = |order: &WorkingOrder, price, qty| {
            check_amend_order(&OPEN, &standing, order, Price(price), Qty(qty), None, 0)
        };
        assert_eq!(amend(&order, 0, 6), Ok(()));
        assert_eq!(amend(&order, 0, 2), Err(RejectReason::BadParameters));
        assert_eq!(
            amend(&order, 0, 11),
            Err(RejectReason::Refused(RiskReason::OrderQty))
        );
        let pending = WorkingOrder {
            change_pending: true,
            ..order
        };
        assert_eq!(amend(&pending, 0, 6), Err(RejectReason::Other));
        let cancel_only = Gate {
            system: SystemStatus::CancelOnly,
            ..OPEN
        };
        assert_eq!(
            check_amend_order(&cancel_only, &standing, &order, Price(0), Qty(6), None, 0),
            Err(RejectReason::Refused(RiskReason::MarketClosed))
        );
    }
}
