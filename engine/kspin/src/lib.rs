//! kspin: a single-threaded, busy-polling market-data and trading engine for Kraken spot.
//!
//! This crate is the `kspin` executable's library: the commands ([`app`]), the TOML
//! configuration ([`config`]), and re-exports of the stage crates under the names the commands
//! and users know them by: [`kraken`], [`book`] and [`feed`] (`kspin-core`), [`net`]
//! (`kspin-net`), [`runtime`] and [`capture`] (`kspin-runtime`), [`bus`] (`kspin-host`), [`sim`]
//! (`kspin-sim`), and [`testing`] (`kspin-host`'s strategy test harness, so a crate that depends
//! on `kspin` and `kspin-api` tests its strategy with `kspin::testing::TestHost`). It never runs
//! on the engine core itself: it parses, prints and allocates freely, and hands the core
//! everything it needs at start-up.

pub mod app;
pub mod config;

pub use kspin_core::{book, feed, kraken};
pub use kspin_host as bus;
pub use kspin_host::testing;
pub use kspin_net as net;
pub use kspin_runtime as runtime;
pub use kspin_runtime::capture;
pub use kspin_sim as sim;

mod cli;
pub mod strategies;

pub use cli::{main_with, run_with};
pub use kspin_api::Registry;

/// A [`Registry`] holding every built-in strategy (`kspin strategies` lists them); add your own
/// with [`Registry::register`] and pass it to [`main_with`].
pub fn builtin_registry() -> Registry {
    kspin_strategies::builtins()
}
