//! The account's orders and fills as the venue sees them, and the events that tell the client
//! about them: the types the matching engine ([`super::exchange`]) produces, the executions and
//! balances frames ([`super::exec_frames`]) render, and the handle returns to tests.
//!
//! Owns plain data: [`Order`], [`Fill`], [`LedgerEntry`], [`AccountEvent`] and their
//! enumerations, with Kraken's words for each (`pending_new`, `partially_filled`, `GTC`, `m`,
//! ...). Invariants: quantities and prices are mantissas at the pair's precision; money (costs,
//! fees, balances) is a mantissa at the asset's precision ([`crate::pairs::asset_precision`]);
//! an order's `cum_qty` never exceeds its `order_qty`. It never computes or sends anything.

use std::time::Instant;

use crate::pairs::SimPair;

/// Side of an order (`side`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Buy,
    Sell,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "buy",
            Side::Sell => "sell",
        }
    }
}

/// The order types the venue matches (`order_type`); Kraken's other types are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderType {
    Limit,
    Market,
}

impl OrderType {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderType::Limit => "limit",
            OrderType::Market => "market",
        }
    }
}

/// `time_in_force`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeInForce {
    Gtc,
    Gtd,
    Ioc,
}

impl TimeInForce {
    /// As the executions channel writes it (`GTC`, `GTD`, `IOC`).
    pub fn as_str(self) -> &'static str {
        match self {
            TimeInForce::Gtc => "GTC",
            TimeInForce::Gtd => "GTD",
            TimeInForce::Ioc => "IOC",
        }
    }
}

/// `order_status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStatus {
    PendingNew,
    New,
    PartiallyFilled,
    Filled,
    Canceled,
    Expired,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::PendingNew => "pending_new",
            OrderStatus::New => "new",
            OrderStatus::PartiallyFilled => "partially_filled",
            OrderStatus::Filled => "filled",
            OrderStatus::Canceled => "canceled",
            OrderStatus::Expired => "expired",
        }
    }
}

/// `liquidity_ind`: `m` maker (a resting order filled), `t` taker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liquidity {
    Maker,
    Taker,
}

impl Liquidity {
    pub fn as_str(self) -> &'static str {
        match self {
            Liquidity::Maker => "m",
            Liquidity::Taker => "t",
        }
    }
}

/// A checked order request (one order of `add_order` or `batch_add`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRequest {
    /// Index of the pair among the venue's pairs.
    pub symbol: usize,
    pub side: Side,
    pub order_type: OrderType,
    pub time_in_force: TimeInForce,
    /// Mantissa at the pair's `qty_precision`.
    pub order_qty: i64,
    /// Mantissa at the pair's `price_precision` (limit orders only).
    pub limit_price: Option<i64>,
    pub post_only: bool,
    /// Unix µs (GTD only).
    pub expire_time: Option<u64>,
    pub cl_ord_id: Option<String>,
    pub order_userref: Option<i64>,
}

/// An order of the account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub order_id: String,
    pub cl_ord_id: Option<String>,
    pub order_userref: Option<i64>,
    pub pair: &'static SimPair,
    /// Index of the pair among the venue's pairs.
    pub symbol: usize,
    pub side: Side,
    pub order_type: OrderType,
    pub time_in_force: TimeInForce,
    pub order_qty: i64,
    pub limit_price: Option<i64>,
    pub post_only: bool,
    pub expire_time: Option<u64>,
    /// Filled so far (qty mantissa).
    pub cum_qty: i64,
    /// Cost of the fills so far, at the quote asset's precision.
    pub cum_cost: i128,
    /// Exact Σ price × qty of the fills (scale price + qty precision), for `avg_price`.
    pub notional: i128,
    /// Fees paid so far, at the quote asset's precision.
    pub fees: i128,
    pub status: OrderStatus,
    /// Amended at least once.
    pub amended: bool,
    /// When it was placed (Unix µs).
    pub placed_us: u64,
    /// When it was placed or last amended (the age behind the decaying rate counts).
    pub touched: Instant,
}

impl Order {
    /// Quantity still to fill.
    pub fn remaining(&self) -> i64 {
        self.order_qty - self.cum_qty
    }

    /// Average fill price at the pair's price precision (halves rounded up); 0 before a fill.
    pub fn avg_price(&self) -> i64 {
        if self.cum_qty <= 0 {
            return 0;
        }
        let q = i128::from(self.cum_qty);
        ((self.notional * 2 + q) / (2 * q)).clamp(0, i128::from(i64::MAX)) as i64
    }

    /// Still working (resting in the venue's book).
    pub fn is_open(&self) -> bool {
        matches!(
            self.status,
            OrderStatus::PendingNew | OrderStatus::New | OrderStatus::PartiallyFilled
        )
    }
}

/// One fill of one of the account's orders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fill {
    /// `exec_id` (also the `ref_id` of its ledger entries).
    pub exec_id: String,
    pub trade_id: u64,
    pub order_id: String,
    pub cl_ord_id: Option<String>,
    pub order_userref: Option<i64>,
    pub pair: &'static SimPair,
    pub side: Side,
    pub order_type: OrderType,
    /// Filled quantity (qty mantissa).
    pub qty: i64,
    /// Fill price (price mantissa).
    pub price: i64,
    /// price × qty at the quote asset's precision (halves rounded up).
    pub cost: i128,
    /// Fee at the quote asset's precision (rounded up), paid in the quote asset.
    pub fee: i128,
    pub liquidity: Liquidity,
    pub timestamp_us: u64,
    /// The order's state just after this fill.
    pub cum_qty: i64,
    pub cum_cost: i128,
    pub avg_price: i64,
}

/// One account ledger entry (a balance change), as the `balances` channel streams it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    pub ledger_id: String,
    /// The fill's `exec_id`.
    pub ref_id: String,
    pub asset: String,
    /// Signed change before the fee, at `scale` decimals.
    pub amount: i128,
    /// Fee charged in this entry, at `scale` decimals.
    pub fee: i128,
    /// Balance after the entry.
    pub balance: i128,
    pub scale: u8,
    pub timestamp_us: u64,
}

/// `exec_type` of an execution report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecType {
    PendingNew,
    New,
    Trade,
    Filled,
    Canceled,
    Expired,
    Amended,
}

impl ExecType {
    pub fn as_str(self) -> &'static str {
        match self {
            ExecType::PendingNew => "pending_new",
            ExecType::New => "new",
            ExecType::Trade => "trade",
            ExecType::Filled => "filled",
            ExecType::Canceled => "canceled",
            ExecType::Expired => "expired",
            ExecType::Amended => "amended",
        }
    }

    /// Sent when the subscriber asked for `order_status: false` ("only open / close
    /// transitions": `new`, `filled`, `canceled`, `expired` — and fills, which are executions,
    /// not transitions).
    pub fn is_open_close_or_fill(self) -> bool {
        !matches!(self, ExecType::PendingNew | ExecType::Amended)
    }
}

/// One execution report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecEvent {
    pub exec_type: ExecType,
    /// The order just after the event.
    pub order: Order,
    /// The fill of a `trade` event.
    pub fill: Option<Fill>,
    /// `reason` of a cancel, expiry or amend.
    pub reason: Option<&'static str>,
    /// The pair's rate counter just after the event, in hundredths.
    pub ratecount_centi: i64,
    pub timestamp_us: u64,
}

/// What the account's subscribers are told, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountEvent {
    Exec(Box<ExecEvent>),
    Ledger(LedgerEntry),
}
