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
//! 60 bytes with alignment 4 and `Copy` (asserted), so a ring slot holding it and a 4-byte
//! sequence number is one 64-byte cache line; `publish_tsc` travels as a 32-bit difference from
//! `recv_tsc` and reads back exactly or as 0 (see [`WireEvent`]); the same engine input yields
//! the same wire sequence. Nothing here allocates.

use crate::event::{BookStale, ConnectionStatus, Ticker, Trade, WIRE_EVENT_SIZE, WIRE_SLOT_SIZE};
use crate::fixed::{Decimal, Price, Qty};
use crate::order::ClientOrderId;
use crate::order_update::{OrderStatus, OrderUpdate};
use crate::side::BookSide;
use crate::symbol::SymbolId;

/// Levels one [`LevelBatch`] carries: two `(price, qty)` pairs are 32 bytes, the most that fits
/// the 48-byte [`WireKind`] beside the symbol, count and sides.
pub const LEVELS_PER_BATCH: usize = 2;

/// Bytes of a [`WireKind`]: a [`WireEvent`] is this plus its 12-byte stamp header.
pub const WIRE_KIND_SIZE: usize = 48;

/// One ring element. `recv_tsc` / `publish_tsc` as in [`crate::Event`].
///
/// 60 bytes, aligned to 4 ([`WIRE_EVENT_SIZE`], asserted): a ring slot that carries the event
/// beside its own 4-byte sequence number is then exactly [`WIRE_SLOT_SIZE`] = 64 bytes, the
/// cache-line size of x86_64 and most aarch64 cores, so handing one event over moves one line.
/// The layout is `#[repr(C, packed(4))]`: `recv_tsc` (8 bytes), the publish delta (4), the
/// [`WireKind`] (48, at offset 12: its 8-byte fields may be unaligned, which x86_64 and
/// aarch64 load without penalty unless the access crosses a cache line, and none does in a
/// line-aligned slot). Fields are private and read by value through the accessors (a field of
/// a packed struct cannot be borrowed).
///
/// `publish_tsc` travels as the signed 32-bit difference `publish_tsc - recv_tsc` (wrapping
/// 64-bit arithmetic), so it decodes exactly whenever the two are less than 2^31 ticks apart in
/// either direction (about 0.7 s at 3 GHz; the engine publishes within microseconds of the read).
/// Otherwise — a notice published long after the last frame was read, a `recv_tsc` of 0 beside
/// a real TSC — it is stored as "unknown" and [`WireEvent::publish_tsc`] returns 0, which every
/// reader already treats as "no publish stamp". The one in-range difference that shares the
/// "unknown" encoding, exactly `-2^31` (`i32::MIN`), decodes as 0 too. Equality compares the
/// encoding: two events whose publish stamps are both unknown are equal if the rest is.
///
/// ```
/// use kspin_api::wire::{WireEvent, WireKind};
/// use kspin_api::SymbolId;
/// let kind = WireKind::BookLive(SymbolId(1));
/// let near = WireEvent::new(1_000, 1_250, kind);
/// assert_eq!((near.recv_tsc(), near.publish_tsc(), near.kind()), (1_000, 1_250, kind));
/// let far = WireEvent::new(0, 1 << 40, kind);
/// assert_eq!((far.recv_tsc(), far.publish_tsc()), (0, 0));
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(C, packed(4))]
pub struct WireEvent {
    recv_tsc: u64,
    /// `publish_tsc - recv_tsc` (wrapping), or [`PUBLISH_UNKNOWN`] when that does not fit.
    publish_delta: i32,
    kind: WireKind,
}

/// The `publish_delta` of a [`WireEvent`] whose publish stamp did not fit.
const PUBLISH_UNKNOWN: i32 = i32::MIN;

const _: () = assert!(core::mem::size_of::<WireKind>() == WIRE_KIND_SIZE);
const _: () = assert!(core::mem::size_of::<WireEvent>() == WIRE_EVENT_SIZE);
const _: () = assert!(WIRE_EVENT_SIZE == 8 + 4 + WIRE_KIND_SIZE);
const _: () = assert!(core::mem::align_of::<WireEvent>() == 4);
const _: () = assert!(WIRE_EVENT_SIZE + core::mem::size_of::<u32>() == WIRE_SLOT_SIZE);

impl WireEvent {
    /// An event read at `recv_tsc` and published at `publish_tsc` (see the type for when
    /// `publish_tsc` cannot be carried and reads back as 0).
    #[inline]
    pub const fn new(recv_tsc: u64, publish_tsc: u64, kind: WireKind) -> WireEvent {
        let delta = publish_tsc.wrapping_sub(recv_tsc) as i64;
        let publish_delta = if delta > i32::MIN as i64 && delta <= i32::MAX as i64 {
            delta as i32
        } else {
            PUBLISH_UNKNOWN
        };
        WireEvent {
            recv_tsc,
            publish_delta,
            kind,
        }
    }

    /// When the engine read the bytes that caused this event (quanta raw ticks).
    #[inline]
    pub const fn recv_tsc(&self) -> u64 {
        self.recv_tsc
    }

    /// When the engine pushed this event into the ring (quanta raw ticks): exact when it was
    /// within 2^31 ticks of [`Self::recv_tsc`] (the difference `-2^31` itself excepted), 0
    /// ("no publish stamp") otherwise.
    #[inline]
    pub const fn publish_tsc(&self) -> u64 {
        let delta = self.publish_delta;
        if delta == PUBLISH_UNKNOWN {
            0
        } else {
            self.recv_tsc.wrapping_add(delta as i64 as u64)
        }
    }

    /// What the event carries (a copy: a packed field cannot be borrowed).
    #[inline]
    pub const fn kind(&self) -> WireKind {
        self.kind
    }

    /// Replaces what the event carries, keeping its stamps.
    #[inline]
    pub fn set_kind(&mut self, kind: WireKind) {
        self.kind = kind;
    }
}

impl core::fmt::Debug for WireEvent {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WireEvent")
            .field("recv_tsc", &self.recv_tsc())
            .field("publish_tsc", &self.publish_tsc())
            .field("kind", &self.kind())
            .finish()
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

    const KIND: WireKind = WireKind::BookLive(SymbolId(7));

    /// `publish - recv` as a wrapping signed difference.
    fn difference(recv: u64, publish: u64) -> i64 {
        publish.wrapping_sub(recv) as i64
    }

    #[test]
    fn is_60_bytes_aligned_to_4_so_a_slot_with_its_sequence_is_one_line() {
        assert_eq!(core::mem::size_of::<WireEvent>(), 60);
        assert_eq!(core::mem::align_of::<WireEvent>(), 4);
        assert_eq!(core::mem::size_of::<WireKind>(), WIRE_KIND_SIZE);
        assert_eq!(WIRE_EVENT_SIZE + 4, WIRE_SLOT_SIZE);
        assert_eq!(WIRE_SLOT_SIZE, 64);
    }

    #[test]
    fn publish_tsc_round_trips_within_2_pow_31_ticks() {
        let cases: [(u64, u64); 9] = [
            (1_234, 1_234),
            (2_234, 0),
            (5, 1_000_000),
            (1_000_000, 5),
            (0, 0),
            (0, i32::MAX as u64),
            (1 << 31, 1),
            (u64::MAX, 0),
            (u64::MAX - 10, 20),
        ];
        for (recv, publish) in cases {
            let w = WireEvent::new(recv, publish, KIND);
            assert_eq!(
                (w.recv_tsc(), w.publish_tsc(), w.kind()),
                (recv, publish, KIND),
                "recv {recv} publish {publish}"
            );
        }
    }

    #[test]
    fn publish_tsc_is_0_when_too_far_from_recv() {
        let cases: [(u64, u64); 6] = [
            (0, 1 << 40),
            (1 << 40, 0),
            (0, 1 << 31),
            (0, u64::MAX / 2),
            (100, 100 + (1 << 31)),
            // Exactly -2^31 fits an i32 but is the "unknown" encoding.
            (1 << 31, 0),
        ];
        for (recv, publish) in cases {
            let w = WireEvent::new(recv, publish, KIND);
            assert_eq!(
                (w.recv_tsc(), w.publish_tsc(), w.kind()),
                (recv, 0, KIND),
                "recv {recv} publish {publish}"
            );
        }
    }

    #[test]
    fn set_kind_keeps_the_stamps_and_debug_shows_decoded_stamps() {
        let mut w = WireEvent::new(10, 25, KIND);
        let live = WireKind::BookLive(SymbolId(1));
        w.set_kind(live);
        assert_eq!((w.recv_tsc(), w.publish_tsc(), w.kind()), (10, 25, live));
        let text = format!("{w:?}");
        assert!(
            text.contains("recv_tsc: 10") && text.contains("publish_tsc: 25"),
            "{text}"
        );
    }

    proptest::proptest! {
        #[test]
        fn publish_tsc_is_exact_within_range(
            recv in proptest::prelude::any::<u64>(),
            delta in -(i32::MAX as i64)..=i32::MAX as i64,
        ) {
            let publish = recv.wrapping_add(delta as u64);
            let w = WireEvent::new(recv, publish, KIND);
            proptest::prop_assert_eq!(w.recv_tsc(), recv);
            proptest::prop_assert_eq!(w.publish_tsc(), publish);
            proptest::prop_assert_eq!(w.kind(), KIND);
        }

        #[test]
        fn publish_tsc_is_exact_or_0(
            recv in proptest::prelude::any::<u64>(),
            publish in proptest::prelude::any::<u64>(),
        ) {
            let w = WireEvent::new(recv, publish, KIND);
            proptest::prop_assert_eq!(w.recv_tsc(), recv);
            let decoded = w.publish_tsc();
            proptest::prop_assert!(decoded == publish || decoded == 0, "{} {}", publish, decoded);
            if difference(recv, publish).unsigned_abs() < 1 << 31 {
                proptest::prop_assert_eq!(decoded, publish);
            }
        }

        #[test]
        fn publish_tsc_near_the_boundary(
            recv in proptest::prelude::any::<u64>(),
            off in -16i64..=16,
            negative in proptest::prelude::any::<bool>(),
        ) {
            let edge = if negative { -(1i64 << 31) } else { 1i64 << 31 };
            let publish = recv.wrapping_add((edge + off) as u64);
            let decoded = WireEvent::new(recv, publish, KIND).publish_tsc();
            if difference(recv, publish).unsigned_abs() < 1 << 31 {
                proptest::prop_assert_eq!(decoded, publish);
            } else {
                proptest::prop_assert_eq!(decoded, 0);
            }
        }
    }
}
