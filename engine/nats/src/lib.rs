//! kspin-nats: verified market data fanned out through NATS JetStream, off the engine core.
//!
//! Owns the message format ([`format`]), the [`Encoder`] that turns a bus tap's wire events
//! into messages, the bridge thread ([`bridge`]) that publishes them with the official
//! `async-nats` client on its own current-thread tokio runtime, the [`Verifier`] that rebuilds
//! and checks books on the consuming side, the mirror loop ([`mirror`]) behind `kspin mirror`,
//! the [`MirrorFeed`] that hands a mirror's verified books to local strategies through the same
//! bus and host threads as `kspin run`, and the symbol-to-shard assignment ([`shard`]).
//!
//! Invariants: the engine core never links this crate's runtime nor waits for NATS (the bridge
//! is fed by an SPSC lane that conflates when the bridge falls behind); only book states the
//! engine verified are published, each with its Kraken checksum and a per-symbol sequence
//! number; a republish carries the same `Nats-Msg-Id`. Never panics on input from the network.

#![forbid(unsafe_code)]

pub mod bridge;
pub mod encoder;
pub mod feed;
pub mod format;
pub mod mirror;
pub mod shard;
pub mod verify;

pub use bridge::{spawn_bridge, BridgeConfig, BridgeReport, RunningBridge};
pub use encoder::{Encoder, Outgoing};
pub use feed::{BuildBus, FeedCounters, MirrorFeed};
pub use mirror::{run_mirror, run_mirror_with, MirrorConfig};
pub use verify::{SymbolFigures, Verifier};

/// Why the bridge or the mirror could not run.
#[derive(Debug, thiserror::Error)]
pub enum NatsError {
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("cannot start the bridge thread: {0}")]
    Spawn(std::io::Error),
    #[error("the bridge thread panicked")]
    Panicked,
    #[error("cannot connect to NATS: {0}")]
    Connect(String),
    #[error("JetStream stream: {0}")]
    Stream(String),
}
