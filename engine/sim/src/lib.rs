//! kspin-sim: a simulated Kraken spot venue. A loopback WebSocket server (`ws://` and `wss://`)
//! speaking Kraken's v2 public and authenticated protocols closely enough that the engine cannot
//! tell the difference, with a seeded order-flow model, valid checksums at every depth, a REST
//! token endpoint, order entry with a matching engine, and fault injection.
//!
//! Owns the market model ([`market`]), the per-depth views that derive each subscription's frames
//! ([`depth_view`]) over the venue's own reference book ([`ref_book`]: an ordered map per side and
//! the checksum computed from the decimal text on the wire, sharing no code with `kspin-core`, so
//! tests against the venue check the engine against something it did not compute itself), frame
//! text ([`frames`]), requests ([`requests`]), connections ([`conn`]), TLS ([`tls`]), pacing
//! ([`pacer`]), the send-time side channel for latency benchmarks ([`send_stamps`]), the
//! reference book after every book frame for soaks ([`book_tap`]), faults
//! ([`fault`]), the venue thread ([`venue_loop`]) and its handle ([`handle`]); and the trading
//! side ([`trading`]): Kraken's REST token endpoint, the authenticated WebSocket endpoint with
//! `executions`, `balances` and order entry, and a matching engine that trades one simulated
//! account against the market. Invariants: binds 127.0.0.1 only; the same seed gives the same
//! book and trade events, with or without trading; what a correct client holds can always be
//! read back ([`VenueHandle::book_levels`], [`VenueHandle::open_orders`],
//! [`VenueHandle::balances`], [`VenueHandle::fills`]). It is a test tool, not the engine core:
//! it runs on its own thread and may allocate and lock, but never panics on client input.

#![forbid(unsafe_code)]

/// Book depths Kraken's v2 `book` channel accepts (PROTOCOL.md §1.4).
pub const SUPPORTED_DEPTHS: [u16; 5] = [10, 25, 100, 500, 1000];

pub mod book_tap;
pub mod config;
pub mod conn;
pub mod depth_view;
pub mod fault;
pub mod frames;
pub mod handle;
pub mod market;
pub mod pacer;
pub mod pairs;
pub mod ref_book;
pub mod requests;
pub mod rng;
pub mod send_stamps;
pub mod state;
pub mod stats;
pub mod stream;
pub mod tls;
pub mod trading;
pub mod venue_loop;

pub use book_tap::{BookTap, TapEntry};
pub use config::{SimConfig, SimError};
pub use fault::{FaultKind, FaultParseError, FaultSpec, FaultWhen};
pub use handle::{MantissaLevels, SimVenue, VenueHandle};
pub use pacer::{Pacer, PacingMode};
pub use pairs::{instruments, SimPair};
pub use ref_book::RefBook;
pub use send_stamps::SendStamps;
pub use stats::VenueStats;
pub use trading::{
    Balance, Fill, LedgerEntry, Liquidity, Order, OrderStatus, OrderType, Side, SimTradingConfig,
    TimeInForce, TradingTier,
};
