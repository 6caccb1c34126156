//! Order intents and requests (strategy → engine).
//!
//! A strategy describes what it wants with an [`OrderIntent`] and hands it to
//! [`crate::Context::submit`] (or several at once to [`crate::Context::submit_batch`]); the host
//! stamps a [`ClientOrderId`] and pushes an [`OrderMessage`] into the strategy's intent ring.
//! Amends, cancels and cancel-all travel the same way. Everything that happens to an order comes
//! back as an [`crate::OrderUpdate`] event, whether the engine answers from its paper-fill model
//! or from Kraken: the contract is the same either way, so one strategy runs paper or live
//! unchanged. All types are `Copy` and fixed-size; nothing here allocates.

use crate::fixed::{Price, Qty};
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

/// How long an order works (Kraken `time_in_force`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TimeInForce {
    /// Good till cancelled (Kraken's default).
    #[default]
    Gtc,
    /// Immediate or cancel: what cannot fill on arrival is cancelled.
    Ioc,
    /// Good till date: the venue cancels it (reported `Cancelled`) at `expire_ns`, nanoseconds
    /// since the Unix epoch.
    Gtd { expire_ns: u64 },
}

/// A host-assigned order id, unique within one engine run. Live, the engine derives Kraken's
/// `cl_ord_id` from it (and from a per-run prefix), so execution reports find their order.
///
/// The host numbers the orders of the strategy at index `i` (its place in the configuration,
/// from 0) `(i + 1) << ORDER_SEQ_BITS | n`, `n` counting from 1 ([`ClientOrderId::for_strategy`]);
/// it displays as `s{i}#{n}` (`s0#1` is the first strategy's first order), an id outside that
/// numbering as `#{raw}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ClientOrderId(pub u64);

/// Low bits of a host-assigned [`ClientOrderId`] holding the strategy's own order count; the
/// bits above hold the strategy's index + 1.
pub const ORDER_SEQ_BITS: u32 = 40;

impl ClientOrderId {
    /// The id of the `seq`-th order (from 1, kept to [`ORDER_SEQ_BITS`] bits) of the strategy
    /// at index `strategy`.
    pub const fn for_strategy(strategy: usize, seq: u64) -> ClientOrderId {
        ClientOrderId(
            ((strategy as u64 + 1) << ORDER_SEQ_BITS) | (seq & ((1 << ORDER_SEQ_BITS) - 1)),
        )
    }

    /// The index of the strategy that placed it, for a host-assigned id.
    pub const fn strategy(self) -> Option<usize> {
        match self.0 >> ORDER_SEQ_BITS {
            0 => None,
            s => Some((s - 1) as usize),
        }
    }

    /// The strategy's own order number (the whole raw value for an id outside the numbering).
    pub const fn seq(self) -> u64 {
        match self.strategy() {
            Some(_) => self.0 & ((1 << ORDER_SEQ_BITS) - 1),
            None => self.0,
        }
    }
}

impl fmt::Display for ClientOrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.strategy() {
            Some(s) => write!(f, "s{s}#{}", self.seq()),
            None => write!(f, "#{}", self.0),
        }
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
    /// Free for the strategy (a signal number, a leg index); recorded with the intent, never
    /// sent to the venue.
    pub tag: u32,
    /// Good till cancelled unless set ([`OrderIntent::with_tif`]).
    pub tif: TimeInForce,
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
            tif: TimeInForce::Gtc,
        }
    }

    /// A limit order that only ever rests (rejected rather than taking liquidity).
    pub const fn post_only(symbol: SymbolId, side: Side, price: Price, qty: Qty) -> OrderIntent {
        OrderIntent {
            order_type: OrderType::PostOnly,
            ..OrderIntent::limit(symbol, side, price, qty)
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
            tif: TimeInForce::Gtc,
        }
    }

    pub const fn with_tag(mut self, tag: u32) -> OrderIntent {
        self.tag = tag;
        self
    }

    pub const fn with_tif(mut self, tif: TimeInForce) -> OrderIntent {
        self.tif = tif;
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
        if self.order_type == OrderType::PostOnly && self.tif == TimeInForce::Ioc {
            // Kraken refuses post-only IOC: it could never do anything.
            return Err(SubmitError::InvalidTimeInForce);
        }
        Ok(())
    }
}

/// Why a [`crate::Context`] order call refused without sending anything.
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
    /// A time in force the order type cannot have (post-only IOC).
    InvalidTimeInForce,
    /// A batch of fewer than 2 or more than [`MAX_BATCH`] orders, or of several symbols.
    InvalidBatch,
}

impl fmt::Display for SubmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SubmitError::RingFull => "intent ring full",
            SubmitError::UnknownSymbol => "unknown symbol id",
            SubmitError::InvalidQty => "quantity must be > 0",
            SubmitError::InvalidPrice => "limit price must be > 0",
            SubmitError::Disabled => "order entry disabled",
            SubmitError::InvalidTimeInForce => "post-only orders cannot be immediate-or-cancel",
            SubmitError::InvalidBatch => "a batch is 2 to 15 orders of one symbol",
        })
    }
}

impl std::error::Error for SubmitError {}

/// Most orders in one [`crate::Context::submit_batch`]: Kraken's `batch_add` takes 2 to 15
/// (https://docs.kraken.com/api/docs/websocket-v2/batch_add).
pub const MAX_BATCH: usize = 15;

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
    /// Changes an open order in place (Kraken `amend_order`: queue priority is kept where the
    /// venue allows). `qty` is the new total order quantity (filled part included); `price` the
    /// new limit price, or [`Price::ZERO`] to keep it.
    Amend {
        client_id: ClientOrderId,
        symbol: SymbolId,
        price: Price,
        qty: Qty,
    },
    /// Cancels every open order of the strategy (of `symbol`, or of every symbol).
    CancelAll { symbol: Option<SymbolId> },
    /// Host-internal (strategies never send it): the host's replica of `symbol` disagreed with
    /// the engine's book; the engine answers with a fresh snapshot of its book (and `BookLive`
    /// if it is live), which makes the replica trustworthy again.
    Resnapshot { symbol: SymbolId },
}

/// The element of a strategy's intent ring (host-internal: strategies use
/// [`crate::Context::submit`]). Carries the stamps of the event the strategy was handling, so
/// the engine can measure tick-to-trade stage by stage, and the TSC at submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderMessage {
    /// `recv_tsc` of the event being handled when the request was made (0 from `on_start` and
    /// timers): the engine's read of the triggering frame.
    pub trigger_tsc: u64,
    /// `publish_tsc` of that event: when the engine pushed it into the strategy's ring.
    pub trigger_publish_tsc: u64,
    /// Host TSC when the host took that event off the ring.
    pub received_tsc: u64,
    /// Host TSC when the request entered the ring.
    pub submit_tsc: u64,
    /// How many messages after this one belong to the same batch (0: single, or the last of a
    /// batch). A batch is pushed all at once, so the engine sees it whole.
    pub batch_rest: u8,
    pub request: OrderRequest,
}

impl OrderMessage {
    /// A single (unbatched) request with no trigger.
    pub const fn new(submit_tsc: u64, request: OrderRequest) -> OrderMessage {
        OrderMessage {
            trigger_tsc: 0,
            trigger_publish_tsc: 0,
            received_tsc: 0,
            submit_tsc,
            batch_rest: 0,
            request,
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
    fn host_assigned_ids_print_as_strategy_and_number() {
        let id = ClientOrderId::for_strategy(2, 7);
        assert_eq!(id, ClientOrderId((3 << 40) | 7));
        assert_eq!((id.strategy(), id.seq()), (Some(2), 7));
        assert_eq!(id.to_string(), "s2#7");
        assert_eq!(ClientOrderId::for_strategy(0, 1).to_string(), "s0#1");
        assert_eq!(ClientOrderId(5).to_string(), "#5");
        assert_eq!(
            (ClientOrderId(5).strategy(), ClientOrderId(5).seq()),
            (None, 5)
        );
    }
}
