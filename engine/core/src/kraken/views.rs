//! Views over the variable-length messages: book, trade, ticker, ohlc and instrument.
//!
//! Owns [`BookMsg`], [`TradeMsg`], [`TickerMsg`], [`OhlcMsg`], [`InstrumentMsg`] and their item
//! types. Invariants: a view is a few borrowed slices of the decoder's arena plus the frame
//! text; reading an item copies a small `Copy` struct and resolves its strings, never
//! allocating. `get(i)` panics only when `i >= len()`, like slice indexing (a caller bug, not an
//! input condition).

use core::fmt;

use kspin_api::Decimal;

use super::arena::{BookSlot, CandleSlot, PairSlot, Texts, TickerSlot, TradeSlot};
use super::message::{Level, OrdType, Side, UpdateKind};

/// One symbol's part of a `book` message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookData<'a> {
    pub symbol: &'a str,
    /// In message order (updates are not sorted; apply in order).
    pub bids: &'a [Level],
    pub asks: &'a [Level],
    /// CRC32 of the top 10 levels per side after applying the message.
    pub checksum: Option<u32>,
    pub timestamp: Option<&'a str>,
}

/// A `book` message: one [`BookData`] per symbol in `data`.
#[derive(Clone, Copy)]
pub struct BookMsg<'a> {
    pub kind: UpdateKind,
    pub(crate) texts: Texts<'a>,
    pub(crate) books: &'a [BookSlot],
    pub(crate) levels: &'a [Level],
}

impl<'a> BookMsg<'a> {
    #[inline]
    pub fn len(&self) -> usize {
        self.books.len()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.books.is_empty()
    }

    /// The `i`-th symbol's data; panics if `i >= len()`.
    #[inline]
    pub fn get(&self, i: usize) -> BookData<'a> {
        book_data(self.texts, self.levels, &self.books[i])
    }

    /// The symbols' data in message order (over the slots themselves: no index to check).
    pub fn iter(&self) -> impl Iterator<Item = BookData<'a>> {
        let (texts, levels) = (self.texts, self.levels);
        self.books
            .iter()
            .map(move |slot| book_data(texts, levels, slot))
    }
}

/// One slot of a book message resolved against its texts and levels.
#[inline]
fn book_data<'a>(texts: Texts<'a>, levels: &'a [Level], slot: &BookSlot) -> BookData<'a> {
    BookData {
        symbol: texts.get(slot.symbol),
        bids: slot.bids.of(levels),
        asks: slot.asks.of(levels),
        checksum: slot.checksum,
        timestamp: texts.opt(slot.timestamp),
    }
}

impl fmt::Debug for BookMsg<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BookMsg")
            .field("kind", &self.kind)
            .field("data", &self.iter().collect::<Vec<_>>())
            .finish()
    }
}

/// One trade of a `trade` message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trade<'a> {
    pub symbol: &'a str,
    /// The taker's side.
    pub side: Side,
    pub price: Decimal,
    pub qty: Decimal,
    pub ord_type: OrdType,
    /// Per-book sequence number.
    pub trade_id: u64,
    pub timestamp: &'a str,
}

/// A `trade` message: several trades, possibly of several symbols.
#[derive(Clone, Copy)]
pub struct TradeMsg<'a> {
    pub kind: UpdateKind,
    pub(crate) texts: Texts<'a>,
    pub(crate) trades: &'a [TradeSlot],
}

impl<'a> TradeMsg<'a> {
    #[inline]
    pub fn len(&self) -> usize {
        self.trades.len()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.trades.is_empty()
    }

    /// The `i`-th trade; panics if `i >= len()`.
    #[inline]
    pub fn get(&self, i: usize) -> Trade<'a> {
        let t = &self.trades[i];
        Trade {
            symbol: self.texts.get(t.symbol),
            side: t.side,
            price: t.price,
            qty: t.qty,
            ord_type: t.ord_type,
            trade_id: t.trade_id,
            timestamp: self.texts.get(t.timestamp),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = Trade<'a>> {
        let this = *self;
        (0..this.len()).map(move |i| this.get(i))
    }
}

impl fmt::Debug for TradeMsg<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TradeMsg")
            .field("kind", &self.kind)
            .field("data", &self.iter().collect::<Vec<_>>())
            .finish()
    }
}

/// One symbol of a `ticker` message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticker<'a> {
    pub symbol: &'a str,
    pub bid: Decimal,
    pub bid_qty: Decimal,
    pub ask: Decimal,
    pub ask_qty: Decimal,
    pub last: Decimal,
    pub volume: Decimal,
    pub vwap: Decimal,
    pub low: Decimal,
    pub high: Decimal,
    pub change: Decimal,
    pub change_pct: Decimal,
    pub timestamp: Option<&'a str>,
}

/// A `ticker` message.
#[derive(Clone, Copy)]
pub struct TickerMsg<'a> {
    pub kind: UpdateKind,
    pub(crate) texts: Texts<'a>,
    pub(crate) tickers: &'a [TickerSlot],
}

impl<'a> TickerMsg<'a> {
    #[inline]
    pub fn len(&self) -> usize {
        self.tickers.len()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.tickers.is_empty()
    }

    /// The `i`-th ticker; panics if `i >= len()`.
    pub fn get(&self, i: usize) -> Ticker<'a> {
        let t = &self.tickers[i];
        Ticker {
            symbol: self.texts.get(t.symbol),
            bid: t.bid,
            bid_qty: t.bid_qty,
            ask: t.ask,
            ask_qty: t.ask_qty,
            last: t.last,
            volume: t.volume,
            vwap: t.vwap,
            low: t.low,
            high: t.high,
            change: t.change,
            change_pct: t.change_pct,
            timestamp: self.texts.opt(t.timestamp),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = Ticker<'a>> {
        let this = *self;
        (0..this.len()).map(move |i| this.get(i))
    }
}

impl fmt::Debug for TickerMsg<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TickerMsg")
            .field("kind", &self.kind)
            .field("data", &self.iter().collect::<Vec<_>>())
            .finish()
    }
}

/// One candle of an `ohlc` message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candle<'a> {
    pub symbol: &'a str,
    pub open: Decimal,
    pub high: Decimal,
    pub low: Decimal,
    pub close: Decimal,
    pub vwap: Decimal,
    pub volume: Decimal,
    pub trades: u64,
    /// RFC3339 with nanoseconds; see [`crate::kraken::time::parse_rfc3339_nanos`].
    pub interval_begin: &'a str,
    /// Minutes.
    pub interval: u32,
}

/// An `ohlc` message.
#[derive(Clone, Copy)]
pub struct OhlcMsg<'a> {
    pub kind: UpdateKind,
    /// The message-level `timestamp`.
    pub timestamp: Option<&'a str>,
    pub(crate) texts: Texts<'a>,
    pub(crate) candles: &'a [CandleSlot],
}

impl<'a> OhlcMsg<'a> {
    #[inline]
    pub fn len(&self) -> usize {
        self.candles.len()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.candles.is_empty()
    }

    /// The `i`-th candle; panics if `i >= len()`.
    pub fn get(&self, i: usize) -> Candle<'a> {
        let c = &self.candles[i];
        Candle {
            symbol: self.texts.get(c.symbol),
            open: c.open,
            high: c.high,
            low: c.low,
            close: c.close,
            vwap: c.vwap,
            volume: c.volume,
            trades: c.trades,
            interval_begin: self.texts.get(c.interval_begin),
            interval: c.interval,
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = Candle<'a>> {
        let this = *self;
        (0..this.len()).map(move |i| this.get(i))
    }
}

impl fmt::Debug for OhlcMsg<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OhlcMsg")
            .field("kind", &self.kind)
            .field("timestamp", &self.timestamp)
            .field("data", &self.iter().collect::<Vec<_>>())
            .finish()
    }
}

/// One tradable pair of the `instrument` channel: the precisions a book needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PairInfo<'a> {
    pub symbol: &'a str,
    pub base: &'a str,
    pub quote: &'a str,
    /// online, cancel_only, delisted, limit_only, maintenance, post_only, reduce_only, ...
    pub status: &'a str,
    pub price_precision: u8,
    pub qty_precision: u8,
    pub price_increment: Decimal,
    pub qty_increment: Decimal,
    pub qty_min: Decimal,
}

/// An `instrument` message: the pairs (the asset list is skipped; `assets` counts it).
#[derive(Clone, Copy)]
pub struct InstrumentMsg<'a> {
    pub kind: UpdateKind,
    /// Number of entries in `data.assets`.
    pub assets: usize,
    pub(crate) texts: Texts<'a>,
    pub(crate) pairs: &'a [PairSlot],
}

impl<'a> InstrumentMsg<'a> {
    #[inline]
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The `i`-th pair; panics if `i >= len()`.
    pub fn get(&self, i: usize) -> PairInfo<'a> {
        let p = &self.pairs[i];
        PairInfo {
            symbol: self.texts.get(p.symbol),
            base: self.texts.get(p.base),
            quote: self.texts.get(p.quote),
            status: self.texts.get(p.status),
            price_precision: p.price_precision,
            qty_precision: p.qty_precision,
            price_increment: p.price_increment,
            qty_increment: p.qty_increment,
            qty_min: p.qty_min,
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = PairInfo<'a>> {
        let this = *self;
        (0..this.len()).map(move |i| this.get(i))
    }
}

impl fmt::Debug for InstrumentMsg<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InstrumentMsg")
            .field("kind", &self.kind)
            .field("assets", &self.assets)
            .field("pairs", &self.iter().collect::<Vec<_>>())
            .finish()
    }
}
