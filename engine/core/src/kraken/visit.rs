//! The general decoder: sonic-rs driving serde visitors that write straight into the arena.
//!
//! Owns the serde seeds and visitors for the envelope and every `data` shape. How it stays
//! allocation-free on valid input: keys and strings are borrowed from the frame (`&'de str`,
//! stored as [`Span`]s), number and boolean fields are taken as raw token text through
//! [`sonic_rs::LazyValue`] (a borrowed slice) and converted exactly by `scalar.rs`, unknown
//! fields are skipped with `IgnoredAny`, and items are pushed into the preallocated arena. A
//! string with escapes is unescaped by sonic-rs into its scratch and copied into the bounded
//! arena scratch. Field order is never relied on: when `data` comes before `channel`, its raw
//! text is kept and parsed once the channel is known.
//!
//! Errors: a visitor records the precise [`DecodeError`] in [`Ctx::err`] and returns an opaque
//! serde error to unwind (sonic-rs boxes its errors, so only the error path allocates). A serde
//! type mismatch without a recorded error becomes `WrongType(ctx.field)`, a syntax error
//! `Malformed`.

use core::fmt;
use std::borrow::Cow;

use kspin_api::Decimal;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::arena::{
    Arena, BookSlot, CandleSlot, LevelRun, PairSlot, Span, Texts, TickerSlot, TradeSlot,
};
use super::error::DecodeError;
use super::message::{Level, OrdType, Side};
use super::scalar;

/// Field name used while the top level itself is being read: a type mismatch there means the
/// frame is not an object.
pub(crate) const TOP: &str = "<top>";

/// The channels this decoder knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Channel {
    Status,
    Heartbeat,
    Book,
    Trade,
    Ticker,
    Ohlc,
    Instrument,
    /// Authenticated: execution reports.
    Executions,
    /// Authenticated: balances.
    Balances,
    Unknown,
}

impl Channel {
    pub(crate) fn from_text(text: &str) -> Channel {
        match text {
            "book" => Channel::Book,
            "trade" => Channel::Trade,
            "heartbeat" => Channel::Heartbeat,
            "ticker" => Channel::Ticker,
            "ohlc" => Channel::Ohlc,
            "status" => Channel::Status,
            "instrument" => Channel::Instrument,
            "executions" => Channel::Executions,
            "balances" => Channel::Balances,
            _ => Channel::Unknown,
        }
    }

    /// Channels whose `data` this decoder parses.
    fn has_data(self) -> bool {
        !matches!(self, Channel::Heartbeat | Channel::Unknown)
    }
}

/// The `status` channel's single data element.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct StatusSlot {
    pub(crate) system: Span,
    pub(crate) api_version: Option<Span>,
    pub(crate) connection_id: u64,
    pub(crate) version: Option<Span>,
}

/// The `result` object of a subscribe/unsubscribe ack.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct AckResult {
    pub(crate) channel: Option<Span>,
    pub(crate) symbol: Option<Span>,
    pub(crate) depth: Option<u16>,
    pub(crate) snapshot: Option<bool>,
    pub(crate) warnings_present: bool,
}

/// What happened to the `data` member.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) enum DataState<'de> {
    #[default]
    Absent,
    /// Parsed into the arena while reading the envelope.
    Parsed,
    /// Seen before `channel` (or for a channel without a data parser): its raw JSON text.
    Raw(&'de str),
}

/// The top-level members of a frame.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Envelope<'de> {
    pub(crate) channel: Option<Channel>,
    pub(crate) kind: Option<Span>,
    pub(crate) method: Option<Span>,
    pub(crate) data: DataState<'de>,
    pub(crate) result: Option<&'de str>,
    pub(crate) success: Option<bool>,
    pub(crate) req_id: Option<u64>,
    pub(crate) error: Option<Span>,
    pub(crate) timestamp: Option<Span>,
    pub(crate) time_in: Option<Span>,
    pub(crate) time_out: Option<Span>,
    /// `sequence` of an authenticated channel's message.
    pub(crate) sequence: Option<u64>,
}

/// Decoding state shared by every visitor of one frame.
pub(crate) struct Ctx<'s, 'de> {
    pub(crate) arena: &'s mut Arena,
    /// The first precise error recorded by a visitor.
    pub(crate) err: Option<DecodeError>,
    /// The field being read, for type mismatches reported by serde itself.
    pub(crate) field: &'static str,
    pub(crate) frame: &'de str,
    pub(crate) status: Option<StatusSlot>,
    pub(crate) assets: usize,
}

impl<'s, 'de> Ctx<'s, 'de> {
    pub(crate) fn new(arena: &'s mut Arena, frame: &'de str) -> Self {
        Ctx {
            arena,
            err: None,
            field: TOP,
            frame,
            status: None,
            assets: 0,
        }
    }

    /// Records `e` (the first error wins) and returns an opaque serde error to unwind with.
    #[cold]
    pub(super) fn fail<E: de::Error>(&mut self, e: DecodeError) -> E {
        if self.err.is_none() {
            self.err = Some(e);
        }
        E::custom("kspin decode error")
    }

    #[inline]
    pub(super) fn check<T, E: de::Error>(&mut self, r: Result<T, DecodeError>) -> Result<T, E> {
        r.map_err(|e| self.fail(e))
    }

    #[inline]
    pub(super) fn required<T, E: de::Error>(
        &mut self,
        v: Option<T>,
        field: &'static str,
    ) -> Result<T, E> {
        match v {
            Some(v) => Ok(v),
            None => Err(self.fail(DecodeError::MissingField(field))),
        }
    }

    /// The span of a string borrowed from the frame.
    #[inline]
    fn span_of(&self, s: &'de str) -> Result<Span, DecodeError> {
        (s.as_ptr() as usize)
            .checked_sub(self.frame.as_ptr() as usize)
            .filter(|start| start + s.len() <= self.frame.len())
            .and_then(|start| Span::frame(start, s.len()))
            .ok_or(DecodeError::Malformed)
    }

    /// The text of a span made during this frame.
    pub(crate) fn text_of(&self, span: Span) -> &str {
        self.text(span)
    }

    pub(super) fn text(&self, span: Span) -> &str {
        Texts {
            frame: self.frame,
            scratch: &self.arena.scratch,
        }
        .get(span)
    }

    #[inline]
    pub(super) fn str_field<A: MapAccess<'de>>(
        &mut self,
        map: &mut A,
        field: &'static str,
    ) -> Result<Span, A::Error> {
        self.field = field;
        map.next_value_seed(StrSeed { ctx: self, field })
    }

    #[inline]
    pub(super) fn raw_field<A: MapAccess<'de>>(
        &mut self,
        map: &mut A,
        field: &'static str,
    ) -> Result<&'de str, A::Error> {
        self.field = field;
        Ok(map.next_value::<Raw<'de>>()?.0)
    }

    #[inline]
    pub(super) fn dec_field<A: MapAccess<'de>>(
        &mut self,
        map: &mut A,
        field: &'static str,
    ) -> Result<Decimal, A::Error> {
        let raw = self.raw_field(map, field)?;
        self.check(scalar::decimal(raw.as_bytes(), field))
    }

    #[inline]
    pub(super) fn u64_field<A: MapAccess<'de>>(
        &mut self,
        map: &mut A,
        field: &'static str,
    ) -> Result<u64, A::Error> {
        let raw = self.raw_field(map, field)?;
        self.check(scalar::unsigned(raw.as_bytes(), field))
    }

    #[inline]
    pub(super) fn uint_field<T: TryFrom<u64>, A: MapAccess<'de>>(
        &mut self,
        map: &mut A,
        field: &'static str,
    ) -> Result<T, A::Error> {
        let raw = self.raw_field(map, field)?;
        self.check(scalar::unsigned_as::<T>(raw.as_bytes(), field))
    }

    #[inline]
    pub(super) fn bool_field<A: MapAccess<'de>>(
        &mut self,
        map: &mut A,
        field: &'static str,
    ) -> Result<bool, A::Error> {
        let raw = self.raw_field(map, field)?;
        self.check(scalar::boolean(raw.as_bytes(), field))
    }
}

/// Skips the value of an unknown member.
#[inline]
pub(super) fn skip<'de, A: MapAccess<'de>>(map: &mut A) -> Result<(), A::Error> {
    map.next_value::<IgnoredAny>().map(|_| ())
}

/// The raw JSON text of one value, borrowed from the frame (numbers, booleans, `result`).
struct Raw<'de>(&'de str);

impl<'de> Deserialize<'de> for Raw<'de> {
    #[inline]
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let lazy = sonic_rs::LazyValue::<'de>::deserialize(d)?;
        match lazy.as_raw_cow() {
            Cow::Borrowed(text) => Ok(Raw(text)),
            // Only a string with escapes comes back owned; no numeric field has any.
            Cow::Owned(_) => Err(de::Error::custom("escaped raw value")),
        }
    }
}

/// An object key: borrowed text, or `None` for a key with escapes (never one we know).
struct Key<'de>(Option<&'de str>);

impl<'de> Deserialize<'de> for Key<'de> {
    #[inline]
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Some(v)))
            }
            fn visit_str<E: de::Error>(self, _v: &str) -> Result<Key<'de>, E> {
                Ok(Key(None))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

#[inline]
pub(super) fn next_key<'de, A: MapAccess<'de>>(
    map: &mut A,
) -> Result<Option<Option<&'de str>>, A::Error> {
    Ok(map.next_key::<Key<'de>>()?.map(|k| k.0))
}

/// A string field: borrowed span, or unescaped into the bounded arena scratch.
struct StrSeed<'c, 's, 'de> {
    ctx: &'c mut Ctx<'s, 'de>,
    field: &'static str,
}

impl<'de> DeserializeSeed<'de> for StrSeed<'_, '_, 'de> {
    type Value = Span;
    #[inline]
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Span, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for StrSeed<'_, '_, 'de> {
    type Value = Span;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    #[inline]
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Span, E> {
        let r = self.ctx.span_of(v);
        self.ctx.check(r)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Span, E> {
        let r = self.ctx.arena.push_scratch(v, self.field);
        self.ctx.check(r)
    }
}

/// Declares a seed that reads one JSON object with the visitor of the same name.
macro_rules! object_seed {
    ($seed:ident, $value:ty, $what:literal) => {
        struct $seed<'c, 's, 'de> {
            ctx: &'c mut Ctx<'s, 'de>,
            field: &'static str,
        }

        impl<'de> DeserializeSeed<'de> for $seed<'_, '_, 'de> {
            type Value = $value;
            #[inline]
            fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<$value, D::Error> {
                self.ctx.field = self.field;
                d.deserialize_map(self)
            }
        }

        impl $seed<'_, '_, '_> {
            #[allow(dead_code)]
            const WHAT: &'static str = $what;
        }
    };
}

object_seed!(LevelSeed, (), "a price level");
object_seed!(BookSeed, (), "a book entry");
object_seed!(TradeSeed, (), "a trade");
object_seed!(TickerSeed, (), "a ticker");
object_seed!(CandleSeed, (), "a candle");
object_seed!(PairSeed, (), "a pair");
object_seed!(StatusSeed, (), "a status entry");
object_seed!(AckResultSeed, AckResult, "an ack result");
object_seed!(InstrumentSeed, (), "the instrument data");

macro_rules! expecting {
    () => {
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(Self::WHAT)
        }
    };
}

impl<'de> Visitor<'de> for LevelSeed<'_, '_, 'de> {
    type Value = ();
    expecting!();
    #[inline]
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let ctx = self.ctx;
        let (mut price, mut qty) = (None, None);
        while let Some(key) = next_key(&mut map)? {
            match key {
                Some("price") => price = Some(ctx.dec_field(&mut map, "price")?),
                Some("qty") => qty = Some(ctx.dec_field(&mut map, "qty")?),
                _ => skip(&mut map)?,
            }
        }
        let price = ctx.required(price, "price")?;
        let qty = ctx.required(qty, "qty")?;
        let r = ctx.arena.push_level(Level { price, qty });
        ctx.check(r)
    }
}

/// A `bids` / `asks` array: its levels, contiguous in the arena.
struct LevelsSeed<'c, 's, 'de> {
    ctx: &'c mut Ctx<'s, 'de>,
    field: &'static str,
}

impl<'de> DeserializeSeed<'de> for LevelsSeed<'_, '_, 'de> {
    type Value = LevelRun;
    #[inline]
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<LevelRun, D::Error> {
        self.ctx.field = self.field;
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for LevelsSeed<'_, '_, 'de> {
    type Value = LevelRun;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of levels")
    }
    #[inline]
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<LevelRun, A::Error> {
        let ctx = self.ctx;
        let start = ctx.arena.levels.len();
        while seq
            .next_element_seed(LevelSeed {
                ctx: &mut *ctx,
                field: self.field,
            })?
            .is_some()
        {}
        let len = ctx.arena.levels.len() - start;
        // Both fit: the arena never holds more than max_levels (< u32::MAX) levels.
        Ok(LevelRun {
            start: start as u32,
            len: len as u32,
        })
    }
}

impl<'de> Visitor<'de> for BookSeed<'_, '_, 'de> {
    type Value = ();
    expecting!();
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let ctx = self.ctx;
        let mut slot = BookSlot::default();
        let mut symbol = None;
        while let Some(key) = next_key(&mut map)? {
            match key {
                Some("symbol") => symbol = Some(ctx.str_field(&mut map, "symbol")?),
                Some("bids") => {
                    slot.bids = map.next_value_seed(LevelsSeed {
                        ctx: &mut *ctx,
                        field: "bids",
                    })?
                }
                Some("asks") => {
                    slot.asks = map.next_value_seed(LevelsSeed {
                        ctx: &mut *ctx,
                        field: "asks",
                    })?
                }
                Some("checksum") => {
                    slot.checksum = Some(ctx.uint_field::<u32, A>(&mut map, "checksum")?)
                }
                Some("timestamp") => slot.timestamp = Some(ctx.str_field(&mut map, "timestamp")?),
                _ => skip(&mut map)?,
            }
        }
        slot.symbol = ctx.required(symbol, "symbol")?;
        let r = ctx.arena.push_book(slot);
        ctx.check(r)
    }
}

impl<'de> Visitor<'de> for TradeSeed<'_, '_, 'de> {
    type Value = ();
    expecting!();
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let ctx = self.ctx;
        let (mut symbol, mut side, mut price, mut qty, mut trade_id, mut timestamp) =
            (None, None, None, None, None, None);
        let mut ord_type = OrdType::Other;
        while let Some(key) = next_key(&mut map)? {
            match key {
                Some("symbol") => symbol = Some(ctx.str_field(&mut map, "symbol")?),
                Some("side") => {
                    let span = ctx.str_field(&mut map, "side")?;
                    side = Some(match ctx.text(span) {
                        "buy" => Side::Buy,
                        "sell" => Side::Sell,
                        _ => return Err(ctx.fail(DecodeError::WrongType("side"))),
                    });
                }
                Some("price") => price = Some(ctx.dec_field(&mut map, "price")?),
                Some("qty") => qty = Some(ctx.dec_field(&mut map, "qty")?),
                Some("ord_type") => {
                    let span = ctx.str_field(&mut map, "ord_type")?;
                    ord_type = ord_type_of(ctx.text(span));
                }
                Some("trade_id") => trade_id = Some(ctx.u64_field(&mut map, "trade_id")?),
                Some("timestamp") => timestamp = Some(ctx.str_field(&mut map, "timestamp")?),
                _ => skip(&mut map)?,
            }
        }
        let slot = TradeSlot {
            symbol: ctx.required(symbol, "symbol")?,
            side: ctx.required(side, "side")?,
            price: ctx.required(price, "price")?,
            qty: ctx.required(qty, "qty")?,
            ord_type,
            trade_id: ctx.required(trade_id, "trade_id")?,
            timestamp: ctx.required(timestamp, "timestamp")?,
        };
        let r = ctx.arena.push_trade(slot);
        ctx.check(r)
    }
}

/// `limit` / `market`; anything else is [`OrdType::Other`].
#[inline]
pub(crate) fn ord_type_of(text: &str) -> OrdType {
    match text {
        "limit" => OrdType::Limit,
        "market" => OrdType::Market,
        _ => OrdType::Other,
    }
}

impl<'de> Visitor<'de> for TickerSeed<'_, '_, 'de> {
    type Value = ();
    expecting!();
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let ctx = self.ctx;
        let mut symbol = None;
        let mut v: [Option<Decimal>; 11] = [None; 11];
        const NAMES: [&str; 11] = [
            "bid",
            "bid_qty",
            "ask",
            "ask_qty",
            "last",
            "volume",
            "vwap",
            "low",
            "high",
            "change",
            "change_pct",
        ];
        let mut timestamp = None;
        while let Some(key) = next_key(&mut map)? {
            match key {
                Some("symbol") => symbol = Some(ctx.str_field(&mut map, "symbol")?),
                Some("timestamp") => timestamp = Some(ctx.str_field(&mut map, "timestamp")?),
                Some(name) => match NAMES.iter().position(|n| *n == name) {
                    Some(i) => v[i] = Some(ctx.dec_field(&mut map, NAMES[i])?),
                    None => skip(&mut map)?,
                },
                None => skip(&mut map)?,
            }
        }
        let mut d = [Decimal::ZERO; 11];
        for i in 0..NAMES.len() {
            d[i] = ctx.required(v[i], NAMES[i])?;
        }
        let slot = TickerSlot {
            symbol: ctx.required(symbol, "symbol")?,
            bid: d[0],
            bid_qty: d[1],
            ask: d[2],
            ask_qty: d[3],
            last: d[4],
            volume: d[5],
            vwap: d[6],
            low: d[7],
            high: d[8],
            change: d[9],
            change_pct: d[10],
            timestamp,
        };
        let r = ctx.arena.push_ticker(slot);
        ctx.check(r)
    }
}

impl<'de> Visitor<'de> for CandleSeed<'_, '_, 'de> {
    type Value = ();
    expecting!();
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let ctx = self.ctx;
        const NAMES: [&str; 6] = ["open", "high", "low", "close", "vwap", "volume"];
        let mut v: [Option<Decimal>; 6] = [None; 6];
        let (mut symbol, mut trades, mut begin, mut interval) = (None, None, None, None);
        while let Some(key) = next_key(&mut map)? {
            match key {
                Some("symbol") => symbol = Some(ctx.str_field(&mut map, "symbol")?),
                Some("trades") => trades = Some(ctx.u64_field(&mut map, "trades")?),
                Some("interval_begin") => begin = Some(ctx.str_field(&mut map, "interval_begin")?),
                Some("interval") => {
                    interval = Some(ctx.uint_field::<u32, A>(&mut map, "interval")?)
                }
                Some(name) => match NAMES.iter().position(|n| *n == name) {
                    Some(i) => v[i] = Some(ctx.dec_field(&mut map, NAMES[i])?),
                    None => skip(&mut map)?,
                },
                None => skip(&mut map)?,
            }
        }
        let mut d = [Decimal::ZERO; 6];
        for i in 0..NAMES.len() {
            d[i] = ctx.required(v[i], NAMES[i])?;
        }
        let slot = CandleSlot {
            symbol: ctx.required(symbol, "symbol")?,
            open: d[0],
            high: d[1],
            low: d[2],
            close: d[3],
            vwap: d[4],
            volume: d[5],
            trades: ctx.required(trades, "trades")?,
            interval_begin: ctx.required(begin, "interval_begin")?,
            interval: ctx.required(interval, "interval")?,
        };
        let r = ctx.arena.push_candle(slot);
        ctx.check(r)
    }
}

impl<'de> Visitor<'de> for PairSeed<'_, '_, 'de> {
    type Value = ();
    expecting!();
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let ctx = self.ctx;
        let (mut symbol, mut base, mut quote, mut status) = (None, None, None, None);
        let (mut pp, mut qp, mut pi, mut qi, mut qmin) = (None, None, None, None, None);
        while let Some(key) = next_key(&mut map)? {
            match key {
                Some("symbol") => symbol = Some(ctx.str_field(&mut map, "symbol")?),
                Some("base") => base = Some(ctx.str_field(&mut map, "base")?),
                Some("quote") => quote = Some(ctx.str_field(&mut map, "quote")?),
                Some("status") => status = Some(ctx.str_field(&mut map, "status")?),
                Some("price_precision") => {
                    pp = Some(ctx.uint_field::<u8, A>(&mut map, "price_precision")?)
                }
                Some("qty_precision") => {
                    qp = Some(ctx.uint_field::<u8, A>(&mut map, "qty_precision")?)
                }
                Some("price_increment") => pi = Some(ctx.dec_field(&mut map, "price_increment")?),
                Some("qty_increment") => qi = Some(ctx.dec_field(&mut map, "qty_increment")?),
                Some("qty_min") => qmin = Some(ctx.dec_field(&mut map, "qty_min")?),
                _ => skip(&mut map)?,
            }
        }
        let slot = PairSlot {
            symbol: ctx.required(symbol, "symbol")?,
            base: ctx.required(base, "base")?,
            quote: ctx.required(quote, "quote")?,
            status: ctx.required(status, "status")?,
            price_precision: ctx.required(pp, "price_precision")?,
            qty_precision: ctx.required(qp, "qty_precision")?,
            price_increment: ctx.required(pi, "price_increment")?,
            qty_increment: ctx.required(qi, "qty_increment")?,
            qty_min: ctx.required(qmin, "qty_min")?,
        };
        let r = ctx.arena.push_pair(slot);
        ctx.check(r)
    }
}

impl<'de> Visitor<'de> for StatusSeed<'_, '_, 'de> {
    type Value = ();
    expecting!();
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let ctx = self.ctx;
        let mut slot = StatusSlot::default();
        let (mut system, mut id) = (None, None);
        while let Some(key) = next_key(&mut map)? {
            match key {
                Some("system") => system = Some(ctx.str_field(&mut map, "system")?),
                Some("api_version") => {
                    slot.api_version = Some(ctx.str_field(&mut map, "api_version")?)
                }
                Some("connection_id") => id = Some(ctx.u64_field(&mut map, "connection_id")?),
                Some("version") => slot.version = Some(ctx.str_field(&mut map, "version")?),
                _ => skip(&mut map)?,
            }
        }
        slot.system = ctx.required(system, "system")?;
        slot.connection_id = id.unwrap_or(0);
        // The status channel sends one element; keep the first if there were more.
        if ctx.status.is_none() {
            ctx.status = Some(slot);
        }
        Ok(())
    }
}

impl<'de> Visitor<'de> for AckResultSeed<'_, '_, 'de> {
    type Value = AckResult;
    expecting!();
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AckResult, A::Error> {
        let ctx = self.ctx;
        let mut r = AckResult::default();
        while let Some(key) = next_key(&mut map)? {
            match key {
                Some("channel") => r.channel = Some(ctx.str_field(&mut map, "channel")?),
                Some("symbol") => r.symbol = Some(ctx.str_field(&mut map, "symbol")?),
                Some("depth") => r.depth = Some(ctx.uint_field::<u16, A>(&mut map, "depth")?),
                Some("snapshot") => r.snapshot = Some(ctx.bool_field(&mut map, "snapshot")?),
                Some("warnings") => {
                    skip(&mut map)?;
                    r.warnings_present = true;
                }
                _ => skip(&mut map)?,
            }
        }
        Ok(r)
    }
}

/// Counts the elements of an array without looking inside them.
struct CountSeed;

impl<'de> DeserializeSeed<'de> for CountSeed {
    type Value = usize;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<usize, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for CountSeed {
    type Value = usize;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<usize, A::Error> {
        let mut n = 0;
        while seq.next_element::<IgnoredAny>()?.is_some() {
            n += 1;
        }
        Ok(n)
    }
}

/// The `pairs` array of the instrument channel.
struct PairsSeed<'c, 's, 'de> {
    ctx: &'c mut Ctx<'s, 'de>,
}

impl<'de> DeserializeSeed<'de> for PairsSeed<'_, '_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        self.ctx.field = "pairs";
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for PairsSeed<'_, '_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of pairs")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq
            .next_element_seed(PairSeed {
                ctx: &mut *self.ctx,
                field: "pairs",
            })?
            .is_some()
        {}
        Ok(())
    }
}

impl<'de> Visitor<'de> for InstrumentSeed<'_, '_, 'de> {
    type Value = ();
    expecting!();
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let ctx = self.ctx;
        while let Some(key) = next_key(&mut map)? {
            match key {
                Some("pairs") => map.next_value_seed(PairsSeed { ctx: &mut *ctx })?,
                Some("assets") => {
                    ctx.field = "assets";
                    ctx.assets = map.next_value_seed(CountSeed)?;
                }
                _ => skip(&mut map)?,
            }
        }
        Ok(())
    }
}

/// The `data` member of a channel message.
pub(crate) struct DataSeed<'c, 's, 'de> {
    pub(crate) ctx: &'c mut Ctx<'s, 'de>,
    pub(crate) channel: Channel,
}

impl<'de> DeserializeSeed<'de> for DataSeed<'_, '_, 'de> {
    type Value = ();
    #[inline]
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        self.ctx.field = "data";
        if self.channel == Channel::Instrument {
            d.deserialize_map(InstrumentSeed {
                ctx: self.ctx,
                field: "data",
            })
        } else {
            d.deserialize_seq(self)
        }
    }
}

impl<'de> Visitor<'de> for DataSeed<'_, '_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a data array")
    }
    #[inline]
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let ctx = self.ctx;
        macro_rules! each {
            ($seed:ident) => {
                while seq
                    .next_element_seed($seed {
                        ctx: &mut *ctx,
                        field: "data",
                    })?
                    .is_some()
                {}
            };
        }
        match self.channel {
            Channel::Book => each!(BookSeed),
            Channel::Trade => each!(TradeSeed),
            Channel::Ticker => each!(TickerSeed),
            Channel::Ohlc => each!(CandleSeed),
            Channel::Status => each!(StatusSeed),
            Channel::Executions => {
                while seq
                    .next_element_seed(super::visit_private::ExecutionSeed { ctx: &mut *ctx })?
                    .is_some()
                {}
            }
            Channel::Balances => {
                while seq
                    .next_element_seed(super::visit_private::BalanceSeed { ctx: &mut *ctx })?
                    .is_some()
                {}
            }
            Channel::Instrument | Channel::Heartbeat | Channel::Unknown => {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
            }
        }
        Ok(())
    }
}

/// Parses an ack's raw `result` text.
pub(crate) fn parse_ack_result<'de>(
    ctx: &mut Ctx<'_, 'de>,
    raw: &'de str,
) -> Result<AckResult, sonic_rs::Error> {
    // The raw text is a sub-slice of the frame, so spans computed from it stay frame-relative.
    let mut de = sonic_rs::Deserializer::from_str(raw);
    AckResultSeed {
        ctx,
        field: "result",
    }
    .deserialize(&mut de)
}

/// The whole frame: the envelope members, with `data` parsed on the fly when possible.
pub(crate) struct EnvelopeSeed<'c, 's, 'de> {
    pub(crate) ctx: &'c mut Ctx<'s, 'de>,
}

impl<'de> DeserializeSeed<'de> for EnvelopeSeed<'_, '_, 'de> {
    type Value = Envelope<'de>;
    #[inline]
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Envelope<'de>, D::Error> {
        self.ctx.field = TOP;
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for EnvelopeSeed<'_, '_, 'de> {
    type Value = Envelope<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Kraken v2 message object")
    }
    #[inline]
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Envelope<'de>, A::Error> {
        let ctx = self.ctx;
        let mut env = Envelope::default();
        while let Some(key) = next_key(&mut map)? {
            match key {
                Some("channel") => {
                    let span = ctx.str_field(&mut map, "channel")?;
                    env.channel = Some(Channel::from_text(ctx.text(span)));
                }
                Some("type") => env.kind = Some(ctx.str_field(&mut map, "type")?),
                Some("data") => match env.channel {
                    Some(channel) if channel.has_data() => {
                        map.next_value_seed(DataSeed {
                            ctx: &mut *ctx,
                            channel,
                        })?;
                        env.data = DataState::Parsed;
                    }
                    _ => env.data = DataState::Raw(ctx.raw_field(&mut map, "data")?),
                },
                Some("method") => env.method = Some(ctx.str_field(&mut map, "method")?),
                Some("success") => env.success = Some(ctx.bool_field(&mut map, "success")?),
                Some("req_id") => env.req_id = Some(ctx.u64_field(&mut map, "req_id")?),
                Some("result") => env.result = Some(ctx.raw_field(&mut map, "result")?),
                Some("error") => env.error = Some(ctx.str_field(&mut map, "error")?),
                Some("timestamp") => env.timestamp = Some(ctx.str_field(&mut map, "timestamp")?),
                Some("time_in") => env.time_in = Some(ctx.str_field(&mut map, "time_in")?),
                Some("time_out") => env.time_out = Some(ctx.str_field(&mut map, "time_out")?),
                Some("sequence") => env.sequence = Some(ctx.u64_field(&mut map, "sequence")?),
                _ => skip(&mut map)?,
            }
        }
        Ok(env)
    }
}

/// Parses `data` whose raw text was kept because it came before `channel`.
pub(crate) fn parse_raw_data<'de>(
    ctx: &mut Ctx<'_, 'de>,
    raw: &'de str,
    channel: Channel,
) -> Result<(), sonic_rs::Error> {
    let mut de = sonic_rs::Deserializer::from_str(raw);
    DataSeed { ctx, channel }.deserialize(&mut de)
}
