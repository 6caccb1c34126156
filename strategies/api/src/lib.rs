//! The kspin strategy contract: everything a strategy author needs, and nothing of the engine.
//!
//! Owns the fixed-point number types ([`Price`], [`Qty`], [`Decimal`]), the [`Strategy`] trait,
//! the events it receives ([`Event`]), the [`Context`] it acts through (book views, order
//! intents, log records, timers), strategy [`Params`], and — for hosts only — the wire events of
//! the engine → strategy ring ([`wire`]) and the replica state machine ([`replica`]).
//! Invariants: no dependencies beyond `std`; every event is a `Copy` value of at most
//! [`EVENT_SIZE`] bytes and every wire event a 60-byte `Copy` value (with a ring slot's 4-byte
//! sequence number, one 64-byte cache line); no allocation in any per-event path; no `f64` in
//! any price or quantity. It never does I/O.
//!
//! A strategy in brief:
//!
//! ```
//! use kspin_api::{Context, Event, EventKind, LogRecord, LogSchema, Strategy, StrategySummary, SymbolId};
//!
//! static TOP: LogSchema = LogSchema::new("top", ["bid", "ask", "", ""]);
//!
//! struct Top { symbol: SymbolId, updates: u64 }
//!
//! impl Strategy for Top {
//!     fn on_event(&mut self, event: &Event, ctx: &mut dyn Context) {
//!         if let EventKind::BookChanged(c) = event.kind {
//!             if c.symbol != self.symbol { return; }
//!             self.updates += 1;
//!             let Some(book) = ctx.book(c.symbol) else { return };
//!             if let (Some((bid, _)), Some((ask, _))) = (book.best_bid(), book.best_ask()) {
//!                 let s = book.price_scale();
//!                 ctx.log(LogRecord::new(&TOP, Some(c.symbol)).value(bid.0, s).value(ask.0, s));
//!             }
//!         }
//!     }
//!     fn summary(&self) -> StrategySummary {
//!         StrategySummary::new().count("updates", self.updates)
//!     }
//! }
//! ```

#![forbid(unsafe_code)]

pub mod book_view;
pub mod context;
pub mod event;
pub mod fixed;
pub mod log;
pub mod order;
pub mod order_update;
pub mod params;
pub mod registry;
pub mod replica;
pub mod side;
pub mod strategy;
pub mod symbol;
pub mod timer;
pub mod wire;

pub use book_view::{BookView, MICROPRICE_EXTRA_DECIMALS};
pub use context::{Context, TimerError, MAX_TIMERS};
pub use event::{
    BookChange, BookStale, ConnectionStatus, Event, EventKind, Link, LinkState, StaleReason,
    SystemStatus, Ticker, TimerFired, TimerId, Trade, TradeOrderType, EVENT_SIZE,
};
pub use fixed::{Decimal, FixedDisplay, FixedError, Price, Qty};
pub use log::{LogRecord, LogSchema, MAX_LOG_VALUES};
pub use order::{
    ClientOrderId, OrderIntent, OrderMessage, OrderRequest, OrderType, SubmitError, TimeInForce,
    MAX_BATCH, ORDER_SEQ_BITS,
};
pub use order_update::{OrderStatus, OrderUpdate, RejectReason, RiskReason};
pub use params::{ParamError, Params};
pub use registry::{BuildError, Registration, Registry};
pub use side::{BookSide, Side};
pub use strategy::{Figure, Strategy, StrategySummary, MAX_FIGURES};
pub use symbol::{SymbolId, SymbolInfo};
pub use timer::TimerTable;
