//! The three queues under test behind one pair of traits, so every measurement runs the very
//! same loop for each: kspin-ring (`try_pop` or `pop_batch`), rtrb and crossbeam's
//! `ArrayQueue`, plus a round-robin reader over several receivers for the N-producer case.
//! Invariant: all queues get the same capacity, and each pair of compared rows carries the same
//! element: the benchmark's [`Event`] (64 bytes, 64-aligned: one cache line), or, for the
//! production rows, the engine → strategy [`WireEvent`] itself (60 bytes, 4-aligned: with a
//! ring slot's 4-byte sequence number it fills one 64-byte line; in a queue whose slot is any
//! other size, such as `ArrayQueue`'s 8-byte stamp plus the element, events straddle lines),
//! converted from and to [`Event`] at the two
//! ends (the same conversion for kspin-ring and for the `ArrayQueue` it is compared with).

use crossbeam_queue::ArrayQueue;
use kspin_api::wire::{LevelBatch, WireEvent, WireKind, LEVELS_PER_BATCH};
use kspin_api::{BookSide, Price, Qty, SymbolId};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The benchmark's message: exactly one 64-byte cache line, like an engine event.
#[derive(Clone, Copy, Debug, Default)]
#[repr(C, align(64))]
pub struct Event {
    /// Producer's quanta raw TSC reading taken just before the push.
    pub stamp: u64,
    /// Per-producer sequence number, checked for order by the consumer.
    pub sequence: u64,
    /// Which producer sent it (N-producer runs).
    pub producer: u64,
    /// Filler up to 64 bytes.
    pub payload: [u64; 5],
}

const _: () = assert!(core::mem::size_of::<Event>() == 64);

/// The writing side of a queue.
pub trait Sender: Send {
    /// Pushes without blocking; gives the event back when the queue is full. A sender that
    /// publishes in runs may hold it back until its run is complete or [`Sender::flush`].
    fn try_send(&mut self, event: Event) -> Result<(), Event>;

    /// Makes everything sent visible to the receiver.
    fn flush(&mut self) {}
}

/// The reading side of a queue.
pub trait Receiver: Send {
    /// Pops one event without blocking.
    fn try_recv(&mut self) -> Option<Event>;

    /// Hands up to `max` waiting events to `f`; returns how many.
    fn drain(&mut self, f: &mut impl FnMut(Event), max: usize) -> usize {
        let mut taken = 0;
        while taken < max {
            match self.try_recv() {
                Some(event) => {
                    f(event);
                    taken += 1;
                }
                None => break,
            }
        }
        taken
    }
}

/// Which queue (and, for kspin-ring, which read call) a run uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueKind {
    /// kspin-ring read one value per `try_pop`.
    Kspin,
    /// kspin-ring read with `pop_batch` (one `head` store per batch).
    KspinBatch,
    /// rtrb 0.4 `push` / `pop`.
    Rtrb,
    /// crossbeam-queue 0.3 `ArrayQueue` (the baseline).
    ArrayQueue,
    /// kspin-ring carrying [`WireEvent`] the way the engine's bus does: `reserve` a run,
    /// `try_write` each event, one `publish` per run; the consumer reads with `pop_batch`, as
    /// the strategy host does.
    KspinWire,
    /// crossbeam-queue 0.3 `ArrayQueue` carrying [`WireEvent`] (the baseline of [`Self::KspinWire`]).
    ArrayQueueWire,
    /// Not a queue: a one-line mailbox the sender overwrites and the receiver polls (sequence
    /// and stamp in one cache line, no acknowledgement), so a message costs one line handover:
    /// the floor any core-to-core queue is judged against. Latency only.
    Mailbox,
}

impl QueueKind {
    /// Name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            QueueKind::Kspin => "kspin-ring",
            QueueKind::KspinBatch => "kspin-ring pop_batch",
            QueueKind::Rtrb => "rtrb",
            QueueKind::ArrayQueue => "crossbeam ArrayQueue",
            QueueKind::KspinWire => "kspin-ring WireEvent reserve/publish",
            QueueKind::ArrayQueueWire => "crossbeam ArrayQueue WireEvent",
            QueueKind::Mailbox => "floor: 1-line mailbox (not a queue)",
        }
    }
}

impl QueueKind {
    /// The element type the queue carries (rows are compared with the `ArrayQueue` of the same).
    pub fn element(self) -> &'static str {
        match self {
            QueueKind::KspinWire | QueueKind::ArrayQueueWire => "WireEvent",
            _ => "Event",
        }
    }
}

/// `event` as the wire event the bus writes most: a [`WireKind::BookLevels`] batch with every
/// level filled. The send stamp rides in `recv_tsc` (and `publish_tsc`, as the bus stamps both),
/// the sequence in the first level's price (bit for bit: `publish_tsc` only carries stamps
/// within 2^31 ticks of `recv_tsc`), the producer in the symbol.
#[inline]
pub fn to_wire(event: &Event) -> WireEvent {
    let level = event.sequence as i64;
    WireEvent::new(
        event.stamp,
        event.stamp,
        WireKind::BookLevels(LevelBatch {
            symbol: SymbolId(event.producer as u16),
            count: LEVELS_PER_BATCH as u8,
            sides: [BookSide::Bid, BookSide::Ask],
            prices: [Price(level), Price(level + 1)],
            qtys: [Qty(level), Qty(level + 2)],
        }),
    )
}

/// The [`Event`] a [`to_wire`] wire event carries.
#[inline]
pub fn from_wire(wire: &WireEvent) -> Event {
    let (producer, sequence) = match wire.kind() {
        WireKind::BookLevels(batch) => (u64::from(batch.symbol.0), batch.prices[0].0 as u64),
        _ => (u64::MAX, u64::MAX),
    };
    Event {
        stamp: wire.recv_tsc(),
        sequence,
        producer,
        payload: [0; 5],
    }
}

/// kspin-ring's producer used as the engine's bus uses it: room for `run` events is reserved
/// (from the cached view of the consumer, refreshed only when short), the events are written,
/// and the run is published with one Release store.
pub struct KspinWireSender {
    pub producer: kspin_ring::Producer<WireEvent>,
    /// Events per published run (1 in the latency runs: every event is its own message).
    pub run: usize,
}

impl Sender for KspinWireSender {
    #[inline]
    fn try_send(&mut self, event: Event) -> Result<(), Event> {
        if self.producer.unpublished() == 0 && !self.producer.reserve(self.run) {
            return Err(event);
        }
        if self.producer.try_write(to_wire(&event)).is_err() {
            return Err(event);
        }
        if self.producer.unpublished() >= self.run {
            self.producer.publish();
        }
        Ok(())
    }

    fn flush(&mut self) {
        self.producer.publish();
    }
}

/// kspin-ring's consumer of wire events, read with `pop_batch` like the strategy host.
pub struct KspinWireReceiver(pub kspin_ring::Consumer<WireEvent>);

impl Receiver for KspinWireReceiver {
    #[inline]
    fn try_recv(&mut self) -> Option<Event> {
        self.0.try_pop().map(|w| from_wire(&w))
    }

    #[inline]
    fn drain(&mut self, f: &mut impl FnMut(Event), max: usize) -> usize {
        self.0.pop_batch(|w| f(from_wire(&w)), max)
    }
}

/// One handle on a shared `ArrayQueue` of wire events.
#[derive(Clone)]
pub struct SharedArrayQueueWire(pub Arc<ArrayQueue<WireEvent>>);

impl Sender for SharedArrayQueueWire {
    #[inline]
    fn try_send(&mut self, event: Event) -> Result<(), Event> {
        self.0.push(to_wire(&event)).map_err(|w| from_wire(&w))
    }
}

impl Receiver for SharedArrayQueueWire {
    #[inline]
    fn try_recv(&mut self) -> Option<Event> {
        self.0.pop().map(|w| from_wire(&w))
    }
}

impl Sender for kspin_ring::Producer<Event> {
    #[inline]
    fn try_send(&mut self, event: Event) -> Result<(), Event> {
        self.try_push(event)
    }
}

/// kspin-ring consumer read one value at a time.
pub struct KspinPop(pub kspin_ring::Consumer<Event>);

impl Receiver for KspinPop {
    #[inline]
    fn try_recv(&mut self) -> Option<Event> {
        self.0.try_pop()
    }
}

/// kspin-ring consumer read in batches.
pub struct KspinBatch(pub kspin_ring::Consumer<Event>);

impl Receiver for KspinBatch {
    #[inline]
    fn try_recv(&mut self) -> Option<Event> {
        self.0.try_pop()
    }

    #[inline]
    fn drain(&mut self, f: &mut impl FnMut(Event), max: usize) -> usize {
        self.0.pop_batch(f, max)
    }
}

impl Sender for rtrb::Producer<Event> {
    #[inline]
    fn try_send(&mut self, event: Event) -> Result<(), Event> {
        self.push(event)
            .map_err(|rtrb::PushError::Full(event)| event)
    }
}

impl Receiver for rtrb::Consumer<Event> {
    #[inline]
    fn try_recv(&mut self) -> Option<Event> {
        self.pop().ok()
    }
}

/// One handle on a shared `ArrayQueue` (either side; clone it for more producers).
#[derive(Clone)]
pub struct SharedArrayQueue(pub Arc<ArrayQueue<Event>>);

impl Sender for SharedArrayQueue {
    #[inline]
    fn try_send(&mut self, event: Event) -> Result<(), Event> {
        self.0.push(event)
    }
}

impl Receiver for SharedArrayQueue {
    #[inline]
    fn try_recv(&mut self) -> Option<Event> {
        self.0.pop()
    }
}

/// Reads several receivers in turn, up to `per_receiver` events from each per visit, starting
/// each call where the last one stopped: how the engine core would poll one SPSC ring per
/// strategy core.
pub struct RoundRobin<R> {
    receivers: Vec<R>,
    per_receiver: usize,
    next: usize,
}

impl<R> RoundRobin<R> {
    /// Polls `receivers` in order, at most `per_receiver` events per visit.
    pub fn new(receivers: Vec<R>, per_receiver: usize) -> Self {
        Self {
            receivers,
            per_receiver,
            next: 0,
        }
    }
}

impl<R: Receiver> Receiver for RoundRobin<R> {
    fn try_recv(&mut self) -> Option<Event> {
        let mut event = None;
        self.drain(&mut |e| event = Some(e), 1);
        event
    }

    #[inline]
    fn drain(&mut self, f: &mut impl FnMut(Event), max: usize) -> usize {
        let count = self.receivers.len();
        let mut taken = 0;
        for _ in 0..count {
            if taken >= max {
                break;
            }
            let index = self.next;
            self.next = if index + 1 == count { 0 } else { index + 1 };
            taken += self.receivers[index].drain(f, self.per_receiver.min(max - taken));
        }
        taken
    }
}

/// The mailbox's single line: sequence and stamp together, written only by the sender.
#[repr(C, align(128))]
#[derive(Default)]
pub struct Mailbox {
    /// Number of events ever posted (0 = none yet).
    posted: AtomicU64,
    stamp: AtomicU64,
}

/// Posting side of a [`Mailbox`]. It never waits for the receiver: a post overwrites the
/// previous one, so the mailbox is only meaningful when paced slower than the receiver reads
/// (a skipped post shows up as an order error in the report).
pub struct MailboxSender {
    shared: Arc<Mailbox>,
    posted: u64,
}

/// Taking side of a [`Mailbox`].
pub struct MailboxReceiver {
    shared: Arc<Mailbox>,
    taken: u64,
}

/// A connected mailbox pair.
pub fn mailbox() -> (MailboxSender, MailboxReceiver) {
    let shared = Arc::new(Mailbox::default());
    (
        MailboxSender {
            shared: Arc::clone(&shared),
            posted: 0,
        },
        MailboxReceiver { shared, taken: 0 },
    )
}

impl Sender for MailboxSender {
    #[inline]
    fn try_send(&mut self, event: Event) -> Result<(), Event> {
        self.shared.stamp.store(event.stamp, Ordering::Relaxed);
        self.posted += 1;
        // Release: pairs with the receiver's Acquire load of `posted`, publishing the stamp.
        self.shared.posted.store(self.posted, Ordering::Release);
        Ok(())
    }
}

impl Receiver for MailboxReceiver {
    #[inline]
    fn try_recv(&mut self) -> Option<Event> {
        // Acquire: pairs with the sender's Release store of `posted`.
        let posted = self.shared.posted.load(Ordering::Acquire);
        if posted == self.taken {
            return None;
        }
        // May already be the next post's stamp if the sender outran us; at the benchmark's
        // pacing it does not (and the sequence gap would be reported).
        let stamp = self.shared.stamp.load(Ordering::Relaxed);
        self.taken = posted;
        Some(Event {
            stamp,
            sequence: posted - 1,
            ..Event::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wire_event_carries_stamp_sequence_and_producer_exactly() {
        // A real TSC stamp beside a small sequence: the sequence cannot ride in `publish_tsc`.
        for (stamp, sequence, producer) in [(1 << 50, 3, 1), (u64::MAX, u64::MAX, 7), (0, 1, 0)] {
            let event = Event {
                stamp,
                sequence,
                producer,
                payload: [0; 5],
            };
            let back = from_wire(&to_wire(&event));
            assert_eq!(
                (back.stamp, back.sequence, back.producer),
                (stamp, sequence, producer)
            );
        }
    }
}
