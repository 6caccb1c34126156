//! One (symbol, depth) view of the true market: what a correct client subscribed at that depth
//! holds, and the top-N diff that takes it from one step to the next.
//!
//! Owns a [`RefBook`] at the subscribed depth (the venue's own reference book and checksum
//! source, sharing no code with the engine, so frames are right by construction), scratch vectors for the diff, and its own PRNG for the order in which
//! an update lists its levels. Invariants: after [`DepthView::update`] the book equals the deep
//! book's best `depth` levels on each side exactly; the diff holds deletes (`qty 0`) only for
//! levels that left the deep book, never for levels merely pushed beyond the depth (clients
//! truncate, as Kraken's v2 rules say), and carries refills from beyond the depth. It never
//! formats or sends.

use kspin_api::{Price, Qty};

use super::market::{BookSideKind, StepOutcome, SymbolMarket};
use super::ref_book::RefBook;
use super::rng::SimRng;

/// One price level: price and quantity mantissas.
pub type Level = (Price, Qty);

/// See the module docs.
#[derive(Debug, Clone)]
pub struct DepthView {
    symbol: usize,
    depth: u16,
    book: RefBook,
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
            book: RefBook::new(depth as usize, pair.price_precision, pair.qty_precision),
            rng: SimRng::derived(seed, ((symbol as u64) << 16) | depth as u64),
            target: Vec::with_capacity(depth as usize),
            diff_bids: Vec::with_capacity(depth as usize),
            diff_asks: Vec::with_capacity(depth as usize),
        };
        let mut bids = Vec::new();
        let mut asks = Vec::new();
        market.top(BookSideKind::Bid, depth as usize, &mut bids);
        market.top(BookSideKind::Ask, depth as usize, &mut asks);
        view.book.apply(true, &bids, &asks);
        view
    }

    pub fn symbol(&self) -> usize {
        self.symbol
    }

    pub fn depth(&self) -> u16 {
        self.depth
    }

    /// The book a correct client holds now.
    pub fn book(&self) -> &RefBook {
        &self.book
    }

    /// The last update's levels (bids, asks), in the order they are sent.
    pub fn diff(&self) -> (&[Level], &[Level]) {
        (&self.diff_bids, &self.diff_asks)
    }

    /// Whether a step that touched these prices can have changed this view's window.
    fn affected(&self, side: BookSideKind, touched: &[i64]) -> bool {
        let (len, worst) = match side {
            BookSideKind::Bid => (self.book.bid_count(), self.book.worst_bid()),
            BookSideKind::Ask => (self.book.ask_count(), self.book.worst_ask()),
        };
        if len < self.depth as usize {
            return !touched.is_empty();
        }
        let Some(worst) = worst else {
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
            match side {
                BookSideKind::Bid => side_diff(
                    self.book.bids(),
                    &self.target,
                    side,
                    market,
                    &mut self.diff_bids,
                ),
                BookSideKind::Ask => side_diff(
                    self.book.asks(),
                    &self.target,
                    side,
                    market,
                    &mut self.diff_asks,
                ),
            }
            let diff = match side {
                BookSideKind::Bid => &mut self.diff_bids,
                BookSideKind::Ask => &mut self.diff_asks,
            };
            self.rng.shuffle(diff);
            changed |= !diff.is_empty();
        }
        if changed {
            self.book.apply(false, &self.diff_bids, &self.diff_asks);
            debug_assert!(self.matches(market), "depth view diverged from the market");
        }
        changed
    }

    /// Whether the view equals the market's top `depth` on both sides (tests and debug checks).
    pub fn matches(&self, market: &SymbolMarket) -> bool {
        let mut want = Vec::new();
        market.top(BookSideKind::Bid, self.depth as usize, &mut want);
        if !self.book.bids().eq(want.iter().copied()) {
            return false;
        }
        market.top(BookSideKind::Ask, self.depth as usize, &mut want);
        self.book.asks().eq(want.iter().copied())
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
    use crate::SUPPORTED_DEPTHS;

    /// A client that only ever sees the views' diffs ends up with the same book and checksum
    /// as the view, at every depth, across refills from beyond the depth.
    #[test]
    fn views_track_the_market_at_every_depth_and_client_books_agree() {
        let pairs: Vec<_> = instruments().iter().take(4).collect();
        let mut market = Market::new(&pairs, 3);
        let mut views: Vec<DepthView> = Vec::new();
        let mut clients: Vec<RefBook> = Vec::new();
        for s in 0..pairs.len() {
            for &d in &SUPPORTED_DEPTHS {
                let v = DepthView::new(s, d, market.symbol(s).unwrap(), 3);
                let mut c = RefBook::new(d as usize, 2, 8);
                let bids: Vec<_> = v.book().bids().collect();
                let asks: Vec<_> = v.book().asks().collect();
                c.apply(true, &bids, &asks);
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
                    let deletes = b.iter().chain(a).any(|l| l.1 .0 == 0);
                    let before = c.bid_count() + c.ask_count();
                    c.apply(false, b, a);
                    refills += u32::from(deletes && c.bid_count() + c.ask_count() >= before);
                }
                assert!(v.matches(sym), "view {} d{}", v.symbol(), v.depth());
                assert!(c.bids().eq(v.book().bids()));
                assert!(c.asks().eq(v.book().asks()));
            }
        }
        assert!(refills > 100);
    }
}
