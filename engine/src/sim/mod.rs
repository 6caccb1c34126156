//! A simulated Kraken spot venue: a loopback WebSocket server (`ws://` and `wss://`) speaking
//! Kraken's v2 public protocol closely enough that the engine cannot tell the difference, with
//! a seeded order-flow model, valid checksums at every depth, and fault injection.
//!
//! Owns everything under `sim/`: the market model ([`market`]), the per-depth views that derive
//! each subscription's frames and checksums with `kspin::book::OrderBook` ([`depth_view`]), frame
//! text ([`frames`]), requests ([`requests`]), connections ([`conn`]), TLS ([`tls`]), pacing
//! ([`pacer`]), the send-time side channel for latency benchmarks ([`send_stamps`]), faults ([`fault`]), the venue thread ([`venue_loop`]) and its handle ([`handle`]) and the `kspin sim` command
//! ([`cli`]). Invariants: binds 127.0.0.1 only; the same seed gives the same book and trade
//! events; what a correct client holds can always be read back ([`VenueHandle::book_levels`]).
//! It is a test tool, not the engine core: it runs on its own thread, may allocate and lock, and
//! never shares code paths with the engine's decoder.

pub mod cli;
pub mod config;
pub mod conn;
pub mod depth_view;
pub mod fault;
pub mod frames;
pub mod handle;
pub mod market;
pub mod pacer;
pub mod pairs;
pub mod requests;
pub mod rng;
pub mod send_stamps;
pub mod state;
pub mod stats;
pub mod stream;
pub mod tls;
pub mod venue_loop;

pub use cli::{run_cli, SimArgs, DEFAULT_CLI_PORT};
pub use config::{SimConfig, SimError};
pub use fault::{FaultKind, FaultParseError, FaultSpec, FaultWhen};
pub use handle::{MantissaLevels, SimVenue, VenueHandle};
pub use pacer::{Pacer, PacingMode};
pub use pairs::{instruments, SimPair};
pub use send_stamps::SendStamps;
pub use stats::VenueStats;
