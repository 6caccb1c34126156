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

    /// A string of exactly `LEN` bytes from `'-'..='Z'` (Kraken's 27-byte timestamps, digits and
    /// `-:.TZ`): the bytes are checked as whole words ([`outside_dash_to_z`]), with no loop, when
    /// the closing quote sits where expected; any other string goes through [`Cur::string`]
    /// (same result, only slower: that range holds no byte a string scan stops at).
    #[inline(always)]
    pub(super) fn fixed_str_span<const LEN: usize>(&mut self) -> Option<Span> {
        const { assert!(LEN >= 8) };
        let open = self.i;
        let first = open + 1;
        if let (Some(&b'"'), Some(text), Some(&b'"')) = (
            self.b.get(open),
            self.b.get(first..first + LEN),
            self.b.get(first + LEN),
        ) {
            if all_dash_to_z::<LEN>(text) {
                self.i = first + LEN + 1;
                return Span::frame(first, LEN);
            }
        }
        self.str_span()
    }

    /// `open`, a string of at most 15 bytes from `'-'..='Z'` (Kraken's symbols: capitals,
    /// digits, `/`, `-`, `.`), then `close`, all at the cursor (`open` ends with the string's
    /// opening quote, `close` starts with its closing one): the string's span, with all of it
    /// consumed, all in one window with one bounds check. The string ends at the first byte
    /// outside that range ([`outside_dash_to_z`], found in two words), which must be the
    /// closing quote; every byte before it is then one a string scan passes over (none is a
    /// quote, a backslash, a control or a non-ASCII byte), so the general reader ends the string
    /// at the same quote. `None`, consuming nothing, on anything else (another byte in the
    /// string, or fewer than `16 + close.len()` bytes after the opening quote); the caller then
    /// reads the three parts one by one (the same result wherever this accepts, only slower).
    #[inline(always)]
    pub(super) fn framed_short_str(&mut self, open: &[u8], close: &[u8]) -> Option<Span> {
        debug_assert!(open.ends_with(b"\"") && close.starts_with(b"\""));
        let first = self.i + open.len();
        let window = self.b.get(self.i..first + 16 + close.len())?;
        let (head, rest) = window.split_at_checked(open.len())?;
        let text = rest.get(..16)?;
        if head != open {
            return None;
        }
        let word = |at: usize| -> u64 {
            let mut w = [0u8; 8];
            if let Some(chunk) = text.get(at..at + 8) {
                w.copy_from_slice(chunk);
            }
            u64::from_le_bytes(w)
        };
        // The first byte outside `'-'..='Z'` in the 16 bytes after the opening quote.
        let low = outside_dash_to_z(word(0)) & HIGH;
        let len = if low != 0 {
            (low.trailing_zeros() / 8) as usize
        } else {
            let high = outside_dash_to_z(word(8)) & HIGH;
            if high == 0 {
                return None;
            }
            8 + (high.trailing_zeros() / 8) as usize
        };
        // Inside the window: `len` is at most 15.
        if rest.get(len..len + close.len())? != close {
            return None;
        }
        self.i = first + len + close.len();
        Span::frame(first, len)
    }

    /// `open`, a string of exactly `LEN` bytes from `'-'..='Z'`, then `close`, all at the cursor
    /// and in one bounds check (`open` ends with the string's opening quote, `close` starts with
    /// its closing one): the string's span, with all of it consumed. `None`, consuming nothing,
    /// on anything else; the caller then reads the three parts one by one (the same result
    /// wherever this accepts, only slower).
    #[inline(always)]
    pub(super) fn framed_fixed_str<const LEN: usize>(
        &mut self,
        open: &[u8],
        close: &[u8],
    ) -> Option<Span> {
        debug_assert!(open.ends_with(b"\"") && close.starts_with(b"\""));
        let first = self.i + open.len();
        let end = first + LEN + close.len();
        let all = self.b.get(self.i..end)?;
        let (head, rest) = all.split_at_checked(open.len())?;
        let (text, tail) = rest.split_at_checked(LEN)?;
        if head != open || tail != close || !all_dash_to_z::<LEN>(text) {
            return None;
        }
        self.i = end;
        Span::frame(first, LEN)
    }

    #[inline(always)]
    pub(super) fn str_span(&mut self) -> Option<Span> {
        let (start, len) = self.string()?;
        Span::frame(start, len)
    }

    /// Consumes `text` if the input continues with exactly it. The length is a constant, so the
    /// comparison compiles to a few word compares instead of a `memcmp` call ([`same_bytes`]).
    #[inline(always)]
    pub(super) fn lit<const N: usize>(&mut self, text: &[u8; N]) -> bool {
        match self.b.get(self.i..self.i + N) {
            Some(got) if same_bytes(got, text) => {
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
    /// and consumes them; returns how many. Eight bytes at a time while eight remain
    /// ([`leading_digits`]), then byte by byte: the same result as folding one digit at a time
    /// (`m·10ⁿ + v` and n steps of `m·10 + d` agree modulo 2⁶⁴).
    #[inline(always)]
    pub(super) fn fold_digits(&mut self, m: &mut i64) -> u32 {
        let mut k = 0u32;
        while let Some(chunk) = self.b.get(self.i..self.i + 8) {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            let (n, v) = leading_digits(u64::from_le_bytes(word));
            *m = m.wrapping_mul(POW10[n as usize]).wrapping_add(v as i64);
            self.i += n as usize;
            k += n;
            if n < 8 {
                return k;
            }
        }
        let rest = self.b.get(self.i..).unwrap_or(&[]);
        let mut tail = 0;
        for &c in rest {
            let d = c.wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            *m = m.wrapping_mul(10).wrapping_add(i64::from(d));
            tail += 1;
        }
        self.i += tail;
        k + tail as u32
    }

    /// A JSON integer that fits a u64 (no sign, fraction or exponent). Up to 18 digits are
    /// folded in one pass; longer tokens go through the checked path.
    #[inline(always)]
    pub(super) fn unsigned(&mut self) -> Option<u64> {
        let start = self.i;
        match self.peek_ws()? {
            b'0' => {
                self.i += 1;
                if matches!(self.peek(), Some(b'.' | b'e' | b'E' | b'0'..=b'9')) {
                    return None;
                }
                return Some(0);
            }
            b'1'..=b'9' => {
                let token = self.i;
                let mut m = 0i64;
                let n = self.fold_digits(&mut m);
                if n <= 18 {
                    if matches!(self.peek(), Some(b'.' | b'e' | b'E')) {
                        return None;
                    }
                    // At most 18 digits: below 10¹⁸, so the fold did not wrap.
                    return Some(m as u64);
                }
                self.i = token;
            }
            _ => return None,
        }
        let (tok, plain) = self.number()?;
        if !plain || !tok.iter().all(u8::is_ascii_digit) {
            self.i = start;
            return None;
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

/// Whether `got` equals `want`. From 8 bytes on, as the XOR of whole 8-byte words (the last one
/// overlapping), OR-ed together and tested once: the constant `N` unrolls it, where the slice
/// comparison calls `memcmp` for literals longer than about 32 bytes (a frame's 40-byte
/// `"channel":..,"data":` prefix). A `got` of another length is unequal.
#[inline(always)]
fn same_bytes<const N: usize>(got: &[u8], want: &[u8; N]) -> bool {
    if N < 8 || got.len() != N {
        return got == want;
    }
    // Every window below is inside the N bytes of both (`got.len() == N`); one that were not
    // would read as zeros in both and hide a difference.
    let word = |b: &[u8], at: usize| -> u64 {
        let mut w = [0u8; 8];
        if let Some(chunk) = b.get(at..at + 8) {
            w.copy_from_slice(chunk);
        }
        u64::from_le_bytes(w)
    };
    let mut diff = word(got, N - 8) ^ word(want, N - 8);
    let mut at = 0;
    while at + 8 < N {
        diff |= word(got, at) ^ word(want, at);
        at += 8;
    }
    diff == 0
}

/// Powers of ten up to 10⁸, for folding a run of `n ≤ 8` digits into a mantissa.
pub(super) const POW10: [i64; 9] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
];

/// The ASCII digits at the start of `word` (the first byte in memory is the least significant,
/// as `u64::from_le_bytes` reads it): how many (0 to 8) and their decimal value.
///
/// SWAR: subtracting `'0'` from every byte leaves a digit's value (0–9) in its byte; a byte is not
/// a digit when that difference is above 9, which adding 0x76 carries into the byte's top bit.
/// Borrows and carries only travel towards later bytes, and only out of a byte that is not a
/// digit, so every byte before the first non-digit is judged exactly. The digits are then folded
/// by [`fold_top`].
#[inline(always)]
pub(super) fn leading_digits(word: u64) -> (u32, u64) {
    let (n, v) = digit_run(word);
    if n == 0 {
        return (0, 0);
    }
    (n, fold_top(v, n))
}

/// [`leading_digits`] before the fold: how many ASCII digits `word` starts with (0 to 8), and
/// `word` with `'0'` taken from every byte, which holds those digits' values in their bytes (the
/// bytes after them are meaningless).
#[inline(always)]
pub(super) fn digit_run(word: u64) -> (u32, u64) {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let v = word.wrapping_sub(ONES * u64::from(b'0'));
    let not_digit = (v.wrapping_add(ONES * 0x76) | v) & HIGH;
    let n = if not_digit == 0 {
        8
    } else {
        not_digit.trailing_zeros() / 8
    };
    (n, v)
}

/// The decimal value of the `n` (1 to 8) digit values in the low `n` bytes of `d` (the first,
/// most significant digit in the lowest byte; whatever the bytes above them hold is ignored).
///
/// The digits are shifted to the top of the word (the bytes above them fall off; zeros, that is
/// leading zero digits, come in) and combined pairwise: 8 × 1 digit → 4 × 2 → 2 × 4 → 1 × 8, each
/// step one multiply.
#[inline(always)]
pub(super) fn fold_top(d: u64, n: u32) -> u64 {
    debug_assert!((1..=8).contains(&n));
    let mut d = d << (8 * (8 - n));
    d = d.wrapping_mul(10).wrapping_add(d >> 8) & 0x00FF_00FF_00FF_00FF;
    d = d.wrapping_mul(100).wrapping_add(d >> 16) & 0x0000_FFFF_0000_FFFF;
    d.wrapping_mul(10_000).wrapping_add(d >> 32) & 0xFFFF_FFFF
}

/// Whether `text`, which must be `LEN` bytes long (anything else is `false`), is all bytes from
/// `'-'..='Z'`: whole words, no loop (the constant bounds unroll it), the last one overlapping.
#[inline(always)]
fn all_dash_to_z<const LEN: usize>(text: &[u8]) -> bool {
    const { assert!(LEN >= 8) };
    if text.len() != LEN {
        return false;
    }
    // Every window below is inside the LEN bytes; one that were not would read as all-outside.
    let word = |at: usize| -> u64 {
        let mut w = [0xffu8; 8];
        if let Some(chunk) = text.get(at..at + 8) {
            w.copy_from_slice(chunk);
        }
        u64::from_le_bytes(w)
    };
    let mut stop = outside_dash_to_z(word(LEN - 8));
    let mut at = 0;
    while at + 8 < LEN {
        stop |= outside_dash_to_z(word(at));
        at += 8;
    }
    stop & HIGH == 0
}

/// The top bit of each byte.
const HIGH: u64 = 0x8080_8080_8080_8080;

/// A word whose [`HIGH`] bits are all clear when every byte of `word` is inside `'-'..='Z'`
/// (0x2d–0x5a), and set in the first byte (the least significant) outside it otherwise; the
/// other bits are meaningless. Callers ask whether any byte is outside, or which is the first.
///
/// Per byte `b`, `b − 0x2d` has its top bit set when `b < 0x2d` (it borrows) or `b ≥ 0xad`, and
/// `b + (0x7f − 0x5a)` when `0x5a < b < 0xdb`: between them every byte outside the range. A byte
/// inside the range neither borrows nor carries, so every byte up to the first outside one is
/// judged exactly; what a borrow or carry out of that byte does to later bytes does not matter.
#[inline(always)]
fn outside_dash_to_z(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    word.wrapping_sub(ONES * 0x2d) | word.wrapping_add(ONES * (0x7f - 0x5a))
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The one-digit-at-a-time fold the SWAR version must equal.
    fn fold_bytewise(b: &[u8], m: &mut i64) -> u32 {
        let mut k = 0;
        for &c in b {
            let d = c.wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            *m = m.wrapping_mul(10).wrapping_add(i64::from(d));
            k += 1;
        }
        k
    }

    #[test]
    fn a_fixed_length_string_equals_the_general_string() {
        let spans = |text: &[u8]| {
            let mut fixed = Cur { b: text, i: 0 };
            let mut general = Cur { b: text, i: 0 };
            let got = fixed.fixed_str_span::<27>();
            let want = general.str_span();
            assert_eq!(
                got.is_some(),
                want.is_some(),
                "{}",
                String::from_utf8_lossy(text)
            );
            if got.is_some() {
                assert_eq!(fixed.i, general.i);
                assert_eq!(got, want);
            }
            got.and(Some(fixed.i))
        };
        assert_eq!(spans(br#""2025-11-22T08:26:40.108000Z"}"#), Some(29));
        // Another length, or a special byte inside: the general path decides.
        assert_eq!(spans(br#""2025-11-22T08:26:40.1080Z"}"#), Some(27));
        assert_eq!(spans(br#""2025-11-22T08:26:40.1\u0030Z""#), None);
        assert_eq!(spans(b"\"2025-11-22T08:26\x7f40.108000Z\""), Some(29));
        assert_eq!(spans("\"2025-11-22T08:26é0.10800Z\"".as_bytes()), None);
        assert_eq!(spans(b"\"2025-11-22T08:26\n40.108000Z\""), None);
        assert_eq!(spans(br#""2025-11-22T08:26:40.108000Z"#), None);
    }

    #[test]
    fn leading_digits_reads_each_run_length() {
        assert_eq!(
            leading_digits(u64::from_le_bytes(*b"12345678")),
            (8, 12_345_678)
        );
        assert_eq!(
            leading_digits(u64::from_le_bytes(*b"67226.4,")),
            (5, 67_226)
        );
        assert_eq!(leading_digits(u64::from_le_bytes(*b"0}]}\n   ")), (1, 0));
        assert_eq!(leading_digits(u64::from_le_bytes(*b",\"qty\":0")), (0, 0));
        assert_eq!(leading_digits(u64::from_le_bytes(*b"9/:99999")), (1, 9));
        assert_eq!(
            leading_digits(u64::from_le_bytes([b'7', 0xff, b'1', 0, 0, 0, 0, 0])),
            (1, 7)
        );
    }

    /// Runs a one-window read (`framed`) and the same read part by part (`parts`) on every case:
    /// where the window accepts, the parts give the same span and end where it does; where it
    /// declines, it consumed nothing. Returns how many cases the window accepted.
    fn accepted_as_by_parts(
        cases: &[Vec<u8>],
        framed: impl Fn(&mut Cur<'_>) -> Option<Span>,
        parts: impl Fn(&mut Cur<'_>) -> Option<Span>,
    ) -> usize {
        let mut accepted = 0;
        for b in cases {
            let mut window = Cur { b, i: 0 };
            let got = framed(&mut window);
            let mut by_parts = Cur { b, i: 0 };
            let want = parts(&mut by_parts);
            match got {
                Some(span) => {
                    accepted += 1;
                    assert_eq!(Some(span), want, "{}", String::from_utf8_lossy(b));
                    assert_eq!(window.i, by_parts.i);
                }
                None => assert_eq!(window.i, 0),
            }
        }
        accepted
    }

    /// A short string framed by `{"s":"` and `","b":`, or not quite: the two-word read
    /// accepts only what reading the three parts one by one accepts, with the same span and
    /// end, and accepts every string of up to 15 bytes from `'-'..='Z'` (Kraken's symbols) with
    /// 16 bytes after its quote.
    #[test]
    fn framed_short_str_equals_reading_its_parts() {
        let open: &[u8] = br#"{"s":""#;
        let close: &[u8] = br#"","b":"#;
        let mut cases: Vec<Vec<u8>> = Vec::new();
        let mut plain = 0;
        for name_len in 0..18 {
            let name: Vec<u8> = (0..name_len).map(|k| b"BTC/USD-ETH.EUR1"[k % 16]).collect();
            let mut full = open.to_vec();
            full.extend_from_slice(&name);
            full.extend_from_slice(close);
            full.extend_from_slice(br#"[{"price":1,"qty":2}]"#);
            if name_len <= 15 {
                plain += 1;
            }
            for cut in 0..=full.len() {
                cases.push(full[..cut].to_vec());
            }
            for at in 0..full.len() {
                for byte in [b'"', b'\\', b'\n', 0x7f, 0x80, 0xe9, b'x', b','] {
                    let mut m = full.clone();
                    m[at] = byte;
                    cases.push(m);
                }
            }
        }
        let accepted = accepted_as_by_parts(
            &cases,
            |c| c.framed_short_str(open, close),
            |parts| {
                if parts.lit::<5>(open[..5].try_into().unwrap()) {
                    parts
                        .str_span()
                        .filter(|_| parts.lit::<5>(close[1..].try_into().unwrap()))
                } else {
                    None
                }
            },
        );
        assert!(accepted >= plain, "{accepted}");
    }

    /// A 27-byte string framed by `,"t":"` and `"}`, or not quite: the one-window read
    /// accepts only what reading the three parts one by one accepts, with the same span and
    /// end, and accepts every plain timestamp in that frame.
    #[test]
    fn framed_fixed_str_equals_reading_its_parts() {
        let open: &[u8] = br#","t":""#;
        let close: &[u8] = br#""}"#;
        let ts = b"2025-11-22T08:26:40.108000Z";
        let mut cases: Vec<Vec<u8>> = Vec::new();
        for cut in 0..=ts.len() + open.len() + close.len() + 2 {
            let mut full = open.to_vec();
            full.extend_from_slice(ts);
            full.extend_from_slice(close);
            full.extend_from_slice(b"]}");
            cases.push(full[..cut.min(full.len())].to_vec());
            for at in 0..full.len() {
                for byte in [
                    b'"',
                    b'\\',
                    b',',
                    b'[',
                    b'Z' + 1,
                    b'-' - 1,
                    0x80,
                    b'x',
                    b'7',
                ] {
                    let mut m = full.clone();
                    m[at] = byte;
                    cases.push(m);
                }
            }
        }
        let accepted = accepted_as_by_parts(
            &cases,
            |c| c.framed_fixed_str::<27>(open, close),
            // The key and colon, then the string from its opening quote.
            |parts| {
                if parts.lit::<5>(open[..5].try_into().unwrap()) {
                    parts.fixed_str_span::<27>().filter(|_| parts.lit(b"}"))
                } else {
                    None
                }
            },
        );
        assert!(accepted > ts.len(), "{accepted}");
    }

    /// `same_bytes` for one literal length: equal to the slice comparison on `got`.
    fn same_as_slice_eq<const N: usize>(got: &[u8], want: &[u8; N]) -> Result<(), TestCaseError> {
        prop_assert_eq!(same_bytes(got, want), got == want, "{:?} {:?}", got, want);
        Ok(())
    }

    proptest! {
        /// A literal of each length the scanner uses (short ones compared as arrays, from 8 bytes
        /// on as words), against a copy of itself with up to two bytes changed, cut or extended:
        /// the word comparison answers as the slice comparison does.
        #[test]
        fn same_bytes_equals_the_slice_comparison(
            want in proptest::collection::vec(any::<u8>(), 41),
            changes in proptest::collection::vec((0usize..41, any::<u8>()), 0..3),
            len_change in prop_oneof![6 => Just(0i8), 1 => Just(-1i8), 1 => Just(1i8)],
        ) {
            let mut got = want.clone();
            for (at, byte) in changes {
                got[at] = byte;
            }
            macro_rules! check {
                ($($n:literal)*) => {$(
                    let w: &[u8; $n] = want[..$n].try_into().unwrap();
                    let end = ($n as i64 + i64::from(len_change)).max(0) as usize;
                    let mut g = got[..$n].to_vec();
                    g.resize(end, b'x');
                    same_as_slice_eq(&g, w)?;
                )*};
            }
            check!(1 5 7 8 9 12 15 16 17 24 31 40 41);
        }

        /// Digits, their neighbours in ASCII ('/' and ':'), and any byte at all, in any mix:
        /// the SWAR fold consumes the same digits and leaves the same mantissa.
        #[test]
        fn fold_digits_equals_the_bytewise_fold(
            bytes in proptest::collection::vec(
                prop_oneof![4 => b'0'..=b'9', 1 => Just(b'/'), 1 => Just(b':'), 1 => any::<u8>()],
                0..40,
            ),
            start in any::<i64>(),
            skip in 0usize..4,
        ) {
            let mut c = Cur { b: &bytes, i: skip.min(bytes.len()) };
            let mut m = start;
            let k = c.fold_digits(&mut m);
            let mut want = start;
            let want_k = fold_bytewise(&bytes[skip.min(bytes.len())..], &mut want);
            prop_assert_eq!(k, want_k);
            prop_assert_eq!(m, want);
            prop_assert_eq!(c.i, skip.min(bytes.len()) + want_k as usize);
        }

        /// A quoted run of 27 bytes (or a few more or fewer) of plain text, with or without one
        /// byte a string scan stops at, and then anything: the fixed-length read ends where the
        /// general string read does, with the same span, or both decline.
        #[test]
        fn fixed_str_span_equals_the_general_string(
            len in 24usize..31,
            special in proptest::option::of((
                0usize..31,
                prop_oneof![
                    Just(b'"'),
                    Just(b'\\'),
                    Just(b'\n'),
                    Just(0x80u8),
                    // Either side of each end of the fixed-length read's range.
                    Just(b','),
                    Just(b'-'),
                    Just(b'Z'),
                    Just(b'['),
                    any::<u8>(),
                ],
            )),
            after in proptest::collection::vec(any::<u8>(), 0..3),
        ) {
            // Plain text with at most one byte a string scan may stop at, anywhere in it.
            let mut body = vec![b'7'; len];
            if let Some((at, byte)) = special {
                body[at % len] = byte;
            }
            let mut text = vec![b'"'];
            text.extend_from_slice(&body);
            text.push(b'"');
            text.extend_from_slice(&after);
            let mut fixed = Cur { b: &text, i: 0 };
            let mut general = Cur { b: &text, i: 0 };
            let got = fixed.fixed_str_span::<27>();
            prop_assert_eq!(got, general.str_span());
            if got.is_some() {
                prop_assert_eq!(fixed.i, general.i);
            }
        }

        /// Any eight bytes: the top bits of `outside_dash_to_z` are clear exactly when all bytes
        /// are inside `'-'..='Z'`, and otherwise mark the first byte outside and none before it.
        #[test]
        fn outside_dash_to_z_marks_the_first_byte_outside_the_range(
            bytes in proptest::array::uniform8(prop_oneof![
                8 => 0x2du8..=0x5a,
                2 => 0u8..0x80,
                1 => any::<u8>(),
                // Either side of each end of the range.
                1 => prop_oneof![Just(0x2cu8), Just(0x2d), Just(0x5a), Just(0x5b)],
            ]),
        ) {
            let got = outside_dash_to_z(u64::from_le_bytes(bytes)) & HIGH;
            let outside = |b: &u8| !(b'-'..=b'Z').contains(b);
            prop_assert_eq!(got == 0, !bytes.iter().any(outside));
            if let Some(first) = bytes.iter().position(outside) {
                prop_assert_eq!(got.trailing_zeros() as usize, 8 * first + 7, "byte {}", first);
            }
        }

        /// `unsigned` accepts exactly the plain JSON integers that fit a u64, with their value.
        #[test]
        fn unsigned_equals_a_checked_parse(
            digits in "[0-9]{1,22}",
            after in prop_oneof![Just(","), Just("}"), Just(".5"), Just("e3"), Just("")],
        ) {
            let text = format!("{digits}{after}");
            let mut c = Cur { b: text.as_bytes(), i: 0 };
            let got = c.unsigned();
            let plain = !after.starts_with('.') && !after.starts_with('e');
            let canonical = digits == "0" || !digits.starts_with('0');
            let want = if plain && canonical { digits.parse::<u64>().ok() } else { None };
            prop_assert_eq!(got, want);
            if got.is_some() {
                prop_assert_eq!(c.i, digits.len());
            }
        }
    }
}
