//! kspin: a single-threaded, busy-polling market-data and trading engine for Kraken spot.
//!
//! Modules follow the data flow of DESIGN.md: `kraken` decodes frames into a preallocated arena,
//! `feed` keeps per-symbol subscription state and decides what a checksum result means, `book`
//! holds the fixed-capacity order books and their checksum, `runtime` busy-polls the connection.
//! `app` holds the commands. Everything that runs on the engine core is allocation-free after
//! start-up.

pub mod app;
pub mod book;
pub mod bus;
pub mod capture;
pub mod config;
pub mod feed;
pub mod kraken;
pub mod net;
pub mod runtime;
pub mod sim;
