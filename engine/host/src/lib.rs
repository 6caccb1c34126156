//! kspin-host: everything between the engine core and the strategy cores.
//!
//! Owns [`Bus`] (engine core: one SPSC event ring per strategy, back-pressure and catch-up
//! snapshots, intents answered by the paper model) and its per-strategy [`lane`]s, the strategy
//! host threads ([`host`]), their replica books ([`replica`]), the paper fill model ([`paper`]),
//! the log drain for the monitor thread ([`logs`]), the copies of order updates for taps such as
//! the NATS bridge ([`order_tap`]), the strategies' symbol table ([`build`]), the
//! run-summary figures ([`stats`]), the strategy test harness ([`testing`]), which runs the
//! engine's pipeline with this same bus and host code on one thread with a scripted clock, and
//! the deterministic replay with trading ([`backtest`]: the same again over a capture, with a
//! paper venue that models latency, queue position and fees, and the live pre-trade checks).
//! Invariants: the engine core never waits for a strategy and never allocates here after
//! start-up; a strategy never sees a book state the engine did not verify; every drop, lag
//! episode and catch-up is counted per strategy.
//!
//! The runtime's loop, per iteration: `pipeline.on_frame(payload, tsc, &mut bus)` for each frame
//! (the bus is a `FrameSink`, stamping the frame's events with `tsc`; or a sink that forwards to
//! the bus, calling `bus.set_frame_tsc(tsc)` first), then `bus.service(&feed)` and
//! `bus.drain_intents(&feed)`.

#![forbid(unsafe_code)]

pub mod backtest;
pub mod build;
pub mod host;
pub mod lane;
pub mod logs;
pub mod order_tap;
pub mod paper;
pub mod precision;
pub mod publish;
pub mod replica;
pub mod runtime_glue;
pub mod stats;
pub mod testing;

pub use build::symbol_infos;
pub use host::{
    spawn_strategy, EventStamps, HostCounters, HostReport, Pinning, RunningStrategy, StrategyHandle,
};
pub use lane::LaneCounters;
pub use logs::LogDrain;
pub use order_tap::TapOrder;
pub use paper::{PaperCounters, PaperTrader};
pub use publish::telemetry::{LanePosition, LaneStats, LaneTapReader};
pub use publish::{Bus, BusCounters, IntentRoute, TapEnds};
pub use replica::Replica;
pub use stats::{report_keys, reports_json, strategy_reports, StrategyReport, StrategyStats};

use kspin_core::book::OrderBook;
use kspin_core::feed::Feed;

/// Where the bus finds the engine's current books (for catch-up snapshots and paper fills).
pub trait BookSource {
    /// The book of `symbol` now, and whether it is live (verified and streaming).
    fn current_book(&self, symbol: usize) -> Option<(&OrderBook, bool)>;
}

impl BookSource for Feed {
    #[inline]
    fn current_book(&self, symbol: usize) -> Option<(&OrderBook, bool)> {
        self.book(symbol).map(|b| (&b.book, b.state.is_live()))
    }
}

/// Books with their live flags, indexed by symbol (tests, tools).
impl BookSource for [(OrderBook, bool)] {
    #[inline]
    fn current_book(&self, symbol: usize) -> Option<(&OrderBook, bool)> {
        self.get(symbol).map(|(b, live)| (b, *live))
    }
}

/// Why the bus or a strategy could not be set up or joined.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The registry refused: unknown name or bad parameter (its message).
    #[error("{0}")]
    Build(#[from] kspin_api::BuildError),
    /// A configured parameter that cannot be passed as text.
    #[error("strategy {strategy:?}: parameter `{key}`: {reason}")]
    Param {
        strategy: String,
        key: String,
        reason: String,
    },
    #[error("strategy {strategy:?}: cannot allocate its {what} ring: {source}")]
    Ring {
        strategy: String,
        what: &'static str,
        source: kspin_ring::RingError,
    },
    #[error("strategy {strategy:?}: cannot start its thread: {source}")]
    Spawn {
        strategy: String,
        source: std::io::Error,
    },
    #[error("strategy {strategy:?}: its thread panicked")]
    StrategyPanicked { strategy: String },
}
