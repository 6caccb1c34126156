//! Scalar tokens: the raw JSON text of a number, boolean or integer field, turned into a typed
//! value exactly.
//!
//! Owns the integer, boolean and decimal readers shared by the sonic-rs path and the scanner.
//! Invariants: numbers are read from their text (never through `f64`); integers accept only
//! plain digits (optionally quoted, as some sources quote numbers) and report overflow instead
//! of wrapping. It never allocates and never panics.

use kspin_api::{Decimal, FixedError};

use super::error::DecodeError;

/// True when `raw` starts like a JSON container, string-less literal or string that cannot be a
/// number: used to tell a wrong type from a bad number.
#[inline]
fn is_not_numberish(raw: &[u8]) -> bool {
    matches!(raw.first(), Some(b'{' | b'[' | b't' | b'f' | b'n') | None)
}

#[inline]
fn unquote(raw: &[u8]) -> &[u8] {
    match raw {
        [b'"', inner @ .., b'"'] => inner,
        _ => raw,
    }
}

/// An exact decimal from number text (`0.0286`, `1e-08`, `"45283.5"`).
#[inline]
pub(crate) fn decimal(raw: &[u8], field: &'static str) -> Result<Decimal, DecodeError> {
    match Decimal::parse(raw) {
        Ok(d) => Ok(d),
        Err(_) if is_not_numberish(raw) => Err(DecodeError::WrongType(field)),
        Err(error) => Err(DecodeError::BadNumber { field, error }),
    }
}

/// An unsigned integer from plain digits (`14949390454975033707` fits: u64, not i64).
#[inline]
pub(crate) fn unsigned(raw: &[u8], field: &'static str) -> Result<u64, DecodeError> {
    if is_not_numberish(raw) {
        return Err(DecodeError::WrongType(field));
    }
    let digits = unquote(raw);
    if digits.is_empty() {
        return Err(DecodeError::BadNumber {
            field,
            error: FixedError::Empty,
        });
    }
    let mut value: u64 = 0;
    for &b in digits {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return Err(DecodeError::BadNumber {
                field,
                error: FixedError::Invalid,
            });
        }
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(d)))
            .ok_or(DecodeError::BadNumber {
                field,
                error: FixedError::Overflow,
            })?;
    }
    Ok(value)
}

/// An unsigned integer that must fit `T` (u32 checksums, u16 depths, u8 precisions).
#[inline]
pub(crate) fn unsigned_as<T: TryFrom<u64>>(
    raw: &[u8],
    field: &'static str,
) -> Result<T, DecodeError> {
    T::try_from(unsigned(raw, field)?).map_err(|_| DecodeError::BadNumber {
        field,
        error: FixedError::Overflow,
    })
}

/// `true` / `false`.
#[inline]
pub(crate) fn boolean(raw: &[u8], field: &'static str) -> Result<bool, DecodeError> {
    match raw {
        b"true" => Ok(true),
        b"false" => Ok(false),
        _ => Err(DecodeError::WrongType(field)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsigned_reads_full_u64_and_rejects_the_rest() {
        assert_eq!(
            unsigned(b"14949390454975033707", "id"),
            Ok(14_949_390_454_975_033_707)
        );
        assert_eq!(unsigned(b"18446744073709551615", "id"), Ok(u64::MAX));
        assert_eq!(
            unsigned(b"18446744073709551616", "id"),
            Err(DecodeError::BadNumber {
                field: "id",
                error: FixedError::Overflow
            })
        );
        assert_eq!(unsigned(b"\"42\"", "id"), Ok(42));
        assert_eq!(
            unsigned(b"-1", "id"),
            Err(DecodeError::BadNumber {
                field: "id",
                error: FixedError::Invalid
            })
        );
        assert_eq!(
            unsigned(b"1.5", "id"),
            Err(DecodeError::BadNumber {
                field: "id",
                error: FixedError::Invalid
            })
        );
        assert_eq!(unsigned(b"true", "id"), Err(DecodeError::WrongType("id")));
        assert_eq!(unsigned(b"{}", "id"), Err(DecodeError::WrongType("id")));
        assert_eq!(
            unsigned(b"\"\"", "id"),
            Err(DecodeError::BadNumber {
                field: "id",
                error: FixedError::Empty
            })
        );
        assert_eq!(
            unsigned_as::<u16>(b"70000", "depth"),
            Err(DecodeError::BadNumber {
                field: "depth",
                error: FixedError::Overflow
            })
        );
        assert_eq!(
            unsigned_as::<u32>(b"2439117997", "checksum"),
            Ok(2_439_117_997u32)
        );
    }

    #[test]
    fn decimal_and_boolean() {
        assert_eq!(
            decimal(b"1e-08", "q"),
            Ok(Decimal {
                mantissa: 1,
                scale: 8
            })
        );
        assert_eq!(decimal(b"null", "q"), Err(DecodeError::WrongType("q")));
        assert_eq!(
            decimal(b"1.2.3", "q"),
            Err(DecodeError::BadNumber {
                field: "q",
                error: FixedError::Invalid
            })
        );
        assert_eq!(boolean(b"true", "b"), Ok(true));
        assert_eq!(boolean(b"false", "b"), Ok(false));
        assert_eq!(boolean(b"1", "b"), Err(DecodeError::WrongType("b")));
    }
}
