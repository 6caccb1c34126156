//! [`Context`]: everything a strategy can ask of its host while handling an event.
//!
//! The host (the engine's strategy host, on its own thread under `kspin run` or on the test
//! thread in `kspin_host::testing::TestHost`) implements it over its replica books, the intent
//! ring, the log ring and its timer wheel; the strategy receives it as `&mut dyn Context`.
//! Invariants every implementation keeps: no method allocates or blocks; [`Context::book`] shows
//! each book exactly as of the event being handled; a full ring is reported
//! ([`SubmitError::RingFull`]) or counted (logs), never waited on.

use crate::book_view::BookView;
use crate::event::TimerId;
use crate::fixed::{Price, Qty};
use crate::log::LogRecord;
use crate::order::{ClientOrderId, OrderIntent, SubmitError};
use crate::symbol::{SymbolId, SymbolInfo};
use core::fmt;
use core::time::Duration;

/// Timers a host keeps per strategy; [`Context::set_timer`] with more distinct ids fails.
pub const MAX_TIMERS: usize = 8;

/// Why [`Context::set_timer`] refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimerError {
    /// [`MAX_TIMERS`] other timers are pending.
    TooMany,
}

impl fmt::Display for TimerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimerError::TooMany => write!(f, "more than {MAX_TIMERS} pending timers"),
        }
    }
}

impl std::error::Error for TimerError {}

/// The host as seen from a strategy.
pub trait Context {
    /// The symbol table; `symbols()[i].id == SymbolId(i)`.
    fn symbols(&self) -> &[SymbolInfo];

    /// The book of `symbol` as of the event being handled, or `None` for an id outside the table.
    fn book(&self, symbol: SymbolId) -> Option<&dyn BookView>;

    /// Sends an order intent into the intent ring. The returned id identifies every
    /// [`crate::OrderUpdate`] about it.
    fn submit(&mut self, intent: OrderIntent) -> Result<ClientOrderId, SubmitError>;

    /// Asks for an open order to be cancelled; the answer comes as an [`crate::OrderUpdate`]
    /// (`Cancelled`, or `Rejected(UnknownOrder)`).
    fn cancel(&mut self, symbol: SymbolId, id: ClientOrderId) -> Result<(), SubmitError>;

    /// Changes an open order: `qty` is its new total quantity (filled part included), `price`
    /// its new limit price or [`Price::ZERO`] to keep it. The answer is an
    /// [`crate::OrderUpdate`] (`Amended`, or `Rejected`).
    fn amend(
        &mut self,
        symbol: SymbolId,
        id: ClientOrderId,
        price: Price,
        qty: Qty,
    ) -> Result<(), SubmitError>;

    /// Cancels every open order of this strategy, on `symbol` or on every symbol; each
    /// cancelled order is answered `Cancelled`.
    fn cancel_all(&mut self, symbol: Option<SymbolId>) -> Result<(), SubmitError>;

    /// Sends 2 to [`crate::MAX_BATCH`] orders of one symbol at once (Kraken `batch_add`: one
    /// request, one rate-limit charge of n/2). All enter the ring or none does; `ids[i]` gets
    /// the id of `intents[i]` (`ids` must be at least as long).
    fn submit_batch(
        &mut self,
        intents: &[OrderIntent],
        ids: &mut [ClientOrderId],
    ) -> Result<(), SubmitError>;

    /// Queues a log record (the host stamps [`LogRecord::tsc`]). When the log ring is full the
    /// record is dropped and counted.
    fn log(&mut self, record: LogRecord);

    /// The host's TSC now (quanta raw ticks; the harness uses nanoseconds).
    fn now_tsc(&self) -> u64;
    /// The host's time now, in nanoseconds since the Unix epoch: the wall clock live; the
    /// scripted clock in the test harness; the replayed events' time in a deterministic replay.
    fn now_ns(&self) -> u64;
    /// A TSC stamp of this host ([`crate::Event::recv_tsc`], [`crate::Event::publish_tsc`],
    /// [`Context::now_tsc`]) as nanoseconds since the Unix epoch, on the same scale as
    /// [`Context::now_ns`].
    fn tsc_to_ns(&self, tsc: u64) -> u64;

    /// Fires [`crate::EventKind::Timer`] with `id` once `after` has elapsed on the host's clock
    /// (see [`Context::now_ns`]): the wall clock live, so a live run's timers do not line up
    /// exactly with its market events; the replayed exchange time in a deterministic replay,
    /// where they are reproducible. Measure windows with [`crate::Event::time_ns`] to decide
    /// the same live and replayed. Setting a pending id again moves it.
    fn set_timer(&mut self, id: TimerId, after: Duration) -> Result<(), TimerError>;

    /// Cancels a pending timer (no effect if none).
    fn cancel_timer(&mut self, id: TimerId);

    /// The table entry for `id`.
    #[inline]
    fn symbol(&self, id: SymbolId) -> Option<&SymbolInfo> {
        self.symbols().get(id.index())
    }
}
