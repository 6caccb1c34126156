//! [`Replica`]: the book a strategy thread keeps per symbol, rebuilt from the wire events the bus
//! forwards. It wraps the engine's own [`OrderBook`] (same apply and truncate rules, so the same
//! message gives the same levels) plus the live flag the [`WireAssembler`] sets.
//!
//! Implements [`kspin_api::BookView`] (what the strategy reads) and [`ReplicaBook`] (what the
//! assembler writes), mapping the contract's [`BookSide`] onto the engine's [`SideKind`].
//! Invariants: allocated once per symbol at host start (`depth + slack` levels per side); it never
//! allocates or panics afterwards, whatever the wire sequence (an invalid level is ignored and
//! the assembler's top-of-book check then turns the book stale).
//!
//! [`WireAssembler`]: kspin_api::replica::WireAssembler

use kspin_api::replica::ReplicaBook;
use kspin_api::{BookSide, BookView, Price, Qty, SymbolInfo};

use kspin_core::book::{OrderBook, SideKind};

/// The engine's side type for a contract side.
#[inline]
pub const fn side_kind(side: BookSide) -> SideKind {
    match side {
        BookSide::Bid => SideKind::Bid,
        BookSide::Ask => SideKind::Ask,
    }
}

/// The contract's side type for an engine side.
#[inline]
pub const fn book_side(kind: SideKind) -> BookSide {
    match kind {
        SideKind::Bid => BookSide::Bid,
        SideKind::Ask => BookSide::Ask,
    }
}

/// One symbol's replica on a strategy thread; see the module docs.
#[derive(Debug, Clone)]
pub struct Replica {
    book: OrderBook,
    live: bool,
}

impl Replica {
    /// An empty, not-live replica for `info` (its depth and scales).
    pub fn new(info: &SymbolInfo) -> Replica {
        Replica {
            book: OrderBook::new(usize::from(info.depth), info.price_scale, info.qty_scale),
            live: false,
        }
    }

    /// The underlying book (for checksums in tests and diagnostics).
    pub fn book(&self) -> &OrderBook {
        &self.book
    }
}

impl BookView for Replica {
    #[inline]
    fn level(&self, side: BookSide, rank: usize) -> Option<(Price, Qty)> {
        match side {
            BookSide::Bid => self.book.bids().level(rank),
            BookSide::Ask => self.book.asks().level(rank),
        }
    }

    #[inline]
    fn len(&self, side: BookSide) -> usize {
        match side {
            BookSide::Bid => self.book.bids().len(),
            BookSide::Ask => self.book.asks().len(),
        }
    }

    #[inline]
    fn is_live(&self) -> bool {
        self.live
    }

    #[inline]
    fn price_scale(&self) -> u8 {
        self.book.price_scale()
    }

    #[inline]
    fn qty_scale(&self) -> u8 {
        self.book.qty_scale()
    }

    #[inline]
    fn depth(&self) -> usize {
        self.book.depth()
    }
}

impl ReplicaBook for Replica {
    #[inline]
    fn clear(&mut self) {
        self.book.clear();
    }

    #[inline]
    fn apply_level(&mut self, side: BookSide, price: Price, qty: Qty) {
        // An invalid level is left out; the BookDone check catches the difference.
        let _ = self.book.apply_level(side_kind(side), price, qty);
    }

    #[inline]
    fn end_message(&mut self) {
        self.book.truncate_to_depth();
    }

    #[inline]
    fn set_live(&mut self, live: bool) {
        self.live = live;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kspin_core::book::ApplyMode;

    #[test]
    fn rebuilds_the_engine_book_level_by_level() {
        let info = SymbolInfo::new(0, "X/Y", 1, 2, 2);
        let mut engine = OrderBook::new(2, 1, 2);
        let bids = [
            (Price(100), Qty(5)),
            (Price(99), Qty(1)),
            (Price(98), Qty(7)),
        ];
        let asks = [(Price(101), Qty(2)), (Price(103), Qty(4))];
        engine.apply_exact(ApplyMode::Snapshot, &bids, &asks);
        let mut r = Replica::new(&info);
        r.clear();
        for &(p, q) in &bids {
            r.apply_level(BookSide::Bid, p, q);
        }
        for &(p, q) in &asks {
            r.apply_level(BookSide::Ask, p, q);
        }
        r.end_message();
        assert_eq!(r.book().checksum_uncached(), engine.checksum_uncached());
        assert_eq!(r.len(BookSide::Bid), 2);
        assert_eq!(r.best_bid(), Some((Price(100), Qty(5))));
        assert_eq!(r.level(BookSide::Ask, 1), Some((Price(103), Qty(4))));
        assert!(!r.is_live());
        r.set_live(true);
        assert!(r.is_live());
        // Invalid levels change nothing.
        r.apply_level(BookSide::Bid, Price(0), Qty(1));
        r.apply_level(BookSide::Bid, Price(5), Qty(-1));
        assert_eq!(r.book().checksum_uncached(), engine.checksum_uncached());
        assert_eq!(book_side(side_kind(BookSide::Ask)), BookSide::Ask);
    }
}
