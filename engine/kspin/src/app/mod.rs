//! The `kspin` commands. These run off the engine core: they parse arguments, read files, print
//! and allocate as they like, and call into the engine crates for the real work.

pub mod mirror;
pub mod nats;
pub mod precision;
pub mod record;
pub mod replay;
pub mod replay_report;
pub mod run;
pub mod signals;
pub mod sim;
pub mod trading;
