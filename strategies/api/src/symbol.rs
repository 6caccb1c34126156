//! Symbols as the strategy sees them: a dense [`SymbolId`] index and the [`SymbolInfo`] table the
//! host hands every strategy at start.
//!
//! Invariant: in any symbol table given to a strategy, `table[i].id == SymbolId(i)`, so an id is
//! a direct index. Events carry only the id (two bytes); names live in the table. This module
//! never allocates after the table is built.

/// A symbol's index in the host's symbol table (the order of the symbols in `kspin.toml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SymbolId(pub u16);

impl SymbolId {
    /// The id as a table index.
    #[inline]
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

/// What a strategy knows about one subscribed symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymbolInfo {
    pub id: SymbolId,
    /// Kraken v2 name, e.g. `BTC/USD`.
    pub name: String,
    /// Decimals of a [`crate::Price`] mantissa (Kraken `instrument` `price_precision`).
    pub price_scale: u8,
    /// Decimals of a [`crate::Qty`] mantissa (Kraken `instrument` `qty_precision`).
    pub qty_scale: u8,
    /// Subscribed book depth per side (one of Kraken's 10, 25, 100, 500, 1000).
    pub depth: u16,
}

impl SymbolInfo {
    pub fn new(id: u16, name: &str, price_scale: u8, qty_scale: u8, depth: u16) -> SymbolInfo {
        SymbolInfo {
            id: SymbolId(id),
            name: name.to_owned(),
            price_scale,
            qty_scale,
            depth,
        }
    }
}

/// The entry of `table` named `name` (exact, case-sensitive match).
pub fn find_symbol<'a>(table: &'a [SymbolInfo], name: &str) -> Option<&'a SymbolInfo> {
    table.iter().find(|s| s.name == name)
}

/// The entry of `table` for `id`, if the id is in range.
#[inline]
pub fn symbol_info(table: &[SymbolInfo], id: SymbolId) -> Option<&SymbolInfo> {
    table.get(id.index())
}
