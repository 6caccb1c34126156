//! Live order entry's pure building blocks: the order-entry request writer ([`writer`]), the
//! engine's client order ids ([`cl_ord_id`]) and a model of Kraken's per-pair trading rate
//! counter ([`rate`]).
//!
//! Invariants: nothing here allocates after construction, panics on any input, reads a clock,
//! performs I/O or uses floating point; time is always given by the caller in nanoseconds, and
//! prices, quantities and counters are integers. It never holds a secret beyond the session
//! token inside [`writer::OrderWriter`], which never appears in any error or `Debug` output.

pub mod cl_ord_id;
pub mod rate;
pub mod writer;
