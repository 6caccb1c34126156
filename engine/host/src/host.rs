//! The strategy host: one thread per strategy, pinned to its configured core, busy-polling its
//! event ring, rebuilding a [`Replica`](crate::Replica) per symbol through the contract's
//! [`WireAssembler`](kspin_api::replica::WireAssembler), and calling the strategy with a
//! [`Context`](kspin_api::Context) backed by its intent ring, its log ring and eight timers. The
//! work of one loop turn is `StrategyRunner::poll` (`runner.rs`), which the test harness
//! ([`crate::testing`]) runs too, on the test thread with a mocked clock.
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

use kspin_runtime::stages::StageHistograms;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use kspin_api::wire::WireEvent;
use kspin_api::{LogRecord, OrderMessage, Strategy, StrategySummary, SymbolInfo};
use kspin_ring::{Consumer, IdlePolicy, Idler, Producer};
use quanta::Clock;

use super::BusError;
pub(crate) use context::{client_order_id, CallbackTimer};
pub(crate) use runner::StrategyRunner;

mod context;
mod runner;

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
    /// Each symbol's name and the Kraken checksum of the strategy's replica of its book when
    /// the thread stopped (`None`: not live then), in symbol order; empty when not taken.
    pub books: Vec<(String, Option<u32>)>,
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
        events,
        intents,
        logs,
        event_stamp_capacity,
    } = handle;
    let names: Vec<String> = symbols.iter().map(|s| s.name.clone()).collect();
    let mut runner = StrategyRunner::new(index, symbols, events, intents, logs, Clock::new());
    // Allocated before the loop; recording never resizes them.
    runner.record_stages(event_stamp_capacity);
    runner.start(&mut *strategy);
    let mut idler = Idler::new(idle);
    loop {
        if runner.poll(&mut *strategy, |_| {}) != 0 {
            idler.reset();
            continue;
        }
        // Acquire: pairs with the runtime's Release store; everything it published before
        // setting the flag is then in the ring and drained below.
        if stop.load(Ordering::Acquire) {
            runner.drain(&mut *strategy, |_| {});
            break;
        }
        idler.idle();
    }
    runner.stop(&mut *strategy);
    let summary = strategy.summary();
    let books = names
        .into_iter()
        .enumerate()
        .map(|(i, name)| {
            let checksum = runner
                .replica(i)
                .filter(|r| kspin_api::BookView::is_live(*r))
                .map(|r| r.book().checksum_uncached());
            (name, checksum)
        })
        .collect();
    let (counters, stages, event_stamps) = runner.finish();
    HostReport {
        books,
        index,
        name,
        core,
        pinning,
        counters,
        summary,
        stages,
        event_stamps,
    }
}
