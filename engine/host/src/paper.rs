//! The paper-trading fill model: answers a strategy's order requests from the engine's own books,
//! so strategies can be run end to end before real order entry exists. The contract
//! ([`OrderRequest`] in, [`OrderUpdate`] out) is the one real order entry will use.
//!
//! Owns one [`PaperTrader`] per strategy: a fixed table of at most [`MAX_OPEN_ORDERS`] resting
//! orders and the counters. The model, deliberately simple:
//!
//! - **Validation** (answered `Rejected`): unknown symbol or price/qty <= 0 → `BadParameters`;
//!   book not live → `BookStale`; venue in maintenance / cancel-only, or a non-post-only order
//!   under post-only → `MarketClosed`; a limit order while [`MAX_OPEN_ORDERS`] rest → `Risk`;
//!   a post-only order that would take → `WouldTake`; a market order facing an empty side →
//!   `NoLiquidity`.
//! - **Taking**: an accepted order is answered `Accepted`, then, if marketable, walks the
//!   opposite side best first for at most [`MAX_WALK_LEVELS`] levels, one `Filled` per level at
//!   that level's price for `min(remaining, level qty)` (a limit order stops at its limit). A
//!   market order's unfilled remainder is `Cancelled` (immediate-or-cancel), and so is that of a
//!   limit order with [`TimeInForce::Ioc`]; any other limit order's remainder rests (a
//!   [`TimeInForce::Gtd`] expiry is not modelled).
//! - **Resting**: on each later book state of its symbol (the bus counts book versions), a
//!   resting buy at `L` fills at `L` for `min(remaining, sum of ask qty at prices <= L)` (sells
//!   mirror this); `remaining == 0` ends it.
//! - **Cancel**: `Cancelled` with the remaining qty, or `Rejected(UnknownOrder)`.
//! - The model never consumes book liquidity (the book is the exchange's), so two orders can
//!   fill against the same level; fees and latency are not modelled.
//!
//! Invariants: at most [`MAX_UPDATES_PER_REQUEST`] updates per request and at most one per
//! resting order per book state; nothing allocates, blocks or panics.

use kspin_api::{
    BookSide, ClientOrderId, OrderIntent, OrderRequest, OrderType, OrderUpdate, Price, Qty,
    RejectReason, Side, SymbolId, SystemStatus, TimeInForce,
};

use super::BookSource;
use kspin_core::book::OrderBook;

/// Resting orders one strategy may have (a risk bound and the table size).
pub const MAX_OPEN_ORDERS: usize = 32;
/// Levels one taking order walks on one book state.
pub const MAX_WALK_LEVELS: usize = 16;
/// Most updates one request produces: `Accepted`, one fill per level walked, a `Cancelled`.
pub const MAX_UPDATES_PER_REQUEST: usize = 2 + MAX_WALK_LEVELS;

/// Per-strategy order counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaperCounters {
    /// Requests taken from the intent ring (new orders and cancels).
    pub intents: u64,
    /// `Filled` updates sent.
    pub fills: u64,
    /// `Rejected` updates sent.
    pub rejects: u64,
    /// `Cancelled` updates sent.
    pub cancels: u64,
    /// `Rejected` (and refused amends and cancels) by [`RejectReason::index`].
    pub rejects_by_reason: [u64; RejectReason::COUNT],
}

impl Default for PaperCounters {
    fn default() -> Self {
        PaperCounters {
            intents: 0,
            fills: 0,
            rejects: 0,
            cancels: 0,
            rejects_by_reason: [0; RejectReason::COUNT],
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Resting {
    id: ClientOrderId,
    symbol: SymbolId,
    side: Side,
    price: Price,
    remaining: Qty,
    /// Quantity filled so far (an amend's new total counts it).
    filled: Qty,
    /// Book version it was last matched against.
    seen_version: u64,
}

/// One strategy's paper orders; see the module docs.
#[derive(Debug, Clone)]
pub struct PaperTrader {
    orders: [Option<Resting>; MAX_OPEN_ORDERS],
    open: usize,
    system: SystemStatus,
    counters: PaperCounters,
    /// Filled position per symbol (qty mantissas), sized by [`PaperTrader::with_symbols`].
    positions: Box<[i64]>,
}

impl Default for PaperTrader {
    fn default() -> Self {
        PaperTrader::new()
    }
}

impl PaperTrader {
    pub fn new() -> PaperTrader {
        PaperTrader {
            orders: [None; MAX_OPEN_ORDERS],
            open: 0,
            system: SystemStatus::Unknown,
            counters: PaperCounters {
                intents: 0,
                fills: 0,
                rejects: 0,
                cancels: 0,
                rejects_by_reason: [0; RejectReason::COUNT],
            },
            positions: Box::new([]),
        }
    }

    /// A trader that keeps the filled position of `symbols` symbols. Start-up only.
    pub fn with_symbols(symbols: usize) -> PaperTrader {
        PaperTrader {
            positions: vec![0; symbols].into_boxed_slice(),
            ..PaperTrader::new()
        }
    }

    /// The filled position on `symbol` (qty mantissa); `None` beyond the table.
    pub fn position(&self, symbol: usize) -> Option<i64> {
        self.positions.get(symbol).copied()
    }

    fn book_fill(&mut self, symbol: SymbolId, side: Side, qty: Qty) {
        if let Some(p) = self.positions.get_mut(symbol.index()) {
            *p = match side {
                Side::Buy => p.saturating_add(qty.0),
                Side::Sell => p.saturating_sub(qty.0),
            };
        }
    }

    /// The venue's trading status (from the `status` channel).
    pub fn set_system(&mut self, system: SystemStatus) {
        self.system = system;
    }

    pub fn open_orders(&self) -> usize {
        self.open
    }

    pub fn counters(&self) -> PaperCounters {
        self.counters
    }

    /// Answers one request; `versions[i]` is the current book version of symbol `i`.
    pub fn on_request<B: BookSource + ?Sized>(
        &mut self,
        request: &OrderRequest,
        books: &B,
        versions: &[u64],
        out: &mut impl FnMut(OrderUpdate),
    ) {
        if let OrderRequest::Resnapshot { .. } = request {
            return; // the bus's business, never the order path's
        }
        self.counters.intents += 1;
        match *request {
            OrderRequest::New { client_id, intent } => {
                self.new_order(client_id, intent, books, versions, out)
            }
            OrderRequest::Cancel { client_id, symbol } => self.cancel(client_id, symbol, out),
            OrderRequest::Amend {
                client_id,
                symbol,
                price,
                qty,
            } => self.amend(client_id, symbol, price, qty, books, versions, out),
            OrderRequest::CancelAll { symbol } => self.cancel_all(symbol, out),
            OrderRequest::Resnapshot { .. } => {}
        }
    }

    fn emit(&mut self, update: OrderUpdate, out: &mut impl FnMut(OrderUpdate)) {
        match update.status {
            kspin_api::OrderStatus::Filled => self.counters.fills += 1,
            kspin_api::OrderStatus::Rejected(r)
            | kspin_api::OrderStatus::AmendRejected(r)
            | kspin_api::OrderStatus::CancelRejected(r) => {
                self.counters.rejects += 1;
                if let Some(c) = self.counters.rejects_by_reason.get_mut(r.index()) {
                    *c += 1;
                }
            }
            kspin_api::OrderStatus::Cancelled => self.counters.cancels += 1,
            kspin_api::OrderStatus::Accepted | kspin_api::OrderStatus::Amended => {}
        }
        out(update);
    }

    fn reject(
        &mut self,
        id: ClientOrderId,
        symbol: SymbolId,
        reason: RejectReason,
        out: &mut impl FnMut(OrderUpdate),
    ) {
        self.emit(OrderUpdate::rejected(id, symbol, reason), out);
    }

    fn new_order<B: BookSource + ?Sized>(
        &mut self,
        id: ClientOrderId,
        intent: OrderIntent,
        books: &B,
        versions: &[u64],
        out: &mut impl FnMut(OrderUpdate),
    ) {
        let symbol = intent.symbol;
        let market = intent.order_type == OrderType::Market;
        let Some((book, live)) = books.current_book(symbol.index()) else {
            return self.reject(id, symbol, RejectReason::BadParameters, out);
        };
        if intent.qty.0 <= 0 || (!market && intent.price.0 <= 0) {
            return self.reject(id, symbol, RejectReason::BadParameters, out);
        }
        let closed = match self.system {
            SystemStatus::Maintenance | SystemStatus::CancelOnly => true,
            SystemStatus::PostOnly => intent.order_type != OrderType::PostOnly,
            SystemStatus::Online | SystemStatus::Unknown => false,
        };
        if closed {
            return self.reject(id, symbol, RejectReason::MarketClosed, out);
        }
        if !live {
            return self.reject(id, symbol, RejectReason::BookStale, out);
        }
        let opposite = match intent.side {
            Side::Buy => BookSide::Ask,
            Side::Sell => BookSide::Bid,
        };
        let best = best_of(book, opposite);
        let marketable = match (best, market) {
            (None, _) => false,
            (Some(_), true) => true,
            (Some((p, _)), false) => crosses(intent.side, intent.price, p),
        };
        if market && best.is_none() {
            return self.reject(id, symbol, RejectReason::NoLiquidity, out);
        }
        if intent.order_type == OrderType::PostOnly && marketable {
            return self.reject(id, symbol, RejectReason::WouldTake, out);
        }
        if !market && self.open >= MAX_OPEN_ORDERS {
            return self.reject(id, symbol, RejectReason::Risk, out);
        }
        self.emit(OrderUpdate::accepted(id, symbol), out);

        let mut remaining = intent.qty;
        if marketable {
            let side = side_of(book, opposite);
            for (price, qty) in side.iter().take(MAX_WALK_LEVELS) {
                if remaining.0 == 0 || (!market && !crosses(intent.side, intent.price, price)) {
                    break;
                }
                let fill = Qty(remaining.0.min(qty.0));
                remaining = Qty(remaining.0 - fill.0);
                self.book_fill(symbol, intent.side, fill);
                self.emit(OrderUpdate::filled(id, symbol, price, fill, remaining), out);
            }
        }
        if remaining.0 == 0 {
            return;
        }
        if market || intent.tif == TimeInForce::Ioc {
            return self.emit(OrderUpdate::cancelled(id, symbol, remaining), out);
        }
        let version = versions.get(symbol.index()).copied().unwrap_or(0);
        if let Some(slot) = self.orders.iter_mut().find(|o| o.is_none()) {
            *slot = Some(Resting {
                id,
                symbol,
                side: intent.side,
                price: intent.price,
                remaining,
                filled: Qty(intent.qty.0 - remaining.0),
                seen_version: version,
            });
            self.open += 1;
        }
    }

    fn cancel(&mut self, id: ClientOrderId, symbol: SymbolId, out: &mut impl FnMut(OrderUpdate)) {
        if matches!(self.system, SystemStatus::Maintenance) {
            let refused =
                OrderUpdate::change_rejected(id, symbol, RejectReason::MarketClosed, true);
            return self.emit(refused, out);
        }
        let found = self
            .orders
            .iter_mut()
            .find(|o| matches!(o, Some(r) if r.id == id && r.symbol == symbol));
        match found {
            Some(slot) => {
                let remaining = slot.map_or(Qty::ZERO, |r| r.remaining);
                *slot = None;
                self.open -= 1;
                self.emit(OrderUpdate::cancelled(id, symbol, remaining), out);
            }
            None => self.reject(id, symbol, RejectReason::UnknownOrder, out),
        }
    }

    /// Cancels every resting order (of `symbol`, or all), one `Cancelled` each.
    fn cancel_all(&mut self, symbol: Option<SymbolId>, out: &mut impl FnMut(OrderUpdate)) {
        if matches!(self.system, SystemStatus::Maintenance) || self.open == 0 {
            return;
        }
        for i in 0..MAX_OPEN_ORDERS {
            let Some(order) = self.orders[i] else {
                continue;
            };
            if symbol.is_some_and(|s| s != order.symbol) {
                continue;
            }
            self.orders[i] = None;
            self.open -= 1;
            self.emit(
                OrderUpdate::cancelled(order.id, order.symbol, order.remaining),
                out,
            );
        }
    }

    /// Amends a resting order in place: new total quantity `qty` (must exceed what has filled),
    /// new limit price unless `price` is zero. A new price that crosses the book is matched at
    /// once (as the venue would), at most one fill.
    #[allow(clippy::too_many_arguments)]
    fn amend<B: BookSource + ?Sized>(
        &mut self,
        id: ClientOrderId,
        symbol: SymbolId,
        price: Price,
        qty: Qty,
        books: &B,
        versions: &[u64],
        out: &mut impl FnMut(OrderUpdate),
    ) {
        let refuse = |reason| OrderUpdate::change_rejected(id, symbol, reason, false);
        let Some(i) = self
            .orders
            .iter()
            .position(|o| matches!(o, Some(r) if r.id == id && r.symbol == symbol))
        else {
            return self.reject(id, symbol, RejectReason::UnknownOrder, out);
        };
        let Some(mut order) = self.orders[i] else {
            return;
        };
        if matches!(
            self.system,
            SystemStatus::Maintenance | SystemStatus::CancelOnly
        ) {
            return self.emit(refuse(RejectReason::MarketClosed), out);
        }
        if qty.0 <= order.filled.0 || price.0 < 0 {
            return self.emit(refuse(RejectReason::BadParameters), out);
        }
        if price.0 > 0 {
            order.price = price;
        }
        order.remaining = Qty(qty.0 - order.filled.0);
        // Matched again against the current book: a price move may cross it.
        order.seen_version = versions
            .get(symbol.index())
            .copied()
            .unwrap_or(0)
            .wrapping_sub(1);
        self.orders[i] = Some(order);
        self.emit(
            OrderUpdate::amended(id, symbol, order.price, order.remaining),
            out,
        );
        self.on_book_states(books, versions, out);
    }

    /// Matches every resting order whose symbol has a book version it has not seen against that
    /// book (if live). At most one update per resting order.
    pub fn on_book_states<B: BookSource + ?Sized>(
        &mut self,
        books: &B,
        versions: &[u64],
        out: &mut impl FnMut(OrderUpdate),
    ) {
        if self.open == 0 {
            return;
        }
        for i in 0..MAX_OPEN_ORDERS {
            let Some(mut order) = self.orders[i] else {
                continue;
            };
            let version = versions.get(order.symbol.index()).copied().unwrap_or(0);
            if version == order.seen_version {
                continue;
            }
            order.seen_version = version;
            let crossing = match books.current_book(order.symbol.index()) {
                Some((book, true)) => crossing_qty(book, order.side, order.price),
                _ => 0,
            };
            if crossing <= 0 {
                self.orders[i] = Some(order);
                continue;
            }
            let fill = Qty(order.remaining.0.min(crossing));
            order.remaining = Qty(order.remaining.0 - fill.0);
            order.filled = Qty(order.filled.0.saturating_add(fill.0));
            self.book_fill(order.symbol, order.side, fill);
            let update =
                OrderUpdate::filled(order.id, order.symbol, order.price, fill, order.remaining);
            if order.remaining.0 == 0 {
                self.orders[i] = None;
                self.open -= 1;
            } else {
                self.orders[i] = Some(order);
            }
            self.emit(update, out);
        }
    }
}

/// A taker on `side` with limit `limit` would trade with a resting level at `level` (shared with
/// the backtest venue).
#[inline]
pub(crate) fn crosses(side: Side, limit: Price, level: Price) -> bool {
    match side {
        Side::Buy => level <= limit,
        Side::Sell => level >= limit,
    }
}

fn side_of(book: &OrderBook, side: BookSide) -> &kspin_core::book::BookSide {
    match side {
        BookSide::Bid => book.bids(),
        BookSide::Ask => book.asks(),
    }
}

fn best_of(book: &OrderBook, side: BookSide) -> Option<(Price, Qty)> {
    side_of(book, side).best()
}

/// Opposite-side quantity at prices a resting order at `limit` crosses.
pub(crate) fn crossing_qty(book: &OrderBook, side: Side, limit: Price) -> i64 {
    let opposite = match side {
        Side::Buy => book.asks(),
        Side::Sell => book.bids(),
    };
    let mut sum = 0i64;
    for (price, qty) in opposite.iter() {
        if !crosses(side, limit, price) {
            break;
        }
        sum = sum.saturating_add(qty.0);
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;
    use kspin_api::OrderStatus;
    use kspin_core::book::ApplyMode;

    fn book() -> Vec<(OrderBook, bool)> {
        let mut b = OrderBook::new(10, 1, 0);
        b.apply_exact(
            ApplyMode::Snapshot,
            &[(Price(100), Qty(5)), (Price(99), Qty(10))],
            &[
                (Price(101), Qty(3)),
                (Price(102), Qty(4)),
                (Price(104), Qty(6)),
            ],
        );
        vec![(b, true)]
    }

    fn run(t: &mut PaperTrader, books: &[(OrderBook, bool)], r: OrderRequest) -> Vec<OrderUpdate> {
        let mut out = Vec::new();
        t.on_request(&r, books, &[1], &mut |u| out.push(u));
        out
    }

    fn new(id: u64, intent: OrderIntent) -> OrderRequest {
        OrderRequest::New {
            client_id: ClientOrderId(id),
            intent,
        }
    }

    const S: SymbolId = SymbolId(0);

    #[test]
    fn market_buy_walks_levels_and_cancels_the_rest() {
        let books = book();
        let mut t = PaperTrader::with_symbols(1);
        let id = ClientOrderId(1);
        let out = run(
            &mut t,
            &books,
            new(1, OrderIntent::market(S, Side::Buy, Qty(20))),
        );
        assert_eq!(
            out,
            vec![
                OrderUpdate::accepted(id, S),
                OrderUpdate::filled(id, S, Price(101), Qty(3), Qty(17)),
                OrderUpdate::filled(id, S, Price(102), Qty(4), Qty(13)),
                OrderUpdate::filled(id, S, Price(104), Qty(6), Qty(7)),
                OrderUpdate::cancelled(id, S, Qty(7)),
            ]
        );
        assert_eq!(t.counters().fills, 3);
        assert_eq!(t.open_orders(), 0);
        assert_eq!(t.position(0), Some(13));
    }

    #[test]
    fn limit_sell_takes_to_its_limit_then_rests_and_fills_on_a_later_state() {
        let mut books = book();
        let mut t = PaperTrader::new();
        let id = ClientOrderId(2);
        let out = run(
            &mut t,
            &books,
            new(2, OrderIntent::limit(S, Side::Sell, Price(100), Qty(8))),
        );
        assert_eq!(
            out,
            vec![
                OrderUpdate::accepted(id, S),
                OrderUpdate::filled(id, S, Price(100), Qty(5), Qty(3)),
            ]
        );
        assert_eq!(t.open_orders(), 1);
        // Same book version: nothing.
        let mut out = Vec::new();
        t.on_book_states(&books[..], &[1], &mut |u| out.push(u));
        assert!(out.is_empty());
        // A new state where the bid at 100 holds 2: crossing qty 2, filled at the limit price.
        books[0]
            .0
            .apply_exact(ApplyMode::Update, &[(Price(100), Qty(2))], &[]);
        t.on_book_states(&books[..], &[2], &mut |u| out.push(u));
        assert_eq!(
            out,
            vec![OrderUpdate::filled(id, S, Price(100), Qty(2), Qty(1))]
        );
        // Cancel the rest.
        let out = run(
            &mut t,
            &books,
            OrderRequest::Cancel {
                client_id: id,
                symbol: S,
            },
        );
        assert_eq!(out, vec![OrderUpdate::cancelled(id, S, Qty(1))]);
        assert_eq!(t.open_orders(), 0);
        let out = run(
            &mut t,
            &books,
            OrderRequest::Cancel {
                client_id: id,
                symbol: S,
            },
        );
        assert_eq!(
            out,
            vec![OrderUpdate::rejected(id, S, RejectReason::UnknownOrder)]
        );
    }

    #[test]
    fn an_ioc_limit_order_takes_to_its_limit_and_cancels_the_rest() {
        let books = book();
        let mut t = PaperTrader::new();
        let id = ClientOrderId(4);
        let ioc = OrderIntent::limit(S, Side::Buy, Price(102), Qty(10)).with_tif(TimeInForce::Ioc);
        assert_eq!(
            run(&mut t, &books, new(4, ioc)),
            vec![
                OrderUpdate::accepted(id, S),
                OrderUpdate::filled(id, S, Price(101), Qty(3), Qty(7)),
                OrderUpdate::filled(id, S, Price(102), Qty(4), Qty(3)),
                OrderUpdate::cancelled(id, S, Qty(3)),
            ]
        );
        // Not marketable at all: nothing rests either.
        let id = ClientOrderId(5);
        let ioc = OrderIntent::limit(S, Side::Sell, Price(105), Qty(2)).with_tif(TimeInForce::Ioc);
        assert_eq!(
            run(&mut t, &books, new(5, ioc)),
            vec![
                OrderUpdate::accepted(id, S),
                OrderUpdate::cancelled(id, S, Qty(2)),
            ]
        );
        assert_eq!(t.open_orders(), 0);
    }

    #[test]
    fn amend_moves_a_resting_order_and_matches_it_again() {
        let books = book();
        let mut t = PaperTrader::new();
        let id = ClientOrderId(3);
        run(
            &mut t,
            &books,
            new(3, OrderIntent::limit(S, Side::Buy, Price(98), Qty(4))),
        );
        // Grow it to 6 at 99: still below the ask, no fill.
        let amend = |price, qty| OrderRequest::Amend {
            client_id: id,
            symbol: S,
            price: Price(price),
            qty: Qty(qty),
        };
        let out = run(&mut t, &books, amend(99, 6));
        assert_eq!(out, vec![OrderUpdate::amended(id, S, Price(99), Qty(6))]);
        // Price 101 crosses the ask (3 there): amended, then filled 3 at its limit.
        let out = run(&mut t, &books, amend(101, 6));
        assert_eq!(
            out,
            vec![
                OrderUpdate::amended(id, S, Price(101), Qty(6)),
                OrderUpdate::filled(id, S, Price(101), Qty(3), Qty(3)),
            ]
        );
        // Total qty must exceed what filled; zero price keeps the price.
        let out = run(&mut t, &books, amend(0, 3));
        assert_eq!(
            out,
            vec![OrderUpdate::change_rejected(
                id,
                S,
                RejectReason::BadParameters,
                false
            )]
        );
        let out = run(&mut t, &books, amend(0, 4));
        assert_eq!(out[0], OrderUpdate::amended(id, S, Price(101), Qty(1)));
        let unknown = OrderRequest::Amend {
            client_id: ClientOrderId(99),
            symbol: S,
            price: Price(1),
            qty: Qty(1),
        };
        assert_eq!(
            run(&mut t, &books, unknown),
            vec![OrderUpdate::rejected(
                ClientOrderId(99),
                S,
                RejectReason::UnknownOrder
            )]
        );
    }

    #[test]
    fn cancel_all_cancels_every_resting_order() {
        let books = book();
        let mut t = PaperTrader::new();
        for id in 1..=3 {
            run(
                &mut t,
                &books,
                new(
                    id,
                    OrderIntent::limit(S, Side::Buy, Price(90), Qty(id as i64)),
                ),
            );
        }
        assert_eq!(t.open_orders(), 3);
        let out = run(&mut t, &books, OrderRequest::CancelAll { symbol: Some(S) });
        assert_eq!(
            out,
            (1..=3)
                .map(|id| OrderUpdate::cancelled(ClientOrderId(id), S, Qty(id as i64)))
                .collect::<Vec<_>>()
        );
        assert_eq!(t.open_orders(), 0);
        assert!(run(&mut t, &books, OrderRequest::CancelAll { symbol: None }).is_empty());
    }

    #[test]
    fn rejects() {
        let mut books = book();
        let mut t = PaperTrader::new();
        let cases = [
            (
                OrderIntent::limit(SymbolId(3), Side::Buy, Price(1), Qty(1)),
                RejectReason::BadParameters,
            ),
            (
                OrderIntent::limit(S, Side::Buy, Price(1), Qty(0)),
                RejectReason::BadParameters,
            ),
            (
                OrderIntent::limit(S, Side::Buy, Price(0), Qty(1)),
                RejectReason::BadParameters,
            ),
            (
                OrderIntent {
                    order_type: OrderType::PostOnly,
                    ..OrderIntent::limit(S, Side::Buy, Price(101), Qty(1))
                },
                RejectReason::WouldTake,
            ),
        ];
        for (i, (intent, reason)) in cases.into_iter().enumerate() {
            let out = run(&mut t, &books, new(i as u64, intent));
            assert_eq!(out.len(), 1);
            assert_eq!(out[0].status, OrderStatus::Rejected(reason), "{i}");
        }
        t.set_system(SystemStatus::Maintenance);
        let out = run(
            &mut t,
            &books,
            new(9, OrderIntent::market(S, Side::Buy, Qty(1))),
        );
        assert_eq!(
            out[0].status,
            OrderStatus::Rejected(RejectReason::MarketClosed)
        );
        t.set_system(SystemStatus::Online);
        books[0].1 = false;
        let out = run(
            &mut t,
            &books,
            new(10, OrderIntent::market(S, Side::Buy, Qty(1))),
        );
        assert_eq!(
            out[0].status,
            OrderStatus::Rejected(RejectReason::BookStale)
        );
        books[0].1 = true;
        books[0].0.clear();
        let out = run(
            &mut t,
            &books,
            new(11, OrderIntent::market(S, Side::Buy, Qty(1))),
        );
        assert_eq!(
            out[0].status,
            OrderStatus::Rejected(RejectReason::NoLiquidity)
        );
        // Table bound.
        let books = book();
        for i in 0..MAX_OPEN_ORDERS as u64 {
            let out = run(
                &mut t,
                &books,
                new(100 + i, OrderIntent::limit(S, Side::Buy, Price(50), Qty(1))),
            );
            assert_eq!(out[0].status, OrderStatus::Accepted);
        }
        let out = run(
            &mut t,
            &books,
            new(999, OrderIntent::limit(S, Side::Buy, Price(50), Qty(1))),
        );
        assert_eq!(out[0].status, OrderStatus::Rejected(RejectReason::Risk));
        assert_eq!(t.counters().rejects, 8);
    }
}
