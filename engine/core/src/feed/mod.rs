//! The feed: subscription state per symbol, precision, and the apply → checksum → publish or
//! resync decision for every `book` message (see [`book_feed`]).
//!
//! Shared unchanged by the live engine and `kspin replay` (through [`crate::pipeline`]), so a
//! replay exercises exactly the code the engine core runs. Never does I/O: outgoing requests are asked of the [`FeedSink`].

pub mod book_feed;
pub mod sink;
pub mod state;
pub mod symbols;

pub use book_feed::{Feed, FeedOptions, FeedSink, NullSink, StaleReason, SymbolBook};
pub use state::{
    FeedCounters, FeedMode, MismatchAction, MismatchPolicy, RejectReason, SubscriptionState,
    SymbolCounters, REJECT_REASONS,
};
pub use symbols::{PrecisionSource, SymbolEntry, SymbolTable, MAX_SYMBOLS};
