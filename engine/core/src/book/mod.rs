//! Order books: fixed-capacity sorted arrays per side ([`BookSide`]), the per-symbol
//! [`OrderBook`] with Kraken's apply/truncate rules, and the v2 CRC32 [`checksum`] (memoised per
//! book by `checksum_cache`).
//!
//! Owns book state only; it never decodes, never allocates after construction, and never
//! publishes: the feed decides what a checksum mismatch means.

pub mod checksum;
mod checksum_cache;
mod levels;
pub mod order_book;
pub mod side;

pub use checksum::{book_checksum, order_checksum, CHECKSUM_LEVELS};
pub use levels::{FixedLevel, LevelBuf};
pub use order_book::{ApplyMode, ApplyReport, BookError, OrderBook, SUPPORTED_DEPTHS};
pub use side::{BookSide, LevelChange, SideKind};
