//! The registry as the engine uses it at start-up: names, constructors and the error messages a
//! user sees for a bad `[[strategy]]` table.

use kspin_api::{Params, SymbolInfo};
use kspin_strategies::registry::{build, lookup, names, BuildError};

fn params(pairs: &[(&str, &str)]) -> Params {
    let symbols = [
        SymbolInfo::new(0, "BTC/USD", 1, 8, 10),
        SymbolInfo::new(1, "ETH/USD", 2, 8, 10),
    ];
    Params::from_pairs(&symbols, pairs).unwrap()
}

fn error(name: &str, pairs: &[(&str, &str)]) -> String {
    match build(name, &params(pairs)) {
        Ok(_) => panic!("{name} {pairs:?} should fail"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn every_builtin_builds_from_minimal_params() {
    let minimal: [(&str, &[(&str, &str)]); 5] = [
        ("spread_monitor", &[("symbol", "BTC/USD")]),
        ("trade_flow", &[("symbol", "BTC/USD")]),
        ("candles", &[("symbol", "ETH/USD")]),
        ("sma_cross", &[("symbol", "BTC/USD"), ("qty", "0.01")]),
        ("whale_alert", &[("min_notional", "100000")]),
    ];
    assert_eq!(
        names().collect::<Vec<_>>(),
        minimal.iter().map(|(n, _)| *n).collect::<Vec<_>>()
    );
    for (name, pairs) in minimal {
        assert!(build(name, &params(pairs)).is_ok(), "{name}");
        assert!(lookup(name).is_some_and(|r| !r.about.is_empty()));
    }
}

#[test]
fn start_up_errors_name_the_strategy_and_the_key() {
    assert_eq!(
        error("nope", &[]),
        "unknown strategy \"nope\" (registered: spread_monitor, trade_flow, candles, sma_cross, \
         whale_alert)"
    );
    assert!(matches!(
        build("nope", &params(&[])),
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
