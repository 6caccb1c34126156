//! `[trading]`: how strategies' orders are executed — by the paper model (the default) or on the
//! exchange — and the pre-trade limits in force.
//!
//! Owns [`TradingConfig`], [`LimitsConfig`] and their resolution into engine terms
//! ([`TradingConfig::resolve_limits`]: decimal text at each symbol's scales, per strategy and
//! symbol). Invariants: live trading is never the default (`mode = "live"` here *and* `--live` on
//! the command line, checked by `kspin run`); every limit is explicit, a decimal string, and
//! converts exactly at the symbol's scales or is refused naming the key; no secret is read or
//! held here (the file's path only).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use kspin_api::Decimal;
use kspin_core::trading::rate::Tier;
use kspin_core::trading::risk::RiskLimits;

use super::{invalid, ConfigError, StrategyConfig, SymbolPlan};

/// Kraken's authenticated v2 endpoint (PROTOCOL.md §1.1).
pub const KRAKEN_AUTH_URL: &str = "wss://ws-auth.kraken.com/v2";
/// Kraken's REST API, for `GetWebSocketsToken` (PROTOCOL.md §1.12).
pub const KRAKEN_REST_URL: &str = "https://api.kraken.com";

/// Paper or live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TradingMode {
    /// Orders are answered by the engine's paper-fill model against its own books.
    Paper,
    /// Orders go to the venue (`--live` required as well).
    Live,
}

/// `[trading]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TradingConfig {
    /// `"paper"` (default) or `"live"`.
    pub mode: String,
    /// Kraken's `validate` flag on every order: checked by the venue, never placed (a dry run
    /// against the real exchange).
    pub validate: bool,
    /// TOML file with `api_key` and `api_secret`, readable by its owner only. The environment
    /// (`KRAKEN_API_KEY`, `KRAKEN_API_SECRET`) is used first when set.
    pub credentials: Option<PathBuf>,
    /// The authenticated WebSocket; default: the embedded venue's with `venue.url = "sim"`, else
    /// Kraken's.
    pub url: Option<String>,
    /// The REST API handing out WebSocket tokens; default as for `url`.
    pub rest_url: Option<String>,
    /// The account's Kraken tier (`starter`, `intermediate`, `pro`): rate-counter threshold and
    /// decay, open orders per pair.
    pub tier: String,
    /// Open orders per pair the engine allows itself (at most the tier's).
    pub max_open_orders_per_pair: u32,
    /// Orders in flight at once, all strategies (the engine's order table).
    pub order_slots: usize,
    /// The dead man's switch (`cancel_all_orders_after`) timeout, seconds; 0 turns it off.
    pub dead_man_timeout_s: u32,
    /// How often it is refreshed, seconds (well inside the timeout).
    pub dead_man_refresh_s: u32,
    /// Cancel every open order on an orderly exit (otherwise they stay).
    pub cancel_on_exit: bool,
    /// Cancel open orders the venue reports that this run did not place.
    pub cancel_unknown_orders: bool,
    /// Limits for every strategy and symbol.
    pub limits: LimitsConfig,
    /// Per-symbol overrides of `limits`: `[trading.symbol."BTC/USD"]`.
    pub symbol: BTreeMap<String, LimitsConfig>,
}

/// Pre-trade limits; every field optional so that overrides name only what they change.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// Largest order, base units (decimal text, e.g. `"0.01"`).
    pub max_order_qty: Option<String>,
    /// Largest price × quantity of one order, quote units (decimal text).
    pub max_order_notional: Option<String>,
    /// Largest absolute position, base units, counting open orders as filled.
    pub max_position: Option<String>,
    /// How far a limit price may be from the mid, basis points (default 200).
    pub price_band_bps: Option<u32>,
    /// Open orders per strategy and symbol (default 10).
    pub max_open_orders: Option<u32>,
}

impl LimitsConfig {
    /// `self` with `over`'s fields where set.
    fn merged(&self, over: &LimitsConfig) -> LimitsConfig {
        LimitsConfig {
            max_order_qty: over.max_order_qty.clone().or(self.max_order_qty.clone()),
            max_order_notional: over
                .max_order_notional
                .clone()
                .or(self.max_order_notional.clone()),
            max_position: over.max_position.clone().or(self.max_position.clone()),
            price_band_bps: over.price_band_bps.or(self.price_band_bps),
            max_open_orders: over.max_open_orders.or(self.max_open_orders),
        }
    }
}

impl Default for TradingConfig {
    fn default() -> Self {
        TradingConfig {
            mode: "paper".into(),
            validate: false,
            credentials: None,
            url: None,
            rest_url: None,
            tier: "starter".into(),
            max_open_orders_per_pair: 20,
            order_slots: 256,
            dead_man_timeout_s: 60,
            dead_man_refresh_s: 20,
            cancel_on_exit: true,
            cancel_unknown_orders: false,
            // No quantity limit is assumed: going live needs them written down.
            limits: LimitsConfig::default(),
            symbol: BTreeMap::new(),
        }
    }
}

/// A decimal limit at `scale` (exact), naming `key` when it is not.
fn mantissa(text: &str, scale: u8, key: &str) -> Result<i128, ConfigError> {
    let d = Decimal::parse(text.as_bytes())
        .map_err(|_| invalid(key, format!("{text:?} is not a decimal number")))?;
    if d.mantissa < 0 {
        return Err(invalid(key, "must not be negative"));
    }
    let exact = d
        .to_scale(scale)
        .map_err(|_| invalid(key, format!("{text} has more than {scale} decimals")))?;
    Ok(i128::from(exact))
}

impl TradingConfig {
    pub fn mode(&self) -> Result<TradingMode, ConfigError> {
        match self.mode.as_str() {
            "paper" => Ok(TradingMode::Paper),
            "live" => Ok(TradingMode::Live),
            other => Err(invalid(
                "trading.mode",
                format!("{other:?} is not \"paper\" or \"live\""),
            )),
        }
    }

    pub fn tier(&self) -> Result<Tier, ConfigError> {
        match self.tier.as_str() {
            "starter" => Ok(Tier::Starter),
            "intermediate" => Ok(Tier::Intermediate),
            "pro" => Ok(Tier::Pro),
            other => Err(invalid(
                "trading.tier",
                format!("{other:?} is not \"starter\", \"intermediate\" or \"pro\""),
            )),
        }
    }

    /// Shape checks (the limits are resolved against the symbols' scales at start-up).
    pub fn validate(&self, symbols: &[SymbolPlan]) -> Result<(), ConfigError> {
        self.mode()?;
        let tier = self.tier()?;
        let cap = tier.max_open_orders();
        if self.max_open_orders_per_pair == 0 || self.max_open_orders_per_pair > cap {
            return Err(invalid(
                "trading.max_open_orders_per_pair",
                format!("must be 1..={cap} (the {} tier's limit)", self.tier),
            ));
        }
        if !(1..=32_768).contains(&self.order_slots) {
            return Err(invalid("trading.order_slots", "must be 1..=32768"));
        }
        if self.dead_man_timeout_s >= 86_400 {
            return Err(invalid(
                "trading.dead_man_timeout_s",
                "must be below 86400 (Kraken's limit)",
            ));
        }
        if self.dead_man_timeout_s > 0
            && (self.dead_man_refresh_s == 0 || self.dead_man_refresh_s >= self.dead_man_timeout_s)
        {
            return Err(invalid(
                "trading.dead_man_refresh_s",
                "must be above 0 and below trading.dead_man_timeout_s",
            ));
        }
        for name in self.symbol.keys() {
            if !symbols.iter().any(|p| p.symbol == *name) {
                return Err(invalid(
                    format!("trading.symbol.\"{name}\""),
                    "names a symbol no [[subscription]] subscribes",
                ));
            }
        }
        Ok(())
    }

    /// The limits of every (strategy, symbol), row-major by strategy, at the symbols' scales.
    /// `precision[i]` is symbol `i`'s `(price_scale, qty_scale)`.
    pub fn resolve_limits(
        &self,
        strategies: &[StrategyConfig],
        symbols: &[SymbolPlan],
        precision: &[(u8, u8)],
    ) -> Result<Vec<RiskLimits>, ConfigError> {
        self.resolve(strategies, symbols, precision, false)
            .map(|(limits, _)| limits)
    }

    /// [`Self::resolve_limits`] for a paper replay of a configuration that may not write every
    /// limit down (paper trading does not need them): an unset order quantity, notional or
    /// position limit is no limit. Also says whether any was unset.
    pub fn resolve_limits_for_replay(
        &self,
        strategies: &[StrategyConfig],
        symbols: &[SymbolPlan],
        precision: &[(u8, u8)],
    ) -> Result<(Vec<RiskLimits>, bool), ConfigError> {
        self.resolve(strategies, symbols, precision, true)
    }

    fn resolve(
        &self,
        strategies: &[StrategyConfig],
        symbols: &[SymbolPlan],
        precision: &[(u8, u8)],
        unset_is_unlimited: bool,
    ) -> Result<(Vec<RiskLimits>, bool), ConfigError> {
        let mut unset = false;
        let mut out = Vec::with_capacity(strategies.len() * symbols.len());
        for (k, strategy) in strategies.iter().enumerate() {
            for (plan, &(ps, qs)) in symbols.iter().zip(precision) {
                let mut l = self.limits.clone();
                if let Some(over) = self.symbol.get(&plan.symbol) {
                    l = l.merged(over);
                }
                if let Some(over) = &strategy.limits {
                    l = l.merged(over);
                }
                let key =
                    |field: &str| format!("limits of strategy[{k}] on {}: {field}", plan.symbol);
                let qty = |text: &Option<String>, field: &str| -> Result<i64, ConfigError> {
                    match text {
                        None if unset_is_unlimited => Ok(i64::MAX),
                        None => Err(invalid(
                            key(field),
                            "must be set (trading.limits or an override)",
                        )),
                        Some(t) => i64::try_from(mantissa(t, qs, &key(field))?)
                            .map_err(|_| invalid(key(field), "too large")),
                    }
                };
                let max_order_qty = qty(&l.max_order_qty, "max_order_qty")?;
                unset |= l.max_order_qty.is_none()
                    || l.max_order_notional.is_none()
                    || l.max_position.is_none();
                let max_order_notional = match &l.max_order_notional {
                    None if unset_is_unlimited => i128::MAX,
                    None => {
                        return Err(invalid(
                            key("max_order_notional"),
                            "must be set (trading.limits or an override)",
                        ))
                    }
                    Some(t) => mantissa(t, ps + qs, &key("max_order_notional"))?,
                };
                let max_position = qty(&l.max_position, "max_position")?;
                out.push(RiskLimits {
                    max_order_qty: kspin_api::Qty(max_order_qty),
                    max_order_notional,
                    max_position: kspin_api::Qty(max_position),
                    price_band_bps: l.price_band_bps.unwrap_or(200),
                    max_open_orders: l.max_open_orders.unwrap_or(10),
                });
            }
        }
        Ok((out, unset))
    }
}

#[cfg(test)]
mod tests {
    use super::super::Config;
    use super::*;

    fn config(text: &str) -> Config {
        Config::parse(text, "t.toml").unwrap()
    }

    const BASE: &str = r#"
[[subscription]]
symbols = ["BTC/USD", "ETH/USD"]
depth = 10

[[strategy]]
name = "quoter"
params = { symbol = "BTC/USD" }
limits = { max_position = "0.002" }

[[strategy]]
name = "quoter"
params = { symbol = "ETH/USD" }
"#;

    #[test]
    fn limits_resolve_per_strategy_and_symbol_at_the_symbols_scales() {
        let c = config(&format!(
            "{BASE}\n[trading]\nmode = \"live\"\n[trading.limits]\nmax_order_qty = \"0.001\"\nmax_position = \"0.01\"\nmax_order_notional = \"100\"\n[trading.symbol.\"ETH/USD\"]\nmax_order_qty = \"0.05\"\nprice_band_bps = 50\n"
        ));
        assert_eq!(c.trading.mode().unwrap(), TradingMode::Live);
        let plan = c.symbol_plan().unwrap();
        let limits = c
            .trading
            .resolve_limits(&c.strategies, &plan, &[(1, 8), (2, 8)])
            .unwrap();
        assert_eq!(limits.len(), 4);
        // Strategy 0 on BTC/USD: its own position limit.
        assert_eq!(limits[0].max_position.0, 200_000);
        assert_eq!(limits[0].max_order_qty.0, 100_000);
        assert_eq!(limits[0].max_order_notional, 100 * 1_000_000_000);
        // Strategy 1 on ETH/USD: the symbol override, price scale 2.
        assert_eq!(limits[3].max_order_qty.0, 5_000_000);
        assert_eq!(limits[3].price_band_bps, 50);
        assert_eq!(limits[3].max_order_notional, 100 * 10_000_000_000);
        assert_eq!(limits[3].max_position.0, 1_000_000);
    }

    #[test]
    fn bad_limits_and_modes_name_the_key() {
        let c = config(&format!("{BASE}\n[trading]\nmode = \"live\"\n"));
        let plan = c.symbol_plan().unwrap();
        let e = c
            .trading
            .resolve_limits(&c.strategies, &plan, &[(1, 8), (2, 8)])
            .unwrap_err()
            .to_string();
        assert!(e.contains("max_order_qty: must be set"), "{e}");
        let c = config(&format!(
            "{BASE}\n[trading.limits]\nmax_order_qty = \"0.000000001\"\nmax_position = \"1\"\nmax_order_notional = \"5\"\n"
        ));
        let e = c
            .trading
            .resolve_limits(&c.strategies, &plan, &[(1, 8), (2, 8)])
            .unwrap_err()
            .to_string();
        assert!(e.contains("more than 8 decimals"), "{e}");
        for (text, key) in [
            ("[trading]\nmode = \"yolo\"\n", "trading.mode"),
            ("[trading]\ntier = \"whale\"\n", "trading.tier"),
            (
                "[trading]\nmax_open_orders_per_pair = 61\n",
                "trading.max_open_orders_per_pair",
            ),
            (
                "[trading]\ndead_man_refresh_s = 60\n",
                "trading.dead_man_refresh_s",
            ),
            (
                "[trading.symbol.\"XRP/USD\"]\nmax_position = \"1\"\n",
                "trading.symbol",
            ),
        ] {
            let e = Config::parse(&format!("{BASE}\n{text}"), "t")
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(e.starts_with(key), "{text}: {e}");
        }
    }
}
