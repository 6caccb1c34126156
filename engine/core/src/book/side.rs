//! One side of a fixed-capacity order book: price levels in a contiguous sorted array, best first.
//!
//! Owns one boxed slice of (sort key, quantity) pairs allocated once in [`BookSide::new`] (pairs,
//! not two parallel slices, so that an insert or a removal shifts one array with one move).
//! Invariants: the keys of `levels[..len]` are strictly ascending (a bid's key is its negated
//! price, an ask's key its price, so "ascending key" is "best first" on both sides); every stored
//! quantity is > 0; `len <= capacity`; `touched_from` is at most the lowest rank any mutation
//! changed since [`BookSide::mark_seen`] (so a consumer may skip work when nothing it reads
//! changed), and the edit log holds every insert, removal, quantity change and cut of the best 10
//! levels since then, in order, or says it overflowed (so the checksum cache can edit its text
//! instead of rebuilding it). It never allocates after construction, never panics on any input,
//! and never truncates by itself: the book truncates to the subscribed depth once a whole message
//! is applied.

use kspin_api::{Price, Qty};

/// Which side of the book.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SideKind {
    Bid,
    Ask,
}

impl SideKind {
    /// A level's sort key on this side from its price, best first in ascending key order: the
    /// price for an ask, the negated price for a bid. Its own inverse, so it also gives the
    /// price back from a key. Prices are validated non-negative before they reach a side, so
    /// the negation is exact.
    #[inline(always)]
    pub(crate) fn sort_key(self, price: i64) -> i64 {
        match self {
            SideKind::Ask => price,
            SideKind::Bid => price.wrapping_neg(),
        }
    }
}

/// What applying one level did to a side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LevelChange {
    /// A new price level was inserted.
    Inserted,
    /// An existing level's quantity changed.
    Updated,
    /// An existing level was removed (quantity 0).
    Removed,
    /// Quantity 0 for a price the side does not hold. Kraken sends these; ignored and counted.
    AbsentDelete,
    /// The side was full (capacity, not depth) and the level was worse than every stored one:
    /// dropped. Only possible with more inserts in one message than the slack allows.
    DroppedBeyondCapacity,
    /// The side was full and the worst stored level was evicted to make room.
    InsertedEvictingWorst,
}

/// Ranks below this are logged as [`Edit`]s: the levels the checksum covers.
const LOGGED_RANKS: usize = super::checksum::CHECKSUM_LEVELS;

/// Edits kept per side between two [`BookSide::mark_seen`]; more and the log overflows.
const EDIT_LOG: usize = 16;

/// One change to the best [`LOGGED_RANKS`] levels of a side, in the order it happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Edit {
    /// The level at `rank` now has quantity `qty` (`key` unchanged).
    Update { rank: u8, key: i64, qty: i64 },
    /// `(key, qty)` was inserted at `rank`; the levels from there moved one rank down.
    Insert { rank: u8, key: i64, qty: i64 },
    /// The level at `rank` was removed; the levels after it moved one rank up.
    Remove { rank: u8 },
    /// Only the best `depth` levels were kept.
    Truncate { depth: u8 },
}

/// One side of a book; see the module docs for its invariants.
#[derive(Debug, Clone)]
pub struct BookSide {
    kind: SideKind,
    /// (sort key, quantity), best first; `levels[..len]` is meaningful.
    levels: Box<[(i64, i64)]>,
    len: usize,
    /// Lowest rank changed since the last `mark_seen` (`usize::MAX`: none).
    touched_from: usize,
    /// Every change to ranks below [`LOGGED_RANKS`] since the last `mark_seen`, in order:
    /// `edits[..edit_len]`; `edit_len > EDIT_LOG` (at most `EDIT_LOG + 1`) means the log
    /// overflowed (changes were lost). The last slot is scratch: an edit past the log lands
    /// there, so recording one is a store without a branch.
    edits: [Edit; EDIT_LOG + 1],
    edit_len: usize,
}

impl BookSide {
    /// A side able to hold `capacity` levels (at least 1).
    pub fn new(kind: SideKind, capacity: usize) -> BookSide {
        let capacity = capacity.max(1);
        BookSide {
            kind,
            levels: vec![(0, 0); capacity].into_boxed_slice(),
            len: 0,
            touched_from: 0,
            edits: [Edit::Truncate { depth: 0 }; EDIT_LOG + 1],
            edit_len: 0,
        }
    }

    #[inline]
    pub fn kind(&self) -> SideKind {
        self.kind
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline]
    pub fn capacity(&self) -> usize {
        self.levels.len()
    }

    #[inline]
    fn key_of(&self, price: i64) -> i64 {
        self.kind.sort_key(price)
    }

    #[inline]
    fn price_of(&self, key: i64) -> i64 {
        self.key_of(key)
    }

    /// The level at `rank` (0 = best), if present.
    #[inline]
    pub fn level(&self, rank: usize) -> Option<(Price, Qty)> {
        match self.levels.get(rank) {
            Some(&(key, qty)) if rank < self.len => Some((Price(self.price_of(key)), Qty(qty))),
            _ => None,
        }
    }

    /// (sort key, quantity) of the best `n` levels (fewer if the side holds fewer). A key is the
    /// price for an ask and the negated price for a bid.
    #[inline]
    pub(crate) fn top(&self, n: usize) -> &[(i64, i64)] {
        self.levels.get(..n.min(self.len)).unwrap_or(&[])
    }

    /// The lowest rank whose level changed (inserted, removed, re-quantified or cut) since the
    /// last [`BookSide::mark_seen`]; `usize::MAX` if none did. A new side counts as changed at 0.
    #[inline]
    pub fn touched_from(&self) -> usize {
        self.touched_from
    }

    /// Records that the current state has been seen: [`BookSide::touched_from`] and the edit
    /// log restart.
    #[inline]
    pub(crate) fn mark_seen(&mut self) {
        self.touched_from = usize::MAX;
        self.edit_len = 0;
    }

    /// The changes to the best [`LOGGED_RANKS`] levels since the last [`BookSide::mark_seen`],
    /// in order; `None` when there were more than the log holds. Replaying them on the levels
    /// seen then gives the best [`LOGGED_RANKS`] levels now, except the ranks that entered the
    /// window from beyond it (after a removal or a cut), which the replayer reads from the side.
    #[inline]
    pub(crate) fn edits(&self) -> Option<&[Edit]> {
        match self.edit_len {
            len @ 0..=EDIT_LOG => self.edits.get(..len),
            _ => None,
        }
    }

    #[inline]
    fn touch(&mut self, rank: usize) {
        self.touched_from = self.touched_from.min(rank);
    }

    /// Appends an edit of a rank below [`LOGGED_RANKS`] (the caller checks) to the log, or marks
    /// the log overflowed.
    #[inline]
    fn log(&mut self, edit: Edit) {
        // Past the log, the edit goes to the scratch slot and the length stays "overflowed".
        let at = self.edit_len.min(EDIT_LOG);
        self.edits[at] = edit;
        self.edit_len = at + 1;
    }

    /// The best level as (sort key, quantity), `(0, 0)` when the side is empty: a cheap
    /// top-of-book identity (a stored quantity is never 0, so the empty value is unambiguous).
    #[inline]
    pub(crate) fn best_raw(&self) -> (i64, i64) {
        // `levels` is never empty (capacity >= 1): one load, then a select on `len`.
        let level = self.levels.first().copied().unwrap_or((0, 0));
        if self.len > 0 {
            level
        } else {
            (0, 0)
        }
    }

    /// The best level, if any.
    #[inline]
    pub fn best(&self) -> Option<(Price, Qty)> {
        self.level(0)
    }

    /// Iterates the levels best first.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (Price, Qty)> + '_ {
        self.levels[..self.len]
            .iter()
            .map(move |&(k, q)| (Price(self.price_of(k)), Qty(q)))
    }

    /// Position of `key` among the stored levels: `Ok(rank)` if present, else the rank it would
    /// be inserted at. Linear for shallow books (the common depths 10 and 25 fit in a few cache
    /// lines), binary beyond.
    #[inline]
    fn search(&self, key: i64) -> Result<usize, usize> {
        debug_assert!(self.len <= self.levels.len());
        // SAFETY: `len <= levels.len()` is a struct invariant (`len` only grows below the
        // capacity in `apply_key` and only shrinks elsewhere), so the range is in bounds.
        let levels = unsafe { self.levels.get_unchecked(..self.len) };
        if levels.len() <= 32 {
            match levels.last() {
                Some(&(last, _)) if last >= key => {}
                _ => return Err(levels.len()),
            }
            // The last key is >= `key`, so the scan stops at the last level at the latest: no
            // bound check per step.
            let mut i = 0;
            loop {
                debug_assert!(i < levels.len());
                // SAFETY: `i < levels.len()`: every key before `i` is < `key` and the last
                // key is >= `key` (checked above), so `i` never passes the last index.
                let k = unsafe { levels.get_unchecked(i).0 };
                if k >= key {
                    return if k == key { Ok(i) } else { Err(i) };
                }
                i += 1;
            }
        } else {
            levels.binary_search_by(|&(k, _)| k.cmp(&key))
        }
    }

    /// Applies one level: `qty == 0` removes it, otherwise inserts or replaces. `price` must be
    /// non-negative and `qty` non-negative (the book validates both before calling).
    pub fn apply(&mut self, price: Price, qty: Qty) -> LevelChange {
        self.apply_key(self.key_of(price.0), qty)
    }

    /// [`BookSide::apply`] of the level whose sort key is `key` (the price for an ask, the
    /// negated price for a bid). Always inlined: the message loop saves a call per level.
    #[inline(always)]
    pub(crate) fn apply_key(&mut self, key: i64, qty: Qty) -> LevelChange {
        match self.search(key) {
            Ok(rank) => {
                self.touch(rank);
                if qty.0 == 0 {
                    if rank < LOGGED_RANKS {
                        self.log(Edit::Remove { rank: rank as u8 });
                    }
                    debug_assert!(rank < self.len && self.len <= self.levels.len());
                    // SAFETY: `rank < len <= levels.len()` (`search` returned `Ok(rank)`), so
                    // both `rank + 1..len` and its `len - rank - 1` slots from `rank` are inside
                    // the slice; `ptr::copy` allows the overlap.
                    unsafe {
                        let base = self.levels.as_mut_ptr();
                        core::ptr::copy(base.add(rank + 1), base.add(rank), self.len - rank - 1);
                    }
                    self.len -= 1;
                    LevelChange::Removed
                } else {
                    if rank < LOGGED_RANKS {
                        let rank = rank as u8;
                        self.log(Edit::Update {
                            rank,
                            key,
                            qty: qty.0,
                        });
                    }
                    debug_assert!(rank < self.len && self.len <= self.levels.len());
                    // SAFETY: `search` returned `Ok(rank)`, so `rank < len <= levels.len()`.
                    unsafe { self.levels.get_unchecked_mut(rank).1 = qty.0 };
                    LevelChange::Updated
                }
            }
            Err(rank) => {
                if qty.0 == 0 {
                    return LevelChange::AbsentDelete;
                }
                let cap = self.levels.len();
                let mut change = LevelChange::Inserted;
                if self.len == cap {
                    if rank == cap {
                        return LevelChange::DroppedBeyondCapacity;
                    }
                    // Evict the worst level to make room.
                    self.len -= 1;
                    if self.len < LOGGED_RANKS {
                        self.log(Edit::Remove {
                            rank: self.len as u8,
                        });
                    }
                    change = LevelChange::InsertedEvictingWorst;
                }
                debug_assert!(rank <= self.len && self.len < cap);
                self.touch(rank);
                if rank < LOGGED_RANKS {
                    let rank = rank as u8;
                    self.log(Edit::Insert {
                        rank,
                        key,
                        qty: qty.0,
                    });
                }
                // SAFETY: `rank <= len < levels.len()` (asserted above), so `rank..len` and its
                // `len - rank` slots from `rank + 1` are inside the slice; `ptr::copy` allows the
                // overlap.
                unsafe {
                    let base = self.levels.as_mut_ptr();
                    core::ptr::copy(base.add(rank), base.add(rank + 1), self.len - rank);
                }
                // SAFETY: `rank <= len < levels.len()` (asserted above: `search` gives at most
                // `len`, and a full side was cut by one or returned).
                unsafe { *self.levels.get_unchecked_mut(rank) = (key, qty.0) };
                self.len += 1;
                change
            }
        }
    }

    /// Keeps only the best `depth` levels. Returns how many were cut.
    #[inline]
    pub fn truncate(&mut self, depth: usize) -> usize {
        if self.len > depth {
            let cut = self.len - depth;
            self.len = depth;
            self.touch(depth);
            if depth < LOGGED_RANKS {
                self.log(Edit::Truncate { depth: depth as u8 });
            }
            cut
        } else {
            0
        }
    }

    /// Removes every level.
    #[inline]
    pub fn clear(&mut self) {
        if self.len > 0 {
            self.touch(0);
            self.log(Edit::Truncate { depth: 0 });
        }
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prices(side: &BookSide) -> Vec<i64> {
        side.iter().map(|(p, _)| p.0).collect()
    }

    #[test]
    fn bids_are_kept_descending_and_asks_ascending() {
        let mut bids = BookSide::new(SideKind::Bid, 8);
        let mut asks = BookSide::new(SideKind::Ask, 8);
        for p in [5, 9, 7, 1] {
            bids.apply(Price(p), Qty(1));
            asks.apply(Price(p), Qty(1));
        }
        assert_eq!(prices(&bids), vec![9, 7, 5, 1]);
        assert_eq!(prices(&asks), vec![1, 5, 7, 9]);
    }

    #[test]
    fn upsert_remove_and_absent_delete() {
        let mut s = BookSide::new(SideKind::Ask, 4);
        assert_eq!(s.apply(Price(10), Qty(5)), LevelChange::Inserted);
        assert_eq!(s.apply(Price(10), Qty(6)), LevelChange::Updated);
        assert_eq!(s.best(), Some((Price(10), Qty(6))));
        assert_eq!(s.apply(Price(11), Qty(0)), LevelChange::AbsentDelete);
        assert_eq!(s.apply(Price(10), Qty(0)), LevelChange::Removed);
        assert!(s.is_empty());
    }

    #[test]
    fn full_side_evicts_worst_or_drops_beyond() {
        let mut s = BookSide::new(SideKind::Bid, 3);
        for p in [10, 9, 8] {
            s.apply(Price(p), Qty(1));
        }
        assert_eq!(
            s.apply(Price(7), Qty(1)),
            LevelChange::DroppedBeyondCapacity
        );
        assert_eq!(
            s.apply(Price(11), Qty(1)),
            LevelChange::InsertedEvictingWorst
        );
        assert_eq!(prices(&s), vec![11, 10, 9]);
    }

    #[test]
    fn deep_side_uses_the_same_semantics() {
        let mut s = BookSide::new(SideKind::Ask, 2000);
        for p in (0..1000).rev() {
            s.apply(Price(p * 2), Qty(1));
        }
        assert_eq!(s.apply(Price(501), Qty(3)), LevelChange::Inserted);
        assert_eq!(s.level(251), Some((Price(501), Qty(3))));
        assert_eq!(s.apply(Price(501), Qty(0)), LevelChange::Removed);
        assert_eq!(s.apply(Price(501), Qty(0)), LevelChange::AbsentDelete);
        assert_eq!(s.truncate(10), 990);
        assert_eq!(prices(&s), (0..10).map(|p| p * 2).collect::<Vec<_>>());
    }
}
