//! kspin-runtime: the engine core's busy-polling driver ([`driver`]), reconnect timing
//! ([`backoff`]), why each connection ended ([`cause`]), pre-rendered requests ([`requests`]),
//! the stats that leave the core ([`stats`]), the per-stage latency stamps and histograms
//! ([`stages`], recorded off the frame path through [`stage_records`]), the telemetry taps the
//! metrics thread reads ([`telemetry`]), and frame capture ([`capture`]).

pub mod backoff;
pub mod capture;
pub mod cause;
pub mod discover;
pub mod driver;
pub mod engine;
pub mod plan;
pub mod requests;
pub mod stage_records;
pub mod stages;
pub mod stats;
pub mod telemetry;
pub mod trading;

pub use backoff::{Backoff, BackoffPolicy, DisconnectCause};
pub use cause::{CauseCounts, EndCause, EndCauses, CAUSE_NAMES};
pub use driver::{
    CoreConfig, CoreError, EngineCore, NoOrderLink, NoStrategies, OrderLink, Publisher,
};
pub use engine::{Engine, EngineConfig, FrameTally, RecentFrames};
pub use plan::SymbolPlan;
pub use stage_records::{stage_record_ring, StageRecordWriter, StageRecorder, STAGE_RECORD_RING};
pub use stages::{FrameStamps, Span, Stage, StageClock, StageHistograms, SPANS};
pub use stats::{CoreCounters, CoreStats, LatencyBuckets, LatencyRecorder, LinkState};
pub use telemetry::{BookTop, TapConfig, TapReader, TradePrint};
