//! Telemetry taps: what the engine core lets other threads see of it while it runs — each book's
//! top levels and counters ([`BookTop`], at a fixed interval) and every trade it publishes
//! ([`TradePrint`], the trade tape) — through SPSC rings that the metrics thread drains.
//!
//! Owns the producer ends ([`CoreTelemetry`] for the books, [`TradeTap`] for trades), their drop
//! counters ([`TapCounters`], carried in [`crate::CoreStats`]) and the consumer ends
//! ([`TapReader`]). Invariants: the core never waits for a reader: a full ring drops the record and
//! counts it; nothing here allocates after [`taps`], locks, formats or parses (a trade's
//! timestamp travels as the bytes the venue sent, parsed by the reader); publishing at the
//! interval also gives the publisher and the order path their turn to publish their own figures
//! ([`crate::Publisher::telemetry`], [`crate::OrderLink::telemetry`]). Never on by itself: `kspin
//! run` attaches them for its operators' thread (metrics, dashboard, structured events); an engine
//! without taps (replay, tests) skips every tick.

use std::time::Duration;

use kspin_api::Decimal;
use kspin_core::feed::{Feed, SubscriptionState, SymbolCounters};
use kspin_core::kraken::{Side, Trade};
use kspin_ring::{try_spsc, Consumer, Producer, RingError};
use quanta::Instant;

/// Levels per side a [`BookTop`] carries (Kraken's checksum depth; what a dashboard shows).
pub const TOP_LEVELS: usize = 10;
/// Books published per tick at most (round robin beyond that), so that a tick costs the core a
/// few microseconds whatever the number of symbols.
pub const BOOKS_PER_TICK: usize = 16;
/// Bytes of a trade's exchange timestamp kept for the tape (RFC 3339 with nanoseconds is 30).
pub const TIMESTAMP_BYTES: usize = 32;

/// One book as the core had it at a telemetry tick.
#[derive(Debug, Clone, Copy)]
pub struct BookTop {
    /// The feed's symbol index.
    pub symbol: u16,
    pub state: SubscriptionState,
    /// Subscribed depth.
    pub depth: u16,
    pub price_scale: u8,
    pub qty_scale: u8,
    pub counters: SymbolCounters,
    /// Levels held now per side (may exceed [`TOP_LEVELS`]).
    pub bid_levels: u16,
    pub ask_levels: u16,
    /// Best first, `(price, qty)` mantissas; only the first `min(levels, TOP_LEVELS)` are set.
    pub bids: [(i64, i64); TOP_LEVELS],
    pub asks: [(i64, i64); TOP_LEVELS],
}

impl BookTop {
    fn of(symbol: usize, book: &kspin_core::feed::SymbolBook, depth: usize) -> BookTop {
        let b = &book.book;
        let mut top = BookTop {
            symbol: symbol as u16,
            state: book.state,
            depth: depth.min(usize::from(u16::MAX)) as u16,
            price_scale: b.price_scale(),
            qty_scale: b.qty_scale(),
            counters: book.counters,
            bid_levels: b.bids().len().min(usize::from(u16::MAX)) as u16,
            ask_levels: b.asks().len().min(usize::from(u16::MAX)) as u16,
            bids: [(0, 0); TOP_LEVELS],
            asks: [(0, 0); TOP_LEVELS],
        };
        for (slot, (p, q)) in top.bids.iter_mut().zip(b.bids().iter()) {
            *slot = (p.0, q.0);
        }
        for (slot, (p, q)) in top.asks.iter_mut().zip(b.asks().iter()) {
            *slot = (p.0, q.0);
        }
        top
    }

    /// The bids held, best first, up to [`TOP_LEVELS`].
    pub fn bids(&self) -> &[(i64, i64)] {
        &self.bids[..usize::from(self.bid_levels).min(TOP_LEVELS)]
    }

    /// The asks held, best first, up to [`TOP_LEVELS`].
    pub fn asks(&self) -> &[(i64, i64)] {
        &self.asks[..usize::from(self.ask_levels).min(TOP_LEVELS)]
    }
}

/// One trade the core published, as the venue reported it.
#[derive(Debug, Clone, Copy)]
pub struct TradePrint {
    pub symbol: u16,
    /// The taker's side.
    pub side: Side,
    pub price: Decimal,
    pub qty: Decimal,
    pub trade_id: u64,
    /// When the engine read the frame (quanta raw).
    pub recv_tsc: u64,
    timestamp: [u8; TIMESTAMP_BYTES],
    timestamp_len: u8,
}

impl TradePrint {
    /// The venue's timestamp text (RFC 3339), cut at [`TIMESTAMP_BYTES`].
    pub fn timestamp(&self) -> &str {
        let bytes = &self.timestamp[..usize::from(self.timestamp_len)];
        // Cut on a byte boundary of ASCII text; anything else reads as empty.
        std::str::from_utf8(bytes).unwrap_or("")
    }

    /// The exchange time in ns since the Unix epoch (`None` when it does not parse).
    pub fn time_ns(&self) -> Option<i64> {
        kspin_core::kraken::time::parse_rfc3339_nanos(self.timestamp())
    }
}

/// Records lost to full tap rings, and ticks published.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TapCounters {
    pub ticks: u64,
    pub books_dropped: u64,
    pub trades_dropped: u64,
}

/// Sizes of the tap rings and the book interval.
#[derive(Debug, Clone, Copy)]
pub struct TapConfig {
    /// How often books (and the publisher's and order path's figures) are published.
    pub interval: Duration,
    /// Slots of the trade ring.
    pub trade_slots: usize,
    /// Ticks of books the book ring holds before it drops.
    pub book_ticks: usize,
}

impl Default for TapConfig {
    fn default() -> Self {
        TapConfig {
            interval: Duration::from_millis(250),
            trade_slots: 4096,
            book_ticks: 8,
        }
    }
}

/// The core's end of the trade tape (held by [`crate::Engine`]).
pub struct TradeTap {
    ring: Producer<TradePrint>,
    dropped: u64,
}

impl TradeTap {
    /// Copies `trade` of feed symbol `symbol` into the tape; a full ring drops it (counted).
    #[inline]
    pub fn push(&mut self, symbol: usize, trade: &Trade<'_>, recv_tsc: u64) {
        let text = trade.timestamp.as_bytes();
        let len = text.len().min(TIMESTAMP_BYTES);
        let mut timestamp = [0u8; TIMESTAMP_BYTES];
        timestamp[..len].copy_from_slice(&text[..len]);
        let print = TradePrint {
            symbol: symbol.min(usize::from(u16::MAX)) as u16,
            side: trade.side,
            price: trade.price,
            qty: trade.qty,
            trade_id: trade.trade_id,
            recv_tsc,
            timestamp,
            timestamp_len: len as u8,
        };
        if self.ring.try_push(print).is_err() {
            self.dropped += 1;
        }
    }

    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

/// The core's end of the book ring and the interval clock (held by [`crate::EngineCore`], or
/// ticked by hand where there is no driver: benchmarks).
pub struct CoreTelemetry {
    books: Producer<BookTop>,
    interval: Duration,
    next: Option<Instant>,
    /// The next book to publish (round robin).
    cursor: usize,
    counters: TapCounters,
}

impl CoreTelemetry {
    /// Whether a tick is due at `now`.
    #[inline]
    pub fn due(&self, now: Instant) -> bool {
        self.next.is_none_or(|next| now >= next)
    }

    /// Publishes one tick — the next [`BOOKS_PER_TICK`] books of `feed`, round robin — and
    /// schedules the next one.
    pub fn publish_books(&mut self, now: Instant, feed: &Feed) {
        self.next = Some(now + self.interval);
        self.counters.ticks += 1;
        self.publish(feed, BOOKS_PER_TICK);
    }

    /// Publishes every book of `feed` (the last tick, when the core stops).
    pub fn publish_all_books(&mut self, feed: &Feed) {
        self.counters.ticks += 1;
        self.cursor = 0;
        self.publish(feed, feed.symbols().len());
    }

    fn publish(&mut self, feed: &Feed, max: usize) {
        let n = feed.symbols().len();
        for _ in 0..max.min(n) {
            let i = self.cursor % n;
            self.cursor = (i + 1) % n;
            let (Some(book), Some(entry)) = (feed.book(i), feed.symbols().get(i)) else {
                continue;
            };
            if self
                .books
                .try_push(BookTop::of(i, book, entry.depth))
                .is_err()
            {
                self.counters.books_dropped += 1;
            }
        }
    }

    pub fn counters(&self) -> TapCounters {
        self.counters
    }
}

/// The readers' end of the taps.
pub struct TapReader {
    pub books: Consumer<BookTop>,
    pub trades: Consumer<TradePrint>,
}

/// The taps for `symbols` symbols, allocated once.
pub fn taps(
    symbols: usize,
    cfg: &TapConfig,
) -> Result<(CoreTelemetry, TradeTap, TapReader), RingError> {
    let (books_tx, books_rx) = try_spsc(symbols.max(1) * cfg.book_ticks.max(1))?;
    let (trades_tx, trades_rx) = try_spsc(cfg.trade_slots.max(1))?;
    Ok((
        CoreTelemetry {
            books: books_tx,
            interval: cfg.interval,
            next: None,
            cursor: 0,
            counters: TapCounters::default(),
        },
        TradeTap {
            ring: trades_tx,
            dropped: 0,
        },
        TapReader {
            books: books_rx,
            trades: trades_rx,
        },
    ))
}
