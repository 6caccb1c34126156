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

use super::checksum::{CHECKSUM_LEVELS, DIGITS_MAX};
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

    /// Renders the level `(key; price, qty)` in place (a price new to the cache).
    #[inline]
    fn set(&mut self, key: i64, price: i64, qty: i64) {
        self.key = key;
        self.price_len = write_digits(&mut self.digits, 0, price.unsigned_abs()) as u8;
        self.set_qty(qty);
    }

    #[inline]
    fn set_qty(&mut self, qty: i64) {
        self.qty = qty;
        let at = usize::from(self.price_len);
        self.len = (at + write_digits(&mut self.digits, at, qty.unsigned_abs())) as u8;
    }
}

/// Writes the decimal digits of `v` at `dst[at..]` and returns their count (no leading zeros;
/// none for 0, as Kraken's "strip leading zeros" turns "0" into ""). Bytes from there up to
/// `at + 20` may be overwritten with garbage; `at` <= [`DIGITS_MAX`] leaves room for that (a
/// larger `at` writes nothing and returns 0). Independent of `checksum::write_digits`, which the
/// reference checksum uses: the property test compares two implementations.
///
/// `v` is cut into 8-digit chunks, each converted without a loop ([`eight_digits`]) and stored as
/// one 8-byte word: the first chunk shifted right past its leading zeros, the next ones at their
/// place from the end, each overwriting the previous one's zero tail.
#[inline]
fn write_digits(dst: &mut [u8; LEVEL_DIGITS], at: usize, v: u64) -> usize {
    const CHUNK: u64 = 100_000_000;
    let len = decimal_len(v);
    if at > DIGITS_MAX || len == 0 {
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

const _: () = assert!(DIGITS_MAX + 20 <= LEVEL_DIGITS);

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
    /// The pool slots in `slots[..len]`, one bit each: kept exact through every rendering, so a
    /// free slot is found with one bit scan.
    live: u32,
    text: [u8; SIDE_TEXT_CAP],
}

impl SideTexts {
    const EMPTY: SideTexts = SideTexts {
        pool: [LevelText::EMPTY; POOL],
        slots: [0; CHECKSUM_LEVELS],
        ends: [0; CHECKSUM_LEVELS],
        len: 0,
        live: 0,
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
        let levels = side.top(CHECKSUM_LEVELS);
        let n = levels.len().min(CHECKSUM_LEVELS);
        let old_len = self.len.min(CHECKSUM_LEVELS);
        let from = from.min(old_len).min(n);
        let SideTexts {
            pool,
            slots,
            ends,
            text,
            live,
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
            let (key, qty) = levels[r];
            // Both lists ascend by key: previous levels better than this one are gone.
            while j < old_len && pool[slot_index(slots[j])].key < key {
                *live &= !(1 << slot_index(slots[j]));
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
                let price = if bid { key.wrapping_neg() } else { key };
                render_new(pool, live, key, price, qty)
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
        // The previous levels not reached are gone (deleted, or pushed out of the top 10).
        for &slot in slots.get(j..old_len).unwrap_or(&[]) {
            *live &= !(1 << slot_index(slot));
        }
        debug_assert_eq!(
            *live,
            next[..n].iter().fold(0, |m, &s| m | 1 << slot_index(s))
        );
        *slots = next;
        self.len = n;
    }
}

/// A pool index from a slot number (masked: never out of bounds).
#[inline(always)]
fn slot_index(slot: u8) -> usize {
    usize::from(slot) & (POOL - 1)
}

/// Renders a level new to the cache into a pool slot not in `live` (the slots of the previous
/// levels still pending or kept, and of the new ones so far: at most 10 + 10 of the 32) and marks
/// it live. Out of line so that the merge loop, which mostly reuses entries, keeps its registers.
#[inline(never)]
fn render_new(pool: &mut [LevelText; POOL], live: &mut u32, key: i64, price: i64, qty: i64) -> u8 {
    let slot = (!*live).trailing_zeros() as u8;
    debug_assert!(usize::from(slot) < 2 * CHECKSUM_LEVELS);
    *live |= 1 << slot_index(slot);
    pool[slot_index(slot)].set(key, price, qty);
    slot
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
    /// Allocates the cache (about 5 KiB, once, with the book). Its state is that of an empty book.
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
    fn an_entry_is_one_cache_line() {
        assert_eq!(core::mem::size_of::<LevelText>(), 64);
        assert_eq!(core::mem::align_of::<LevelText>(), 64);
    }

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
        let render = |key, price, qty| {
            let mut e = LevelText::EMPTY;
            e.set(key, price, qty);
            e
        };
        let e = render(-452852, 452852, 100000);
        assert_eq!(&e.digits[..usize::from(e.len)], b"452852100000");
        let e = render(i64::MIN, i64::MIN, i64::MAX);
        let want = format!("{}{}", i64::MIN.unsigned_abs(), i64::MAX);
        assert_eq!(&e.digits[..usize::from(e.len)], want.as_bytes());
        assert_eq!(render(0, 0, 0).len, 0);
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
