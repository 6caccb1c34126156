//! The memoised Kraken v2 book checksum: the same CRC32 as [`book_checksum`], computed from
//! per-level remainders kept between computations instead of from the whole text: only the
//! levels that changed are rendered and hashed.
//!
//! Why: an update changes 1–3 of the 20 levels the checksum covers, and rendering all 40 integers
//! to decimal, or hashing the ~300 bytes of text, costs far more than combining 20 remainders.
//!
//! How: CRC-32 is linear, so the CRC of a concatenation follows from the pieces' remainders
//! (`gf2`): with `pm(T)` the text's polynomial modulo the CRC polynomial, the text of a side is
//! `L_0 ‖ … ‖ L_{n-1}` and `pm(side) = Σ pm(L_k)·x^(8·S_k)`, `S_k` the bytes after level `k`;
//! the CRC register after the asks is `!0·x^(8|A|) + pm(A)·x^32`, and the checksum is
//! `!(reg_A·x^(8|B|) + pm(B)·x^32)`. Each product is one carry-less multiply by a tabled power of
//! `x`; the sum of a side's products is reduced once. A side's sum runs over all 10 slots, the
//! ones past its levels being empty (no text, `pm` 0), so it is a fixed sequence of multiplies.
//! A level's `pm` comes from its price and quantity as integers, without rendering them
//! (`digits`).
//!
//! Owns, per side: each of its best 10 levels' `pm` and text length, and the side's unreduced
//! sum and text length (so a one-sided change re-sums that side only); the CRC register after
//! the asks' text; and the multiply backend (`pclmulqdq` if detected at construction, else
//! portable).
//! A computation replays, per side, the side's edit log (`BookSide::edits`: every insert, removal,
//! quantity change and cut of its best 10 levels since the previous computation, in order) on the
//! per-level array: a quantity change re-hashes that level, an insert hashes the new level and
//! moves the entries after it, a removal moves them back (each move a fixed-width copy into or
//! out of 10 scratch slots past the top 10). The ranks that entered the top 10 from
//! beyond it (after removals or cuts) are then hashed at the end from the side itself. A side
//! whose log overflowed keeps its entries up to its lowest changed rank
//! (`BookSide::touched_from`) and hashes the rest. A side whose log is one quantity change, or
//! one insert at rank 0, changes its sum by the terms that change instead of re-summing
//! (`SideSums::single`; the common case of live traffic).
//!
//! Invariants: each side's entries are those of the side's best `len` levels as of the last
//! computation (a prefix of its top 10), the slots past them up to 10 are empty (a computation
//! rewrites every slot from its `len` to 10 after replaying, before summing), and its sum and
//! text length are those of its entries; replaying an edit keeps the entries those of a prefix
//! of the side as of that edit (an edit beyond the prefix changes nothing in it). Given a complete log
//! (the book's sides record one on every mutation), the result equals [`book_checksum`] for any
//! state and any history, on either backend (property tests check both over random histories).
//! Memory is allocated once with the book; computing never allocates and never panics.
//!
//! [`book_checksum`]: super::checksum::book_checksum

mod digits;
mod gf2;

use digits::hash_digits;
#[cfg(target_arch = "x86_64")]
use gf2::Pclmul;
use gf2::{ones_shifted, reduce, shift, shift32_in_table, shift_signed, Clmul, Portable};

use super::checksum::{CHECKSUM_LEVELS, DIGITS_MAX};
use super::side::{BookSide, Edit, SideKind};

// The shift table covers a whole side's text (10 levels of two 19-digit magnitudes) plus the
// 4 bytes of x^32.
const _: () =
    assert!(CHECKSUM_LEVELS * 2 * DIGITS_MAX + 4 < gf2::SHIFTS && gf2::SHIFTS.is_power_of_two());

/// One level's share of the checksum: its text is the price's digits then the quantity's.
/// 16 bytes, aligned: moving one is one vector load and store.
#[derive(Clone, Copy, Debug, Default)]
#[repr(C, align(16))]
struct Level {
    /// `pm` of the level's text.
    pm: u32,
    /// `pm` of the price's digits (a quantity change re-hashes from there).
    price_pm: u32,
    /// Bytes of the level's text.
    len: u16,
    /// Bytes of the price's digits.
    price_len: u16,
}

impl Level {
    #[inline(always)]
    fn new<C: Clmul>(c: C, price: i64, qty: i64) -> Level {
        let (price_pm, price_len) = hash_digits::<C, true>(c, 0, price.unsigned_abs());
        Level::priced(c, price_pm, price_len, qty)
    }

    /// The level of this price (`pm` and length of its digits) and `qty`.
    #[inline(always)]
    fn priced<C: Clmul>(c: C, price_pm: u32, price_len: usize, qty: i64) -> Level {
        let (pm, qty_len) = hash_digits::<C, false>(c, price_pm, qty.unsigned_abs());
        Level {
            pm,
            price_pm,
            len: (price_len + qty_len) as u16,
            price_len: price_len as u16,
        }
    }
}

/// Slots of [`SideSums::levels`]: the top 10, then as many of scratch, so that moving the entries
/// after a rank by one is a copy of a fixed width (one run of loads and stores, no loop) that
/// stays in the array from any rank below 10.
const SLOTS: usize = 2 * CHECKSUM_LEVELS;

/// One side's per-level entries and their sum; see the module docs.
#[derive(Clone)]
struct SideSums {
    /// `levels[r]`: level `r`'s share; `levels[..len]` is meaningful, `levels[len..10]` is empty
    /// between computations, `levels[10..]` is scratch.
    levels: [Level; SLOTS],
    /// Levels held (at most [`CHECKSUM_LEVELS`]).
    len: usize,
    /// The entries' [`SideSums::sum`] as of the last [`SideSums::update`].
    sum: u64,
    /// Bytes of the entries' text as of the last [`SideSums::update`].
    text: usize,
}

impl SideSums {
    const EMPTY: SideSums = SideSums {
        levels: [Level {
            pm: 0,
            price_pm: 0,
            len: 0,
            price_len: 0,
        }; SLOTS],
        len: 0,
        sum: 0,
        text: 0,
    };

    /// Brings the entries and [`SideSums::sum`]/[`SideSums::text`] up to date with `side`:
    /// replays its edit log, or (log overflowed) keeps the entries up to rank `from` (the lowest
    /// rank changed since the last call); then hashes the ranks missing at the end, and sums
    /// the entries. A log of one edit that [`SideSums::single`] takes skips the sum.
    #[inline(always)]
    fn update<C: Clmul>(&mut self, c: C, side: &BookSide, from: usize) {
        if let Some(&[edit]) = side.edits() {
            if self.single(c, edit, side) {
                return;
            }
        }
        let kind = side.kind();
        match side.edits() {
            Some(edits) => {
                for &edit in edits {
                    self.replay(c, edit, kind);
                }
            }
            None => self.len = self.len.min(from),
        }
        let levels = side.top(CHECKSUM_LEVELS);
        let n = levels.len().min(CHECKSUM_LEVELS);
        debug_assert!(self.len <= n, "more entries than the side has levels");
        if self.len < n {
            let fresh = levels.get(self.len..n).unwrap_or(&[]);
            let slots = self.levels.get_mut(self.len..n).unwrap_or(&mut []);
            for (&(key, qty), slot) in fresh.iter().zip(slots) {
                *slot = Level::new(c, kind.sort_key(key), qty);
            }
        }
        self.len = n;
        // Past `len`, slots are empty (see `sum`).
        for slot in self.levels.get_mut(n..CHECKSUM_LEVELS).unwrap_or(&mut []) {
            *slot = Level::default();
        }
        (self.sum, self.text) = self.sum(c);
    }

    /// [`SideSums::update`] for a side whose log is the one edit `edit`, when that is a
    /// quantity change, or an insert at rank 0 (the side's levels in the top 10 being then
    /// one more, or 10 again): it changes the sum by the terms that change, without summing.
    /// Returns `false`, having changed nothing, for any other edit.
    ///
    /// A term is `pm·x^(8·(S + 4))`, `S` the bytes after its level. A change at rank 0 moves no
    /// other term (the bytes after each level are the same), a quantity change that keeps the
    /// level's length neither; one that changes it at another rank would move the terms before
    /// it, so that case is summed. The level that leaves the top 10 when a full side takes an
    /// insert is the last: its term goes and every other moves down by its length, one multiply
    /// of the rest of the sum.
    #[inline(always)]
    fn single<C: Clmul>(&mut self, c: C, edit: Edit, side: &BookSide) -> bool {
        let n = side.len().min(CHECKSUM_LEVELS);
        match edit {
            Edit::Update { rank, qty, .. } if n == self.len => {
                let r = usize::from(rank);
                let held = self.levels.get_mut(..n).unwrap_or(&mut []);
                let Some(l) = held.get_mut(r) else {
                    return false;
                };
                let old = *l;
                let new = Level::priced(c, old.price_pm, usize::from(old.price_len), qty);
                *l = new;
                let (old_len, new_len) = (usize::from(old.len), usize::from(new.len));
                if r == 0 {
                    let after = self.text - old_len + 4;
                    self.sum ^= c.clmul(u64::from(old.pm ^ new.pm), shift(after));
                    self.text = self.text - old_len + new_len;
                } else if old_len == new_len {
                    let after = held.get(r + 1..).unwrap_or(&[]);
                    let after = after.iter().fold(4, |b, l| b + usize::from(l.len));
                    self.sum ^= c.clmul(u64::from(old.pm ^ new.pm), shift(after));
                } else {
                    (self.sum, self.text) = self.sum(c);
                }
                true
            }
            Edit::Insert { rank: 0, key, qty } if n == (self.len + 1).min(CHECKSUM_LEVELS) => {
                if self.len == CHECKSUM_LEVELS {
                    let last = self.levels[CHECKSUM_LEVELS - 1];
                    let rest = self.sum ^ c.clmul(u64::from(last.pm), shift(4));
                    let down = shift_signed(-isize::from(last.len as i16));
                    self.sum = c.clmul(u64::from(reduce(c, rest)), down);
                    self.text -= usize::from(last.len);
                }
                let new = Level::new(c, side.kind().sort_key(key), qty);
                // Before the whole text: S is the text's length.
                self.sum ^= c.clmul(u64::from(new.pm), shift(self.text + 4));
                self.text += usize::from(new.len);
                // The slots from `n` on were empty and take empty ones (or go to scratch).
                self.shift_right(0);
                self.levels[0] = new;
                self.len = n;
                true
            }
            _ => false,
        }
    }

    /// Applies one edit of the side to the entries (see the module docs).
    #[inline(always)]
    fn replay<C: Clmul>(&mut self, c: C, edit: Edit, kind: SideKind) {
        match edit {
            Edit::Update { rank, qty, .. } => {
                let held = self.levels.get_mut(..self.len).unwrap_or(&mut []);
                if let Some(l) = held.get_mut(usize::from(rank)) {
                    *l = Level::priced(c, l.price_pm, usize::from(l.price_len), qty);
                }
            }
            Edit::Insert { rank, key, qty } => {
                let r = usize::from(rank);
                if r > self.len || r >= CHECKSUM_LEVELS {
                    return;
                }
                // The last level, if the side is full, moves out of the top 10 (to scratch).
                let n = (self.len + 1).min(CHECKSUM_LEVELS);
                self.shift_right(r);
                self.levels[r] = Level::new(c, kind.sort_key(key), qty);
                self.len = n;
            }
            Edit::Remove { rank } => {
                let r = usize::from(rank);
                if r >= self.len {
                    return;
                }
                // Slot `len - 1` takes whatever followed: `update` rewrites the slots past `len`.
                self.shift_left(r);
                self.len -= 1;
            }
            Edit::Truncate { depth } => self.len = self.len.min(usize::from(depth)),
        }
    }

    /// Moves the slots `r..r + 10` one up (an insert at `r < 10`): the ones that matter are those
    /// below 10, the rest are scratch. Two copies of half the width, the upper one first, each
    /// short enough to compile to its loads then its stores.
    #[inline(always)]
    fn shift_right(&mut self, r: usize) {
        const HALF: usize = CHECKSUM_LEVELS / 2;
        debug_assert!(r < CHECKSUM_LEVELS);
        // In bounds without a check: `r + 10 + 1 <= SLOTS`.
        let r = r.min(CHECKSUM_LEVELS - 1);
        self.levels
            .copy_within(r + HALF..r + CHECKSUM_LEVELS, r + HALF + 1);
        self.levels.copy_within(r..r + HALF, r + 1);
    }

    /// Moves the slots `r + 1..r + 11` one down (a removal at `r < 10`); see
    /// [`SideSums::shift_right`].
    #[inline(always)]
    fn shift_left(&mut self, r: usize) {
        const HALF: usize = CHECKSUM_LEVELS / 2;
        debug_assert!(r < CHECKSUM_LEVELS);
        let r = r.min(CHECKSUM_LEVELS - 1);
        self.levels.copy_within(r + 1..r + HALF + 1, r);
        self.levels
            .copy_within(r + HALF + 1..r + CHECKSUM_LEVELS + 1, r + HALF);
    }

    /// The sum over levels of `pm(L_k)·x^(8·(S_k + 4))`, unreduced (that is `pm(side)·x^32`,
    /// the CRC register after the side's text from register 0), and the text's length.
    #[inline(always)]
    fn sum<C: Clmul>(&self, c: C) -> (u64, usize) {
        let mut sum = c.sum_zero();
        // Bytes after the level, plus the 4 of x^32.
        let mut after = 4;
        // Every slot: the ones past `len` are empty (`pm` 0, no text), adding nothing.
        for l in self
            .levels
            .get(..CHECKSUM_LEVELS)
            .unwrap_or(&[])
            .iter()
            .rev()
        {
            debug_assert!(usize::from(l.len) <= 2 * DIGITS_MAX);
            // SAFETY: `after` is 4 plus the lengths of the levels after this one, each at most
            // two magnitudes of DIGITS_MAX digits (`Level::priced`): below the table's size
            // (asserted at compile time above), as `shift32_in_table` requires.
            sum = c.sum_clmul(sum, l.pm, unsafe { shift32_in_table(after) });
            after += usize::from(l.len);
        }
        (c.sum_get(sum), after - 4)
    }
}

/// The carry-less multiply a cache uses, chosen once at construction.
#[derive(Clone, Copy, Debug)]
enum Backend {
    #[cfg(target_arch = "x86_64")]
    Pclmul(Pclmul),
    Portable,
}

impl Backend {
    fn detect() -> Backend {
        #[cfg(target_arch = "x86_64")]
        if let Some(p) = Pclmul::detect() {
            return Backend::Pclmul(p);
        }
        Backend::Portable
    }
}

/// The checksum cache of one book; see the module docs.
#[derive(Clone)]
pub(crate) struct ChecksumCache {
    asks: SideSums,
    bids: SideSums,
    /// The CRC register after the asks' text (from `!0`, as CRC-32 starts).
    after_asks: u32,
    backend: Backend,
}

impl ChecksumCache {
    /// Allocates the cache (once, with the book) and detects the CPU's carry-less multiply. Its
    /// state is that of an empty book.
    pub(crate) fn new() -> Box<ChecksumCache> {
        Self::with_backend(Backend::detect())
    }

    fn with_backend(backend: Backend) -> Box<ChecksumCache> {
        Box::new(ChecksumCache {
            asks: SideSums::EMPTY,
            bids: SideSums::EMPTY,
            after_asks: !0,
            backend,
        })
    }

    /// The checksum of the book with these sides, where `bids_from`/`asks_from` are the lowest
    /// ranks changed since the previous call (0 for the first call unless the book is empty).
    /// Equal to `book_checksum(bids, asks)` given correct ranks.
    #[inline]
    pub(crate) fn checksum(
        &mut self,
        bids: &BookSide,
        bids_from: usize,
        asks: &BookSide,
        asks_from: usize,
    ) -> u32 {
        match self.backend {
            #[cfg(target_arch = "x86_64")]
            Backend::Pclmul(p) => {
                // SAFETY: a `Pclmul` exists only if pclmulqdq was detected on this CPU, the one
                // target feature `checksum_pclmul` enables.
                unsafe { self.checksum_pclmul(p, bids, bids_from, asks, asks_from) }
            }
            Backend::Portable => self.checksum_portable(bids, bids_from, asks, asks_from),
        }
    }

    /// [`ChecksumCache::checksum_with`] on the portable multiply, out of line like
    /// [`ChecksumCache::checksum_pclmul`]: the dispatch above then inlines into its caller
    /// without the registers and stack the inlined computation would need.
    #[inline(never)]
    fn checksum_portable(
        &mut self,
        bids: &BookSide,
        bids_from: usize,
        asks: &BookSide,
        asks_from: usize,
    ) -> u32 {
        self.checksum_with(Portable, bids, bids_from, asks, asks_from)
    }

    /// [`ChecksumCache::checksum_with`] compiled with `pclmulqdq` enabled, so that the multiplies
    /// inline as single instructions.
    ///
    /// # Safety
    /// The CPU must have `pclmulqdq` (holding a [`Pclmul`] proves it).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "pclmulqdq")]
    unsafe fn checksum_pclmul(
        &mut self,
        p: Pclmul,
        bids: &BookSide,
        bids_from: usize,
        asks: &BookSide,
        asks_from: usize,
    ) -> u32 {
        self.checksum_with(p, bids, bids_from, asks, asks_from)
    }

    #[inline(always)]
    fn checksum_with<C: Clmul>(
        &mut self,
        c: C,
        bids: &BookSide,
        bids_from: usize,
        asks: &BookSide,
        asks_from: usize,
    ) -> u32 {
        if asks_from < CHECKSUM_LEVELS {
            self.asks.update(c, asks, asks_from);
            // reg(!0, A) = !0·x^(8|A|) + pm(A)·x^32.
            self.after_asks = reduce(c, self.asks.sum ^ ones_shifted(self.asks.text));
        }
        if bids_from < CHECKSUM_LEVELS {
            self.bids.update(c, bids, bids_from);
        }
        // reg(!0, A ‖ B) = reg(!0, A)·x^(8|B|) + pm(B)·x^32; the CRC is its complement.
        !reduce(
            c,
            self.bids.sum ^ c.clmul(u64::from(self.after_asks), shift(self.bids.text)),
        )
    }
}

impl core::fmt::Debug for ChecksumCache {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ChecksumCache")
            .field("ask_levels", &self.asks.len)
            .field("bid_levels", &self.bids.len)
            .field("backend", &self.backend)
            .finish()
    }
}

#[cfg(test)]
mod tests;
