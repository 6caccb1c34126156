//! Kraken spot WebSocket v2: decoding every market-data frame, writing requests, and reading
//! RFC3339 timestamps.
//!
//! Owns the decoder ([`Decoder`] → [`Message`]), the request writers ([`request`]) and the
//! timestamp parser ([`time`]). Invariants: after [`Decoder::new`] nothing here allocates for a
//! valid frame; prices and quantities are exact [`kspin_api::Decimal`]s parsed from the number
//! text (never `f64`); field order is never relied on and unknown fields are skipped; bad input
//! is a typed [`DecodeError`], never a panic. It never does I/O and never logs.
//!
//! The general decoder is sonic-rs driving serde visitors that write into a preallocated arena
//! (`visit.rs`), behind a nesting guard (`nesting.rs`) that keeps any frame from exhausting the
//! stack. Beside it, a hand-written scanner (`scan.rs`) takes the two hottest frame kinds, book
//! and trade, in their plain shape, and declines anything else to sonic-rs; a differential test
//! proves both give identical results (why the scanner exists: `bench/results/decode.md`).

mod arena;
mod cursor;
mod decode;
mod error;
pub(crate) mod json_out;
mod message;
mod nesting;
mod plain_level;
mod plain_trade;
mod private;
pub mod request;
mod scalar;
mod scan;
pub mod time;
mod views;
mod visit;
mod visit_private;

pub use decode::{Decoder, DecoderLimits};
pub use error::DecodeError;
pub use message::{
    AckMsg, BookData, BookMsg, Candle, InstrumentMsg, Level, Message, OhlcMsg, OrdType, PairInfo,
    PongMsg, RequestMsg, Side, StatusMsg, SystemStatus, Ticker, TickerMsg, Trade, TradeMsg,
    UpdateKind,
};
pub use nesting::MAX_NESTING_LIMIT;
pub use private::{
    Balance, BalancesMsg, ExecType, Execution, ExecutionsMsg, Liquidity, OrderMethod, OrderRef,
    OrderResponseMsg, OrderState,
};
