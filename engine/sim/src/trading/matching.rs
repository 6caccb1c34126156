//! Where the account's orders meet the simulated market: which levels of the venue's true book
//! (the market model at full depth) an order can trade against, and how much of each.
//!
//! Owns the per-symbol [`Overlay`]: the quantity the account has taken at each price of the
//! market's book. Model, documented once: the account's fills do **not** change the market (its
//! book, trades and ticker stay a function of the seed alone, so the public feed is the same
//! with or without trading); instead the venue remembers what the account took at each level
//! until the market next changes that level (a step that touches the price replaces the
//! memory), so the same displayed liquidity is never traded twice. A taker sweeps the opposite
//! side level by level at each level's price; a resting limit order trades, at its own price,
//! against whatever the opposite side offers through it once a market step has moved the touch
//! there (ask ≤ buy limit, bid ≥ sell limit); there is no queue position and the market's own
//! trade prints never fill it; the account's orders never trade with each other. Invariants:
//! available quantity is never negative; it never changes an order or a balance.

use std::collections::BTreeMap;

use super::orders::Side;
use crate::market::{BookSideKind, StepOutcome, SymbolMarket};

/// What the account took from one symbol's book; see the module docs.
#[derive(Debug, Clone, Default)]
pub struct Overlay {
    bids: BTreeMap<i64, i64>,
    asks: BTreeMap<i64, i64>,
}

/// The side of the market book an order of `side` trades against.
pub fn opposite(side: Side) -> BookSideKind {
    match side {
        Side::Buy => BookSideKind::Ask,
        Side::Sell => BookSideKind::Bid,
    }
}

/// Whether a level at `price` on the opposite side trades with a limit of `limit` (`None`: a
/// market order, anything trades).
fn crosses(side: Side, price: i64, limit: Option<i64>) -> bool {
    match (side, limit) {
        (_, None) => true,
        (Side::Buy, Some(l)) => price <= l,
        (Side::Sell, Some(l)) => price >= l,
    }
}

impl Overlay {
    fn map(&self, side: BookSideKind) -> &BTreeMap<i64, i64> {
        match side {
            BookSideKind::Bid => &self.bids,
            BookSideKind::Ask => &self.asks,
        }
    }

    fn map_mut(&mut self, side: BookSideKind) -> &mut BTreeMap<i64, i64> {
        match side {
            BookSideKind::Bid => &mut self.bids,
            BookSideKind::Ask => &mut self.asks,
        }
    }

    /// Forgets what was taken at every price the step touched.
    pub fn forget(&mut self, step: &StepOutcome) {
        for p in &step.touched_bids {
            self.bids.remove(p);
        }
        for p in &step.touched_asks {
            self.asks.remove(p);
        }
    }

    /// Records `qty` taken at `price` on `side` of the market.
    pub fn take(&mut self, side: BookSideKind, price: i64, qty: i64) {
        let slot = self.map_mut(side).entry(price).or_insert(0);
        *slot = slot.saturating_add(qty);
    }

    /// Levels an order of `side` limited by `limit` can trade against, best first, with the
    /// quantity still available at each, up to `qty` in total.
    pub fn sweep(
        &self,
        market: &SymbolMarket,
        side: Side,
        limit: Option<i64>,
        qty: i64,
    ) -> Vec<(i64, i64)> {
        let book_side = opposite(side);
        let taken = self.map(book_side);
        let mut out = Vec::new();
        let mut left = qty;
        for (price, level) in market.levels(book_side) {
            if left <= 0 || !crosses(side, price, limit) {
                break;
            }
            let available = level - taken.get(&price).copied().unwrap_or(0);
            if available <= 0 {
                continue;
            }
            let q = available.min(left);
            out.push((price, q));
            left -= q;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::Market;
    use crate::pairs::find_pair;

    #[test]
    fn sweeps_respect_the_limit_and_what_was_taken() {
        let pair = find_pair("BTC/USD").unwrap();
        let market = Market::new(&[pair], 9);
        let m = market.symbol(0).unwrap();
        let asks: Vec<_> = m.levels(BookSideKind::Ask).take(3).collect();
        let bids: Vec<_> = m.levels(BookSideKind::Bid).take(2).collect();
        let mut o = Overlay::default();
        // A buy limited at the second ask takes the first two levels and no more.
        let want = asks[0].1 + asks[1].1 + 1;
        let s = o.sweep(m, Side::Buy, Some(asks[1].0), want);
        assert_eq!(s, vec![asks[0], asks[1]]);
        // Taken liquidity is gone until the market touches the level again.
        o.take(BookSideKind::Ask, asks[0].0, asks[0].1);
        o.take(BookSideKind::Ask, asks[1].0, 1);
        let s = o.sweep(m, Side::Buy, None, asks[1].1);
        assert_eq!(s, vec![(asks[1].0, asks[1].1 - 1), (asks[2].0, 1)]);
        let mut step = StepOutcome::default();
        step.touched_asks.push(asks[0].0);
        o.forget(&step);
        assert_eq!(
            o.sweep(m, Side::Buy, Some(asks[0].0), 1),
            vec![(asks[0].0, 1)]
        );
        // A sell below the best bid takes nothing above its limit.
        assert!(o.sweep(m, Side::Sell, Some(bids[0].0 + 1), 5).is_empty());
        assert_eq!(o.sweep(m, Side::Sell, Some(bids[1].0), bids[0].1).len(), 1);
    }
}
