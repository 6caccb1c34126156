//! `ring_latency`: one-way core-to-core latency and throughput of kspin-ring against rtrb and
//! crossbeam's `ArrayQueue` in the same run, with the benchmark's 64-byte event and with the
//! production `WireEvent` through the bus's reserve/publish and pop_batch calls, against the
//! one-cache-line floor; plus N SPSC rings polled round-robin against one `ArrayQueue` with N
//! producers. Owns only the command line, the round scheduling and the
//! report; the measured loops are in `runs`. Never asserts on timing: it reports.
//!
//! Run: `cargo run --release -p kspin-bench --bin ring_latency -- --help`

mod conditions;
mod queues;
mod report;
mod runs;
mod stats;

use clap::Parser;
use conditions::{CpuSample, RunConditions};
use crossbeam_queue::ArrayQueue;
use kspin_ring::IdlePolicy;
use queues::{
    KspinBatch, KspinPop, KspinWireReceiver, KspinWireSender, QueueKind, RoundRobin,
    SharedArrayQueue, SharedArrayQueueWire,
};
use report::{Report, ResultSet};
use runs::{LatencyOutcome, Pacing, Placement, ThroughputOutcome};
use std::sync::Arc;

/// One-way latency (p50/p99/p99.9/max) and throughput of kspin-ring vs rtrb vs crossbeam
/// ArrayQueue, 64-byte events and the 60-byte production WireEvent, producer and consumer pinned
/// to different cores.
#[derive(Parser, Debug, Clone)]
#[command(version)]
pub struct Args {
    /// Core for the producer thread (all producers in the N-producer runs).
    #[arg(long, default_value_t = 0)]
    producer_core: usize,
    /// Core for the consumer thread.
    #[arg(long, default_value_t = 1)]
    consumer_core: usize,
    /// Slots per queue (rounded up to a power of two by the SPSC rings).
    #[arg(long, default_value_t = 1024)]
    capacity: usize,
    /// Latency samples recorded per queue per round (after the warm-up).
    #[arg(long, default_value_t = 200_000)]
    samples: u64,
    /// Latency events sent and discarded before recording, per queue per round.
    #[arg(long, default_value_t = 20_000)]
    warmup: u64,
    /// Minimum time between one producer's sends in the latency runs, ns (never bursts to catch
    /// up after being descheduled).
    #[arg(long, default_value_t = 1_000)]
    period_ns: u64,
    /// Messages per queue per round in the throughput runs.
    #[arg(long, default_value_t = 10_000_000)]
    messages: u64,
    /// Most events the consumer takes per poll.
    #[arg(long, default_value_t = 32)]
    batch: usize,
    /// Wire events per reserve/publish in the WireEvent throughput run (a book update of one or
    /// two levels is one BookLevels and one BookDone event); latency runs publish each event.
    #[arg(long, default_value_t = 2)]
    wire_run: usize,
    /// Rounds; each figure reported is the median over rounds (queue order rotates per round).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Producers in the N-producer comparison (0 skips it). They all share --producer-core.
    #[arg(long, default_value_t = 2)]
    mpsc_producers: usize,
    /// Messages per producer per round in the N-producer throughput run.
    #[arg(long, default_value_t = 2_000_000)]
    mpsc_messages: u64,
    /// Consumer idle on an empty poll: spin, or spin this many polls then sched_yield
    /// (0 = always spin).
    #[arg(long, default_value_t = 0)]
    consumer_spins_before_yield: u32,
    /// Put benchmark threads in SCHED_FIFO (needs CAP_SYS_NICE; reported either way).
    #[arg(long)]
    rt: bool,
    /// Print one JSON object instead of the text report.
    #[arg(long)]
    json: bool,
}

const SPSC_KINDS: [QueueKind; 7] = [
    QueueKind::Mailbox,
    QueueKind::Kspin,
    QueueKind::KspinBatch,
    QueueKind::Rtrb,
    QueueKind::ArrayQueue,
    QueueKind::KspinWire,
    QueueKind::ArrayQueueWire,
];

/// Producers sharing one core must not spin away each other's time slice when the queue is
/// full, so they spin briefly then yield.
const SHARED_CORE_IDLE: IdlePolicy = IdlePolicy::SpinThenYield { spins: 100 };

fn spsc_latency(
    kind: QueueKind,
    args: &Args,
    clock: &quanta::Clock,
    p: &Placement,
) -> LatencyOutcome {
    let pacing = Pacing {
        warmup: args.warmup,
        samples: args.samples,
        period_ns: args.period_ns,
        yield_while_waiting: false,
    };
    match kind {
        QueueKind::Kspin => {
            let (tx, rx) = kspin_ring::spsc(args.capacity);
            runs::latency(vec![tx], KspinPop(rx), clock, p, pacing)
        }
        QueueKind::KspinBatch => {
            let (tx, rx) = kspin_ring::spsc(args.capacity);
            runs::latency(vec![tx], KspinBatch(rx), clock, p, pacing)
        }
        QueueKind::Rtrb => {
            let (tx, rx) = rtrb::RingBuffer::new(args.capacity);
            runs::latency(vec![tx], rx, clock, p, pacing)
        }
        QueueKind::ArrayQueue => {
            let queue = SharedArrayQueue(Arc::new(ArrayQueue::new(args.capacity)));
            runs::latency(vec![queue.clone()], queue, clock, p, pacing)
        }
        QueueKind::KspinWire => {
            let (tx, rx) = kspin_ring::spsc(args.capacity);
            let tx = KspinWireSender {
                producer: tx,
                run: 1,
            };
            runs::latency(vec![tx], KspinWireReceiver(rx), clock, p, pacing)
        }
        QueueKind::ArrayQueueWire => {
            let queue = SharedArrayQueueWire(Arc::new(ArrayQueue::new(args.capacity)));
            runs::latency(vec![queue.clone()], queue, clock, p, pacing)
        }
        QueueKind::Mailbox => {
            let (tx, rx) = queues::mailbox();
            runs::latency(vec![tx], rx, clock, p, pacing)
        }
    }
}

fn spsc_throughput(
    kind: QueueKind,
    args: &Args,
    clock: &quanta::Clock,
    p: &Placement,
) -> Option<ThroughputOutcome> {
    let n = args.messages;
    match kind {
        QueueKind::Kspin => {
            let (tx, rx) = kspin_ring::spsc(args.capacity);
            Some(runs::throughput(vec![tx], KspinPop(rx), clock, p, n))
        }
        QueueKind::KspinBatch => {
            let (tx, rx) = kspin_ring::spsc(args.capacity);
            Some(runs::throughput(vec![tx], KspinBatch(rx), clock, p, n))
        }
        QueueKind::Rtrb => {
            let (tx, rx) = rtrb::RingBuffer::new(args.capacity);
            Some(runs::throughput(vec![tx], rx, clock, p, n))
        }
        QueueKind::ArrayQueue => {
            let queue = SharedArrayQueue(Arc::new(ArrayQueue::new(args.capacity)));
            Some(runs::throughput(vec![queue.clone()], queue, clock, p, n))
        }
        QueueKind::KspinWire => {
            let (tx, rx) = kspin_ring::spsc(args.capacity);
            let tx = KspinWireSender {
                producer: tx,
                run: args.wire_run.max(1),
            };
            Some(runs::throughput(
                vec![tx],
                KspinWireReceiver(rx),
                clock,
                p,
                n,
            ))
        }
        QueueKind::ArrayQueueWire => {
            let queue = SharedArrayQueueWire(Arc::new(ArrayQueue::new(args.capacity)));
            Some(runs::throughput(vec![queue.clone()], queue, clock, p, n))
        }
        QueueKind::Mailbox => None,
    }
}

/// The two N-producer designs: `true` = N kspin rings polled round-robin, `false` = one
/// ArrayQueue with N producers (same total slots).
fn mpsc_run(
    rings: bool,
    args: &Args,
    clock: &quanta::Clock,
    p: &Placement,
) -> (LatencyOutcome, ThroughputOutcome) {
    let n = args.mpsc_producers;
    // Each producer sends every `period * n`, so the consumer sees one event per period.
    let pacing = Pacing {
        warmup: args.warmup / n as u64,
        samples: args.samples / n as u64,
        period_ns: args.period_ns * n as u64,
        yield_while_waiting: true,
    };
    let build_rings = || {
        let (senders, receivers): (Vec<_>, Vec<_>) =
            (0..n).map(|_| kspin_ring::spsc(args.capacity)).unzip();
        let receivers = receivers.into_iter().map(KspinBatch).collect();
        (senders, RoundRobin::new(receivers, args.batch))
    };
    let build_queue = || {
        let queue = SharedArrayQueue(Arc::new(ArrayQueue::new(args.capacity * n)));
        (vec![queue.clone(); n], queue)
    };
    if rings {
        let (tx, rx) = build_rings();
        let latency = runs::latency(tx, rx, clock, p, pacing);
        let (tx, rx) = build_rings();
        (
            latency,
            runs::throughput(tx, rx, clock, p, args.mpsc_messages),
        )
    } else {
        let (tx, rx) = build_queue();
        let latency = runs::latency(tx, rx, clock, p, pacing);
        let (tx, rx) = build_queue();
        (
            latency,
            runs::throughput(tx, rx, clock, p, args.mpsc_messages),
        )
    }
}

fn main() {
    let args = Args::parse();
    let clock = quanta::Clock::new();
    let conditions = RunConditions::gather(&clock);
    let consumer_idle = match args.consumer_spins_before_yield {
        0 => IdlePolicy::Spin,
        spins => IdlePolicy::SpinThenYield { spins },
    };
    let spsc_placement = Placement {
        producer_cores: vec![args.producer_core],
        consumer_core: args.consumer_core,
        realtime: args.rt,
        producer_idle: IdlePolicy::Spin,
        consumer_idle,
        batch: args.batch,
    };
    let mpsc_placement = Placement {
        producer_cores: vec![args.producer_core; args.mpsc_producers],
        producer_idle: SHARED_CORE_IDLE,
        ..spsc_placement.clone()
    };

    let mut spsc: Vec<ResultSet> = SPSC_KINDS
        .iter()
        .map(|k| ResultSet::new(k.name()).carrying(k.element()))
        .collect();
    let mut mpsc = [
        ResultSet::new(format!("{}x kspin-ring, round-robin", args.mpsc_producers)),
        ResultSet::new(format!("ArrayQueue, {} producers", args.mpsc_producers)),
    ];
    let mut cpu_per_round = Vec::with_capacity(args.rounds);
    for round in 0..args.rounds {
        let cpu_start = CpuSample::now();
        for step in 0..SPSC_KINDS.len() {
            let index = (step + round) % SPSC_KINDS.len();
            let kind = SPSC_KINDS[index];
            let latency = spsc_latency(kind, &args, &clock, &spsc_placement);
            let throughput = spsc_throughput(kind, &args, &clock, &spsc_placement);
            spsc[index].push(latency, throughput);
        }
        if args.mpsc_producers > 0 {
            for step in 0..2 {
                let index = (step + round) % 2;
                let (latency, throughput) = mpsc_run(index == 0, &args, &clock, &mpsc_placement);
                mpsc[index].push(latency, Some(throughput));
            }
        }
        cpu_per_round.push(cpu_start.foreign_and_steal_percent(&CpuSample::now()));
    }
    let report = Report {
        args: &args,
        conditions: &conditions,
        cpu_per_round: &cpu_per_round,
        spsc: &spsc,
        mpsc: if args.mpsc_producers > 0 {
            &mpsc[..]
        } else {
            &[]
        },
    };
    if args.json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.to_text());
    }
}
