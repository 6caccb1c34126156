//! One (symbol, depth) view of the true market: what a correct client subscribed at that depth
//! holds, and the top-N diff that takes it from one step to the next.
//!
//! Owns a `kspin::book::OrderBook` at the subscribed depth (the checksum source, so frames are
//! right by construction), scratch vectors for the diff, and its own PRNG for the order in which
//! an update lists its levels. Invariants: after [`DepthView::update`] the book equals the deep
//! book's best `depth` levels on each side exactly; the diff holds deletes (`qty 0`) only for
//! levels that left the deep book, never for levels merely pushed beyond the depth (clients
//! truncate, as Kraken's v2 rules say), and carries refills from beyond the depth. It never
//! formats or sends.

use kspin_api::{Price, Qty};

use crate::book::{ApplyMode, OrderBook};

use super::market::{BookSideKind, StepOutcome, SymbolMarket};
use super::rng::SimRng;

/// One price level: price and quantity mantissas.
pub type Level = (Price, Qty);

/// See the module docs.
#[derive(Debug, Clone)]
pub struct DepthView {
    symbol: usize,
    depth: u16,
    book: OrderBook,
    rng: SimRng,
    target: Vec<(Price, Qty)>,
    diff_bids: Vec<(Price, Qty)>,
    diff_asks: Vec<(Price, Qty)>,
}

impl DepthView {
    /// A view initialised to the market's current top `depth` (its snapshot).
    pub fn new(symbol: usize, depth: u16, market: &SymbolMarket, seed: u64) -> DepthView {
        let pair = market.pair;
        let mut view = DepthView {
            symbol,
            depth,
            book: OrderBook::new(depth as usize, pair.price_precision, pair.qty_precision),
            rng: SimRng::derived(seed, ((symbol as u64) << 16) | depth as u64),
            target: Vec::with_capacity(depth as usize),
            diff_bids: Vec::with_capacity(depth as usize),
            diff_asks: Vec::with_capacity(depth as usize),
        };
        let mut bids = Vec::new();
        let mut asks = Vec::new();
        market.top(BookSideKind::Bid, depth as usize, &mut bids);
        market.top(BookSideKind::Ask, depth as usize, &mut asks);
        view.book.apply_exact(ApplyMode::Snapshot, &bids, &asks);
        view
    }

    pub fn symbol(&self) -> usize {
        self.symbol
    }

    pub fn depth(&self) -> u16 {
        self.depth
    }

    /// The book a correct client holds now.
    pub fn book(&self) -> &OrderBook {
        &self.book
    }

    /// The last update's levels (bids, asks), in the order they are sent.
    pub fn diff(&self) -> (&[Level], &[Level]) {
        (&self.diff_bids, &self.diff_asks)
    }

    /// Whether a step that touched these prices can have changed this view's window.
    fn affected(&self, side: BookSideKind, touched: &[i64]) -> bool {
        let book_side = match side {
            BookSideKind::Bid => self.book.bids(),
            BookSideKind::Ask => self.book.asks(),
        };
        if book_side.len() < self.depth as usize {
            return !touched.is_empty();
        }
        let Some((worst, _)) = book_side.level(book_side.len() - 1) else {
            return !touched.is_empty();
        };
        touched.iter().any(|&p| match side {
            BookSideKind::Bid => p >= worst.0,
            BookSideKind::Ask => p <= worst.0,
        })
    }

    /// Computes the diff for the step just taken on this view's symbol and applies it to the
    /// view's book. Returns `false` (and an empty diff) when the window did not change.
    pub fn update(&mut self, market: &SymbolMarket, step: &StepOutcome) -> bool {
        self.diff_bids.clear();
        self.diff_asks.clear();
        let mut changed = false;
        for side in [BookSideKind::Bid, BookSideKind::Ask] {
            let touched = match side {
                BookSideKind::Bid => &step.touched_bids,
                BookSideKind::Ask => &step.touched_asks,
            };
            if !self.affected(side, touched) {
                continue;
            }
            market.top(side, self.depth as usize, &mut self.target);
            let (book_side, diff) = match side {
                BookSideKind::Bid => (self.book.bids(), &mut self.diff_bids),
                BookSideKind::Ask => (self.book.asks(), &mut self.diff_asks),
            };
            side_diff(book_side.iter(), &self.target, side, market, diff);
            self.rng.shuffle(diff);
            changed |= !diff.is_empty();
        }
        if changed {
            self.book
                .apply_exact(ApplyMode::Update, &self.diff_bids, &self.diff_asks);
            debug_assert!(self.matches(market), "depth view diverged from the market");
        }
        changed
    }

    /// Whether the view equals the market's top `depth` on both sides (tests and debug checks).
    pub fn matches(&self, market: &SymbolMarket) -> bool {
        let mut want = Vec::new();
        for (side, kind) in [
            (self.book.bids(), BookSideKind::Bid),
            (self.book.asks(), BookSideKind::Ask),
        ] {
            market.top(kind, self.depth as usize, &mut want);
            if !side.iter().eq(want.iter().copied()) {
                return false;
            }
        }
        true
    }
}

/// The levels that turn `old` (best first) into `new` (best first) under Kraken's rules.
fn side_diff(
    old: impl Iterator<Item = (Price, Qty)>,
    new: &[(Price, Qty)],
    side: BookSideKind,
    market: &SymbolMarket,
    diff: &mut Vec<(Price, Qty)>,
) {
    // Both lists are best first; "better" is higher for bids and lower for asks.
    let better = |a: Price, b: Price| match side {
        BookSideKind::Bid => a > b,
        BookSideKind::Ask => a < b,
    };
    let mut old = old.peekable();
    let mut new_it = new.iter().copied().peekable();
    loop {
        match (old.peek().copied(), new_it.peek().copied()) {
            (None, None) => break,
            (Some((op, oq)), Some((np, nq))) if op == np => {
                if oq != nq {
                    diff.push((np, nq));
                }
                old.next();
                new_it.next();
            }
            (Some((op, _)), Some((np, _))) if better(np, op) => {
                diff.push(new_it.next().unwrap_or((np, Qty(0))));
            }
            (Some((op, _)), _) => {
                // An old level absent from the new window: deleted if it left the market,
                // otherwise it was pushed beyond the depth and the client truncates it.
                if !market.contains(side, op.0) {
                    diff.push((op, Qty(0)));
                }
                old.next();
            }
            (None, Some(level)) => {
                diff.push(level);
                new_it.next();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::market::Market;
    use super::super::pairs::instruments;
    use super::*;
    use crate::book::SUPPORTED_DEPTHS;

    #[test]
    fn views_track_the_market_at_every_depth_and_client_books_agree() {
        let pairs: Vec<_> = instruments().iter().take(4).collect();
        let mut market = Market::new(&pairs, 3);
        let mut views: Vec<DepthView> = Vec::new();
        let mut clients: Vec<OrderBook> = Vec::new();
        for s in 0..pairs.len() {
            for &d in &SUPPORTED_DEPTHS {
                let v = DepthView::new(s, d, market.symbol(s).unwrap(), 3);
                let mut c = OrderBook::new(d as usize, 0, 0);
                let bids: Vec<_> = v.book().bids().iter().collect();
                let asks: Vec<_> = v.book().asks().iter().collect();
                c.apply_exact(ApplyMode::Snapshot, &bids, &asks);
                views.push(v);
                clients.push(c);
            }
        }
        let mut out = StepOutcome::default();
        let mut refills = 0;
        for i in 0..5_000 {
            market.step(&mut out, i);
            let sym = market.symbol(out.symbol).unwrap();
            for (v, c) in views.iter_mut().zip(clients.iter_mut()) {
                if v.symbol() != out.symbol {
                    continue;
                }
                if v.update(sym, &out) {
                    let (b, a) = v.diff();
                    let r = c.apply_exact(ApplyMode::Update, b, a);
                    refills += (r.inserted > 0 && r.removed > 0) as u32;
                    assert_eq!(c.checksum(), v.book().checksum_uncached());
                }
                assert!(v.matches(sym), "view {} d{}", v.symbol(), v.depth());
                assert!(c.bids().iter().eq(v.book().bids().iter()));
                assert!(c.asks().iter().eq(v.book().asks().iter()));
            }
        }
        assert!(refills > 100);
    }
}
