//! Model checks of the ring's memory ordering with loom: every interleaving and every reordering
//! the C11 memory model allows for the producer and consumer threads is explored, and in each
//! the consumer sees exactly the values the producer published, in order, each once, and never a
//! value written but not yet published. Runs only under `--cfg loom`:
//!
//! ```sh
//! RUSTFLAGS="--cfg loom" cargo test -p kspin-ring --test loom_model --release --target-dir target/loom
//! ```
#![cfg(loom)]

use kspin_ring::spsc;

/// Push three values through a two-slot ring (so the producer meets a full ring and must see
/// the consumer's releases), pop them one at a time.
#[test]
fn push_pop_is_fifo_under_every_interleaving() {
    loom::model(|| {
        let (mut producer, mut consumer) = spsc::<u32>(2);
        let writer = loom::thread::spawn(move || {
            for value in 0..3 {
                while producer.try_push(value).is_err() {
                    loom::thread::yield_now();
                }
            }
        });
        let mut next = 0;
        while next < 3 {
            match consumer.try_pop() {
                Some(value) => {
                    assert_eq!(value, next);
                    next += 1;
                }
                None => loom::thread::yield_now(),
            }
        }
        writer.join().unwrap();
        assert_eq!(consumer.try_pop(), None);
    });
}

/// A message written as two values and published once is seen whole or not at all.
#[test]
fn a_published_batch_is_seen_whole() {
    loom::model(|| {
        let (mut producer, mut consumer) = spsc::<u32>(4);
        let writer = loom::thread::spawn(move || {
            assert!(producer.reserve(2));
            producer.try_write(10).unwrap();
            producer.try_write(11).unwrap();
            producer.publish();
        });
        loop {
            let waiting = consumer.len();
            assert!(waiting == 0 || waiting == 2, "saw half a batch: {waiting}");
            let mut seen = Vec::new();
            if consumer.pop_batch(|v| seen.push(v), 4) > 0 {
                assert_eq!(seen, [10, 11]);
                break;
            }
            loom::thread::yield_now();
        }
        writer.join().unwrap();
    });
}

/// Slots released by `pop_batch` are reused by the producer only after the consumer's reads of
/// them: values written into reused slots arrive intact.
#[test]
fn batch_release_orders_reads_before_reuse() {
    loom::model(|| {
        let (mut producer, mut consumer) = spsc::<u32>(2);
        let writer = loom::thread::spawn(move || {
            for value in 0..4 {
                while producer.try_push(value).is_err() {
                    loom::thread::yield_now();
                }
            }
        });
        let mut seen = Vec::new();
        while seen.len() < 4 {
            if consumer.pop_batch(|v| seen.push(v), 2) == 0 {
                loom::thread::yield_now();
            }
        }
        writer.join().unwrap();
        assert_eq!(seen, [0, 1, 2, 3]);
    });
}

/// The later values of a publish carry Relaxed sequences: a consumer that takes them one call at
/// a time, after the first, still reads them whole, and a second publish into reused slots
/// arrives in order.
#[test]
fn later_values_of_a_publish_are_read_whole_one_at_a_time() {
    loom::model(|| {
        let (mut producer, mut consumer) = spsc::<u32>(2);
        let writer = loom::thread::spawn(move || {
            for first in [10, 20] {
                while !producer.reserve(2) {
                    loom::thread::yield_now();
                }
                producer.try_write(first).unwrap();
                producer.try_write(first + 1).unwrap();
                producer.publish();
            }
        });
        let mut seen = Vec::new();
        while seen.len() < 4 {
            match consumer.try_pop() {
                Some(value) => seen.push(value),
                None => loom::thread::yield_now(),
            }
        }
        writer.join().unwrap();
        assert_eq!(seen, [10, 11, 20, 21]);
    });
}
