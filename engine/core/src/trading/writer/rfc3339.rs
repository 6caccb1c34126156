//! RFC3339 UTC text for the order-entry times Kraken takes (`expire_time`, `deadline`), from
//! nanoseconds since the Unix epoch.
//!
//! Owns [`write_rfc3339_utc`] and [`write_rfc3339_utc_digits`]. Invariants: integer arithmetic
//! only, no allocation, no panic for any `u64`; fractional digits are truncated, never rounded,
//! so a deadline is never written later than asked. It never reads a clock; the reverse
//! direction is `crate::kraken::time`.

/// Writes `ns_since_epoch` as RFC3339 UTC with nanoseconds, `2026-12-04T20:18:00.123456789Z`,
/// into `buf`; returns the length (30). See [`write_rfc3339_utc_digits`].
pub fn write_rfc3339_utc(ns_since_epoch: u64, buf: &mut [u8; 32]) -> usize {
    write_rfc3339_utc_digits(ns_since_epoch, 9, buf)
}

/// Writes `ns_since_epoch` as RFC3339 UTC with `frac_digits` (0 to 9, more is 9) fractional
/// digits, truncated, not rounded: 0 gives `2026-12-04T20:18:00Z`, the form of `expire_time`
/// ("precision to seconds"), 3 gives `...:00.123Z`, the form of `deadline` ("precision ... to
/// the millisecond"; add_order.md). Returns the length. Integer arithmetic only (H. Hinnant's
/// `civil_from_days`); a `u64` of nanoseconds reaches 2554, so the year always has 4 digits.
pub fn write_rfc3339_utc_digits(ns_since_epoch: u64, frac_digits: u8, buf: &mut [u8; 32]) -> usize {
    const NS: u64 = 1_000_000_000;
    let secs = ns_since_epoch / NS;
    let (y, m, d) = civil_from_days(secs / 86_400);
    let sod = secs % 86_400;
    let mut text = *b"0000-00-00T00:00:00.000000000";
    for (at, width, value) in [
        (0, 4, y),
        (5, 2, m),
        (8, 2, d),
        (11, 2, sod / 3_600),
        (14, 2, sod / 60 % 60),
        (17, 2, sod % 60),
        (20, 9, ns_since_epoch % NS),
    ] {
        put_digits(&mut text, at, width, value);
    }
    let digits = usize::from(frac_digits.min(9));
    let len = if digits == 0 { 19 } else { 20 + digits };
    let (Some(dst), Some(src)) = (buf.get_mut(..len), text.get(..len)) else {
        return 0;
    };
    dst.copy_from_slice(src);
    match buf.get_mut(len) {
        Some(z) => {
            *z = b'Z';
            len + 1
        }
        None => 0,
    }
}

/// Writes `value`'s last `width` decimal digits at `dst[at..at + width]`.
fn put_digits(dst: &mut [u8], at: usize, width: usize, mut value: u64) {
    for i in (0..width).rev() {
        if let Some(b) = dst.get_mut(at + i) {
            *b = b'0' + (value % 10) as u8;
        }
        value /= 10;
    }
}

/// (year, month, day) of `days` since 1970-01-01, proleptic Gregorian (H. Hinnant's
/// `civil_from_days`, for non-negative days).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kraken::time::parse_rfc3339_nanos;
    use proptest::prelude::*;

    const S: u64 = 1_000_000_000;

    fn text(ns: u64, digits: u8) -> String {
        let mut buf = [0u8; 32];
        let n = write_rfc3339_utc_digits(ns, digits, &mut buf);
        String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    fn nanos(ns: u64) -> String {
        let mut buf = [0u8; 32];
        let n = write_rfc3339_utc(ns, &mut buf);
        String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    #[test]
    fn formats_known_instants() {
        // Each instant checked with `date -u -d @<seconds>`.
        let cases = [
            (0, "1970-01-01T00:00:00.000000000Z"),
            (1, "1970-01-01T00:00:00.000000001Z"),
            (
                1_709_251_199 * S + 999_999_999,
                "2024-02-29T23:59:59.999999999Z",
            ),
            (1_709_251_200 * S, "2024-03-01T00:00:00.000000000Z"),
            (951_868_800 * S - 1, "2000-02-29T23:59:59.999999999Z"),
            (4_107_542_400 * S - 1, "2100-02-28T23:59:59.999999999Z"),
            (4_107_542_400 * S, "2100-03-01T00:00:00.000000000Z"),
            (1_735_646_400 * S, "2024-12-31T12:00:00.000000000Z"),
            (
                1_796_415_480 * S + 123_456_789,
                "2026-12-04T20:18:00.123456789Z",
            ),
            (u64::MAX, "2554-07-21T23:34:33.709551615Z"),
        ];
        for (ns, want) in cases {
            assert_eq!(nanos(ns), want, "{ns}");
        }
    }

    #[test]
    fn truncates_to_the_digits_asked() {
        let ns = 1_796_415_480 * S + 123_956_789;
        assert_eq!(text(ns, 0), "2026-12-04T20:18:00Z");
        assert_eq!(text(ns, 3), "2026-12-04T20:18:00.123Z");
        assert_eq!(text(ns, 6), "2026-12-04T20:18:00.123956Z");
        assert_eq!(text(ns, 9), "2026-12-04T20:18:00.123956789Z");
        assert_eq!(text(ns, 255), "2026-12-04T20:18:00.123956789Z");
        assert_eq!(text(S - 1, 0), "1970-01-01T00:00:00Z");
    }

    proptest! {
        #[test]
        fn round_trips_through_the_parser(ns in 0u64..=i64::MAX as u64, digits in 0u8..=9) {
            let t = text(ns, digits);
            let unit = 10u64.pow(9 - u32::from(digits));
            prop_assert_eq!(parse_rfc3339_nanos(&t), Some((ns / unit * unit) as i64), "{}", t);
        }
    }
}
