//! A *lane*: the engine-side state of one strategy — its event producer, intent consumer,
//! per-symbol dirty and told-live bits, the queue of order updates waiting for ring room, its
//! paper trader and its counters — and the wire sequences pushed into its ring.
//!
//! Invariants: a lane is lagging exactly while some symbol is dirty; `told_live` mirrors what
//! the strategy's assembler believes (last `BookLive` / `BookStale` sent, or a resnapshot request:
//! the replica declared itself stale); a sequence is pushed
//! only after the caller checked the ring has room for all of it (the bus is the only producer,
//! so `free_slots` cannot shrink in between). Nothing here allocates after construction, blocks
//! or panics.

use kspin_api::wire::{
    top_fingerprint, BookDone, LevelPacker, SnapshotReason, SnapshotStart, WireEvent, WireKind,
    WireMeta, WireOrder,
};
use kspin_api::{
    BookStale, ClientOrderId, ConnectionStatus, OrderMessage, OrderRequest, OrderUpdate, Price,
    Qty, StaleReason as WireStale, SymbolId,
};
use kspin_ring::{Consumer, Producer};

use super::order_tap::{OrderTaps, TapOrder};
use super::paper::PaperTrader;
use super::BookSource;
use kspin_core::book::OrderBook;

/// Order updates a lane holds while its event ring is full.
pub const ANSWER_QUEUE_CAPACITY: usize = 64;

/// Engine-side counters of one lane.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LaneCounters {
    /// Wire events pushed into the strategy's ring (market data, catch-up, order updates).
    pub events_published: u64,
    /// Wire events not pushed because the lane was lagging or its ring was full.
    pub events_dropped: u64,
    /// `BookSnapshot{CatchUp}` sequences handed to the lane.
    pub snapshots_handed: u64,
    /// Wire events of catch-up sequences, conflated statuses and catch-up `BookStale`s
    /// (included in `events_published`).
    pub catchup_events: u64,
    /// Times the lane went from no dirty symbol to at least one.
    pub lag_episodes: u64,
    /// `Order` wire events pushed (included in `events_published`).
    pub order_updates: u64,
    /// Order updates lost because the answer queue was full (cannot happen by construction:
    /// intents are only taken with room for their answers; kept as a tripwire).
    pub order_updates_lost: u64,
    /// Fresh snapshots the strategy's host asked for after its replica diverged (each is handed
    /// as a catch-up snapshot, so it also counts in `snapshots_handed`).
    pub resnapshots_requested: u64,
}

/// Fixed-capacity FIFO of order updates.
pub(super) struct AnswerQueue {
    pub(super) items: [OrderUpdate; ANSWER_QUEUE_CAPACITY],
    pub(super) head: usize,
    pub(super) len: usize,
}

impl AnswerQueue {
    pub(super) fn new() -> AnswerQueue {
        AnswerQueue {
            items: [OrderUpdate::accepted(ClientOrderId(0), SymbolId(0)); ANSWER_QUEUE_CAPACITY],
            head: 0,
            len: 0,
        }
    }

    pub(super) fn free(&self) -> usize {
        ANSWER_QUEUE_CAPACITY - self.len
    }

    pub(super) fn push(&mut self, update: OrderUpdate) -> bool {
        if self.len == ANSWER_QUEUE_CAPACITY {
            return false;
        }
        let i = (self.head + self.len) % ANSWER_QUEUE_CAPACITY;
        self.items[i] = update;
        self.len += 1;
        true
    }

    pub(super) fn front(&self) -> Option<OrderUpdate> {
        (self.len > 0).then(|| self.items[self.head])
    }

    pub(super) fn pop(&mut self) {
        if self.len > 0 {
            self.head = (self.head + 1) % ANSWER_QUEUE_CAPACITY;
            self.len -= 1;
        }
    }
}

/// What every wire event of one publishing step is stamped with: the engine's read of the frame,
/// the publish TSC, and the exchange time the events carry (a book's own message time, or the
/// market clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Stamps {
    pub(super) recv: u64,
    pub(super) publish: u64,
    pub(super) time_ns: u64,
}

impl Stamps {
    /// The same stamps at exchange time `time_ns`.
    #[inline]
    pub(super) fn at(self, time_ns: u64) -> Stamps {
        Stamps { time_ns, ..self }
    }
}

/// One strategy's engine-side state.
pub(super) struct Lane {
    pub(super) name: String,
    pub(super) core: Option<usize>,
    pub(super) events: Producer<WireEvent>,
    pub(super) intents: Consumer<OrderMessage>,
    /// Symbol needs a catch-up snapshot (or stale notice) before any further delta.
    pub(super) dirty: Box<[bool]>,
    pub(super) dirty_count: usize,
    /// Where the next catch-up scan starts (round robin over symbols).
    pub(super) cursor: usize,
    /// What the lane's assembler believes: the last of BookLive (true) / BookStale (false).
    pub(super) told_live: Box<[bool]>,
    /// A `BookStale` is owed whatever `told_live` says (the symbol froze: the strategy must hear
    /// it even if it never saw the book live).
    pub(super) owes_stale: Box<[bool]>,
    /// The latest status that did not fit.
    pub(super) pending_status: Option<ConnectionStatus>,
    pub(super) answers: AnswerQueue,
    pub(super) paper: PaperTrader,
    pub(super) counters: LaneCounters,
    /// Not a strategy: a tap such as the NATS bridge (`Bus::add_tap`).
    pub(super) tap: bool,
}

impl Lane {
    #[inline]
    pub(super) fn lagging(&self) -> bool {
        self.dirty_count != 0
    }

    pub(super) fn needs_service(&self) -> bool {
        self.dirty_count != 0 || self.pending_status.is_some() || self.answers.len != 0
    }

    #[inline]
    pub(super) fn push(&mut self, event: WireEvent) {
        match self.events.try_push(event) {
            Ok(()) => self.counters.events_published += 1,
            // Callers checked `free_slots` first (a lower bound; we are the only producer).
            Err(_) => self.counters.events_dropped += 1,
        }
    }

    /// Writes one event without publishing it (callers reserved room, then publish the run).
    #[inline]
    fn write(&mut self, event: WireEvent) {
        match self.events.try_write(event) {
            Ok(()) => self.counters.events_published += 1,
            Err(_) => self.counters.events_dropped += 1,
        }
    }

    /// Writes a run of events and publishes them together (one release store: the strategy
    /// sees the whole run or none of it). Callers reserved room for the run first.
    #[inline]
    pub(super) fn push_run(&mut self, events: &[WireEvent]) {
        // Cannot fail after the caller's reserve; counted either way.
        if self.events.try_write_run(events) {
            self.events.publish();
            self.counters.events_published += events.len() as u64;
        } else {
            self.counters.events_dropped += events.len() as u64;
        }
    }

    pub(super) fn mark_dirty(&mut self, symbol: usize) {
        if let Some(d) = self.dirty.get_mut(symbol) {
            if !*d {
                *d = true;
                if self.dirty_count == 0 {
                    self.counters.lag_episodes += 1;
                }
                self.dirty_count += 1;
            }
        }
    }

    /// Answers one order request from the paper model into the answer queue.
    pub(super) fn answer<B: BookSource + ?Sized>(
        &mut self,
        request: &OrderRequest,
        books: &B,
        versions: &[u64],
    ) {
        let Lane {
            answers,
            paper,
            counters,
            ..
        } = self;
        paper.on_request(request, books, versions, &mut |u| {
            if !answers.push(u) {
                counters.order_updates_lost += 1;
            }
        });
    }

    /// The host's replica of `symbol` diverged (the strategy saw `BookStale{ReplicaDiverged}`):
    /// the next hand-off gives the engine's book again as a catch-up snapshot followed by
    /// `BookLive`. The caller hands off (or marks the symbol dirty when that does not fit).
    pub(super) fn request_resnapshot(&mut self, symbol: usize) {
        if let Some(told) = self.told_live.get_mut(symbol) {
            *told = false;
            self.counters.resnapshots_requested += 1;
        }
    }

    /// [`Self::hand_off`] now, or mark the symbol dirty so [`super::Bus::service`] retries it.
    /// Returns whether the lane is lagging afterwards.
    pub(super) fn hand_off_or_defer(
        &mut self,
        symbol: SymbolId,
        book: Option<&OrderBook>,
        live: bool,
        stale: WireStale,
        stamps: Stamps,
    ) -> bool {
        if !self.hand_off(symbol, book, live, stale, stamps) {
            self.mark_dirty(symbol.index());
        }
        self.lagging()
    }

    pub(super) fn clear_dirty(&mut self, symbol: usize) {
        if let Some(d) = self.dirty.get_mut(symbol) {
            if *d {
                *d = false;
                self.dirty_count -= 1;
            }
        }
    }

    /// Pushes `BookSnapshot{reason}`, every level of `book` (bids then asks, best first),
    /// `BookDone`, and `BookLive` when the lane was told the book is not live. The caller
    /// checked [`snapshot_events`] slots are free.
    pub(super) fn push_snapshot(
        &mut self,
        symbol: SymbolId,
        book: &OrderBook,
        reason: SnapshotReason,
        stamps: Stamps,
    ) {
        let (recv, publish) = (stamps.recv, stamps.publish);
        let wire = |kind| WireEvent::new(recv, publish, kind);
        self.write(wire(WireKind::BookSnapshot(SnapshotStart {
            symbol,
            reason,
        })));
        let mut packer = LevelPacker::new(symbol);
        let levels = book
            .bids()
            .iter()
            .map(|(p, q)| (kspin_api::BookSide::Bid, p, q))
            .chain(
                book.asks()
                    .iter()
                    .map(|(p, q)| (kspin_api::BookSide::Ask, p, q)),
            );
        for (side, price, qty) in levels {
            if let Some(batch) = packer.push(side, price, qty) {
                self.write(wire(WireKind::BookLevels(batch)));
            }
        }
        if let Some(batch) = packer.flush() {
            self.write(wire(WireKind::BookLevels(batch)));
        }
        self.write(wire(WireKind::BookDone(book_done(
            symbol,
            book,
            packer.levels(),
            true,
            stamps.time_ns,
        ))));
        let i = symbol.index();
        if !self.told_live.get(i).copied().unwrap_or(true) {
            self.write(wire(WireKind::BookLive(symbol)));
            self.told_live[i] = true;
        }
        self.events.publish();
    }

    /// Tries to bring `symbol` up to date: a catch-up snapshot of `book` if `live`, else a
    /// `BookStale` if the lane still thinks it live. Clears the dirty bit on success.
    pub(super) fn hand_off(
        &mut self,
        symbol: SymbolId,
        book: Option<&OrderBook>,
        live: bool,
        stale: WireStale,
        stamps: Stamps,
    ) -> bool {
        let i = symbol.index();
        let told_live = self.told_live.get(i).copied().unwrap_or(false);
        match book {
            Some(book) if live => {
                let need = snapshot_events(book, told_live);
                if !self.events.reserve(need) {
                    return false;
                }
                self.push_snapshot(symbol, book, SnapshotReason::CatchUp, stamps);
                self.counters.snapshots_handed += 1;
                self.counters.catchup_events += need as u64;
            }
            _ => {
                if told_live || self.owes_stale.get(i).copied().unwrap_or(false) {
                    if !self.events.reserve(1) {
                        return false;
                    }
                    let kind = WireKind::BookStale(BookStale {
                        symbol,
                        reason: stale,
                    });
                    self.push(WireEvent::new(stamps.recv, stamps.publish, kind));
                    self.told_live[i] = false;
                    self.counters.catchup_events += 1;
                }
            }
        }
        if let Some(owed) = self.owes_stale.get_mut(i) {
            *owed = false;
        }
        self.clear_dirty(i);
        true
    }

    /// The symbol froze for strategies: owe a `BookStale`, so that [`Self::hand_off`] sends it
    /// even if the strategy never saw the book live. The caller hands off (or marks the symbol
    /// dirty when that does not fit).
    pub(super) fn owe_stale(&mut self, symbol: usize) {
        if let (Some(owed), Some(told)) = (
            self.owes_stale.get_mut(symbol),
            self.told_live.get_mut(symbol),
        ) {
            *owed = true;
            *told = false;
        }
    }

    /// Pushes one non-book event unless lagging or full (then drops and counts it).
    #[inline]
    pub(super) fn offer(&mut self, event: WireEvent) {
        if !self.lagging() && self.events.reserve(1) {
            self.push(event);
        } else {
            self.counters.events_dropped += 1;
        }
    }

    /// Publishes waiting order updates, each as a `Meta` (its time and fee) and the update, both
    /// or neither; each one published is copied to the order taps as strategy `index`'s.
    pub(super) fn flush_answers(&mut self, index: usize, stamps: Stamps, taps: &mut OrderTaps) {
        while let Some(update) = self.answers.front() {
            if !self.events.reserve(2) {
                break;
            }
            let meta = WireMeta {
                time_ns: stamps.time_ns,
                fee: update.fee,
            };
            let order = WireKind::Order(WireOrder::of(&update));
            for kind in [WireKind::Meta(meta), order] {
                // Room for both was reserved above.
                let _ = self
                    .events
                    .try_write(WireEvent::new(stamps.recv, stamps.publish, kind));
            }
            self.events.publish();
            self.answers.pop();
            self.counters.events_published += 2;
            self.counters.order_updates += 1;
            taps.copy(TapOrder {
                strategy: u16::try_from(index).unwrap_or(u16::MAX),
                recv_tsc: stamps.recv,
                time_ns: stamps.time_ns,
                update,
            });
        }
    }

    /// Pushes an event that needs a `Meta` before it (a ticker's time), both or neither, unless
    /// lagging (then drops and counts them).
    pub(super) fn offer_with_meta(&mut self, meta: WireMeta, event: WireEvent) {
        if !self.lagging() && self.events.reserve(2) {
            // The Meta carries the event's own stamps.
            let mut first = event;
            first.set_kind(WireKind::Meta(meta));
            let _ = self.events.try_write(first);
            let _ = self.events.try_write(event);
            self.events.publish();
            self.counters.events_published += 2;
        } else {
            self.counters.events_dropped += 2;
        }
    }
}

/// Wire events a snapshot of `book` takes: marker, level batches, done, and `BookLive` unless
/// the lane already thinks the book live.
#[inline]
pub(super) fn snapshot_events(book: &OrderBook, told_live: bool) -> usize {
    let levels = book.bids().len() + book.asks().len();
    2 + levels.div_ceil(kspin_api::wire::LEVELS_PER_BATCH) + usize::from(!told_live)
}

/// The `BookDone` closing a message of `levels` levels that left `book` as it is.
#[inline]
pub(super) fn book_done(
    symbol: SymbolId,
    book: &OrderBook,
    levels: u16,
    snapshot: bool,
    time_ns: u64,
) -> BookDone {
    let (bid_price, bid_qty) = book.best_bid().unwrap_or((Price::ZERO, Qty::ZERO));
    let (ask_price, ask_qty) = book.best_ask().unwrap_or((Price::ZERO, Qty::ZERO));
    BookDone {
        symbol,
        levels_changed: levels,
        snapshot,
        time_ns,
        top: top_fingerprint(bid_price, bid_qty, ask_price, ask_qty),
    }
}
