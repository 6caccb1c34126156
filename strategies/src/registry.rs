//! The built-in strategies' registrations: [`builtins`] is a [`Registry`] holding every strategy
//! this crate ships, under its registry name (the `name` of a `[[strategy]]` table).
//!
//! A user's own crate builds its registry the same way (`Registry::register`) and may start from
//! [`builtins`] to keep these. Start-up only (allocates).

use kspin_api::Registry;

use crate::{candles, quoter, sma_cross, spread_monitor, trade_flow, whale_alert};

/// Adds every built-in strategy to `registry`.
pub fn register_builtins(registry: &mut Registry) -> Result<(), kspin_api::BuildError> {
    registry
        .register(
            spread_monitor::NAME,
            "spread, microprice and book imbalance of one symbol",
            spread_monitor::SpreadMonitor::from_params,
        )?
        .register(
            trade_flow::NAME,
            "VWAP, buy/sell volume and trade rate over a rolling window",
            trade_flow::TradeFlow::from_params,
        )?
        .register(
            candles::NAME,
            "OHLCV candles from trades",
            candles::Candles::from_params,
        )?
        .register(
            sma_cross::NAME,
            "SMA crossover on candles, emitting order intents",
            sma_cross::SmaCross::from_params,
        )?
        .register(
            whale_alert::NAME,
            "alerts on trades above a notional",
            whale_alert::WhaleAlert::from_params,
        )?
        .register(
            quoter::NAME,
            "two-sided post-only quotes with amends, IOC takes and a position limit",
            quoter::Quoter::from_params,
        )?;
    Ok(())
}

/// A registry of every built-in strategy.
pub fn builtins() -> Registry {
    let mut registry = Registry::new();
    // The built-in names are distinct constants: registering them cannot clash.
    let _ = register_builtins(&mut registry);
    registry
}
