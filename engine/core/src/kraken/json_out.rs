//! A JSON output cursor over a caller's byte buffer: the one place outgoing requests are
//! serialised, for the market-data requests ([`super::request`]) and order entry
//! ([`crate::trading::writer`]).
//!
//! Owns [`JsonOut`]. Invariants: it never allocates and never panics; every write either appends
//! all of its bytes or returns [`WriteError::BufferTooSmall`] (the bytes after the last complete
//! write are then unspecified); strings are JSON-escaped so any text yields valid JSON; decimals
//! are written exactly from an integer mantissa and scale, never through `f64`. It knows nothing
//! of Kraken's message shapes.

use kspin_api::fixed::{write_fixed, MAX_SCALE};

use super::request::WriteError;

/// A cursor over the caller's buffer: `len` bytes of it are written.
pub(crate) struct JsonOut<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl<'b> JsonOut<'b> {
    /// A cursor at the start of `buf`.
    #[inline]
    pub(crate) fn new(buf: &'b mut [u8]) -> Self {
        JsonOut { buf, len: 0 }
    }

    /// Bytes written so far.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Appends `bytes` verbatim (the caller guarantees they are valid JSON in place).
    #[inline]
    pub(crate) fn raw(&mut self, bytes: &[u8]) -> Result<(), WriteError> {
        let end = self
            .len
            .checked_add(bytes.len())
            .ok_or(WriteError::BufferTooSmall)?;
        let dst = self
            .buf
            .get_mut(self.len..end)
            .ok_or(WriteError::BufferTooSmall)?;
        dst.copy_from_slice(bytes);
        self.len = end;
        Ok(())
    }

    /// An unsigned integer as a JSON number.
    pub(crate) fn u64(&mut self, mut v: u64) -> Result<(), WriteError> {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        self.raw(&digits[i..])
    }

    /// `true` or `false`.
    #[inline]
    pub(crate) fn bool(&mut self, v: bool) -> Result<(), WriteError> {
        self.raw(if v { b"true" } else { b"false" })
    }

    /// The exact decimal `mantissa * 10^-scale` as a JSON number with exactly `scale` decimals
    /// (`(265004, 1)` → `26500.4`, `(125000000, 8)` → `1.25000000`), through
    /// [`kspin_api::fixed::write_fixed`]. A scale above [`MAX_SCALE`] cannot be written exactly
    /// by it and is [`WriteError::ScaleTooLarge`], never rounded.
    pub(crate) fn fixed(&mut self, mantissa: i64, scale: u8) -> Result<(), WriteError> {
        if scale > MAX_SCALE {
            return Err(WriteError::ScaleTooLarge);
        }
        let mut text = [0u8; 48];
        let len = write_fixed(mantissa, scale, &mut text);
        self.raw(text.get(..len).ok_or(WriteError::BufferTooSmall)?)
    }

    /// A JSON string literal with `"`, `\` and control characters escaped.
    pub(crate) fn string(&mut self, s: &str) -> Result<(), WriteError> {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        self.raw(b"\"")?;
        let bytes = s.as_bytes();
        let mut run = 0;
        for (i, &c) in bytes.iter().enumerate() {
            let esc: Option<&[u8]> = match c {
                b'"' => Some(b"\\\""),
                b'\\' => Some(b"\\\\"),
                b'\n' => Some(b"\\n"),
                b'\r' => Some(b"\\r"),
                b'\t' => Some(b"\\t"),
                0..=0x1f => None,
                _ => continue,
            };
            self.raw(&bytes[run..i])?;
            match esc {
                Some(e) => self.raw(e)?,
                None => self.raw(&[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[(c >> 4) as usize],
                    HEX[(c & 15) as usize],
                ])?,
            }
            run = i + 1;
        }
        self.raw(&bytes[run..])?;
        self.raw(b"\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(f: impl FnOnce(&mut JsonOut<'_>) -> Result<(), WriteError>) -> String {
        let mut buf = [0u8; 128];
        let mut out = JsonOut::new(&mut buf);
        f(&mut out).unwrap();
        let n = out.len();
        String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    #[test]
    fn writes_exact_decimals_and_booleans() {
        assert_eq!(written(|o| o.fixed(265_004, 1)), "26500.4");
        assert_eq!(written(|o| o.fixed(125_000_000, 8)), "1.25000000");
        assert_eq!(written(|o| o.fixed(-500, 4)), "-0.0500");
        assert_eq!(written(|o| o.fixed(0, 0)), "0");
        assert_eq!(written(|o| o.fixed(i64::MIN, 18)), "-9.223372036854775808");
        assert_eq!(written(|o| o.fixed(1, 18)), "0.000000000000000001");
        assert_eq!(written(|o| o.bool(true)), "true");
        assert_eq!(written(|o| o.bool(false)), "false");
        assert_eq!(written(|o| o.u64(u64::MAX)), "18446744073709551615");
    }

    #[test]
    fn refuses_a_scale_it_cannot_write_exactly() {
        let mut buf = [0u8; 64];
        let mut out = JsonOut::new(&mut buf);
        assert_eq!(out.fixed(1, 19), Err(WriteError::ScaleTooLarge));
        assert_eq!(out.len(), 0);
    }

    #[test]
    fn a_decimal_that_does_not_fit_is_an_error() {
        for cap in 0..7 {
            let mut buf = vec![0u8; cap];
            let mut out = JsonOut::new(&mut buf);
            assert_eq!(out.fixed(265_004, 1), Err(WriteError::BufferTooSmall));
        }
        let mut buf = [0u8; 4];
        let mut out = JsonOut::new(&mut buf);
        assert_eq!(out.bool(false), Err(WriteError::BufferTooSmall));
        assert_eq!(out.bool(true), Ok(()));
    }
}
