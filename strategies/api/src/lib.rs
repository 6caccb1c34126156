//! The kspin strategy contract: everything a strategy author needs, and nothing of the engine.
//!
//! Owns the fixed-point number types ([`Price`], [`Qty`], [`Decimal`]) shared by the engine and
//! the strategies. Invariants: no dependencies, no allocation in any per-event path, no `f64` in
//! any price or quantity. It never does I/O.

pub mod fixed;

pub use fixed::{Decimal, FixedDisplay, FixedError, Price, Qty};
