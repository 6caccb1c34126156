//! The one place strategies are registered: [`STRATEGIES`] maps a registry name (the `name` in a
//! `[[strategy]]` table of `kspin.toml`) to a constructor from [`Params`].
//!
//! [`build`] is what the engine calls at start-up for each configured strategy: it looks the
//! name up, runs the constructor, then rejects any parameter the constructor did not read, so an
//! unknown name, a missing or malformed parameter, or a typo in a key fails before the engine
//! starts, with a message naming the strategy and the key. Start-up only (allocates).
//!
//! To add a strategy: write a module with a `from_params(&Params) -> Result<Self, ParamError>`
//! constructor and add one line to [`STRATEGIES`].

use crate::{candles, sma_cross, spread_monitor, trade_flow, whale_alert};
use core::fmt;
use kspin_api::{ParamError, Params, Strategy};

/// Builds a strategy from its parameters.
pub type Constructor = fn(&Params) -> Result<Box<dyn Strategy>, ParamError>;

/// One registered strategy.
#[derive(Debug, Clone, Copy)]
pub struct Registration {
    /// Registry name, used in `kspin.toml`.
    pub name: &'static str,
    /// One line for `kspin strategies` / error messages.
    pub about: &'static str,
    pub build: Constructor,
}

/// Boxes a typed constructor; keeps the table below one line per strategy.
macro_rules! register {
    ($module:ident, $ty:ty, $about:expr) => {
        Registration {
            name: $module::NAME,
            about: $about,
            build: |p| Ok(Box::new(<$ty>::from_params(p)?) as Box<dyn Strategy>),
        }
    };
}

/// Every built-in strategy, by registry name.
pub static STRATEGIES: &[Registration] = &[
    register!(
        spread_monitor,
        spread_monitor::SpreadMonitor,
        "spread, microprice and book imbalance of one symbol"
    ),
    register!(
        trade_flow,
        trade_flow::TradeFlow,
        "VWAP, buy/sell volume and trade rate over a rolling window"
    ),
    register!(candles, candles::Candles, "OHLCV candles from trades"),
    register!(
        sma_cross,
        sma_cross::SmaCross,
        "SMA crossover on candles, emitting paper order intents"
    ),
    register!(
        whale_alert,
        whale_alert::WhaleAlert,
        "alerts on trades above a notional"
    ),
];

/// The registration named `name`.
pub fn lookup(name: &str) -> Option<&'static Registration> {
    STRATEGIES.iter().find(|r| r.name == name)
}

/// Registered names, in table order.
pub fn names() -> impl Iterator<Item = &'static str> {
    STRATEGIES.iter().map(|r| r.name)
}

/// Why a configured strategy could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildError {
    UnknownStrategy { name: String },
    Params { strategy: String, error: ParamError },
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::UnknownStrategy { name } => {
                write!(f, "unknown strategy {name:?} (registered: ")?;
                for (i, n) in names().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str(n)?;
                }
                f.write_str(")")
            }
            BuildError::Params { strategy, error } => write!(f, "strategy {strategy:?}: {error}"),
        }
    }
}

impl std::error::Error for BuildError {}

/// Builds the strategy registered as `name` from `params`; see the module docs.
pub fn build(name: &str, params: &Params) -> Result<Box<dyn Strategy>, BuildError> {
    let reg = lookup(name).ok_or_else(|| BuildError::UnknownStrategy {
        name: name.to_owned(),
    })?;
    let wrap = |error| BuildError::Params {
        strategy: name.to_owned(),
        error,
    };
    let strategy = (reg.build)(params).map_err(wrap)?;
    params.finish().map_err(wrap)?;
    Ok(strategy)
}
