//! What the runtime subscribes, per symbol, once the configuration has been validated.
//!
//! Owns [`SymbolPlan`]. Invariants: a plan's index is the symbol's index everywhere downstream
//! (feed, bus, strategies' `SymbolId`); depth is one Kraken supports. Built at start-up only.

/// One symbol as the runtime needs it after validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymbolPlan {
    pub symbol: String,
    pub depth: u16,
    pub book: bool,
    pub trade: bool,
    pub ticker: bool,
    /// `(price_decimals, qty_decimals)` when known before connecting.
    pub precision: Option<(u8, u8)>,
}
