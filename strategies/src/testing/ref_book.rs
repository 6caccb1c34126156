//! [`RefBook`]: a small, obviously-correct L2 book for the test harness. It plays two roles: the
//! harness's stand-in for the engine's book (to compute what `BookDone` announces) and the
//! replica the strategy reads through [`BookView`].
//!
//! Invariants: each side is sorted best first with quantities > 0; after `end_message` each side
//! holds at most `depth` levels. Test-only code: it favours clarity over speed, but still
//! preallocates `depth + slack` levels per side.

use kspin_api::replica::ReplicaBook;
use kspin_api::{BookSide, BookView, Price, Qty, SymbolInfo};

/// A sorted-vector book; see the module docs.
#[derive(Debug, Clone)]
pub struct RefBook {
    bids: Vec<(Price, Qty)>,
    asks: Vec<(Price, Qty)>,
    depth: usize,
    price_scale: u8,
    qty_scale: u8,
    live: bool,
}

impl RefBook {
    pub fn new(info: &SymbolInfo) -> RefBook {
        let depth = (info.depth as usize).max(1);
        RefBook {
            bids: Vec::with_capacity(depth * 2),
            asks: Vec::with_capacity(depth * 2),
            depth,
            price_scale: info.price_scale,
            qty_scale: info.qty_scale,
            live: false,
        }
    }

    fn side(&self, side: BookSide) -> &Vec<(Price, Qty)> {
        match side {
            BookSide::Bid => &self.bids,
            BookSide::Ask => &self.asks,
        }
    }

    /// Levels of `side`, best first.
    pub fn levels(&self, side: BookSide) -> &[(Price, Qty)] {
        self.side(side)
    }
}

impl BookView for RefBook {
    fn level(&self, side: BookSide, rank: usize) -> Option<(Price, Qty)> {
        self.side(side).get(rank).copied()
    }
    fn len(&self, side: BookSide) -> usize {
        self.side(side).len()
    }
    fn is_live(&self) -> bool {
        self.live
    }
    fn price_scale(&self) -> u8 {
        self.price_scale
    }
    fn qty_scale(&self) -> u8 {
        self.qty_scale
    }
    fn depth(&self) -> usize {
        self.depth
    }
}

impl ReplicaBook for RefBook {
    fn clear(&mut self) {
        self.bids.clear();
        self.asks.clear();
    }

    fn apply_level(&mut self, side: BookSide, price: Price, qty: Qty) {
        let levels = match side {
            BookSide::Bid => &mut self.bids,
            BookSide::Ask => &mut self.asks,
        };
        // Best first: bids descending, asks ascending.
        let pos = levels.binary_search_by(|&(p, _)| match side {
            BookSide::Bid => price.cmp(&p),
            BookSide::Ask => p.cmp(&price),
        });
        match (pos, qty.0 > 0) {
            (Ok(i), true) => levels[i].1 = qty,
            (Ok(i), false) => {
                levels.remove(i);
            }
            (Err(i), true) => levels.insert(i, (price, qty)),
            (Err(_), false) => {}
        }
    }

    fn end_message(&mut self) {
        self.bids.truncate(self.depth);
        self.asks.truncate(self.depth);
    }

    fn set_live(&mut self, live: bool) {
        self.live = live;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_sides_sorted_and_truncates_after_the_message() {
        let mut b = RefBook::new(&SymbolInfo::new(0, "X/Y", 1, 0, 2));
        for p in [10, 12, 11] {
            b.apply_level(BookSide::Bid, Price(p), Qty(1));
            b.apply_level(BookSide::Ask, Price(p + 10), Qty(1));
        }
        b.apply_level(BookSide::Bid, Price(99), Qty(0)); // absent delete: ignored
        assert_eq!(b.len(BookSide::Bid), 3);
        b.end_message();
        assert_eq!(
            b.levels(BookSide::Bid),
            &[(Price(12), Qty(1)), (Price(11), Qty(1))]
        );
        assert_eq!(
            b.levels(BookSide::Ask),
            &[(Price(20), Qty(1)), (Price(21), Qty(1))]
        );
        b.apply_level(BookSide::Bid, Price(12), Qty(0));
        b.apply_level(BookSide::Ask, Price(20), Qty(5));
        assert_eq!(b.best_bid(), Some((Price(11), Qty(1))));
        assert_eq!(b.best_ask(), Some((Price(20), Qty(5))));
    }
}
