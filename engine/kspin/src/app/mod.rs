//! The `kspin` commands. These run off the engine core: they parse arguments, read files, print
//! and allocate as they like, and call into the engine crates for the real work.

pub mod backtest;
pub mod causes;
pub mod logging;
pub mod mirror;
pub mod nats;
pub mod operators;
pub mod precision;
pub mod record;
pub mod replay;
pub mod replay_plot;
pub mod replay_report;
pub mod replay_text;
pub mod run;
pub mod signals;
pub mod sim;
pub mod soak;
pub mod top;
pub mod trading;
