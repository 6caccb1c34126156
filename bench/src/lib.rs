//! kspin-bench: the end-to-end harness behind `kspin bench` ([`harness`]) and shared helpers for
//! the criterion benchmarks: realistic Kraken v2 frame streams with valid checksums ([`streams`]).
//!
//! The streams come from the simulated venue's own order-flow model (`kspin_sim`), so every
//! update carries the checksum a correct client must compute, refills from beyond the depth
//! included. They are generated before any timing starts; nothing here is on a measured path.

pub mod harness;
pub mod streams;
