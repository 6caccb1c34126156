//! kspin: a single-threaded, busy-polling market-data and trading engine for Kraken spot.
//!
//! Modules follow the data flow of DESIGN.md: `book` holds the fixed-capacity order books and
//! their checksum. Everything that runs on the engine core is allocation-free after start-up.

pub mod book;
pub mod sim;
