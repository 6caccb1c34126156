//! kspin-telemetry: what the operators see of a running engine, built entirely off the engine
//! core.
//!
//! The core publishes (without waiting, locking or formatting) a stats snapshot once a second,
//! its taps (book tops, the trade tape) and the bus's and order path's figures through SPSC rings
//! (`kspin_runtime::telemetry`); here a [`Collector`] reads them into a [`Snapshot`], which the
//! [`MetricsServer`] serves as Prometheus text ([`prom`]) and JSON, `kspin top` draws, and
//! [`EventLog`] turns into structured log events. Invariants: nothing here runs on the engine
//! core or a strategy core; every metric name starts with `kspin_`; prices stay exact decimal
//! text in the snapshot (the Prometheus gauges of prices are floats, for graphs only).

#![forbid(unsafe_code)]

pub mod causes;
pub mod collector;
pub mod events;
pub mod http;
pub mod model;
pub mod prom;

pub use collector::{Collector, CollectorSetup};
pub use events::EventLog;
pub use http::{MetricsServer, ServeError, SharedSnapshot};
pub use model::Snapshot;
