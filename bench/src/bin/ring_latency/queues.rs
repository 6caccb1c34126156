//! The three queues under test behind one pair of traits, so every measurement runs the very
//! same loop for each: kspin-ring (`try_pop` or `pop_batch`), rtrb and crossbeam's
//! `ArrayQueue`, plus a round-robin reader over several receivers for the N-producer case.
//! Invariant: all queues get the same capacity and carry the same 64-byte [`Event`].

use crossbeam_queue::ArrayQueue;
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
    /// Pushes without blocking; gives the event back when the queue is full.
    fn try_send(&mut self, event: Event) -> Result<(), Event>;
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
            QueueKind::Mailbox => "floor: 1-line mailbox (not a queue)",
        }
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
