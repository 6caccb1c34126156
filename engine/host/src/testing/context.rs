//! The harness as a [`Context`], for tests that call the strategy's context directly (outside
//! `on_event`): every call goes to the strategy host's own context; requests enter the real
//! intent ring and the engine takes them at once (so they show in [`TestHost::orders`]); their
//! answers reach the strategy at the next scripted input.
//!
//! Owns nothing. Invariants: as for the host's context; nothing is added but the engine's turn
//! after a request and the log drain after a record.

use core::time::Duration;

use kspin_api::{
    BookView, ClientOrderId, Context, LogRecord, OrderIntent, Price, Qty, SubmitError, SymbolId,
    SymbolInfo, TimerError, TimerId,
};

use super::TestHost;

impl Context for TestHost {
    fn symbols(&self) -> &[SymbolInfo] {
        &self.symbols
    }

    fn book(&self, symbol: SymbolId) -> Option<&dyn BookView> {
        self.runner.context().book(symbol)
    }

    fn submit(&mut self, intent: OrderIntent) -> Result<ClientOrderId, SubmitError> {
        let submitted = self.runner.context_mut().submit(intent);
        self.engine_turn();
        submitted
    }

    fn cancel(&mut self, symbol: SymbolId, id: ClientOrderId) -> Result<(), SubmitError> {
        let cancelled = self.runner.context_mut().cancel(symbol, id);
        self.engine_turn();
        cancelled
    }

    fn amend(
        &mut self,
        symbol: SymbolId,
        id: ClientOrderId,
        price: Price,
        qty: Qty,
    ) -> Result<(), SubmitError> {
        let amended = self.runner.context_mut().amend(symbol, id, price, qty);
        self.engine_turn();
        amended
    }

    fn cancel_all(&mut self, symbol: Option<SymbolId>) -> Result<(), SubmitError> {
        let cancelled = self.runner.context_mut().cancel_all(symbol);
        self.engine_turn();
        cancelled
    }

    fn submit_batch(
        &mut self,
        intents: &[OrderIntent],
        ids: &mut [ClientOrderId],
    ) -> Result<(), SubmitError> {
        let submitted = self.runner.context_mut().submit_batch(intents, ids);
        self.engine_turn();
        submitted
    }

    fn log(&mut self, record: LogRecord) {
        self.runner.context_mut().log(record);
        self.drain_logs();
    }

    fn now_tsc(&self) -> u64 {
        self.runner.context().now_tsc()
    }

    fn now_ns(&self) -> u64 {
        self.runner.context().now_ns()
    }

    fn tsc_to_ns(&self, tsc: u64) -> u64 {
        self.runner.context().tsc_to_ns(tsc)
    }

    fn set_timer(&mut self, id: TimerId, after: Duration) -> Result<(), TimerError> {
        self.runner.context_mut().set_timer(id, after)
    }

    fn cancel_timer(&mut self, id: TimerId) {
        self.runner.context_mut().cancel_timer(id);
    }
}
