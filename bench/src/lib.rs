//! Shared helpers for kspin's benchmarks: realistic Kraken v2 frame streams with valid checksums.
//!
//! The streams come from the simulated venue's own order-flow model (`kspin::sim`), so every
//! update carries the checksum a correct client must compute, refills from beyond the depth
//! included. They are generated before any timing starts; nothing here is on a measured path.

pub mod streams;
