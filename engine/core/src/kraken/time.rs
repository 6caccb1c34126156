//! RFC3339 timestamps as Kraken sends them (`2023-10-06T17:35:55.440295Z`), to nanoseconds since
//! the Unix epoch.
//!
//! Owns [`parse_rfc3339_nanos`]. Invariants: no allocation, no panic, no floating point; lenient
//! where Kraken is inconsistent (0 to 9 fractional digits, extra fractional digits beyond 9 are
//! truncated, the docs even show 7; `Z`, `z` or a `±HH:MM` offset, or none at all meaning UTC);
//! strict on the calendar (month 1–12, day within the month, hour < 24, minute < 60, second ≤
//! 60 for a leap second, which is kept as second 60 = the next minute's second 0).

/// Reads `N` ASCII digits at `at`.
#[inline]
fn digits<const N: usize>(b: &[u8], at: usize) -> Option<i64> {
    let s = b.get(at..at + N)?;
    let mut v = 0i64;
    for &c in s {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v * 10 + i64::from(d);
    }
    Some(v)
}

/// Days from 1970-01-01 to `y-m-d` (proleptic Gregorian; H. Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// Bytes of the minute prefix `YYYY-MM-DDTHH:MM` that [`Rfc3339Parser`] caches.
const MINUTE_PREFIX: usize = 16;

/// Length of the form Kraken sends, `2023-10-06T17:35:55.440295Z` (PROTOCOL.md's examples and
/// the recordings in `engine/testkit`'s test data).
const KRAKEN_LEN: usize = 27;

/// Validates the minute prefix `YYYY-MM-DDTHH:MM` and returns its seconds since the epoch
/// (UTC, before any offset).
#[inline]
fn minute_secs(b: &[u8]) -> Option<i64> {
    let year = digits::<4>(b, 0)?;
    if b.get(4) != Some(&b'-')
        || b.get(7) != Some(&b'-')
        || !matches!(b.get(10), Some(b'T' | b't' | b' '))
    {
        return None;
    }
    let month = digits::<2>(b, 5)?;
    let day = digits::<2>(b, 8)?;
    if b.get(13) != Some(&b':') {
        return None;
    }
    let hour = digits::<2>(b, 11)?;
    let minute = digits::<2>(b, 14)?;
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
    {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60)
}

/// Two ASCII digits as their value.
#[inline(always)]
fn two_digits(tens: u8, ones: u8) -> Option<i64> {
    let (t, o) = (tens.wrapping_sub(b'0'), ones.wrapping_sub(b'0'));
    if t > 9 || o > 9 {
        return None;
    }
    Some(i64::from(t) * 10 + i64::from(o))
}

/// Byte lanes 1..=6 of a little-endian `u64`: the six fraction digits of `.ffffffZ`.
const FRACTION_LANES: u64 = 0x00FF_FFFF_FFFF_FF00;
/// The high nibble of every byte lane.
const HIGH_NIBBLES: u64 = 0xF0F0_F0F0_F0F0_F0F0;
/// 6 in every byte lane.
const SIXES: u64 = 0x0606_0606_0606_0606;
/// The low byte of every 16-bit lane / the low 16 bits of every 32-bit lane.
const LOW_BYTES: u64 = 0x00FF_00FF_00FF_00FF;
const LOW_HALVES: u64 = 0x0000_FFFF_0000_FFFF;

/// The six fraction digits of Kraken's form (bytes 20..26, between the `.` at 19 and the `Z`
/// at 26) as microseconds, all eight bytes 19..27 read and checked at once; `None` when one of
/// the six is not an ASCII digit (exactly when `digits::<6>(t, 20)` says so; a test holds the
/// two equal over every byte in every position).
#[inline(always)]
fn six_digits_between_dot_and_zone(t: &[u8; KRAKEN_LEN]) -> Option<i64> {
    let mut word = [0u8; 8];
    word.copy_from_slice(&t[19..27]);
    // XOR maps exactly the bytes `0`..=`9` to 0..=9; the dot and zone lanes are masked off.
    let d = (u64::from_le_bytes(word) ^ 0x3030_3030_3030_3030) & FRACTION_LANES;
    // A lane is a digit iff its high nibble is clear and adding 6 does not carry into it (a
    // lane <= 0x0F plus 6 stays within its byte, so lanes never disturb each other).
    if (d | d.wrapping_add(SIXES)) & HIGH_NIBBLES != 0 {
        return None;
    }
    // As eight digits `00ffffff`, most significant in the lowest byte: pairs, quads, then all.
    let v = d << 8;
    let v = (v.wrapping_mul(10) + (v >> 8)) & LOW_BYTES;
    let v = (v.wrapping_mul(1 + (100 << 16)) >> 16) & LOW_HALVES;
    let v = v.wrapping_mul(1 + (10_000 << 32)) >> 32;
    Some(v as i64)
}

/// Everything after the minute prefix (`:SS`, an optional fraction, the zone), added to the
/// prefix's `minute_secs`.
#[inline]
fn with_tail(b: &[u8], minute_secs: i64) -> Option<i64> {
    // Kraken's usual form, `:SS.ffffffZ` (27 bytes in all), read with fixed-size steps.
    if let Some(t) = b.first_chunk::<KRAKEN_LEN>() {
        if b.len() == KRAKEN_LEN && t[MINUTE_PREFIX] == b':' && t[19] == b'.' && t[26] == b'Z' {
            let second = two_digits(t[17], t[18])?;
            let micros = six_digits_between_dot_and_zone(t)?;
            if second > 60 {
                return None;
            }
            return (minute_secs + second)
                .checked_mul(1_000_000_000)?
                .checked_add(micros * 1_000);
        }
    }
    if b.get(MINUTE_PREFIX) != Some(&b':') {
        return None;
    }
    let second = digits::<2>(b, 17)?;
    if second > 60 {
        return None;
    }
    let mut at = 19;
    let mut nanos = 0i64;
    if b.get(at) == Some(&b'.') {
        at += 1;
        let start = at;
        while let Some(&c) = b.get(at) {
            if !c.is_ascii_digit() {
                break;
            }
            if at - start < 9 {
                nanos = nanos * 10 + i64::from(c - b'0');
            }
            at += 1;
        }
        let n = at - start;
        if n == 0 {
            return None;
        }
        for _ in n..9 {
            nanos *= 10;
        }
    }
    let offset_secs = match b.get(at) {
        None => 0,
        Some(b'Z' | b'z') if at + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) if at + 6 == b.len() && b[at + 3] == b':' => {
            let oh = digits::<2>(b, at + 1)?;
            let om = digits::<2>(b, at + 4)?;
            if oh > 23 || om > 59 {
                return None;
            }
            let o = oh * 3600 + om * 60;
            if sign == b'+' {
                o
            } else {
                -o
            }
        }
        _ => return None,
    };
    let secs = minute_secs + second - offset_secs;
    secs.checked_mul(1_000_000_000)?.checked_add(nanos)
}

/// Nanoseconds since 1970-01-01T00:00:00Z, or `None` if `text` is not an RFC3339 timestamp.
pub fn parse_rfc3339_nanos(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    with_tail(b, minute_secs(b)?)
}

/// [`parse_rfc3339_nanos`] with the last valid minute prefix (`YYYY-MM-DDTHH:MM`) remembered:
/// consecutive exchange timestamps share it almost always, so the calendar arithmetic and its
/// checks run once a minute instead of once a message. Same results as the uncached function for
/// every input and every history (a property test checks it); never allocates.
#[derive(Debug, Clone, Copy)]
pub struct Rfc3339Parser {
    /// The last valid prefix's bytes (little-endian); meaningful only when `minute_secs` is
    /// `Some`.
    prefix: u128,
    minute_secs: Option<i64>,
}

impl Default for Rfc3339Parser {
    fn default() -> Self {
        Rfc3339Parser::new()
    }
}

impl Rfc3339Parser {
    pub const fn new() -> Rfc3339Parser {
        Rfc3339Parser {
            prefix: 0,
            minute_secs: None,
        }
    }

    /// Nanoseconds since the Unix epoch, or `None` if `text` is not an RFC3339 timestamp.
    #[inline]
    pub fn parse(&mut self, text: &str) -> Option<i64> {
        let b = text.as_bytes();
        // Compared as one 128-bit word (two loads and compares, no call to `bcmp`).
        let prefix = u128::from_le_bytes(*b.first_chunk::<MINUTE_PREFIX>()?);
        match self.minute_secs {
            Some(secs) if prefix == self.prefix => with_tail(b, secs),
            _ => self.parse_new_minute(b, prefix),
        }
    }

    /// [`Self::parse`] of a timestamp in another minute than the last: kept out of line so the
    /// calendar code does not weigh on the once-a-message path.
    #[cold]
    #[inline(never)]
    fn parse_new_minute(&mut self, b: &[u8], prefix: u128) -> Option<i64> {
        let secs = minute_secs(b)?;
        self.prefix = prefix;
        self.minute_secs = Some(secs);
        with_tail(b, secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kraken_timestamps() {
        // 2023-10-06T17:35:55Z = 1696613755 s.
        assert_eq!(
            parse_rfc3339_nanos("2023-10-06T17:35:55.440295Z"),
            Some(1_696_613_755_440_295_000)
        );
        assert_eq!(
            parse_rfc3339_nanos("2023-10-06T17:35:00.279389650Z"),
            Some(1_696_613_700_279_389_650)
        );
        assert_eq!(
            parse_rfc3339_nanos("2022-06-13T08:09:10.7890123"),
            Some(1_655_107_750_789_012_300)
        );
        assert_eq!(parse_rfc3339_nanos("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339_nanos("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(
            parse_rfc3339_nanos("1969-12-31T23:59:59.5Z"),
            Some(-500_000_000)
        );
        assert_eq!(
            parse_rfc3339_nanos("2024-02-29T00:00:00.1234567891Z"),
            Some(1_709_164_800_123_456_789)
        );
    }

    #[test]
    fn rejects_non_timestamps() {
        for bad in [
            "",
            "2023",
            "2023-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2023-10-06T24:00:00Z",
            "2023-10-06T17:35:55.Z",
            "2023-10-06T17:35:55Zjunk",
            "2023-10-06 17:35",
            "2023-10-06T17:35:55+1:00",
            "abcd-10-06T17:35:55Z",
            "2023-10-06T17:35:55.44029５Z",
        ] {
            assert_eq!(parse_rfc3339_nanos(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_cached_parser_reuses_only_an_identical_minute() {
        let mut p = Rfc3339Parser::new();
        assert_eq!(
            p.parse("2023-10-06T17:35:55.440295Z"),
            Some(1_696_613_755_440_295_000)
        );
        assert_eq!(
            p.parse("2023-10-06T17:35:59.000001Z"),
            Some(1_696_613_759_000_001_000)
        );
        assert_eq!(p.parse("2023-10-06T17:35:61Z"), None);
        assert_eq!(
            p.parse("2023-10-06T17:36:00Z"),
            Some(1_696_613_760_000_000_000)
        );
        assert_eq!(
            p.parse("2023-10-06t17:36:00Z"),
            Some(1_696_613_760_000_000_000)
        );
        assert_eq!(p.parse("2023-02-29T00:00:00Z"), None);
        assert_eq!(p.parse("2023-10-06T17:3"), None);
    }

    #[test]
    fn the_word_at_a_time_fraction_equals_digit_by_digit() {
        let base = *b"2023-10-06T17:35:55.440295Z";
        let check = |t: &[u8; KRAKEN_LEN]| {
            assert_eq!(
                six_digits_between_dot_and_zone(t),
                digits::<6>(t, 20),
                "{:?}",
                String::from_utf8_lossy(t)
            );
        };
        for micros in (0..1_000_000).step_by(7).chain([999_999, 100_000, 1]) {
            let mut t = base;
            t[20..26].copy_from_slice(format!("{micros:06}").as_bytes());
            check(&t);
        }
        for at in 19..27 {
            for byte in 0..=u8::MAX {
                let mut t = base;
                t[at] = byte;
                check(&t);
            }
        }
    }

    proptest::proptest! {
        /// Any bytes in the fraction, the dot and the zone: the word-at-a-time read agrees
        /// with the digit-by-digit one.
        #[test]
        fn the_fraction_word_equals_digits_for_any_bytes(tail in proptest::array::uniform8(0u8..)) {
            let mut t = *b"2023-10-06T17:35:55.440295Z";
            t[19..27].copy_from_slice(&tail);
            proptest::prop_assert_eq!(six_digits_between_dot_and_zone(&t), digits::<6>(&t, 20));
        }

        /// Over any history of valid and invalid timestamps (many sharing a minute), the cached
        /// parser answers exactly as the uncached one.
        #[test]
        fn the_cached_parser_equals_the_uncached_one(
            texts in proptest::collection::vec(
                (0u8..4, 0u8..2, 0u8..62, 0u32..1_000_000, 0u8..5),
                1..64,
            )
        ) {
            let mut p = Rfc3339Parser::new();
            for (day, minute, second, micros, zone) in texts {
                let zone = ["Z", "z", "+01:30", "", "Zx"][usize::from(zone)];
                let t = format!(
                    "2024-02-{:02}T23:{:02}:{:02}.{:06}{}",
                    27 + day, 58 + minute, second, micros, zone
                );
                proptest::prop_assert_eq!(p.parse(&t), parse_rfc3339_nanos(&t), "{}", t);
                // Kraken's 27-byte form takes a fast path; `+00:00` forces the general one.
                if let Some(general) = t.strip_suffix('Z') {
                    let general = format!("{general}+00:00");
                    proptest::prop_assert_eq!(
                        parse_rfc3339_nanos(&t),
                        parse_rfc3339_nanos(&general),
                        "{}",
                        t
                    );
                }
            }
        }
    }
}
