//! What the harness records of a run — every event delivered to the strategy (through the
//! [`Recording`] adapter the host calls instead of the strategy), every wire event, every
//! request the engine took from the intent ring, every log record drained from the log ring —
//! and the accessors tests read them with.
//!
//! Invariants: recordings are in the order things happened and only grow (except
//! [`TestHost::take_log_lines`]); pushing into them allocates nothing within the room
//! [`TestHost::reserve`] made. Formatting (`log_lines`) happens only when a test asks.

use kspin_api::wire::WireEvent;
use kspin_api::{
    ClientOrderId, Context, Event, LogRecord, OrderIntent, OrderMessage, OrderRequest, Strategy,
    StrategySummary,
};

use super::TestHost;
use crate::publish::LOG_RING_CAPACITY;

/// The strategy as the host sees it in the harness: each delivered event is recorded first.
pub(super) struct Recording<'a> {
    pub(super) strategy: &'a mut dyn Strategy,
    pub(super) events: &'a mut Vec<Event>,
}

impl Strategy for Recording<'_> {
    fn on_start(&mut self, ctx: &mut dyn Context) {
        self.strategy.on_start(ctx);
    }

    fn on_event(&mut self, event: &Event, ctx: &mut dyn Context) {
        self.events.push(*event);
        self.strategy.on_event(event, ctx);
    }

    fn on_stop(&mut self, ctx: &mut dyn Context) {
        self.strategy.on_stop(ctx);
    }

    fn summary(&self) -> StrategySummary {
        self.strategy.summary()
    }
}

impl TestHost {
    /// Every request the engine took from the intent ring, in order: the strategy's orders and
    /// cancels, and the host's own `Resnapshot` requests after a replica diverged.
    pub fn orders(&self) -> &[OrderMessage] {
        &self.orders
    }

    /// The new-order intents with their ids.
    pub fn intents(&self) -> Vec<(ClientOrderId, OrderIntent)> {
        self.orders
            .iter()
            .filter_map(|m| match m.request {
                OrderRequest::New { client_id, intent } => Some((client_id, intent)),
                _ => None,
            })
            .collect()
    }

    /// The log records drained from the strategy's log ring.
    pub fn logs(&self) -> &[LogRecord] {
        &self.logs
    }

    /// The log records formatted as the engine's log drain formats them.
    pub fn log_lines(&self) -> Vec<String> {
        self.logs
            .iter()
            .map(|r| r.display(&self.symbols).to_string())
            .collect()
    }

    /// Removes and returns the formatted log lines.
    pub fn take_log_lines(&mut self) -> Vec<String> {
        let lines = self.log_lines();
        self.logs.clear();
        lines
    }

    /// Events delivered to the strategy so far (timers included).
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// Wire events the host received so far (from the ring, and through [`Self::feed`]).
    pub fn wire(&self) -> &[WireEvent] {
        &self.wire
    }

    /// Takes what waits in the strategy's log ring, as the monitor thread's drain does.
    pub(super) fn drain_logs(&mut self) {
        let logs = &mut self.logs;
        self.log_drain
            .drain(LOG_RING_CAPACITY, |_, record, _| logs.push(*record));
    }
}
