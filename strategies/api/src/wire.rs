//! Wire events: what travels in the engine → strategy ring. **Host-internal**: a strategy never
//! sees these; the host turns them into [`crate::Event`]s with a [`crate::replica::WireAssembler`].
//!
//! A `book` message that the engine applied and checksum-verified is forwarded as zero or more
//! [`WireKind::BookLevels`] (up to [`LEVELS_PER_BATCH`] levels each, in message order) and one
//! [`WireKind::BookDone`] (level count, snapshot flag, the message's exchange time and a
//! fingerprint of the top of book after it, which the host checks its replica against). A snapshot
//! (initial, after a resync, or to catch up a lagging strategy) is preceded by
//! [`WireKind::BookSnapshot`], which tells the host to clear its replica. A [`WireKind::Meta`]
//! gives the next event what its own payload has no room for (its exchange time, a fill's fee).
//! Everything else maps one to one onto an [`crate::EventKind`]. Invariants: every wire event is
//! 64 bytes and `Copy` (asserted); the same engine input yields the same wire sequence. Nothing
//! here allocates.

use crate::event::{BookStale, ConnectionStatus, Ticker, Trade, WIRE_EVENT_SIZE};
use crate::fixed::{Decimal, Price, Qty};
use crate::order::ClientOrderId;
use crate::order_update::{OrderStatus, OrderUpdate};
use crate::side::BookSide;
use crate::symbol::SymbolId;

/// Levels one [`LevelBatch`] carries: two `(price, qty)` pairs are 32 bytes, the most that fits a
/// 64-byte wire event beside the two TSCs and the small fields.
pub const LEVELS_PER_BATCH: usize = 2;

/// One ring element. `recv_tsc` / `publish_tsc` as in [`crate::Event`].
///
/// Aligned to 64 bytes, the cache-line size of x86_64 and most aarch64 cores: every slot of a
/// ring of wire events is then exactly one cache line, so writing or reading one event touches
/// one line, never two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C, align(64))]
pub struct WireEvent {
    pub recv_tsc: u64,
    pub publish_tsc: u64,
    pub kind: WireKind,
}

const _: () = assert!(core::mem::size_of::<WireEvent>() == WIRE_EVENT_SIZE);
const _: () = assert!(core::mem::align_of::<WireEvent>() == WIRE_EVENT_SIZE);

impl WireEvent {
    pub const fn new(recv_tsc: u64, publish_tsc: u64, kind: WireKind) -> WireEvent {
        WireEvent {
            recv_tsc,
            publish_tsc,
            kind,
        }
    }
}

/// What a wire event carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireKind {
    /// A snapshot of this symbol follows: clear the replica.
    BookSnapshot(SnapshotStart),
    /// Levels of the current book message, in order (`qty == 0` removes the level).
    BookLevels(LevelBatch),
    /// The current book message is complete.
    BookDone(BookDone),
    Trade(Trade),
    Ticker(Ticker),
    BookStale(BookStale),
    /// The engine's book is live again. Sent after the snapshot that made it so.
    BookLive(SymbolId),
    Connection(ConnectionStatus),
    Order(WireOrder),
    /// What the next wire event's payload has no room for.
    Meta(WireMeta),
}

/// The end of a book message: what the host checks its replica against and stamps the
/// strategy's `BookChanged` with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookDone {
    pub symbol: SymbolId,
    /// Level entries in the message (a snapshot: every level of both sides).
    pub levels_changed: u16,
    pub snapshot: bool,
    /// The message's exchange timestamp (ns since the Unix epoch; 0 when it had none).
    pub time_ns: u64,
    /// [`top_fingerprint`] of the engine's book after the message.
    pub top: u64,
}

/// A fingerprint of a top of book: best bid price and quantity, best ask price and quantity
/// (zeros for an empty side). The host compares its replica's with the engine's; a mismatch
/// means the replica diverged. Not a hash for adversaries: a mix that any difference in the four
/// values changes with overwhelming probability.
pub fn top_fingerprint(bid_price: Price, bid_qty: Qty, ask_price: Price, ask_qty: Qty) -> u64 {
    let mut h: u64 = 0x9E37_79B9_7F4A_7C15;
    for v in [bid_price.0, bid_qty.0, ask_price.0, ask_qty.0] {
        h ^= v as u64;
        h = h.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        h ^= h >> 31;
    }
    h
}

/// An order update as it travels (the fill's fee arrives in the [`WireMeta`] before it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WireOrder {
    pub client_id: ClientOrderId,
    pub symbol: SymbolId,
    pub status: OrderStatus,
    pub fill_price: Price,
    pub fill_qty: Qty,
    pub remaining: Qty,
}

impl WireOrder {
    /// The wire form of `update` (its fee goes in a [`WireMeta`]).
    pub const fn of(update: &OrderUpdate) -> WireOrder {
        WireOrder {
            client_id: update.client_id,
            symbol: update.symbol,
            status: update.status,
            fill_price: update.fill_price,
            fill_qty: update.fill_qty,
            remaining: update.remaining,
        }
    }

    /// The strategy-facing update, with `fee`.
    pub const fn with_fee(&self, fee: Decimal) -> OrderUpdate {
        OrderUpdate {
            client_id: self.client_id,
            symbol: self.symbol,
            status: self.status,
            fill_price: self.fill_price,
            fill_qty: self.fill_qty,
            remaining: self.remaining,
            fee,
        }
    }
}

/// Applies to the next wire event only: its exchange time and, for a fill, its fee.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WireMeta {
    pub time_ns: u64,
    pub fee: Decimal,
}

/// Why a snapshot is being sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SnapshotReason {
    /// First book of a subscription.
    Initial,
    /// The engine's book was rebuilt after a checksum mismatch or reconnect.
    Resync,
    /// The strategy's ring was full and the deltas it missed were conflated into this snapshot,
    /// or its host's replica diverged and asked for the book again.
    CatchUp,
}

/// Marker opening a snapshot sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotStart {
    pub symbol: SymbolId,
    pub reason: SnapshotReason,
}

/// Up to [`LEVELS_PER_BATCH`] levels of one book message. Entries `count..` are zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LevelBatch {
    pub symbol: SymbolId,
    pub count: u8,
    pub sides: [BookSide; LEVELS_PER_BATCH],
    pub prices: [Price; LEVELS_PER_BATCH],
    pub qtys: [Qty; LEVELS_PER_BATCH],
}

impl LevelBatch {
    pub const fn empty(symbol: SymbolId) -> LevelBatch {
        LevelBatch {
            symbol,
            count: 0,
            sides: [BookSide::Bid; LEVELS_PER_BATCH],
            prices: [Price::ZERO; LEVELS_PER_BATCH],
            qtys: [Qty::ZERO; LEVELS_PER_BATCH],
        }
    }

    /// The levels it holds, in order.
    pub fn levels(&self) -> impl Iterator<Item = (BookSide, Price, Qty)> + '_ {
        let n = (self.count as usize).min(LEVELS_PER_BATCH);
        (0..n).map(move |i| (self.sides[i], self.prices[i], self.qtys[i]))
    }
}

/// Packs the levels of one book message into [`LevelBatch`]es (the engine bus).
///
/// ```
/// use kspin_api::{BookSide, Price, Qty, SymbolId};
/// use kspin_api::wire::LevelPacker;
/// let mut p = LevelPacker::new(SymbolId(0));
/// assert!(p.push(BookSide::Bid, Price(10), Qty(1)).is_none());
/// let full = p.push(BookSide::Ask, Price(11), Qty(2)).unwrap();
/// assert_eq!(full.count, 2);
/// assert!(p.flush().is_none());
/// assert_eq!(p.levels(), 2);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct LevelPacker {
    batch: LevelBatch,
    levels: u16,
}

impl LevelPacker {
    pub const fn new(symbol: SymbolId) -> LevelPacker {
        LevelPacker {
            batch: LevelBatch::empty(symbol),
            levels: 0,
        }
    }

    /// Adds a level; returns a full batch to publish when one is complete.
    #[inline]
    pub fn push(&mut self, side: BookSide, price: Price, qty: Qty) -> Option<LevelBatch> {
        let i = self.batch.count as usize;
        debug_assert!(i < LEVELS_PER_BATCH);
        self.batch.sides[i] = side;
        self.batch.prices[i] = price;
        self.batch.qtys[i] = qty;
        self.batch.count += 1;
        self.levels = self.levels.saturating_add(1);
        if self.batch.count as usize == LEVELS_PER_BATCH {
            let full = self.batch;
            self.batch = LevelBatch::empty(full.symbol);
            Some(full)
        } else {
            None
        }
    }

    /// The partly filled last batch, if any.
    #[inline]
    pub fn flush(&mut self) -> Option<LevelBatch> {
        if self.batch.count == 0 {
            return None;
        }
        let last = self.batch;
        self.batch = LevelBatch::empty(last.symbol);
        Some(last)
    }

    /// Levels pushed so far: the `levels_changed` of the closing [`BookDone`].
    #[inline]
    pub fn levels(&self) -> u16 {
        self.levels
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_in_order_and_counts() {
        let mut p = LevelPacker::new(SymbolId(3));
        let mut out = Vec::new();
        for i in 0..5 {
            if let Some(b) = p.push(BookSide::Ask, Price(100 + i), Qty(i)) {
                out.push(b);
            }
        }
        out.extend(p.flush());
        assert_eq!(out.len(), 3);
        assert_eq!(p.levels(), 5);
        let all: Vec<_> = out.iter().flat_map(|b| b.levels()).collect();
        assert_eq!(all.len(), 5);
        assert_eq!(all[4], (BookSide::Ask, Price(104), Qty(4)));
        assert_eq!(out[2].symbol, SymbolId(3));
        assert_eq!(out[2].count, 1);
    }
}
