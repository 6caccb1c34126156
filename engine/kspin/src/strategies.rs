//! Building the strategies of `kspin.toml` at start-up: parameters from the TOML table, the
//! strategy from the [`Registry`], and its rings on the [`Bus`].
//!
//! Owns the TOML → [`Params`] conversion. Invariants: every value reaches the strategy as exact
//! text (strings as written, integers and booleans as their decimal text); TOML floats are
//! refused, because a binary float cannot carry an exact price — the message says to quote the
//! decimal. Unknown names and bad parameters fail with the registry's message. Start-up only.

use kspin_api::{Params, Registry, SymbolInfo};
use kspin_host::{Bus, BusError, StrategyHandle};
use kspin_ring::IdlePolicy;

use crate::config::StrategyConfig;

/// The parameters of one `[[strategy]]` block, resolving symbols against `symbols`.
pub fn params_from_toml(
    strategy: &str,
    table: &toml::Table,
    symbols: &[SymbolInfo],
) -> Result<Params, BusError> {
    let mut params = Params::new(symbols.to_vec());
    for (key, value) in table {
        let bad = |reason: String| BusError::Param {
            strategy: strategy.to_owned(),
            key: key.clone(),
            reason,
        };
        let text = match value {
            toml::Value::String(s) => s.clone(),
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            toml::Value::Float(f) => {
                return Err(bad(format!(
                    "{f} is a TOML float, which cannot hold a decimal exactly; quote it: \
                     {key} = \"{f}\""
                )))
            }
            toml::Value::Datetime(d) => d.to_string(),
            toml::Value::Array(_) | toml::Value::Table(_) => {
                return Err(bad("expected a string, an integer or a boolean".into()))
            }
        };
        params.insert(key, &text).map_err(|e| bad(e.to_string()))?;
    }
    Ok(params)
}

/// Builds every configured strategy (registry name, parameters) and its rings on a new [`Bus`]
/// for `symbols`. Each event ring holds `ring_capacity` events (rounded up to a power of two);
/// every strategy thread idles with `idle`. Start the returned handles with
/// [`kspin_host::spawn_strategy`].
pub fn build_strategies(
    registry: &Registry,
    configs: &[StrategyConfig],
    symbols: &[SymbolInfo],
    ring_capacity: usize,
    idle: IdlePolicy,
) -> Result<(Bus, Vec<StrategyHandle>), BusError> {
    let mut bus = Bus::new(symbols);
    let mut handles = Vec::with_capacity(configs.len());
    for config in configs {
        let params = params_from_toml(&config.name, &config.params, symbols)?;
        let strategy = registry.build(&config.name, &params)?;
        handles.push(bus.add_strategy(&config.name, config.core, strategy, ring_capacity, idle)?);
    }
    Ok((bus, handles))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn symbols() -> Vec<SymbolInfo> {
        vec![SymbolInfo::new(0, "BTC/USD", 1, 8, 10)]
    }

    fn config(text: &str) -> StrategyConfig {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn builds_from_toml_and_names_problems() {
        let ok = config(
            "name = \"whale_alert\"\ncore = 1\n[params]\nsymbol = \"BTC/USD\"\nmin_notional = \"50000\"\n",
        );
        let (bus, handles) = build_strategies(
            &kspin_strategies::builtins(),
            &[ok],
            &symbols(),
            64,
            IdlePolicy::Spin,
        )
        .unwrap();
        assert_eq!(bus.strategies(), 1);
        assert_eq!(handles[0].name(), "whale_alert");
        assert_eq!(handles[0].core(), Some(1));

        let float =
            config("name = \"whale_alert\"\n[params]\nsymbol = \"BTC/USD\"\nmin_notional = 0.5\n");
        let err = build_strategies(
            &kspin_strategies::builtins(),
            &[float],
            &symbols(),
            64,
            IdlePolicy::Spin,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "strategy \"whale_alert\": parameter `min_notional`: 0.5 is a TOML float, which \
             cannot hold a decimal exactly; quote it: min_notional = \"0.5\""
        );

        let unknown = config("name = \"nope\"\n");
        let err = build_strategies(
            &kspin_strategies::builtins(),
            &[unknown],
            &symbols(),
            64,
            IdlePolicy::Spin,
        )
        .unwrap_err();
        assert!(err
            .to_string()
            .starts_with("unknown strategy \"nope\" (registered: "));

        let typo = config(
            "name = \"whale_alert\"\n[params]\nsymbol = \"BTC/USD\"\nmin_notional = 5\nsymbl = 1\n",
        );
        let err = build_strategies(
            &kspin_strategies::builtins(),
            &[typo],
            &symbols(),
            64,
            IdlePolicy::Spin,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "strategy \"whale_alert\": unknown parameter `symbl` (this strategy does not take it)"
        );
    }
}
