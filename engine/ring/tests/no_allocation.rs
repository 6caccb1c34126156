//! End-to-end: after `spsc` returns, pushing, popping, batching, idling and querying never touch
//! the allocator, and dropping both handles frees exactly what construction allocated (no leak,
//! no double free). The shared counting allocator observes it, per thread: the test harness's
//! threads may allocate at any moment on a loaded machine.

use kspin_ring::{spsc, IdlePolicy, Idler};
kspin_testkit::install_counting_allocator!();

#[derive(Clone, Copy)]
#[repr(C)]
struct Event {
    stamp: u64,
    body: [u64; 7],
}

/// This thread's allocations, frees and live bytes.
fn counts() -> (u64, u64, i64) {
    (
        kspin_testkit::allocs(),
        kspin_testkit::frees(),
        kspin_testkit::live_bytes(),
    )
}

#[test]
fn hot_path_never_allocates_and_drop_frees_everything() {
    let before = counts();
    let (mut producer, mut consumer) = spsc::<Event>(1024);
    let built = counts();
    assert!(built.0 > before.0, "construction allocates");

    let mut idler = Idler::new(IdlePolicy::SpinThenYield { spins: 2 });
    let mut checksum = 0_u64;
    for round in 0..50_000_u64 {
        let burst = (round % 1500) as usize;
        for i in 0..burst {
            let event = Event {
                stamp: round + i as u64,
                body: [round; 7],
            };
            if producer.try_push(event).is_err() {
                break;
            }
        }
        checksum = checksum.wrapping_add(producer.free_slots() as u64);
        checksum = checksum.wrapping_add(consumer.len() as u64);
        if let Some(event) = consumer.try_pop() {
            checksum = checksum.wrapping_add(event.stamp);
        }
        consumer.pop_batch(|e| checksum = checksum.wrapping_add(e.body[0]), 700);
        if consumer.is_empty() {
            idler.idle();
            idler.idle();
            idler.idle();
        } else {
            idler.reset();
        }
    }
    std::hint::black_box(checksum);
    assert_eq!(counts(), built, "no allocation or free after construction");

    drop(producer);
    assert_eq!(counts(), built, "the ring lives until the last handle goes");
    drop(consumer);
    let after = counts();
    assert_eq!(after.0 - built.0, 0, "dropping allocates nothing");
    assert_eq!(
        after.1 - before.1,
        built.0 - before.0,
        "every construction allocation freed exactly once"
    );
    assert_eq!(after.2, before.2, "live bytes back to where they were");
}
