//! [`PrecisionGuard`]: which symbols strategies must not see because the exchange changed their
//! precision after start-up, and [`VisibleBooks`], the engine's books with those symbols hidden.
//!
//! Strategies receive prices and quantities as mantissas at the scales in their symbol table,
//! fixed at start-up (replicas, cached scales and parameters depend on them). When `instrument`
//! announces other scales for a symbol, the engine's book follows (it resubscribes at the new
//! precision), but nothing of that symbol can be given to strategies at their scales any more.
//! Invariant: a symbol is *frozen* exactly while the engine's precision differs from the
//! strategies'; while frozen the bus publishes nothing of it, answers no order on it, and hands
//! no catch-up book of it. Never allocates after construction.

use kspin_api::SymbolInfo;

use super::BookSource;
use kspin_core::book::OrderBook;

/// See the module docs.
#[derive(Debug, Clone)]
pub struct PrecisionGuard {
    /// `(price_scale, qty_scale)` per symbol as strategies know them.
    strategy_scales: Box<[(u8, u8)]>,
    frozen: Box<[bool]>,
}

impl PrecisionGuard {
    pub fn new(symbols: &[SymbolInfo]) -> PrecisionGuard {
        PrecisionGuard {
            strategy_scales: symbols
                .iter()
                .map(|s| (s.price_scale, s.qty_scale))
                .collect(),
            frozen: vec![false; symbols.len()].into_boxed_slice(),
        }
    }

    #[inline]
    pub fn is_frozen(&self, symbol: usize) -> bool {
        self.frozen.get(symbol).copied().unwrap_or(false)
    }

    /// The engine's book of `symbol` is now at `scales`. Returns `Some(frozen)` when that
    /// changes whether strategies may see the symbol, `None` otherwise.
    pub fn engine_scales(&mut self, symbol: usize, scales: (u8, u8)) -> Option<bool> {
        let frozen = scales != *self.strategy_scales.get(symbol)?;
        let slot = self.frozen.get_mut(symbol)?;
        if *slot == frozen {
            return None;
        }
        *slot = frozen;
        Some(frozen)
    }

    /// `books` with the frozen symbols hidden.
    #[inline]
    pub fn visible<'a, B: BookSource + ?Sized>(&'a self, books: &'a B) -> VisibleBooks<'a, B> {
        VisibleBooks {
            books,
            frozen: &self.frozen,
        }
    }
}

/// The engine's books as strategies may see them: a frozen symbol has no book.
pub struct VisibleBooks<'a, B: ?Sized> {
    books: &'a B,
    frozen: &'a [bool],
}

impl<B: BookSource + ?Sized> BookSource for VisibleBooks<'_, B> {
    #[inline]
    fn current_book(&self, symbol: usize) -> Option<(&OrderBook, bool)> {
        if self.frozen.get(symbol).copied().unwrap_or(false) {
            return None;
        }
        self.books.current_book(symbol)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freezes_while_the_scales_differ_and_hides_the_book() {
        let symbols = [
            SymbolInfo::new(0, "A/B", 2, 4, 10),
            SymbolInfo::new(1, "C/D", 1, 0, 10),
        ];
        let mut g = PrecisionGuard::new(&symbols);
        assert_eq!(
            g.engine_scales(0, (2, 4)),
            None,
            "same scales: nothing changes"
        );
        assert_eq!(g.engine_scales(0, (3, 4)), Some(true));
        assert_eq!(g.engine_scales(0, (3, 5)), None, "still frozen");
        assert!(g.is_frozen(0) && !g.is_frozen(1) && !g.is_frozen(7));
        let books = [
            (OrderBook::new(10, 3, 5), true),
            (OrderBook::new(10, 1, 0), true),
        ];
        let visible = g.visible(&books[..]);
        assert!(visible.current_book(0).is_none());
        assert!(visible.current_book(1).is_some());
        assert_eq!(
            g.engine_scales(0, (2, 4)),
            Some(false),
            "back to the strategies' scales"
        );
        assert!(g.visible(&books[..]).current_book(0).is_some());
        assert_eq!(g.engine_scales(9, (1, 1)), None, "unknown symbol");
    }
}
