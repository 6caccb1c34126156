//! The trade scanner's fastest path: one trade in Kraken's exact shape,
//! `{"symbol":S,"side":"buy"|"sell","price":P,"qty":Q,"ord_type":O,"trade_id":N,"timestamp":T}`
//! with no whitespace, read straight through: no key dispatch, no duplicate bookkeeping, the
//! two decimals as words ([`plain_decimal`]) and the trade id as at most two words of digits.
//!
//! Why: a trade through the member loop cost ~1,200 instructions (callgrind, a multi-symbol
//! capture where a fifth of the frames are trades), more than a whole book update.
//!
//! Owns [`plain_trade`] and [`plain_unsigned`]. Invariants: [`plain_trade`] either returns
//! exactly the slot the member loop of `scan::trade_data` builds from the same bytes, with the
//! cursor just after the entry's `}`, or declines with `None`, and the caller rewinds the cursor
//! and runs the member loop (a property test in `scan.rs` holds the two equal). Every byte it
//! consumes is ASCII, as the cursor's invariant requires: literals, digits, and strings read by
//! the cursor's own methods. It never allocates, never panics (all indexing is checked) and never
//! reads outside the frame.

use super::arena::TradeSlot;
use super::cursor::{leading_digits, Cur};
use super::message::{OrdType, Side};
use super::plain_level::plain_decimal;
use super::visit::ord_type_of;

/// Length of Kraken's RFC 3339 timestamps (PROTOCOL.md, trade messages), as `scan.rs` reads them.
const KRAKEN_TIMESTAMP_LEN: usize = 27;

/// One trade in Kraken's exact member order at the cursor (see the module docs), or `None` with
/// the cursor anywhere inside the entry.
#[inline(always)]
pub(super) fn plain_trade(c: &mut Cur<'_>) -> Option<TradeSlot> {
    if !c.lit(br#"{"symbol":"#) {
        return None;
    }
    let symbol = c.str_span()?;
    let side = if c.lit(br#","side":"buy""#) {
        Side::Buy
    } else if c.lit(br#","side":"sell""#) {
        Side::Sell
    } else {
        return None;
    };
    if !c.lit(br#","price":"#) {
        return None;
    }
    let (price, next) = plain_decimal(c.b, c.i)?;
    c.i = next;
    if !c.lit(br#","qty":"#) {
        return None;
    }
    let (qty, next) = plain_decimal(c.b, c.i)?;
    c.i = next;
    let ord_type = if c.lit(br#","ord_type":"limit""#) {
        OrdType::Limit
    } else if c.lit(br#","ord_type":"market""#) {
        OrdType::Market
    } else if c.lit(br#","ord_type":"#) {
        ord_type_of(core::str::from_utf8(c.str_bytes()?).ok()?)
    } else {
        return None;
    };
    if !c.lit(br#","trade_id":"#) {
        return None;
    }
    let (trade_id, next) = plain_unsigned(c.b, c.i)?;
    c.i = next;
    if !c.lit(br#","timestamp":"#) {
        return None;
    }
    let timestamp = c.fixed_str_span::<KRAKEN_TIMESTAMP_LEN>()?;
    if !c.lit(b"}") {
        return None;
    }
    Some(TradeSlot {
        symbol,
        side,
        price,
        qty,
        ord_type,
        trade_id,
        timestamp,
    })
}

/// A JSON integer of 1 to 15 digits at `at` (no sign, no leading zero unless it is the only
/// digit, no fraction or exponent after it), read as at most two 8-byte words: its value and the
/// index just after it. `None` for anything else, including longer runs, which the cursor's
/// general `Cur::unsigned` then reads.
#[inline(always)]
pub(super) fn plain_unsigned(b: &[u8], at: usize) -> Option<(u64, usize)> {
    let (high_len, high) = leading_digits(word(b, at)?);
    if high_len == 0 || (high_len > 1 && b.get(at) == Some(&b'0')) {
        return None;
    }
    let (value, end) = if high_len < 8 {
        (high, at + high_len as usize)
    } else {
        let (low_len, low) = leading_digits(word(b, at + 8)?);
        if low_len == 8 {
            return None;
        }
        (
            high * POW10_U64[low_len as usize] + low,
            at + 8 + low_len as usize,
        )
    };
    if matches!(b.get(end)?, b'.' | b'e' | b'E') {
        return None;
    }
    Some((value, end))
}

/// Powers of ten up to 10⁷ (the digits of the second word, fewer than 8).
const POW10_U64: [u64; 8] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000];

/// The 8 bytes at `at` as a little-endian word, if the frame has them.
#[inline(always)]
fn word(b: &[u8], at: usize) -> Option<u64> {
    let mut w = [0u8; 8];
    w.copy_from_slice(b.get(at..at + 8)?);
    Some(u64::from_le_bytes(w))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// `text` followed by a closing brace and padding for the word reads.
    fn padded(text: &str) -> Option<(u64, usize)> {
        let mut w = text.as_bytes().to_vec();
        w.extend_from_slice(&[b'}'; 16]);
        plain_unsigned(&w, 0)
    }

    #[test]
    fn reads_trade_ids_and_declines_the_rest() {
        assert_eq!(padded("0"), Some((0, 1)));
        assert_eq!(padded("7"), Some((7, 1)));
        assert_eq!(padded("602000021"), Some((602_000_021, 9)));
        assert_eq!(padded("12345678"), Some((12_345_678, 8)));
        assert_eq!(padded("123456789012345"), Some((123_456_789_012_345, 15)));
        for declined in ["", "-1", "01", "1.5", "1e3", "2E1", "1234567890123456", "x"] {
            assert_eq!(padded(declined), None, "{declined}");
        }
        // No room for the word reads: declined, never a panic.
        assert_eq!(plain_unsigned(b"12", 0), None);
    }

    proptest! {
        /// Where the plain read accepts, it equals the general cursor's `unsigned` on the same
        /// bytes, value and end; it accepts every id of up to 15 digits.
        #[test]
        fn plain_unsigned_equals_the_cursor(v in 0u64..1_000_000_000_000_000_000, tail in "[,}.eE0-9 ]") {
            let text = format!("{v}{tail}}}}}}}}}}}}}}}}}}}");
            let plain = plain_unsigned(text.as_bytes(), 0);
            let mut c = Cur { b: text.as_bytes(), i: 0 };
            let general = c.unsigned().map(|x| (x, c.i));
            if v < 1_000_000_000_000_000 && !matches!(tail.as_bytes()[0], b'.' | b'e' | b'E' | b'0'..=b'9') {
                prop_assert_eq!(plain, Some((v, v.to_string().len())));
            }
            if let Some(p) = plain {
                prop_assert_eq!(Some(p), general);
            }
        }
    }
}
