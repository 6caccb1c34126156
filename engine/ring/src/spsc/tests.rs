//! Unit tests of the ring: capacity rounding and limits, publish visibility, slot sequences,
//! counter wrap-around, placement of slots in lines and pages, batches, abandonment.
use super::*;

/// Every value the consumer can see now (at most 8, more than any test here publishes), in order.
fn published(consumer: &mut Consumer<u32>) -> Vec<u32> {
    let mut seen = Vec::new();
    consumer.pop_batch(|v| seen.push(v), 8);
    seen
}

#[test]
fn capacity_rounds_up_to_a_power_of_two_of_at_least_two() {
    for (asked, got) in [(0, 2), (1, 2), (2, 2), (3, 4), (4, 4), (5, 8), (1000, 1024)] {
        let (producer, consumer) = spsc::<u64>(asked);
        assert_eq!(producer.capacity(), got, "asked {asked}");
        assert_eq!(consumer.capacity(), got, "asked {asked}");
    }
}

#[test]
fn unrepresentable_capacity_is_an_error() {
    let error = try_spsc::<u64>(usize::MAX).unwrap_err();
    assert_eq!(
        error,
        RingError::CapacityTooLarge {
            requested: usize::MAX
        }
    );
    assert!(try_spsc::<[u8; 64]>(usize::MAX / 64).is_err());
    // More than 2^31 slots rounds up to 2^32, where a slot's 32-bit sequence would repeat
    // on consecutive laps (refused before anything is allocated, whatever the slot size).
    assert!(try_spsc::<()>((1 << 31) + 1).is_err());
    assert!(try_spsc::<u8>(4).is_ok());
}

#[test]
#[should_panic(expected = "too large")]
fn spsc_panics_on_unrepresentable_capacity() {
    let _ = spsc::<u64>(usize::MAX);
}

#[test]
fn empty_ring_pops_nothing() {
    let (producer, mut consumer) = spsc::<u32>(4);
    assert_eq!(consumer.try_pop(), None);
    assert!(consumer.is_empty());
    assert_eq!(consumer.len(), 0);
    assert_eq!(consumer.pop_batch(|_| panic!("no value expected"), 8), 0);
    assert_eq!(producer.free_slots(), 4);
}

#[test]
fn full_ring_rejects_and_returns_the_value() {
    let (mut producer, mut consumer) = spsc::<u32>(4);
    for value in 0..4 {
        assert_eq!(producer.try_push(value), Ok(()));
        assert_eq!(producer.free_slots(), 3 - value as usize);
    }
    assert_eq!(producer.try_push(99), Err(99));
    assert_eq!(consumer.len(), 4);
    assert_eq!(consumer.try_pop(), Some(0));
    assert_eq!(producer.free_slots(), 1);
    assert_eq!(producer.try_push(4), Ok(()));
    assert_eq!(producer.try_push(100), Err(100));
    let mut seen = Vec::new();
    assert_eq!(consumer.pop_batch(|v| seen.push(v), usize::MAX), 4);
    assert_eq!(seen, [1, 2, 3, 4]);
    assert!(consumer.is_empty());
}

#[test]
fn wraps_around_many_times_in_order() {
    let (mut producer, mut consumer) = spsc::<u64>(8);
    let mut next_in = 0_u64;
    let mut next_out = 0_u64;
    // Varying fill levels so head and tail wrap at every offset.
    for round in 0..10_000_u64 {
        let burst = round % 9;
        for _ in 0..burst {
            assert_eq!(producer.try_push(next_in), Ok(()));
            next_in += 1;
        }
        assert_eq!(consumer.len() as u64, burst);
        let take = if round % 2 == 0 { burst } else { burst / 2 };
        let taken = consumer.pop_batch(
            |v| {
                assert_eq!(v, next_out);
                next_out += 1;
            },
            take as usize,
        );
        assert_eq!(taken as u64, take);
        while let Some(v) = consumer.try_pop() {
            assert_eq!(v, next_out);
            next_out += 1;
        }
    }
    assert_eq!(next_in, next_out);
    assert!(next_in > 1000 * 8);
}

#[test]
fn counters_wrap_past_usize_max() {
    let (mut producer, mut consumer) = spsc::<u64>(4);
    let start = usize::MAX - 5;
    producer.tail = start;
    producer.published = start;
    producer.cached_head = start;
    producer.ring.head.store(start, Ordering::Relaxed);
    consumer.head = start;
    // Every slot as if it held its counter's value one lap before `start..start + 4`.
    for counter in start..start + 4 {
        producer
            .ring
            .slot(counter & 3)
            .seq
            .store(seq_of(counter.wrapping_sub(4)), Ordering::Relaxed);
    }
    assert_eq!(consumer.try_pop(), None);
    assert!(consumer.is_empty());
    for value in 0..40_u64 {
        assert_eq!(producer.try_push(value), Ok(()));
        assert_eq!(producer.try_push(value + 1000), Ok(()));
        assert_eq!(consumer.len(), 2);
        assert!(!consumer.is_empty());
        assert_eq!(consumer.try_pop(), Some(value));
        assert_eq!(consumer.try_pop(), Some(value + 1000));
    }
    for value in 0..4 {
        assert_eq!(producer.try_push(value), Ok(()));
    }
    assert_eq!(producer.try_push(4), Err(4));
    assert_eq!(producer.free_slots(), 0);
}

#[test]
fn written_values_are_invisible_until_published_then_all_at_once() {
    let (mut producer, mut consumer) = spsc::<u32>(4);
    assert!(producer.reserve(3));
    for value in 0..3 {
        assert_eq!(producer.try_write(value), Ok(()));
    }
    assert_eq!(producer.unpublished(), 3);
    assert_eq!(consumer.len(), 0);
    assert_eq!(consumer.try_pop(), None);
    producer.publish();
    assert_eq!(producer.unpublished(), 0);
    assert_eq!(consumer.len(), 3);
    // One more fits; a fifth does not, whatever the view.
    assert!(producer.reserve(1));
    assert!(!producer.reserve(2));
    assert_eq!(producer.try_write(3), Ok(()));
    assert_eq!(producer.try_write(4), Err(4));
    producer.publish();
    assert_eq!(published(&mut consumer), [0, 1, 2, 3]);
}

#[test]
fn a_written_run_is_all_or_nothing_and_wraps_around() {
    let (mut producer, mut consumer) = spsc::<u32>(4);
    producer.try_push(9).unwrap();
    producer.try_push(9).unwrap();
    assert_eq!(consumer.pop_batch(|_| {}, 2), 2);
    // The cached view still says two are taken: a run of three does not fit it.
    assert!(!producer.try_write_run(&[1, 2, 3]));
    assert_eq!(producer.unpublished(), 0);
    assert!(producer.reserve(3));
    // Slots 2, 3, then 0: across the end of the array.
    assert!(producer.try_write_run(&[1, 2, 3]));
    assert!(producer.try_write_run(&[]));
    assert_eq!(consumer.len(), 0);
    producer.publish();
    assert!(producer.try_write_run(&[4]));
    assert!(!producer.try_write_run(&[5]));
    producer.publish();
    assert_eq!(published(&mut consumer), [1, 2, 3, 4]);
}

#[test]
fn reserve_refreshes_the_consumer_position_only_when_needed() {
    let (mut producer, mut consumer) = spsc::<u32>(4);
    for value in 0..4 {
        producer.try_push(value).unwrap();
    }
    assert!(!producer.reserve(1));
    assert_eq!(consumer.pop_batch(|_| {}, 2), 2);
    // The cached view is stale (full); reserve reads the consumer's head again.
    assert!(producer.reserve(2));
    assert!(!producer.reserve(3));
}

#[test]
fn discarded_writes_never_reach_the_consumer() {
    let (mut producer, mut consumer) = spsc::<u32>(4);
    producer.try_push(1).unwrap();
    producer.try_write(2).unwrap();
    producer.try_write(3).unwrap();
    producer.discard_unpublished();
    assert_eq!(producer.unpublished(), 0);
    producer.try_push(4).unwrap();
    assert_eq!(published(&mut consumer), [1, 4]);
}

#[test]
fn try_push_publishes_earlier_writes_too() {
    let (mut producer, mut consumer) = spsc::<u32>(4);
    producer.try_write(1).unwrap();
    producer.try_push(2).unwrap();
    assert_eq!(consumer.len(), 2);
    assert_eq!(consumer.try_pop(), Some(1));
}

#[test]
fn slots_of_60_byte_values_with_their_sequence_each_fill_one_cache_line() {
    #[derive(Clone, Copy)]
    #[repr(C)]
    struct Wire([u32; 15]);
    let (producer, _consumer) = spsc::<Wire>(8);
    for index in 0..8 {
        let slot = producer.ring.slot(index);
        let start = slot as *const _ as usize;
        assert_eq!(start % 64, 0);
        assert_eq!(core::mem::size_of_val(slot), 64);
        // The sequence the consumer polls is in the value's own line.
        assert_eq!(&slot.seq as *const _ as usize / 64, start / 64);
    }
}

#[test]
fn a_value_becomes_visible_only_with_its_sequence_and_slots_start_one_lap_back() {
    let (mut producer, mut consumer) = spsc::<u64>(4);
    for index in 0..4 {
        let seq = producer.ring.slot(index).seq.load(Ordering::Relaxed);
        assert_eq!(seq, seq_of(index.wrapping_sub(4)));
        assert_ne!(seq, seq_of(index));
    }
    producer.try_write(7).unwrap();
    assert_eq!(
        producer.ring.slot(0).seq.load(Ordering::Relaxed),
        seq_of(0usize.wrapping_sub(4))
    );
    assert!(consumer.is_empty());
    producer.publish();
    assert_eq!(producer.ring.slot(0).seq.load(Ordering::Relaxed), seq_of(0));
    assert_eq!(consumer.try_pop(), Some(7));
}

#[test]
fn slot_zero_of_a_cache_line_sized_ring_starts_a_page_whatever_the_allocation() {
    #[derive(Clone, Copy, Debug, PartialEq)]
    #[repr(C, align(64))]
    struct Line([u64; 8]);
    #[derive(Clone, Copy)]
    #[repr(C, align(128))]
    struct Pair([u64; 16]);
    // Different earlier allocations move where the allocator puts the slot array.
    let mut keep = Vec::new();
    for shift in 0..70 {
        keep.push(vec![0_u8; 1 + shift * 64]);
        let (mut producer, mut consumer) = spsc::<Line>(256);
        let ring = &*producer.ring;
        assert_eq!(ring.slot(0) as *const _ as usize % PAGE_BYTES, 0);
        assert_eq!(ring.layout.size(), 256 * size_of::<Slot<Line>>());
        let (wire, _consumer) = spsc::<[u32; 15]>(64);
        assert_eq!(wire.ring.slot(0) as *const _ as usize % PAGE_BYTES, 0);
        // The whole ring is still usable: fill it twice over (wrapping), reading back in order.
        for lap in 0..2_u64 {
            for i in 0..256 {
                producer.try_push(Line([lap * 1000 + i; 8])).unwrap();
            }
            assert!(producer.try_push(Line([0; 8])).is_err());
            let mut next = lap * 1000;
            assert_eq!(
                consumer.pop_batch(
                    |v| {
                        assert_eq!(v, Line([next; 8]));
                        next += 1;
                    },
                    usize::MAX,
                ),
                256
            );
        }
        let (producer, _consumer) = spsc::<Pair>(4);
        assert_eq!(producer.ring.slot(0) as *const _ as usize % PAGE_BYTES, 0);
    }
    // Smaller power-of-two slots start a page too, so none straddles a line; other slot
    // sizes keep their natural alignment.
    let (producer, _consumer) = spsc::<[u32; 3]>(8);
    assert_eq!(size_of::<Slot<[u32; 3]>>(), 16);
    assert_eq!(producer.ring.slot(0) as *const _ as usize % PAGE_BYTES, 0);
    let (producer, _consumer) = spsc::<[u8; 24]>(8);
    assert_eq!(producer.ring.layout.align(), 4);
    let (producer, _consumer) = spsc::<[u16; 3]>(8);
    assert_eq!(producer.ring.layout.align(), 4);
}

#[test]
fn pop_batch_respects_max_and_publishes_once() {
    let (mut producer, mut consumer) = spsc::<u16>(16);
    for value in 0..10 {
        producer.try_push(value).unwrap();
    }
    let mut seen = Vec::new();
    assert_eq!(consumer.pop_batch(|v| seen.push(v), 3), 3);
    assert_eq!(seen, [0, 1, 2]);
    assert_eq!(producer.free_slots(), 16 - 7);
    assert_eq!(consumer.pop_batch(|v| seen.push(v), 0), 0);
    assert_eq!(consumer.pop_batch(|v| seen.push(v), 100), 7);
    assert_eq!(seen, (0..10).collect::<Vec<_>>());
}

#[test]
fn pop_batch_that_panics_releases_nothing() {
    let (mut producer, mut consumer) = spsc::<u8>(4);
    for value in 0..3 {
        producer.try_push(value).unwrap();
    }
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        consumer.pop_batch(
            |v| {
                if v == 1 {
                    panic!("handler failed");
                }
            },
            3,
        )
    }));
    assert!(outcome.is_err());
    assert_eq!(consumer.len(), 3);
    assert_eq!(consumer.try_pop(), Some(0));
}

#[test]
fn zero_sized_values_are_counted() {
    let (mut producer, mut consumer) = spsc::<()>(2);
    assert_eq!(producer.try_push(()), Ok(()));
    assert_eq!(producer.try_push(()), Ok(()));
    assert_eq!(producer.try_push(()), Err(()));
    assert_eq!(consumer.try_pop(), Some(()));
    assert_eq!(consumer.len(), 1);
}

#[test]
fn abandonment_is_seen_from_both_sides() {
    let (mut producer, consumer) = spsc::<u8>(2);
    assert!(!producer.is_abandoned());
    assert!(!consumer.is_abandoned());
    drop(consumer);
    assert!(producer.is_abandoned());
    // Pushing into an abandoned ring still works until it is full; nothing leaks.
    assert_eq!(producer.try_push(1), Ok(()));

    let (mut producer, mut consumer) = spsc::<u8>(2);
    producer.try_push(7).unwrap();
    drop(producer);
    assert!(consumer.is_abandoned());
    assert_eq!(consumer.try_pop(), Some(7));
    assert_eq!(consumer.try_pop(), None);
}

#[test]
fn head_and_slots_sit_on_separate_pad_units() {
    let (producer, _consumer) = spsc::<u64>(2);
    let ring = &*producer.ring;
    let head = &*ring.head as *const AtomicUsize as usize;
    let slots_field = &ring.slots as *const _ as usize;
    let pad = crate::CACHE_PAD_BYTES;
    assert_eq!(head % pad, 0);
    assert!(slots_field.abs_diff(head) >= pad);
}

#[test]
fn handles_are_send() {
    fn assert_send<X: Send>() {}
    assert_send::<Producer<[u8; 64]>>();
    assert_send::<Consumer<[u8; 64]>>();
}
