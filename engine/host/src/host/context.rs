//! [`HostContext`]: what one strategy's [`Context`] is backed by — its replicas, its intent and
//! log rings, its clock and timers, the resnapshot requests of diverged replicas, its counters,
//! stage histograms, optional per-event stamp log and optional callback timer (a real clock
//! beside a scripted one) — and the handling of each wire event.
//!
//! The clock is injected: the strategy thread passes `Clock::new()` (the TSC), the test harness
//! `Clock::mock()`, whose raw ticks are nanoseconds (the duration → tick calibration is then
//! exactly 1:1), so timers fire on scripted time through this same code.
//!
//! Invariants: after construction nothing here allocates (the stamp log only grows below its
//! preallocated capacity), locks or blocks; a full intent ring refuses (`SubmitError::RingFull`)
//! or defers (resnapshots), a full log ring drops and counts.

use core::time::Duration;

use kspin_api::replica::{Assembled, WireAssembler};
use kspin_api::wire::WireEvent;
use kspin_api::{
    BookView, ClientOrderId, Context, Event, EventKind, LogRecord, OrderIntent, OrderMessage,
    OrderRequest, Price, Qty, Strategy, SubmitError, SymbolId, SymbolInfo, TimerError, TimerFired,
    TimerId, TimerTable, MAX_BATCH, ORDER_SEQ_BITS,
};
use kspin_ring::Producer;
use quanta::Clock;

use super::{EventStamps, HostCounters};
use crate::replica::Replica;
use kspin_runtime::stages::{FrameStamps, Stage, StageHistograms};

/// Raw-tick span used to calibrate duration → ticks (2^32 ticks ≈ 1–2 s of TSC at GHz rates:
/// long enough that the integer ratio is precise to well under a part per million).
const CALIBRATION_TICKS: u64 = 1 << 32;
/// Least time between two resnapshot requests for one symbol: a replica diverges only through a
/// bug, and one that keeps diverging must not turn into a snapshot storm on the engine core.
const RESNAPSHOT_INTERVAL: Duration = Duration::from_secs(1);
/// The id the host gives the `seq`-th order (from 1) of strategy `index`: `(index + 1) << 40 | seq`,
/// unique within a run ([`ClientOrderId::for_strategy`]).
pub(crate) const fn client_order_id(index: usize, seq: u64) -> ClientOrderId {
    ClientOrderId::for_strategy(index, seq)
}

/// The [`Context`] of one strategy thread.
pub(super) struct HostContext {
    pub(super) symbols: Vec<SymbolInfo>,
    pub(super) replicas: Vec<Replica>,
    pub(super) intents: Producer<OrderMessage>,
    pub(super) logs: Producer<LogRecord>,
    pub(super) clock: Clock,
    /// Nanoseconds per [`CALIBRATION_TICKS`] raw ticks (0: raw ticks are nanoseconds).
    pub(super) calibration_ns: u64,
    /// A raw tick of `clock` and the Unix time (ns) it corresponds to: how TSC stamps become
    /// wall-clock nanoseconds.
    pub(super) epoch: (u64, u64),
    /// `recv_tsc` of the event being handled.
    pub(super) trigger: u64,
    /// `publish_tsc` of that event, and when this host took it (tick-to-trade stages).
    pub(super) trigger_publish: u64,
    pub(super) trigger_received: u64,
    /// The strategy's index in the bus (numbers its orders).
    pub(super) index: usize,
    pub(super) next_seq: u64,
    pub(super) timers: TimerTable,
    pub(super) counters: HostCounters,
    pub(super) stages: Option<StageHistograms>,
    /// Per-event stamp log; pushed only below its capacity, so it never reallocates.
    pub(super) event_stamps: Vec<EventStamps>,
    /// Per symbol: a resnapshot request waits (for ring room or its interval).
    pub(super) resnapshot_pending: Vec<bool>,
    /// Per symbol: the tick before which no further resnapshot request is sent.
    pub(super) resnapshot_after: Vec<u64>,
    pub(super) resnapshots_waiting: usize,
    /// Times each callback with a clock of its own (a deterministic replay scripts `clock`).
    pub(super) callback_timer: Option<CallbackTimer>,
}

/// The duration of every strategy callback, measured with a real clock while the strategy's own
/// clock is scripted (the deterministic replay). Allocated at start-up; recording never grows it.
pub(crate) struct CallbackTimer {
    clock: Clock,
    histogram: hdrhistogram::Histogram<u64>,
}

impl CallbackTimer {
    /// A timer reading `clock` (the TSC). Start-up only.
    pub(crate) fn new(clock: Clock) -> Result<CallbackTimer, hdrhistogram::CreationError> {
        Ok(CallbackTimer {
            clock,
            // 1 ns to 60 s at 3 significant digits.
            histogram: hdrhistogram::Histogram::new_with_bounds(1, 60_000_000_000, 3)?,
        })
    }

    /// Callback durations so far, ns.
    pub(crate) fn histogram(&self) -> &hdrhistogram::Histogram<u64> {
        &self.histogram
    }
}

impl HostContext {
    pub(super) fn new(
        index: usize,
        symbols: Vec<SymbolInfo>,
        intents: Producer<OrderMessage>,
        logs: Producer<LogRecord>,
        clock: Clock,
    ) -> HostContext {
        // A clock whose raw ticks are nanoseconds (a mock, or quanta's monotonic fallback)
        // converts 1:1, without the integer ratio.
        let calibration_ns = match clock.delta_as_nanos(0, CALIBRATION_TICKS) {
            CALIBRATION_TICKS => 0,
            ns => ns,
        };
        let n = symbols.len();
        let unix_ns = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos().min(u128::from(u64::MAX)) as u64);
        let epoch = (clock.raw(), unix_ns);
        HostContext {
            replicas: symbols.iter().map(Replica::new).collect(),
            symbols,
            intents,
            logs,
            clock,
            calibration_ns,
            epoch,
            trigger: 0,
            trigger_publish: 0,
            trigger_received: 0,
            index,
            next_seq: 1,
            timers: TimerTable::new(),
            counters: HostCounters::default(),
            stages: None,
            event_stamps: Vec::new(),
            resnapshot_pending: vec![false; n],
            resnapshot_after: vec![0; n],
            resnapshots_waiting: 0,
            callback_timer: None,
        }
    }

    /// Applies one wire event to the replicas, delivers what it yields, and asks the engine for
    /// the book again when the replica diverged. Returns what the assembler made of it.
    #[inline]
    pub(super) fn handle(
        &mut self,
        strategy: &mut dyn Strategy,
        assembler: &mut WireAssembler,
        wire: &WireEvent,
    ) -> Assembled {
        self.counters.events_received += 1;
        let assembled = assembler.apply(&mut self.replicas, wire);
        match assembled {
            Assembled::Deliver(event) => self.deliver(strategy, &event),
            Assembled::Diverged { event, .. } => {
                self.deliver(strategy, &event);
                if let EventKind::BookStale(stale) = event.kind {
                    self.request_resnapshot(stale.symbol);
                }
            }
            Assembled::Absorbed | Assembled::Rejected(_) => {}
        }
        assembled
    }

    #[inline]
    fn deliver(&mut self, strategy: &mut dyn Strategy, event: &Event) {
        self.trigger = event.recv_tsc;
        self.counters.events_delivered += 1;
        let received = self.clock.raw();
        self.trigger_publish = event.publish_tsc;
        self.trigger_received = received;
        let timed = self.callback_timer.as_ref().map(|t| t.clock.raw());
        strategy.on_event(event, self);
        let returned = self.clock.raw();
        if let (Some(start), Some(t)) = (timed, self.callback_timer.as_mut()) {
            let took = t.clock.delta_as_nanos(start, t.clock.raw());
            t.histogram.saturating_record(took.max(1));
        }
        if let Some(stages) = self.stages.as_mut() {
            // The engine's stamps travel in the event; both threads read the same invariant TSC.
            let mut stamps = FrameStamps::default();
            stamps.set(Stage::Read, event.recv_tsc);
            stamps.set(Stage::Published, event.publish_tsc);
            stamps.set(Stage::Received, received);
            stamps.set(Stage::Returned, returned);
            stages.record(&self.clock, &stamps);
        }
        if event.publish_tsc != 0 && self.event_stamps.len() < self.event_stamps.capacity() {
            self.event_stamps.push(EventStamps {
                recv_tsc: event.recv_tsc,
                publish_tsc: event.publish_tsc,
                received_tsc: received,
                returned_tsc: returned,
            });
        }
    }

    /// Makes raw tick `tsc` correspond to Unix time `unix_ns` (the test harness's scripted clock
    /// counts nanoseconds since the epoch: `(0, 0)`).
    pub(crate) fn set_epoch(&mut self, tsc: u64, unix_ns: u64) {
        self.epoch = (tsc, unix_ns);
    }

    /// `tsc` as ns since the Unix epoch.
    #[inline]
    pub(super) fn unix_ns(&self, tsc: u64) -> u64 {
        let (base_tsc, base_ns) = self.epoch;
        if tsc >= base_tsc {
            base_ns.saturating_add(self.clock.delta_as_nanos(base_tsc, tsc))
        } else {
            base_ns.saturating_sub(self.clock.delta_as_nanos(tsc, base_tsc))
        }
    }

    fn ticks(&self, after: Duration) -> u64 {
        let ns = after.as_nanos().min(u64::MAX as u128);
        if self.calibration_ns == 0 {
            return ns as u64;
        }
        let ticks = ns * CALIBRATION_TICKS as u128 / self.calibration_ns as u128;
        ticks.min(u64::MAX as u128) as u64
    }

    /// Fires due timers in due order (ties by id).
    #[inline]
    pub(super) fn fire_timers(&mut self, strategy: &mut dyn Strategy) {
        if self.timers.next_due() == u64::MAX {
            return;
        }
        let now = self.clock.raw();
        while let Some((id, due)) = self.timers.pop_due(now) {
            self.counters.timers_fired += 1;
            let event = Event::new(now, 0, EventKind::Timer(TimerFired { id, due_tsc: due }))
                .at(self.unix_ns(due));
            self.deliver(strategy, &event);
        }
    }

    /// Asks the engine for a fresh snapshot of `symbol` (its replica diverged): now, or as soon
    /// as the intent ring has room and [`RESNAPSHOT_INTERVAL`] has passed since the last request
    /// for the symbol (a replica that kept diverging must not flood the engine).
    pub(super) fn request_resnapshot(&mut self, symbol: SymbolId) {
        if let Some(p) = self.resnapshot_pending.get_mut(symbol.index()) {
            self.resnapshots_waiting += usize::from(!*p);
            *p = true;
        }
        self.retry_resnapshots();
    }

    /// Sends the resnapshot requests that are due. A single branch when none waits.
    #[inline]
    pub(super) fn retry_resnapshots(&mut self) {
        if self.resnapshots_waiting == 0 {
            return;
        }
        let now = self.clock.raw();
        let interval = self.ticks(RESNAPSHOT_INTERVAL);
        let pending = self.resnapshot_pending.iter_mut();
        for (i, (pending, not_before)) in pending.zip(&mut self.resnapshot_after).enumerate() {
            if !*pending || now < *not_before {
                continue;
            }
            let message = OrderMessage {
                trigger_tsc: self.trigger,
                trigger_publish_tsc: self.trigger_publish,
                received_tsc: self.trigger_received,
                submit_tsc: now,
                batch_rest: 0,
                request: OrderRequest::Resnapshot {
                    symbol: SymbolId(i as u16),
                },
            };
            if self.intents.try_push(message).is_err() {
                return;
            }
            *pending = false;
            *not_before = now.saturating_add(interval);
            self.resnapshots_waiting -= 1;
            self.counters.resnapshots_requested += 1;
        }
    }

    /// An intent-ring message stamped with the triggering event's stamps.
    fn message(&self, submit_tsc: u64, request: OrderRequest, batch_rest: u8) -> OrderMessage {
        OrderMessage {
            trigger_tsc: self.trigger,
            trigger_publish_tsc: self.trigger_publish,
            received_tsc: self.trigger_received,
            submit_tsc,
            batch_rest,
            request,
        }
    }

    pub(super) fn push_request(&mut self, request: OrderRequest) -> Result<(), SubmitError> {
        let message = self.message(self.clock.raw(), request, 0);
        self.intents.try_push(message).map_err(|_| {
            self.counters.intents_refused += 1;
            SubmitError::RingFull
        })
    }

    /// Pushes a batch of new orders all at once (published together, so the engine sees the
    /// batch whole), or nothing.
    fn push_batch(
        &mut self,
        intents: &[OrderIntent],
        ids: &mut [ClientOrderId],
    ) -> Result<(), SubmitError> {
        let n = intents.len();
        let symbol = intents.first().map(|i| i.symbol);
        if !(2..=MAX_BATCH).contains(&n)
            || ids.len() < n
            || intents.iter().any(|i| Some(i.symbol) != symbol)
        {
            return Err(SubmitError::InvalidBatch);
        }
        for intent in intents {
            intent.validate(self.symbols.len())?;
        }
        if !self.intents.reserve(n) {
            self.counters.intents_refused += 1;
            return Err(SubmitError::RingFull);
        }
        let now = self.clock.raw();
        let mut seq = self.next_seq;
        for (k, (intent, id)) in intents.iter().zip(ids.iter_mut()).enumerate() {
            let client_id = client_order_id(self.index, seq);
            seq = (seq + 1) & ((1 << ORDER_SEQ_BITS) - 1);
            let request = OrderRequest::New {
                client_id,
                intent: *intent,
            };
            // `n - 1 - k` < MAX_BATCH fits a u8.
            let message = self.message(now, request, (n - 1 - k) as u8);
            if self.intents.try_write(message).is_err() {
                // Cannot happen after `reserve(n)`; leave the ring as it was.
                self.intents.discard_unpublished();
                return Err(SubmitError::RingFull);
            }
            *id = client_id;
        }
        self.intents.publish();
        self.next_seq = seq;
        Ok(())
    }
}

impl Context for HostContext {
    fn symbols(&self) -> &[SymbolInfo] {
        &self.symbols
    }

    fn book(&self, symbol: SymbolId) -> Option<&dyn BookView> {
        self.replicas
            .get(symbol.index())
            .map(|r| r as &dyn BookView)
    }

    fn submit(&mut self, intent: OrderIntent) -> Result<ClientOrderId, SubmitError> {
        intent.validate(self.symbols.len())?;
        let client_id = client_order_id(self.index, self.next_seq);
        self.push_request(OrderRequest::New { client_id, intent })?;
        self.next_seq = (self.next_seq + 1) & ((1 << ORDER_SEQ_BITS) - 1);
        Ok(client_id)
    }

    fn cancel(&mut self, symbol: SymbolId, client_id: ClientOrderId) -> Result<(), SubmitError> {
        if symbol.index() >= self.symbols.len() {
            return Err(SubmitError::UnknownSymbol);
        }
        self.push_request(OrderRequest::Cancel { client_id, symbol })
    }

    fn amend(
        &mut self,
        symbol: SymbolId,
        client_id: ClientOrderId,
        price: Price,
        qty: Qty,
    ) -> Result<(), SubmitError> {
        if symbol.index() >= self.symbols.len() {
            return Err(SubmitError::UnknownSymbol);
        }
        if qty.0 <= 0 {
            return Err(SubmitError::InvalidQty);
        }
        if price.0 < 0 {
            return Err(SubmitError::InvalidPrice);
        }
        self.push_request(OrderRequest::Amend {
            client_id,
            symbol,
            price,
            qty,
        })
    }

    fn cancel_all(&mut self, symbol: Option<SymbolId>) -> Result<(), SubmitError> {
        if symbol.is_some_and(|s| s.index() >= self.symbols.len()) {
            return Err(SubmitError::UnknownSymbol);
        }
        self.push_request(OrderRequest::CancelAll { symbol })
    }

    fn submit_batch(
        &mut self,
        intents: &[OrderIntent],
        ids: &mut [ClientOrderId],
    ) -> Result<(), SubmitError> {
        self.push_batch(intents, ids)
    }

    fn log(&mut self, mut record: LogRecord) {
        record.tsc = self.trigger;
        if self.logs.try_push(record).is_err() {
            self.counters.logs_dropped += 1;
        }
    }

    fn now_tsc(&self) -> u64 {
        self.clock.raw()
    }

    fn now_ns(&self) -> u64 {
        self.unix_ns(self.clock.raw())
    }

    fn tsc_to_ns(&self, tsc: u64) -> u64 {
        self.unix_ns(tsc)
    }

    fn set_timer(&mut self, id: TimerId, after: Duration) -> Result<(), TimerError> {
        let due = self.clock.raw().saturating_add(self.ticks(after));
        self.timers.set(id, due)
    }

    fn cancel_timer(&mut self, id: TimerId) {
        self.timers.cancel(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kspin_api::wire::{LevelBatch, SnapshotReason, SnapshotStart, WireKind};
    use kspin_api::StrategySummary;
    use kspin_api::{BookSide, Price, Qty, StaleReason};
    use kspin_ring::spsc;

    #[derive(Default)]
    struct Seen(Vec<EventKind>);
    impl Strategy for Seen {
        fn on_event(&mut self, event: &Event, _: &mut dyn Context) {
            self.0.push(event.kind);
        }
        fn summary(&self) -> StrategySummary {
            StrategySummary::new()
        }
    }

    fn host(intent_capacity: usize) -> (HostContext, kspin_ring::Consumer<OrderMessage>) {
        let symbols = vec![SymbolInfo::new(0, "X/Y", 1, 0, 10)];
        let (intents, intents_rx) = spsc(intent_capacity);
        let (logs, _logs_rx) = spsc(8);
        let clock = Clock::mock().0;
        (
            HostContext::new(0, symbols, intents, logs, clock),
            intents_rx,
        )
    }

    /// A snapshot message whose `BookDone` announces two levels but carries one: the replica
    /// cannot match it.
    fn divergent_snapshot() -> [WireEvent; 3] {
        let symbol = SymbolId(0);
        let mut batch = LevelBatch::empty(symbol);
        batch.sides[0] = BookSide::Bid;
        batch.prices[0] = Price(100);
        batch.qtys[0] = Qty(1);
        batch.count = 1;
        let done = kspin_api::wire::BookDone {
            symbol,
            levels_changed: 2,
            snapshot: true,
            time_ns: 0,
            top: kspin_api::wire::top_fingerprint(Price(100), Qty(1), Price(0), Qty(0)),
        };
        [
            WireEvent::new(
                1,
                2,
                WireKind::BookSnapshot(SnapshotStart {
                    symbol,
                    reason: SnapshotReason::Initial,
                }),
            ),
            WireEvent::new(1, 2, WireKind::BookLevels(batch)),
            WireEvent::new(1, 2, WireKind::BookDone(done)),
        ]
    }

    #[test]
    fn a_divergence_is_reported_stale_and_asks_the_engine_for_a_snapshot() {
        let (mut ctx, mut intents) = host(8);
        let (mut strategy, mut assembler) = (Seen::default(), WireAssembler::new(1));
        for wire in divergent_snapshot() {
            ctx.handle(&mut strategy, &mut assembler, &wire);
        }
        assert_eq!(
            strategy.0,
            vec![EventKind::BookStale(kspin_api::BookStale {
                symbol: SymbolId(0),
                reason: StaleReason::ReplicaDiverged,
            })]
        );
        let request = intents.try_pop().expect("a request").request;
        assert_eq!(
            request,
            OrderRequest::Resnapshot {
                symbol: SymbolId(0)
            }
        );
        assert!(intents.try_pop().is_none());
        assert_eq!(ctx.counters.resnapshots_requested, 1);
        // Diverging again at once: the request waits for its interval instead of flooding.
        for wire in divergent_snapshot() {
            ctx.handle(&mut strategy, &mut assembler, &wire);
        }
        assert!(intents.try_pop().is_none());
        assert_eq!(ctx.resnapshots_waiting, 1);
        assert_eq!(ctx.counters.resnapshots_requested, 1);
    }

    #[test]
    fn a_request_that_finds_the_ring_full_is_sent_when_there_is_room() {
        let (mut ctx, mut intents) = host(2);
        let filler = OrderRequest::Cancel {
            client_id: ClientOrderId(1),
            symbol: SymbolId(0),
        };
        while ctx.push_request(filler).is_ok() {}
        let (mut strategy, mut assembler) = (Seen::default(), WireAssembler::new(1));
        for wire in divergent_snapshot() {
            ctx.handle(&mut strategy, &mut assembler, &wire);
        }
        assert_eq!(ctx.resnapshots_waiting, 1);
        ctx.retry_resnapshots();
        assert_eq!(ctx.resnapshots_waiting, 1, "still no room");
        let mut drained = Vec::new();
        while let Some(m) = intents.try_pop() {
            drained.push(m.request);
        }
        assert!(drained.iter().all(|r| *r == filler));
        ctx.retry_resnapshots();
        assert_eq!(ctx.resnapshots_waiting, 0);
        assert_eq!(
            intents.try_pop().map(|m| m.request),
            Some(OrderRequest::Resnapshot {
                symbol: SymbolId(0)
            })
        );
    }

    #[test]
    fn a_mock_clock_converts_durations_to_ticks_one_to_one() {
        let symbols = vec![SymbolInfo::new(0, "X/Y", 1, 0, 10)];
        let (intents, _intents_rx) = spsc(8);
        let (logs, _logs_rx) = spsc(8);
        let (clock, mock) = Clock::mock();
        let mut ctx = HostContext::new(0, symbols, intents, logs, clock);
        assert_eq!(ctx.calibration_ns, 0);
        assert_eq!(ctx.ticks(Duration::from_nanos(123_456_789)), 123_456_789);
        mock.increment(1_000);
        ctx.set_timer(TimerId(0), Duration::from_micros(5)).unwrap();
        assert_eq!(ctx.timers.next_due(), 6_000);
        assert_eq!(ctx.now_tsc(), 1_000);
        assert_eq!(client_order_id(0, 1), ClientOrderId((1 << 40) | 1));
        assert_eq!(client_order_id(2, 7), ClientOrderId((3 << 40) | 7));
    }

    #[test]
    fn due_timers_fire_in_order_once() {
        let (mut ctx, _intents) = host(8);
        let mut strategy = Seen::default();
        ctx.set_timer(TimerId(2), Duration::ZERO).unwrap();
        ctx.set_timer(TimerId(1), Duration::ZERO).unwrap();
        ctx.set_timer(TimerId(3), Duration::from_secs(3_600))
            .unwrap();
        ctx.cancel_timer(TimerId(2));
        ctx.set_timer(TimerId(2), Duration::ZERO).unwrap();
        ctx.fire_timers(&mut strategy);
        ctx.fire_timers(&mut strategy);
        let fired: Vec<TimerId> = strategy
            .0
            .iter()
            .filter_map(|k| match k {
                EventKind::Timer(t) => Some(t.id),
                _ => None,
            })
            .collect();
        assert_eq!(
            fired,
            [TimerId(1), TimerId(2)],
            "due order, ties by id; 3 not yet"
        );
        assert_eq!(ctx.counters.timers_fired, 2);
    }
}
