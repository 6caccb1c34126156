//! Built-in kspin strategies, written only against the `kspin-api` contract, and the registry
//! that names them. Their tests run them in `kspin_host::testing::TestHost`, the engine's own
//! pipeline, bus and strategy host on one thread with a scripted clock.
//!
//! Owns: [`registry`] (the built-ins' registrations), the built-ins
//! ([`spread_monitor`], [`trade_flow`], [`candles`], [`sma_cross`], [`whale_alert`],
//! [`quoter`]) and the shared [`candle`] aggregation. Invariants: every built-in sizes its buffers from its
//! parameters at construction and never allocates, blocks or uses `f64` per event; output goes
//! only through `Context::log`, `Context::submit` and `Strategy::summary`.

#![forbid(unsafe_code)]

pub mod candle;
pub mod candles;
pub mod quoter;
pub mod registry;
pub mod sma_cross;
pub mod spread_monitor;
pub mod trade_flow;
pub mod whale_alert;

pub use registry::{builtins, register_builtins};

use kspin_api::{Params, SymbolId};

/// `(price_scale, qty_scale)` of `symbol` from the parameters' symbol table (`(0, 0)` if absent,
/// which `get_symbol` already rules out).
pub(crate) fn scales(p: &Params, symbol: SymbolId) -> (u8, u8) {
    p.symbols()
        .get(symbol.index())
        .map_or((0, 0), |s| (s.price_scale, s.qty_scale))
}
