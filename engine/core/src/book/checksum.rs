//! Kraken v2 book checksum: CRC32 over the top 10 asks (ascending) then the top 10 bids
//! (descending), each level written as the digits of its price then of its quantity at the
//! pair's precision, decimal point removed and leading zeros stripped.
//!
//! Source: Kraken "Spot WS book v2" checksum guide (docs.kraken.com/api/docs/guides/spot-ws-book-v2),
//! summarised in PROTOCOL.md §2.1. Because prices and quantities are stored as mantissas at the
//! pair's precision, "digits without point and leading zeros" is exactly the decimal text of the
//! mantissa. The string is built in a stack buffer and hashed with one `crc32fast` call: no
//! allocation, no formatting machinery, no panic for any stored value.

use super::side::BookSide;

/// Levels per side covered by the checksum, whatever the subscribed depth (Kraken docs: "top 10
/// price levels per side regardless of subscription depth").
pub const CHECKSUM_LEVELS: usize = 10;

/// Most decimal digits of an `i64` magnitude (`i64::MIN.unsigned_abs()` = 9223372036854775808).
pub(crate) const DIGITS_MAX: usize = 19;

/// Upper bound of the checksum text: 20 levels × (19 + 19) digits of two i64 magnitudes.
const MAX_TEXT: usize = 2 * CHECKSUM_LEVELS * 2 * DIGITS_MAX;

/// Two-digit lookup table for writing decimal digits two at a time.
pub(crate) const DIGIT_PAIRS: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// Writes the decimal digits of `v` (no sign, no leading zeros; 0 writes nothing, as Kraken's
/// "strip leading zeros" turns "0" into "") at `buf[at..]`, returning the new end. The caller
/// leaves room (20 bytes hold any u64); without room nothing is written and `at` is returned.
#[inline]
fn write_digits(buf: &mut [u8], at: usize, v: u64) -> usize {
    if v == 0 {
        return at;
    }
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    let mut n = v;
    while n >= 100 {
        let pair = (n % 100) as usize * 2;
        n /= 100;
        i -= 2;
        tmp[i..i + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    }
    if n >= 10 {
        let pair = n as usize * 2;
        i -= 2;
        tmp[i..i + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    } else {
        i -= 1;
        tmp[i] = b'0' + n as u8;
    }
    let digits = &tmp[i..];
    let end = at + digits.len();
    debug_assert!(end <= buf.len(), "no room for {v} at {at}");
    match buf.get_mut(at..end) {
        Some(dst) => {
            dst.copy_from_slice(digits);
            end
        }
        None => at,
    }
}

fn push_side(buf: &mut [u8; MAX_TEXT], mut at: usize, side: &BookSide) -> usize {
    for rank in 0..side.len().min(CHECKSUM_LEVELS) {
        if let Some((price, qty)) = side.level(rank) {
            at = write_digits(buf, at, price.0.unsigned_abs());
            at = write_digits(buf, at, qty.0.unsigned_abs());
        }
    }
    at
}

/// The Kraken v2 checksum of a book given its two sides.
pub fn book_checksum(bids: &BookSide, asks: &BookSide) -> u32 {
    let mut buf = [0u8; MAX_TEXT];
    let at = push_side(&mut buf, 0, asks);
    let end = push_side(&mut buf, at, bids);
    crc32fast::hash(&buf[..end])
}

/// The level3 (order-by-order) variant: for each of the top 10 *price levels* per side, every
/// order in queue order contributes its price then its quantity (Kraken "Spot WS L3 v2" guide,
/// PROTOCOL.md §2.2). Each side is given best first, orders of one level in queue order, as
/// (price mantissa, qty mantissa). No allocation.
pub fn order_checksum<A, B>(asks: A, bids: B) -> u32
where
    A: IntoIterator<Item = (u64, u64)>,
    B: IntoIterator<Item = (u64, u64)>,
{
    let mut hasher = crc32fast::Hasher::new();
    hash_orders(&mut hasher, asks);
    hash_orders(&mut hasher, bids);
    hasher.finalize()
}

fn hash_orders(hasher: &mut crc32fast::Hasher, orders: impl IntoIterator<Item = (u64, u64)>) {
    let mut buf = [0u8; MAX_TEXT];
    let mut levels = 0;
    let mut last = None;
    for (price, qty) in orders {
        if last != Some(price) {
            levels += 1;
            last = Some(price);
            if levels > CHECKSUM_LEVELS {
                break;
            }
        }
        let end = write_digits(&mut buf, 0, price);
        let end = write_digits(&mut buf, end, qty);
        hasher.update(&buf[..end]);
    }
}

/// The checksum text itself (tests and diagnostics; allocates).
pub fn checksum_text(bids: &BookSide, asks: &BookSide) -> String {
    let mut buf = [0u8; MAX_TEXT];
    let at = push_side(&mut buf, 0, asks);
    let end = push_side(&mut buf, at, bids);
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::super::side::SideKind;
    use super::*;
    use kspin_api::{Price, Qty};

    #[test]
    fn digits_match_kraken_examples() {
        let mut buf = [0u8; MAX_TEXT];
        let end = write_digits(&mut buf, 0, 452852);
        assert_eq!(&buf[..end], b"452852");
        let end = write_digits(&mut buf, 0, 100000); // "0.00100000" at 8 decimals
        assert_eq!(&buf[..end], b"100000");
        let end = write_digits(&mut buf, 0, u64::MAX);
        assert_eq!(&buf[..end], b"18446744073709551615");
        assert_eq!(write_digits(&mut buf, 3, 0), 3);
        for v in [1u64, 9, 10, 99, 100, 101, 999, 1000, 12345, 1234567890123] {
            let end = write_digits(&mut buf, 0, v);
            assert_eq!(&buf[..end], v.to_string().as_bytes());
        }
        // Every power of ten and its neighbours (the digit-count boundaries).
        let mut p = 1u64;
        loop {
            for v in [p - 1, p, p + 1] {
                let end = write_digits(&mut buf, 5, v);
                let want = if v == 0 { String::new() } else { v.to_string() };
                assert_eq!(&buf[5..end], want.as_bytes(), "{v}");
            }
            match p.checked_mul(10) {
                Some(next) => p = next,
                None => break,
            }
        }
    }

    #[test]
    fn empty_book_is_crc_of_empty_text() {
        let bids = BookSide::new(SideKind::Bid, 10);
        let asks = BookSide::new(SideKind::Ask, 10);
        assert_eq!(book_checksum(&bids, &asks), crc32fast::hash(b""));
    }

    #[test]
    fn only_top_ten_levels_count() {
        let mut bids = BookSide::new(SideKind::Bid, 30);
        let mut asks = BookSide::new(SideKind::Ask, 30);
        for p in 1..=20 {
            bids.apply(Price(p), Qty(1));
            asks.apply(Price(100 + p), Qty(2));
        }
        let text = checksum_text(&bids, &asks);
        let want: String = (101..=110)
            .map(|p| format!("{p}2"))
            .chain((11..=20).rev().map(|p| format!("{p}1")))
            .collect();
        assert_eq!(text, want);
        assert_eq!(
            book_checksum(&bids, &asks),
            crc32fast::hash(want.as_bytes())
        );
    }
}
