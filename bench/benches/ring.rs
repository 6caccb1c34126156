//! Single-thread cost of one push plus one pop of a 64-byte event (no cross-core traffic: the
//! instruction-path cost of each queue), for kspin-ring, rtrb and crossbeam's `ArrayQueue`
//! (the baseline), and kspin-ring's `pop_batch` over 32 events; then the production case: the
//! engine → strategy `WireEvent`, written as the bus writes a book message (`reserve` the run,
//! `try_write` each event, one `publish`) and read with `pop_batch` as the strategy host reads
//! it, beside `ArrayQueue<WireEvent>`. Cross-core latency and throughput are measured by the
//! `ring_latency` binary instead.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use crossbeam_queue::ArrayQueue;
use kspin_api::wire::{BookDone, LevelBatch, WireEvent, WireKind};
use kspin_api::{BookSide, Price, Qty, SymbolId};
use std::hint::black_box;

#[derive(Clone, Copy, Default)]
#[repr(C, align(64))]
struct Event {
    stamp: u64,
    sequence: u64,
    payload: [u64; 6],
}

const CAPACITY: usize = 1024;
const BATCH: u64 = 32;

fn push_pop(c: &mut Criterion) {
    let mut group = c.benchmark_group("push_pop_64B");
    group.throughput(Throughput::Elements(1));

    let queue = ArrayQueue::new(CAPACITY);
    group.bench_function("crossbeam ArrayQueue", |b| {
        let mut sequence = 0_u64;
        b.iter(|| {
            sequence += 1;
            let _ = queue.push(black_box(Event {
                sequence,
                ..Event::default()
            }));
            black_box(queue.pop())
        })
    });

    let (mut tx, mut rx) = rtrb::RingBuffer::new(CAPACITY);
    group.bench_function("rtrb", |b| {
        let mut sequence = 0_u64;
        b.iter(|| {
            sequence += 1;
            let _ = tx.push(black_box(Event {
                sequence,
                ..Event::default()
            }));
            black_box(rx.pop().ok())
        })
    });

    let (mut tx, mut rx) = kspin_ring::spsc(CAPACITY);
    group.bench_function("kspin-ring", |b| {
        let mut sequence = 0_u64;
        b.iter(|| {
            sequence += 1;
            let _ = tx.try_push(black_box(Event {
                sequence,
                ..Event::default()
            }));
            black_box(rx.try_pop())
        })
    });
    group.finish();

    let mut group = c.benchmark_group("push32_pop_batch32_64B");
    group.throughput(Throughput::Elements(BATCH));
    let (mut tx, mut rx) = kspin_ring::spsc::<Event>(CAPACITY);
    group.bench_function("kspin-ring pop_batch", |b| {
        let mut sequence = 0_u64;
        b.iter(|| {
            for _ in 0..BATCH {
                sequence += 1;
                let _ = tx.try_push(black_box(Event {
                    sequence,
                    ..Event::default()
                }));
            }
            let mut sum = 0_u64;
            rx.pop_batch(|e| sum = sum.wrapping_add(e.sequence), BATCH as usize);
            black_box(sum)
        })
    });
    let (mut tx, mut rx) = kspin_ring::spsc::<Event>(CAPACITY);
    group.bench_function("kspin-ring try_pop x32", |b| {
        let mut sequence = 0_u64;
        b.iter(|| {
            for _ in 0..BATCH {
                sequence += 1;
                let _ = tx.try_push(black_box(Event {
                    sequence,
                    ..Event::default()
                }));
            }
            let mut sum = 0_u64;
            while let Some(e) = rx.try_pop() {
                sum = sum.wrapping_add(e.sequence);
            }
            black_box(sum)
        })
    });
    group.finish();
}

/// One book update of two levels as the bus sends it: one `BookLevels`, one `BookDone`.
fn book_message(sequence: u64) -> [WireEvent; 2] {
    let level = sequence as i64;
    let symbol = SymbolId(0);
    [
        WireEvent::new(
            sequence,
            sequence,
            WireKind::BookLevels(LevelBatch {
                symbol,
                count: 2,
                sides: [BookSide::Bid, BookSide::Ask],
                prices: [Price(level), Price(level + 1)],
                qtys: [Qty(level), Qty(level + 2)],
            }),
        ),
        WireEvent::new(
            sequence,
            sequence,
            WireKind::BookDone(BookDone {
                symbol,
                levels_changed: 2,
                snapshot: false,
                time_ns: sequence,
                top: sequence,
            }),
        ),
    ]
}

fn wire_events(c: &mut Criterion) {
    let mut group = c.benchmark_group("wire_event_book_message_2_events");
    group.throughput(Throughput::Elements(2));
    let queue = ArrayQueue::<WireEvent>::new(CAPACITY);
    group.bench_function("crossbeam ArrayQueue push x2 pop x2", |b| {
        let mut sequence = 0_u64;
        b.iter(|| {
            sequence += 1;
            for event in black_box(book_message(sequence)) {
                let _ = queue.push(event);
            }
            let mut sum = 0_u64;
            while let Some(e) = queue.pop() {
                sum = sum.wrapping_add(e.recv_tsc());
            }
            black_box(sum)
        })
    });
    let (mut tx, mut rx) = kspin_ring::spsc::<WireEvent>(CAPACITY);
    group.bench_function("kspin-ring reserve/try_write x2/publish, pop_batch", |b| {
        let mut sequence = 0_u64;
        b.iter(|| {
            sequence += 1;
            let events = black_box(book_message(sequence));
            if tx.reserve(events.len()) {
                for event in events {
                    let _ = tx.try_write(event);
                }
                tx.publish();
            }
            let mut sum = 0_u64;
            rx.pop_batch(|e| sum = sum.wrapping_add(e.recv_tsc()), 64);
            black_box(sum)
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    // Short: a shared 2-core machine; each figure is a ratio to ArrayQueue in the same run.
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2));
    targets = push_pop, wire_events
}
criterion_main!(benches);
