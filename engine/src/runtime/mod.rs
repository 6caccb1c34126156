//! The engine core's runtime: the busy-polling loop ([`core`]), reconnect timing ([`backoff`]),
//! pre-rendered requests ([`requests`]), the stats that leave the core ([`stats`]) and the
//! per-stage latency stamps and histograms ([`stages`]).

pub mod backoff;
pub mod core;
mod frame;
pub mod requests;
pub mod stages;
pub mod stats;

pub use self::core::{CoreConfig, CoreError, EngineCore, NoStrategies, Publisher};
pub use backoff::{Backoff, BackoffPolicy, DisconnectCause};
pub use stages::{FrameStamps, Span, Stage, StageClock, StageHistograms, SPANS};
pub use stats::{CoreCounters, CoreStats, LatencyRecorder, LinkState};
