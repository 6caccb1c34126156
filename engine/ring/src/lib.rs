//! `kspin-ring` owns the bounded, lock-free single-producer single-consumer ring that carries
//! events from the engine core to each strategy core and order intents back, plus the idle
//! policy every busy-polling thread shares. Invariants: capacity is fixed (a power of two,
//! from 2 to 2^31) and allocated once in [`spsc`]; each slot carries the sequence number that
//! says its value is published, so the consumer polls the slot itself, never a shared index;
//! after construction no operation allocates, locks, blocks, panics or uses compare-and-swap. It never drops unread values (the ring only holds `Copy`
//! types) and never formats or logs.
//!
//! ```
//! use kspin_ring::{spsc, IdlePolicy, Idler};
//!
//! let (mut producer, mut consumer) = spsc::<u64>(3); // rounded up to 4 slots
//! assert_eq!(producer.capacity(), 4);
//! for sequence in 0..4 {
//!     assert_eq!(producer.try_push(sequence), Ok(()));
//! }
//! assert_eq!(producer.try_push(4), Err(4)); // full: the value comes back, nothing blocks
//!
//! let mut idler = Idler::new(IdlePolicy::SpinThenYield { spins: 100 });
//! let mut sum = 0;
//! loop {
//!     match consumer.pop_batch(|value| sum += value, 16) {
//!         0 => break, // a real poll loop would call `idler.idle()` and poll again
//!         _ => idler.reset(),
//!     }
//! }
//! assert_eq!(sum, 6);
//! ```

mod cache_padded;
mod idle;
mod spsc;
mod sync;

pub use cache_padded::{CachePadded, CACHE_PAD_BYTES};
pub use idle::{IdlePolicy, Idler};
pub use spsc::{spsc, try_spsc, Consumer, Producer, RingError};
