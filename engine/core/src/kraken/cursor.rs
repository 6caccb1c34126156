//! The byte cursor of the book/trade scanner (`scan.rs`): whitespace, literals, strings, JSON
//! numbers and exact decimals, each read in one pass over the frame bytes.
//!
//! Owns [`Cur`]. Invariants: every method either consumes exactly the token it names and returns
//! it, or returns `None` (the scanner then declines the whole frame); every byte it consumes is
//! ASCII (strings stop at any byte above 0x7f), which is what lets the decoder skip a UTF-8 pass
//! for accepted frames. It never allocates and never panics (all indexing is checked).

use kspin_api::Decimal;

use super::arena::Span;

/// A cursor over the frame bytes. Every method returns `None` to decline.
pub(super) struct Cur<'a> {
    pub(super) b: &'a [u8],
    pub(super) i: usize,
}

impl<'a> Cur<'a> {
    #[inline(always)]
    pub(super) fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    /// Skips JSON whitespace and returns the next byte without consuming it.
    #[inline(always)]
    pub(super) fn peek_ws(&mut self) -> Option<u8> {
        loop {
            let c = self.peek()?;
            if matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
                self.i += 1;
            } else {
                return Some(c);
            }
        }
    }

    #[inline(always)]
    pub(super) fn eat(&mut self, want: u8) -> Option<()> {
        if self.peek_ws()? == want {
            self.i += 1;
            Some(())
        } else {
            None
        }
    }

    /// A string without escapes, control characters or non-ASCII bytes: its content as
    /// (start, len). Eight bytes at a time (SWAR): Kraken's timestamps are 27 bytes.
    #[inline(always)]
    pub(super) fn string(&mut self) -> Option<(usize, usize)> {
        self.eat(b'"')?;
        let start = self.i;
        loop {
            if let Some(chunk) = self.b.get(self.i..self.i + 8) {
                let mut word = [0u8; 8];
                word.copy_from_slice(chunk);
                let stop = special_bytes(u64::from_le_bytes(word));
                if stop == 0 {
                    self.i += 8;
                    continue;
                }
                self.i += (stop.trailing_zeros() / 8) as usize;
            }
            let c = self.peek()?;
            self.i += 1;
            match c {
                b'"' => return Some((start, self.i - 1 - start)),
                b'\\' | 0..=0x1f | 0x80..=0xff => return None,
                _ => {}
            }
        }
    }

    /// The whole frame as text, once the scanner has consumed every byte of it through this
    /// cursor's methods; `None` while any byte is left.
    ///
    /// This is the one place the scanner's ASCII invariant is relied on (the decoder skips a
    /// UTF-8 pass for accepted frames): every method of `Cur` admits only ASCII bytes, so a frame
    /// consumed to its end is ASCII. The `decode_frame` fuzz target and the differential tests
    /// run this with debug assertions on.
    #[inline(always)]
    pub(super) fn into_text(self) -> Option<&'a str> {
        if self.i != self.b.len() {
            return None;
        }
        debug_assert!(self.b.is_ascii(), "the scanner consumed a non-ASCII byte");
        // SAFETY: `self.i == self.b.len()`: every byte of `self.b` was consumed by a method of
        // `Cur`, each of which admits only ASCII (module invariant; strings stop at any byte
        // above 0x7f), and ASCII is valid UTF-8.
        Some(unsafe { core::str::from_utf8_unchecked(self.b) })
    }

    #[inline(always)]
    pub(super) fn str_bytes(&mut self) -> Option<&'a [u8]> {
        let (start, len) = self.string()?;
        self.b.get(start..start + len)
    }

    #[inline(always)]
    pub(super) fn str_span(&mut self) -> Option<Span> {
        let (start, len) = self.string()?;
        Span::frame(start, len)
    }

    /// Consumes `text` if the input continues with exactly it. The length is a constant, so the
    /// comparison compiles to a few word compares instead of a `memcmp` call.
    #[inline(always)]
    pub(super) fn lit<const N: usize>(&mut self, text: &[u8; N]) -> bool {
        match self.b.get(self.i..self.i + N) {
            Some(got) if got == text => {
                self.i += N;
                true
            }
            _ => false,
        }
    }

    /// An object key followed by its colon.
    #[inline(always)]
    pub(super) fn key(&mut self) -> Option<&'a [u8]> {
        let k = self.str_bytes()?;
        self.eat(b':')?;
        Some(k)
    }

    /// After a member or element: `true` on `,`, `false` on `close`.
    #[inline(always)]
    pub(super) fn next_or_close(&mut self, close: u8) -> Option<bool> {
        let c = self.peek_ws()?;
        self.i += 1;
        if c == b',' {
            Some(true)
        } else if c == close {
            Some(false)
        } else {
            None
        }
    }

    #[inline(always)]
    pub(super) fn digits(&mut self) -> usize {
        let start = self.i;
        while let Some(c) = self.peek() {
            if !c.is_ascii_digit() {
                break;
            }
            self.i += 1;
        }
        self.i - start
    }

    /// A number token in JSON's grammar: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    /// Returns its text and whether it is a plain decimal (no exponent).
    #[inline(always)]
    pub(super) fn number(&mut self) -> Option<(&'a [u8], bool)> {
        self.peek_ws()?;
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek()? {
            b'0' => self.i += 1,
            b'1'..=b'9' => {
                self.digits();
            }
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return None;
            }
        }
        let mut plain = true;
        if matches!(self.peek(), Some(b'e' | b'E')) {
            plain = false;
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if self.digits() == 0 {
                return None;
            }
        }
        Some((self.b.get(start..self.i)?, plain))
    }

    /// An exact decimal, in one pass over the token. Plain tokens of up to 18 digits are
    /// folded here (the result equals `Decimal::parse`: mantissa = all digits, scale =
    /// fraction digits); anything else is validated as a JSON number and handed to
    /// `Decimal::parse`; any error declines.
    #[inline(always)]
    pub(super) fn decimal(&mut self) -> Option<Decimal> {
        self.peek_ws()?;
        let start = self.i;
        let neg = self.peek() == Some(b'-');
        if neg {
            self.i += 1;
        }
        let mut m: i64 = 0;
        let n = match self.peek()? {
            b'0' => {
                self.i += 1;
                1
            }
            b'1'..=b'9' => self.fold_digits(&mut m),
            _ => return None,
        };
        let mut scale = 0u32;
        if self.peek() == Some(b'.') {
            self.i += 1;
            scale = self.fold_digits(&mut m);
            if scale == 0 {
                return None;
            }
        }
        if n + scale <= 18 && !matches!(self.peek(), Some(b'e' | b'E')) {
            return Some(Decimal {
                mantissa: if neg { -m } else { m },
                scale: scale as u8,
            });
        }
        // Long or exponent form: validate the rest of the token, then the exact general parser.
        self.i = start;
        let (tok, _) = self.number()?;
        Decimal::parse(tok).ok()
    }

    /// Folds the ASCII digits at the cursor into `m` (wrapping; the caller bounds the count)
    /// and consumes them; returns how many. Iterates the remaining bytes, so there is no bounds
    /// check per digit.
    #[inline(always)]
    pub(super) fn fold_digits(&mut self, m: &mut i64) -> u32 {
        let rest = self.b.get(self.i..).unwrap_or(&[]);
        let mut k = 0;
        for &c in rest {
            let d = c.wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            *m = m.wrapping_mul(10).wrapping_add(i64::from(d));
            k += 1;
        }
        self.i += k;
        k as u32
    }

    /// A JSON integer that fits a u64 (no sign, fraction or exponent).
    #[inline(always)]
    pub(super) fn unsigned(&mut self) -> Option<u64> {
        let (tok, plain) = self.number()?;
        if !plain || !tok.iter().all(u8::is_ascii_digit) {
            return None;
        }
        if tok.len() <= 19 {
            // Up to 19 digits cannot overflow a u64.
            return Some(tok.iter().fold(0u64, |v, &c| v * 10 + u64::from(c - b'0')));
        }
        let mut v: u64 = 0;
        for &c in tok {
            v = v
                .checked_mul(10)?
                .checked_add(u64::from(c.wrapping_sub(b'0')))?;
        }
        Some(v)
    }
}

/// A mask with the top bit set in every byte of `word` that is `"`, `\\`, below 0x20 or above
/// 0x7f (the bytes a plain string scan must stop at); zero when there is none.
#[inline(always)]
fn special_bytes(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let quote = has_zero(word ^ (ONES * u64::from(b'"')));
    let backslash = has_zero(word ^ (ONES * u64::from(b'\\')));
    // Bytes below 0x20: subtracting 0x20 borrows into the top bit (exact for ASCII bytes).
    let control = word.wrapping_sub(ONES * 0x20) & !word & HIGH;
    quote | backslash | control | (word & HIGH)
}
