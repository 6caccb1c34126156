//! The registry as the engine uses it at start-up: the built-ins build from minimal parameters,
//! and a user sees error messages naming the strategy and the key for a bad `[[strategy]]` table.
//! Nothing here lists the built-ins by hand: adding a strategy needs no edit to these tests.

use kspin_api::{BuildError, Params, Registry, SymbolInfo};
use kspin_strategies::builtins;

fn params(pairs: &[(&str, &str)]) -> Params {
    let symbols = [
        SymbolInfo::new(0, "BTC/USD", 1, 8, 10),
        SymbolInfo::new(1, "ETH/USD", 2, 8, 10),
    ];
    Params::from_pairs(&symbols, pairs).unwrap()
}

fn error(name: &str, pairs: &[(&str, &str)]) -> String {
    match builtins().build(name, &params(pairs)) {
        Ok(_) => panic!("{name} {pairs:?} should fail"),
        Err(e) => e.to_string(),
    }
}

/// The smallest parameter set a built-in accepts: every required key it names, filled with a
/// value of the kind it asks for. Discovered from the strategy's own errors, so a new
/// built-in is covered without editing this test.
fn minimal_params(name: &str) -> Vec<(&'static str, &'static str)> {
    let registry = builtins();
    let mut pairs: Vec<(&'static str, &'static str)> = Vec::new();
    for _ in 0..8 {
        match registry.build(name, &params(&pairs)) {
            Ok(_) => return pairs,
            Err(BuildError::Params { error, .. }) => {
                let text = error.to_string();
                let key = ["symbol", "qty", "min_notional"]
                    .into_iter()
                    .find(|k| text.contains(&format!("`{k}`")))
                    .unwrap_or_else(|| panic!("{name}: no minimal value for {text}"));
                let value = match key {
                    "symbol" => "BTC/USD",
                    "qty" => "0.01",
                    _ => "100000",
                };
                pairs.push((key, value));
            }
            Err(e) => panic!("{name}: {e}"),
        }
    }
    panic!("{name}: did not build from minimal parameters {pairs:?}")
}

#[test]
fn every_builtin_builds_from_minimal_params_and_says_what_it_is() {
    let registry = builtins();
    assert!(registry.len() >= 5);
    let names: Vec<&str> = registry.names().collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), names.len(), "duplicate names in {names:?}");
    for r in registry.iter() {
        assert!(!r.about.is_empty(), "{}", r.name);
        assert!(
            r.name.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
            "{}",
            r.name
        );
        let pairs = minimal_params(r.name);
        assert!(
            registry.build(r.name, &params(&pairs)).is_ok(),
            "{}",
            r.name
        );
    }
}

#[test]
fn a_users_registry_extends_the_builtins_and_refuses_clashes() {
    struct Mine;
    impl kspin_api::Strategy for Mine {
        fn on_event(&mut self, _e: &kspin_api::Event, _c: &mut dyn kspin_api::Context) {}
        fn summary(&self) -> kspin_api::StrategySummary {
            kspin_api::StrategySummary::new()
        }
    }
    let mut registry = builtins();
    let n = registry.len();
    registry
        .register("mine", "a user's strategy", |_p: &Params| Ok(Mine))
        .unwrap();
    assert_eq!(registry.len(), n + 1);
    assert!(registry.build("mine", &params(&[])).is_ok());
    let first = registry.names().next().unwrap();
    assert_eq!(
        registry
            .register(first, "clash", |_p: &Params| Ok(Mine))
            .unwrap_err(),
        BuildError::Duplicate { name: first }
    );
    let mut other = Registry::new();
    other
        .register("mine", "again", |_p: &Params| Ok(Mine))
        .unwrap();
    assert!(registry.merge(other).is_err());
}

#[test]
fn start_up_errors_name_the_strategy_and_the_key() {
    let registered = builtins().names().collect::<Vec<_>>().join(", ");
    assert_eq!(
        error("nope", &[]),
        format!("unknown strategy \"nope\" (registered: {registered})")
    );
    assert!(matches!(
        builtins().build("nope", &params(&[])),
        Err(BuildError::UnknownStrategy { .. })
    ));
    assert_eq!(
        error("candles", &[("symbol", "BTC/USD"), ("intervall", "1m")]),
        "strategy \"candles\": unknown parameter `intervall` (this strategy does not take it)"
    );
    assert_eq!(
        error("whale_alert", &[]),
        "strategy \"whale_alert\": missing required parameter `min_notional`"
    );
    assert_eq!(
        error(
            "sma_cross",
            &[
                ("symbol", "BTC/USD"),
                ("qty", "1"),
                ("fast", "5"),
                ("slow", "5")
            ]
        ),
        "strategy \"sma_cross\": parameter `fast` = \"5\": expected fewer candles than `slow` (5)"
    );
    assert_eq!(
        error(
            "sma_cross",
            &[("symbol", "BTC/USD"), ("qty", "0.000000001")]
        ),
        "strategy \"sma_cross\": parameter `qty` = \"0.000000001\": expected a non-negative \
         quantity with at most 8 decimals (more decimals than the precision allows)"
    );
    assert_eq!(
        error("trade_flow", &[("symbol", "DOGE/USD")]),
        "strategy \"trade_flow\": parameter `symbol`: symbol \"DOGE/USD\" is not subscribed \
         (configured symbols: BTC/USD, ETH/USD)"
    );
    assert_eq!(
        error("trade_flow", &[("symbol", "BTC/USD"), ("window", "0s")]),
        "strategy \"trade_flow\": parameter `window` = \"0\": expected a duration > 0"
    );
}
