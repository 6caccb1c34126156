//! Live order entry on the engine core, with no I/O: the order-entry request writer
//! ([`writer`]), the engine's client order ids ([`cl_ord_id`]), a model of Kraken's per-pair
//! trading rate counter ([`rate`]), the table of orders in flight ([`orders`]), pre-trade risk
//! arithmetic ([`risk`]) and the order of the pre-trade checks ([`pretrade`], shared with the
//! deterministic replay's paper venue), the classification of the venue's error texts
//! ([`venue_error`]), and the session that joins them ([`session`]): strategies' requests in, checked and encoded
//! requests and order updates out; execution reports in, order updates, positions and
//! reconciliation out.
//!
//! Invariants: nothing here allocates after construction, panics on any input, reads a clock,
//! performs I/O or uses floating point; time is always given by the caller in nanoseconds, and
//! prices, quantities and counters are integers. It never holds a secret beyond the session
//! token inside [`writer::OrderWriter`], which never appears in any error or `Debug` output.

pub mod cl_ord_id;
pub mod orders;
pub mod pretrade;
pub mod rate;
pub mod risk;
pub mod session;
pub mod venue_error;
pub mod writer;
