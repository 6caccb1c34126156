//! The fast path: a hand-written single-pass scanner for the two hottest frame kinds, `book`
//! and `trade`, in the shape Kraken sends them.
//!
//! Why it exists: measured on the 2-core shared VM (2026-11-22, `cargo bench -p kspin-bench
//! --bench decode`, see `bench/results/decode.md`), the general sonic-rs + serde path took
//! ~540 ns p50 per real MINA/GBP book update, against a budget of well under 125 ns for the
//! decoder (250 ns for decode + book + checksum). This scanner does the same frames in 122 ns
//! mean (criterion, same run: sonic-rs path 472 ns, serde_json::Value 1109 ns); 104 ns after
//! the literal and UTF-8 changes of the perf pass (`bench/results/engine_path.md`).
//!
//! Owns [`scan`]. Invariants: it either produces exactly what the general decoder would (same
//! arena content, same message) or declines with `None`, and the caller then runs the general
//! decoder, which also produces the precise error. It declines on anything outside the plain
//! shape: a key other than the known ones, a duplicate key, `data` before `channel`, a string
//! with an escape or a control character, a quoted number, a number outside JSON's grammar or
//! beyond the exact range, a missing field, a full arena, trailing bytes. A differential test
//! (`engine/tests/decode_differential.rs`) checks the equivalence on every vector, on long
//! generated streams and on mutated frames. It never allocates and never panics (all indexing
//! is checked).

use kspin_api::Decimal;

use super::arena::{Arena, BookSlot, LevelRun, Span, TradeSlot};
use super::message::{Level, Side, UpdateKind};
use super::visit::ord_type_of;

/// What the scanner decoded into the arena.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scanned {
    Book(UpdateKind),
    Trade(UpdateKind),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Chan {
    Book,
    Trade,
}

/// A cursor over the frame bytes. Every method returns `None` to decline.
struct Cur<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Cur<'a> {
    #[inline(always)]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    /// Skips JSON whitespace and returns the next byte without consuming it.
    #[inline(always)]
    fn peek_ws(&mut self) -> Option<u8> {
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
    fn eat(&mut self, want: u8) -> Option<()> {
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
    fn string(&mut self) -> Option<(usize, usize)> {
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

    #[inline(always)]
    fn str_bytes(&mut self) -> Option<&'a [u8]> {
        let (start, len) = self.string()?;
        self.b.get(start..start + len)
    }

    #[inline(always)]
    fn str_span(&mut self) -> Option<Span> {
        let (start, len) = self.string()?;
        Span::frame(start, len)
    }

    /// Consumes `text` if the input continues with exactly it. The length is a constant, so the
    /// comparison compiles to a few word compares instead of a `memcmp` call.
    #[inline(always)]
    fn lit<const N: usize>(&mut self, text: &[u8; N]) -> bool {
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
    fn key(&mut self) -> Option<&'a [u8]> {
        let k = self.str_bytes()?;
        self.eat(b':')?;
        Some(k)
    }

    /// After a member or element: `true` on `,`, `false` on `close`.
    #[inline(always)]
    fn next_or_close(&mut self, close: u8) -> Option<bool> {
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
    fn digits(&mut self) -> usize {
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
    fn number(&mut self) -> Option<(&'a [u8], bool)> {
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
    fn decimal(&mut self) -> Option<Decimal> {
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
    fn fold_digits(&mut self, m: &mut i64) -> u32 {
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
    fn unsigned(&mut self) -> Option<u64> {
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

/// Sets `bit` in `seen`, declining if it was already set (a duplicate key).
#[inline(always)]
fn once(seen: &mut u32, bit: u32) -> Option<()> {
    if *seen & bit != 0 {
        return None;
    }
    *seen |= bit;
    Some(())
}

/// The members of a live frame before its `data` value, in Kraken's order, as one literal:
/// `(channel, type)` for the four frames the scanner handles, or `None`.
#[inline(always)]
fn live_prefix(c: &mut Cur<'_>) -> Option<(Chan, UpdateKind)> {
    if c.lit(br#""channel":"book","type":"update","data":"#) {
        Some((Chan::Book, UpdateKind::Update))
    } else if c.lit(br#""channel":"trade","type":"update","data":"#) {
        Some((Chan::Trade, UpdateKind::Update))
    } else if c.lit(br#""channel":"book","type":"snapshot","data":"#) {
        Some((Chan::Book, UpdateKind::Snapshot))
    } else if c.lit(br#""channel":"trade","type":"snapshot","data":"#) {
        Some((Chan::Trade, UpdateKind::Snapshot))
    } else {
        None
    }
}

/// Decodes a plain `book` or `trade` frame into `arena`, or declines with `None`.
/// `arena` must be cleared by the caller; on `None` it holds garbage and must be cleared again.
///
/// Accepting a frame proves it is ASCII, hence UTF-8: every byte is consumed by a check that
/// admits only ASCII (literals, structural bytes and whitespace, number grammar, and strings,
/// which stop at any byte above 0x7f), and trailing bytes other than whitespace decline. The
/// decoder relies on this to skip a separate UTF-8 pass on the fast path.
pub(crate) fn scan(arena: &mut Arena, frame: &[u8]) -> Option<Scanned> {
    let mut c = Cur { b: frame, i: 0 };
    c.eat(b'{')?;
    let (mut chan, mut kind, mut data) = (None, None, false);
    let mut seen = 0u32;
    // Kraken's own member order, matched as one literal (the general loop below gives the same
    // result, only slower); after it comes the `data` value.
    let mut pending_key: Option<&[u8]> = None;
    if let Some((ch, k)) = live_prefix(&mut c) {
        (chan, kind, seen, pending_key) = (Some(ch), Some(k), 3, Some(&b"data"[..]));
    }
    loop {
        let key = match pending_key.take() {
            Some(k) => k,
            None => c.key()?,
        };
        match key {
            b"channel" => {
                once(&mut seen, 1)?;
                chan = Some(match c.str_bytes()? {
                    b"book" => Chan::Book,
                    b"trade" => Chan::Trade,
                    _ => return None,
                });
            }
            b"type" => {
                once(&mut seen, 2)?;
                kind = Some(match c.str_bytes()? {
                    b"update" => UpdateKind::Update,
                    b"snapshot" => UpdateKind::Snapshot,
                    _ => return None,
                });
            }
            b"data" => {
                once(&mut seen, 4)?;
                match chan? {
                    Chan::Book => book_data(&mut c, arena)?,
                    Chan::Trade => trade_data(&mut c, arena)?,
                }
                data = true;
            }
            _ => return None,
        }
        if !c.next_or_close(b'}')? {
            break;
        }
    }
    // Only whitespace may follow.
    if c.peek_ws().is_some() || !data {
        return None;
    }
    Some(match chan? {
        Chan::Book => Scanned::Book(kind?),
        Chan::Trade => Scanned::Trade(kind?),
    })
}

/// `[` element (`,` element)* `]`, calling `each` for every element.
#[inline(always)]
fn array(c: &mut Cur<'_>, mut each: impl FnMut(&mut Cur<'_>) -> Option<()>) -> Option<()> {
    c.eat(b'[')?;
    if c.peek_ws()? == b']' {
        c.i += 1;
        return Some(());
    }
    loop {
        each(c)?;
        if !c.next_or_close(b']')? {
            return Some(());
        }
    }
}

/// Members of a book entry, numbered in the order Kraken sends them.
const B_SYMBOL: u8 = 0;
const B_BIDS: u8 = 1;
const B_ASKS: u8 = 2;
const B_CHECKSUM: u8 = 3;
const B_TIMESTAMP: u8 = 4;

/// The next book-entry member: while the frame follows Kraken's order (`expected`), matched as a
/// `"key":` literal; from the first difference on (`expected` is then out of range), by the
/// general key reader. Same result either way, only slower. `None` for an unknown key.
#[inline(always)]
fn book_key(c: &mut Cur<'_>, expected: &mut u8) -> Option<u8> {
    let hit = match *expected {
        B_SYMBOL => c.lit(br#""symbol":"#),
        B_BIDS => c.lit(br#""bids":"#),
        B_ASKS => c.lit(br#""asks":"#),
        B_CHECKSUM => c.lit(br#""checksum":"#),
        B_TIMESTAMP => c.lit(br#""timestamp":"#),
        _ => false,
    };
    if hit {
        *expected += 1;
        return Some(*expected - 1);
    }
    *expected = u8::MAX;
    Some(match c.key()? {
        b"symbol" => B_SYMBOL,
        b"bids" => B_BIDS,
        b"asks" => B_ASKS,
        b"checksum" => B_CHECKSUM,
        b"timestamp" => B_TIMESTAMP,
        _ => return None,
    })
}

/// Members of a trade, numbered in the order Kraken sends them.
const T_SYMBOL: u8 = 0;
const T_SIDE: u8 = 1;
const T_PRICE: u8 = 2;
const T_QTY: u8 = 3;
const T_ORD_TYPE: u8 = 4;
const T_TRADE_ID: u8 = 5;
const T_TIMESTAMP: u8 = 6;

/// The next trade member, as [`book_key`] does for book entries.
#[inline(always)]
fn trade_key(c: &mut Cur<'_>, expected: &mut u8) -> Option<u8> {
    let hit = match *expected {
        T_SYMBOL => c.lit(br#""symbol":"#),
        T_SIDE => c.lit(br#""side":"#),
        T_PRICE => c.lit(br#""price":"#),
        T_QTY => c.lit(br#""qty":"#),
        T_ORD_TYPE => c.lit(br#""ord_type":"#),
        T_TRADE_ID => c.lit(br#""trade_id":"#),
        T_TIMESTAMP => c.lit(br#""timestamp":"#),
        _ => false,
    };
    if hit {
        *expected += 1;
        return Some(*expected - 1);
    }
    *expected = u8::MAX;
    Some(match c.key()? {
        b"symbol" => T_SYMBOL,
        b"side" => T_SIDE,
        b"price" => T_PRICE,
        b"qty" => T_QTY,
        b"ord_type" => T_ORD_TYPE,
        b"trade_id" => T_TRADE_ID,
        b"timestamp" => T_TIMESTAMP,
        _ => return None,
    })
}

fn book_data(c: &mut Cur<'_>, arena: &mut Arena) -> Option<()> {
    array(c, |c| {
        c.eat(b'{')?;
        let mut slot = BookSlot::default();
        let mut symbol = None;
        let mut seen = 0u32;
        let mut expected = B_SYMBOL;
        loop {
            match book_key(c, &mut expected)? {
                B_SYMBOL => {
                    once(&mut seen, 1)?;
                    symbol = Some(c.str_span()?);
                }
                B_BIDS => {
                    once(&mut seen, 2)?;
                    slot.bids = levels(c, arena)?;
                }
                B_ASKS => {
                    once(&mut seen, 4)?;
                    slot.asks = levels(c, arena)?;
                }
                B_CHECKSUM => {
                    once(&mut seen, 8)?;
                    slot.checksum = Some(u32::try_from(c.unsigned()?).ok()?);
                }
                B_TIMESTAMP => {
                    once(&mut seen, 16)?;
                    slot.timestamp = Some(c.str_span()?);
                }
                _ => return None,
            }
            if !c.next_or_close(b'}')? {
                break;
            }
        }
        slot.symbol = symbol?;
        arena.push_book(slot).ok()
    })
}

#[inline(always)]
fn levels(c: &mut Cur<'_>, arena: &mut Arena) -> Option<LevelRun> {
    let start = arena.levels.len();
    array(c, |c| {
        // The live shape `{"price":P,"qty":Q}` first; on any difference, back to the start of
        // the element and the general member loop.
        let save = c.i;
        if c.lit(br#"{"price":"#) {
            if let Some(price) = c.decimal() {
                if c.lit(br#","qty":"#) {
                    if let Some(qty) = c.decimal() {
                        if c.lit(b"}") {
                            return arena.push_level(Level { price, qty }).ok();
                        }
                    }
                }
            }
            c.i = save;
        }
        c.eat(b'{')?;
        let (mut price, mut qty) = (None, None);
        loop {
            match c.key()? {
                b"price" if price.is_none() => price = Some(c.decimal()?),
                b"qty" if qty.is_none() => qty = Some(c.decimal()?),
                _ => return None,
            }
            if !c.next_or_close(b'}')? {
                break;
            }
        }
        arena
            .push_level(Level {
                price: price?,
                qty: qty?,
            })
            .ok()
    })?;
    let len = arena.levels.len() - start;
    Some(LevelRun {
        start: start as u32,
        len: len as u32,
    })
}

fn trade_data(c: &mut Cur<'_>, arena: &mut Arena) -> Option<()> {
    array(c, |c| {
        c.eat(b'{')?;
        let (mut symbol, mut side, mut price, mut qty, mut trade_id, mut timestamp) =
            (None, None, None, None, None, None);
        let mut ord_type = super::message::OrdType::Other;
        let mut seen = 0u32;
        let mut expected = T_SYMBOL;
        loop {
            match trade_key(c, &mut expected)? {
                T_SYMBOL => {
                    once(&mut seen, 1)?;
                    symbol = Some(c.str_span()?);
                }
                T_SIDE => {
                    once(&mut seen, 2)?;
                    side = Some(match c.str_bytes()? {
                        b"buy" => Side::Buy,
                        b"sell" => Side::Sell,
                        _ => return None,
                    });
                }
                T_PRICE => {
                    once(&mut seen, 4)?;
                    price = Some(c.decimal()?);
                }
                T_QTY => {
                    once(&mut seen, 8)?;
                    qty = Some(c.decimal()?);
                }
                T_ORD_TYPE => {
                    once(&mut seen, 16)?;
                    ord_type = ord_type_of(core::str::from_utf8(c.str_bytes()?).ok()?);
                }
                T_TRADE_ID => {
                    once(&mut seen, 32)?;
                    trade_id = Some(c.unsigned()?);
                }
                T_TIMESTAMP => {
                    once(&mut seen, 64)?;
                    timestamp = Some(c.str_span()?);
                }
                _ => return None,
            }
            if !c.next_or_close(b'}')? {
                break;
            }
        }
        let slot = TradeSlot {
            symbol: symbol?,
            side: side?,
            price: price?,
            qty: qty?,
            ord_type,
            trade_id: trade_id?,
            timestamp: timestamp?,
        };
        arena.push_trade(slot).ok()
    })
}
