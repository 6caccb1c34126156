//! The strategies' symbol table at start-up: `SymbolId(i)` is the runtime's symbol `i`, with its
//! resolved precision. Start-up only.

use kspin_api::SymbolInfo;
use kspin_runtime::plan::SymbolPlan;

/// The strategies' symbol table for `plan` (the feed's symbol order): `SymbolId(i)` is
/// `plan[i]`, with its resolved precision (0 decimals where none is known yet).
pub fn symbol_infos(plan: &[SymbolPlan]) -> Vec<SymbolInfo> {
    plan.iter()
        .enumerate()
        .map(|(i, p)| {
            let (price, qty) = p.precision.unwrap_or((0, 0));
            SymbolInfo::new(i as u16, &p.symbol, price, qty, p.depth)
        })
        .collect()
}
