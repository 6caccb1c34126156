//! kspin-core: the engine's pipeline with no I/O, no clock and no threads.
//!
//! Owns Kraken v2 decoding ([`kraken`]), the fixed-capacity order books and their CRC32
//! ([`book`]), and the per-symbol feed state machine that applies, verifies and publishes
//! ([`feed`]), joined by the one entry every frame takes, [`Pipeline::on_frame`]; and the pure
//! building blocks of order entry ([`trading`]). Invariants: after construction nothing here
//! allocates for a frame, never panics on input (every error is a typed, counted value), never
//! reads a clock, never performs a syscall and never formats. Time and stage stamps are given to
//! it by the caller.

pub mod book;
pub mod feed;
pub mod kraken;
pub mod pipeline;
pub mod trading;

pub use pipeline::{FrameKind, FrameOutcome, FrameSink, Pipeline, PipelineCounters};
