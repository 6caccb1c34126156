//! The memoised Kraken v2 book checksum: the same CRC32 as [`book_checksum`], but each level's
//! digits are rendered once and reused while that level's price and quantity stay the same.
//!
//! Why: an update changes 1–3 of the 20 levels the checksum covers, and rendering all 40 integers
//! to decimal costs far more than the CRC itself (`bench/results/engine_path.md`). This cache
//! re-renders only the levels that changed.
//!
//! Owns, per side: a pool of rendered levels (one cache line each: sort key, quantity, digits of
//! price then quantity; entries never move), the pool slots of the top [`CHECKSUM_LEVELS`] levels
//! as of the previous computation (best first), that side's checksum text and where each level
//! ends in it; and the CRC state after the asks' text. A computation is told, per side, the lowest
//! rank that changed since the previous one (`BookSide::touched_from`):
//! - a side unchanged in its top 10 keeps its text as it is (and the asks their CRC state);
//! - otherwise the text is kept up to the first changed rank, and from there the side's levels and
//!   the previous list are walked together, both sorted best first (a merge), so a level that kept
//!   its price is found whatever its rank moved by; its quantity digits are re-rendered only if its
//!   quantity changed, and a new price is rendered in full into a free slot.
//!
//! Invariants: an entry's digits are always exactly the text of its own (key, qty); each side's
//! text is the rendering of the levels in its slot list. Given correct "lowest changed rank"
//! inputs (the book's sides track them on every mutation), the result equals [`book_checksum`]
//! for any state and any history (a property test checks it over random histories). The pool is
//! only a memo: a level is reused only when its entry's key equals the level's, so a poor choice
//! of free slot costs re-rendering, never a wrong text. Memory is
//! allocated once with the book; computing never allocates and never panics.
//!
//! [`book_checksum`]: super::checksum::book_checksum

use super::checksum::{CHECKSUM_LEVELS, DIGITS_MAX, DIGIT_PAIRS};
use super::side::{BookSide, SideKind};

/// Digit bytes per entry: price and quantity, each at most [`DIGITS_MAX`] digits, rounded up so
/// that one entry is 64 bytes.
const LEVEL_DIGITS: usize = 40;
const _: () = assert!(LEVEL_DIGITS >= 2 * DIGITS_MAX);

/// One side's text capacity: 10 levels × 38 digits, plus one whole entry of slack so that every
/// entry is copied with one fixed-size copy (its tail is overwritten by the next one).
const SIDE_TEXT_CAP: usize = CHECKSUM_LEVELS * 2 * DIGITS_MAX + LEVEL_DIGITS;

/// The rendered text of one level. 64 bytes, the cache-line size of x86-64 and of most AArch64
/// cores (Intel SDM vol. 3A §12.1; Arm Cortex-A TRMs), so one lookup touches one line.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct LevelText {
    /// The side's sort key (ascending = best first; see `BookSide`).
    key: i64,
    qty: i64,
    /// Price digits then quantity digits; bytes past `len` are garbage.
    digits: [u8; LEVEL_DIGITS],
    /// Digits of the price, then of price and quantity together.
    price_len: u8,
    len: u8,
}

impl LevelText {
    const EMPTY: LevelText = LevelText {
        key: 0,
        qty: 0,
        digits: [0; LEVEL_DIGITS],
        price_len: 0,
        len: 0,
    };

    #[cold]
    fn render(key: i64, price: i64, qty: i64) -> LevelText {
        let mut e = LevelText {
            key,
            ..LevelText::EMPTY
        };
        let (digits, len) = digits_of(price.unsigned_abs());
        e.digits[..DIGITS_BUF].copy_from_slice(&digits);
        e.price_len = len as u8;
        e.set_qty(qty);
        e
    }

    #[inline]
    fn set_qty(&mut self, qty: i64) {
        self.qty = qty;
        let (digits, len) = digits_of(qty.unsigned_abs());
        let at = usize::from(self.price_len);
        // A fixed-size copy: `price_len` <= 19 and 19 + 20 < 40, so it always fits.
        if let Some(dst) = self.digits.get_mut(at..at + DIGITS_BUF) {
            dst.copy_from_slice(&digits);
        }
        self.len = (at + len) as u8;
    }
}

/// Bytes of the buffer [`digits_of`] returns: 20 hold any `u64`.
const DIGITS_BUF: usize = 20;
const _: () = assert!(DIGITS_BUF + DIGITS_MAX <= LEVEL_DIGITS);

/// The decimal digits of `v`, left-aligned, and their count (no leading zeros; none for 0, as
/// Kraken's "strip leading zeros" turns "0" into ""). Returned in a fixed buffer so that the
/// caller copies it with one fixed-size copy. Independent of `checksum::write_digits`, which the
/// reference checksum uses: the property test compares two implementations.
#[inline]
fn digits_of(v: u64) -> ([u8; DIGITS_BUF], usize) {
    let mut out = [0u8; DIGITS_BUF];
    let len = decimal_len(v);
    let mut i = len;
    let mut n = v;
    while n >= 100 && i >= 2 {
        let pair = (n % 100) as usize * 2;
        n /= 100;
        i -= 2;
        out[i] = DIGIT_PAIRS[pair];
        out[i + 1] = DIGIT_PAIRS[pair + 1];
    }
    if n >= 10 && i >= 2 {
        let pair = n as usize * 2;
        out[i - 2] = DIGIT_PAIRS[pair];
        out[i - 1] = DIGIT_PAIRS[pair + 1];
    } else if n > 0 && i >= 1 {
        out[i - 1] = b'0' + n as u8;
    }
    (out, len)
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

/// Entries per side: the previous top 10 plus room for the new top 10 while it is built, rounded
/// up to a power of two so that a slot index is masked instead of bounds-checked.
const POOL: usize = 32;
const _: () = assert!(POOL.is_power_of_two() && POOL >= 2 * CHECKSUM_LEVELS);

/// One side's rendered levels and text; see the module docs.
#[derive(Clone)]
struct SideTexts {
    pool: [LevelText; POOL],
    /// Slots of the rendered levels, best first; `slots[..len]` is meaningful.
    slots: [u8; CHECKSUM_LEVELS],
    /// `ends[r]`: the text length after level `r`.
    ends: [u16; CHECKSUM_LEVELS],
    len: usize,
    text: [u8; SIDE_TEXT_CAP],
}

impl SideTexts {
    const EMPTY: SideTexts = SideTexts {
        pool: [LevelText::EMPTY; POOL],
        slots: [0; CHECKSUM_LEVELS],
        ends: [0; CHECKSUM_LEVELS],
        len: 0,
        text: [0; SIDE_TEXT_CAP],
    };

    /// The side's current checksum text.
    #[inline]
    fn text(&self) -> &[u8] {
        let end = match self.len.checked_sub(1) {
            Some(last) => usize::from(self.ends[last.min(CHECKSUM_LEVELS - 1)]),
            None => 0,
        };
        self.text.get(..end).unwrap_or(&[])
    }

    /// Re-renders the side from rank `from` (the lowest rank changed since the last call; ranks
    /// above it are kept as they are).
    #[inline]
    fn render(&mut self, side: &BookSide, from: usize) {
        let (keys, qtys) = side.top(CHECKSUM_LEVELS);
        let n = keys.len().min(qtys.len()).min(CHECKSUM_LEVELS);
        let old_len = self.len.min(CHECKSUM_LEVELS);
        let from = from.min(old_len).min(n);
        let SideTexts {
            pool,
            slots,
            ends,
            text,
            ..
        } = self;
        let mut at = match from.checked_sub(1) {
            Some(r) => usize::from(ends[r]),
            None => 0,
        };
        let bid = side.kind() == SideKind::Bid;
        let mut next = *slots;
        let mut j = from;
        for r in from..n {
            let (key, qty) = (keys[r], qtys[r]);
            // Both lists ascend by key: previous levels better than this one are gone.
            while j < old_len && pool[slot_index(slots[j])].key < key {
                j += 1;
            }
            let slot = if j < old_len && pool[slot_index(slots[j])].key == key {
                let slot = slots[j];
                j += 1;
                let e = &mut pool[slot_index(slot)];
                if e.qty != qty {
                    e.set_qty(qty);
                }
                slot
            } else {
                let slot = free_slot(&slots[..old_len], from, j, &next[from..r]);
                let price = if bid { key.wrapping_neg() } else { key };
                pool[slot_index(slot)] = LevelText::render(key, price, qty);
                slot
            };
            next[r] = slot;
            let e = &pool[slot_index(slot)];
            // One fixed-size copy; the capacity leaves a whole entry of room after the last level.
            if let Some(dst) = text.get_mut(at..at + LEVEL_DIGITS) {
                dst.copy_from_slice(&e.digits);
            }
            at += usize::from(e.len);
            ends[r] = at as u16;
        }
        *slots = next;
        self.len = n;
    }
}

/// A pool index from a slot number (masked: never out of bounds).
#[inline(always)]
fn slot_index(slot: u8) -> usize {
    usize::from(slot) & (POOL - 1)
}

/// A pool slot that holds none of the entries still needed during a rendering: the kept prefix
/// `prev[..from]`, the previous levels not yet passed `prev[j..]`, and the new levels so far.
/// At most 10 + 9 of the 32 are taken, so one below 20 is always free.
#[cold]
fn free_slot(prev: &[u8], from: usize, j: usize, new: &[u8]) -> u8 {
    let kept = prev.get(..from).unwrap_or(&[]);
    let pending = prev.get(j..).unwrap_or(&[]);
    let used = kept
        .iter()
        .chain(pending)
        .chain(new)
        .fold(0u32, |m, &s| m | 1 << slot_index(s));
    let slot = (!used).trailing_zeros() as u8;
    debug_assert!(usize::from(slot) < 2 * CHECKSUM_LEVELS);
    slot
}

/// The checksum cache of one book; see the module docs.
#[derive(Clone)]
pub(crate) struct ChecksumCache {
    asks: SideTexts,
    bids: SideTexts,
    /// The CRC state after the asks' text.
    after_asks: crc32fast::Hasher,
}

impl ChecksumCache {
    /// Allocates the cache (about 5 KiB, once, with the book). Its state is that of an empty book.
    pub(crate) fn new() -> Box<ChecksumCache> {
        Box::new(ChecksumCache {
            asks: SideTexts::EMPTY,
            bids: SideTexts::EMPTY,
            after_asks: crc32fast::Hasher::new(),
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
            let mut h = crc32fast::Hasher::new();
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
    fn an_entry_is_one_cache_line() {
        assert_eq!(core::mem::size_of::<LevelText>(), 64);
        assert_eq!(core::mem::align_of::<LevelText>(), 64);
    }

    #[test]
    fn digits_of_every_length_boundary() {
        let mut p = 1u64;
        loop {
            for v in [p - 1, p, p + 1] {
                let (d, len) = digits_of(v);
                let want = if v == 0 { String::new() } else { v.to_string() };
                assert_eq!(&d[..len], want.as_bytes(), "{v}");
            }
            match p.checked_mul(10) {
                Some(next) => p = next,
                None => break,
            }
        }
        let (d, len) = digits_of(u64::MAX);
        assert_eq!(&d[..len], u64::MAX.to_string().as_bytes());
    }

    #[test]
    fn rendering_matches_the_reference_text() {
        let e = LevelText::render(-452852, 452852, 100000);
        assert_eq!(&e.digits[..usize::from(e.len)], b"452852100000");
        let e = LevelText::render(i64::MIN, i64::MIN, i64::MAX);
        let want = format!("{}{}", i64::MIN.unsigned_abs(), i64::MAX);
        assert_eq!(&e.digits[..usize::from(e.len)], want.as_bytes());
        assert_eq!(LevelText::render(0, 0, 0).len, 0);
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
