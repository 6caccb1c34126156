//! The decoder's preallocated arena: every variable-length part of a decoded message lives here.
//!
//! Owns the item vectors (book levels, book entries, trades, tickers, candles, pairs, execution
//! reports, balances, order references) and the
//! bounded unescape scratch. Invariants: every vector is allocated once, in [`Arena::new`], with
//! the capacity from [`DecoderLimits`]; [`Arena::clear`] empties them without freeing, and a push
//! beyond the limit is [`DecodeError::ArenaFull`], never a reallocation (the scanner's levels,
//! book entries and trades with one compare against a room fixed at start-up, [`Room`]). Strings are stored as
//! [`Span`]s into the frame (or into the scratch for the rare escaped string), so nothing in here
//! borrows across frames. It never allocates after `new`.

use kspin_api::Decimal;

use super::error::DecodeError;
use super::message::{Level, OrdType, Side};
use super::DecoderLimits;

/// Marks a [`Span`] that points into the unescape scratch instead of the frame.
const SCRATCH_BIT: u32 = 1 << 31;

/// Largest frame a [`Span`] can address (its top bit tells frame from scratch).
pub(crate) const MAX_SPAN_OFFSET: usize = (SCRATCH_BIT - 1) as usize;

/// A string as `start..start+len` in the frame, or in the scratch when the top bit of `start`
/// is set.
///
/// Invariant: both ends fall on char boundaries of the text the span points into, because every
/// span is made from a string the decoder read out of that text: the scanner's spans lie in a
/// frame it accepts only when every byte is ASCII (`cursor.rs`, `Cur::into_text`), the general
/// decoder's are `&str` sub-slices of the frame (`visit.rs`, `span_of`), and scratch spans cover
/// whole `&str`s pushed by [`Arena::push_scratch`]. [`Texts::get`] is the one place relying on it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Span {
    start: u32,
    len: u32,
}

impl Span {
    /// A span of the frame; `None` if the offsets do not fit (the frame limit prevents that).
    #[inline]
    pub(crate) fn frame(start: usize, len: usize) -> Option<Span> {
        if start.checked_add(len)? > MAX_SPAN_OFFSET {
            return None;
        }
        Some(Span {
            start: start as u32,
            len: len as u32,
        })
    }

    #[inline]
    fn scratch(start: usize, len: usize) -> Option<Span> {
        if start.checked_add(len)? > MAX_SPAN_OFFSET {
            return None;
        }
        Some(Span {
            start: start as u32 | SCRATCH_BIT,
            len: len as u32,
        })
    }
}

/// The two texts a [`Span`] can point into, for the lifetime of one decoded message.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Texts<'a> {
    pub(crate) frame: &'a str,
    pub(crate) scratch: &'a str,
}

impl<'a> Texts<'a> {
    /// The text of `span`. Spans are only made from sub-slices of these same texts, so the
    /// range is always valid; one outside its text would resolve to `""` rather than panic.
    /// The ends are not checked for char boundaries at run time: the [`Span`] invariant
    /// guarantees them (checked here with debug assertions, which every decoder test runs).
    #[inline]
    pub(crate) fn get(&self, span: Span) -> &'a str {
        let (text, start) = if span.start & SCRATCH_BIT != 0 {
            (self.scratch, (span.start & !SCRATCH_BIT) as usize)
        } else {
            (self.frame, span.start as usize)
        };
        let end = start + span.len as usize;
        let Some(bytes) = text.as_bytes().get(start..end) else {
            debug_assert!(false, "span outside its text");
            return "";
        };
        debug_assert!(
            text.is_char_boundary(start) && text.is_char_boundary(end),
            "span ends off a char boundary"
        );
        // SAFETY: `bytes` is `text[start..end]` (bounds checked above) and both ends are char
        // boundaries of `text` by the `Span` invariant (debug-asserted above), so it is a
        // sub-slice of valid UTF-8 cut at char boundaries: valid UTF-8.
        unsafe { core::str::from_utf8_unchecked(bytes) }
    }

    #[inline]
    pub(crate) fn opt(&self, span: Option<Span>) -> Option<&'a str> {
        span.map(|s| self.get(s))
    }
}

/// A run of levels in [`Arena::levels`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct LevelRun {
    pub(crate) start: u32,
    pub(crate) len: u32,
}

impl LevelRun {
    #[inline]
    pub(crate) fn of<'a>(&self, levels: &'a [Level]) -> &'a [Level] {
        let start = self.start as usize;
        levels.get(start..start + self.len as usize).unwrap_or(&[])
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct BookSlot {
    pub(crate) symbol: Span,
    pub(crate) bids: LevelRun,
    pub(crate) asks: LevelRun,
    pub(crate) checksum: Option<u32>,
    pub(crate) timestamp: Option<Span>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct TradeSlot {
    pub(crate) symbol: Span,
    pub(crate) side: Side,
    pub(crate) price: Decimal,
    pub(crate) qty: Decimal,
    pub(crate) ord_type: OrdType,
    pub(crate) trade_id: u64,
    pub(crate) timestamp: Span,
}

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TickerSlot {
    pub(crate) symbol: Span,
    pub(crate) bid: Decimal,
    pub(crate) bid_qty: Decimal,
    pub(crate) ask: Decimal,
    pub(crate) ask_qty: Decimal,
    pub(crate) last: Decimal,
    pub(crate) volume: Decimal,
    pub(crate) vwap: Decimal,
    pub(crate) low: Decimal,
    pub(crate) high: Decimal,
    pub(crate) change: Decimal,
    pub(crate) change_pct: Decimal,
    pub(crate) timestamp: Option<Span>,
}

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CandleSlot {
    pub(crate) symbol: Span,
    pub(crate) open: Decimal,
    pub(crate) high: Decimal,
    pub(crate) low: Decimal,
    pub(crate) close: Decimal,
    pub(crate) vwap: Decimal,
    pub(crate) volume: Decimal,
    pub(crate) trades: u64,
    pub(crate) interval_begin: Span,
    pub(crate) interval: u32,
}

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PairSlot {
    pub(crate) symbol: Span,
    pub(crate) base: Span,
    pub(crate) quote: Span,
    pub(crate) status: Span,
    pub(crate) price_precision: u8,
    pub(crate) qty_precision: u8,
    pub(crate) price_increment: Decimal,
    pub(crate) qty_increment: Decimal,
    pub(crate) qty_min: Decimal,
}

/// One execution report of the authenticated `executions` channel (PROTOCOL.md §1.10).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ExecutionSlot {
    pub(crate) exec_type: Span,
    pub(crate) order_status: Option<Span>,
    pub(crate) order_id: Option<Span>,
    pub(crate) cl_ord_id: Option<Span>,
    pub(crate) order_userref: Option<u64>,
    pub(crate) exec_id: Option<Span>,
    pub(crate) trade_id: Option<u64>,
    pub(crate) symbol: Option<Span>,
    pub(crate) side: Option<Side>,
    pub(crate) order_type: Option<Span>,
    pub(crate) time_in_force: Option<Span>,
    pub(crate) order_qty: Option<Decimal>,
    pub(crate) limit_price: Option<Decimal>,
    pub(crate) cum_qty: Option<Decimal>,
    pub(crate) cum_cost: Option<Decimal>,
    pub(crate) avg_price: Option<Decimal>,
    pub(crate) last_qty: Option<Decimal>,
    pub(crate) last_price: Option<Decimal>,
    pub(crate) cost: Option<Decimal>,
    /// Sum of `fees[].qty` (Kraken: "expressed in the quote currency only").
    pub(crate) fee: Option<Decimal>,
    pub(crate) fee_asset: Option<Span>,
    pub(crate) liquidity: Option<Span>,
    pub(crate) post_only: Option<bool>,
    pub(crate) amended: Option<bool>,
    pub(crate) reason: Option<Span>,
    pub(crate) timestamp: Option<Span>,
}

/// One entry of the authenticated `balances` channel.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct BalanceSlot {
    pub(crate) asset: Span,
    pub(crate) balance: Option<Decimal>,
    pub(crate) amount: Option<Decimal>,
    pub(crate) fee: Option<Decimal>,
    pub(crate) kind: Option<Span>,
    pub(crate) timestamp: Option<Span>,
}

/// One order of a `batch_add` result (or the single order of an `add_order` result).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct OrderRefSlot {
    pub(crate) order_id: Option<Span>,
    pub(crate) cl_ord_id: Option<Span>,
    pub(crate) order_userref: Option<u64>,
}

/// Pushes `item` if `v` holds fewer than `max` items and has room for it; never reallocates
/// (`v` was created with capacity `max`, so the room check only tells the compiler that `push`
/// never grows: no grow call, and nothing kept across one).
#[inline]
fn push_bounded<T>(
    v: &mut Vec<T>,
    max: usize,
    item: T,
    what: &'static str,
) -> Result<(), DecodeError> {
    if v.len() >= max || v.len() >= v.capacity() {
        return Err(DecodeError::ArenaFull(what));
    }
    v.push(item);
    Ok(())
}

/// How many items the scanner's three vectors take: the limit, or the capacity if that were
/// smaller, fixed in [`Arena::new`]. Never above the capacity, which no arena method lowers
/// (`clear` and `truncate` keep it, nothing shrinks or replaces the vectors), so a push below
/// it never reallocates.
#[derive(Debug, Clone, Copy)]
struct Room {
    levels: usize,
    books: usize,
    trades: usize,
}

impl Room {
    fn of(
        levels: &Vec<Level>,
        books: &Vec<BookSlot>,
        trades: &Vec<TradeSlot>,
        limits: &DecoderLimits,
    ) -> Room {
        Room {
            levels: limits.max_levels.min(levels.capacity()),
            books: limits.max_books.min(books.capacity()),
            trades: limits.max_trades.min(trades.capacity()),
        }
    }
}

/// [`push_bounded`] with the limit and the capacity taken together as `room` (at most
/// `v.capacity()`, see [`Room`]): one compare per push instead of two, for the scanner's levels,
/// book entries and trades.
#[inline]
fn push_in_room<T>(
    v: &mut Vec<T>,
    room: usize,
    item: T,
    what: &'static str,
) -> Result<(), DecodeError> {
    let len = v.len();
    if len >= room {
        return Err(DecodeError::ArenaFull(what));
    }
    debug_assert!(len < v.capacity(), "room above the capacity");
    // SAFETY: `len < room <= v.capacity()` (`Room`: set from the capacity in `Arena::new`, which
    // no arena method lowers; debug-asserted above), so the slot at `len` is allocated and
    // holds no item; writing it and then counting it is what `push` does without the growth
    // check.
    unsafe {
        v.as_mut_ptr().add(len).write(item);
        v.set_len(len + 1);
    }
    Ok(())
}

/// All per-frame storage, sized once from [`DecoderLimits`].
#[derive(Debug)]
pub(crate) struct Arena {
    pub(crate) limits: DecoderLimits,
    room: Room,
    pub(crate) levels: Vec<Level>,
    pub(crate) books: Vec<BookSlot>,
    pub(crate) trades: Vec<TradeSlot>,
    pub(crate) tickers: Vec<TickerSlot>,
    pub(crate) candles: Vec<CandleSlot>,
    pub(crate) pairs: Vec<PairSlot>,
    pub(crate) executions: Vec<ExecutionSlot>,
    pub(crate) balances: Vec<BalanceSlot>,
    pub(crate) order_refs: Vec<OrderRefSlot>,
    /// Unescaped strings (rare: Kraken sends plain ASCII), bounded by `max_scratch`.
    pub(crate) scratch: String,
}

impl Arena {
    pub(crate) fn new(limits: DecoderLimits) -> Arena {
        let levels = Vec::with_capacity(limits.max_levels);
        let books = Vec::with_capacity(limits.max_books);
        let trades = Vec::with_capacity(limits.max_trades);
        Arena {
            room: Room::of(&levels, &books, &trades, &limits),
            levels,
            books,
            trades,
            tickers: Vec::with_capacity(limits.max_tickers),
            candles: Vec::with_capacity(limits.max_candles),
            pairs: Vec::with_capacity(limits.max_pairs),
            executions: Vec::with_capacity(limits.max_executions),
            balances: Vec::with_capacity(limits.max_balances),
            order_refs: Vec::with_capacity(limits.max_order_refs),
            scratch: String::with_capacity(limits.max_scratch),
            limits,
        }
    }

    /// Forgets the previous frame's items; keeps every allocation.
    #[inline]
    pub(crate) fn clear(&mut self) {
        self.levels.clear();
        self.books.clear();
        self.trades.clear();
        self.tickers.clear();
        self.candles.clear();
        self.pairs.clear();
        self.executions.clear();
        self.balances.clear();
        self.order_refs.clear();
        self.scratch.clear();
    }

    /// Forgets the previous frame's levels, book entries and trades, the only items the scanner
    /// (`scan.rs`) writes or its messages read; [`Arena::clear`] empties the rest before the
    /// general decoder runs.
    #[inline]
    pub(crate) fn clear_for_scan(&mut self) {
        self.levels.clear();
        self.books.clear();
        self.trades.clear();
    }

    #[inline]
    pub(crate) fn push_level(&mut self, level: Level) -> Result<(), DecodeError> {
        push_in_room(&mut self.levels, self.room.levels, level, "levels")
    }

    #[inline]
    pub(crate) fn push_book(&mut self, slot: BookSlot) -> Result<(), DecodeError> {
        push_in_room(&mut self.books, self.room.books, slot, "books")
    }

    #[inline]
    pub(crate) fn push_trade(&mut self, slot: TradeSlot) -> Result<(), DecodeError> {
        push_in_room(&mut self.trades, self.room.trades, slot, "trades")
    }

    pub(crate) fn push_ticker(&mut self, slot: TickerSlot) -> Result<(), DecodeError> {
        push_bounded(&mut self.tickers, self.limits.max_tickers, slot, "tickers")
    }

    pub(crate) fn push_candle(&mut self, slot: CandleSlot) -> Result<(), DecodeError> {
        push_bounded(&mut self.candles, self.limits.max_candles, slot, "candles")
    }

    pub(crate) fn push_pair(&mut self, slot: PairSlot) -> Result<(), DecodeError> {
        push_bounded(&mut self.pairs, self.limits.max_pairs, slot, "pairs")
    }

    pub(crate) fn push_execution(&mut self, slot: ExecutionSlot) -> Result<(), DecodeError> {
        push_bounded(
            &mut self.executions,
            self.limits.max_executions,
            slot,
            "executions",
        )
    }

    pub(crate) fn push_balance(&mut self, slot: BalanceSlot) -> Result<(), DecodeError> {
        push_bounded(
            &mut self.balances,
            self.limits.max_balances,
            slot,
            "balances",
        )
    }

    pub(crate) fn push_order_ref(&mut self, slot: OrderRefSlot) -> Result<(), DecodeError> {
        push_bounded(
            &mut self.order_refs,
            self.limits.max_order_refs,
            slot,
            "order_refs",
        )
    }

    /// Copies an unescaped string into the scratch, or [`DecodeError::EscapedString`] when the
    /// scratch (capacity `max_scratch`) has no room left.
    pub(crate) fn push_scratch(
        &mut self,
        text: &str,
        field: &'static str,
    ) -> Result<Span, DecodeError> {
        let start = self.scratch.len();
        if text.len() > self.limits.max_scratch - start {
            return Err(DecodeError::EscapedString(field));
        }
        debug_assert!(start + text.len() <= self.scratch.capacity());
        self.scratch.push_str(text);
        Span::scratch(start, text.len()).ok_or(DecodeError::EscapedString(field))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> DecoderLimits {
        DecoderLimits {
            max_levels: 2,
            max_scratch: 8,
            ..DecoderLimits::default()
        }
    }

    #[test]
    fn push_beyond_the_limit_is_arena_full_and_never_grows() {
        let mut arena = Arena::new(small());
        let cap = arena.levels.capacity();
        let level = Level {
            price: Decimal::ZERO,
            qty: Decimal::ZERO,
        };
        assert_eq!(arena.push_level(level), Ok(()));
        assert_eq!(arena.push_level(level), Ok(()));
        assert_eq!(
            arena.push_level(level),
            Err(DecodeError::ArenaFull("levels"))
        );
        assert_eq!(arena.levels.capacity(), cap);
        arena.clear();
        assert_eq!(arena.push_level(level), Ok(()));
    }

    proptest::proptest! {
        /// The one-compare push of the scanner's vectors (`push_in_room`) against the checked
        /// `push_bounded` on a plain vector with the same limit, through pushes, truncations
        /// and clears: the same results and contents, and the capacity never changes.
        #[test]
        fn push_in_room_equals_push_bounded(
            max in 0usize..6,
            ops in proptest::collection::vec((0u8..4, 0i64..1000), 0..40),
        ) {
            let mut arena = Arena::new(DecoderLimits { max_levels: max, ..small() });
            let cap = arena.levels.capacity();
            let mut model: Vec<Level> = Vec::with_capacity(max);
            for (op, m) in ops {
                let level = Level {
                    price: Decimal { mantissa: m, scale: 1 },
                    qty: Decimal::ZERO,
                };
                match op {
                    0 | 1 => proptest::prop_assert_eq!(
                        arena.push_level(level),
                        push_bounded(&mut model, max, level, "levels")
                    ),
                    2 => {
                        arena.levels.truncate(m as usize % 4);
                        model.truncate(m as usize % 4);
                    }
                    _ => {
                        arena.clear_for_scan();
                        model.clear();
                    }
                }
                proptest::prop_assert_eq!(&arena.levels, &model);
                proptest::prop_assert_eq!(arena.levels.capacity(), cap);
            }
        }
    }

    #[test]
    fn spans_resolve_into_frame_and_scratch() {
        let mut arena = Arena::new(small());
        let s1 = arena.push_scratch("a\"b", "symbol").unwrap();
        let s2 = arena.push_scratch("xyz", "symbol").unwrap();
        assert_eq!(
            arena.push_scratch("toolong", "symbol"),
            Err(DecodeError::EscapedString("symbol"))
        );
        let frame = "{\"symbol\":\"BTC/USD\"}";
        let texts = Texts {
            frame,
            scratch: &arena.scratch,
        };
        assert_eq!(texts.get(s1), "a\"b");
        assert_eq!(texts.get(s2), "xyz");
        assert_eq!(texts.get(Span::frame(11, 7).unwrap()), "BTC/USD");
        // Multi-byte text on both sides of a span: it resolves to exactly its chars.
        let wide = Texts {
            frame: "{\"s\":\"é€x\"}",
            scratch: "",
        };
        assert_eq!(wide.get(Span::frame(6, 6).unwrap()), "é€x");
        assert_eq!(wide.get(Span::frame(8, 3).unwrap()), "€");
        assert_eq!(Span::frame(MAX_SPAN_OFFSET, 1), None);
    }

    /// The char-boundary invariant `Texts::get` relies on is asserted in builds with debug
    /// assertions (every test build): a span cutting a char in two is caught there.
    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "span ends off a char boundary")]
    fn a_span_off_a_char_boundary_is_caught_with_debug_assertions() {
        let wide = Texts {
            frame: "{\"s\":\"é€x\"}",
            scratch: "",
        };
        wide.get(Span::frame(7, 2).unwrap());
    }
}
