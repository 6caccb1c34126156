//! The decoded message: one enum over every Kraken spot v2 frame a market-data client receives,
//! plus the small fixed-size message kinds and the shared enums.
//!
//! Owns [`Message`], [`Level`], [`Side`], [`OrdType`], [`UpdateKind`], [`SystemStatus`] and the
//! connection-level messages ([`StatusMsg`], [`AckMsg`], [`PongMsg`], [`RequestMsg`]).
//! Invariants: a `Message<'a>` borrows the frame and the decoder's arena for `'a` and owns no
//! heap memory; prices and quantities are exact [`Decimal`]s parsed from the number text. The
//! variable-length views (book, trade, ticker, ohlc, instrument) are in `views.rs`.

use kspin_api::Decimal;

pub use super::views::{
    BookData, BookMsg, Candle, InstrumentMsg, OhlcMsg, PairInfo, Ticker, TickerMsg, Trade, TradeMsg,
};

/// One decoded frame.
#[derive(Debug, Clone, Copy)]
pub enum Message<'a> {
    /// `{"channel":"status",...}`: sent on connect and when the engine status changes.
    Status(StatusMsg<'a>),
    /// `{"channel":"heartbeat"}`: about once a second when no other channel updated.
    Heartbeat,
    /// `{"method":"pong",...}`: the answer to an application-level `ping`.
    Pong(PongMsg<'a>),
    /// A `subscribe` response (success with `result`, or an error ack with only `error`).
    Subscribed(AckMsg<'a>),
    /// An `unsubscribe` response.
    Unsubscribed(AckMsg<'a>),
    /// `book` snapshot or update; `data` may hold several symbols.
    Book(BookMsg<'a>),
    /// `trade` snapshot or update; several trades per message.
    Trade(TradeMsg<'a>),
    /// `ticker` snapshot or update.
    Ticker(TickerMsg<'a>),
    /// `ohlc` snapshot or update.
    Ohlc(OhlcMsg<'a>),
    /// `instrument` snapshot or update (asset list skipped, pairs decoded).
    Instrument(InstrumentMsg<'a>),
    /// A client request (`{"method":"subscribe","params":...}`), as found in recordings.
    Request(RequestMsg<'a>),
    /// Authenticated: execution reports (snapshot of open orders and recent fills, or updates).
    Executions(super::private::ExecutionsMsg<'a>),
    /// Authenticated: balances (snapshot or ledger updates).
    Balances(super::private::BalancesMsg<'a>),
    /// Authenticated: the answer to an order-entry request.
    OrderResponse(super::private::OrderResponseMsg<'a>),
}

/// Snapshot or incremental update (the `type` field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UpdateKind {
    Snapshot,
    Update,
}

/// One price level of a book message. `qty == 0` in an update removes the level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Level {
    pub price: Decimal,
    pub qty: Decimal,
}

/// Taker side of a trade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    Buy,
    Sell,
}

/// Order type of the taker in a trade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrdType {
    Limit,
    Market,
    /// Absent or a value this decoder does not know.
    Other,
}

/// Trading status of the whole exchange (PROTOCOL.md §1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SystemStatus {
    Online,
    CancelOnly,
    Maintenance,
    PostOnly,
    /// A value this decoder does not know; treat as "not online".
    Unknown,
}

impl From<SystemStatus> for kspin_api::SystemStatus {
    fn from(system: SystemStatus) -> kspin_api::SystemStatus {
        match system {
            SystemStatus::Online => kspin_api::SystemStatus::Online,
            SystemStatus::CancelOnly => kspin_api::SystemStatus::CancelOnly,
            SystemStatus::Maintenance => kspin_api::SystemStatus::Maintenance,
            SystemStatus::PostOnly => kspin_api::SystemStatus::PostOnly,
            SystemStatus::Unknown => kspin_api::SystemStatus::Unknown,
        }
    }
}

impl SystemStatus {
    pub(crate) fn from_text(text: &str) -> SystemStatus {
        match text {
            "online" => SystemStatus::Online,
            "cancel_only" => SystemStatus::CancelOnly,
            "maintenance" => SystemStatus::Maintenance,
            "post_only" => SystemStatus::PostOnly,
            _ => SystemStatus::Unknown,
        }
    }
}

/// The `status` channel. `connection_id` is a u64: real ids exceed `i64::MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusMsg<'a> {
    pub system: SystemStatus,
    /// `""` when absent.
    pub api_version: &'a str,
    /// 0 when absent.
    pub connection_id: u64,
    /// `""` when absent.
    pub version: &'a str,
}

/// A subscribe/unsubscribe response. Error acks carry no `result`, so `channel`/`symbol` are
/// `None` there: correlate by `req_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AckMsg<'a> {
    pub success: bool,
    pub req_id: Option<u64>,
    pub channel: Option<&'a str>,
    pub symbol: Option<&'a str>,
    pub depth: Option<u16>,
    pub snapshot: Option<bool>,
    pub error: Option<&'a str>,
    /// `result.warnings` was present (for example "timestamp is deprecated").
    pub warnings_present: bool,
    pub time_in: Option<&'a str>,
    pub time_out: Option<&'a str>,
}

/// The answer to `{"method":"ping"}`. The docs' pong carries no `success`: it counts as
/// successful unless `success:false` or an `error` is present.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PongMsg<'a> {
    pub req_id: Option<u64>,
    pub success: bool,
    pub error: Option<&'a str>,
    pub time_in: Option<&'a str>,
    pub time_out: Option<&'a str>,
}

/// A client request seen in a recording: `method` is anything but a response (no `success`,
/// `result`, `error` or `time_in`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestMsg<'a> {
    pub method: &'a str,
    pub req_id: Option<u64>,
}
