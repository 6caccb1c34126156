//! End-to-end: a producer thread and a consumer thread move millions of sequence numbers through
//! small rings; every value must arrive exactly once and in order. Both sides idle with
//! `SpinThenYield` so the test cannot livelock when the two threads share one core.

use kspin_ring::{spsc, IdlePolicy, Idler};
use std::thread;

const IDLE: IdlePolicy = IdlePolicy::SpinThenYield { spins: 64 };

/// 64-byte message like the engine's events: the sequence number plus a checksum of it spread
/// over the rest, so a torn (half-written) slot would be caught.
#[derive(Clone, Copy)]
#[repr(C)]
struct Message {
    sequence: u64,
    copies: [u64; 7],
}

impl Message {
    fn new(sequence: u64) -> Self {
        Self {
            sequence,
            copies: [sequence.wrapping_mul(0x9E37_79B9_7F4A_7C15); 7],
        }
    }

    fn is_whole(&self) -> bool {
        self.copies
            .iter()
            .all(|&c| c == self.sequence.wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }
}

fn produce(mut producer: kspin_ring::Producer<Message>, count: u64) {
    let mut idler = Idler::new(IDLE);
    for sequence in 0..count {
        let mut message = Message::new(sequence);
        loop {
            match producer.try_push(message) {
                Ok(()) => break,
                Err(returned) => {
                    message = returned;
                    idler.idle();
                }
            }
        }
        idler.reset();
    }
}

#[test]
fn four_million_messages_arrive_once_in_order_with_try_pop() {
    const COUNT: u64 = 4_000_000;
    let (producer, mut consumer) = spsc::<Message>(64);
    let producer_thread = thread::spawn(move || produce(producer, COUNT));
    let mut idler = Idler::new(IDLE);
    let mut expected = 0_u64;
    while expected < COUNT {
        match consumer.try_pop() {
            Some(message) => {
                assert_eq!(message.sequence, expected);
                assert!(message.is_whole(), "torn message {expected}");
                expected += 1;
                idler.reset();
            }
            None => idler.idle(),
        }
    }
    producer_thread.join().unwrap();
    assert_eq!(consumer.try_pop().map(|m| m.sequence), None);
    assert!(consumer.is_abandoned());
}

#[test]
fn four_million_messages_arrive_once_in_order_with_pop_batch() {
    const COUNT: u64 = 4_000_000;
    let (producer, mut consumer) = spsc::<Message>(32);
    let producer_thread = thread::spawn(move || produce(producer, COUNT));
    let mut idler = Idler::new(IDLE);
    let mut expected = 0_u64;
    let mut torn = 0_u64;
    let mut misordered = 0_u64;
    while expected < COUNT {
        let taken = consumer.pop_batch(
            |message| {
                misordered += u64::from(message.sequence != expected);
                torn += u64::from(!message.is_whole());
                expected += 1;
            },
            // Odd batch limit so batches end at every ring offset.
            13,
        );
        if taken == 0 {
            idler.idle();
        } else {
            idler.reset();
        }
    }
    producer_thread.join().unwrap();
    assert_eq!(expected, COUNT);
    assert_eq!(misordered, 0);
    assert_eq!(torn, 0);
    assert!(consumer.is_empty());
}

#[test]
fn capacity_two_ring_still_delivers_everything() {
    const COUNT: u64 = 1_000_000;
    let (producer, mut consumer) = spsc::<u64>(2);
    let producer_thread = thread::spawn(move || {
        let mut producer = producer;
        let mut idler = Idler::new(IDLE);
        for sequence in 0..COUNT {
            while producer.try_push(sequence).is_err() {
                idler.idle();
            }
            idler.reset();
        }
    });
    let mut idler = Idler::new(IDLE);
    let mut sum = 0_u64;
    let mut expected = 0_u64;
    while expected < COUNT {
        match consumer.try_pop() {
            Some(sequence) => {
                assert_eq!(sequence, expected);
                sum += sequence;
                expected += 1;
                idler.reset();
            }
            None => idler.idle(),
        }
    }
    producer_thread.join().unwrap();
    assert_eq!(sum, COUNT * (COUNT - 1) / 2);
}
