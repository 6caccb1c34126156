//! [`PaperVenue`]: the exchange of a deterministic replay. It handles each order request when it
//! arrives (after the latency model's delay, see [`super::latency`]) against the engine's book as
//! it stands then, keeps the resting orders of every strategy with their place in the queue
//! ([`QueueModel`]), matches them against the recorded trades and book states, and charges fees.
//!
//! The model, stated in full (the README repeats it):
//!
//! - **New orders** are answered `Rejected` for a non-positive quantity or limit price
//!   (`BadParameters`), a venue in maintenance or cancel-only, or a non-post-only order under
//!   post-only (`MarketClosed`), a book that is not live at the strategies' scales (`BookStale`),
//!   a market order facing an empty side (`NoLiquidity`), a post-only order that would take
//!   (`WouldTake`). Otherwise `Accepted`, then, if marketable, it takes: it walks the opposite side
//!   best first, one `Filled` per level at that level's price for what the level shows (a limit
//!   order stops at its limit), at the taker fee. A market or IOC order's unfilled rest is
//!   `Cancelled`; a limit order's rest rests, at its limit price, behind what the queue model
//!   puts ahead of it, until filled, cancelled or (GTD) expired.
//! - **Resting orders** fill at their limit price, at the maker fee: on public trades as the
//!   queue model says, and on a book state whose opposite side crosses their price, up to the
//!   crossing quantity.
//! - **Cancels** answer `Cancelled` with what was left; an order no longer resting answers
//!   `CancelRejected(UnknownOrder)`; none in maintenance (`CancelRejected(MarketClosed)`).
//! - **Amends** change the total quantity (above what has filled) and, unless zero, the limit
//!   price; the order keeps its place only when its price stays and its open quantity does not
//!   grow (Kraken's rule for queue priority), else it goes to the back of its (new) level. A new
//!   price that crosses takes at once like a new order (refused `WouldTake` for post-only).
//! - **Fees** are `price × qty × bps / 10⁴` of each fill, in the quote currency, rounded up to
//!   the cost's last decimal (`price_scale + qty_scale`), as a venue never under-charges.
//! - Paper orders never consume the recorded liquidity and never move the recorded book: the
//!   market is the one recorded, whatever the strategies do.
//!
//! Owns the resting orders (in queue-priority order per price: oldest first). Invariants: every
//! order gets `Accepted` before any fill and exactly one final update; no panic on any request;
//! integers only. It allocates (the replay tool's venue, not the engine core's).

use kspin_api::{
    ClientOrderId, Decimal, OrderIntent, OrderRequest, OrderType, OrderUpdate, Price, Qty,
    RejectReason, Side, SymbolId, SymbolInfo, SystemStatus, TimeInForce,
};
use kspin_core::book::OrderBook;

use super::queue::QueueModel;
use super::tape::TapeTrade;
use crate::paper::{crosses, crossing_qty};
use crate::BookSource;

/// Basis points in one: fees are `cost × bps / BPS`.
const BPS: i128 = 10_000;

/// What the venue charges and how it queues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VenueConfig {
    pub queue: QueueModel,
    /// Fee of a fill that rested, basis points of its cost.
    pub maker_fee_bps: u32,
    /// Fee of a fill that took, basis points of its cost.
    pub taker_fee_bps: u32,
}

/// An answer for strategy `strategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    pub strategy: usize,
    pub update: OrderUpdate,
}

#[derive(Debug, Clone, Copy)]
struct Resting {
    strategy: usize,
    id: ClientOrderId,
    symbol: SymbolId,
    side: Side,
    price: Price,
    remaining: i64,
    filled: i64,
    /// Quantity ahead of it in its level's queue.
    ahead: i64,
    post_only: bool,
    expire_ns: u64,
}

/// See the module docs.
#[derive(Debug)]
pub struct PaperVenue {
    cfg: VenueConfig,
    /// `(price_scale, qty_scale)` strategies use, per symbol.
    scales: Vec<(u8, u8)>,
    /// Resting orders, oldest (highest priority at a price) first.
    orders: Vec<Resting>,
    system: SystemStatus,
}

impl PaperVenue {
    pub fn new(cfg: VenueConfig, symbols: &[SymbolInfo]) -> PaperVenue {
        PaperVenue {
            cfg,
            scales: symbols
                .iter()
                .map(|s| (s.price_scale, s.qty_scale))
                .collect(),
            orders: Vec::new(),
            system: SystemStatus::Unknown,
        }
    }

    /// The venue's trading status (from the recorded `status` channel).
    pub fn set_system(&mut self, system: SystemStatus) {
        self.system = system;
    }

    /// Resting orders (all strategies).
    pub fn resting(&self) -> usize {
        self.orders.len()
    }

    /// The earliest expiry of a resting GTD order (`u64::MAX`: none).
    pub fn next_expiry(&self) -> u64 {
        self.orders
            .iter()
            .map(|o| o.expire_ns)
            .min()
            .unwrap_or(u64::MAX)
    }

    /// Cancels the GTD orders whose expiry is at or before `now_ns`.
    pub fn expire(&mut self, now_ns: u64, out: &mut Vec<Answer>) {
        self.orders.retain(|o| {
            if o.expire_ns > now_ns {
                return true;
            }
            let update = OrderUpdate::cancelled(o.id, o.symbol, Qty(o.remaining));
            out.push(Answer {
                strategy: o.strategy,
                update,
            });
            false
        });
    }

    /// Handles one request of `strategy` against `books` (the engine's, now) at `now_ns`.
    pub fn handle<B: BookSource + ?Sized>(
        &mut self,
        strategy: usize,
        request: &OrderRequest,
        books: &B,
        now_ns: u64,
        out: &mut Vec<Answer>,
    ) {
        match *request {
            OrderRequest::New { client_id, intent } => {
                self.new_order(strategy, client_id, &intent, books, now_ns, out)
            }
            OrderRequest::Cancel { client_id, symbol } => {
                self.cancel(strategy, client_id, symbol, out)
            }
            OrderRequest::Amend {
                client_id,
                symbol,
                price,
                qty,
            } => self.amend(strategy, client_id, symbol, price, qty, books, out),
            OrderRequest::CancelAll { symbol } => self.cancel_all(strategy, symbol, out),
            OrderRequest::Resnapshot { .. } => {}
        }
    }

    /// A public trade: resting orders on the side it hit fill as the queue model says.
    pub fn on_trade(&mut self, trade: &TapeTrade, out: &mut Vec<Answer>) {
        let model = self.cfg.queue;
        let fee_bps = self.cfg.maker_fee_bps;
        let scales = &self.scales;
        self.orders.retain_mut(|o| {
            if o.symbol.index() != trade.symbol || o.side == trade.taker {
                return true;
            }
            let fill = model.on_trade(
                o.side,
                o.price,
                &mut o.ahead,
                o.remaining,
                trade.price,
                trade.qty.0,
            );
            if fill <= 0 {
                return true;
            }
            Self::fill_resting(o, fill, fee_bps, scales, out)
        });
    }

    /// A new state of `symbol`'s book: resting orders it crosses fill, and the quantity ahead
    /// of each follows what the level shows.
    pub fn on_book<B: BookSource + ?Sized>(
        &mut self,
        symbol: usize,
        books: &B,
        out: &mut Vec<Answer>,
    ) {
        let Some(book) = self.live_book(books, symbol) else {
            return;
        };
        let model = self.cfg.queue;
        let fee_bps = self.cfg.maker_fee_bps;
        let scales = &self.scales;
        self.orders.retain_mut(|o| {
            if o.symbol.index() != symbol {
                return true;
            }
            model.on_depth(&mut o.ahead, displayed_at(book, o.side, o.price));
            let crossing = crossing_qty(book, o.side, o.price);
            if crossing <= 0 {
                return true;
            }
            o.ahead = 0;
            let fill = o.remaining.min(crossing);
            Self::fill_resting(o, fill, fee_bps, scales, out)
        });
    }

    /// Fills `fill` of a resting order at its price; returns whether it keeps resting.
    fn fill_resting(
        o: &mut Resting,
        fill: i64,
        fee_bps: u32,
        scales: &[(u8, u8)],
        out: &mut Vec<Answer>,
    ) -> bool {
        o.remaining -= fill;
        o.filled = o.filled.saturating_add(fill);
        let fee = fee_of(
            o.price,
            fill,
            fee_bps,
            scales.get(o.symbol.index()).copied(),
        );
        let update =
            OrderUpdate::filled(o.id, o.symbol, o.price, Qty(fill), Qty(o.remaining)).with_fee(fee);
        out.push(Answer {
            strategy: o.strategy,
            update,
        });
        o.remaining > 0
    }

    /// `symbol`'s book if it is live at the strategies' scales.
    fn live_book<'f, B: BookSource + ?Sized>(
        &self,
        books: &'f B,
        symbol: usize,
    ) -> Option<&'f OrderBook> {
        let &(ps, qs) = self.scales.get(symbol)?;
        let (book, live) = books.current_book(symbol)?;
        (live && book.price_scale() == ps && book.qty_scale() == qs).then_some(book)
    }

    fn closed_to(&self, order_type: OrderType) -> bool {
        match self.system {
            SystemStatus::Maintenance | SystemStatus::CancelOnly => true,
            SystemStatus::PostOnly => order_type != OrderType::PostOnly,
            SystemStatus::Online | SystemStatus::Unknown => false,
        }
    }

    fn new_order<B: BookSource + ?Sized>(
        &mut self,
        strategy: usize,
        id: ClientOrderId,
        intent: &OrderIntent,
        books: &B,
        now_ns: u64,
        out: &mut Vec<Answer>,
    ) {
        let symbol = intent.symbol;
        let answer = |update| Answer { strategy, update };
        let reject = |reason| answer(OrderUpdate::rejected(id, symbol, reason));
        let market = intent.order_type == OrderType::Market;
        if intent.qty.0 <= 0 || (!market && intent.price.0 <= 0) {
            return out.push(reject(RejectReason::BadParameters));
        }
        if self.closed_to(intent.order_type) {
            return out.push(reject(RejectReason::MarketClosed));
        }
        let Some(book) = self.live_book(books, symbol.index()) else {
            return out.push(reject(RejectReason::BookStale));
        };
        let best = best_opposite(book, intent.side);
        let marketable = match best {
            None => false,
            Some(_) if market => true,
            Some(p) => crosses(intent.side, intent.price, p),
        };
        if market && best.is_none() {
            return out.push(reject(RejectReason::NoLiquidity));
        }
        if intent.order_type == OrderType::PostOnly && marketable {
            return out.push(reject(RejectReason::WouldTake));
        }
        out.push(answer(OrderUpdate::accepted(id, symbol)));
        let limit = (!market).then_some(intent.price);
        let scales = self.scales.get(symbol.index()).copied();
        let remaining = take(
            book,
            strategy,
            id,
            symbol,
            intent.side,
            limit,
            intent.qty.0,
            self.cfg.taker_fee_bps,
            scales,
            out,
        );
        if remaining == 0 {
            return;
        }
        let expire_ns = match intent.tif {
            TimeInForce::Gtd { expire_ns } => expire_ns,
            TimeInForce::Gtc | TimeInForce::Ioc => u64::MAX,
        };
        if market || intent.tif == TimeInForce::Ioc || expire_ns <= now_ns {
            return out.push(answer(OrderUpdate::cancelled(id, symbol, Qty(remaining))));
        }
        self.orders.push(Resting {
            strategy,
            id,
            symbol,
            side: intent.side,
            price: intent.price,
            remaining,
            filled: intent.qty.0 - remaining,
            ahead: self
                .cfg
                .queue
                .join(displayed_at(book, intent.side, intent.price)),
            post_only: intent.order_type == OrderType::PostOnly,
            expire_ns,
        });
    }

    fn position_of(&self, strategy: usize, id: ClientOrderId) -> Option<usize> {
        self.orders
            .iter()
            .position(|o| o.strategy == strategy && o.id == id)
    }

    fn cancel(
        &mut self,
        strategy: usize,
        id: ClientOrderId,
        symbol: SymbolId,
        out: &mut Vec<Answer>,
    ) {
        let refuse = |reason| Answer {
            strategy,
            update: OrderUpdate::change_rejected(id, symbol, reason, true),
        };
        if self.system == SystemStatus::Maintenance {
            return out.push(refuse(RejectReason::MarketClosed));
        }
        match self.position_of(strategy, id) {
            Some(i) => {
                let o = self.orders.remove(i);
                out.push(Answer {
                    strategy,
                    update: OrderUpdate::cancelled(id, o.symbol, Qty(o.remaining)),
                });
            }
            None => out.push(refuse(RejectReason::UnknownOrder)),
        }
    }

    fn cancel_all(&mut self, strategy: usize, symbol: Option<SymbolId>, out: &mut Vec<Answer>) {
        if self.system == SystemStatus::Maintenance {
            return;
        }
        self.orders.retain(|o| {
            let mine = o.strategy == strategy && symbol.is_none_or(|s| s == o.symbol);
            if mine {
                out.push(Answer {
                    strategy,
                    update: OrderUpdate::cancelled(o.id, o.symbol, Qty(o.remaining)),
                });
            }
            !mine
        });
    }

    #[allow(clippy::too_many_arguments)]
    fn amend<B: BookSource + ?Sized>(
        &mut self,
        strategy: usize,
        id: ClientOrderId,
        symbol: SymbolId,
        price: Price,
        qty: Qty,
        books: &B,
        out: &mut Vec<Answer>,
    ) {
        let refuse = |reason| Answer {
            strategy,
            update: OrderUpdate::change_rejected(id, symbol, reason, false),
        };
        let Some(i) = self.position_of(strategy, id) else {
            return out.push(refuse(RejectReason::UnknownOrder));
        };
        if matches!(
            self.system,
            SystemStatus::Maintenance | SystemStatus::CancelOnly
        ) {
            return out.push(refuse(RejectReason::MarketClosed));
        }
        let mut o = self.orders[i];
        if qty.0 <= o.filled || price.0 < 0 {
            return out.push(refuse(RejectReason::BadParameters));
        }
        let new_price = if price.0 > 0 { price } else { o.price };
        let new_remaining = qty.0 - o.filled;
        let book = self.live_book(books, o.symbol.index());
        let crossing = book
            .and_then(|b| best_opposite(b, o.side))
            .is_some_and(|best| crosses(o.side, new_price, best));
        if crossing && o.post_only {
            return out.push(refuse(RejectReason::WouldTake));
        }
        let keeps_place = new_price == o.price && new_remaining <= o.remaining;
        o.price = new_price;
        o.remaining = new_remaining;
        out.push(Answer {
            strategy,
            update: OrderUpdate::amended(id, o.symbol, new_price, Qty(new_remaining)),
        });
        self.orders.remove(i);
        if crossing {
            if let Some(book) = book {
                let scales = self.scales.get(o.symbol.index()).copied();
                let before = o.remaining;
                o.remaining = take(
                    book,
                    strategy,
                    id,
                    o.symbol,
                    o.side,
                    Some(o.price),
                    o.remaining,
                    self.cfg.taker_fee_bps,
                    scales,
                    out,
                );
                o.filled = o.filled.saturating_add(before - o.remaining);
                if o.remaining == 0 {
                    return;
                }
            }
        }
        if keeps_place && !crossing {
            self.orders.insert(i, o);
        } else {
            o.ahead = match book {
                Some(b) => self.cfg.queue.join(displayed_at(b, o.side, o.price)),
                None => 0,
            };
            self.orders.push(o);
        }
    }
}

/// Walks the side opposite `side` best first, filling at each level's price what it shows (up
/// to `limit` when given) from `qty`; returns what is left.
#[allow(clippy::too_many_arguments)]
fn take(
    book: &OrderBook,
    strategy: usize,
    id: ClientOrderId,
    symbol: SymbolId,
    side: Side,
    limit: Option<Price>,
    qty: i64,
    fee_bps: u32,
    scales: Option<(u8, u8)>,
    out: &mut Vec<Answer>,
) -> i64 {
    let levels = match side {
        Side::Buy => book.asks(),
        Side::Sell => book.bids(),
    };
    let mut remaining = qty;
    for (price, shown) in levels.iter() {
        if remaining == 0 || limit.is_some_and(|l| !crosses(side, l, price)) {
            break;
        }
        let fill = remaining.min(shown.0);
        if fill <= 0 {
            continue;
        }
        remaining -= fill;
        let fee = fee_of(price, fill, fee_bps, scales);
        out.push(Answer {
            strategy,
            update: OrderUpdate::filled(id, symbol, price, Qty(fill), Qty(remaining)).with_fee(fee),
        });
    }
    remaining
}

/// `price × qty × bps / 10⁴` at the cost's scale, rounded up; at most 18 decimals (rounded up
/// further when the scales add up to more).
pub(super) fn fee_of(price: Price, qty: i64, bps: u32, scales: Option<(u8, u8)>) -> Decimal {
    let Some((ps, qs)) = scales else {
        return Decimal::ZERO;
    };
    if bps == 0 {
        return Decimal::ZERO;
    }
    let cost = i128::from(price.0).saturating_mul(i128::from(qty)).abs();
    let mut num = cost.saturating_mul(i128::from(bps));
    let mut den = BPS;
    let mut scale = ps.saturating_add(qs);
    while scale > kspin_api::fixed::MAX_SCALE {
        den = den.saturating_mul(10);
        scale -= 1;
    }
    num = num.saturating_add(den - 1);
    let fee = num / den;
    Decimal {
        mantissa: i64::try_from(fee).unwrap_or(i64::MAX),
        scale,
    }
}

/// The best price on the side an order on `side` would trade with.
fn best_opposite(book: &OrderBook, side: Side) -> Option<Price> {
    match side {
        Side::Buy => book.best_ask(),
        Side::Sell => book.best_bid(),
    }
    .map(|(p, _)| p)
}

/// What the book shows at `price` on `side`'s own side.
fn displayed_at(book: &OrderBook, side: Side, price: Price) -> i64 {
    let levels = match side {
        Side::Buy => book.bids(),
        Side::Sell => book.asks(),
    };
    levels
        .iter()
        .find(|(p, _)| *p == price)
        .map_or(0, |(_, q)| q.0)
}

#[cfg(test)]
mod tests;
