//! Live order entry on the engine core: the authenticated connection and its timers
//! ([`link`]), where its tokens come from ([`token`]), tick-to-trade latency ([`latency`]), and
//! what it tells the metrics thread ([`telemetry`]).
//! The order path's state and checks are [`kspin_core::trading`]'s; this module gives them a
//! connection, a clock and the strategies' rings.

pub mod latency;
pub mod link;
pub mod telemetry;
pub mod token;

pub use latency::{OrderLatency, OrderPoint, OrderStamps};
pub use link::{LinkCounters, TradingLink, TradingLinkConfig, TradingLinkState};
pub use telemetry::{
    trading_taps, TradingPosition, TradingStats, TradingTapReader, TradingTapWriter,
};
pub use token::{ScriptedTokens, TokenSource};
