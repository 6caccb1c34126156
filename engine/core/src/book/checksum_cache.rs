//! The memoised Kraken v2 book checksum: the same CRC32 as [`book_checksum`], but each side's
//! checksum text (its best 10 levels' digits) is kept between computations and edited, not
//! rebuilt: only the levels that changed are rendered.
//!
//! Why: an update changes 1–3 of the 20 levels the checksum covers, and rendering all 40 integers
//! to decimal costs far more than the CRC itself (`bench/results/engine_path.md`).
//!
//! Owns, per side: that side's checksum text, the number of levels in it and where each ends;
//! and the CRC state after the asks' text. A computation replays, per side, the side's edit log
//! (`BookSide::edits`: every insert, removal, quantity change and cut of its best 10 levels since
//! the previous computation, in order) on the text: a quantity change re-renders that level's
//! quantity digits, an insert renders the new level and moves the text after it, a removal moves
//! the text after it back. The ranks that entered the top 10 from beyond it (after removals or
//! cuts) are then rendered at the end from the side itself. A side whose log overflowed keeps its
//! text up to its lowest changed rank (`BookSide::touched_from`) and renders the rest.
//!
//! Invariants: each side's text is the rendering of the side's best `len` levels as of the last
//! computation (a prefix of its top 10), `ends[r]` the text length after rank `r`; replaying an
//! edit keeps it a rendering of a prefix of the side as of that edit (an edit beyond the prefix
//! changes nothing in it). Given a complete log (the book's sides record one on every mutation),
//! the result equals [`book_checksum`] for any state and any history (a property test checks it
//! over random histories). Memory is allocated once with the book; computing never allocates and
//! never panics: an edit the text cannot hold (never, given the invariants) drops the side's text,
//! which is then rendered in full.
//!
//! [`book_checksum`]: super::checksum::book_checksum

use super::checksum::{CHECKSUM_LEVELS, DIGITS_MAX};
use super::side::{BookSide, Edit, SideKind};

/// Bytes of the scratch a level is rendered into: price and quantity, each at most
/// [`DIGITS_MAX`] digits, plus the write-ahead of [`write_digits`].
const LEVEL_DIGITS: usize = 40;
const _: () = assert!(LEVEL_DIGITS >= DIGITS_MAX + 20);

/// One side's text capacity: 10 levels × 38 digits, plus room for the write-ahead of rendering
/// one level at the end.
const SIDE_TEXT_CAP: usize = CHECKSUM_LEVELS * 2 * DIGITS_MAX + LEVEL_DIGITS;

/// Writes the decimal digits of `v` at `dst[at..]` and returns their count (no leading zeros;
/// none for 0, as Kraken's "strip leading zeros" turns "0" into ""). Bytes from there up to
/// `at + 20` may be overwritten with garbage; without room for that (`dst.len() < at + 20`)
/// nothing is written and 0 returned. Independent of `checksum::write_digits`, which the
/// reference checksum uses: the property test compares two implementations.
///
/// `v` is cut into 8-digit chunks, each converted without a loop ([`eight_digits`]) and stored as
/// one 8-byte word: the first chunk shifted right past its leading zeros, the next ones at their
/// place from the end, each overwriting the previous one's zero tail.
#[inline(always)]
fn write_digits(dst: &mut [u8], at: usize, v: u64) -> usize {
    const CHUNK: u64 = 100_000_000;
    let len = decimal_len(v);
    if dst.len() < at + 20 || len == 0 {
        return 0;
    }
    // Leading zeros of the first (most significant) chunk: 8 - its digits.
    let lead = (8 * 3 - len) % 8;
    let mut put = |i: usize, word: [u8; 8]| {
        if let Some(d) = dst.get_mut(at + i..at + i + 8) {
            d.copy_from_slice(&word);
        }
    };
    let word = |n: u64| eight_digits(n as u32);
    let first = |w: [u8; 8]| (u64::from_le_bytes(w) >> (8 * lead)).to_le_bytes();
    if len <= 8 {
        put(0, first(word(v)));
    } else if len <= 16 {
        put(0, first(word(v / CHUNK)));
        put(len - 8, word(v % CHUNK));
    } else {
        let high = v / CHUNK;
        // u64::MAX / 10^16 = 1844: three chunks cover every u64.
        put(0, first(word(high / CHUNK)));
        put(len - 16, word(high % CHUNK));
        put(len - 8, word(v % CHUNK));
    }
    len
}

/// Renders one level (price digits then quantity digits) at `dst[at..]` and returns its length;
/// bytes up to `at + 39` may be overwritten with garbage (0 and nothing written without room).
#[inline]
fn write_level(dst: &mut [u8], at: usize, price: i64, qty: i64) -> usize {
    let price_len = write_digits(dst, at, price.unsigned_abs());
    price_len + write_digits(dst, at + price_len, qty.unsigned_abs())
}

/// The 8 decimal digits of `n < 10^8`, zero-padded, as ASCII. Branch-free "SIMD within a
/// register": the two 4-digit halves go into the two 32-bit lanes of a u64, each lane is split
/// into two 2-digit values (16-bit lanes), and each of those into two digits (8-bit lanes), by
/// multiplying by a scaled reciprocal and shifting. Exactness (checked for every lane value by a
/// test): `(x * 10486) >> 20 == x / 100` for `x < 10^4`, `(x * 103) >> 10 == x / 10` for
/// `x < 100`, and no lane's product reaches the next lane (`9999 * 10486 < 2^27`,
/// `99 * 103 < 2^14`).
#[inline]
fn eight_digits(n: u32) -> [u8; 8] {
    debug_assert!(n < 100_000_000);
    // Little-endian: the first digits go in the low lane.
    let x = u64::from(n / 10_000) | u64::from(n % 10_000) << 32;
    let hundreds = ((x * 10_486) >> 20) & 0x0000_007F_0000_007F;
    let pairs = hundreds | (x - hundreds * 100) << 16;
    let tens = ((pairs * 103) >> 10) & 0x000F_000F_000F_000F;
    let digits = tens | (pairs - tens * 10) << 8;
    (digits | 0x3030_3030_3030_3030).to_le_bytes()
}

/// Number of decimal digits of `v` (0 for 0).
#[inline]
fn decimal_len(v: u64) -> usize {
    const POW10: [u64; 20] = {
        let mut t = [1u64; 20];
        let mut i = 1;
        while i < 20 {
            t[i] = t[i - 1] * 10;
            i += 1;
        }
        t
    };
    // floor(bits * log10(2)) is the digit count or one less (1233 / 4096 ~ log10(2)).
    let bits = 64 - v.leading_zeros() as usize;
    let guess = (bits * 1233) >> 12;
    guess + usize::from(v >= POW10[guess.min(19)])
}

/// One side's text; see the module docs.
#[derive(Clone)]
struct SideTexts {
    /// `ends[r]`: the text length after level `r`; `ends[..len]` is meaningful.
    ends: [u16; CHECKSUM_LEVELS],
    /// Levels in the text (at most [`CHECKSUM_LEVELS`]).
    len: usize,
    text: [u8; SIDE_TEXT_CAP],
}

impl SideTexts {
    const EMPTY: SideTexts = SideTexts {
        ends: [0; CHECKSUM_LEVELS],
        len: 0,
        text: [0; SIDE_TEXT_CAP],
    };

    /// Where level `r` starts (the text length for `r == len`).
    #[inline]
    fn start(&self, r: usize) -> usize {
        match r.checked_sub(1) {
            Some(p) => usize::from(self.ends[p.min(CHECKSUM_LEVELS - 1)]),
            None => 0,
        }
    }

    /// The side's current checksum text.
    #[inline]
    fn text(&self) -> &[u8] {
        self.text.get(..self.start(self.len)).unwrap_or(&[])
    }

    /// Brings the text up to date with `side`: replays its edit log, or (log overflowed) keeps
    /// the text up to rank `from` (the lowest rank changed since the last call); then renders the
    /// ranks missing at the end.
    #[inline(always)]
    fn render(&mut self, side: &BookSide, from: usize) {
        let bid = side.kind() == SideKind::Bid;
        match side.edits() {
            Some(edits) => {
                for &edit in edits {
                    self.replay(edit, bid);
                }
            }
            None => self.len = self.len.min(from),
        }
        let levels = side.top(CHECKSUM_LEVELS);
        let n = levels.len().min(CHECKSUM_LEVELS);
        debug_assert!(self.len <= n, "the text holds more levels than the side");
        if self.len < n {
            self.fill(levels, bid);
        }
        self.len = n;
    }

    /// Renders the side's levels from rank `len` to the end of `levels` (at most 10) at the end
    /// of the text: the ranks that entered the top 10 from beyond it. Out of line: most
    /// computations have none.
    #[inline(never)]
    fn fill(&mut self, levels: &[(i64, i64)], bid: bool) {
        let mut at = self.start(self.len);
        let levels = levels.get(self.len..).unwrap_or(&[]);
        let ends = self.ends.get_mut(self.len..).unwrap_or(&mut []);
        for (&(key, qty), end) in levels.iter().zip(ends) {
            at += write_level(&mut self.text, at, price_of(key, bid), qty);
            *end = at as u16;
        }
    }

    /// Applies one edit of the side to the text (see the module docs).
    #[inline]
    fn replay(&mut self, edit: Edit, bid: bool) {
        let mut level = [0u8; LEVEL_DIGITS];
        match edit {
            Edit::Update { rank, key, qty } => {
                let r = usize::from(rank);
                if r >= self.len {
                    return;
                }
                let at = self.start(r) + decimal_len(price_of(key, bid).unsigned_abs());
                let len = write_digits(&mut level, 0, qty.unsigned_abs());
                self.put(r, at, &level, len);
            }
            Edit::Insert { rank, key, qty } => {
                let r = usize::from(rank);
                if r > self.len || r >= CHECKSUM_LEVELS {
                    return;
                }
                // The last level, if the text is full, moves out of the top 10.
                self.len = self.len.min(CHECKSUM_LEVELS - 1);
                let len = write_level(&mut level, 0, price_of(key, bid), qty);
                self.insert(r, &level, len);
            }
            Edit::Remove { rank } => self.remove(usize::from(rank)),
            Edit::Truncate { depth } => self.len = self.len.min(usize::from(depth)),
        }
    }

    /// Replaces the text of level `r` from `at` to its end with `digits[..len]`.
    #[inline]
    fn put(&mut self, r: usize, at: usize, digits: &[u8; LEVEL_DIGITS], len: usize) {
        let (old_end, end) = (
            usize::from(self.ends[r.min(CHECKSUM_LEVELS - 1)]),
            self.start(self.len),
        );
        let new_end = at + len;
        if new_end != old_end {
            let moved = end - old_end;
            if new_end + moved > SIDE_TEXT_CAP || old_end > end {
                return self.drop_text();
            }
            self.text.copy_within(old_end..end, new_end);
            for e in self.ends.iter_mut().take(self.len).skip(r) {
                *e = (usize::from(*e) + new_end - old_end) as u16;
            }
        }
        match (self.text.get_mut(at..new_end), digits.get(..len)) {
            (Some(dst), Some(src)) => dst.copy_from_slice(src),
            _ => self.drop_text(),
        }
    }

    /// Inserts the level `digits[..len]` at rank `r <= len < CHECKSUM_LEVELS`.
    #[inline]
    fn insert(&mut self, r: usize, digits: &[u8; LEVEL_DIGITS], len: usize) {
        let (at, end) = (self.start(r), self.start(self.len));
        if end + len > SIDE_TEXT_CAP || at > end || self.len >= CHECKSUM_LEVELS {
            return self.drop_text();
        }
        self.text.copy_within(at..end, at + len);
        match (self.text.get_mut(at..at + len), digits.get(..len)) {
            (Some(dst), Some(src)) => dst.copy_from_slice(src),
            _ => return self.drop_text(),
        }
        let mut k = self.len;
        while k > r {
            self.ends[k] = self.ends[k - 1] + len as u16;
            k -= 1;
        }
        self.ends[r] = (at + len) as u16;
        self.len += 1;
    }

    /// Removes level `r` (nothing if it is not in the text).
    #[inline]
    fn remove(&mut self, r: usize) {
        if r >= self.len {
            return;
        }
        let (at, old_end, end) = (
            self.start(r),
            usize::from(self.ends[r]),
            self.start(self.len),
        );
        if old_end > end || at > old_end {
            return self.drop_text();
        }
        self.text.copy_within(old_end..end, at);
        let gone = (old_end - at) as u16;
        for k in r + 1..self.len {
            self.ends[k - 1] = self.ends[k] - gone;
        }
        self.len -= 1;
    }

    /// Forgets the text (never, given the invariants): the next computation renders it in full.
    #[cold]
    fn drop_text(&mut self) {
        self.len = 0;
    }
}

/// A level's price from its sort key.
#[inline(always)]
fn price_of(key: i64, bid: bool) -> i64 {
    if bid {
        key.wrapping_neg()
    } else {
        key
    }
}

/// The checksum cache of one book; see the module docs.
#[derive(Clone)]
pub(crate) struct ChecksumCache {
    asks: SideTexts,
    bids: SideTexts,
    /// The CRC state after the asks' text.
    after_asks: crc32fast::Hasher,
    /// A new hasher, cloned instead of calling `Hasher::new`, which re-runs the CPU feature
    /// detection on every call.
    fresh: crc32fast::Hasher,
}

impl ChecksumCache {
    /// Allocates the cache (under 1 KiB, once, with the book). Its state is that of an empty book.
    pub(crate) fn new() -> Box<ChecksumCache> {
        Box::new(ChecksumCache {
            asks: SideTexts::EMPTY,
            bids: SideTexts::EMPTY,
            after_asks: crc32fast::Hasher::new(),
            fresh: crc32fast::Hasher::new(),
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
        if asks_from < CHECKSUM_LEVELS {
            self.asks.render(asks, asks_from);
            let mut h = self.fresh.clone();
            h.update(self.asks.text());
            self.after_asks = h;
        }
        if bids_from < CHECKSUM_LEVELS {
            self.bids.render(bids, bids_from);
        }
        let mut h = self.after_asks.clone();
        h.update(self.bids.text());
        h.finalize()
    }
}

impl core::fmt::Debug for ChecksumCache {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ChecksumCache")
            .field("ask_levels", &self.asks.len)
            .field("bid_levels", &self.bids.len)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::super::checksum::{book_checksum, checksum_text};
    use super::*;
    use kspin_api::{Price, Qty};

    #[test]
    fn eight_digits_reciprocals_are_exact_for_every_lane_value() {
        for x in 0u64..10_000 {
            assert_eq!((x * 10_486) >> 20, x / 100, "{x}");
            assert!(x * 10_486 < 1 << 32);
        }
        for x in 0u64..100 {
            assert_eq!((x * 103) >> 10, x / 10, "{x}");
            assert!(x * 103 < 1 << 16);
        }
        for n in [
            0u32, 1, 9, 10, 1234, 10_000, 12_345_678, 99_999_999, 40_000_001,
        ] {
            assert_eq!(eight_digits(n), *format!("{n:08}").as_bytes());
        }
    }

    #[test]
    fn digits_at_every_length_boundary() {
        // At every offset a level's quantity can start at, after a price written before it.
        let check = |v: u64| {
            let want = if v == 0 { String::new() } else { v.to_string() };
            for at in [0, 1, 7, 8, 12, DIGITS_MAX] {
                let mut dst = [b'x'; LEVEL_DIGITS];
                let len = write_digits(&mut dst, at, v);
                assert_eq!(&dst[at..at + len], want.as_bytes(), "{v} at {at}");
                assert!(dst[..at].iter().all(|&b| b == b'x'), "{v} at {at}");
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
        // A pseudo-random sweep over every magnitude (64-bit LCG, Knuth's MMIX constants).
        let mut x = 1u64;
        for i in 0..20_000u32 {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            check(x >> (i % 64));
        }
    }

    #[test]
    fn rendering_matches_the_reference_text() {
        let render = |price, qty| {
            let mut e = [0u8; LEVEL_DIGITS];
            let len = write_level(&mut e, 0, price, qty);
            e[..len].to_vec()
        };
        assert_eq!(render(452852, 100000), b"452852100000");
        let want = format!("{}{}", i64::MIN.unsigned_abs(), i64::MAX);
        assert_eq!(render(i64::MIN, i64::MAX), want.as_bytes());
        assert_eq!(render(0, 0), b"");
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
}
