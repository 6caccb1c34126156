//! [`LatencyModel`]: how long an order request takes, in replayed (exchange) time, from the
//! moment a strategy sends it to the moment the paper venue handles it — a fixed latency, plus an
//! optional jitter drawn uniformly from `[0, jitter]` by a seeded generator, so the same seed
//! gives the same latencies in the same order.
//!
//! Owns the generator's state. Invariants: integer nanoseconds only; no clock, no allocation; the
//! sequence of draws depends on the seed and the number of draws alone.

/// See the module docs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatencyModel {
    base_ns: u64,
    jitter_ns: u64,
    seed: u64,
    state: u64,
}

impl LatencyModel {
    /// Every request takes `base_ns`, plus a uniform draw from `[0, jitter_ns]` (none when 0)
    /// from a generator seeded with `seed`.
    pub fn new(base_ns: u64, jitter_ns: u64, seed: u64) -> LatencyModel {
        LatencyModel {
            base_ns,
            jitter_ns,
            seed,
            state: seed,
        }
    }

    pub fn base_ns(&self) -> u64 {
        self.base_ns
    }

    pub fn jitter_ns(&self) -> u64 {
        self.jitter_ns
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The latency of the next request.
    pub fn draw(&mut self) -> u64 {
        if self.jitter_ns == 0 {
            return self.base_ns;
        }
        // Multiply-shift maps a uniform 64-bit word onto [0, jitter] (bias below 2^-64 × jitter).
        let span = u128::from(self.jitter_ns) + 1;
        let jitter = ((u128::from(self.next_word()) * span) >> 64) as u64;
        self.base_ns.saturating_add(jitter)
    }

    /// SplitMix64 (Steele, Lea, Flood: "Fast splittable pseudorandom number generators",
    /// OOPSLA 2014): a Weyl sequence through a 64-bit finaliser.
    fn next_word(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_latency_never_varies() {
        let mut m = LatencyModel::new(250_000, 0, 9);
        assert!((0..100).all(|_| m.draw() == 250_000));
    }

    #[test]
    fn jitter_stays_in_range_and_repeats_with_the_seed() {
        let draws = |seed| {
            let mut m = LatencyModel::new(1_000, 500, seed);
            (0..2_000).map(|_| m.draw()).collect::<Vec<_>>()
        };
        let a = draws(7);
        assert_eq!(a, draws(7));
        assert_ne!(a, draws(8));
        assert!(a.iter().all(|&d| (1_000..=1_500).contains(&d)));
        // Both ends of the range are reachable: the draws spread over it.
        assert!(a.iter().any(|&d| d < 1_050) && a.iter().any(|&d| d > 1_450));
    }
}
