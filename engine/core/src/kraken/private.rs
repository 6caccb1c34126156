//! Decoded messages of the authenticated connection (`wss://ws-auth.kraken.com/v2`): execution
//! reports ([`ExecutionsMsg`]), balances ([`BalancesMsg`]) and the answers to order requests
//! ([`OrderResponseMsg`]), as borrowed views over the decoder's arena.
//!
//! Owns the views and the small enums that classify Kraken's strings (`exec_type`,
//! `order_status`, `liquidity_ind`, the request method). Invariants: like every message, a view
//! borrows the frame and the arena until the next decode and owns no heap memory; numbers are
//! exact [`Decimal`]s from the number text; an enumeration value this decoder does not know is
//! `Other`/`Unknown`, never an error, so a new Kraken value cannot break a live connection.

use core::fmt;

use kspin_api::Decimal;

use super::arena::{BalanceSlot, ExecutionSlot, OrderRefSlot, Texts};
use super::message::{Side, UpdateKind};

/// What an execution report says happened (`exec_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExecType {
    /// Received and validated, not live yet.
    PendingNew,
    /// Live in the book.
    New,
    /// A fill (`last_qty` at `last_price`).
    Trade,
    /// Completely filled.
    Filled,
    Canceled,
    Expired,
    /// A user-initiated amend.
    Amended,
    /// An engine-initiated amend (see `reason`).
    Restated,
    /// A status update (a trigger moved).
    Status,
    IcebergRefill,
    /// A value this decoder does not know.
    Other,
}

impl ExecType {
    pub(crate) fn from_text(text: &str) -> ExecType {
        match text {
            "pending_new" => ExecType::PendingNew,
            "new" => ExecType::New,
            "trade" => ExecType::Trade,
            "filled" => ExecType::Filled,
            "canceled" => ExecType::Canceled,
            "expired" => ExecType::Expired,
            "amended" => ExecType::Amended,
            "restated" => ExecType::Restated,
            "status" => ExecType::Status,
            "iceberg_refill" => ExecType::IcebergRefill,
            _ => ExecType::Other,
        }
    }
}

/// The state an order is in (`order_status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderState {
    PendingNew,
    New,
    PartiallyFilled,
    Filled,
    Canceled,
    Expired,
    Other,
}

impl OrderState {
    pub(crate) fn from_text(text: &str) -> OrderState {
        match text {
            "pending_new" => OrderState::PendingNew,
            "new" => OrderState::New,
            "partially_filled" => OrderState::PartiallyFilled,
            "filled" => OrderState::Filled,
            "canceled" => OrderState::Canceled,
            "expired" => OrderState::Expired,
            _ => OrderState::Other,
        }
    }
}

/// Who provided liquidity in a fill (`liquidity_ind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Liquidity {
    Maker,
    Taker,
}

/// One execution report.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Execution<'a> {
    pub exec_type: ExecType,
    pub order_status: Option<OrderState>,
    pub order_id: Option<&'a str>,
    pub cl_ord_id: Option<&'a str>,
    pub order_userref: Option<u64>,
    pub exec_id: Option<&'a str>,
    pub trade_id: Option<u64>,
    pub symbol: Option<&'a str>,
    pub side: Option<Side>,
    /// `limit`, `market`, ... as sent.
    pub order_type: Option<&'a str>,
    /// `GTC`, `GTD`, `IOC` as sent.
    pub time_in_force: Option<&'a str>,
    pub order_qty: Option<Decimal>,
    pub limit_price: Option<Decimal>,
    pub cum_qty: Option<Decimal>,
    pub cum_cost: Option<Decimal>,
    pub avg_price: Option<Decimal>,
    pub last_qty: Option<Decimal>,
    pub last_price: Option<Decimal>,
    pub cost: Option<Decimal>,
    /// The fees of a `trade` event, summed (Kraken: in the quote currency only).
    pub fee: Option<Decimal>,
    pub fee_asset: Option<&'a str>,
    pub liquidity: Option<Liquidity>,
    pub post_only: Option<bool>,
    pub amended: Option<bool>,
    pub reason: Option<&'a str>,
    pub timestamp: Option<&'a str>,
}

impl fmt::Debug for Execution<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Execution")
            .field("exec_type", &self.exec_type)
            .field("order_status", &self.order_status)
            .field("order_id", &self.order_id)
            .field("cl_ord_id", &self.cl_ord_id)
            .field("symbol", &self.symbol)
            .field("side", &self.side)
            .field("order_qty", &self.order_qty)
            .field("limit_price", &self.limit_price)
            .field("cum_qty", &self.cum_qty)
            .field("last_qty", &self.last_qty)
            .field("last_price", &self.last_price)
            .field("fee", &self.fee)
            .field("liquidity", &self.liquidity)
            .finish_non_exhaustive()
    }
}

/// An `executions` message (snapshot or update).
#[derive(Clone, Copy)]
pub struct ExecutionsMsg<'a> {
    pub kind: UpdateKind,
    /// The subscription's message sequence number, when present.
    pub sequence: Option<u64>,
    pub(crate) texts: Texts<'a>,
    pub(crate) reports: &'a [ExecutionSlot],
}

impl<'a> ExecutionsMsg<'a> {
    #[inline]
    pub fn len(&self) -> usize {
        self.reports.len()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.reports.is_empty()
    }

    /// The `i`-th report; `None` past the end.
    pub fn get(&self, i: usize) -> Option<Execution<'a>> {
        let r = self.reports.get(i)?;
        let t = self.texts;
        Some(Execution {
            exec_type: ExecType::from_text(t.get(r.exec_type)),
            order_status: t.opt(r.order_status).map(OrderState::from_text),
            order_id: t.opt(r.order_id),
            cl_ord_id: t.opt(r.cl_ord_id),
            order_userref: r.order_userref,
            exec_id: t.opt(r.exec_id),
            trade_id: r.trade_id,
            symbol: t.opt(r.symbol),
            side: r.side,
            order_type: t.opt(r.order_type),
            time_in_force: t.opt(r.time_in_force),
            order_qty: r.order_qty,
            limit_price: r.limit_price,
            cum_qty: r.cum_qty,
            cum_cost: r.cum_cost,
            avg_price: r.avg_price,
            last_qty: r.last_qty,
            last_price: r.last_price,
            cost: r.cost,
            fee: r.fee,
            fee_asset: t.opt(r.fee_asset),
            liquidity: t.opt(r.liquidity).and_then(|l| match l {
                "m" => Some(Liquidity::Maker),
                "t" => Some(Liquidity::Taker),
                _ => None,
            }),
            post_only: r.post_only,
            amended: r.amended,
            reason: t.opt(r.reason),
            timestamp: t.opt(r.timestamp),
        })
    }

    pub fn iter(&self) -> impl Iterator<Item = Execution<'a>> {
        let this = *self;
        (0..this.len()).filter_map(move |i| this.get(i))
    }
}

impl fmt::Debug for ExecutionsMsg<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExecutionsMsg")
            .field("kind", &self.kind)
            .field("sequence", &self.sequence)
            .field("data", &self.iter().collect::<Vec<_>>())
            .finish()
    }
}

/// One entry of a `balances` message: a snapshot holds `balance` per asset; an update also the
/// ledger `amount`, `fee` and `type` (trade, deposit, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Balance<'a> {
    pub asset: &'a str,
    pub balance: Option<Decimal>,
    pub amount: Option<Decimal>,
    pub fee: Option<Decimal>,
    pub kind: Option<&'a str>,
    pub timestamp: Option<&'a str>,
}

/// A `balances` message.
#[derive(Clone, Copy)]
pub struct BalancesMsg<'a> {
    pub kind: UpdateKind,
    pub(crate) texts: Texts<'a>,
    pub(crate) balances: &'a [BalanceSlot],
}

impl<'a> BalancesMsg<'a> {
    #[inline]
    pub fn len(&self) -> usize {
        self.balances.len()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.balances.is_empty()
    }

    pub fn get(&self, i: usize) -> Option<Balance<'a>> {
        let b = self.balances.get(i)?;
        Some(Balance {
            asset: self.texts.get(b.asset),
            balance: b.balance,
            amount: b.amount,
            fee: b.fee,
            kind: self.texts.opt(b.kind),
            timestamp: self.texts.opt(b.timestamp),
        })
    }

    pub fn iter(&self) -> impl Iterator<Item = Balance<'a>> {
        let this = *self;
        (0..this.len()).filter_map(move |i| this.get(i))
    }
}

impl fmt::Debug for BalancesMsg<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BalancesMsg")
            .field("kind", &self.kind)
            .field("data", &self.iter().collect::<Vec<_>>())
            .finish()
    }
}

/// The order-entry request a response answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderMethod {
    AddOrder,
    AmendOrder,
    EditOrder,
    CancelOrder,
    CancelAll,
    CancelAllOrdersAfter,
    BatchAdd,
    BatchCancel,
}

impl OrderMethod {
    pub fn from_text(text: &str) -> Option<OrderMethod> {
        Some(match text {
            "add_order" => OrderMethod::AddOrder,
            "amend_order" => OrderMethod::AmendOrder,
            "edit_order" => OrderMethod::EditOrder,
            "cancel_order" => OrderMethod::CancelOrder,
            "cancel_all" => OrderMethod::CancelAll,
            "cancel_all_orders_after" => OrderMethod::CancelAllOrdersAfter,
            "batch_add" => OrderMethod::BatchAdd,
            "batch_cancel" => OrderMethod::BatchCancel,
            _ => return None,
        })
    }

    /// Kraken's method name.
    pub fn name(self) -> &'static str {
        match self {
            OrderMethod::AddOrder => "add_order",
            OrderMethod::AmendOrder => "amend_order",
            OrderMethod::EditOrder => "edit_order",
            OrderMethod::CancelOrder => "cancel_order",
            OrderMethod::CancelAll => "cancel_all",
            OrderMethod::CancelAllOrdersAfter => "cancel_all_orders_after",
            OrderMethod::BatchAdd => "batch_add",
            OrderMethod::BatchCancel => "batch_cancel",
        }
    }
}

/// An order's identifiers as a response gives them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OrderRef<'a> {
    pub order_id: Option<&'a str>,
    pub cl_ord_id: Option<&'a str>,
    pub order_userref: Option<u64>,
}

/// The answer to an order-entry request (PROTOCOL.md §1.11). `orders` holds the one order of
/// `add_order` / `cancel_order` / `amend_order`, or every order of a `batch_add`.
#[derive(Clone, Copy)]
pub struct OrderResponseMsg<'a> {
    pub method: OrderMethod,
    pub req_id: Option<u64>,
    pub success: bool,
    pub error: Option<&'a str>,
    /// `amend_order`: the amend's id.
    pub amend_id: Option<&'a str>,
    /// `cancel_all` / `batch_cancel`: how many orders were cancelled.
    pub count: Option<u64>,
    /// `cancel_all_orders_after`: when the switch fires (RFC3339), if armed.
    pub trigger_time: Option<&'a str>,
    pub time_in: Option<&'a str>,
    pub time_out: Option<&'a str>,
    pub(crate) texts: Texts<'a>,
    pub(crate) orders: &'a [OrderRefSlot],
}

impl<'a> OrderResponseMsg<'a> {
    pub fn orders(&self) -> impl Iterator<Item = OrderRef<'a>> {
        let texts = self.texts;
        self.orders.iter().map(move |o| OrderRef {
            order_id: texts.opt(o.order_id),
            cl_ord_id: texts.opt(o.cl_ord_id),
            order_userref: o.order_userref,
        })
    }

    /// The first (for single-order requests, the only) order.
    pub fn order(&self) -> Option<OrderRef<'a>> {
        self.orders().next()
    }
}

impl fmt::Debug for OrderResponseMsg<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OrderResponseMsg")
            .field("method", &self.method)
            .field("req_id", &self.req_id)
            .field("success", &self.success)
            .field("error", &self.error)
            .field("amend_id", &self.amend_id)
            .field("count", &self.count)
            .field("orders", &self.orders().collect::<Vec<_>>())
            .finish()
    }
}
