//! The fast path: a hand-written single-pass scanner for the two hottest frame kinds, `book`
//! and `trade`, in the shape Kraken sends them.
//!
//! Why it exists: the general sonic-rs + serde path costs several times the decoder's budget
//! per book update; this scanner does the same frames about 4x faster (figures and commands in
//! `bench/results/decode.md` and `bench/results/engine_path.md`).
//!
//! Owns [`scan`] (its byte cursor is `cursor.rs`). A book entry in Kraken's exact member order is
//! read straight through by `plain_book_entry`, a trade in Kraken's exact shape by `plain_trade`
//! (`plain_trade.rs`), anything else by a member loop; property tests below hold each plain path
//! equal to the loop it shortcuts. Invariants: it either produces exactly what
//! the general decoder would (same arena content, same message) or declines with `None`, and the
//! caller then runs the general
//! decoder, which also produces the precise error. It declines on anything outside the plain
//! shape: a key other than the known ones, a duplicate key, `data` before `channel`, a string
//! with an escape or a control character, a quoted number, a number outside JSON's grammar or
//! beyond the exact range, a missing field, a full arena, trailing bytes. A differential test
//! (`engine/core/tests/decode_differential.rs`) checks the equivalence on every vector, on long
//! generated streams and on mutated frames. It never allocates and never panics (all indexing
//! is checked).

use super::arena::{Arena, BookSlot, LevelRun, Span, TradeSlot};
use super::cursor::Cur;
use super::message::{Level, Side, UpdateKind};
use super::plain_level::{keyed_plain_unsigned, plain_level};
use super::plain_trade::plain_trade;
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
/// `arena` must have its levels, book entries and trades cleared by the caller
/// (`Arena::clear_for_scan`); on `None` they hold garbage and the arena must be cleared again.
///
/// An accepted frame comes back as text: every byte is consumed by the cursor, which admits
/// only ASCII (literals, structural bytes and whitespace, number grammar, and strings, which stop
/// at any byte above 0x7f), and trailing bytes other than whitespace decline; `Cur::into_text`
/// turns the fully consumed frame into `&str` without a second UTF-8 pass.
pub(crate) fn scan<'a>(arena: &mut Arena, frame: &'a [u8]) -> Option<(Scanned, &'a str)> {
    scan_with::<true>(arena, frame)
}

/// [`scan`], with the plain paths (the book entry's and the trade's, [`plain_book_entry`],
/// [`plain_trade`], the delimiters right after the entries, and the frame's closing brace as its
/// last byte) on (`PLAIN`) or off: off is the reference the property tests hold the plain paths
/// to.
#[inline(always)]
fn scan_with<'a, const PLAIN: bool>(
    arena: &mut Arena,
    frame: &'a [u8],
) -> Option<(Scanned, &'a str)> {
    let mut c = Cur { b: frame, i: 0 };
    // The frame's opening brace as its first byte (Kraken's); else after whitespace.
    if frame.first() == Some(&b'{') {
        c.i = 1;
    } else {
        c.eat(b'{')?;
    }
    // Kraken's own member order, matched as one literal (the member loop, [`member_frame`],
    // gives the same result, only slower); after it comes the `data` value, then the end of the
    // frame: any further member would repeat one of the three or be unknown, which the loop
    // declines too.
    if let Some((chan, kind)) = live_prefix(&mut c) {
        let scanned = match chan {
            Chan::Book => {
                book_data::<PLAIN>(&mut c, arena)?;
                Scanned::Book(kind)
            }
            Chan::Trade => {
                trade_data::<PLAIN>(&mut c, arena)?;
                Scanned::Trade(kind)
            }
        };
        // The frame's closing brace as its last byte; else whitespace around it, checked by
        // the cursor (the same result for that frame).
        if PLAIN && c.i + 1 == c.b.len() && c.peek() == Some(b'}') {
            c.i += 1;
        } else if c.next_or_close(b'}')? || c.peek_ws().is_some() {
            return None;
        }
        return Some((scanned, c.into_text()?));
    }
    member_frame::<PLAIN>(c, arena)
}

/// A frame member by member, in any order (the `channel`, `type` and `data` members, each once),
/// from the cursor just after its opening brace: what [`scan_with`]'s literal of Kraken's own
/// member order shortcuts. Out of line: live frames take the literal, and this loop's code
/// inline in [`scan`] would have every frame save the registers it uses.
#[inline(never)]
fn member_frame<'a, const PLAIN: bool>(
    mut c: Cur<'a>,
    arena: &mut Arena,
) -> Option<(Scanned, &'a str)> {
    let (mut chan, mut kind, mut data) = (None, None, false);
    let mut seen = 0u32;
    loop {
        match c.key()? {
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
                    Chan::Book => book_data::<PLAIN>(&mut c, arena)?,
                    Chan::Trade => trade_data::<PLAIN>(&mut c, arena)?,
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
    let scanned = match chan? {
        Chan::Book => Scanned::Book(kind?),
        Chan::Trade => Scanned::Trade(kind?),
    };
    Some((scanned, c.into_text()?))
}

/// `[` element (`,` element)* `]`, calling `each` for every element. With `PLAIN`, a delimiter
/// right after its element (Kraken's) is taken without the whitespace loop; without, the
/// cursor's `next_or_close` reads every one (the reference the property tests hold it to).
#[inline(always)]
fn array<const PLAIN: bool>(
    c: &mut Cur<'_>,
    mut each: impl FnMut(&mut Cur<'_>) -> Option<()>,
) -> Option<()> {
    // `[{` (Kraken's: no whitespace, an object first) in one compare; else byte by byte around
    // whitespace, the same result for those bytes.
    if c.b.get(c.i..c.i + 2) == Some(b"[{") {
        c.i += 1;
    } else {
        c.eat(b'[')?;
        if c.peek_ws()? == b']' {
            c.i += 1;
            return Some(());
        }
    }
    loop {
        each(c)?;
        // The delimiter right after the element (Kraken's), or after whitespace.
        match c.peek() {
            Some(b']') if PLAIN => {
                c.i += 1;
                return Some(());
            }
            Some(b',') if PLAIN => c.i += 1,
            _ => {
                if !c.next_or_close(b']')? {
                    return Some(());
                }
            }
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

/// Length of Kraken's RFC 3339 timestamps, `2023-09-25T07:49:37.708706Z` (PROTOCOL.md, book
/// and trade messages): the scanner checks one of that length without a loop.
pub(super) const KRAKEN_TIMESTAMP_LEN: usize = 27;

/// `,"timestamp":"…"}`, the last member of a plain book entry or trade and the object's end:
/// in one window (`Cur::framed_fixed_str`), or the same parts one by one if that declines. The
/// timestamp's span.
#[inline(always)]
pub(super) fn closing_timestamp(c: &mut Cur<'_>) -> Option<Span> {
    if let Some(timestamp) =
        c.framed_fixed_str::<KRAKEN_TIMESTAMP_LEN>(br#","timestamp":""#, br#""}"#)
    {
        return Some(timestamp);
    }
    if !c.lit(br#","timestamp":"#) {
        return None;
    }
    let timestamp = c.fixed_str_span::<KRAKEN_TIMESTAMP_LEN>()?;
    c.lit(b"}").then_some(timestamp)
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

fn book_data<const PLAIN: bool>(c: &mut Cur<'_>, arena: &mut Arena) -> Option<()> {
    array::<PLAIN>(c, |c| {
        if PLAIN {
            let (save, pushed) = (c.i, arena.levels.len());
            if let Some(slot) = plain_book_entry(c, arena) {
                return arena.push_book(slot).ok();
            }
            // Declined: forget its levels and read the entry again, member by member.
            c.i = save;
            arena.levels.truncate(pushed);
        }
        member_book_entry::<PLAIN>(c, arena)
    })
}

/// A book entry member by member, in any order, with whitespace: what [`plain_book_entry`]
/// shortcuts, and the reference it is tested against. Out of line: Kraken's entries take the
/// plain path, and this loop's code kept inline made the plain path's registers spill.
#[inline(never)]
fn member_book_entry<const PLAIN: bool>(c: &mut Cur<'_>, arena: &mut Arena) -> Option<()> {
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
                slot.bids = levels::<PLAIN, 0>(c, arena, &[])?;
            }
            B_ASKS => {
                once(&mut seen, 4)?;
                slot.asks = levels::<PLAIN, 0>(c, arena, &[])?;
            }
            B_CHECKSUM => {
                once(&mut seen, 8)?;
                slot.checksum = Some(u32::try_from(c.unsigned()?).ok()?);
            }
            B_TIMESTAMP => {
                once(&mut seen, 16)?;
                slot.timestamp = Some(c.fixed_str_span::<KRAKEN_TIMESTAMP_LEN>()?);
            }
            _ => return None,
        }
        if !c.next_or_close(b'}')? {
            break;
        }
    }
    slot.symbol = symbol?;
    arena.push_book(slot).ok()
}

/// A book entry in Kraken's exact shape, `{"symbol":S,"bids":[..],"asks":[..],"checksum":N,
/// "timestamp":T}` with no whitespace between members, read straight through: no key dispatch,
/// no duplicate bookkeeping. It reads each value with the same cursor methods as the member loop
/// ([`member_book_entry`]) (the symbol with its key and quotes first by `Cur::framed_short_str`, each
/// level array's key with its opening by [`levels`], the checksum by
/// [`plain_unsigned`], and the timestamp with the closing brace by
/// `Cur::framed_fixed_str`, each equal to the cursor's one-by-one read where it accepts), so an
/// entry it accepts gives the same slot and levels; on anything else
/// (another order, a missing or extra member, whitespace) it declines, and the caller rewinds the
/// cursor, drops the levels it pushed and runs the member loop.
#[inline(always)]
fn plain_book_entry(c: &mut Cur<'_>, arena: &mut Arena) -> Option<BookSlot> {
    // The symbol with its key and quotes in one window; the same parts one by one if not.
    let symbol = match c.framed_short_str(br#"{"symbol":""#, b"\"") {
        Some(symbol) => symbol,
        None => {
            if !c.lit(br#"{"symbol":"#) {
                return None;
            }
            c.str_span()?
        }
    };
    // Each key with the bracket (and the byte) after it in one window.
    let bids = levels::<true, 8>(c, arena, br#","bids":"#)?;
    let asks = levels::<true, 8>(c, arena, br#","asks":"#)?;
    // The key and the checksum in one window; the key and then `Cur::unsigned` if that declines.
    const KEY: &[u8; 12] = br#","checksum":"#;
    let checksum = match keyed_plain_unsigned(c.b, c.i, KEY) {
        Some((checksum, end)) => {
            c.i = end;
            checksum
        }
        None => {
            if !c.lit(KEY) {
                return None;
            }
            c.unsigned()?
        }
    };
    let checksum = u32::try_from(checksum).ok()?;
    let timestamp = closing_timestamp(c)?;
    Some(BookSlot {
        symbol,
        bids,
        asks,
        checksum: Some(checksum),
        timestamp: Some(timestamp),
    })
}

/// `key` (a member's `,"key":`, or nothing), then a level array, as [`array`] reads one, with
/// its element step written out in the loop so that it inlines into the entry reader instead
/// of being a call per level. With `PLAIN`, `key` and an opening `[]` or `[{` (Kraken's, no
/// whitespace) are compared in one window; anything else, or without `PLAIN`, `key` as a
/// literal and the bracket byte by byte around whitespace (the same result).
#[inline(always)]
fn levels<const PLAIN: bool, const K: usize>(
    c: &mut Cur<'_>,
    arena: &mut Arena,
    key: &[u8; K],
) -> Option<LevelRun> {
    let start = arena.levels.len();
    let opening =
        c.b.get(c.i..c.i + K + 2)
            .and_then(|w| w.split_first_chunk::<K>());
    let empty = match opening {
        Some((k, b"[]")) if PLAIN && k == key => {
            c.i += K + 2;
            true
        }
        Some((k, b"[{")) if PLAIN && k == key => {
            c.i += K + 1;
            false
        }
        _ => {
            if !c.lit(key) {
                return None;
            }
            c.eat(b'[')?;
            let empty = c.peek_ws()? == b']';
            if empty {
                c.i += 1;
            }
            empty
        }
    };
    if !empty {
        // Bounded: every pass consumes at least one byte or returns.
        loop {
            // The live shape `{"price":P,"qty":Q}` with short plain numbers, read in fixed
            // windows (`plain_level.rs`), inline; anything else in [`other_level`], out of line.
            if let Some((level, next)) = plain_level(c.b, c.i) {
                c.i = next;
                arena.push_level(level).ok()?;
            } else {
                other_level(c, arena)?;
            }
            // The delimiter right after the level (Kraken's), or after whitespace.
            match c.peek() {
                Some(b',') => c.i += 1,
                Some(b']') => {
                    c.i += 1;
                    break;
                }
                _ => {
                    if !c.next_or_close(b']')? {
                        break;
                    }
                }
            }
        }
    }
    let len = arena.levels.len() - start;
    Some(LevelRun {
        start: start as u32,
        len: len as u32,
    })
}

/// A level [`plain_level`] declined: the same shape digit by digit; on any difference, back to
/// the start of the element and the general member loop.
#[inline(never)]
fn other_level(c: &mut Cur<'_>, arena: &mut Arena) -> Option<()> {
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
}

fn trade_data<const PLAIN: bool>(c: &mut Cur<'_>, arena: &mut Arena) -> Option<()> {
    array::<PLAIN>(c, |c| {
        if PLAIN {
            let save = c.i;
            if let Some(slot) = plain_trade(c) {
                return arena.push_trade(slot).ok();
            }
            // Declined: read the trade again, member by member.
            c.i = save;
        }
        member_trade(c, arena)
    })
}

/// A trade member by member, in any order, with whitespace: what [`plain_trade`] shortcuts,
/// and the reference it is tested against. Out of line, as [`member_book_entry`], so it does not
/// weigh on the plain path's registers.
#[inline(never)]
fn member_trade(c: &mut Cur<'_>, arena: &mut Arena) -> Option<()> {
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
                timestamp = Some(c.fixed_str_span::<KRAKEN_TIMESTAMP_LEN>()?);
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
}

#[cfg(test)]
mod tests {
    use super::super::decode::DecoderLimits;
    use super::*;
    use proptest::prelude::*;

    /// The scanner's result and arena content, as text, with the plain book-entry path on or off.
    fn scanned<const PLAIN: bool>(frame: &[u8]) -> String {
        let mut arena = Arena::new(DecoderLimits::default());
        let got = scan_with::<PLAIN>(&mut arena, frame);
        format!(
            "{got:?} {:?} {:?} {:?}",
            arena.books, arena.levels, arena.trades
        )
    }

    /// Level arrays with their delimiters right after each level or after whitespace: the scan
    /// reads them all (it does not decline to the general decoder), on both paths.
    #[test]
    fn level_delimiters_with_and_without_whitespace() {
        for (bids, asks) in [
            (
                r#"{"price":1.5,"qty":2},{"price":1.25,"qty":3}"#,
                r#"{"price":2,"qty":1}"#,
            ),
            (
                r#"{"price":1.5,"qty":2} ,{"price":1.25,"qty":3} "#,
                r#"{"price":2,"qty":1}"#,
            ),
            (
                r#"{"price":1.5,"qty":2}, {"price":1.25,"qty":3}"#,
                r#"{"price":2,"qty":1} "#,
            ),
        ] {
            let frame = format!(
                r#"{{"channel":"book","type":"update","data":[{{"symbol":"BTC/USD","bids":[{bids}],"asks":[{asks}],"checksum":7,"timestamp":"2025-11-22T08:26:40.108000Z"}}]}}"#
            );
            for plain in [true, false] {
                let mut arena = Arena::new(DecoderLimits::default());
                let got = if plain {
                    scan_with::<true>(&mut arena, frame.as_bytes())
                } else {
                    scan_with::<false>(&mut arena, frame.as_bytes())
                };
                assert!(got.is_some(), "{frame}");
                assert_eq!(arena.levels.len(), 3, "{frame}");
                assert_eq!(arena.books.len(), 1, "{frame}");
            }
        }
    }

    /// What follows a frame's `data` value: its closing brace mostly, or whitespace around it,
    /// something else in its place, or more after it.
    fn frame_end() -> impl Strategy<Value = &'static str> {
        prop_oneof![
            6 => Just("}"),
            1 => Just(" }"),
            1 => Just("}\n"),
            1 => Just("} \r\n"),
            1 => Just("]"),
            1 => Just("}}"),
            1 => Just("},"),
            1 => Just(","),
            1 => Just("} x"),
            1 => Just(""),
        ]
    }

    /// What separates two entries of `data`: Kraken's bare comma mostly, or whitespace around
    /// it, or something else.
    fn separator() -> impl Strategy<Value = &'static str> {
        prop_oneof![
            6 => Just(","),
            1 => Just(" ,"),
            1 => Just(", "),
            1 => Just("\n,\t"),
            1 => Just(";"),
        ]
    }

    /// The bracket closing `data`: right after the last entry mostly, or after whitespace.
    fn closing_bracket() -> impl Strategy<Value = &'static str> {
        prop_oneof![6 => Just("]"), 1 => Just(" ]"), 1 => Just("\r\n]")]
    }

    /// A number token: Kraken's plain decimals mostly, some the plain path declines.
    fn number() -> impl Strategy<Value = String> {
        prop_oneof![
            6 => (0u32..100_000, 0u32..100_000_000).prop_map(|(i, f)| format!("{i}.{f}")),
            2 => (0u64..10_000).prop_map(|i| i.to_string()),
            1 => Just("1e3".to_owned()),
            1 => Just("-2.5".to_owned()),
            1 => Just("123456789.123456789".to_owned()),
        ]
    }

    /// `[{"price":P,"qty":Q},..]`, now and then with whitespace or members swapped, or with
    /// whitespace or something else after the opening bracket.
    fn levels_text() -> impl Strategy<Value = String> {
        (
            proptest::collection::vec((number(), number(), 0u8..12), 0..4),
            prop_oneof![6 => Just("["), 1 => Just("[ "), 1 => Just("[\n"), 1 => Just("[[")],
        )
            .prop_map(|(ls, open)| {
                let items: Vec<String> = ls
                    .iter()
                    .map(|(p, q, odd)| match odd {
                        0 => format!(r#"{{"qty":{q},"price":{p}}}"#),
                        1 => format!(r#"{{ "price":{p}, "qty":{q} }}"#),
                        2 => format!(r#"{{"price":{p}}}"#),
                        _ => format!(r#"{{"price":{p},"qty":{q}}}"#),
                    })
                    .collect();
                format!("{open}{}]", items.join(","))
            })
    }

    /// A book entry: Kraken's member order mostly, or members dropped, swapped, doubled,
    /// spaced or misspelled, and checksums beyond u32 or not integers now and then.
    fn entry() -> impl Strategy<Value = String> {
        (
            levels_text(),
            levels_text(),
            prop_oneof![
                8 => (0u64..u64::from(u32::MAX)).prop_map(|c| c.to_string()),
                2 => Just((1u64 << 33).to_string()),
                // Not integers: the member loop declines them, so must the plain path, which
                // leaves the byte after the digits to the `,"timestamp":` after them.
                1 => Just("12.5".to_owned()),
                1 => Just("7e3".to_owned()),
                1 => Just("3E1".to_owned()),
            ],
            prop_oneof![
                4 => Just("2025-11-22T08:26:40.108000Z"),
                1 => Just("2025-11-22T08:26:40.1Z"),
            ],
            0u8..16,
        )
            .prop_map(|(b, a, ck, ts, odd)| {
                let m = [
                    r#""symbol":"BTC/USD""#.to_owned(),
                    format!(r#""bids":{b}"#),
                    format!(r#""asks":{a}"#),
                    format!(r#""checksum":{ck}"#),
                    format!(r#""timestamp":"{ts}""#),
                ];
                let body = match odd {
                    0 => format!("{},{},{},{}", m[0], m[2], m[1], m[3]),
                    1 => format!("{},{},{},{}", m[0], m[1], m[2], m[3]),
                    2 => m.join(" , "),
                    3 => format!("{},{}", m.join(","), m[3]),
                    4 => format!("{},{}", m[1..].join(","), m[0]),
                    // A key of the same length as a known one but unknown: both decline.
                    5 => m.join(",").replacen("checksum", "checksun", 1),
                    6 => m.join(",").replacen("symbol", "symbel", 1),
                    7 => m.join(",").replacen("timestamp", "timestemp", 1),
                    8 => m.join(",").replacen("bids", "bidz", 1),
                    9 => m.join(",").replacen("asks", "askz", 1),
                    _ => m.join(","),
                };
                format!("{{{body}}}")
            })
    }

    proptest! {
        /// Book frames of one to three entries, plain or not, ending in various ways: the plain
        /// paths give the same result and arena as the member loop and the cursor's end check.
        #[test]
        fn the_plain_book_entry_equals_the_member_loop(
            entries in proptest::collection::vec(entry(), 1..4),
            snapshot in any::<bool>(),
            sep in separator(),
            close in closing_bracket(),
            end in frame_end(),
        ) {
            let kind = if snapshot { "snapshot" } else { "update" };
            let frame = format!(
                r#"{{"channel":"book","type":"{kind}","data":[{}{close}{end}"#,
                entries.join(sep)
            );
            prop_assert_eq!(
                scanned::<true>(frame.as_bytes()),
                scanned::<false>(frame.as_bytes()),
                "{}",
                frame
            );
        }

        /// Trade frames of one to three trades, plain or not, ending in various ways: the plain
        /// paths give the same result and arena as the member loop and the cursor's end check.
        #[test]
        fn the_plain_trade_equals_the_member_loop(
            trades in proptest::collection::vec(trade(), 1..4),
            snapshot in any::<bool>(),
            sep in separator(),
            close in closing_bracket(),
            end in frame_end(),
        ) {
            let kind = if snapshot { "snapshot" } else { "update" };
            let frame = format!(
                r#"{{"channel":"trade","type":"{kind}","data":[{}{close}{end}"#,
                trades.join(sep)
            );
            prop_assert_eq!(
                scanned::<true>(frame.as_bytes()),
                scanned::<false>(frame.as_bytes()),
                "{}",
                frame
            );
        }
    }

    /// A trade id token: Kraken's mostly, some the plain path declines or the loop rejects.
    fn trade_id() -> impl Strategy<Value = String> {
        prop_oneof![
            6 => (0u64..10_000_000_000).prop_map(|i| i.to_string()),
            1 => (0u64..u64::MAX).prop_map(|i| i.to_string()),
            1 => Just("007".to_owned()),
            1 => Just("12.0".to_owned()),
            1 => Just("-3".to_owned()),
        ]
    }

    /// A trade: Kraken's member order mostly, or members dropped, swapped, doubled or spaced,
    /// other sides and order types now and then.
    fn trade() -> impl Strategy<Value = String> {
        (
            number(),
            number(),
            trade_id(),
            prop_oneof![4 => Just("buy"), 4 => Just("sell"), 1 => Just("hold")],
            prop_oneof![4 => Just("limit"), 4 => Just("market"), 1 => Just("stop")],
            prop_oneof![
                4 => Just("2025-11-22T08:26:40.108000Z"),
                1 => Just("2025-11-22T08:26:40.1Z"),
            ],
            0u8..16,
        )
            .prop_map(|(p, q, id, side, ord, ts, odd)| {
                let m = [
                    r#""symbol":"BTC/USD""#.to_owned(),
                    format!(r#""side":"{side}""#),
                    format!(r#""price":{p}"#),
                    format!(r#""qty":{q}"#),
                    format!(r#""ord_type":"{ord}""#),
                    format!(r#""trade_id":{id}"#),
                    format!(r#""timestamp":"{ts}""#),
                ];
                let body = match odd {
                    0 => format!("{},{},{},{}", m[0], m[2], m[1], m[3..].join(",")),
                    1 => format!("{},{}", m[..4].join(","), m[5..].join(",")),
                    2 => m.join(" , "),
                    3 => format!("{},{}", m.join(","), m[3]),
                    4 => format!("{},{}", m[1..].join(","), m[0]),
                    _ => m.join(","),
                };
                format!("{{{body}}}")
            })
    }
}
