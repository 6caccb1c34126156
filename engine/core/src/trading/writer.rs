//! Order-entry requests for Kraken's authenticated WebSocket v2 (`wss://ws-auth.kraken.com/v2`),
//! written as JSON into one preallocated buffer.
//!
//! Owns [`OrderWriter`] (the buffer and the session token), the request shapes ([`AddOrder`],
//! [`BatchOrder`], [`AmendOrder`], [`OrderIds`]), [`OrderWriteError`] and the RFC3339 formatter
//! for `expire_time` and `deadline` ([`write_rfc3339_utc`]). Parameter names and limits follow
//! Kraken's pages for each method (https://docs.kraken.com/api/docs/websocket-v2/<method>, saved
//! as `add_order.md`, `amend_order.md`, `cancel_order.md`, `cancel_all.md`, `cancel_after.md`,
//! `batch_add.md`, `batch_cancel.md`, `executions.md`, `balances.md`).
//!
//! Invariants: after [`OrderWriter::new`] no method allocates; every method returns the finished
//! request borrowed from the buffer, or an error and never a partial request; no input panics;
//! prices and quantities are written exactly from integer mantissas, never through `f64`; every
//! string is JSON-escaped, so any symbol or id text yields valid JSON. The token never appears in
//! an error or in `Debug` output. It checks the documented structural rules (mutually exclusive
//! ids, batch sizes, fields a limit or GTD order needs) and nothing else: tick sizes, minimums
//! and positivity are pre-trade risk's, never the writer's. It performs no I/O.

use core::fmt;

use kspin_api::{Decimal, Side};

use crate::kraken::json_out::JsonOut;
use crate::kraken::request::WriteError;

mod rfc3339;
pub use rfc3339::{write_rfc3339_utc, write_rfc3339_utc_digits};

/// An exact decimal, `mantissa * 10^-scale` (scale at most [`kspin_api::fixed::MAX_SCALE`]),
/// written with exactly `scale` decimals: `Fixed { mantissa: 265004, scale: 1 }` is `26500.4`.
pub type Fixed = Decimal;

/// Room for the session token. Kraken's tokens are 43 base64 characters (32 bytes): the
/// GetWebSocketsToken example `1Dwc4lzSwNWOAwkMdqhssNNFhs1ed606d1WcF3XfEMw` (REST
/// GetWebSocketsToken page) and the tokens of the order-entry pages (add_order.md
/// `G38a1tGFzqGiUCmnegBcm8d4nfP3tytiNQz6tkCBYXY`); 128 leaves room should they grow.
pub const MAX_TOKEN_LEN: usize = 128;

/// batch_add "Sends a collection of orders (minimum of 2 and maximum 15)" (batch_add.md).
pub const BATCH_ADD_MIN: usize = 2;
/// See [`BATCH_ADD_MIN`].
pub const BATCH_ADD_MAX: usize = 15;
/// batch_cancel: "minimum of 2 and maximum 50 in each batch" (batch_cancel.md).
pub const BATCH_CANCEL_MIN: usize = 2;
/// See [`BATCH_CANCEL_MIN`].
pub const BATCH_CANCEL_MAX: usize = 50;
/// cancel_all_orders_after `timeout`: "it should be less than `86400` seconds" (cancel_after.md).
pub const MAX_CANCEL_AFTER_S: u32 = 86_399;

/// Why a request could not be written. The text never contains the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OrderWriteError {
    /// The buffer cannot hold the request.
    #[error("request does not fit the buffer")]
    BufferTooSmall,
    /// A price or quantity with more than 18 decimals cannot be written exactly.
    #[error("decimal has more places than can be written exactly")]
    ScaleTooLarge,
    /// No session token is set.
    #[error("no session token set")]
    NoToken,
    /// The token is empty, longer than [`MAX_TOKEN_LEN`], or not base64 text.
    #[error("session token is not a base64 string of 1 to 128 characters")]
    InvalidToken,
    /// Mutually exclusive fields given together: `cl_ord_id` and `order_userref`, `order_id`
    /// and `cl_ord_id`, a limit price or post-only on a market order, or an `expire_time`
    /// without GTD.
    #[error("mutually exclusive fields given together")]
    Conflicting,
    /// No order identifier where one is required.
    #[error("no order identifier given")]
    MissingId,
    /// A limit order without a limit price.
    #[error("limit order without a limit price")]
    MissingLimitPrice,
    /// A GTD order without an expire time.
    #[error("GTD order without an expire time")]
    MissingExpireTime,
    /// A batch outside its documented size (2..=15 orders to add, 2..=50 to cancel).
    #[error("batch size outside the documented bounds")]
    BatchSize,
    /// A dead-man's-switch timeout of 86400 s or more.
    #[error("cancel-after timeout must be less than 86400 s")]
    TimeoutTooLong,
}

impl From<WriteError> for OrderWriteError {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::BufferTooSmall => OrderWriteError::BufferTooSmall,
            WriteError::ScaleTooLarge => OrderWriteError::ScaleTooLarge,
        }
    }
}

/// The order types the engine sends (add_order.md `order_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderKind {
    Limit,
    Market,
}

impl OrderKind {
    /// Kraken's spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            OrderKind::Limit => "limit",
            OrderKind::Market => "market",
        }
    }
}

/// Time in force (add_order.md `time_in_force`; Kraken's default is `gtc`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tif {
    Gtc,
    Ioc,
    Gtd,
}

impl Tif {
    /// Kraken's spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Tif::Gtc => "gtc",
            Tif::Ioc => "ioc",
            Tif::Gtd => "gtd",
        }
    }
}

/// One `add_order` request's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddOrder<'a> {
    /// `"BTC/USD"`.
    pub symbol: &'a str,
    pub side: Side,
    pub order_type: OrderKind,
    /// Required for [`OrderKind::Limit`], refused for [`OrderKind::Market`].
    pub limit_price: Option<Fixed>,
    pub order_qty: Fixed,
    /// `None`: not written (Kraken's default, GTC).
    pub time_in_force: Option<Tif>,
    /// RFC3339, with [`Tif::Gtd`] only ("Condition: GTD orders only"; Kraken keeps it to the
    /// second); see [`write_rfc3339_utc_digits`].
    pub expire_time: Option<&'a str>,
    /// Written only when true; limit orders only.
    pub post_only: bool,
    /// Mutually exclusive with `order_userref` (add_order.md).
    pub cl_ord_id: Option<&'a str>,
    pub order_userref: Option<u64>,
    /// Written only when true: "the order will be validated only".
    pub validate: bool,
}

/// One order of a `batch_add`: [`AddOrder`] without the batch-level `symbol` and `validate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchOrder<'a> {
    pub side: Side,
    pub order_type: OrderKind,
    pub limit_price: Option<Fixed>,
    pub order_qty: Fixed,
    pub time_in_force: Option<Tif>,
    pub expire_time: Option<&'a str>,
    pub post_only: bool,
    pub cl_ord_id: Option<&'a str>,
    pub order_userref: Option<u64>,
}

impl<'a> AddOrder<'a> {
    fn fields(&self) -> BatchOrder<'a> {
        BatchOrder {
            side: self.side,
            order_type: self.order_type,
            limit_price: self.limit_price,
            order_qty: self.order_qty,
            time_in_force: self.time_in_force,
            expire_time: self.expire_time,
            post_only: self.post_only,
            cl_ord_id: self.cl_ord_id,
            order_userref: self.order_userref,
        }
    }
}

/// One `amend_order` request's parameters (amend_order.md): exactly one of `order_id` and
/// `cl_ord_id`; `order_qty` is required by the schema (though the page's second example omits
/// it), so it is always written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AmendOrder<'a> {
    pub order_id: Option<&'a str>,
    pub cl_ord_id: Option<&'a str>,
    pub order_qty: Fixed,
    pub limit_price: Option<Fixed>,
    /// Written only when true: reject the price change if it would not rest passively.
    pub post_only: bool,
    /// RFC3339 to the millisecond, 500 ms to 60 s ahead (amend_order.md `deadline`).
    pub deadline: Option<&'a str>,
}

/// The orders a cancel names: Kraken `order_id`s or client `cl_ord_id`s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderIds<'a> {
    /// Kraken order ids. In `batch_cancel` this list is `orders`, which also takes
    /// `order_userref`s written as text (batch_cancel.md: `"orders": ["1", "2", "ORDERX-..."]`).
    OrderId(&'a [&'a str]),
    ClOrdId(&'a [&'a str]),
}

impl<'a> OrderIds<'a> {
    fn ids(&self) -> &'a [&'a str] {
        match *self {
            OrderIds::OrderId(ids) | OrderIds::ClOrdId(ids) => ids,
        }
    }
}

/// Writes order-entry requests into its own buffer, each ending with the session token.
pub struct OrderWriter {
    buf: Box<[u8]>,
    token: [u8; MAX_TOKEN_LEN],
    token_len: usize,
}

impl fmt::Debug for OrderWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let token = if self.token_len == 0 {
            "<none>"
        } else {
            "<redacted>"
        };
        f.debug_struct("OrderWriter")
            .field("capacity", &self.buf.len())
            .field("token", &token)
            .finish()
    }
}

impl Drop for OrderWriter {
    fn drop(&mut self) {
        self.clear_token();
    }
}

/// Whether `b` may appear in a token: base64 in either alphabet (`+/` or `-_`) and `=` padding,
/// so the token can be written between quotes without escaping.
fn token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_')
}

impl OrderWriter {
    /// A writer whose requests may be up to `capacity` bytes (16 KiB holds a full batch).
    pub fn new(capacity: usize) -> Self {
        OrderWriter {
            buf: vec![0u8; capacity].into_boxed_slice(),
            token: [0u8; MAX_TOKEN_LEN],
            token_len: 0,
        }
    }

    /// Sets the session token every request carries. On error the previous token is cleared.
    pub fn set_token(&mut self, token: &[u8]) -> Result<(), OrderWriteError> {
        self.clear_token();
        if token.is_empty() || !token.iter().all(|&b| token_byte(b)) {
            return Err(OrderWriteError::InvalidToken);
        }
        let dst = self
            .token
            .get_mut(..token.len())
            .ok_or(OrderWriteError::InvalidToken)?;
        dst.copy_from_slice(token);
        self.token_len = token.len();
        Ok(())
    }

    /// Forgets the token: zeroes it and the buffer, which holds it inside the last request.
    /// Also done on drop (best effort: without volatile writes the compiler may elide it).
    pub fn clear_token(&mut self) {
        self.token.fill(0);
        self.token_len = 0;
        self.buf.fill(0);
        core::hint::black_box(&self.token);
        core::hint::black_box(&self.buf);
    }

    /// Whether a token is set.
    pub fn has_token(&self) -> bool {
        self.token_len > 0
    }

    /// A cursor at the start of the buffer, and the token.
    fn start(&mut self) -> Result<(JsonOut<'_>, &[u8]), OrderWriteError> {
        let token = match self.token.get(..self.token_len) {
            Some(t) if !t.is_empty() => t,
            _ => return Err(OrderWriteError::NoToken),
        };
        Ok((JsonOut::new(&mut self.buf), token))
    }

    /// The first `len` bytes: the request just written.
    fn done(&self, len: usize) -> Result<&[u8], OrderWriteError> {
        self.buf.get(..len).ok_or(OrderWriteError::BufferTooSmall)
    }

    /// `{"method":"add_order","params":{"order_type":..,"side":..,"order_qty":..,"symbol":..,
    /// ["limit_price":..],["time_in_force":..],["expire_time":..],["post_only":true],
    /// ["cl_ord_id":..],["order_userref":..],["validate":true],"token":".."},"req_id":N}`.
    pub fn add_order(
        &mut self,
        req_id: u64,
        order: &AddOrder<'_>,
    ) -> Result<&[u8], OrderWriteError> {
        let fields = order.fields();
        check_order(&fields)?;
        let (mut out, token) = self.start()?;
        out.raw(b"{\"method\":\"add_order\",\"params\":{")?;
        write_order(&mut out, &fields, Some(order.symbol))?;
        if order.validate {
            out.raw(b",\"validate\":true")?;
        }
        end(&mut out, token, req_id)?;
        let len = out.len();
        self.done(len)
    }

    /// `{"method":"amend_order","params":{"order_id"|"cl_ord_id":..,"order_qty":..,
    /// ["limit_price":..],["post_only":true],["deadline":..],"token":".."},"req_id":N}`.
    pub fn amend_order(
        &mut self,
        req_id: u64,
        amend: &AmendOrder<'_>,
    ) -> Result<&[u8], OrderWriteError> {
        let (key, id): (&[u8], &str) = match (amend.order_id, amend.cl_ord_id) {
            (Some(_), Some(_)) => return Err(OrderWriteError::Conflicting),
            (None, None) => return Err(OrderWriteError::MissingId),
            (Some(id), None) => (b"{\"method\":\"amend_order\",\"params\":{\"order_id\":", id),
            (None, Some(id)) => (
                b"{\"method\":\"amend_order\",\"params\":{\"cl_ord_id\":",
                id,
            ),
        };
        let (mut out, token) = self.start()?;
        out.raw(key)?;
        out.string(id)?;
        out.raw(b",\"order_qty\":")?;
        fixed(&mut out, amend.order_qty)?;
        if let Some(price) = amend.limit_price {
            out.raw(b",\"limit_price\":")?;
            fixed(&mut out, price)?;
        }
        if amend.post_only {
            out.raw(b",\"post_only\":true")?;
        }
        if let Some(deadline) = amend.deadline {
            out.raw(b",\"deadline\":")?;
            out.string(deadline)?;
        }
        end(&mut out, token, req_id)?;
        let len = out.len();
        self.done(len)
    }

    /// `{"method":"cancel_order","params":{"order_id"|"cl_ord_id":[..],"token":".."},
    /// "req_id":N}`; at least one id. Kraken answers each order separately (cancel_order.md).
    pub fn cancel_order(
        &mut self,
        req_id: u64,
        ids: OrderIds<'_>,
    ) -> Result<&[u8], OrderWriteError> {
        if ids.ids().is_empty() {
            return Err(OrderWriteError::MissingId);
        }
        let (mut out, token) = self.start()?;
        out.raw(b"{\"method\":\"cancel_order\",\"params\":{")?;
        out.raw(match ids {
            OrderIds::OrderId(_) => b"\"order_id\":",
            OrderIds::ClOrdId(_) => b"\"cl_ord_id\":",
        })?;
        string_array(&mut out, ids.ids())?;
        end(&mut out, token, req_id)?;
        let len = out.len();
        self.done(len)
    }

    /// `{"method":"cancel_all","params":{"token":".."},"req_id":N}`.
    pub fn cancel_all(&mut self, req_id: u64) -> Result<&[u8], OrderWriteError> {
        let (mut out, token) = self.start()?;
        out.raw(b"{\"method\":\"cancel_all\",\"params\":{")?;
        token_member(&mut out, token)?;
        close(&mut out, req_id)?;
        let len = out.len();
        self.done(len)
    }

    /// The dead man's switch: `{"method":"cancel_all_orders_after","params":{"timeout":T,
    /// "token":".."},"req_id":N}`. Kraken cancels every order `timeout_s` seconds from now
    /// unless re-armed; `0` disarms it ("deactivate the mechanism by specifying a timeout of 0",
    /// cancel_after.md). At most [`MAX_CANCEL_AFTER_S`].
    pub fn cancel_all_orders_after(
        &mut self,
        req_id: u64,
        timeout_s: u32,
    ) -> Result<&[u8], OrderWriteError> {
        if timeout_s > MAX_CANCEL_AFTER_S {
            return Err(OrderWriteError::TimeoutTooLong);
        }
        let (mut out, token) = self.start()?;
        out.raw(b"{\"method\":\"cancel_all_orders_after\",\"params\":{\"timeout\":")?;
        out.u64(u64::from(timeout_s))?;
        end(&mut out, token, req_id)?;
        let len = out.len();
        self.done(len)
    }

    /// `{"method":"batch_add","params":{"orders":[{..},..],"symbol":..,["validate":true],
    /// "token":".."},"req_id":N}` with [`BATCH_ADD_MIN`]..=[`BATCH_ADD_MAX`] orders, all on
    /// `symbol` ("All orders in batch are limited to a single pair", batch_add.md).
    pub fn batch_add(
        &mut self,
        req_id: u64,
        symbol: &str,
        orders: &[BatchOrder<'_>],
        validate: bool,
    ) -> Result<&[u8], OrderWriteError> {
        if !(BATCH_ADD_MIN..=BATCH_ADD_MAX).contains(&orders.len()) {
            return Err(OrderWriteError::BatchSize);
        }
        for order in orders {
            check_order(order)?;
        }
        let (mut out, token) = self.start()?;
        out.raw(b"{\"method\":\"batch_add\",\"params\":{\"orders\":[")?;
        for (i, order) in orders.iter().enumerate() {
            out.raw(if i == 0 { b"{" } else { b",{" })?;
            write_order(&mut out, order, None)?;
            out.raw(b"}")?;
        }
        out.raw(b"],\"symbol\":")?;
        out.string(symbol)?;
        if validate {
            out.raw(b",\"validate\":true")?;
        }
        end(&mut out, token, req_id)?;
        let len = out.len();
        self.done(len)
    }

    /// `{"method":"batch_cancel","params":{"orders"|"cl_ord_id":[..],"token":".."},
    /// "req_id":N}` with [`BATCH_CANCEL_MIN`]..=[`BATCH_CANCEL_MAX`] ids. Kraken order ids go
    /// in `orders` ("A list containing either client `order_userref` or Kraken `order_id`
    /// identifiers"), client ids in `cl_ord_id` (batch_cancel.md).
    pub fn batch_cancel(
        &mut self,
        req_id: u64,
        ids: OrderIds<'_>,
    ) -> Result<&[u8], OrderWriteError> {
        if !(BATCH_CANCEL_MIN..=BATCH_CANCEL_MAX).contains(&ids.ids().len()) {
            return Err(OrderWriteError::BatchSize);
        }
        let (mut out, token) = self.start()?;
        out.raw(b"{\"method\":\"batch_cancel\",\"params\":{")?;
        out.raw(match ids {
            OrderIds::OrderId(_) => b"\"orders\":",
            OrderIds::ClOrdId(_) => b"\"cl_ord_id\":",
        })?;
        string_array(&mut out, ids.ids())?;
        end(&mut out, token, req_id)?;
        let len = out.len();
        self.done(len)
    }

    /// `{"method":"subscribe","params":{"channel":"executions","token":"..","snap_orders":B,
    /// "snap_trades":B},"req_id":N}`. `snap_orders` / `snap_trades` are the current names
    /// (executions.md; `snapshot` / `snapshot_trades` are deprecated). Both always written.
    pub fn subscribe_executions(
        &mut self,
        req_id: u64,
        snap_orders: bool,
        snap_trades: bool,
    ) -> Result<&[u8], OrderWriteError> {
        let (mut out, token) = self.start()?;
        out.raw(b"{\"method\":\"subscribe\",\"params\":{\"channel\":\"executions\",")?;
        token_member(&mut out, token)?;
        out.raw(b",\"snap_orders\":")?;
        out.bool(snap_orders)?;
        out.raw(b",\"snap_trades\":")?;
        out.bool(snap_trades)?;
        close(&mut out, req_id)?;
        let len = out.len();
        self.done(len)
    }

    /// `{"method":"subscribe","params":{"channel":"balances","token":"..","snapshot":B},
    /// "req_id":N}` (balances.md).
    pub fn subscribe_balances(
        &mut self,
        req_id: u64,
        snapshot: bool,
    ) -> Result<&[u8], OrderWriteError> {
        let (mut out, token) = self.start()?;
        out.raw(b"{\"method\":\"subscribe\",\"params\":{\"channel\":\"balances\",")?;
        token_member(&mut out, token)?;
        out.raw(b",\"snapshot\":")?;
        out.bool(snapshot)?;
        close(&mut out, req_id)?;
        let len = out.len();
        self.done(len)
    }
}

/// The documented structural rules of one order (add_order.md).
fn check_order(o: &BatchOrder<'_>) -> Result<(), OrderWriteError> {
    if o.cl_ord_id.is_some() && o.order_userref.is_some() {
        return Err(OrderWriteError::Conflicting);
    }
    match o.order_type {
        OrderKind::Limit if o.limit_price.is_none() => {
            return Err(OrderWriteError::MissingLimitPrice)
        }
        // `post_only`: "Condition: Orders with limit price only."
        OrderKind::Market if o.limit_price.is_some() || o.post_only => {
            return Err(OrderWriteError::Conflicting)
        }
        _ => {}
    }
    // `expire_time`: "Condition: GTD orders only."
    match (o.time_in_force, o.expire_time) {
        (Some(Tif::Gtd), None) => Err(OrderWriteError::MissingExpireTime),
        (Some(Tif::Gtc | Tif::Ioc) | None, Some(_)) => Err(OrderWriteError::Conflicting),
        _ => Ok(()),
    }
}

/// An order's members, without braces: `"order_type":..,"side":..,"order_qty":..,["symbol":..]`
/// then the optional ones.
fn write_order(
    out: &mut JsonOut<'_>,
    o: &BatchOrder<'_>,
    symbol: Option<&str>,
) -> Result<(), OrderWriteError> {
    out.raw(b"\"order_type\":\"")?;
    out.raw(o.order_type.as_str().as_bytes())?;
    out.raw(b"\",\"side\":\"")?;
    out.raw(o.side.as_str().as_bytes())?;
    out.raw(b"\",\"order_qty\":")?;
    fixed(out, o.order_qty)?;
    if let Some(symbol) = symbol {
        out.raw(b",\"symbol\":")?;
        out.string(symbol)?;
    }
    if let Some(price) = o.limit_price {
        out.raw(b",\"limit_price\":")?;
        fixed(out, price)?;
    }
    if let Some(tif) = o.time_in_force {
        out.raw(b",\"time_in_force\":\"")?;
        out.raw(tif.as_str().as_bytes())?;
        out.raw(b"\"")?;
    }
    if let Some(expire) = o.expire_time {
        out.raw(b",\"expire_time\":")?;
        out.string(expire)?;
    }
    if o.post_only {
        out.raw(b",\"post_only\":true")?;
    }
    if let Some(id) = o.cl_ord_id {
        out.raw(b",\"cl_ord_id\":")?;
        out.string(id)?;
    }
    if let Some(userref) = o.order_userref {
        out.raw(b",\"order_userref\":")?;
        out.u64(userref)?;
    }
    Ok(())
}

fn fixed(out: &mut JsonOut<'_>, v: Fixed) -> Result<(), WriteError> {
    out.fixed(v.mantissa, v.scale)
}

fn string_array(out: &mut JsonOut<'_>, items: &[&str]) -> Result<(), WriteError> {
    out.raw(b"[")?;
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.raw(b",")?;
        }
        out.string(item)?;
    }
    out.raw(b"]")
}

/// `"token":".."`; the token holds only base64 characters (checked by `set_token`).
fn token_member(out: &mut JsonOut<'_>, token: &[u8]) -> Result<(), WriteError> {
    out.raw(b"\"token\":\"")?;
    out.raw(token)?;
    out.raw(b"\"")
}

/// `},"req_id":N}`.
fn close(out: &mut JsonOut<'_>, req_id: u64) -> Result<(), WriteError> {
    out.raw(b"},\"req_id\":")?;
    out.u64(req_id)?;
    out.raw(b"}")
}

/// `,"token":".."},"req_id":N}`.
fn end(out: &mut JsonOut<'_>, token: &[u8], req_id: u64) -> Result<(), WriteError> {
    out.raw(b",")?;
    token_member(out, token)?;
    close(out, req_id)
}

#[cfg(test)]
mod tests;
