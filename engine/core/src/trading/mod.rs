//! Live order entry's state on the engine core, with no I/O.
pub mod orders;
pub mod risk;
