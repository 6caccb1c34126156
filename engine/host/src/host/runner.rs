//! [`StrategyRunner`]: the strategy side of one lane — the event ring's consumer end, the
//! [`WireAssembler`] and the [`HostContext`] — and the one turn of work that runs a strategy:
//! [`StrategyRunner::poll`] hands a batch of wire events to [`HostContext::handle`], fires due
//! timers and sends due resnapshot requests.
//!
//! The strategy thread ([`super::spawn_strategy`]) calls `poll` in its busy loop; the test
//! harness ([`crate::testing`]) calls the very same `poll` on the test thread, with a mocked
//! clock. Nothing here knows which: there is one strategy host. Invariants: as for
//! [`HostContext`] — after construction nothing allocates, locks or blocks; the observer a caller
//! passes sees every wire event before it is handled, in ring order. It never spawns, pins or
//! sleeps (the thread's business).

use kspin_api::replica::{Assembled, WireAssembler};
use kspin_api::wire::WireEvent;
use kspin_api::{Context, LogRecord, OrderMessage, Strategy, SymbolInfo};
use kspin_ring::{Consumer, Producer};
use kspin_runtime::stages::StageHistograms;
use quanta::Clock;

use super::context::{CallbackTimer, HostContext};
use super::{EventStamps, HostCounters};
use crate::replica::Replica;

/// Wire events taken from the ring per poll.
const POLL_BATCH: usize = 64;

/// One strategy's host state and its loop turn; see the module docs.
pub(crate) struct StrategyRunner {
    events: Consumer<WireEvent>,
    assembler: WireAssembler,
    ctx: HostContext,
}

impl StrategyRunner {
    /// The host of strategy `index` over its three rings, stamping and timing with `clock`.
    /// Start-up only: allocates the replicas and the assembler.
    pub(crate) fn new(
        index: usize,
        symbols: Vec<SymbolInfo>,
        events: Consumer<WireEvent>,
        intents: Producer<OrderMessage>,
        logs: Producer<LogRecord>,
        clock: Clock,
    ) -> StrategyRunner {
        StrategyRunner {
            assembler: WireAssembler::new(symbols.len()),
            ctx: HostContext::new(index, symbols, intents, logs, clock),
            events,
        }
    }

    /// Makes raw tick `tsc` of the clock correspond to Unix time `unix_ns` (for a scripted clock
    /// that counts nanoseconds since the epoch).
    pub(crate) fn set_epoch(&mut self, tsc: u64, unix_ns: u64) {
        self.ctx.set_epoch(tsc, unix_ns);
    }

    /// Turns on the stage histograms and a per-event stamp log of `capacity` entries (the
    /// strategy thread; allocated here, never grown).
    pub(super) fn record_stages(&mut self, event_stamp_capacity: usize) {
        self.ctx.stages = StageHistograms::new().ok();
        self.ctx.event_stamps = Vec::with_capacity(event_stamp_capacity);
    }

    /// Times every callback with `timer`'s own clock (the deterministic replay, whose strategy
    /// clock is scripted). Start-up only.
    pub(crate) fn time_callbacks(&mut self, timer: CallbackTimer) {
        self.ctx.callback_timer = Some(timer);
    }

    /// The callback durations measured so far (ns), when [`Self::time_callbacks`] was called.
    pub(crate) fn callback_histogram(&self) -> Option<&hdrhistogram::Histogram<u64>> {
        self.ctx
            .callback_timer
            .as_ref()
            .map(CallbackTimer::histogram)
    }

    /// Calls `on_start`.
    pub(crate) fn start(&mut self, strategy: &mut dyn Strategy) {
        self.ctx.trigger = 0;
        strategy.on_start(&mut self.ctx);
    }

    /// One turn of the host loop: up to a batch of wire events (each shown to `observe`, then
    /// handled), then due timers, then due resnapshot requests. Returns the wire events taken.
    #[inline]
    pub(crate) fn poll(
        &mut self,
        strategy: &mut dyn Strategy,
        observe: impl FnMut(&WireEvent),
    ) -> usize {
        let taken = self.take(strategy, observe);
        self.ctx.fire_timers(strategy);
        self.ctx.retry_resnapshots();
        taken
    }

    /// Handles what is already in the ring (the stop path: no timers).
    pub(crate) fn drain(
        &mut self,
        strategy: &mut dyn Strategy,
        mut observe: impl FnMut(&WireEvent),
    ) {
        while self.take(strategy, &mut observe) != 0 {}
    }

    #[inline]
    fn take(&mut self, strategy: &mut dyn Strategy, mut observe: impl FnMut(&WireEvent)) -> usize {
        let StrategyRunner {
            events,
            assembler,
            ctx,
        } = self;
        events.pop_batch(
            |wire| {
                observe(&wire);
                ctx.handle(strategy, assembler, &wire);
            },
            POLL_BATCH,
        )
    }

    /// Handles one wire event that did not come through the ring (the harness injecting a
    /// hand-made wire sequence) exactly as a popped one.
    pub(crate) fn handle(&mut self, strategy: &mut dyn Strategy, wire: &WireEvent) -> Assembled {
        self.ctx.handle(strategy, &mut self.assembler, wire)
    }

    /// Calls `on_stop`.
    pub(crate) fn stop(&mut self, strategy: &mut dyn Strategy) {
        self.ctx.trigger = 0;
        strategy.on_stop(&mut self.ctx);
    }

    /// The strategy's context (what `on_event` is given).
    pub(crate) fn context(&self) -> &dyn Context {
        &self.ctx
    }

    pub(crate) fn context_mut(&mut self) -> &mut dyn Context {
        &mut self.ctx
    }

    /// The replica of symbol `index`.
    pub(crate) fn replica(&self, index: usize) -> Option<&Replica> {
        self.ctx.replicas.get(index)
    }

    pub(crate) fn replica_mut(&mut self, index: usize) -> Option<&mut Replica> {
        self.ctx.replicas.get_mut(index)
    }

    /// The earliest pending timer's due tick (`u64::MAX`: none).
    pub(crate) fn next_timer_due(&self) -> u64 {
        self.ctx.timers.next_due()
    }

    /// Wire events waiting in the ring.
    pub(crate) fn events_waiting(&self) -> usize {
        self.events.len()
    }

    /// Requests in the intent ring the engine has not taken yet.
    pub(crate) fn intents_waiting(&self) -> usize {
        self.ctx.intents.capacity() - self.ctx.intents.free_slots()
    }

    /// Free slots of the intent ring.
    pub(crate) fn intent_slots_free(&self) -> usize {
        self.ctx.intents.free_slots()
    }

    /// Pushes `message` into the intent ring as the host does (the harness's ring filler).
    pub(crate) fn push_intent(&mut self, message: OrderMessage) -> bool {
        self.ctx.intents.try_push(message).is_ok()
    }

    /// The counters so far, assembly faults included.
    pub(crate) fn counters(&self) -> HostCounters {
        HostCounters {
            assembly_faults: self.assembler.faults(),
            ..self.ctx.counters
        }
    }

    /// The counters, stage histograms and stamp log, once the strategy stopped.
    pub(crate) fn finish(mut self) -> (HostCounters, Option<StageHistograms>, Vec<EventStamps>) {
        (
            self.counters(),
            self.ctx.stages.take(),
            core::mem::take(&mut self.ctx.event_stamps),
        )
    }
}
