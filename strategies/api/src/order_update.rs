//! Order updates (engine → strategy): what happened to an order, and why an order was refused.
//!
//! Owns [`OrderUpdate`], [`OrderStatus`], [`RejectReason`] and [`RiskReason`]. The paper model
//! and live order entry both answer with these, so one strategy runs paper or live unchanged.
//! Invariants: every type is `Copy` and fixed-size; every reason has a stable snake_case
//! [`RejectReason::name`] (the keys of `--json` reject counts, which users script against).

use crate::fixed::{Decimal, Price, Qty};
use crate::order::ClientOrderId;
use crate::symbol::SymbolId;

/// Which pre-trade risk check refused an order, before any byte left the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RiskReason {
    /// Quantity above the order-size limit.
    OrderQty,
    /// Price × quantity above the order-notional limit.
    OrderNotional,
    /// The position, counting every open order as if it filled, would exceed the limit.
    Position,
    /// The limit price is further from the touch than the price band allows.
    PriceBand,
    /// The book is not live (resyncing, stale, frozen): nothing to check the price against.
    BookNotLive,
    /// As many orders are open on the pair as the venue's tier allows (or the engine's order
    /// table holds).
    OpenOrders,
    /// The modelled per-pair rate counter would exceed the venue's threshold.
    RateLimit,
    /// The kill switch is on: no new orders until restart.
    KillSwitch,
    /// The trading connection is not up (or not authenticated yet).
    NotConnected,
    /// The venue's trading status does not accept this order (maintenance, cancel-only, or a
    /// non-post-only order under post-only).
    MarketClosed,
}

impl RiskReason {
    /// Every reason, in declaration order.
    pub const ALL: [RiskReason; 10] = [
        RiskReason::OrderQty,
        RiskReason::OrderNotional,
        RiskReason::Position,
        RiskReason::PriceBand,
        RiskReason::BookNotLive,
        RiskReason::OpenOrders,
        RiskReason::RateLimit,
        RiskReason::KillSwitch,
        RiskReason::NotConnected,
        RiskReason::MarketClosed,
    ];

    /// Stable name (`risk_` + the check) for reports.
    pub const fn name(self) -> &'static str {
        match self {
            RiskReason::OrderQty => "risk_order_qty",
            RiskReason::OrderNotional => "risk_order_notional",
            RiskReason::Position => "risk_position",
            RiskReason::PriceBand => "risk_price_band",
            RiskReason::BookNotLive => "risk_book_not_live",
            RiskReason::OpenOrders => "risk_open_orders",
            RiskReason::RateLimit => "risk_rate_limit",
            RiskReason::KillSwitch => "risk_kill_switch",
            RiskReason::NotConnected => "risk_not_connected",
            RiskReason::MarketClosed => "risk_market_closed",
        }
    }

    /// Index in [`RiskReason::ALL`] (for counters).
    pub const fn index(self) -> usize {
        self as usize
    }
}

/// Why the order path refused an order (or a cancel or amend).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectReason {
    /// The venue is not accepting this kind of order (status `maintenance`, `cancel_only`, or
    /// a non-post-only order under `post_only`).
    MarketClosed,
    /// A post-only order would have taken liquidity.
    WouldTake,
    /// A market order found no liquidity on the other side (paper model: empty book side).
    NoLiquidity,
    /// The paper model's own bound on resting orders.
    Risk,
    /// Price or quantity outside the pair's limits (`qty_min`, `price_increment`, ...).
    BadParameters,
    /// The book was stale, so the paper model could not price the order.
    BookStale,
    /// Cancel or amend of an id that is not open.
    UnknownOrder,
    /// Anything else the venue said (the engine counts it; the text is in the venue's answer).
    Other,
    /// A pre-trade risk check refused it before anything was sent.
    Refused(RiskReason),
    /// The venue's rate limit (`EOrder:Rate limit exceeded`).
    RateLimited,
    /// The venue's open-order limit (`EOrder:Orders limit exceeded`).
    OrdersLimit,
    /// Not enough funds (`EOrder:Insufficient funds`).
    InsufficientFunds,
}

impl RejectReason {
    /// The reasons that carry no risk check, in declaration order.
    pub const PLAIN: [RejectReason; 11] = [
        RejectReason::MarketClosed,
        RejectReason::WouldTake,
        RejectReason::NoLiquidity,
        RejectReason::Risk,
        RejectReason::BadParameters,
        RejectReason::BookStale,
        RejectReason::UnknownOrder,
        RejectReason::Other,
        RejectReason::RateLimited,
        RejectReason::OrdersLimit,
        RejectReason::InsufficientFunds,
    ];

    /// How many distinct reasons there are ([`RejectReason::index`] is below this).
    pub const COUNT: usize = Self::PLAIN.len() + RiskReason::ALL.len();

    /// Stable snake_case name, the key of `--json` reject counts.
    pub const fn name(self) -> &'static str {
        match self {
            RejectReason::MarketClosed => "market_closed",
            RejectReason::WouldTake => "would_take",
            RejectReason::NoLiquidity => "no_liquidity",
            RejectReason::Risk => "paper_open_orders",
            RejectReason::BadParameters => "bad_parameters",
            RejectReason::BookStale => "book_stale",
            RejectReason::UnknownOrder => "unknown_order",
            RejectReason::Other => "other",
            RejectReason::Refused(r) => r.name(),
            RejectReason::RateLimited => "rate_limited",
            RejectReason::OrdersLimit => "orders_limit",
            RejectReason::InsufficientFunds => "insufficient_funds",
        }
    }

    /// A dense index below [`RejectReason::COUNT`] (for counter arrays).
    pub const fn index(self) -> usize {
        match self {
            RejectReason::MarketClosed => 0,
            RejectReason::WouldTake => 1,
            RejectReason::NoLiquidity => 2,
            RejectReason::Risk => 3,
            RejectReason::BadParameters => 4,
            RejectReason::BookStale => 5,
            RejectReason::UnknownOrder => 6,
            RejectReason::Other => 7,
            RejectReason::RateLimited => 8,
            RejectReason::OrdersLimit => 9,
            RejectReason::InsufficientFunds => 10,
            RejectReason::Refused(r) => Self::PLAIN.len() + r.index(),
        }
    }

    /// The reason at [`RejectReason::index`] `i`.
    pub const fn from_index(i: usize) -> Option<RejectReason> {
        if i < Self::PLAIN.len() {
            Some(Self::PLAIN[i])
        } else if i < Self::COUNT {
            Some(RejectReason::Refused(
                RiskReason::ALL[i - Self::PLAIN.len()],
            ))
        } else {
            None
        }
    }
}

/// State an order reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    /// Accepted and working (for a resting limit order) or about to fill.
    Accepted,
    Rejected(RejectReason),
    /// A (partial) fill: see [`OrderUpdate::fill_price`], [`OrderUpdate::fill_qty`],
    /// [`OrderUpdate::remaining`]; `remaining == 0` means the order is done.
    Filled,
    /// Cancelled, by request, by the venue, or expired (time in force); `remaining` is what was
    /// left unfilled.
    Cancelled,
    /// An amend took effect: [`OrderUpdate::amended_price`] is the order's limit price now and
    /// `remaining` its open quantity now.
    Amended,
    /// An amend of a working order was refused; the order works on unchanged.
    AmendRejected(RejectReason),
    /// A cancel of a working order was refused (or could not be sent); the order may still
    /// work or fill, and updates about it follow.
    CancelRejected(RejectReason),
}

/// An update about one order. Fill fields are zero unless `status == Filled` (and `remaining`
/// for `Cancelled` and `Amended`; `fill_price` carries an amend's new limit price).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderUpdate {
    pub client_id: ClientOrderId,
    pub symbol: SymbolId,
    pub status: OrderStatus,
    pub fill_price: Price,
    pub fill_qty: Qty,
    pub remaining: Qty,
    /// The fee of this fill, in the pair's quote currency, exactly as the venue (or the paper
    /// model) charged it; zero for anything but a fill.
    pub fee: Decimal,
}

impl OrderUpdate {
    pub const fn accepted(client_id: ClientOrderId, symbol: SymbolId) -> OrderUpdate {
        OrderUpdate {
            client_id,
            symbol,
            status: OrderStatus::Accepted,
            fill_price: Price::ZERO,
            fill_qty: Qty::ZERO,
            remaining: Qty::ZERO,
            fee: Decimal::ZERO,
        }
    }

    /// The same update with its fill's fee.
    pub const fn with_fee(mut self, fee: Decimal) -> OrderUpdate {
        self.fee = fee;
        self
    }

    pub const fn rejected(
        client_id: ClientOrderId,
        symbol: SymbolId,
        reason: RejectReason,
    ) -> OrderUpdate {
        OrderUpdate {
            status: OrderStatus::Rejected(reason),
            ..OrderUpdate::accepted(client_id, symbol)
        }
    }

    pub const fn filled(
        client_id: ClientOrderId,
        symbol: SymbolId,
        price: Price,
        qty: Qty,
        remaining: Qty,
    ) -> OrderUpdate {
        OrderUpdate {
            client_id,
            symbol,
            status: OrderStatus::Filled,
            fill_price: price,
            fill_qty: qty,
            remaining,
            fee: Decimal::ZERO,
        }
    }

    pub const fn cancelled(
        client_id: ClientOrderId,
        symbol: SymbolId,
        remaining: Qty,
    ) -> OrderUpdate {
        OrderUpdate {
            status: OrderStatus::Cancelled,
            remaining,
            ..OrderUpdate::accepted(client_id, symbol)
        }
    }

    /// An amend took effect: the order now works `remaining` at `price`.
    pub const fn amended(
        client_id: ClientOrderId,
        symbol: SymbolId,
        price: Price,
        remaining: Qty,
    ) -> OrderUpdate {
        OrderUpdate {
            status: OrderStatus::Amended,
            fill_price: price,
            remaining,
            ..OrderUpdate::accepted(client_id, symbol)
        }
    }

    /// A refused amend or cancel of a working order (not final).
    pub const fn change_rejected(
        client_id: ClientOrderId,
        symbol: SymbolId,
        reason: RejectReason,
        was_cancel: bool,
    ) -> OrderUpdate {
        OrderUpdate {
            status: if was_cancel {
                OrderStatus::CancelRejected(reason)
            } else {
                OrderStatus::AmendRejected(reason)
            },
            ..OrderUpdate::accepted(client_id, symbol)
        }
    }

    /// `(price, qty, remaining)` of a fill.
    #[inline]
    pub fn fill(&self) -> Option<(Price, Qty, Qty)> {
        match self.status {
            OrderStatus::Filled => Some((self.fill_price, self.fill_qty, self.remaining)),
            _ => None,
        }
    }

    /// The limit price after an amend.
    #[inline]
    pub fn amended_price(&self) -> Option<Price> {
        match self.status {
            OrderStatus::Amended => Some(self.fill_price),
            _ => None,
        }
    }

    /// No further updates will follow for this order.
    #[inline]
    pub fn is_final(&self) -> bool {
        match self.status {
            OrderStatus::Accepted
            | OrderStatus::Amended
            | OrderStatus::AmendRejected(_)
            | OrderStatus::CancelRejected(_) => false,
            OrderStatus::Filled => self.remaining.0 == 0,
            OrderStatus::Rejected(_) | OrderStatus::Cancelled => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finality_and_fills() {
        let (id, s) = (ClientOrderId(7), SymbolId(0));
        assert!(!OrderUpdate::accepted(id, s).is_final());
        let partial = OrderUpdate::filled(id, s, Price(5), Qty(2), Qty(1));
        assert!(!partial.is_final());
        assert_eq!(partial.fill(), Some((Price(5), Qty(2), Qty(1))));
        assert!(OrderUpdate::filled(id, s, Price(5), Qty(3), Qty(0)).is_final());
        assert!(OrderUpdate::rejected(id, s, RejectReason::Risk).is_final());
        assert_eq!(OrderUpdate::cancelled(id, s, Qty(4)).fill(), None);
        let amended = OrderUpdate::amended(id, s, Price(9), Qty(3));
        assert!(!amended.is_final());
        assert_eq!(amended.amended_price(), Some(Price(9)));
        assert_eq!(amended.fill(), None);
        let refused = OrderUpdate::change_rejected(id, s, RejectReason::RateLimited, true);
        assert_eq!(
            refused.status,
            OrderStatus::CancelRejected(RejectReason::RateLimited)
        );
        assert!(!refused.is_final());
    }

    #[test]
    fn reject_reasons_have_dense_indices_and_unique_names() {
        let mut names = std::collections::BTreeSet::new();
        for i in 0..RejectReason::COUNT {
            let r = RejectReason::from_index(i).expect("dense");
            assert_eq!(r.index(), i);
            assert!(names.insert(r.name()), "duplicate name {}", r.name());
        }
        assert_eq!(RejectReason::from_index(RejectReason::COUNT), None);
        assert_eq!(
            RejectReason::Refused(RiskReason::KillSwitch).name(),
            "risk_kill_switch"
        );
    }
}
