//! The trade scanner's fastest path: one trade in Kraken's exact shape,
//! `{"symbol":S,"side":"buy"|"sell","price":P,"qty":Q,"ord_type":O,"trade_id":N,"timestamp":T}`
//! with no whitespace, read straight through: no key dispatch, no duplicate bookkeeping, the
//! symbol and the timestamp each in one window with the keys around them (as a book entry's:
//! `Cur::framed_short_str`, `Cur::framed_fixed_str`), the two decimals as words
//! with the keys and commas around them in one window as a book level's (`price_qty`), and the
//! trade id with its key in one window ([`keyed_plain_unsigned`]), as a book entry's checksum.
//!
//! Why: a trade through the member loop cost ~1,200 instructions (callgrind, a multi-symbol
//! capture where a fifth of the frames are trades), more than a whole book update.
//!
//! Owns [`plain_trade`]. Invariants: it either returns exactly the slot the member loop of `scan::member_trade` builds from the same bytes, with the
//! cursor just after the entry's `}`, or declines with `None`, and the caller rewinds the cursor
//! and runs the member loop (a property test in `scan.rs` holds the two equal). Every byte it
//! consumes is ASCII, as the cursor's invariant requires: literals, digits, and strings read by
//! the cursor's own methods. It never allocates, never panics (all indexing is checked) and never
//! reads outside the frame.

use super::arena::TradeSlot;
use super::cursor::Cur;
use super::message::Level;
use super::message::{OrdType, Side};
use super::plain_level::{keyed_plain_unsigned, price_qty};
use super::scan::closing_timestamp;
use super::visit::ord_type_of;

/// One trade in Kraken's exact member order at the cursor (see the module docs), or `None` with
/// the cursor anywhere inside the entry.
#[inline(always)]
pub(super) fn plain_trade(c: &mut Cur<'_>) -> Option<TradeSlot> {
    // The symbol with the keys around it in one window, as a book entry's; the parts one by one
    // if not.
    let symbol = match c.framed_short_str(br#"{"symbol":""#, br#"","side":"#) {
        Some(symbol) => symbol,
        None => {
            if !c.lit(br#"{"symbol":"#) {
                return None;
            }
            let symbol = c.str_span()?;
            if !c.lit(br#","side":"#) {
                return None;
            }
            symbol
        }
    };
    let side = if c.lit(br#""buy""#) {
        Side::Buy
    } else if c.lit(br#""sell""#) {
        Side::Sell
    } else {
        return None;
    };
    // The price and the quantity with the keys and commas around them in one window.
    let (Level { price, qty }, next) = price_qty::<b',', b','>(c.b, c.i)?;
    c.i = next;
    let ord_type = if c.lit(br#""ord_type":"limit""#) {
        OrdType::Limit
    } else if c.lit(br#""ord_type":"market""#) {
        OrdType::Market
    } else if c.lit(br#""ord_type":"#) {
        ord_type_of(core::str::from_utf8(c.str_bytes()?).ok()?)
    } else {
        return None;
    };
    // The key and the id in one window, as a book entry's checksum.
    let (trade_id, end) = keyed_plain_unsigned(c.b, c.i, br#","trade_id":"#)?;
    c.i = end;
    let timestamp = closing_timestamp(c)?;
    Some(TradeSlot {
        symbol,
        side,
        price,
        qty,
        ord_type,
        trade_id,
        timestamp,
    })
}
