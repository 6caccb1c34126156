//! The two measurements, generic over the queue: paced one-way latency and unpaced throughput,
//! each with one or more producer threads and one consumer thread, all pinned. Invariants: every
//! queue kind runs this same code; the consumer checks per-producer order and counts (never
//! asserts, so a broken queue shows up in the report); the measured loops never allocate.

use crate::conditions::{set_up_thread, ThreadSetup};
use crate::queues::{Event, Receiver, Sender};
use crate::stats::{new_histogram, LatencySummary};
use kspin_ring::{IdlePolicy, Idler};
use quanta::Clock;
use std::sync::Barrier;
use std::thread;

/// Thread placement and waiting behaviour shared by all runs.
#[derive(Debug, Clone)]
pub struct Placement {
    /// Core of each producer thread (one entry per producer).
    pub producer_cores: Vec<usize>,
    pub consumer_core: usize,
    /// Ask for SCHED_FIFO on every benchmark thread.
    pub realtime: bool,
    /// What a producer does when the queue is full.
    pub producer_idle: IdlePolicy,
    /// What the consumer does on an empty poll.
    pub consumer_idle: IdlePolicy,
    /// Most events the consumer takes per poll.
    pub batch: usize,
}

/// How a latency run paces its sends.
#[derive(Debug, Clone, Copy)]
pub struct Pacing {
    /// Events per producer sent and not recorded before the recorded ones.
    pub warmup: u64,
    /// Events per producer recorded.
    pub samples: u64,
    /// Time between one producer's sends, ns.
    pub period_ns: u64,
    /// Producers that share a core wait for their next send with `sched_yield` instead of
    /// spinning, so they do not starve each other.
    pub yield_while_waiting: bool,
}

/// Result of one latency run.
#[derive(Debug, Clone)]
pub struct LatencyOutcome {
    pub summary: LatencySummary,
    /// Pushes that found the queue full and had to retry.
    pub full_retries: u64,
    pub order_errors: u64,
    pub threads: Vec<ThreadSetup>,
}

/// Result of one throughput run.
#[derive(Debug, Clone)]
pub struct ThroughputOutcome {
    pub messages: u64,
    pub messages_per_sec: f64,
    pub order_errors: u64,
}

/// How the consumer checks that each producer's events arrive once and in order, and knows
/// when every producer's last event has arrived (even if some were skipped).
struct OrderCheck {
    expected: Vec<u64>,
    per_producer: u64,
    finished_producers: usize,
    errors: u64,
}

impl OrderCheck {
    fn new(producers: usize, per_producer: u64) -> Self {
        Self {
            expected: vec![0; producers],
            per_producer,
            finished_producers: 0,
            errors: 0,
        }
    }

    #[inline]
    fn see(&mut self, event: &Event) {
        match self.expected.get_mut(event.producer as usize) {
            Some(expected) => {
                if *expected != event.sequence {
                    self.errors += 1;
                }
                *expected = event.sequence + 1;
                if *expected == self.per_producer {
                    self.finished_producers += 1;
                }
            }
            None => self.errors += 1,
        }
    }

    fn all_finished(&self) -> bool {
        self.finished_producers >= self.expected.len()
    }
}

/// Pushes `event`, retrying (with `idler`) while the queue is full; returns the retry count.
#[inline]
fn push_until_accepted<S: Sender>(sender: &mut S, mut event: Event, idler: &mut Idler) -> u64 {
    let mut retries = 0;
    loop {
        match sender.try_send(event) {
            Ok(()) => {
                idler.reset();
                return retries;
            }
            Err(returned) => {
                event = returned;
                retries += 1;
                idler.idle();
            }
        }
    }
}

/// Paced one-way latency: each producer sends `warmup + samples` events, each at least
/// `period_ns` after its previous one (producers offset evenly within the period), stamping each with the quanta raw
/// TSC just before the push; the consumer subtracts that stamp from its own raw TSC reading
/// right after the pop and records the scaled difference (warm-up events excluded).
pub fn latency<S: Sender, R: Receiver>(
    senders: Vec<S>,
    mut receiver: R,
    clock: &Clock,
    placement: &Placement,
    pacing: Pacing,
) -> LatencyOutcome {
    let Pacing {
        warmup,
        samples,
        period_ns,
        yield_while_waiting,
    } = pacing;
    let producers = senders.len();
    let per_producer = warmup + samples;
    let barrier = Barrier::new(producers + 1);
    thread::scope(|scope| {
        let producer_handles: Vec<_> = senders
            .into_iter()
            .zip(&placement.producer_cores)
            .enumerate()
            .map(|(id, (mut sender, &core))| {
                let barrier = &barrier;
                scope.spawn(move || {
                    let setup = set_up_thread(core, placement.realtime);
                    let mut idler = Idler::new(placement.producer_idle);
                    barrier.wait();
                    let start = clock.raw();
                    // Producers start evenly offset within one period.
                    let mut due = period_ns * id as u64 / producers as u64;
                    let mut retries = 0;
                    for sequence in 0..per_producer {
                        while clock.delta_as_nanos(start, clock.raw()) < due {
                            if yield_while_waiting {
                                thread::yield_now();
                            } else {
                                core::hint::spin_loop();
                            }
                        }
                        let event = Event {
                            stamp: clock.raw(),
                            sequence,
                            producer: id as u64,
                            payload: [sequence; 5],
                        };
                        retries += push_until_accepted(&mut sender, event, &mut idler);
                        // The next send is one period after this one, not after the schedule:
                        // a producer that was descheduled must not catch up in a burst, which
                        // would fill the queue and measure its depth instead of the hand-off.
                        due = clock.delta_as_nanos(start, clock.raw()) + period_ns;
                    }
                    sender.flush();
                    (setup, retries)
                })
            })
            .collect();

        let consumer_setup = set_up_thread(placement.consumer_core, placement.realtime);
        let mut histogram = new_histogram();
        let mut order = OrderCheck::new(producers, per_producer);
        let mut nonpositive = 0_u64;
        let mut idler = Idler::new(placement.consumer_idle);
        barrier.wait();
        while !order.all_finished() {
            let taken = receiver.drain(
                &mut |event| {
                    let now = clock.raw();
                    order.see(&event);
                    if event.sequence >= warmup {
                        if now <= event.stamp {
                            nonpositive += 1;
                        }
                        histogram.saturating_record(clock.delta_as_nanos(event.stamp, now).max(1));
                    }
                },
                placement.batch,
            );
            if taken == 0 {
                idler.idle();
            } else {
                idler.reset();
            }
        }
        let mut threads = Vec::with_capacity(producers + 1);
        let mut full_retries = 0;
        for handle in producer_handles {
            match handle.join() {
                Ok((setup, retries)) => {
                    threads.push(setup);
                    full_retries += retries;
                }
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        threads.push(consumer_setup);
        LatencyOutcome {
            summary: LatencySummary::from_histogram(&histogram, nonpositive),
            full_retries,
            order_errors: order.errors,
            threads,
        }
    })
}

/// Unpaced throughput: each producer pushes `per_producer` events as fast as the queue accepts
/// them; the consumer's clock runs from the start barrier to its last pop.
pub fn throughput<S: Sender, R: Receiver>(
    senders: Vec<S>,
    mut receiver: R,
    clock: &Clock,
    placement: &Placement,
    per_producer: u64,
) -> ThroughputOutcome {
    let producers = senders.len();
    let total = per_producer * producers as u64;
    let barrier = Barrier::new(producers + 1);
    thread::scope(|scope| {
        let producer_handles: Vec<_> = senders
            .into_iter()
            .zip(&placement.producer_cores)
            .enumerate()
            .map(|(id, (mut sender, &core))| {
                let barrier = &barrier;
                scope.spawn(move || {
                    set_up_thread(core, placement.realtime);
                    let mut idler = Idler::new(placement.producer_idle);
                    barrier.wait();
                    for sequence in 0..per_producer {
                        let event = Event {
                            stamp: 0,
                            sequence,
                            producer: id as u64,
                            payload: [sequence; 5],
                        };
                        push_until_accepted(&mut sender, event, &mut idler);
                    }
                    sender.flush();
                })
            })
            .collect();

        set_up_thread(placement.consumer_core, placement.realtime);
        let mut order = OrderCheck::new(producers, per_producer);
        let mut received = 0_u64;
        let mut idler = Idler::new(placement.consumer_idle);
        barrier.wait();
        let start = clock.raw();
        while received < total {
            let taken = receiver.drain(&mut |event| order.see(&event), placement.batch);
            received += taken as u64;
            if taken == 0 {
                idler.idle();
            } else {
                idler.reset();
            }
        }
        let elapsed_ns = clock.delta_as_nanos(start, clock.raw()).max(1);
        for handle in producer_handles {
            if let Err(panic) = handle.join() {
                std::panic::resume_unwind(panic);
            }
        }
        ThroughputOutcome {
            messages: total,
            messages_per_sec: total as f64 * 1e9 / elapsed_ns as f64,
            order_errors: order.errors,
        }
    })
}
