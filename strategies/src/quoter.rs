//! `quoter`: a small two-sided market maker on one symbol that exercises the whole order path —
//! post-only quotes on both sides, amends as the market moves, occasional marketable IOC takes,
//! cancels, and a cancel-all whenever the book cannot be trusted — within a position limit of
//! its own.
//!
//! **Parameters.** `symbol` (required); `qty` (required: order size in base units, a decimal
//! exact at the qty scale, e.g. `"0.001"`); `spread_bps` (quote distance from the mid on each
//! side, default 10, 1 to 5000, so the two quotes never meet); `requote_bps` (default 2, 0 to
//! 10000); `take_every` (default 50; 0 = never take); `max_position` (base units, default
//! 5 × `qty`, at least `qty`); `min_requote_ms` (default 200).
//!
//! **Prices.** With best bid `b` and best ask `a` (price mantissas, `b < a`) the mid is
//! `(b + a) / 2`. The wanted bid is `mid × (1 − spread_bps / 10⁴)` rounded down to a whole tick
//! and the wanted ask `mid × (1 + spread_bps / 10⁴)` rounded up — away from the touch — computed
//! exactly in integers as `⌊(b + a)(10⁴ − s) / (2 × 10⁴)⌋` and `⌈(b + a)(10⁴ + s) / (2 × 10⁴)⌉`.
//! The bid is then held below `a` and the ask above `b`, so a quote never crosses the opposite
//! touch. A tick is one unit of the price mantissa (the symbol's `price_scale`). A one-sided,
//! locked or crossed book changes nothing.
//!
//! **Quoting**, on each `BookChanged` of the symbol and on its `BookLive`, while quoting is on
//! (below). Each side holds at most one order, tracked as pending (sent, not answered), working,
//! amending or cancelling; while a request is in flight on a side nothing more is sent for it.
//! An empty side gets a post-only quote of `qty` at its wanted price if the position limit
//! allows it. A working quote is amended (`Context::amend`: new price, total quantity kept) when
//! the wanted price differs from its price by more than `requote_bps` of its price, and only if
//! at least `min_requote_ms` of exchange time has passed since the side's last request (its
//! placement, amend or cancel). The quoter's exchange time is the latest `Event::time_ns` it has
//! seen on any event: book events carry their own book's time and engine-made events (order
//! updates, connection changes) the feed's latest, so a delay set on one and checked on another
//! is measured on one monotone clock, never against an earlier one.
//!
//! **Takes.** Every `take_every`-th book change counted while quoting, one IOC limit order at
//! the far touch (a buy at the best ask, a sell at the best bid): a sell when long and a buy when
//! short, of `min(qty, |position|)` so that a take never flips the position; when flat, of `qty`,
//! buy and sell alternately (buy first). One take at a time, and only while the venue's status
//! is `online` (or not known yet, as in paper runs), and not within `min_requote_ms` of a
//! rejected take; a take that cannot go out on its book change (one in flight, the limit, a
//! one-sided book, that pause) is skipped, not made up later.
//!
//! **Position limit.** An order is sent only if the position stays within ±`max_position` even
//! if every open order of its direction (quote and take, itself included) filled — the engine's
//! worst-case rule. So the side that would grow the position beyond the limit gets no quote,
//! beyond it only reducing orders go out, and a working quote found over it is cancelled.
//!
//! **Halting.** Quoting is on while the symbol's book is live, the trading link is not known to
//! be down and the venue's status is not maintenance or cancel-only. `BookStale` of the symbol,
//! a `Connection` event with `LinkState::Disconnected` (either link) or such a status turns it
//! off: `Context::cancel_all(Some(symbol))` goes out if a quote is open and not already being
//! cancelled. It is on again after `BookLive` (a public-link drop makes the book stale, so that
//! too waits for `BookLive`) and, after a trading-link drop, `Link::Private` reconnecting. While
//! off, a quote whose cancel was refused is cancelled again on later events other than order
//! updates, once per side per `min_requote_ms`. `on_stop` cancels what is still open.
//!
//! **Order updates**, matched by client id (others are ignored): `Accepted` makes a quote
//! working; `Filled` moves the position by `fill_qty` in the order's direction and ends the order
//! when `remaining` is 0; `Cancelled` and `Rejected` end it — after `Rejected(WouldTake)` (a
//! post-only that would have crossed) the side is simply quoted again on the next book change,
//! after any other rejection (a risk refusal, a rate limit, a link not up yet) only once
//! `min_requote_ms` has passed, so a refused quote is not retried on every book change;
//! `Amended` sets the quote's price; `AmendRejected` and `CancelRejected` leave the order working
//! at its old price, to be amended or cancelled again later. Nothing is sent in answer to an
//! order update, so the quoter never spins against the venue; paper and live answer with the
//! same updates, so it behaves the same on both.
//!
//! **Output.** A `fill` log per fill (side ±1, price, qty, position after it) and the summary
//! figures `quotes_placed`, `amends`, `cancels` (cancel and cancel-all requests), `takes`,
//! `fills`, `rejects` (of which `rejects_would_take` and `rejects_risk`, the pre-trade risk
//! refusals), `change_rejects` (refused amends and cancels), `submit_errors` (requests the
//! context refused, e.g. a full ring), `position` and `max_abs_position` (base units).
//!
//! Invariants: no allocation after construction, no `f64`, no panic on any input; decisions
//! read only events and exchange time, so the same events give the same requests.

use kspin_api::{
    ClientOrderId, Context, Event, EventKind, Link, LinkState, LogRecord, LogSchema, OrderIntent,
    OrderStatus, OrderUpdate, ParamError, Params, Price, Qty, RejectReason, Side, Strategy,
    StrategySummary, SymbolId, SystemStatus, TimeInForce,
};

/// Registry name.
pub const NAME: &str = "quoter";

/// Basis points in one.
const BPS: i128 = 10_000;

/// Both sides, in the order of [`Quoter::quotes`].
const SIDES: [Side; 2] = [Side::Buy, Side::Sell];

static FILL: LogSchema = LogSchema::new("fill", ["side", "price", "qty", "position"]);

/// Where a quote's requests stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// The new order is in flight: no answer yet.
    Pending,
    /// Resting at [`Quote::price`], nothing in flight.
    Working,
    /// An amend is in flight.
    Amending,
    /// A cancel (or cancel-all) is in flight.
    Cancelling,
}

/// The one order of a side.
#[derive(Debug, Clone, Copy)]
struct Quote {
    id: ClientOrderId,
    price: Price,
    /// Total quantity as placed (what an amend keeps).
    qty: Qty,
    filled: i64,
    phase: Phase,
    /// Exchange time of the side's last request about it.
    last_request_ns: u64,
}

impl Quote {
    /// Quantity still open.
    fn open(&self) -> i64 {
        self.qty.0.saturating_sub(self.filled).max(0)
    }
}

/// The take in flight.
#[derive(Debug, Clone, Copy)]
struct Take {
    id: ClientOrderId,
    side: Side,
    open: i64,
}

/// Index of `side` in [`Quoter::quotes`].
const fn slot(side: Side) -> usize {
    match side {
        Side::Buy => 0,
        Side::Sell => 1,
    }
}

/// See the module docs.
pub struct Quoter {
    symbol: SymbolId,
    price_scale: u8,
    qty_scale: u8,
    qty: Qty,
    spread_bps: i128,
    requote_bps: i128,
    take_every: u64,
    max_position: i64,
    min_requote_ns: u64,
    /// Bid, ask.
    quotes: [Option<Quote>; 2],
    /// Exchange time before which a side is not quoted again after a rejection.
    requote_after_ns: [u64; 2],
    /// Exchange time before which no take goes out after a rejected one.
    take_after_ns: u64,
    take: Option<Take>,
    next_flat_take: Side,
    book_live: bool,
    trading_down: bool,
    system: SystemStatus,
    /// Book changes counted while quoting (the take clock).
    book_changes: u64,
    /// The latest exchange time seen on any event (ns since the Unix epoch): the quoter's clock.
    now_ns: u64,
    /// Base units at the qty scale; positive is long.
    position: i64,
    max_abs_position: i64,
    quotes_placed: u64,
    amends: u64,
    cancels: u64,
    takes: u64,
    fills: u64,
    rejects: u64,
    rejects_would_take: u64,
    rejects_risk: u64,
    change_rejects: u64,
    submit_errors: u64,
}

impl Quoter {
    pub fn from_params(p: &Params) -> Result<Quoter, ParamError> {
        let symbol = p.get_symbol("symbol")?;
        let (price_scale, qty_scale) = crate::scales(p, symbol);
        let qty = p.get_qty("qty", symbol)?;
        if qty.0 <= 0 {
            return Err(ParamError::invalid(
                "qty",
                qty.display(qty_scale),
                "a quantity > 0",
            ));
        }
        let spread_bps = p.get_u64_in("spread_bps", 10, 1, 5_000)?;
        let requote_bps = p.get_u64_in("requote_bps", 2, 0, 10_000)?;
        let take_every = p.get_u64_or("take_every", 50)?;
        let min_requote_ms = p.get_u64_in("min_requote_ms", 200, 0, 3_600_000)?;
        let max_position = match p.raw("max_position") {
            Some(_) => p.get_qty("max_position", symbol)?,
            None => Qty(qty.0.saturating_mul(5)),
        };
        if max_position.0 < qty.0 {
            return Err(ParamError::invalid(
                "max_position",
                max_position.display(qty_scale),
                format!("at least `qty` ({})", qty.display(qty_scale)),
            ));
        }
        Ok(Quoter {
            symbol,
            price_scale,
            qty_scale,
            qty,
            spread_bps: i128::from(spread_bps),
            requote_bps: i128::from(requote_bps),
            take_every,
            max_position: max_position.0,
            min_requote_ns: min_requote_ms * 1_000_000,
            quotes: [None; 2],
            requote_after_ns: [0; 2],
            take_after_ns: 0,
            take: None,
            next_flat_take: Side::Buy,
            book_live: false,
            trading_down: false,
            system: SystemStatus::Unknown,
            now_ns: 0,
            book_changes: 0,
            position: 0,
            max_abs_position: 0,
            quotes_placed: 0,
            amends: 0,
            cancels: 0,
            takes: 0,
            fills: 0,
            rejects: 0,
            rejects_would_take: 0,
            rejects_risk: 0,
            change_rejects: 0,
            submit_errors: 0,
        })
    }

    /// Whether quoting is on (see the module docs).
    fn quoting(&self) -> bool {
        self.book_live
            && !self.trading_down
            && !matches!(
                self.system,
                SystemStatus::Maintenance | SystemStatus::CancelOnly
            )
    }

    /// A book change (`counted`) or `BookLive` while quoting: quotes, then maybe a take.
    fn on_book(&mut self, ctx: &mut dyn Context, now: u64, counted: bool) {
        let touch = match ctx.book(self.symbol) {
            Some(book) if book.is_live() => book.best_bid().zip(book.best_ask()),
            _ => return,
        };
        if counted {
            self.book_changes += 1;
        }
        let Some(((bid, _), (ask, _))) = touch.filter(|((b, _), (a, _))| b < a) else {
            return;
        };
        for side in SIDES {
            let wanted = self.wanted(side, bid, ask);
            self.work_side(ctx, side, wanted, now);
        }
        if counted && self.take_every > 0 && self.book_changes % self.take_every == 0 {
            self.send_take(ctx, bid, ask, now);
        }
    }

    /// The quote price of `side` for touch `bid` < `ask`, or `None` if it is not a positive
    /// mantissa.
    fn wanted(&self, side: Side, bid: Price, ask: Price) -> Option<Price> {
        let sum = i128::from(bid.0) + i128::from(ask.0);
        let den = 2 * BPS;
        let price = match side {
            Side::Buy => (sum * (BPS - self.spread_bps))
                .div_euclid(den)
                .min(i128::from(ask.0) - 1),
            Side::Sell => (sum * (BPS + self.spread_bps) + den - 1)
                .div_euclid(den)
                .max(i128::from(bid.0) + 1),
        };
        i64::try_from(price).ok().filter(|&p| p > 0).map(Price)
    }

    /// Places, amends or cancels the quote of `side` towards `wanted`.
    fn work_side(&mut self, ctx: &mut dyn Context, side: Side, wanted: Option<Price>, now: u64) {
        let i = slot(side);
        match self.quotes[i] {
            None => {
                let Some(price) = wanted else { return };
                if now < self.requote_after_ns[i] || !self.fits(side, self.qty.0) {
                    return;
                }
                let intent = OrderIntent::post_only(self.symbol, side, price, self.qty);
                match ctx.submit(intent) {
                    Ok(id) => {
                        self.quotes_placed += 1;
                        self.quotes[i] = Some(Quote {
                            id,
                            price,
                            qty: self.qty,
                            filled: 0,
                            phase: Phase::Pending,
                            last_request_ns: now,
                        });
                    }
                    Err(_) => self.submit_errors += 1,
                }
            }
            Some(q) if q.phase == Phase::Working => {
                if self.exposure(side) > i128::from(self.max_position) {
                    return self.cancel(ctx, side, now);
                }
                let Some(price) = wanted else { return };
                let moved = (i128::from(price.0) - i128::from(q.price.0)).abs() * BPS
                    > self.requote_bps * i128::from(q.price.0);
                if !moved || now.saturating_sub(q.last_request_ns) < self.min_requote_ns {
                    return;
                }
                match ctx.amend(self.symbol, q.id, price, q.qty) {
                    Ok(()) => {
                        self.amends += 1;
                        self.quotes[i] = Some(Quote {
                            phase: Phase::Amending,
                            last_request_ns: now,
                            ..q
                        });
                    }
                    Err(_) => self.submit_errors += 1,
                }
            }
            Some(_) => {}
        }
    }

    /// The position in `side`'s direction if every open order of that direction filled.
    fn exposure(&self, side: Side) -> i128 {
        let quote = self.quotes[slot(side)].map_or(0, |q| q.open());
        let take = self.take.filter(|t| t.side == side).map_or(0, |t| t.open);
        i128::from(side.sign()) * i128::from(self.position) + i128::from(quote) + i128::from(take)
    }

    /// Whether a new order of `qty` on `side` keeps the worst case within the limit.
    fn fits(&self, side: Side, qty: i64) -> bool {
        self.exposure(side) + i128::from(qty) <= i128::from(self.max_position)
    }

    /// The IOC take of this book change, if one is due and allowed.
    fn send_take(&mut self, ctx: &mut dyn Context, bid: Price, ask: Price, now: u64) {
        let online = matches!(self.system, SystemStatus::Online | SystemStatus::Unknown);
        if self.take.is_some() || !online || now < self.take_after_ns {
            return;
        }
        let (side, qty) = match self.position {
            p if p > 0 => (Side::Sell, self.qty.0.min(p)),
            p if p < 0 => (Side::Buy, self.qty.0.min(p.saturating_neg())),
            _ => (self.next_flat_take, self.qty.0),
        };
        if !self.fits(side, qty) {
            return;
        }
        let price = match side {
            Side::Buy => ask,
            Side::Sell => bid,
        };
        let intent =
            OrderIntent::limit(self.symbol, side, price, Qty(qty)).with_tif(TimeInForce::Ioc);
        match ctx.submit(intent) {
            Ok(id) => {
                self.takes += 1;
                self.take = Some(Take {
                    id,
                    side,
                    open: qty,
                });
                if self.position == 0 {
                    self.next_flat_take = side.opposite();
                }
            }
            Err(_) => self.submit_errors += 1,
        }
    }

    /// Cancels the quote of `side`.
    fn cancel(&mut self, ctx: &mut dyn Context, side: Side, now: u64) {
        let i = slot(side);
        let Some(q) = self.quotes[i] else { return };
        match ctx.cancel(self.symbol, q.id) {
            Ok(()) => {
                self.cancels += 1;
                self.quotes[i] = Some(Quote {
                    phase: Phase::Cancelling,
                    last_request_ns: now,
                    ..q
                });
            }
            Err(_) => self.submit_errors += 1,
        }
    }

    /// Quoting just turned off: cancel-all if a quote is open and not being cancelled.
    fn halt(&mut self, ctx: &mut dyn Context, now: u64) {
        if self
            .quotes
            .iter()
            .flatten()
            .all(|q| q.phase == Phase::Cancelling)
        {
            return;
        }
        match ctx.cancel_all(Some(self.symbol)) {
            Ok(()) => {
                self.cancels += 1;
                for q in self.quotes.iter_mut().flatten() {
                    q.phase = Phase::Cancelling;
                    q.last_request_ns = now;
                }
            }
            Err(_) => self.submit_errors += 1,
        }
    }

    /// While quoting is off: cancels again what is still open and not being changed.
    fn sweep(&mut self, ctx: &mut dyn Context, now: u64) {
        for side in SIDES {
            let due = self.quotes[slot(side)].is_some_and(|q| {
                matches!(q.phase, Phase::Pending | Phase::Working)
                    && now.saturating_sub(q.last_request_ns) >= self.min_requote_ns
            });
            if due {
                self.cancel(ctx, side, now);
            }
        }
    }

    fn on_order(&mut self, u: &OrderUpdate, now: u64, ctx: &mut dyn Context) {
        if let Some(mut take) = self.take.filter(|t| t.id == u.client_id) {
            let done = match u.status {
                OrderStatus::Filled => {
                    self.on_fill(take.side, u, ctx);
                    take.open = u.remaining.0.max(0);
                    take.open == 0
                }
                OrderStatus::Cancelled => true,
                OrderStatus::Rejected(reason) => {
                    self.count_reject(reason);
                    self.take_after_ns = now.saturating_add(self.min_requote_ns);
                    true
                }
                _ => false,
            };
            self.take = if done { None } else { Some(take) };
            return;
        }
        let Some(i) = self
            .quotes
            .iter()
            .position(|q| q.is_some_and(|q| q.id == u.client_id))
        else {
            return;
        };
        let Some(mut q) = self.quotes[i] else { return };
        let mut done = false;
        match u.status {
            OrderStatus::Accepted => {
                if q.phase == Phase::Pending {
                    q.phase = Phase::Working;
                }
            }
            OrderStatus::Filled => {
                self.on_fill(SIDES[i], u, ctx);
                q.filled = q.filled.saturating_add(u.fill_qty.0.max(0));
                if q.phase == Phase::Pending {
                    q.phase = Phase::Working;
                }
                done = u.remaining.0 <= 0;
            }
            OrderStatus::Cancelled => done = true,
            OrderStatus::Rejected(reason) => {
                self.count_reject(reason);
                if reason != RejectReason::WouldTake {
                    self.requote_after_ns[i] = now.saturating_add(self.min_requote_ns);
                }
                done = true;
            }
            OrderStatus::Amended => {
                if u.fill_price.0 > 0 {
                    q.price = u.fill_price;
                }
                if q.phase == Phase::Amending {
                    q.phase = Phase::Working;
                }
            }
            OrderStatus::AmendRejected(_) => {
                self.change_rejects += 1;
                if q.phase == Phase::Amending {
                    q.phase = Phase::Working;
                }
            }
            OrderStatus::CancelRejected(_) => {
                self.change_rejects += 1;
                if q.phase == Phase::Cancelling {
                    q.phase = Phase::Working;
                }
            }
        }
        self.quotes[i] = if done { None } else { Some(q) };
    }

    fn on_fill(&mut self, side: Side, u: &OrderUpdate, ctx: &mut dyn Context) {
        let qty = u.fill_qty.0.max(0);
        self.fills += 1;
        self.position = self
            .position
            .saturating_add(qty.saturating_mul(side.sign()));
        let abs = i64::try_from(self.position.unsigned_abs()).unwrap_or(i64::MAX);
        self.max_abs_position = self.max_abs_position.max(abs);
        ctx.log(
            LogRecord::new(&FILL, Some(self.symbol))
                .value(side.sign(), 0)
                .value(u.fill_price.0, self.price_scale)
                .value(qty, self.qty_scale)
                .value(self.position, self.qty_scale),
        );
    }

    fn count_reject(&mut self, reason: RejectReason) {
        self.rejects += 1;
        match reason {
            RejectReason::WouldTake => self.rejects_would_take += 1,
            RejectReason::Refused(_) => self.rejects_risk += 1,
            _ => {}
        }
    }
}

impl Strategy for Quoter {
    fn on_event(&mut self, event: &Event, ctx: &mut dyn Context) {
        self.now_ns = self.now_ns.max(event.time_ns);
        let now = self.now_ns;
        let was_quoting = self.quoting();
        match event.kind {
            EventKind::Order(u) => {
                if u.symbol == self.symbol {
                    self.on_order(&u, now, ctx);
                }
                return;
            }
            EventKind::BookChanged(c) if c.symbol == self.symbol && was_quoting => {
                return self.on_book(ctx, now, true);
            }
            EventKind::BookLive(s) if s == self.symbol => {
                self.book_live = true;
                if self.quoting() {
                    return self.on_book(ctx, now, false);
                }
            }
            EventKind::BookStale(s) if s.symbol == self.symbol => {
                self.book_live = false;
                self.halt(ctx, now);
            }
            EventKind::Connection(c) => {
                self.system = c.system;
                match (c.link, c.state) {
                    (Link::Public, LinkState::Disconnected) => self.book_live = false,
                    (Link::Private, LinkState::Disconnected) => self.trading_down = true,
                    (Link::Private, LinkState::Connected) => {
                        // The order path is (again) ready: quotes refused while it was not may go
                        // out at the next book change, without waiting out their requote delay.
                        self.trading_down = false;
                        self.requote_after_ns = [0; 2];
                    }
                    (Link::Public, LinkState::Connected) => {}
                }
                if c.state == LinkState::Disconnected || (was_quoting && !self.quoting()) {
                    self.halt(ctx, now);
                }
            }
            _ => {}
        }
        if !self.quoting() {
            self.sweep(ctx, now);
        }
    }

    fn on_stop(&mut self, ctx: &mut dyn Context) {
        if self.quotes.iter().any(Option::is_some) && ctx.cancel_all(Some(self.symbol)).is_ok() {
            self.cancels += 1;
        }
    }

    fn summary(&self) -> StrategySummary {
        StrategySummary::new()
            .count("quotes_placed", self.quotes_placed)
            .count("amends", self.amends)
            .count("cancels", self.cancels)
            .count("takes", self.takes)
            .count("fills", self.fills)
            .count("rejects", self.rejects)
            .count("rejects_would_take", self.rejects_would_take)
            .count("rejects_risk", self.rejects_risk)
            .count("change_rejects", self.change_rejects)
            .count("submit_errors", self.submit_errors)
            .with("position", self.position, self.qty_scale)
            .with("max_abs_position", self.max_abs_position, self.qty_scale)
    }
}

#[cfg(test)]
mod tests;
