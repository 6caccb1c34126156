//! Number and time text of trading requests and answers: a JSON number token exactly as the
//! client wrote it becomes a mantissa at a pair's precision, money is rescaled with an explicit
//! rounding rule and written with its trailing zeros, and RFC3339 timestamps become Unix
//! microseconds.
//!
//! Owns pure functions only. Invariants: no value ever goes through `f64`; a number with more
//! significant decimals than the precision allows is refused (trailing zeros beyond it are not
//! significant: `0.10000000000` is `0.1`), never rounded; every overflow is an error, never a
//! wrap or a panic. It never does I/O.

use std::fmt::Write as _;

/// Why a number text was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecimalError {
    /// Not a JSON number token.
    NotANumber,
    /// More significant decimals than the precision allows.
    TooPrecise,
    /// Too large for the venue's integers.
    OutOfRange,
}

/// Longest number text accepted (Kraken's numbers are a few dozen characters at most).
const MAX_NUMBER_TEXT: usize = 64;

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Parses a JSON number token (`-?int(.frac)?([eE][+-]?exp)?`, e.g. `26500.4`, `1e-08`) into a
/// mantissa at `scale` decimals.
pub fn parse_decimal(text: &str, scale: u8) -> Result<i64, DecimalError> {
    if text.len() > MAX_NUMBER_TEXT {
        return Err(DecimalError::OutOfRange);
    }
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => {
            let exp = &body[i + 1..];
            let digits = exp.strip_prefix(['+', '-']).unwrap_or(exp);
            if !all_digits(digits) || digits.len() > 4 {
                return Err(DecimalError::NotANumber);
            }
            let value: i32 = digits.parse().map_err(|_| DecimalError::NotANumber)?;
            (
                &body[..i],
                if exp.starts_with('-') { -value } else { value },
            )
        }
        None => (body, 0),
    };
    let (int, frac) = match mantissa.split_once('.') {
        Some((i, f)) => {
            if !all_digits(f) {
                return Err(DecimalError::NotANumber);
            }
            (i, f)
        }
        None => (mantissa, ""),
    };
    if !all_digits(int) {
        return Err(DecimalError::NotANumber);
    }
    let mut digits: Vec<u8> = int.bytes().chain(frac.bytes()).map(|b| b - b'0').collect();
    if digits.iter().all(|&d| d == 0) {
        return Ok(0);
    }
    // Decimals after the point once the exponent is applied.
    let mut decimals = frac.len() as i32 - exponent;
    while decimals > i32::from(scale) && digits.last() == Some(&0) {
        digits.pop();
        decimals -= 1;
    }
    if decimals > i32::from(scale) {
        return Err(DecimalError::TooPrecise);
    }
    let mut value: i128 = 0;
    for d in digits {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(i128::from(d)))
            .ok_or(DecimalError::OutOfRange)?;
    }
    let shift = i32::from(scale) - decimals;
    for _ in 0..shift {
        value = value.checked_mul(10).ok_or(DecimalError::OutOfRange)?;
        if value > i128::from(i64::MAX) {
            return Err(DecimalError::OutOfRange);
        }
    }
    let value = i64::try_from(value).map_err(|_| DecimalError::OutOfRange)?;
    Ok(if negative { -value } else { value })
}

/// How [`rescale`] treats digits it drops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Round {
    /// To the nearest, halves away from zero (costs).
    HalfUp,
    /// Away from zero (fees and funds held: the venue never under-charges).
    Up,
}

/// `value` at `from` decimals expressed at `to` decimals (exact when `to >= from`).
pub fn rescale(value: i128, from: u8, to: u8, round: Round) -> i128 {
    if to >= from {
        return value.saturating_mul(10i128.saturating_pow(u32::from(to - from)));
    }
    let unit = 10i128.saturating_pow(u32::from(from - to));
    let (q, r) = (value / unit, value % unit);
    let bump = match round {
        Round::HalfUp => r.abs() * 2 >= unit,
        Round::Up => r != 0,
    };
    if bump {
        q + value.signum()
    } else {
        q
    }
}

/// Appends `mantissa` at `scale` decimals, trailing zeros kept (`-12345, 4` → `-1.2345`).
pub fn push_amount(out: &mut String, mantissa: i128, scale: u8) {
    let unit = 10u128.pow(u32::from(scale));
    let magnitude = mantissa.unsigned_abs();
    if mantissa < 0 {
        out.push('-');
    }
    let _ = write!(out, "{}", magnitude / unit);
    if scale > 0 {
        let _ = write!(
            out,
            ".{:0width$}",
            magnitude % unit,
            width = usize::from(scale)
        );
    }
}

/// `mantissa` at `scale` decimals as text.
pub fn amount_text(mantissa: i128, scale: u8) -> String {
    let mut s = String::new();
    push_amount(&mut s, mantissa, scale);
    s
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn num(text: &str, range: std::ops::RangeInclusive<u32>) -> Option<u32> {
    if !all_digits(text) {
        return None;
    }
    text.parse().ok().filter(|v| range.contains(v))
}

/// Parses `2022-12-25T09:30:59Z`, `2022-12-25T09:30:59.123456Z` (up to 9 fractional digits,
/// truncated to microseconds) or an offset (`+01:00`) into Unix microseconds; `None` for
/// anything else or a time before 1970.
pub fn parse_rfc3339(text: &str) -> Option<u64> {
    let b = text.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let year = num(text.get(0..4)?, 1970..=9999)?;
    let month = num(text.get(5..7)?, 1..=12)?;
    let day = num(text.get(8..10)?, 1..=31)?;
    let hour = num(text.get(11..13)?, 0..=23)?;
    let minute = num(text.get(14..16)?, 0..=59)?;
    let second = num(text.get(17..19)?, 0..=60)?;
    let mut rest = text.get(19..)?;
    let mut micros = 0u64;
    if let Some(frac) = rest.strip_prefix('.') {
        let end = frac
            .bytes()
            .position(|c| !c.is_ascii_digit())
            .unwrap_or(frac.len());
        if end == 0 || end > 9 {
            return None;
        }
        let digits = &frac[..end.min(6)];
        micros = digits.parse::<u64>().ok()? * 10u64.pow(6 - digits.len() as u32);
        rest = &frac[end..];
    }
    let offset_secs: i64 = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first() {
                Some(b'+') => 1,
                Some(b'-') => -1,
                _ => return None,
            };
            if rest.len() != 6 || rest.as_bytes()[3] != b':' {
                return None;
            }
            let h = num(&rest[1..3], 0..=23)?;
            let m = num(&rest[4..6], 0..=59)?;
            sign * i64::from(h * 3_600 + m * 60)
        }
    };
    let days = days_from_civil(i64::from(year), month, day);
    let secs = days * 86_400 + i64::from(hour * 3_600 + minute * 60 + second) - offset_secs;
    u64::try_from(secs)
        .ok()?
        .checked_mul(1_000_000)?
        .checked_add(micros)
}

/// Appends `"2023-09-21T15:49:29Z"` (whole seconds, with the quotes), the shape of
/// `cancel_all_orders_after`'s `currentTime` and `triggerTime` in Kraken's docs.
pub fn push_timestamp_seconds(out: &mut String, unix_micros: u64) {
    let mut full = String::new();
    super::super::frames::push_timestamp(&mut full, unix_micros);
    // `"YYYY-MM-DDTHH:MM:SS.ffffffZ"` → `"YYYY-MM-DDTHH:MM:SSZ"`.
    match full.find('.') {
        Some(dot) => {
            out.push_str(&full[..dot]);
            out.push_str("Z\"");
        }
        None => out.push_str(&full),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn no_text_panics(s in "\\PC{0,48}", scale in 0u8..20) {
            let _ = parse_decimal(&s, scale);
            let _ = parse_rfc3339(&s);
        }

        #[test]
        fn decimals_round_trip(m in -i64::MAX..=i64::MAX, scale in 0u8..12) {
            prop_assert_eq!(parse_decimal(&amount_text(i128::from(m), scale), scale), Ok(m));
        }
    }

    #[test]
    fn numbers_parse_exactly_at_the_precision() {
        assert_eq!(parse_decimal("26500.4", 1), Ok(265_004));
        assert_eq!(parse_decimal("26500", 1), Ok(265_000));
        assert_eq!(parse_decimal("0.00012345", 8), Ok(12_345));
        assert_eq!(parse_decimal("1e-08", 8), Ok(1));
        assert_eq!(parse_decimal("5E-5", 8), Ok(5_000));
        assert_eq!(parse_decimal("1.2e3", 1), Ok(12_000));
        assert_eq!(parse_decimal("0.10000000000", 1), Ok(1));
        assert_eq!(parse_decimal("-0.5", 1), Ok(-5));
        assert_eq!(parse_decimal("0", 8), Ok(0));
        assert_eq!(parse_decimal("0e-99", 8), Ok(0));
        assert_eq!(parse_decimal("26500.45", 1), Err(DecimalError::TooPrecise));
        assert_eq!(parse_decimal("1e-09", 8), Err(DecimalError::TooPrecise));
        for bad in [
            "", "-", ".5", "5.", "1e", "0x10", "1.2.3", "\"1\"", "1e+", "NaN",
        ] {
            assert_eq!(
                parse_decimal(bad, 8),
                Err(DecimalError::NotANumber),
                "{bad}"
            );
        }
        assert_eq!(
            parse_decimal("99999999999999999999", 8),
            Err(DecimalError::OutOfRange)
        );
        assert_eq!(parse_decimal("1e9999", 8), Err(DecimalError::OutOfRange));
        assert_eq!(
            parse_decimal(&"1".repeat(100), 0),
            Err(DecimalError::OutOfRange)
        );
    }

    #[test]
    fn rescaling_rounds_as_told() {
        // 26599.9 × 0.005 = 132.9995 (scale 9) → 4 decimals, exact.
        assert_eq!(rescale(132_999_500_000, 9, 4, Round::HalfUp), 1_329_995);
        // The fee of Kraken's example: 0.26% of 132.9995 = 0.34579870 → 0.3458 rounded up.
        assert_eq!(rescale(34_579_870, 8, 4, Round::Up), 3_458);
        assert_eq!(rescale(34_579_870, 8, 4, Round::HalfUp), 3_458);
        assert_eq!(rescale(34_570_000, 8, 4, Round::Up), 3_457);
        assert_eq!(rescale(15, 1, 0, Round::HalfUp), 2);
        assert_eq!(rescale(14, 1, 0, Round::HalfUp), 1);
        assert_eq!(rescale(-15, 1, 0, Round::HalfUp), -2);
        assert_eq!(rescale(7, 2, 4, Round::Up), 700);
        assert_eq!(amount_text(1_329_995, 4), "132.9995");
        assert_eq!(amount_text(-5, 4), "-0.0005");
        assert_eq!(amount_text(0, 10), "0.0000000000");
        assert_eq!(amount_text(12, 0), "12");
    }

    #[test]
    fn rfc3339_round_trips_the_venue_format() {
        let t = 1_786_923_425_723_653u64;
        let mut s = String::new();
        super::super::super::frames::push_timestamp(&mut s, t);
        assert_eq!(parse_rfc3339(s.trim_matches('"')), Some(t));
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339("2022-12-25T09:30:59Z"),
            Some(1_671_960_659_000_000)
        );
        assert_eq!(
            parse_rfc3339("2022-12-25T10:30:59.5+01:00"),
            Some(1_671_960_659_500_000)
        );
        assert_eq!(
            parse_rfc3339("2022-06-13T08:09:10.7890123Z"),
            Some(1_655_107_750_789_012)
        );
        for bad in [
            "",
            "2022-12-25",
            "2022-13-25T09:30:59Z",
            "2022-12-25T09:30:59",
            "2022-12-25 09:30:59Z",
            "2022-12-25T09:30:59.Z",
            "1969-12-31T23:59:59Z",
            "2022-12-25T09:30:59+0100",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
        let mut s = String::new();
        push_timestamp_seconds(&mut s, 1_695_311_369_627_900);
        assert_eq!(s, "\"2023-09-21T15:49:29Z\"");
    }
}
