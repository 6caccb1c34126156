//! The engine core's runtime: the busy-polling loop, reconnect timing and the run summary.

pub mod backoff;
