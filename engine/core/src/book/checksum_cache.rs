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
//! Owns, per side: each of its best 10 levels' `pm` and text length; the CRC register after the
//! asks' text, and the bids' unreduced sum and text length (so a one-sided change re-sums that
//! side only); and the multiply backend (`pclmulqdq` if detected at construction, else portable).
//! A computation replays, per side, the side's edit log (`BookSide::edits`: every insert, removal,
//! quantity change and cut of its best 10 levels since the previous computation, in order) on the
//! per-level array: a quantity change re-hashes that level, an insert hashes the new level and
//! moves the entries after it, a removal moves them back. The ranks that entered the top 10 from
//! beyond it (after removals or cuts) are then hashed at the end from the side itself. A side
//! whose log overflowed keeps its entries up to its lowest changed rank
//! (`BookSide::touched_from`) and hashes the rest.
//!
//! Invariants: each side's entries are those of the side's best `len` levels as of the last
//! computation (a prefix of its top 10), and the slots past them are empty (a computation empties
//! them before summing); replaying an edit keeps the entries those of a prefix of the side as of
//! that edit (an edit beyond the prefix changes nothing in it). Given a complete log
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
use gf2::{ones_shifted, reduce, shift, shift32_in_table, Clmul, Portable};

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

/// One side's per-level entries; see the module docs.
#[derive(Clone)]
struct SideSums {
    /// `levels[r]`: level `r`'s share; `levels[..len]` is meaningful.
    levels: [Level; CHECKSUM_LEVELS],
    /// Levels held (at most [`CHECKSUM_LEVELS`]).
    len: usize,
}

impl SideSums {
    const EMPTY: SideSums = SideSums {
        levels: [Level {
            pm: 0,
            price_pm: 0,
            len: 0,
            price_len: 0,
        }; CHECKSUM_LEVELS],
        len: 0,
    };

    /// Brings the entries up to date with `side`: replays its edit log, or (log overflowed) keeps
    /// the entries up to rank `from` (the lowest rank changed since the last call); then hashes
    /// the ranks missing at the end.
    #[inline(always)]
    fn update<C: Clmul>(&mut self, c: C, side: &BookSide, from: usize) {
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
        for slot in self.levels.get_mut(n..).unwrap_or(&mut []) {
            *slot = Level::default();
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
                // The last level, if the side is full, moves out of the top 10.
                let n = (self.len + 1).min(CHECKSUM_LEVELS);
                let moved = self.levels.get_mut(r..n).unwrap_or(&mut []);
                for k in (1..moved.len()).rev() {
                    moved[k] = moved[k - 1];
                }
                self.levels[r] = Level::new(c, kind.sort_key(key), qty);
                self.len = n;
            }
            Edit::Remove { rank } => {
                let r = usize::from(rank);
                if r >= self.len {
                    return;
                }
                let moved = self.levels.get_mut(r..self.len).unwrap_or(&mut []);
                for k in 1..moved.len() {
                    moved[k - 1] = moved[k];
                }
                self.len -= 1;
            }
            Edit::Truncate { depth } => self.len = self.len.min(usize::from(depth)),
        }
    }

    /// The sum over levels of `pm(L_k)·x^(8·(S_k + 4))`, unreduced (that is `pm(side)·x^32`,
    /// the CRC register after the side's text from register 0), and the text's length.
    #[inline(always)]
    fn sum<C: Clmul>(&self, c: C) -> (u64, usize) {
        let mut sum = c.sum_zero();
        // Bytes after the level, plus the 4 of x^32.
        let mut after = 4;
        // Every slot: the ones past `len` are empty (`pm` 0, no text), adding nothing.
        for l in self.levels.iter().rev() {
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
    /// The bids' [`SideSums::sum`].
    bids_sum: u64,
    bids_len: usize,
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
            bids_sum: 0,
            bids_len: 0,
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
            let (sum, len) = self.asks.sum(c);
            // reg(!0, A) = !0·x^(8|A|) + pm(A)·x^32.
            self.after_asks = reduce(c, sum ^ ones_shifted(len));
        }
        if bids_from < CHECKSUM_LEVELS {
            self.bids.update(c, bids, bids_from);
            (self.bids_sum, self.bids_len) = self.bids.sum(c);
        }
        // reg(!0, A ‖ B) = reg(!0, A)·x^(8|B|) + pm(B)·x^32; the CRC is its complement.
        !reduce(
            c,
            self.bids_sum ^ c.clmul(u64::from(self.after_asks), shift(self.bids_len)),
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
mod tests {
    use super::super::checksum::{book_checksum, checksum_text};
    use super::*;
    use kspin_api::{Price, Qty};
    use proptest::prelude::*;

    /// Every backend the machine has.
    fn backends() -> Vec<Backend> {
        let mut b = vec![Backend::Portable];
        #[cfg(target_arch = "x86_64")]
        if let Some(p) = Pclmul::detect() {
            b.push(Backend::Pclmul(p));
        }
        b
    }

    /// `hash_digits` on one backend.
    fn hash_on(b: Backend, pm: u32, v: u64, from_empty: bool) -> (u32, usize) {
        match (b, from_empty) {
            #[cfg(target_arch = "x86_64")]
            (Backend::Pclmul(p), true) => hash_digits::<_, true>(p, pm, v),
            #[cfg(target_arch = "x86_64")]
            (Backend::Pclmul(p), false) => hash_digits::<_, false>(p, pm, v),
            (Backend::Portable, true) => hash_digits::<_, true>(Portable, pm, v),
            (Backend::Portable, false) => hash_digits::<_, false>(Portable, pm, v),
        }
    }

    #[test]
    fn digits_hash_as_their_text_at_every_length_boundary() {
        // After every prefix length a quantity can follow (none, and prices of 1 to 19 digits),
        // `pm(prefix ‖ digits)` equals the reference over the text itself.
        let check = |v: u64| {
            let digits = if v == 0 { String::new() } else { v.to_string() };
            for b in backends() {
                let got = hash_on(b, 0, v, true);
                assert_eq!(got, (gf2::pm_of(digits.as_bytes()), digits.len()), "{v}");
                for prefix in [
                    "",
                    "7",
                    "1234567",
                    "12345678",
                    "987654321012",
                    "9223372036854775808",
                ] {
                    let text = format!("{prefix}{digits}");
                    let got = hash_on(b, gf2::pm_of(prefix.as_bytes()), v, false);
                    assert_eq!(got, (gf2::pm_of(text.as_bytes()), digits.len()), "{text}");
                }
            }
        };
        let mut p = 1u64;
        loop {
            for v in [p - 1, p, p + 1] {
                check(v);
            }
            match p.checked_mul(10) {
                Some(next) => p = next,
                None => break,
            }
        }
        check(u64::MAX);
        check(i64::MIN.unsigned_abs());
        // A pseudo-random sweep over every magnitude (64-bit LCG, Knuth's MMIX constants).
        let mut x = 1u64;
        for i in 0..5_000u32 {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            check(x >> (i % 64));
        }
    }

    #[test]
    fn a_level_hashes_as_its_reference_text() {
        let mut bids = BookSide::new(SideKind::Bid, 2);
        let asks = BookSide::new(SideKind::Ask, 2);
        for (price, qty) in [(452852, 100000), (i64::MAX, i64::MAX), (0, 7), (1, 1)] {
            bids.clear();
            bids.apply(Price(price), Qty(qty));
            let text = checksum_text(&bids, &asks);
            for b in backends() {
                let level = match b {
                    #[cfg(target_arch = "x86_64")]
                    Backend::Pclmul(p) => Level::new(p, price, qty),
                    Backend::Portable => Level::new(Portable, price, qty),
                };
                assert_eq!(level.pm, gf2::pm_of(text.as_bytes()), "{text}");
                assert_eq!(usize::from(level.len), text.len());
                let digits = price.to_string();
                let price_text = if price == 0 { "" } else { digits.as_str() };
                assert_eq!(level.price_pm, gf2::pm_of(price_text.as_bytes()));
                assert_eq!(usize::from(level.price_len), price_text.len());
            }
        }
    }

    #[test]
    fn equals_the_uncached_checksum_through_shifts_and_updates() {
        let mut bids = BookSide::new(SideKind::Bid, 40);
        let mut asks = BookSide::new(SideKind::Ask, 40);
        let mut cache = ChecksumCache::new();
        for p in 1..=20 {
            bids.apply(Price(1000 - p), Qty(p));
            asks.apply(Price(1000 + p), Qty(2 * p));
        }
        // As `OrderBook::checksum` drives it: the lowest changed ranks, then marked seen.
        let check = |cache: &mut ChecksumCache, bids: &mut BookSide, asks: &mut BookSide| {
            let got = cache.checksum(bids, bids.touched_from(), asks, asks.touched_from());
            bids.mark_seen();
            asks.mark_seen();
            assert_eq!(
                got,
                book_checksum(bids, asks),
                "{}",
                checksum_text(bids, asks)
            );
        };
        check(&mut cache, &mut bids, &mut asks);
        check(&mut cache, &mut bids, &mut asks);
        // New best levels shift every rank down; deletes shift them up; qty changes in place.
        bids.apply(Price(1000), Qty(7));
        asks.apply(Price(1003), Qty(0));
        check(&mut cache, &mut bids, &mut asks);
        asks.apply(Price(1001), Qty(123_456_789));
        bids.apply(Price(995), Qty(0));
        bids.apply(Price(994), Qty(0));
        bids.apply(Price(993), Qty(0));
        check(&mut cache, &mut bids, &mut asks);
        bids.clear();
        check(&mut cache, &mut bids, &mut asks);
        asks.apply(Price(1), Qty(1));
        check(&mut cache, &mut bids, &mut asks);
    }

    /// One change to a side: set a level (quantity 0 deletes), cut to a depth, or clear.
    #[derive(Clone, Debug)]
    enum Op {
        Set { bid: bool, price: i64, qty: i64 },
        Truncate { bid: bool, depth: usize },
        Clear { bid: bool },
    }

    fn op() -> impl Strategy<Value = Op> {
        // A narrow band of prices so that levels cross rank 10 both ways; quantities of every
        // digit count, and deletes.
        let qty = prop_oneof![3 => Just(0i64), 4 => 1i64..1_000, 2 => 1i64..i64::MAX];
        prop_oneof![
            40 => (any::<bool>(), 1i64..40, qty).prop_map(|(bid, price, qty)| Op::Set { bid, price, qty }),
            2 => (any::<bool>(), 0usize..14).prop_map(|(bid, depth)| Op::Truncate { bid, depth }),
            1 => any::<bool>().prop_map(|bid| Op::Clear { bid }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

        /// On every backend, the cache equals the from-scratch checksum after any history of
        /// changes (including more than the edit log holds between two computations), taken
        /// after every batch of 0 to 20 changes.
        #[test]
        fn every_backend_equals_the_uncached_checksum(
            batches in prop::collection::vec(prop::collection::vec(op(), 0..20), 1..60),
            capacity in 1usize..30,
        ) {
            let mut bids = BookSide::new(SideKind::Bid, capacity);
            let mut asks = BookSide::new(SideKind::Ask, capacity);
            let mut caches: Vec<_> = backends().into_iter().map(ChecksumCache::with_backend).collect();
            for batch in &batches {
                for op in batch {
                    match *op {
                        Op::Set { bid: true, price, qty } => { bids.apply(Price(price), Qty(qty)); }
                        Op::Set { bid: false, price, qty } => { asks.apply(Price(price), Qty(qty)); }
                        Op::Truncate { bid: true, depth } => { bids.truncate(depth); }
                        Op::Truncate { bid: false, depth } => { asks.truncate(depth); }
                        Op::Clear { bid: true } => bids.clear(),
                        Op::Clear { bid: false } => asks.clear(),
                    }
                }
                let want = book_checksum(&bids, &asks);
                for cache in &mut caches {
                    let got = cache.checksum(&bids, bids.touched_from(), &asks, asks.touched_from());
                    prop_assert_eq!(got, want, "{:?}: {}", cache, checksum_text(&bids, &asks));
                }
                bids.mark_seen();
                asks.mark_seen();
            }
        }
    }
}
