//! Strategy-facing events: what [`crate::Strategy::on_event`] receives.
//!
//! Every [`Event`] is a small `Copy` value (at most [`EVENT_SIZE`] bytes, asserted at compile
//! time): a header with the engine's receive and publish TSCs (quanta raw counter ticks, so a
//! strategy or benchmark can measure latency against [`crate::Context::now_tsc`]) and the
//! event's time in nanoseconds since the Unix epoch ([`Event::time_ns`]), then an [`EventKind`].
//! Payload types ([`Trade`], [`Ticker`], [`BookChange`], ...) are shared with the wire layer in
//! [`crate::wire`] where they fit its 60-byte events. Nothing here allocates.

use crate::fixed::{Price, Qty};
use crate::order_update::OrderUpdate;
use crate::side::Side;
use crate::symbol::SymbolId;

/// Largest size of a strategy-facing [`Event`] (they are handed by reference, never queued).
pub const EVENT_SIZE: usize = 96;

/// Size of every wire event (see [`crate::wire::WireEvent`]): 60 bytes, alignment 4, so that
/// with a ring slot's 4-byte sequence number it fills [`WIRE_SLOT_SIZE`].
pub const WIRE_EVENT_SIZE: usize = 60;

/// Size of one ring slot of wire events — the event plus its 4-byte sequence number: one cache
/// line on x86_64 and most aarch64 cores.
pub const WIRE_SLOT_SIZE: usize = 64;

/// One event for a strategy. `recv_tsc` is when the engine read the bytes that caused it from
/// the socket; `publish_tsc` when the engine pushed it into the strategy's ring (0 for events the
/// host makes itself, such as timers, or when it was published more than 2^31 ticks away from
/// `recv_tsc`: the wire carries it as a 32-bit difference, see [`crate::wire::WireEvent`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    pub recv_tsc: u64,
    pub publish_tsc: u64,
    /// When it happened, in nanoseconds since the Unix epoch: the exchange's own timestamp for
    /// book changes, trades, tickers and fills; for events without one (stale / live notices,
    /// connection changes, order acks) the latest exchange time the engine had seen (the market
    /// clock); for timers, the time they were due. Live, in replays and in the test harness the
    /// same event carries the same time, so strategies that measure windows with it reproduce
    /// exactly. 0 before the market has said what time it is.
    pub time_ns: u64,
    pub kind: EventKind,
}

const _: () = assert!(core::mem::size_of::<Event>() <= EVENT_SIZE);

impl Event {
    pub const fn new(recv_tsc: u64, publish_tsc: u64, kind: EventKind) -> Event {
        Event {
            recv_tsc,
            publish_tsc,
            time_ns: 0,
            kind,
        }
    }

    /// The same event at `time_ns`.
    pub const fn at(mut self, time_ns: u64) -> Event {
        self.time_ns = time_ns;
        self
    }

    /// The symbol the event is about, if any.
    #[inline]
    pub fn symbol(&self) -> Option<SymbolId> {
        self.kind.symbol()
    }
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// A book message (snapshot or update) was applied; [`crate::Context::book`] already shows
    /// the book exactly as it is after this message.
    BookChanged(BookChange),
    /// One public trade.
    Trade(Trade),
    /// A ticker update.
    Ticker(Ticker),
    /// The book stopped being trustworthy; it keeps its last levels but `is_live()` is false
    /// until [`EventKind::BookLive`].
    BookStale(BookStale),
    /// The book is live again (after its fresh snapshot was delivered as `BookChanged`).
    BookLive(SymbolId),
    /// Exchange connection or system status changed.
    Connection(ConnectionStatus),
    /// A timer set with [`crate::Context::set_timer`] fired.
    Timer(TimerFired),
    /// Something happened to one of this strategy's orders.
    Order(OrderUpdate),
}

impl EventKind {
    /// The symbol the event is about, if any.
    pub fn symbol(&self) -> Option<SymbolId> {
        match self {
            EventKind::BookChanged(b) => Some(b.symbol),
            EventKind::Trade(t) => Some(t.symbol),
            EventKind::Ticker(t) => Some(t.symbol),
            EventKind::BookStale(s) => Some(s.symbol),
            EventKind::BookLive(s) => Some(*s),
            EventKind::Order(o) => Some(o.symbol),
            EventKind::Connection(_) | EventKind::Timer(_) => None,
        }
    }
}

/// A book message as applied: how many levels it carried and the top of book after it. An empty
/// side has price and quantity 0. Also the wire `BookDone` payload, which lets the host check its
/// replica against the engine's book.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookChange {
    pub symbol: SymbolId,
    /// Level entries in the message (a snapshot: every level of both sides).
    pub levels_changed: u16,
    /// True for a full snapshot (initial, after a resync, or after the strategy lagged).
    pub snapshot: bool,
    pub bid_price: Price,
    pub bid_qty: Qty,
    pub ask_price: Price,
    pub ask_qty: Qty,
}

impl BookChange {
    /// Best bid after the message.
    #[inline]
    pub fn best_bid(&self) -> Option<(Price, Qty)> {
        (self.bid_qty.0 != 0).then_some((self.bid_price, self.bid_qty))
    }

    /// Best ask after the message.
    #[inline]
    pub fn best_ask(&self) -> Option<(Price, Qty)> {
        (self.ask_qty.0 != 0).then_some((self.ask_price, self.ask_qty))
    }
}

/// Kraken `trade.ord_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TradeOrderType {
    Market,
    Limit,
}

/// One public trade (Kraken `trade` channel).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trade {
    pub symbol: SymbolId,
    /// The taker's side.
    pub side: Side,
    pub ord_type: TradeOrderType,
    pub price: Price,
    pub qty: Qty,
    /// Kraken `trade_id`: a per-book sequence number.
    pub trade_id: u64,
    /// Exchange timestamp in nanoseconds since the Unix epoch. Strategies that aggregate by time
    /// (windows, candles) use this, not a local clock, so replays give the same output.
    pub time_ns: u64,
}

/// A ticker update (Kraken `ticker` channel), reduced to what fits: best bid/ask and the last
/// trade price and 24 h volume. Size at the top of book is in the book itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticker {
    pub symbol: SymbolId,
    pub bid: Price,
    pub ask: Price,
    pub last: Price,
    /// 24-hour volume in base currency.
    pub volume: Qty,
}

/// Why a book went stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StaleReason {
    /// The engine's book failed its checksum and is being resubscribed.
    ChecksumMismatch,
    /// The exchange connection dropped.
    Disconnected,
    /// The subscription was lost or refused by the exchange.
    Unsubscribed,
    /// The host's replica disagreed with the engine's top of book (a host bug or a lost wire
    /// event); the host asks the engine for the book again.
    ReplicaDiverged,
    /// The exchange changed the pair's price or quantity precision after start-up. Prices and
    /// quantities of this symbol can no longer be given at the scales in
    /// [`crate::Context::symbols`], so the symbol stays stale for strategies (no book, trade or
    /// ticker events) until the precision returns to those scales; restart to trade it at the new
    /// precision.
    PrecisionChanged,
}

/// The book of `symbol` went stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookStale {
    pub symbol: SymbolId,
    pub reason: StaleReason,
}

/// Which exchange connection a status is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Link {
    /// Public market data (`wss://ws.kraken.com/v2`).
    Public,
    /// Authenticated order entry and executions (`wss://ws-auth.kraken.com/v2`).
    Private,
}

/// Transport state of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkState {
    Connected,
    Disconnected,
}

/// Kraken `status.system` (PROTOCOL.md §1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SystemStatus {
    Online,
    /// No new orders and existing orders cannot be cancelled.
    Maintenance,
    /// Cancels only, no matching.
    CancelOnly,
    /// Only post-only limit orders and cancels, no matching.
    PostOnly,
    /// Not known yet (before the first `status` message).
    Unknown,
}

/// A connection or exchange status change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionStatus {
    pub link: Link,
    pub state: LinkState,
    pub system: SystemStatus,
}

/// A strategy-chosen timer id (see [`crate::Context::set_timer`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TimerId(pub u16);

/// A timer fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerFired {
    pub id: TimerId,
    /// The TSC the timer was due at (the event's `recv_tsc` is when the host noticed).
    pub due_tsc: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::size_of;

    #[test]
    fn events_stay_small() {
        assert!(size_of::<Event>() <= EVENT_SIZE);
        for size in [
            size_of::<BookChange>(),
            size_of::<Trade>(),
            size_of::<Ticker>(),
        ] {
            assert!(size <= 40, "{size}");
        }
    }

    #[test]
    fn empty_sides_read_as_none() {
        let c = BookChange {
            symbol: SymbolId(0),
            levels_changed: 1,
            snapshot: false,
            bid_price: Price(10),
            bid_qty: Qty(2),
            ask_price: Price::ZERO,
            ask_qty: Qty::ZERO,
        };
        assert_eq!(c.best_bid(), Some((Price(10), Qty(2))));
        assert_eq!(c.best_ask(), None);
    }
}
