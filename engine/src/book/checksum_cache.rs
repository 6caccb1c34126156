//! The memoised Kraken v2 book checksum: the same CRC32 as [`book_checksum`], but each level's
//! digits are rendered once and reused while that level's price and quantity stay the same.
//!
//! Why: an update changes 1–3 of the 20 levels the checksum covers, yet rendering all 40 integers
//! to decimal took ~475 ns per message against ~14 ns for the CRC itself (measured 2026-11-22,
//! `bench/results/engine_path.md`). This cache re-renders only the levels that changed.
//!
//! Owns, per side, the rendered text of the top [`CHECKSUM_LEVELS`] levels as of the previous
//! computation, in two buffers used alternately (one read, one written). Each entry is one cache
//! line: sort key, quantity, and the digits of price then quantity. A new computation walks the
//! side's top levels and the previous entries together, both sorted best first (a merge), so a
//! level that kept its price is found whatever its rank moved by; its quantity digits are
//! re-rendered only if its quantity changed, and a new price is rendered in full.
//!
//! Invariants: an entry's digits are always exactly the text of its own (key, qty), so reusing one
//! can never produce a different text than rendering afresh: the result equals
//! [`book_checksum`] for any state and any history (a property test checks it). Memory is
//! allocated once with the book; computing never allocates and never panics.
//!
//! [`book_checksum`]: super::checksum::book_checksum

use super::checksum::{write_digits, CHECKSUM_LEVELS, DIGITS_MAX};
use super::side::{BookSide, SideKind};

/// Digit bytes per entry: price and quantity, each at most [`DIGITS_MAX`] digits, rounded up so
/// that one entry is 64 bytes.
const LEVEL_DIGITS: usize = 40;
const _: () = assert!(LEVEL_DIGITS >= 2 * DIGITS_MAX);

/// Checksum text capacity: 2 sides × 10 levels × 38 digits, plus one whole entry of slack so that
/// every entry is copied with one fixed-size copy (its tail is overwritten by the next one).
const TEXT_CAP: usize = 2 * CHECKSUM_LEVELS * 2 * DIGITS_MAX + LEVEL_DIGITS;

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
        let price_len = write_digits(&mut e.digits, 0, price.unsigned_abs());
        e.price_len = price_len as u8;
        e.set_qty(qty);
        e
    }

    #[inline]
    fn set_qty(&mut self, qty: i64) {
        self.qty = qty;
        let end = write_digits(
            &mut self.digits,
            usize::from(self.price_len),
            qty.unsigned_abs(),
        );
        self.len = end as u8;
    }
}

/// One side's previous rendering, double-buffered.
#[derive(Clone)]
struct SideTexts {
    bufs: [[LevelText; CHECKSUM_LEVELS]; 2],
    lens: [usize; 2],
    /// Which buffer holds the previous rendering.
    current: usize,
}

impl SideTexts {
    const EMPTY: SideTexts = SideTexts {
        bufs: [[LevelText::EMPTY; CHECKSUM_LEVELS]; 2],
        lens: [0; 2],
        current: 0,
    };

    /// Appends the side's top levels to `text` from `at`, reusing previous entries; returns the
    /// new end. The entries written become the previous rendering for the next call.
    #[inline]
    fn render(&mut self, side: &BookSide, text: &mut [u8; TEXT_CAP], mut at: usize) -> usize {
        let (keys, qtys) = side.top(CHECKSUM_LEVELS);
        let [first, second] = &mut self.bufs;
        let (prev, next) = if self.current == 0 {
            (&*first, second)
        } else {
            (&*second, first)
        };
        let prev = &prev[..self.lens[self.current].min(CHECKSUM_LEVELS)];
        let bid = side.kind() == SideKind::Bid;
        let mut j = 0;
        for ((slot, &key), &qty) in next.iter_mut().zip(keys).zip(qtys) {
            // Both lists ascend by key: skip previous levels better than this one (gone now).
            while j < prev.len() && prev[j].key < key {
                j += 1;
            }
            *slot = match prev.get(j) {
                Some(old) if old.key == key => {
                    j += 1;
                    let mut e = *old;
                    if e.qty != qty {
                        e.set_qty(qty);
                    }
                    e
                }
                _ => {
                    let price = if bid { key.wrapping_neg() } else { key };
                    LevelText::render(key, price, qty)
                }
            };
            // One fixed-size copy; `TEXT_CAP` leaves a whole entry of room after the last level.
            if let Some(dst) = text.get_mut(at..at + LEVEL_DIGITS) {
                dst.copy_from_slice(&slot.digits);
            }
            at += usize::from(slot.len);
        }
        self.current ^= 1;
        self.lens[self.current] = keys.len();
        at
    }
}

/// The checksum cache of one book; see the module docs.
#[derive(Clone)]
pub(crate) struct ChecksumCache {
    asks: SideTexts,
    bids: SideTexts,
}

impl ChecksumCache {
    /// Allocates the cache (2.5 KiB, once, with the book).
    pub(crate) fn new() -> Box<ChecksumCache> {
        Box::new(ChecksumCache {
            asks: SideTexts::EMPTY,
            bids: SideTexts::EMPTY,
        })
    }

    /// The checksum of the book with these sides; equal to `book_checksum(bids, asks)`.
    #[inline]
    pub(crate) fn checksum(&mut self, bids: &BookSide, asks: &BookSide) -> u32 {
        let mut text = [0u8; TEXT_CAP];
        let at = self.asks.render(asks, &mut text, 0);
        let end = self.bids.render(bids, &mut text, at);
        crc32fast::hash(text.get(..end).unwrap_or(&[]))
    }
}

impl core::fmt::Debug for ChecksumCache {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ChecksumCache")
            .field("ask_levels", &self.asks.lens[self.asks.current])
            .field("bid_levels", &self.bids.lens[self.bids.current])
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
        let check = |cache: &mut ChecksumCache, bids: &BookSide, asks: &BookSide| {
            assert_eq!(
                cache.checksum(bids, asks),
                book_checksum(bids, asks),
                "{}",
                checksum_text(bids, asks)
            );
        };
        check(&mut cache, &bids, &asks);
        check(&mut cache, &bids, &asks);
        // New best levels shift every rank down; deletes shift them up; qty changes in place.
        bids.apply(Price(1000), Qty(7));
        asks.apply(Price(1003), Qty(0));
        check(&mut cache, &bids, &asks);
        asks.apply(Price(1001), Qty(123_456_789));
        bids.apply(Price(995), Qty(0));
        bids.apply(Price(994), Qty(0));
        bids.apply(Price(993), Qty(0));
        check(&mut cache, &bids, &asks);
        bids.clear();
        check(&mut cache, &bids, &asks);
        asks.apply(Price(1), Qty(1));
        check(&mut cache, &bids, &asks);
    }
}
