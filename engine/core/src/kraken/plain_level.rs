//! The book scanner's fastest path: one level in Kraken's exact shape, `{"price":P,"qty":Q}`,
//! with `P` and `Q` short plain decimals (at most 7 integer digits and 8 fraction digits, no
//! sign, no exponent, no whitespace), each read as one or two 8-byte words (SWAR,
//! [`digit_run`], [`fold_top`]) with no loop and no per-digit step: a token that ends
//! inside its first word (Kraken's prices) is folded from that word alone.
//!
//! Owns [`plain_level`] and [`price_qty`] (also read by the trade reader, `plain_trade.rs`), the
//! [`plain_decimal`] they read, and [`keyed_plain_unsigned`] for the book checksum and the trade
//! id (its digits as [`plain_unsigned`] reads them, the byte after them left to the caller).
//! Invariants: they either return exactly what the cursor's general `Cur::decimal` (for
//! `plain_unsigned`, `Cur::unsigned`) returns for the same bytes (mantissa = all digits, scale =
//! fraction digits) and where the token ends, or decline with `None`, and the caller then runs
//! the general path from the same position. They decline on a sign, an exponent, a leading zero
//! before other integer digits, a dot without digits after it, longer digit runs, and any word
//! that would run past the frame. Property tests below hold them equal to the cursor's methods
//! and `Decimal::parse`. They never allocate, never panic (all indexing is checked) and never
//! read outside the slice.

use kspin_api::Decimal;

use super::cursor::{digit_run, fold_top, POW10};
use super::message::Level;

/// The bytes from a level's start that [`plain_level`] reads at most: `{"price":` (9), a price
/// of at most 7 integer digits, a dot and the 8-byte word after it (to byte 25), `,"qty":` (7),
/// then the same for the quantity (to byte 48), and the closing brace's byte.
const LEVEL_WINDOW: usize = 49;

/// `{"price":P,"qty":Q}` at `i` (see the module docs): the level and the index just after it.
/// [`price_qty`] with a level's braces.
#[inline(always)]
pub(super) fn plain_level(b: &[u8], i: usize) -> Option<(Level, usize)> {
    price_qty::<b'{', b'}'>(b, i)
}

/// `OPEN"price":P,"qty":QCLOSE` at `i`, `P` and `Q` as in a level (see the module docs): a book
/// level (`{`, `}`), or a trade's price and quantity between the `,` before `"price"` and the `,`
/// after the quantity. The two decimals (as a [`Level`]) and the index just after `CLOSE`.
///
/// Every byte it reads is in the [`LEVEL_WINDOW`] bytes at `i`, taken as one array with one
/// bounds check, so the reads inside have constant bounds the compiler can check against the
/// digit counts once rather than against the frame at every word. A level closer than that to
/// the end of the frame is declined (the general path reads it).
#[inline(always)]
pub(super) fn price_qty<const OPEN: u8, const CLOSE: u8>(
    b: &[u8],
    i: usize,
) -> Option<(Level, usize)> {
    let w: &[u8; LEVEL_WINDOW] = b.get(i..)?.get(..LEVEL_WINDOW)?.try_into().ok()?;
    let mut key = *br#"{"price":"#;
    key[0] = OPEN;
    if w.get(..9)? != key {
        return None;
    }
    // Each decimal's end is left unchecked: the byte there must be the `,` of `,"qty":` or
    // `CLOSE` (a `}` or `,`), neither a digit nor an exponent.
    const { assert!(!CLOSE.is_ascii_digit() && CLOSE | 0x20 != b'e') };
    let (price, j) = plain_decimal(w, 9)?;
    // `,"qty":` is 7 bytes: compared as the low 7 of the word at `j` (one load, one compare).
    const QTY_KEY: u64 = u64::from_le_bytes(*b",\"qty\":\0");
    if word(w, j)? & 0x00FF_FFFF_FFFF_FFFF != QTY_KEY {
        return None;
    }
    let (qty, k) = match plain_qty8(w, j + 7) {
        Some(q) => q,
        None => plain_decimal(w, j + 7)?,
    };
    if *w.get(k)? != CLOSE {
        return None;
    }
    Some((Level { price, qty }, i + k + 1))
}

/// The 8 bytes at `at` as a little-endian word (the first byte least significant), if the frame
/// has them.
#[inline(always)]
fn word(b: &[u8], at: usize) -> Option<u64> {
    let mut w = [0u8; 8];
    w.copy_from_slice(b.get(at..at + 8)?);
    Some(u64::from_le_bytes(w))
}

/// A plain decimal starting at `at`: its value and the index just after it, where the caller
/// must find a byte that is neither a digit nor `e`/`E` (a `,` or `}` it compares anyway):
/// this does not look at that byte.
///
/// The integer digits are the leading digits of the word at `at` (fewer than 8, so the byte
/// after them is in the word too). A token whose end lies inside that word (a price such as
/// `67226.4` or `0.51235`: at most 6 digits) is folded from the word alone with the dot taken
/// out ([`stops`] finds both the dot and the end); a longer fraction is read from the word just
/// past the dot.
#[inline(always)]
fn plain_decimal(b: &[u8], at: usize) -> Option<(Decimal, usize)> {
    let w = word(b, at)?;
    let stops = stops(w);
    let int_len = stops.trailing_zeros() / 8;
    if int_len == 0 || int_len == 8 || (int_len > 1 && w as u8 == b'0') {
        return None;
    }
    // Each digit byte's value is its low nibble.
    let digits = w & 0x0F0F_0F0F_0F0F_0F0F;
    // The byte after the integer digits, inside the word (`int_len < 8`).
    let after_int = (w >> (8 * int_len)) as u8;
    if after_int != b'.' {
        let mantissa = fold_top(digits, int_len);
        return Some((
            Decimal {
                mantissa: mantissa as i64,
                scale: 0,
            },
            at + int_len as usize,
        ));
    }
    // The stop after the dot (`stops` has the dot's bit, so it is not zero).
    let later = stops & (stops - 1);
    if later != 0 {
        // The token ends inside the word, at `end`; `int_len` is at most 6 (the dot and a
        // fraction digit come after the integer digits, and `end` is at most 7).
        let end = later.trailing_zeros() / 8;
        let frac_len = end - int_len - 1;
        if frac_len == 0 {
            return None;
        }
        // The integer digits moved up one byte, onto the dot: the `end` bytes from 0 then hold a
        // zero and every digit of the token in order.
        let int_bytes = !(u64::MAX << (8 * int_len));
        let joined = (digits & int_bytes) << 8 | digits & !int_bytes << 8;
        return Some((
            Decimal {
                mantissa: fold_top(joined, end) as i64,
                scale: frac_len as u8,
            },
            at + end as usize,
        ));
    }
    let mut end = at + int_len as usize;
    let (frac_len, frac_digits) = digit_run(word(b, end + 1)?);
    if frac_len == 0 {
        return None;
    }
    end += 1 + frac_len as usize;
    // A one-digit integer part (most quantities) is its digit's value, without the fold.
    let int_value = if int_len == 1 {
        digits & 0xF
    } else {
        fold_top(digits, int_len)
    };
    // Eight fraction digits (Kraken's quantities): the fold's shift and the power of ten are
    // constants.
    let mantissa = if frac_len == 8 {
        int_value * 100_000_000 + fold_top(frac_digits, 8)
    } else {
        int_value * POW10[frac_len as usize] as u64 + fold_top(frac_digits, frac_len)
    };
    Some((
        Decimal {
            mantissa: mantissa as i64,
            scale: frac_len as u8,
        },
        end,
    ))
}

/// [`plain_decimal`] for Kraken's quantity shape only, tried first: 1 to 7 integer digits (no
/// leading zero before another), a dot and exactly 8 fraction digits, the byte after them left
/// to the caller as in [`plain_decimal`]. Anything else is `None` and the caller runs
/// [`plain_decimal`], which reads that shape the same way (a property test holds the two
/// equal).
///
/// The dot is the first stop of the word at `at`; the word just past it must be all digits,
/// which also rules out a second stop in the first word (it would lie inside that word), so
/// only those two words are looked at, with no fraction length to find.
#[inline(always)]
fn plain_qty8(b: &[u8], at: usize) -> Option<(Decimal, usize)> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let w = word(b, at)?;
    let int_len = stops(w).trailing_zeros() / 8;
    if int_len == 0 || int_len == 8 || (int_len > 1 && w as u8 == b'0') {
        return None;
    }
    if (w >> (8 * int_len)) as u8 != b'.' {
        return None;
    }
    let frac = word(b, at + int_len as usize + 1)?;
    if stops(frac) != 0 {
        return None;
    }
    let digits = w & (ONES * 0x0F);
    // A one-digit integer part (most quantities) is its digit's value, without the fold.
    let int_value = if int_len == 1 {
        digits & 0xF
    } else {
        fold_top(digits, int_len)
    };
    Some((
        Decimal {
            mantissa: (int_value * 100_000_000 + fold_top(frac & (ONES * 0x0F), 8)) as i64,
            scale: 8,
        },
        at + int_len as usize + 9,
    ))
}

/// A word with the top bit set in every byte of `w` that is not an ASCII digit, up to and
/// including the second such byte when the first is ASCII; the other bits are meaningless.
///
/// Per byte `x`: `x + (0x80 − 0x30)` reaches the top bit exactly when `x ≥ 0x30` (for
/// `x < 0xb0`; from there it carries out and its byte is below 0x80), and `x + (0x7f − 0x39)`
/// exactly when `0x39 < x < 0xba`: between them every byte that is not a digit, the ones from
/// 0x80 up included. An ASCII byte carries out of neither sum, so the bytes up to the first
/// byte from 0x80 up (itself marked) are all judged exactly. Unlike [`digit_run`]'s
/// subtraction, a `.` below `'0'` borrows nothing from the fraction digits after it.
#[inline(always)]
fn stops(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let below = !w.wrapping_add(ONES * (0x80 - 0x30));
    let above = w.wrapping_add(ONES * (0x7f - 0x39));
    (below | above) & HIGH
}

/// `key` at `at`, then a plain unsigned integer ([`plain_unsigned`]), read in one window of `b`
/// (one bounds check): the value and the position after it. `None` when the window does not
/// hold them (near the end of `b`, another key, a token `plain_unsigned` declines); the caller
/// then reads the parts one by one.
///
/// Unlike [`plain_unsigned`], it does not look at the byte at the returned end: the caller must
/// find one there that cannot continue a number (not `.`, `e` or `E`); both callers compare
/// the `,` of `,"timestamp":` there.
#[inline(always)]
pub(super) fn keyed_plain_unsigned<const K: usize>(
    b: &[u8],
    at: usize,
    key: &[u8; K],
) -> Option<(u64, usize)> {
    // The frame from `at` on, then its first `K + 16` bytes: two compares, no overflow test
    // of `at + K + 16`.
    let w = b.get(at..)?.get(..K + 16)?;
    if !w.starts_with(key) {
        return None;
    }
    let (v, end) = plain_digits(w, K)?;
    Some((v, at + end))
}

/// A plain unsigned integer of 1 to 15 digits starting at `at` (Kraken's checksums have at most
/// 10): its value and the index just after it. The digits are the leading digits of the word at
/// `at` and, when all 8 of those are digits, of the word after it (fewer than 8 there, so the
/// byte after them is in that word). The scanner reads these digits through
/// [`keyed_plain_unsigned`]; this checked form is the one the property tests hold to
/// `Cur::unsigned`.
#[cfg(test)]
fn plain_unsigned(b: &[u8], at: usize) -> Option<(u64, usize)> {
    let (value, end) = plain_digits(b, at)?;
    if matches!(b.get(end)?, b'.' | b'e' | b'E') {
        return None;
    }
    Some((value, end))
}

/// [`plain_unsigned`] without its look at the byte after the digits (which must exist, but may
/// be a `.` or an exponent): the caller checks that byte itself.
#[inline(always)]
fn plain_digits(b: &[u8], at: usize) -> Option<(u64, usize)> {
    let first = word(b, at)?;
    let (n, digits) = digit_run(first);
    if n == 0 || (n > 1 && first as u8 == b'0') {
        return None;
    }
    let (value, end) = if n < 8 {
        (fold_top(digits, n), at + n as usize)
    } else {
        // Eight digits: folded with a constant shift.
        let v = fold_top(digits, 8);
        let (m, next) = digit_run(word(b, at + 8)?);
        // Kraken's checksums have 9 or 10 digits (its trade ids about as many): the one or two
        // after the first eight are combined directly, without the fold or a table.
        let value = match m {
            0 => v,
            1 => v * 10 + (next & 0xFF),
            2 => v * 100 + (next & 0xFF) * 10 + (next >> 8 & 0xFF),
            8 => return None,
            _ => v * POW10[m as usize] as u64 + fold_top(next, m),
        };
        (value, at + 8 + m as usize)
    };
    b.get(end)?;
    Some((value, end))
}

#[cfg(test)]
mod tests {
    use super::super::cursor::Cur;
    use super::*;
    use proptest::prelude::*;

    /// `plain_decimal` as its callers use it: accepted only where the byte at its end is one
    /// they compare, neither a digit nor an exponent.
    fn delimited(b: &[u8], at: usize) -> Option<(Decimal, usize)> {
        plain_decimal(b, at).filter(|&(_, end)| {
            b.get(end)
                .is_some_and(|c| !c.is_ascii_digit() && c | 0x20 != b'e')
        })
    }

    /// `text` followed by enough closing braces for every word read.
    fn padded(text: &str) -> Option<(Decimal, usize)> {
        let mut w = text.as_bytes().to_vec();
        w.extend_from_slice(&[b'}'; 24]);
        delimited(&w, 0)
    }

    #[test]
    fn reads_kraken_prices_and_quantities() {
        let d = |m, s| Decimal {
            mantissa: m,
            scale: s,
        };
        assert_eq!(padded("67226.4"), Some((d(672_264, 1), 7)));
        assert_eq!(padded("0.25000000"), Some((d(25_000_000, 8), 10)));
        assert_eq!(padded("0"), Some((d(0, 0), 1)));
        assert_eq!(padded("12"), Some((d(12, 0), 2)));
        // Ending inside the first word (folded from it alone), and just past it.
        assert_eq!(padded("1234.56"), Some((d(123_456, 2), 7)));
        assert_eq!(padded("12345.67"), Some((d(1_234_567, 2), 8)));
        assert_eq!(padded("1.000001"), Some((d(1_000_001, 6), 8)));
        assert_eq!(
            padded("1234567.12345678"),
            Some((d(123_456_712_345_678, 8), 16))
        );
        for declined in [
            "-1.5",
            "1e5",
            "1.5E2",
            "01.5",
            "1.",
            ".5",
            "",
            "12345678",
            "1.123456789",
        ] {
            assert_eq!(padded(declined), None, "{declined}");
        }
    }

    #[test]
    fn a_level_in_krakens_shape_and_nothing_else() {
        let frame = br#"[{"price":67226.4,"qty":0.25000000},{"price":1,"qty":2}],"checksum":1,"timestamp":"2025-11-22T08:26:40.108000Z"}"#;
        let (level, next) = plain_level(frame, 1).unwrap();
        assert_eq!(level.price, Decimal::parse(b"67226.4").unwrap());
        assert_eq!(level.qty, Decimal::parse(b"0.25000000").unwrap());
        assert_eq!(frame[next], b',');
        let (second, after) = plain_level(frame, next + 1).unwrap();
        assert_eq!((second.price.mantissa, second.qty.mantissa), (1, 2));
        assert_eq!(frame[after], b']');
        // Whitespace, another member order, or a window past the end: the general path decides.
        assert!(plain_level(br#"{"price": 1,"qty":2}xxxxxxxxxxxxxxxx"#, 0).is_none());
        assert!(plain_level(br#"{"qty":2,"price":1}xxxxxxxxxxxxxxxx"#, 0).is_none());
        assert!(plain_level(br#"{"price":1,"qty":2}"#, 0).is_none());
        // The longest level accepted, at the end of the frame: declined until the frame has
        // the whole window.
        let longest = br#"{"price":1234567.12345678,"qty":7654321.87654321}"#;
        assert_eq!(longest.len(), LEVEL_WINDOW);
        let (level, end) = plain_level(longest, 0).unwrap();
        assert_eq!(end, LEVEL_WINDOW);
        assert_eq!(level.qty, Decimal::parse(b"7654321.87654321").unwrap());
        assert!(plain_level(&longest[..LEVEL_WINDOW - 1], 0).is_none());
    }

    proptest! {
        /// Whatever `plain_decimal` accepts before a delimiter, the cursor's general `decimal`
        /// reads the same way and ends at the same byte (and `Decimal::parse` agrees on the
        /// token).
        #[test]
        fn accepted_tokens_equal_the_general_path(
            token in "-?[0-9]{0,10}(\\.[0-9]{0,10})?([eE][0-9])?",
            after in proptest::collection::vec(any::<u8>(), 0..12),
        ) {
            let mut b = token.as_bytes().to_vec();
            b.extend_from_slice(&after);
            if let Some((d, end)) = delimited(&b, 0) {
                let mut general = Cur { b: &b, i: 0 };
                prop_assert_eq!(general.decimal(), Some(d));
                prop_assert_eq!(general.i, end);
                prop_assert_eq!(Decimal::parse(&b[..end]), Ok(d));
            }
        }

        /// Whatever `plain_level` accepts, the cursor reads the same level member by member and
        /// ends at the same byte; a level in the supported shape with a whole window of frame
        /// after its start is accepted.
        #[test]
        fn plain_level_equals_the_cursor(
            price in "-?[0-9]{0,9}(\\.[0-9]{0,10})?([eE][0-9])?",
            qty in prop_oneof![
                "[0-9]{0,9}(\\.[0-9]{0,10})?",
                // Around the longest fraction read in one word.
                "0\\.[0-9]{7,10}",
            ],
            spaced in any::<bool>(),
            key in prop_oneof![4 => Just(r#""qty":"#), 1 => Just(r#""qty";"#), 1 => Just(r#""qtx":"#)],
            close in prop_oneof![4 => Just('}'), 1 => Just(']'), 1 => Just(','), 1 => Just(' ')],
            tail in 0usize..60,
        ) {
            let gap = if spaced { " " } else { "" };
            let text = format!(r#"{{"price":{gap}{price},{key}{qty}{close}"#);
            let mut b = text.as_bytes().to_vec();
            b.extend(std::iter::repeat_n(b']', tail));
            let got = plain_level(&b, 0);
            if let Some((level, end)) = got {
                let mut c = Cur { b: &b, i: 0 };
                prop_assert!(c.lit(br#"{"price":"#), "price key");
                prop_assert_eq!(c.decimal(), Some(level.price));
                prop_assert!(c.lit(br#","qty":"#), "qty key");
                prop_assert_eq!(c.decimal(), Some(level.qty));
                prop_assert!(c.lit(b"}"), "closing brace");
                prop_assert_eq!(c.i, end);
            }
            let plain = |t: &str| padded(t).is_some_and(|(_, n)| n == t.len());
            let exact = !spaced && close == '}' && key == r#""qty":"#;
            if exact && plain(&price) && plain(&qty) && b.len() >= LEVEL_WINDOW {
                prop_assert!(got.is_some(), "{}", text);
            }
        }

        /// Whatever `plain_unsigned` accepts, the cursor's general `unsigned` reads the same way
        /// and ends at the same byte; canonical integers of 1 to 15 digits followed by a
        /// delimiter are accepted.
        #[test]
        fn plain_unsigned_equals_the_general_path(
            digits in "[0-9]{0,20}",
            after in prop_oneof![
                Just(b",".to_vec()),
                Just(b"}".to_vec()),
                Just(b".5".to_vec()),
                Just(b"e3".to_vec()),
                Just(b"E3".to_vec()),
                proptest::collection::vec(any::<u8>(), 0..12),
            ],
        ) {
            let mut b = digits.as_bytes().to_vec();
            b.extend_from_slice(&after);
            let got = plain_unsigned(&b, 0);
            if let Some((v, end)) = got {
                let mut general = Cur { b: &b, i: 0 };
                prop_assert_eq!(general.unsigned(), Some(v));
                prop_assert_eq!(general.i, end);
            }
            let canonical = digits == "0" || !digits.starts_with('0');
            let fits = (1..=15).contains(&digits.len());
            if canonical && fits && (after == b"," || after == b"}") {
                let mut padded = b.clone();
                padded.extend_from_slice(&[b'}'; 16]);
                prop_assert_eq!(
                    plain_unsigned(&padded, 0),
                    Some((digits.parse::<u64>().unwrap(), digits.len()))
                );
            }
        }

        /// Checksums and trade ids have 9 or 10 digits: the digits after the first eight are
        /// combined on their own path, checked here at every value shape.
        #[test]
        fn nine_and_ten_digit_integers_read_exactly(
            digits in "[1-9][0-9]{8,9}",
            end in prop_oneof![Just(b','), Just(b'}')],
        ) {
            let mut b = digits.as_bytes().to_vec();
            b.push(end);
            b.extend_from_slice(&[b'}'; 16]);
            prop_assert_eq!(
                plain_unsigned(&b, 0),
                Some((digits.parse::<u64>().unwrap(), digits.len()))
            );
        }

        /// Whatever `plain_qty8` accepts, `plain_decimal` reads the same way and ends at the
        /// same byte; every quantity in its shape is accepted.
        #[test]
        fn plain_qty8_equals_plain_decimal(
            token in prop_oneof![
                "[0-9]{1,8}\\.[0-9]{8}",
                "[0-9]{0,9}(\\.[0-9]{0,10})?",
                "[0-9]{1,7}\\.[0-9]{7,9}[.eE,}]?",
            ],
            after in proptest::collection::vec(any::<u8>(), 0..20),
        ) {
            let mut b = token.as_bytes().to_vec();
            b.extend_from_slice(&after);
            if let Some(got) = plain_qty8(&b, 0) {
                prop_assert_eq!(Some(got), plain_decimal(&b, 0));
            }
            let shape = token.split_once('.').is_some_and(|(int, frac)| {
                (1..=7).contains(&int.len())
                    && (int == "0" || !int.starts_with('0'))
                    && frac.len() == 8
                    && frac.bytes().all(|c| c.is_ascii_digit())
            });
            if shape && b.len() > token.len() {
                let want = Decimal::parse(token.as_bytes()).ok().map(|value| (value, token.len()));
                prop_assert!(want.is_some(), "{} is a decimal", token);
                prop_assert_eq!(plain_qty8(&b, 0), want);
            }
        }

        /// Any eight bytes: the lowest byte `stops` marks is the first that is not a digit, and
        /// when that one is ASCII, the next marked one is the second.
        #[test]
        fn stops_marks_the_first_two_non_digits(
            bytes in proptest::array::uniform8(prop_oneof![
                8 => b'0'..=b'9',
                2 => 0u8..0x80,
                2 => any::<u8>(),
                1 => prop_oneof![Just(b'/'), Just(b':'), Just(b'.'), Just(0x80u8), Just(0xb0), Just(0xba)],
            ]),
        ) {
            let marked = stops(u64::from_le_bytes(bytes));
            let mut non_digits = bytes.iter().enumerate().filter(|(_, b)| !b.is_ascii_digit());
            let first = non_digits.next();
            let lowest = |m: u64| (m != 0).then(|| m.trailing_zeros() as usize);
            prop_assert_eq!(lowest(marked), first.map(|(k, _)| 8 * k + 7));
            if first.is_some_and(|(_, b)| b.is_ascii()) {
                let second = non_digits.next();
                prop_assert_eq!(lowest(marked & (marked - 1)), second.map(|(k, _)| 8 * k + 7));
            }
        }

        /// Plain tokens of the supported lengths are accepted.
        #[test]
        fn plain_tokens_that_fit_are_accepted(
            int in "0|[1-9][0-9]{0,6}",
            frac in proptest::option::of("[0-9]{1,8}"),
        ) {
            let token = match &frac {
                Some(f) => format!("{int}.{f}"),
                None => int.clone(),
            };
            let got = padded(&token);
            prop_assert_eq!(got, Some((Decimal::parse(token.as_bytes()).unwrap(), token.len())));
        }
    }
}
