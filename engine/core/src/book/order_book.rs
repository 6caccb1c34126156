//! A fixed-capacity L2 order book for one symbol, maintained exactly as Kraken's v2 `book` channel
//! prescribes: levels applied in array order, quantity 0 removes, the whole message applied before
//! truncating to the subscribed depth and checking the CRC32.
//!
//! Owns both [`BookSide`]s, the subscribed depth and the pair's precision. Invariants: after
//! [`OrderBook::apply`] returns, each side holds at most `depth` levels, best first; prices and
//! quantities are mantissas at the pair's precision. It never allocates after [`OrderBook::new`]
//! and never panics on any message: a level that cannot be represented exactly at the pair's
//! precision rejects the whole message *before* anything is changed.
//!
//! Capacity: each side holds `depth + slack` levels so that a message may temporarily insert past
//! the depth (Kraken sends refills and inserts before the deletes that make room, and only the
//! state after the whole message is truncated). Should one message insert more than the slack, the
//! worst level beyond the depth is evicted (or the new one dropped) and counted; the checksum then
//! decides whether the result is still right.
//!
//! Checksum: [`OrderBook::checksum`] is memoised (see `checksum_cache.rs`): it returns the previous
//! value when neither side's top 10 changed since, and otherwise re-renders only the levels whose
//! price or quantity changed. [`OrderBook::checksum_uncached`] is the plain reference.

use kspin_api::{Decimal, FixedError, Price, Qty};

use super::checksum::{book_checksum, CHECKSUM_LEVELS};
use super::checksum_cache::ChecksumCache;
use super::levels::{FixedLevel, LevelBuf};
use super::side::{BookSide, LevelChange, SideKind};

/// Depths Kraken's v2 `book` channel accepts (PROTOCOL.md §1.4, "depth ∈ {10, 25, 100, 500, 1000}").
pub const SUPPORTED_DEPTHS: [u16; 5] = [10, 25, 100, 500, 1000];

/// Why a book message was rejected without being applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BookError {
    #[error("{side:?} price: {error}")]
    BadPrice { side: SideKind, error: FixedError },
    #[error("{side:?} quantity: {error}")]
    BadQty { side: SideKind, error: FixedError },
    #[error("zero price")]
    ZeroPrice { side: SideKind },
    #[error("more levels than the engine holds for one message ({capacity})")]
    TooManyLevels { capacity: usize },
}

/// Whether a message replaces the book or amends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplyMode {
    Snapshot,
    Update,
}

/// Counts of what one message did. Returned by value: the caller adds it to its counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApplyReport {
    pub inserted: u32,
    pub updated: u32,
    pub removed: u32,
    /// Deletes of a price the book did not hold (Kraken sends these; ignored).
    pub absent_deletes: u32,
    /// Levels lost because one message inserted more than the capacity slack allows.
    pub capacity_evictions: u32,
    /// Levels cut by the truncation to depth after the message.
    pub truncated: u32,
    /// Best bid >= best ask after the message.
    pub crossed: bool,
    /// Best bid or best ask changed.
    pub top_changed: bool,
}

/// One book; see the module docs.
#[derive(Debug, Clone)]
pub struct OrderBook {
    bids: BookSide,
    asks: BookSide,
    depth: usize,
    price_scale: u8,
    qty_scale: u8,
    /// Rendered digits of the levels of the last checksum, allocated with the book.
    checksum_cache: Box<ChecksumCache>,
    /// The last checksum computed, valid while neither side's top 10 changed since.
    last_checksum: Option<u32>,
}

impl OrderBook {
    /// A book for a subscription of `depth` levels per side, at the given precision.
    pub fn new(depth: usize, price_scale: u8, qty_scale: u8) -> OrderBook {
        let depth = depth.max(1);
        let capacity = depth + depth.max(16);
        OrderBook {
            bids: BookSide::new(SideKind::Bid, capacity),
            asks: BookSide::new(SideKind::Ask, capacity),
            depth,
            price_scale,
            qty_scale,
            checksum_cache: ChecksumCache::new(),
            last_checksum: None,
        }
    }

    #[inline]
    pub fn depth(&self) -> usize {
        self.depth
    }

    #[inline]
    pub fn price_scale(&self) -> u8 {
        self.price_scale
    }

    #[inline]
    pub fn qty_scale(&self) -> u8 {
        self.qty_scale
    }

    /// Changes the precision. Clears the book: stored mantissas are at the old precision.
    pub fn set_precision(&mut self, price_scale: u8, qty_scale: u8) {
        self.price_scale = price_scale;
        self.qty_scale = qty_scale;
        self.clear();
    }

    #[inline]
    pub fn bids(&self) -> &BookSide {
        &self.bids
    }

    #[inline]
    pub fn asks(&self) -> &BookSide {
        &self.asks
    }

    #[inline]
    pub fn best_bid(&self) -> Option<(Price, Qty)> {
        self.bids.best()
    }

    #[inline]
    pub fn best_ask(&self) -> Option<(Price, Qty)> {
        self.asks.best()
    }

    /// Best bid at or above best ask.
    #[inline]
    pub fn is_crossed(&self) -> bool {
        crossed((self.bids.best_raw(), self.asks.best_raw()))
    }

    pub fn clear(&mut self) {
        self.bids.clear();
        self.asks.clear();
    }

    /// The Kraken v2 checksum of the current state, memoised: the previous value when neither
    /// side's top 10 levels changed since it was computed, else a computation that re-renders
    /// only the changed levels of the changed side(s). Always equal to
    /// [`OrderBook::checksum_uncached`]; never allocates.
    #[inline]
    pub fn checksum(&mut self) -> u32 {
        let (bids_from, asks_from) = (self.bids.touched_from(), self.asks.touched_from());
        if let (true, Some(last)) = (
            bids_from >= CHECKSUM_LEVELS && asks_from >= CHECKSUM_LEVELS,
            self.last_checksum,
        ) {
            return last;
        }
        let sum = self
            .checksum_cache
            .checksum(&self.bids, bids_from, &self.asks, asks_from);
        self.bids.mark_seen();
        self.asks.mark_seen();
        self.last_checksum = Some(sum);
        sum
    }

    /// The Kraken v2 checksum rendered from scratch (the reference; for holders of `&OrderBook`).
    #[inline]
    pub fn checksum_uncached(&self) -> u32 {
        book_checksum(&self.bids, &self.asks)
    }

    /// Converts one level to the pair's precision (`scales` = price, qty decimals).
    #[inline]
    fn convert(
        scales: (u8, u8),
        side: SideKind,
        price: Decimal,
        qty: Decimal,
    ) -> Result<(Price, Qty), BookError> {
        let p = Price::from_decimal(price, scales.0)
            .map_err(|error| BookError::BadPrice { side, error })?;
        if p.0 == 0 {
            return Err(BookError::ZeroPrice { side });
        }
        let q =
            Qty::from_decimal(qty, scales.1).map_err(|error| BookError::BadQty { side, error })?;
        Ok((p, q))
    }

    /// Applies one `book` message for this symbol: every bid, then every ask, in array order
    /// (sides are disjoint, so their relative order does not matter), then truncates to depth.
    /// A snapshot first clears the book. Validation happens before any change, so an `Err`
    /// leaves the book exactly as it was.
    pub fn apply<B, A>(
        &mut self,
        mode: ApplyMode,
        bids: B,
        asks: A,
    ) -> Result<ApplyReport, BookError>
    where
        B: Iterator<Item = (Decimal, Decimal)> + Clone,
        A: Iterator<Item = (Decimal, Decimal)> + Clone,
    {
        let scales = (self.price_scale, self.qty_scale);
        for (p, q) in bids.clone() {
            Self::convert(scales, SideKind::Bid, p, q)?;
        }
        for (p, q) in asks.clone() {
            Self::convert(scales, SideKind::Ask, p, q)?;
        }
        // Validated above, so every conversion succeeds; `ok()` only keeps this total.
        let bids = bids.filter_map(move |(p, q)| Self::convert(scales, SideKind::Bid, p, q).ok());
        let asks = asks.filter_map(move |(p, q)| Self::convert(scales, SideKind::Ask, p, q).ok());
        Ok(self.apply_levels(mode, bids, asks))
    }

    /// Converts one message's levels to this book's precision into `out` (bids, then asks, in
    /// message order), checking every one: the engine's single conversion of a message, whose
    /// result [`OrderBook::apply_converted`] applies and the publisher forwards. On `Err`, `out`
    /// holds garbage and the book is untouched.
    pub fn convert_levels<B, A>(
        &self,
        bids: B,
        asks: A,
        out: &mut LevelBuf,
    ) -> Result<(), BookError>
    where
        B: Iterator<Item = (Decimal, Decimal)>,
        A: Iterator<Item = (Decimal, Decimal)>,
    {
        out.clear();
        let scales = (self.price_scale, self.qty_scale);
        let full = |out: &LevelBuf| BookError::TooManyLevels {
            capacity: out.capacity(),
        };
        for (p, q) in bids {
            let (price, qty) = Self::convert(scales, SideKind::Bid, p, q)?;
            let side = SideKind::Bid;
            if !out.push(FixedLevel { side, price, qty }) {
                return Err(full(out));
            }
        }
        for (p, q) in asks {
            let (price, qty) = Self::convert(scales, SideKind::Ask, p, q)?;
            let side = SideKind::Ask;
            if !out.push(FixedLevel { side, price, qty }) {
                return Err(full(out));
            }
        }
        Ok(())
    }

    /// [`OrderBook::convert_levels`] into `out`, then, when every level converted, applies them
    /// (a snapshot first clears the book) and truncates to depth: the engine's path for one
    /// message. On `Err` the book is untouched and `out` holds garbage. The same as
    /// `convert_levels` then [`OrderBook::apply_converted`], without re-checking each level.
    #[inline]
    pub fn convert_and_apply<B, A>(
        &mut self,
        mode: ApplyMode,
        bids: B,
        asks: A,
        out: &mut LevelBuf,
    ) -> Result<ApplyReport, BookError>
    where
        B: Iterator<Item = (Decimal, Decimal)>,
        A: Iterator<Item = (Decimal, Decimal)>,
    {
        self.convert_levels(bids, asks, out)?;
        // Every level in `out` came out of `convert`: price > 0, quantity >= 0.
        let levels = out
            .as_slice()
            .iter()
            .map(|l| (l.side, l.side.sort_key(l.price.0), l.qty));
        Ok(self.apply_keyed(mode, levels))
    }

    /// Applies levels converted by [`OrderBook::convert_levels`] (a snapshot first clears the
    /// book), then truncates to depth.
    #[inline]
    pub fn apply_converted(&mut self, mode: ApplyMode, levels: &[FixedLevel]) -> ApplyReport {
        self.apply_sided(mode, levels.iter().map(|l| (l.side, (l.price, l.qty))))
    }

    /// The body shared by [`OrderBook::apply`] and [`OrderBook::apply_exact`]: levels at the
    /// pair's precision, bids then asks in order, then truncation and the report's top-of-book
    /// figures. Levels with a price <= 0 or a negative quantity are skipped.
    fn apply_levels(
        &mut self,
        mode: ApplyMode,
        bids: impl Iterator<Item = (Price, Qty)>,
        asks: impl Iterator<Item = (Price, Qty)>,
    ) -> ApplyReport {
        let levels = bids
            .map(|l| (SideKind::Bid, l))
            .chain(asks.map(|l| (SideKind::Ask, l)));
        self.apply_sided(mode, levels)
    }

    /// [`Self::apply_levels`] over one sequence of sided levels.
    #[inline]
    fn apply_sided(
        &mut self,
        mode: ApplyMode,
        levels: impl Iterator<Item = (SideKind, (Price, Qty))>,
    ) -> ApplyReport {
        let before = (self.bids.best_raw(), self.asks.best_raw());
        if mode == ApplyMode::Snapshot {
            self.clear();
        }
        let mut report = ApplyReport::default();
        for (side, (price, qty)) in levels {
            if let Some(change) = self.apply_level(side, price, qty) {
                count(&mut report, change);
            }
        }
        self.finish_message(before, report)
    }

    /// [`Self::apply_sided`] over levels known valid (price > 0, quantity >= 0), each with its
    /// side's sort key (see [`BookSide::apply_key`]) instead of its price.
    #[inline]
    fn apply_keyed(
        &mut self,
        mode: ApplyMode,
        levels: impl Iterator<Item = (SideKind, i64, Qty)>,
    ) -> ApplyReport {
        let before = (self.bids.best_raw(), self.asks.best_raw());
        if mode == ApplyMode::Snapshot {
            self.clear();
        }
        let mut report = ApplyReport::default();
        for (side, key, qty) in levels {
            let change = match side {
                SideKind::Bid => self.bids.apply_key(key, qty),
                SideKind::Ask => self.asks.apply_key(key, qty),
            };
            count(&mut report, change);
        }
        self.finish_message(before, report)
    }

    /// The end of a message: truncation to depth and the report's top-of-book figures
    /// (`before`: both sides' `best_raw` before the message).
    #[inline]
    fn finish_message(
        &mut self,
        before: ((i64, i64), (i64, i64)),
        mut report: ApplyReport,
    ) -> ApplyReport {
        report.truncated = self.truncate_to_depth() as u32;
        let after = (self.bids.best_raw(), self.asks.best_raw());
        report.crossed = crossed(after);
        report.top_changed = before != after;
        report
    }

    /// Applies one level already at the pair's precision, without truncating: a replica
    /// rebuilding the book from forwarded levels calls this for each level of a message, then
    /// [`OrderBook::truncate_to_depth`] once. `None` (and no change) for a price <= 0 or a
    /// negative quantity.
    #[inline]
    pub fn apply_level(&mut self, side: SideKind, price: Price, qty: Qty) -> Option<LevelChange> {
        if price.0 <= 0 || qty.0 < 0 {
            return None;
        }
        Some(match side {
            SideKind::Bid => self.bids.apply(price, qty),
            SideKind::Ask => self.asks.apply(price, qty),
        })
    }

    /// Cuts each side to the subscribed depth (the end of a message). Returns the levels cut.
    #[inline]
    pub fn truncate_to_depth(&mut self) -> usize {
        self.bids.truncate(self.depth) + self.asks.truncate(self.depth)
    }

    /// Applies levels already at the pair's precision (the simulated venue and tests use this).
    pub fn apply_exact(
        &mut self,
        mode: ApplyMode,
        bids: &[(Price, Qty)],
        asks: &[(Price, Qty)],
    ) -> ApplyReport {
        self.apply_levels(mode, bids.iter().copied(), asks.iter().copied())
    }
}

/// Whether the best bid is at or above the best ask, from the sides' `best_raw` (quantity 0: the
/// side is empty; a bid's key is its negated price, exact as prices are validated positive).
#[inline]
fn crossed(((bid_key, bid_qty), (ask_key, ask_qty)): ((i64, i64), (i64, i64))) -> bool {
    bid_qty != 0 && ask_qty != 0 && bid_key.wrapping_neg() >= ask_key
}

#[inline]
fn count(report: &mut ApplyReport, change: LevelChange) {
    match change {
        LevelChange::Inserted => report.inserted += 1,
        LevelChange::Updated => report.updated += 1,
        LevelChange::Removed => report.removed += 1,
        LevelChange::AbsentDelete => report.absent_deletes += 1,
        LevelChange::DroppedBeyondCapacity => report.capacity_evictions += 1,
        LevelChange::InsertedEvictingWorst => {
            report.inserted += 1;
            report.capacity_evictions += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lv(p: &str, q: &str) -> (Decimal, Decimal) {
        (
            Decimal::parse(p.as_bytes()).unwrap(),
            Decimal::parse(q.as_bytes()).unwrap(),
        )
    }

    fn side_prices(side: &BookSide) -> Vec<i64> {
        side.iter().map(|(p, _)| p.0).collect()
    }

    #[test]
    fn truncates_to_depth_after_the_whole_message() {
        let mut book = OrderBook::new(3, 1, 2);
        let snap = [lv("10.0", "1"), lv("9.0", "1"), lv("8.0", "1")];
        book.apply(
            ApplyMode::Snapshot,
            snap.iter().copied(),
            [].iter().copied(),
        )
        .unwrap();
        // Insert a new best bid (4 levels), then delete 9.0: the old 8.0 must survive because
        // truncation happens only after the whole message.
        let upd = [lv("11.0", "1"), lv("9.0", "0")];
        let r = book
            .apply(ApplyMode::Update, upd.iter().copied(), [].iter().copied())
            .unwrap();
        assert_eq!(side_prices(book.bids()), vec![110, 100, 80]);
        assert_eq!((r.inserted, r.removed, r.truncated), (1, 1, 0));
        // A further insert pushes 8.0 out.
        let r = book
            .apply(
                ApplyMode::Update,
                [lv("10.5", "2")].iter().copied(),
                [].iter().copied(),
            )
            .unwrap();
        assert_eq!(side_prices(book.bids()), vec![110, 105, 100]);
        assert_eq!(r.truncated, 1);
    }

    #[test]
    fn rejects_bad_levels_without_touching_the_book() {
        let mut book = OrderBook::new(10, 2, 2);
        book.apply(
            ApplyMode::Snapshot,
            [lv("1.00", "1")].iter().copied(),
            [lv("2.00", "1")].iter().copied(),
        )
        .unwrap();
        let before = book.checksum();
        let bad = [lv("1.50", "3"), lv("1.501", "1")];
        let err = book.apply(ApplyMode::Update, bad.iter().copied(), [].iter().copied());
        assert_eq!(
            err,
            Err(BookError::BadPrice {
                side: SideKind::Bid,
                error: FixedError::TooPrecise
            })
        );
        assert_eq!(book.checksum(), before);
        let neg = book.apply(
            ApplyMode::Update,
            [].iter().copied(),
            [lv("2.00", "-1")].iter().copied(),
        );
        assert_eq!(
            neg,
            Err(BookError::BadQty {
                side: SideKind::Ask,
                error: FixedError::Negative
            })
        );
        let zero = book.apply(
            ApplyMode::Update,
            [].iter().copied(),
            [lv("0", "1")].iter().copied(),
        );
        assert_eq!(
            zero,
            Err(BookError::ZeroPrice {
                side: SideKind::Ask
            })
        );
    }

    #[test]
    fn counts_absent_deletes_and_crossing() {
        let mut book = OrderBook::new(10, 0, 0);
        book.apply(
            ApplyMode::Snapshot,
            [lv("5", "1")].iter().copied(),
            [lv("6", "1")].iter().copied(),
        )
        .unwrap();
        let r = book
            .apply(
                ApplyMode::Update,
                [lv("4", "0"), lv("7", "1")].iter().copied(),
                [].iter().copied(),
            )
            .unwrap();
        assert_eq!(r.absent_deletes, 1);
        assert!(r.crossed && r.top_changed);
        assert!(book.is_crossed());
    }

    #[test]
    fn more_inserts_than_slack_evicts_beyond_depth_only() {
        // depth 2, capacity 2 + 16: insert 20 better levels in one message.
        let mut book = OrderBook::new(2, 0, 0);
        book.apply(
            ApplyMode::Snapshot,
            [lv("1", "1"), lv("2", "1")].iter().copied(),
            [].iter().copied(),
        )
        .unwrap();
        let many: Vec<_> = (3..23).map(|p| lv(&p.to_string(), "1")).collect();
        let r = book
            .apply(ApplyMode::Update, many.iter().copied(), [].iter().copied())
            .unwrap();
        assert_eq!(side_prices(book.bids()), vec![22, 21]);
        assert_eq!(r.capacity_evictions, 4); // 2 + 20 levels into capacity 18
    }

    #[test]
    fn checksum_is_reused_only_while_the_top_ten_is_unchanged() {
        let mut book = OrderBook::new(25, 0, 0);
        let bids: Vec<_> = (1..=20).map(|p| (Price(100 - p), Qty(p))).collect();
        let asks: Vec<_> = (1..=20).map(|p| (Price(100 + p), Qty(p))).collect();
        book.apply_exact(ApplyMode::Snapshot, &bids, &asks);
        let first = book.checksum();
        assert_eq!(first, book.checksum_uncached());
        // Rank 14 of the bids changes: beyond the checksum's levels, so the same value.
        book.apply_exact(ApplyMode::Update, &[(Price(85), Qty(99))], &[]);
        assert_eq!(book.bids().touched_from(), 14);
        assert_eq!(book.checksum(), first);
        assert_eq!(book.checksum_uncached(), first);
        // Rank 9 of the asks changes: a new value.
        book.apply_exact(ApplyMode::Update, &[], &[(Price(110), Qty(7))]);
        assert_eq!(book.asks().touched_from(), 9);
        let second = book.checksum();
        assert_ne!(second, first);
        assert_eq!(second, book.checksum_uncached());
        // Deleting rank 12 shifts nothing inside the top 10.
        book.apply_exact(ApplyMode::Update, &[], &[(Price(113), Qty(0))]);
        assert_eq!(book.checksum(), second);
        // Deleting rank 3 shifts ranks 3..: recomputed.
        book.apply_exact(ApplyMode::Update, &[(Price(96), Qty(0))], &[]);
        assert_eq!(book.checksum(), book.checksum_uncached());
        assert_ne!(book.checksum(), second);
        // Clearing (precision change) is a change too.
        let before = book.checksum();
        book.set_precision(0, 0);
        assert_ne!(book.checksum(), before);
        assert_eq!(book.checksum(), crc32fast::hash(b""));
    }

    #[test]
    fn snapshot_replaces_everything() {
        let mut book = OrderBook::new(10, 0, 0);
        book.apply(
            ApplyMode::Snapshot,
            [lv("5", "1")].iter().copied(),
            [lv("6", "1")].iter().copied(),
        )
        .unwrap();
        book.apply(
            ApplyMode::Snapshot,
            [lv("3", "1")].iter().copied(),
            [].iter().copied(),
        )
        .unwrap();
        assert_eq!(side_prices(book.bids()), vec![3]);
        assert!(book.asks().is_empty());
    }

    /// The feed's path (convert once, apply the converted levels) and the validating `apply`
    /// leave the same book; a bad level or too many levels refuse the whole message with the
    /// book untouched.
    #[test]
    fn converting_once_applies_as_apply_does_and_refuses_whole_messages() {
        let snap = (
            [lv("10.00", "1"), lv("9.50", "2")],
            [lv("10.50", "3"), lv("11.00", "0.5")],
        );
        let mut by_apply = OrderBook::new(10, 2, 2);
        by_apply
            .apply(
                ApplyMode::Snapshot,
                snap.0.iter().copied(),
                snap.1.iter().copied(),
            )
            .unwrap();
        let mut by_convert = OrderBook::new(10, 2, 2);
        let mut buf = LevelBuf::with_capacity(4);
        by_convert
            .convert_levels(snap.0.iter().copied(), snap.1.iter().copied(), &mut buf)
            .unwrap();
        let sides: Vec<_> = buf.as_slice().iter().map(|l| (l.side, l.price.0)).collect();
        assert_eq!(
            sides,
            vec![
                (SideKind::Bid, 1000),
                (SideKind::Bid, 950),
                (SideKind::Ask, 1050),
                (SideKind::Ask, 1100)
            ]
        );
        by_convert.apply_converted(ApplyMode::Snapshot, buf.as_slice());
        assert_eq!(by_convert.checksum(), by_apply.checksum());
        assert_eq!(side_prices(by_convert.asks()), side_prices(by_apply.asks()));

        let before = by_convert.checksum();
        let bad = [lv("10.001", "1")];
        assert!(matches!(
            by_convert.convert_levels([].iter().copied(), bad.iter().copied(), &mut buf),
            Err(BookError::BadPrice {
                side: SideKind::Ask,
                ..
            })
        ));
        let five = [lv("1.00", "1"); 5];
        assert_eq!(
            by_convert.convert_levels(five.iter().copied(), [].iter().copied(), &mut buf),
            Err(BookError::TooManyLevels { capacity: 4 })
        );
        assert_eq!(by_convert.checksum(), before);
    }
}
