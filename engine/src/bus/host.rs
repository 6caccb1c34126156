//! The strategy host: one thread per strategy, pinned to its configured core, busy-polling its
//! event ring, rebuilding a [`Replica`] per symbol through the contract's [`WireAssembler`], and
//! calling the strategy with a [`Context`] backed by its intent ring, its log ring and eight
//! timers.
//!
//! Owns the strategy once spawned and everything the thread touches; shares with the engine core
//! only the three SPSC rings and the stop flag. Invariants: after start-up (replicas, assembler,
//! context) the loop allocates nothing per event, never locks, and never blocks: a full intent
//! ring is reported to the strategy (`SubmitError::RingFull`), a full log ring drops and counts
//! the record. A replica that diverges from the engine's book is reported stale to the strategy
//! and the host asks the engine for the book again over the intent ring (retried every loop while
//! the ring is full). Order ids are unique within a run: strategy `i` numbers its orders
//! `(i + 1) << 40 | n`. On stop it drains what is already in its ring, calls `on_stop`, and
//! returns its counters and the strategy's summary through the join handle.

use crate::runtime::stages::{FrameStamps, Stage, StageHistograms};
use core::time::Duration;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use kspin_api::replica::{Assembled, WireAssembler};
use kspin_api::wire::WireEvent;
use kspin_api::{
    BookView, ClientOrderId, Context, Event, EventKind, LogRecord, OrderIntent, OrderMessage,
    OrderRequest, Strategy, StrategySummary, SubmitError, SymbolId, SymbolInfo, TimerError,
    TimerFired, TimerId, TimerTable,
};
use kspin_ring::{Consumer, IdlePolicy, Idler, Producer};
use quanta::Clock;

use super::replica::Replica;
use super::BusError;

/// Wire events taken from the ring per poll.
const POLL_BATCH: usize = 64;
/// Raw-tick span used to calibrate duration → ticks (2^32 ticks ≈ 1–2 s of TSC at GHz rates:
/// long enough that the integer ratio is precise to well under a part per million).
const CALIBRATION_TICKS: u64 = 1 << 32;
/// Least time between two resnapshot requests for one symbol: a replica diverges only through a
/// bug, and one that keeps diverging must not turn into a snapshot storm on the engine core.
const RESNAPSHOT_INTERVAL: Duration = Duration::from_secs(1);
/// Bits of a client order id left for the per-strategy sequence number.
const ORDER_SEQ_BITS: u32 = 40;

/// What became of the request to pin the thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pinning {
    /// The thread has not started yet.
    Pending,
    /// No core configured: the OS schedules the thread.
    NotRequested,
    Pinned(usize),
    /// `core_affinity` refused (core absent, or not in the process's allowed set); the thread
    /// runs unpinned.
    Failed(usize),
}

impl Pinning {
    fn encode(self) -> u8 {
        match self {
            Pinning::Pending => 0,
            Pinning::NotRequested => 1,
            Pinning::Pinned(_) => 2,
            Pinning::Failed(_) => 3,
        }
    }

    fn decode(code: u8, core: Option<usize>) -> Pinning {
        match (code, core) {
            (1, _) | (2 | 3, None) => Pinning::NotRequested,
            (2, Some(c)) => Pinning::Pinned(c),
            (3, Some(c)) => Pinning::Failed(c),
            _ => Pinning::Pending,
        }
    }
}

/// Counters of one strategy thread.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HostCounters {
    /// Wire events taken from the ring.
    pub events_received: u64,
    /// Events handed to `on_event` (market events, order updates, timers).
    pub events_delivered: u64,
    pub timers_fired: u64,
    /// Log records dropped on a full log ring.
    pub logs_dropped: u64,
    /// Submits / cancels refused on a full intent ring.
    pub intents_refused: u64,
    /// Wire sequences the assembler could not reconcile (should stay 0).
    pub assembly_faults: u64,
    /// Fresh snapshots asked of the engine after a replica diverged (at most one per symbol per
    /// second).
    pub resnapshots_requested: u64,
}

/// What a strategy thread returns when it stops.
#[derive(Debug, Clone)]
pub struct HostReport {
    pub index: usize,
    pub name: String,
    pub core: Option<usize>,
    pub pinning: Pinning,
    pub counters: HostCounters,
    pub summary: StrategySummary,
    /// Per delivered event: engine read → published → received here → `on_event` returned
    /// (`published_to_received`, `received_to_returned`, `read_to_returned`), in ns.
    pub stages: Option<StageHistograms>,
    /// Per delivered engine event (market data, staleness, connection status, order updates;
    /// not timers), in delivery order, up to the capacity asked for with
    /// [`StrategyHandle::record_event_stamps`] (empty otherwise): what a latency harness joins
    /// with the engine's per-frame stamps by `recv_tsc`.
    pub event_stamps: Vec<EventStamps>,
}

/// The four stamps (quanta raw ticks) of one delivered market event: the engine's read of the
/// frame that caused it, its publish into the ring, its pop by the host just before
/// `on_event`, and `on_event`'s return.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EventStamps {
    pub recv_tsc: u64,
    pub publish_tsc: u64,
    pub received_tsc: u64,
    pub returned_tsc: u64,
}

/// A configured strategy with its rings, ready to be started; see [`spawn_strategy`].
pub struct StrategyHandle {
    index: usize,
    name: String,
    core: Option<usize>,
    idle: IdlePolicy,
    symbols: Vec<SymbolInfo>,
    strategy: Box<dyn Strategy>,
    events: Consumer<WireEvent>,
    intents: Producer<OrderMessage>,
    logs: Producer<LogRecord>,
    /// Capacity of the per-event stamp log (0: none).
    event_stamp_capacity: usize,
}

impl std::fmt::Debug for StrategyHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StrategyHandle")
            .field("index", &self.index)
            .field("name", &self.name)
            .field("core", &self.core)
            .finish_non_exhaustive()
    }
}

impl StrategyHandle {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new(
        index: usize,
        name: &str,
        core: Option<usize>,
        idle: IdlePolicy,
        symbols: Vec<SymbolInfo>,
        strategy: Box<dyn Strategy>,
        events: Consumer<WireEvent>,
        intents: Producer<OrderMessage>,
        logs: Producer<LogRecord>,
    ) -> StrategyHandle {
        StrategyHandle {
            index,
            name: name.to_owned(),
            core,
            idle,
            symbols,
            strategy,
            events,
            intents,
            logs,
            event_stamp_capacity: 0,
        }
    }

    /// Keeps the [`EventStamps`] of the first `capacity` delivered engine events (timers, which
    /// the engine did not publish, excluded) for [`HostReport::event_stamps`]. The log is allocated when the
    /// thread starts, before `on_start`, and never grows: later events are not logged. For
    /// latency harnesses; the stage histograms are the always-on figures.
    pub fn record_event_stamps(&mut self, capacity: usize) {
        self.event_stamp_capacity = capacity;
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn core(&self) -> Option<usize> {
        self.core
    }

    /// The strategy's index in the bus (its lane, and `Bus::lane_counters(index)`).
    pub fn index(&self) -> usize {
        self.index
    }

    /// The event ring's consumer end (unit tests read the wire sequence directly).
    #[cfg(test)]
    pub(super) fn events_mut(&mut self) -> &mut Consumer<WireEvent> {
        &mut self.events
    }

    /// The intent ring's producer end (unit tests play the host's part).
    #[cfg(test)]
    pub(super) fn intents_mut(&mut self) -> &mut Producer<OrderMessage> {
        &mut self.intents
    }

    /// Starts the thread; same as [`spawn_strategy`].
    pub fn spawn(self, stop: Arc<AtomicBool>) -> Result<RunningStrategy, BusError> {
        spawn_strategy(self, stop)
    }
}

/// A running strategy thread.
#[derive(Debug)]
pub struct RunningStrategy {
    name: String,
    core: Option<usize>,
    pinning: Arc<AtomicU8>,
    thread: JoinHandle<HostReport>,
}

impl RunningStrategy {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether pinning worked (`Pending` until the thread has started).
    pub fn pinning(&self) -> Pinning {
        Pinning::decode(self.pinning.load(Ordering::Acquire), self.core)
    }

    /// Waits for the thread to stop (set the stop flag first).
    pub fn join(self) -> Result<HostReport, BusError> {
        self.thread.join().map_err(|_| BusError::StrategyPanicked {
            strategy: self.name,
        })
    }
}

/// Starts `handle`'s thread: pins it to its core (if configured), calls `on_start`, then polls
/// its event ring with its idle policy until `stop` is set and the ring is empty.
pub fn spawn_strategy(
    handle: StrategyHandle,
    stop: Arc<AtomicBool>,
) -> Result<RunningStrategy, BusError> {
    let name = handle.name.clone();
    let core = handle.core;
    let pinning = Arc::new(AtomicU8::new(Pinning::Pending.encode()));
    let shared = Arc::clone(&pinning);
    let thread = std::thread::Builder::new()
        .name(format!("kspin-{}", handle.name))
        .spawn(move || run(handle, &stop, &shared))
        .map_err(|source| BusError::Spawn {
            strategy: name.clone(),
            source,
        })?;
    Ok(RunningStrategy {
        name,
        core,
        pinning,
        thread,
    })
}

fn pin(core: Option<usize>) -> Pinning {
    match core {
        None => Pinning::NotRequested,
        Some(id) => {
            if core_affinity::set_for_current(core_affinity::CoreId { id }) {
                Pinning::Pinned(id)
            } else {
                Pinning::Failed(id)
            }
        }
    }
}

fn run(handle: StrategyHandle, stop: &AtomicBool, pin_state: &AtomicU8) -> HostReport {
    let pinning = pin(handle.core);
    pin_state.store(pinning.encode(), Ordering::Release);
    let StrategyHandle {
        index,
        name,
        core,
        idle,
        symbols,
        mut strategy,
        mut events,
        intents,
        logs,
        event_stamp_capacity,
    } = handle;
    let mut assembler = WireAssembler::new(symbols.len());
    let mut ctx = HostContext::new(index, symbols, intents, logs);
    // Allocated before the loop; recording never resizes them.
    ctx.stages = StageHistograms::new().ok();
    ctx.event_stamps = Vec::with_capacity(event_stamp_capacity);
    strategy.on_start(&mut ctx);
    let mut idler = Idler::new(idle);
    loop {
        let taken = events.pop_batch(
            |wire| ctx.handle(&mut *strategy, &mut assembler, &wire),
            POLL_BATCH,
        );
        ctx.fire_timers(&mut *strategy);
        ctx.retry_resnapshots();
        if taken != 0 {
            idler.reset();
            continue;
        }
        // Acquire: pairs with the runtime's Release store; everything it published before
        // setting the flag is then in the ring and drained below.
        if stop.load(Ordering::Acquire) {
            while events.pop_batch(
                |wire| ctx.handle(&mut *strategy, &mut assembler, &wire),
                POLL_BATCH,
            ) != 0
            {}
            break;
        }
        idler.idle();
    }
    ctx.trigger = 0;
    strategy.on_stop(&mut ctx);
    ctx.counters.assembly_faults = assembler.faults();
    HostReport {
        index,
        name,
        core,
        pinning,
        counters: ctx.counters,
        summary: strategy.summary(),
        stages: ctx.stages.take(),
        event_stamps: core::mem::take(&mut ctx.event_stamps),
    }
}

/// The [`Context`] of one strategy thread.
struct HostContext {
    symbols: Vec<SymbolInfo>,
    replicas: Vec<Replica>,
    intents: Producer<OrderMessage>,
    logs: Producer<LogRecord>,
    clock: Clock,
    /// Nanoseconds per [`CALIBRATION_TICKS`] raw ticks (0: raw ticks are nanoseconds).
    calibration_ns: u64,
    /// `recv_tsc` of the event being handled.
    trigger: u64,
    id_base: u64,
    next_seq: u64,
    timers: TimerTable,
    counters: HostCounters,
    stages: Option<StageHistograms>,
    /// Per-event stamp log; pushed only below its capacity, so it never reallocates.
    event_stamps: Vec<EventStamps>,
    /// Per symbol: a resnapshot request waits (for ring room or its interval).
    resnapshot_pending: Vec<bool>,
    /// Per symbol: the tick before which no further resnapshot request is sent.
    resnapshot_after: Vec<u64>,
    resnapshots_waiting: usize,
}

impl HostContext {
    fn new(
        index: usize,
        symbols: Vec<SymbolInfo>,
        intents: Producer<OrderMessage>,
        logs: Producer<LogRecord>,
    ) -> HostContext {
        let clock = Clock::new();
        let calibration_ns = clock.delta_as_nanos(0, CALIBRATION_TICKS);
        let n = symbols.len();
        HostContext {
            replicas: symbols.iter().map(Replica::new).collect(),
            symbols,
            intents,
            logs,
            clock,
            calibration_ns,
            trigger: 0,
            id_base: (index as u64 + 1) << ORDER_SEQ_BITS,
            next_seq: 1,
            timers: TimerTable::new(),
            counters: HostCounters::default(),
            stages: None,
            event_stamps: Vec::new(),
            resnapshot_pending: vec![false; n],
            resnapshot_after: vec![0; n],
            resnapshots_waiting: 0,
        }
    }

    #[inline]
    fn handle(
        &mut self,
        strategy: &mut dyn Strategy,
        assembler: &mut WireAssembler,
        wire: &WireEvent,
    ) {
        self.counters.events_received += 1;
        match assembler.apply(&mut self.replicas, wire) {
            Assembled::Deliver(event) => self.deliver(strategy, &event),
            Assembled::Diverged { event, .. } => {
                self.deliver(strategy, &event);
                if let EventKind::BookStale(stale) = event.kind {
                    self.request_resnapshot(stale.symbol);
                }
            }
            Assembled::Absorbed | Assembled::Rejected(_) => {}
        }
    }

    #[inline]
    fn deliver(&mut self, strategy: &mut dyn Strategy, event: &Event) {
        self.trigger = event.recv_tsc;
        self.counters.events_delivered += 1;
        let received = self.clock.raw();
        strategy.on_event(event, self);
        let returned = self.clock.raw();
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
    fn fire_timers(&mut self, strategy: &mut dyn Strategy) {
        if self.timers.next_due() == u64::MAX {
            return;
        }
        let now = self.clock.raw();
        while let Some((id, due)) = self.timers.pop_due(now) {
            self.counters.timers_fired += 1;
            let event = Event::new(now, 0, EventKind::Timer(TimerFired { id, due_tsc: due }));
            self.deliver(strategy, &event);
        }
    }

    /// Asks the engine for a fresh snapshot of `symbol` (its replica diverged): now, or as soon
    /// as the intent ring has room and [`RESNAPSHOT_INTERVAL`] has passed since the last request
    /// for the symbol (a replica that kept diverging must not flood the engine).
    fn request_resnapshot(&mut self, symbol: SymbolId) {
        if let Some(p) = self.resnapshot_pending.get_mut(symbol.index()) {
            self.resnapshots_waiting += usize::from(!*p);
            *p = true;
        }
        self.retry_resnapshots();
    }

    /// Sends the resnapshot requests that are due. A single branch when none waits.
    #[inline]
    fn retry_resnapshots(&mut self) {
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
                submit_tsc: now,
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

    fn push_request(&mut self, request: OrderRequest) -> Result<(), SubmitError> {
        let message = OrderMessage {
            trigger_tsc: self.trigger,
            submit_tsc: self.clock.raw(),
            request,
        };
        self.intents.try_push(message).map_err(|_| {
            self.counters.intents_refused += 1;
            SubmitError::RingFull
        })
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
        let client_id = ClientOrderId(self.id_base | self.next_seq);
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

    fn log(&mut self, mut record: LogRecord) {
        record.tsc = self.trigger;
        if self.logs.try_push(record).is_err() {
            self.counters.logs_dropped += 1;
        }
    }

    fn now_tsc(&self) -> u64 {
        self.clock.raw()
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
    use kspin_api::{BookChange, BookSide, Price, Qty, StaleReason};
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
        (HostContext::new(0, symbols, intents, logs), intents_rx)
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
        let done = BookChange {
            symbol,
            levels_changed: 2,
            snapshot: true,
            bid_price: Price(100),
            bid_qty: Qty(1),
            ask_price: Price(0),
            ask_qty: Qty(0),
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
