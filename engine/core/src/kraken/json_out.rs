//! A JSON output cursor over a caller's byte buffer: the one place outgoing requests are
//! serialised (the market-data requests of [`super::request`] now, order entry next).
//!
//! Owns [`JsonOut`]. Invariants: it never allocates and never panics; every write either appends
//! all of its bytes or returns [`WriteError::BufferTooSmall`] (the bytes after the last complete
//! write are then unspecified); strings are JSON-escaped so any text yields valid JSON. It knows
//! nothing of Kraken's message shapes.

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
