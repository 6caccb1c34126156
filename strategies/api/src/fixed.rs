//! Exact fixed-point numbers: [`Decimal`] (a mantissa and the number of decimals it was written
//! with), and the book types [`Price`] and [`Qty`] (mantissas at a pair's `price_precision` /
//! `qty_precision`, which the caller keeps beside them).
//!
//! Invariants: parsing never goes through `f64`, never allocates and never panics; a value that
//! cannot be represented exactly at the requested precision is an error, never rounded.
//! Accepted text: JSON number syntax (`-12.340`, `1e-08`, `5E+3`), optionally wrapped in double
//! quotes because some sources quote numbers. Digits beyond the requested precision are accepted
//! only when they are zeros (`0.50000` at 4 decimals is exactly `0.5000`); any non-zero digit
//! beyond it is [`FixedError::TooPrecise`].

use core::fmt;

/// Largest number of decimals any value may carry. Kraken's finest precision is 10 (asset
/// `precision` in the instrument channel); 18 leaves room while `10^18` still fits an `i64`.
pub const MAX_SCALE: u8 = 18;

/// Powers of ten that fit an `i64`, indexed by exponent.
const POW10: [i64; 19] = {
    let mut t = [1i64; 19];
    let mut i = 1;
    while i < 19 {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

/// `10^exp` for `exp <= 18`.
#[inline]
pub fn pow10(exp: u8) -> Option<i64> {
    POW10.get(exp as usize).copied()
}

/// Why a number text was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FixedError {
    /// No digits at all (empty text, `""`, `-`, `.`).
    Empty,
    /// Not a number: stray characters, two points, a bare exponent, unbalanced quotes.
    Invalid,
    /// Non-zero digits beyond the allowed number of decimals.
    TooPrecise,
    /// The value does not fit a 64-bit mantissa at the requested precision.
    Overflow,
    /// A negative value where only non-negative ones are meaningful (quantities, prices).
    Negative,
}

impl fmt::Display for FixedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FixedError::Empty => "no digits",
            FixedError::Invalid => "not a decimal number",
            FixedError::TooPrecise => "more decimals than the precision allows",
            FixedError::Overflow => "value out of range",
            FixedError::Negative => "negative value not allowed",
        })
    }
}

impl std::error::Error for FixedError {}

/// An exact decimal: `mantissa * 10^-scale`, with `scale` the number of decimals as written
/// (trailing zeros kept, so `0.12290` has scale 5; exponent notation folds in: `1e-08` has
/// mantissa 1 and scale 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Decimal {
    pub mantissa: i64,
    pub scale: u8,
}

impl Decimal {
    pub const ZERO: Decimal = Decimal {
        mantissa: 0,
        scale: 0,
    };

    /// Parses JSON number text (optionally quoted) exactly.
    pub fn parse(text: &[u8]) -> Result<Decimal, FixedError> {
        let text = strip_quotes(text)?;
        let (negative, body) = match text.split_first() {
            Some((b'-', rest)) => (true, rest),
            Some((b'+', rest)) => (false, rest),
            Some(_) => (false, text),
            None => return Err(FixedError::Empty),
        };
        // Split off the exponent.
        let (digits_part, exp) = match body.iter().position(|&b| b == b'e' || b == b'E') {
            Some(at) => (&body[..at], parse_exponent(&body[at + 1..])?),
            None => (body, 0i32),
        };
        // Integer and fraction digits.
        let (int_part, frac_part) = match digits_part.iter().position(|&b| b == b'.') {
            Some(at) => (&digits_part[..at], &digits_part[at + 1..]),
            None => (digits_part, &digits_part[digits_part.len()..]),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(FixedError::Empty);
        }
        // A fraction needs digits on at least one side; "1." and ".5" are lenient but unambiguous.
        let mut acc = Accumulator::default();
        for &b in int_part {
            acc.push(b)?;
        }
        for &b in frac_part {
            acc.push(b)?;
        }
        // scale = decimals written - exponent.
        let scale = frac_part.len() as i64 - exp as i64;
        let (mut mantissa, scale) = if scale < 0 {
            let up = u8::try_from(-scale).map_err(|_| FixedError::Overflow)?;
            let m = acc.value()?;
            if m == 0 {
                (0u128, 0u8)
            } else {
                let f = pow10(up).ok_or(FixedError::Overflow)?;
                (m.checked_mul(f as u128).ok_or(FixedError::Overflow)?, 0)
            }
        } else {
            (acc.value()?, u8::try_from(scale).unwrap_or(u8::MAX))
        };
        // Fold trailing zeros until the value fits the i64 mantissa and MAX_SCALE.
        let mut scale = scale;
        while (mantissa > i64::MAX as u128 || scale > MAX_SCALE) && scale > 0 && mantissa % 10 == 0
        {
            mantissa /= 10;
            scale -= 1;
        }
        if scale > MAX_SCALE {
            return Err(FixedError::TooPrecise);
        }
        if mantissa > i64::MAX as u128 {
            return Err(FixedError::Overflow);
        }
        let m = mantissa as i64;
        Ok(Decimal {
            mantissa: if negative { -m } else { m },
            scale,
        })
    }

    /// The mantissa at `target` decimals: exact, or [`FixedError::TooPrecise`] when that would
    /// drop a non-zero digit, or [`FixedError::Overflow`].
    #[inline]
    pub fn to_scale(self, target: u8) -> Result<i64, FixedError> {
        if target == self.scale {
            return Ok(self.mantissa);
        }
        if target > self.scale {
            let f = pow10(target - self.scale).ok_or(FixedError::Overflow)?;
            self.mantissa.checked_mul(f).ok_or(FixedError::Overflow)
        } else {
            let d = pow10(self.scale - target).ok_or(FixedError::TooPrecise)?;
            if self.mantissa % d != 0 {
                Err(FixedError::TooPrecise)
            } else {
                Ok(self.mantissa / d)
            }
        }
    }

    /// Decimals needed to write this value without trailing zeros (`0.5000` → 1).
    pub fn significant_scale(self) -> u8 {
        let mut m = self.mantissa;
        let mut s = self.scale;
        while s > 0 && m % 10 == 0 {
            m /= 10;
            s -= 1;
        }
        s
    }

    /// Writes the value with exactly `self.scale` decimals; see [`write_fixed`].
    pub fn write_to(self, buf: &mut [u8; 48]) -> usize {
        write_fixed(self.mantissa, self.scale, buf)
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        FixedDisplay {
            mantissa: self.mantissa,
            scale: self.scale,
        }
        .fmt(f)
    }
}

/// Digit accumulator: u64 fast path for up to 19 digits, u128 beyond (up to 38 digits).
#[derive(Default)]
struct Accumulator {
    value: u128,
    digits: u32,
}

impl Accumulator {
    #[inline]
    fn push(&mut self, b: u8) -> Result<(), FixedError> {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return Err(FixedError::Invalid);
        }
        if self.digits >= 38 {
            // Beyond u128: only zeros after the value can still be folded away later, but a
            // 38-digit number is far outside anything Kraken sends.
            return Err(FixedError::Overflow);
        }
        if self.value != 0 || d != 0 {
            self.digits += 1;
        }
        self.value = self.value * 10 + d as u128;
        Ok(())
    }

    fn value(&self) -> Result<u128, FixedError> {
        Ok(self.value)
    }
}

fn parse_exponent(text: &[u8]) -> Result<i32, FixedError> {
    let (neg, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        Some(_) => (false, text),
        None => return Err(FixedError::Invalid),
    };
    if digits.is_empty() || digits.len() > 3 {
        return Err(if digits.is_empty() {
            FixedError::Invalid
        } else {
            FixedError::Overflow
        });
    }
    let mut e: i32 = 0;
    for &b in digits {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return Err(FixedError::Invalid);
        }
        e = e * 10 + d as i32;
    }
    Ok(if neg { -e } else { e })
}

fn strip_quotes(text: &[u8]) -> Result<&[u8], FixedError> {
    match text {
        [b'"', inner @ .., b'"'] => Ok(inner),
        [b'"', ..] | [.., b'"'] => Err(FixedError::Invalid),
        _ => Ok(text),
    }
}

/// Writes `mantissa * 10^-scale` as decimal text with exactly `scale` decimals (`-0.0500` for
/// (-500, 4)) into `buf`, returning the length. Never allocates.
pub fn write_fixed(mantissa: i64, scale: u8, buf: &mut [u8; 48]) -> usize {
    let mut digits = [0u8; 20];
    let mut n = 0;
    let mut m = mantissa.unsigned_abs();
    loop {
        digits[n] = b'0' + (m % 10) as u8;
        n += 1;
        m /= 10;
        if m == 0 {
            break;
        }
    }
    let scale = scale.min(MAX_SCALE) as usize;
    // Pad with zeros so that there is at least one integer digit.
    while n <= scale {
        digits[n] = b'0';
        n += 1;
    }
    let mut len = 0;
    if mantissa < 0 {
        buf[len] = b'-';
        len += 1;
    }
    for i in (0..n).rev() {
        buf[len] = digits[i];
        len += 1;
        if i == scale && scale > 0 {
            buf[len] = b'.';
            len += 1;
        }
    }
    len
}

/// `Display` for a mantissa at a scale, without allocating.
#[derive(Debug, Clone, Copy)]
pub struct FixedDisplay {
    pub mantissa: i64,
    pub scale: u8,
}

impl fmt::Display for FixedDisplay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; 48];
        let len = write_fixed(self.mantissa, self.scale, &mut buf);
        // The buffer holds only ASCII digits, '-' and '.'.
        f.pad(core::str::from_utf8(&buf[..len]).map_err(|_| fmt::Error)?)
    }
}

macro_rules! fixed_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        #[repr(transparent)]
        pub struct $name(pub i64);

        impl $name {
            pub const ZERO: $name = $name(0);

            /// Exact conversion of a parsed decimal to this type at `scale` decimals.
            /// Negative values are rejected.
            #[inline]
            pub fn from_decimal(d: Decimal, scale: u8) -> Result<$name, FixedError> {
                if d.mantissa < 0 {
                    return Err(FixedError::Negative);
                }
                d.to_scale(scale).map($name)
            }

            /// Parses number text (optionally quoted) at `scale` decimals.
            pub fn parse(text: &[u8], scale: u8) -> Result<$name, FixedError> {
                $name::from_decimal(Decimal::parse(text)?, scale)
            }

            /// The raw mantissa.
            #[inline]
            pub const fn raw(self) -> i64 {
                self.0
            }

            /// A `Display` of the value at `scale` decimals (`Price(286).display(4)` → `0.0286`).
            #[inline]
            pub const fn display(self, scale: u8) -> FixedDisplay {
                FixedDisplay { mantissa: self.0, scale }
            }
        }
    };
}

fixed_type!(
    /// A price as an integer count of the pair's price increment unit: the value times
    /// `10^price_precision`. Never negative when it comes from a parser.
    Price
);
fixed_type!(
    /// A quantity as an integer count of `10^-qty_precision` units. Never negative when it comes
    /// from a parser; zero means "remove the level" in a book update.
    Qty
);

/// `num / den` rounded to the nearest integer, ties away from zero. `None` when `den == 0`.
/// Exact for every `i128` input (it never forms `2 * num`), so strategies can divide sums of
/// products without going through `f64`.
#[inline]
pub fn div_round(num: i128, den: i128) -> Option<i128> {
    if den == 0 {
        return None;
    }
    let q = num.checked_div(den)?;
    let r = num.checked_rem(den)?;
    // |r| >= |den| - |r|  <=>  the remainder is at least half the divisor.
    let (ar, ad) = (r.unsigned_abs(), den.unsigned_abs());
    if ar >= ad - ar {
        let away = if (num < 0) == (den < 0) { 1 } else { -1 };
        q.checked_add(away)
    } else {
        Some(q)
    }
}

/// `value * 10^-from` expressed at `to` decimals, rounded to nearest (ties away from zero) when
/// `to < from`; `None` on overflow. Used for figures whose natural scale is the sum of two
/// scales (a notional is price x qty at `price_scale + qty_scale`).
#[inline]
pub fn rescale_i128(value: i128, from: u8, to: u8) -> Option<i128> {
    if to >= from {
        let f = pow10(to - from)?;
        value.checked_mul(f as i128)
    } else {
        let d = pow10(from - to)?;
        div_round(value, d as i128)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Result<Decimal, FixedError> {
        Decimal::parse(s.as_bytes())
    }

    #[test]
    fn parses_plain_numbers_keeping_written_scale() {
        assert_eq!(
            d("0.12290"),
            Ok(Decimal {
                mantissa: 12290,
                scale: 5
            })
        );
        assert_eq!(
            d("9705.60000000"),
            Ok(Decimal {
                mantissa: 970560000000,
                scale: 8
            })
        );
        assert_eq!(
            d("0.00000000"),
            Ok(Decimal {
                mantissa: 0,
                scale: 8
            })
        );
        assert_eq!(
            d("45283"),
            Ok(Decimal {
                mantissa: 45283,
                scale: 0
            })
        );
        assert_eq!(
            d("-0.17"),
            Ok(Decimal {
                mantissa: -17,
                scale: 2
            })
        );
        assert_eq!(
            d("\"45283.5\""),
            Ok(Decimal {
                mantissa: 452835,
                scale: 1
            })
        );
    }

    #[test]
    fn parses_exponent_notation() {
        assert_eq!(
            d("1e-08"),
            Ok(Decimal {
                mantissa: 1,
                scale: 8
            })
        );
        assert_eq!(
            d("5e-05"),
            Ok(Decimal {
                mantissa: 5,
                scale: 5
            })
        );
        assert_eq!(
            d("1.5E+3"),
            Ok(Decimal {
                mantissa: 1500,
                scale: 0
            })
        );
        assert_eq!(
            d("2.5e1"),
            Ok(Decimal {
                mantissa: 25,
                scale: 0
            })
        );
        assert_eq!(
            d("0e5"),
            Ok(Decimal {
                mantissa: 0,
                scale: 0
            })
        );
        assert_eq!(Qty::parse(b"1e-08", 8), Ok(Qty(1)));
        assert_eq!(Qty::parse(b"5e-05", 8), Ok(Qty(5000)));
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "", "-", ".", "abc", "1.2.3", "1e", "1e+", "1x", "\"1", "1\"", "--1", "1e1000", "0x10",
            " 1",
        ] {
            assert!(d(bad).is_err(), "{bad:?} should be rejected");
        }
        assert_eq!(d(""), Err(FixedError::Empty));
        assert_eq!(d("12a"), Err(FixedError::Invalid));
    }

    #[test]
    fn rescales_exactly_or_rejects() {
        assert_eq!(Price::parse(b"0.566", 4), Ok(Price(5660)));
        assert_eq!(Price::parse(b"0.56600", 4), Ok(Price(5660)));
        assert_eq!(Price::parse(b"0.56601", 4), Err(FixedError::TooPrecise));
        assert_eq!(Qty::parse(b"-1", 8), Err(FixedError::Negative));
        assert_eq!(
            Qty::parse(b"92233720368.54775808", 8),
            Err(FixedError::Overflow)
        );
        assert_eq!(Qty::parse(b"92233720368.54775807", 8), Ok(Qty(i64::MAX)));
        assert_eq!(Qty::parse(b"100000000000", 8), Err(FixedError::Overflow));
    }

    #[test]
    fn folds_long_trailing_zeros() {
        // 24 decimals fold down to the 18 that fit, value unchanged.
        let long = d("1.000000000000000000000000");
        assert_eq!(
            long,
            Ok(Decimal {
                mantissa: 1_000_000_000_000_000_000,
                scale: 18
            })
        );
        assert_eq!(long.and_then(|v| v.to_scale(0)), Ok(1));
        assert_eq!(d("0.0000000000000000001"), Err(FixedError::TooPrecise));
    }

    #[test]
    fn writes_fixed_text() {
        let cases: [(i64, u8, &str); 6] = [
            (286, 4, "0.0286"),
            (452835, 1, "45283.5"),
            (-500, 4, "-0.0500"),
            (0, 8, "0.00000000"),
            (7, 0, "7"),
            (i64::MIN, 0, "-9223372036854775808"),
        ];
        for (m, s, want) in cases {
            assert_eq!(
                FixedDisplay {
                    mantissa: m,
                    scale: s
                }
                .to_string(),
                want
            );
        }
    }

    #[test]
    fn significant_scale_drops_trailing_zeros() {
        assert_eq!(d("0.50000").map(Decimal::significant_scale), Ok(1));
        assert_eq!(d("10.00").map(Decimal::significant_scale), Ok(0));
    }

    proptest::proptest! {
        #[test]
        fn roundtrips_through_text(m in any_mantissa(), s in 0u8..=12) {
            let mut buf = [0u8; 48];
            let len = write_fixed(m, s, &mut buf);
            let parsed = Decimal::parse(&buf[..len]).unwrap();
            proptest::prop_assert_eq!(parsed.to_scale(s), Ok(m));
        }
    }

    #[test]
    fn divides_rounding_half_away_from_zero() {
        assert_eq!(div_round(7, 2), Some(4));
        assert_eq!(div_round(-7, 2), Some(-4));
        assert_eq!(div_round(7, -2), Some(-4));
        assert_eq!(div_round(5, 3), Some(2));
        assert_eq!(div_round(4, 3), Some(1));
        assert_eq!(div_round(-4, 3), Some(-1));
        assert_eq!(div_round(1, 0), None);
        assert_eq!(div_round(i128::MAX, i128::MAX), Some(1));
        assert_eq!(div_round(i128::MAX, 2), Some(i128::MAX / 2 + 1));
        assert_eq!(rescale_i128(12345, 4, 2), Some(123));
        assert_eq!(rescale_i128(12350, 4, 2), Some(124));
        assert_eq!(rescale_i128(123, 2, 4), Some(12300));
    }

    fn any_mantissa() -> impl proptest::strategy::Strategy<Value = i64> {
        proptest::prelude::any::<i64>().prop_map(|v| v / 1000)
    }
    use proptest::strategy::Strategy as _;
}
