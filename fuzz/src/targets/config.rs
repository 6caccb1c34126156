//! `config`: any text as `kspin.toml`, through [`kspin::config::Config::parse`].
//!
//! Checks that parsing and validation never panic, and that a configuration `parse` accepted
//! keeps the promises of engine/kspin/src/config.rs: `symbol_plan()` and `mismatch_policy()`
//! succeed, the plan has at least one and at most `MAX_SYMBOLS` symbols, each once, at a depth
//! Kraken supports.

use kspin::config::Config;
use kspin_core::book::SUPPORTED_DEPTHS;
use kspin_core::feed::MAX_SYMBOLS;

use super::shown;
use crate::Verdict;

/// See the module docs.
pub fn config(data: &[u8]) -> Verdict {
    let Ok(text) = std::str::from_utf8(data) else {
        // A config file is read as UTF-8 text (`read_to_string`): other bytes never get here.
        return Verdict::Rejected;
    };
    let Ok(config) = Config::parse(text, "fuzz") else {
        return Verdict::Rejected;
    };
    let plan = match config.symbol_plan() {
        Ok(plan) => plan,
        Err(e) => panic!(
            "validated config without a symbol plan ({e}): {}",
            shown(data)
        ),
    };
    if let Err(e) = config.mismatch_policy() {
        panic!(
            "validated config without a mismatch policy ({e}): {}",
            shown(data)
        );
    }
    assert!(!plan.is_empty() && plan.len() <= MAX_SYMBOLS);
    for (i, symbol) in plan.iter().enumerate() {
        assert!(SUPPORTED_DEPTHS.contains(&symbol.depth), "{symbol:?}");
        assert!(
            plan[..i].iter().all(|s| s.symbol != symbol.symbol),
            "{} planned twice",
            symbol.symbol
        );
    }
    Verdict::Accepted
}
