//! Strictly increasing nonces for Kraken REST calls: "an always-increasing unsigned 64-bit
//! integer" per API key (PROTOCOL.md §1.12).
//!
//! Owns [`NonceSource`]. Invariant: every value it hands out is greater than every value it
//! handed out before, across threads, even if the wall clock steps back; values track
//! microseconds since the Unix epoch when the clock allows.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// See the module docs.
#[derive(Debug, Default)]
pub struct NonceSource {
    last: AtomicU64,
}

impl NonceSource {
    pub fn new() -> NonceSource {
        NonceSource::default()
    }

    /// The next nonce: the wall clock in µs, or one more than the last one if the clock has not
    /// moved past it.
    pub fn next(&self) -> u64 {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_micros().min(u128::from(u64::MAX)) as u64);
        let mut last = self.last.load(Ordering::Relaxed);
        loop {
            let next = now.max(last.saturating_add(1));
            match self
                .last
                .compare_exchange_weak(last, next, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => return next,
                Err(seen) => last = seen,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn strictly_increasing_across_threads() {
        let source = Arc::new(NonceSource::new());
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let s = Arc::clone(&source);
                std::thread::spawn(move || (0..10_000).map(|_| s.next()).collect::<Vec<u64>>())
            })
            .collect();
        let mut all: Vec<u64> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        let n = all.len();
        for w in all.windows(2).take(1) {
            assert!(w[0] != 0);
        }
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), n, "a nonce was handed out twice");
    }

    #[test]
    fn never_goes_back_even_if_the_clock_does() {
        let s = NonceSource::new();
        s.last.store(u64::MAX - 10, Ordering::Relaxed);
        let a = s.next();
        let b = s.next();
        assert!(b > a && a > u64::MAX - 10);
    }
}
