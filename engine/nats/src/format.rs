//! The message format on NATS: subjects, the `Nats-Msg-Id` header and the JSON body of every
//! message the bridge publishes and the mirror reads. Version 1, JSON for a first version: one
//! object per message, prices and quantities as exact integer mantissas at the pair's scales
//! (never floats), so a consumer in any language rebuilds the engine's book exactly.
//!
//! Subjects: `kspin.<venue>.<kind>.<SYMBOL>` with `kind` one of `book`, `trade`, `ticker`,
//! `status` (book stale / live), `fill` and `order` (the run's own orders), and
//! `kspin.<venue>.connection` for connection statuses.
//! Every market-data message of one symbol (book, trade, ticker, status) carries the next number
//! of that symbol's sequence (`seq`, from 1, per bridge run `epoch`), so a consumer sees a gap
//! whatever kind was lost; the run's fills and order updates of a symbol have a sequence of their
//! own (private trading data may be routed apart from market data without leaving gaps).
//! `Nats-Msg-Id` is `<venue>:<SYMBOL>:<epoch>:<seq>` (`<venue>:<SYMBOL>:orders:<epoch>:<seq>` for
//! fills and order updates): a republish after a reconnect carries the same id and JetStream
//! drops it as a duplicate; a new run (new epoch) never collides with an old one inside the
//! duplicate window.
//!
//! Owns only pure functions and plain data; nothing here does I/O.

use serde::{Deserialize, Serialize};

/// Version of the body format (`v`).
pub const FORMAT_VERSION: u8 = 1;

/// The first token of every subject.
pub const SUBJECT_ROOT: &str = "kspin";

/// The key of messages that belong to no symbol (connection statuses) in sequences and ids.
pub const ENGINE_KEY: &str = "_engine";

/// What a message is about (the subject's third token).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Book,
    Trade,
    Ticker,
    Status,
    Connection,
    /// A fill of one of the run's orders.
    Fill,
    /// Any other update of one of the run's orders (accepted, cancelled, amended, refused).
    Order,
}

impl Kind {
    pub fn token(self) -> &'static str {
        match self {
            Kind::Book => "book",
            Kind::Trade => "trade",
            Kind::Ticker => "ticker",
            Kind::Status => "status",
            Kind::Connection => "connection",
            Kind::Fill => "fill",
            Kind::Order => "order",
        }
    }

    /// Fills and order updates: the run's own orders, numbered in their own sequence.
    pub fn is_order(self) -> bool {
        matches!(self, Kind::Fill | Kind::Order)
    }
}

/// A subject token for `name`: NATS forbids `.`, `*`, `>` and whitespace inside a token; they
/// become `_` (Kraken names such as `BTC/USD` pass unchanged).
pub fn token(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            '.' | '*' | '>' => '_',
            c if c.is_whitespace() => '_',
            c => c,
        })
        .collect()
}

/// `kspin.<venue>.<kind>.<SYMBOL>` (`kspin.<venue>.connection` for connection statuses).
pub fn subject(venue: &str, kind: Kind, symbol: &str) -> String {
    match kind {
        Kind::Connection => format!("{SUBJECT_ROOT}.{}.connection", token(venue)),
        _ => format!(
            "{SUBJECT_ROOT}.{}.{}.{}",
            token(venue),
            kind.token(),
            token(symbol)
        ),
    }
}

/// The first token of control subjects: outside `kspin.>`, so that the stream never stores a
/// request (and JetStream never answers one with a publish acknowledgement).
pub const CONTROL_ROOT: &str = "kspinctl";

/// Where a consumer asks the bridges of `venue` for a fresh snapshot of one symbol (the body is
/// the symbol's name): `kspinctl.<venue>.snapshot.request`. The bridge carrying the symbol
/// publishes its book as a snapshot (reason `requested`) next and replies `ok` when the
/// request has a reply subject; bridges of other shards stay silent.
pub fn snapshot_request_subject(venue: &str) -> String {
    format!("{CONTROL_ROOT}.{}.snapshot.request", token(venue))
}

/// The venue token of a `kspin.<venue>.…` subject.
pub fn venue_of(subject: &str) -> Option<&str> {
    let mut parts = subject.split('.');
    (parts.next() == Some(SUBJECT_ROOT)).then_some(())?;
    parts.next().filter(|v| !v.is_empty())
}

/// What a mirror subscribes to for `symbol` (every kind), or for everything (`None`).
pub fn filter(symbol: Option<&str>) -> String {
    match symbol {
        Some(s) => format!("{SUBJECT_ROOT}.*.*.{}", token(s)),
        None => format!("{SUBJECT_ROOT}.>"),
    }
}

/// `Nats-Msg-Id`: `<venue>:<SYMBOL>:<epoch>:<seq>`.
pub fn message_id(venue: &str, symbol: &str, epoch: u64, seq: u64) -> String {
    format!("{venue}:{symbol}:{epoch}:{seq}")
}

/// `Nats-Msg-Id` of a fill or order update: `<venue>:<SYMBOL>:orders:<epoch>:<seq>` (never equal
/// to a market-data id: `orders` is not a number).
pub fn order_message_id(venue: &str, symbol: &str, epoch: u64, seq: u64) -> String {
    format!("{venue}:{symbol}:orders:{epoch}:{seq}")
}

/// A fill's identity: `<strategy>:<client_id>:<n>`, the `n`-th fill (from 1) of the strategy's
/// order `client_id` in this run.
pub fn fill_id(strategy: &str, client_id: u64, n: u32) -> String {
    format!("{strategy}:{client_id}:{n}")
}

/// One level: `[price mantissa, qty mantissa]` (qty 0 removes the price in an update).
pub type Level = [i64; 2];

/// The body of every message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// [`FORMAT_VERSION`].
    pub v: u8,
    pub kind: Kind,
    /// Kraken symbol name ([`ENGINE_KEY`] for connection statuses).
    pub symbol: String,
    /// The bridge run (its start, ns since the Unix epoch): sequences restart with a new epoch.
    pub epoch: u64,
    /// Position in this symbol's sequence (from 1, all kinds).
    pub seq: u64,
    /// When the engine read the frame behind this message, ns since the Unix epoch (local
    /// clock of the engine's host; what engine → consumer latency is measured from).
    pub read_ns: u64,
    /// Exchange time of the event, ns since the Unix epoch (0: none).
    pub time_ns: u64,
    #[serde(flatten)]
    pub body: Body,
}

/// What a message carries, by kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Body {
    Book(BookBody),
    Trade(TradeBody),
    Ticker(TickerBody),
    Status(StatusBody),
    Connection(ConnectionBody),
    Order(OrderBody),
}

/// A verified book message: a full snapshot (`snapshot: true`, every level, best first) or the
/// levels one update changed, in the order the engine applied them (bids, then asks); and the
/// Kraken CRC32 checksum of the book after it (PROTOCOL.md: top 10 levels per side).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookBody {
    pub snapshot: bool,
    /// Subscribed depth: levels beyond it are dropped after each message.
    pub depth: u16,
    pub price_scale: u8,
    pub qty_scale: u8,
    pub bids: Vec<Level>,
    pub asks: Vec<Level>,
    pub checksum: u32,
    /// Why a snapshot was sent: `initial`, `resync`, `catch_up`, `periodic`, `recovery`,
    /// `requested`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One public trade.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradeBody {
    /// The taker's side: `buy` or `sell`.
    pub side: String,
    pub price: i64,
    pub qty: i64,
    pub trade_id: u64,
    pub price_scale: u8,
    pub qty_scale: u8,
    /// The taker's order type, `limit` or `market` (absent in messages of earlier builds: limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ord_type: Option<String>,
}

/// A ticker update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TickerBody {
    pub bid: i64,
    pub ask: i64,
    pub last: i64,
    pub volume: i64,
    pub price_scale: u8,
    pub qty_scale: u8,
}

/// The engine's book of this symbol went stale (`live: false`, with the reason) or live again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusBody {
    pub live: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stale_reason: Option<String>,
}

/// A connection status change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionBody {
    /// `public` or `private`.
    pub link: String,
    pub connected: bool,
    /// `online`, `maintenance`, `cancel_only`, `post_only`, `unknown`.
    pub system: String,
}

/// A fill or another update of one of the run's orders, as its strategy received it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderBody {
    /// The strategy's name (its key in `kspin run --json` `strategies`).
    pub strategy: String,
    /// The order's `ClientOrderId` (as the strategy knows it).
    pub client_id: u64,
    /// `accepted`, `rejected`, `filled`, `cancelled`, `amended`, `amend_rejected`,
    /// `cancel_rejected`.
    pub status: String,
    /// A refusal's reason name (`would_take`, `risk_position`, ...), as in `--json` rejects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A fill's identity ([`fill_id`]); only on fills.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fill_id: Option<String>,
    /// A fill's price, or an amend's new limit price (mantissa at `price_scale`; 0 otherwise).
    pub price: i64,
    /// A fill's quantity (mantissa at `qty_scale`; 0 otherwise).
    pub qty: i64,
    /// Quantity still open after the update.
    pub remaining: i64,
    /// A fill's fee in the quote currency: mantissa at `fee_scale`.
    pub fee: i64,
    pub fee_scale: u8,
    pub price_scale: u8,
    pub qty_scale: u8,
}

impl Message {
    /// The JSON bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Serialising plain data with string keys cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Parses a body; `None` for anything that is not a version-1 message.
    pub fn parse(bytes: &[u8]) -> Option<Message> {
        let m: Message = serde_json::from_slice(bytes).ok()?;
        let consistent = matches!(
            (&m.kind, &m.body),
            (Kind::Book, Body::Book(_))
                | (Kind::Trade, Body::Trade(_))
                | (Kind::Ticker, Body::Ticker(_))
                | (Kind::Status, Body::Status(_))
                | (Kind::Connection, Body::Connection(_))
                | (Kind::Fill | Kind::Order, Body::Order(_))
        );
        (m.v == FORMAT_VERSION && consistent).then_some(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_and_ids_follow_the_contract() {
        assert_eq!(
            subject("sim", Kind::Book, "BTC/USD"),
            "kspin.sim.book.BTC/USD"
        );
        assert_eq!(
            subject("kraken", Kind::Trade, "A.B"),
            "kspin.kraken.trade.A_B"
        );
        assert_eq!(
            subject("sim", Kind::Connection, ENGINE_KEY),
            "kspin.sim.connection"
        );
        assert_eq!(filter(Some("ETH/USD")), "kspin.*.*.ETH/USD");
        assert_eq!(filter(None), "kspin.>");
        assert_eq!(message_id("sim", "BTC/USD", 7, 42), "sim:BTC/USD:7:42");
        assert_eq!(
            subject("sim", Kind::Fill, "BTC/USD"),
            "kspin.sim.fill.BTC/USD"
        );
        assert_eq!(
            order_message_id("sim", "BTC/USD", 7, 42),
            "sim:BTC/USD:orders:7:42"
        );
        assert_eq!(fill_id("quoter", 9, 2), "quoter:9:2");
        assert_eq!(
            snapshot_request_subject("sim"),
            "kspinctl.sim.snapshot.request"
        );
        assert_eq!(venue_of("kspin.sim.book.BTC/USD"), Some("sim"));
        assert_eq!(venue_of("other.sim.book"), None);
    }

    #[test]
    fn an_order_message_round_trips_and_is_told_from_the_others() {
        let m = Message {
            v: FORMAT_VERSION,
            kind: Kind::Fill,
            symbol: "BTC/USD".into(),
            epoch: 1,
            seq: 1,
            read_ns: 3,
            time_ns: 4,
            body: Body::Order(OrderBody {
                strategy: "quoter".into(),
                client_id: 5,
                status: "filled".into(),
                reason: None,
                fill_id: Some("quoter:5:1".into()),
                price: 500_001,
                qty: 100_000,
                remaining: 0,
                fee: 13,
                fee_scale: 2,
                price_scale: 1,
                qty_scale: 8,
            }),
        };
        assert_eq!(Message::parse(&m.to_bytes()), Some(m.clone()));
        let text = String::from_utf8(m.to_bytes())
            .unwrap()
            .replace("\"fill\"", "\"book\"");
        assert_eq!(Message::parse(text.as_bytes()), None);
    }

    #[test]
    fn a_book_message_round_trips_and_the_kind_must_match_the_body() {
        let m = Message {
            v: FORMAT_VERSION,
            kind: Kind::Book,
            symbol: "BTC/USD".into(),
            epoch: 1,
            seq: 2,
            read_ns: 3,
            time_ns: 4,
            body: Body::Book(BookBody {
                snapshot: true,
                depth: 10,
                price_scale: 1,
                qty_scale: 8,
                bids: vec![[1000, 5]],
                asks: vec![[1001, 0]],
                checksum: 99,
                reason: Some("initial".into()),
            }),
        };
        let bytes = m.to_bytes();
        assert_eq!(Message::parse(&bytes), Some(m.clone()));
        let text = String::from_utf8(bytes)
            .unwrap()
            .replace("\"book\"", "\"trade\"");
        assert_eq!(Message::parse(text.as_bytes()), None);
        assert_eq!(Message::parse(b"{}"), None);
        assert_eq!(Message::parse(b"not json"), None);
    }
}
