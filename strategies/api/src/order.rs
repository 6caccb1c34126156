//! Order intents (strategy → engine) and order updates (engine → strategy).
//!
//! A strategy describes what it wants with an [`OrderIntent`] and hands it to
//! [`crate::Context::submit`]; the host stamps a [`ClientOrderId`] and pushes an
//! [`OrderMessage`] into the strategy's intent ring. Everything that happens to the order comes
//! back as an [`OrderUpdate`] event, whether the engine answers from its paper-fill model or, later,
//! from Kraken: the contract is the same either way. All types are `Copy` and fixed-size; nothing
//! here allocates.

use crate::fixed::{Decimal, Price, Qty};
use crate::side::Side;
use crate::symbol::SymbolId;
use core::fmt;

/// How an order executes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderType {
    /// Takes liquidity at any price; [`OrderIntent::price`] is ignored (use 0).
    Market,
    /// Rests at [`OrderIntent::price`] or better.
    Limit,
    /// A limit order that is rejected rather than allowed to take liquidity (Kraken `post_only`).
    PostOnly,
}

/// A host-assigned order id, unique within one engine run; it becomes Kraken's `cl_ord_id` when
/// real order entry arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ClientOrderId(pub u64);

impl fmt::Display for ClientOrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// What a strategy asks for. Price and quantity are mantissas at the symbol's scales.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderIntent {
    pub symbol: SymbolId,
    pub side: Side,
    pub order_type: OrderType,
    /// Limit price (ignored for [`OrderType::Market`]).
    pub price: Price,
    /// Quantity, > 0.
    pub qty: Qty,
    /// Free for the strategy (a signal number, a leg index); echoed nowhere, recorded with the
    /// intent.
    pub tag: u32,
}

impl OrderIntent {
    pub const fn limit(symbol: SymbolId, side: Side, price: Price, qty: Qty) -> OrderIntent {
        OrderIntent {
            symbol,
            side,
            order_type: OrderType::Limit,
            price,
            qty,
            tag: 0,
        }
    }

    pub const fn market(symbol: SymbolId, side: Side, qty: Qty) -> OrderIntent {
        OrderIntent {
            symbol,
            side,
            order_type: OrderType::Market,
            price: Price::ZERO,
            qty,
            tag: 0,
        }
    }

    pub const fn with_tag(mut self, tag: u32) -> OrderIntent {
        self.tag = tag;
        self
    }

    /// The host-side checks every [`crate::Context`] applies before an intent enters the ring.
    pub fn validate(&self, symbol_count: usize) -> Result<(), SubmitError> {
        if self.symbol.index() >= symbol_count {
            return Err(SubmitError::UnknownSymbol);
        }
        if self.qty.0 <= 0 {
            return Err(SubmitError::InvalidQty);
        }
        if self.order_type != OrderType::Market && self.price.0 <= 0 {
            return Err(SubmitError::InvalidPrice);
        }
        Ok(())
    }
}

/// Why [`crate::Context::submit`] / [`crate::Context::cancel`] refused without sending anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubmitError {
    /// The intent ring is full: the engine core is behind. Nothing was sent; try later.
    RingFull,
    /// The symbol id is not in the symbol table.
    UnknownSymbol,
    /// Quantity zero or negative.
    InvalidQty,
    /// Limit price zero or negative.
    InvalidPrice,
    /// Order entry is switched off for this strategy (config) or the host is stopping.
    Disabled,
}

impl fmt::Display for SubmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SubmitError::RingFull => "intent ring full",
            SubmitError::UnknownSymbol => "unknown symbol id",
            SubmitError::InvalidQty => "quantity must be > 0",
            SubmitError::InvalidPrice => "limit price must be > 0",
            SubmitError::Disabled => "order entry disabled",
        })
    }
}

impl std::error::Error for SubmitError {}

/// What a strategy asks of the order path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderRequest {
    New {
        client_id: ClientOrderId,
        intent: OrderIntent,
    },
    Cancel {
        client_id: ClientOrderId,
        symbol: SymbolId,
    },
    /// Host-internal (strategies never send it): the host's replica of `symbol` disagreed with
    /// the engine's book; the engine answers with a fresh snapshot of its book (and `BookLive`
    /// if it is live), which makes the replica trustworthy again.
    Resnapshot { symbol: SymbolId },
}

/// The element of a strategy's intent ring (host-internal: strategies use
/// [`crate::Context::submit`]). Carries the receive TSC of the event the strategy was handling,
/// so the engine can measure tick-to-intent latency, and the TSC at submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderMessage {
    /// `recv_tsc` of the event being handled when the request was made (0 from `on_start`).
    pub trigger_tsc: u64,
    /// Host TSC when the request entered the ring.
    pub submit_tsc: u64,
    pub request: OrderRequest,
}

/// Why the order path refused an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectReason {
    /// The venue is not accepting this kind of order (status `maintenance`, `cancel_only`, or
    /// a non-post-only order under `post_only`).
    MarketClosed,
    /// A post-only order would have taken liquidity.
    WouldTake,
    /// A market order found no liquidity on the other side (paper model: empty book side).
    NoLiquidity,
    /// Pre-trade risk limits (position, notional, rate) refused it.
    Risk,
    /// Price or quantity outside the pair's limits (`qty_min`, `price_increment`, ...).
    BadParameters,
    /// The book was stale, so the paper model could not price the order.
    BookStale,
    /// Cancel of an id that is not open.
    UnknownOrder,
    /// Anything else the venue said (the engine logs the text).
    Other,
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
    /// Cancelled, by request or by the venue; `remaining` is what was left unfilled.
    Cancelled,
}

/// An update about one order. Fill fields are zero unless `status == Filled` (and `remaining`
/// for `Cancelled`).
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

    /// `(price, qty, remaining)` of a fill.
    #[inline]
    pub fn fill(&self) -> Option<(Price, Qty, Qty)> {
        match self.status {
            OrderStatus::Filled => Some((self.fill_price, self.fill_qty, self.remaining)),
            _ => None,
        }
    }

    /// No further updates will follow for this order.
    #[inline]
    pub fn is_final(&self) -> bool {
        match self.status {
            OrderStatus::Accepted => false,
            OrderStatus::Filled => self.remaining.0 == 0,
            OrderStatus::Rejected(_) | OrderStatus::Cancelled => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_intents() {
        let s = SymbolId(0);
        assert_eq!(
            OrderIntent::limit(s, Side::Buy, Price(10), Qty(1)).validate(1),
            Ok(())
        );
        assert_eq!(
            OrderIntent::market(s, Side::Sell, Qty(1)).validate(1),
            Ok(())
        );
        assert_eq!(
            OrderIntent::limit(SymbolId(1), Side::Buy, Price(10), Qty(1)).validate(1),
            Err(SubmitError::UnknownSymbol)
        );
        assert_eq!(
            OrderIntent::limit(s, Side::Buy, Price(10), Qty(0)).validate(1),
            Err(SubmitError::InvalidQty)
        );
        assert_eq!(
            OrderIntent::limit(s, Side::Buy, Price(0), Qty(1)).validate(1),
            Err(SubmitError::InvalidPrice)
        );
    }

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
    }
}
