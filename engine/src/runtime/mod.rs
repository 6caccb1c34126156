//! The engine core's runtime: the busy-polling loop ([`core`]), reconnect timing ([`backoff`]),
//! pre-rendered requests ([`requests`]) and the stats that leave the core ([`stats`]).

pub mod backoff;
pub mod core;
pub mod requests;
pub mod stats;

pub use self::core::{CoreConfig, CoreError, EngineCore, NoStrategies, Publisher};
pub use backoff::{Backoff, BackoffPolicy, DisconnectCause};
pub use stats::{CoreCounters, CoreStats, LatencyRecorder, LinkState};
