//! Kraken's spot trading rate limits (spot-ratelimits.md): one rate counter per pair,
//! incremented by each transaction (a fixed count on receipt plus a count that depends on how
//! long the order has rested since it was placed or last amended) and decaying every second by
//! the tier's rate; above the tier's threshold transactions are refused with
//! `EOrder:Rate limit exceeded`.
//!
//! Owns the counters, in hundredths (the decays −2.34 and −3.75 are exact there). Invariants: a
//! counter never goes below zero; the fixed count is kept even when the transaction is refused
//! ("always applied on receipt"); a refused transaction adds nothing else; batch cancels (and
//! `cancel_all`, which the venue counts like one) are never refused ("the requests in batch are
//! still accepted"). It never reads the clock: callers pass `now`.

use std::time::{Duration, Instant};

use super::config::TradingTier;

/// One hundredth of a count.
pub const CENTI: i64 = 100;

/// One pair's counter: its value at `at`, decaying from there.
#[derive(Debug, Clone, Copy)]
struct Counter {
    centi: i64,
    at: Instant,
}

/// Every pair's counter; see the module docs.
#[derive(Debug)]
pub struct RateLimits {
    tier: TradingTier,
    counters: Vec<Counter>,
    /// Refuse beyond the threshold (always, but in benchmarks).
    enforced: bool,
}

/// The rate counter said no.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimited;

/// The decaying count of an amend of an order that has rested `age` (spot-ratelimits.md).
pub fn amend_count(age: Duration) -> i64 {
    let s = age.as_secs_f64();
    CENTI
        * if s < 5.0 {
            3
        } else if s < 10.0 {
            2
        } else if s < 15.0 {
            1
        } else {
            0
        }
}

/// The decaying count of cancelling an order that has rested `age` (spot-ratelimits.md).
pub fn cancel_count(age: Duration) -> i64 {
    let s = age.as_secs_f64();
    CENTI
        * if s < 5.0 {
            8
        } else if s < 10.0 {
            6
        } else if s < 15.0 {
            5
        } else if s < 45.0 {
            4
        } else if s < 90.0 {
            2
        } else if s < 300.0 {
            1
        } else {
            0
        }
}

impl RateLimits {
    pub fn new(tier: TradingTier, pairs: usize, now: Instant) -> RateLimits {
        RateLimits {
            tier,
            counters: vec![Counter { centi: 0, at: now }; pairs],
            enforced: true,
        }
    }

    /// Counts but never refuses (benchmarks only; see `SimTradingConfig::rate_limit`).
    pub fn unenforced(mut self) -> RateLimits {
        self.enforced = false;
        self
    }

    pub fn tier(&self) -> TradingTier {
        self.tier
    }

    /// Pair `symbol`'s counter at `now`, in hundredths.
    pub fn value(&self, symbol: usize, now: Instant) -> i64 {
        self.counters
            .get(symbol)
            .map_or(0, |c| self.decayed(c, now))
    }

    fn decayed(&self, c: &Counter, now: Instant) -> i64 {
        let elapsed = now.saturating_duration_since(c.at).as_micros();
        let decay = elapsed.saturating_mul(self.tier.decay_centi_per_sec() as u128) / 1_000_000;
        c.centi
            .saturating_sub(decay.min(i64::MAX as u128) as i64)
            .max(0)
    }

    fn set(&mut self, symbol: usize, now: Instant, centi: i64) {
        if let Some(c) = self.counters.get_mut(symbol) {
            *c = Counter { centi, at: now };
        }
    }

    /// A transaction on `symbol`: `fixed` is added whatever happens; if the counter would then
    /// exceed the threshold with `decaying` added too, the transaction is refused and
    /// `decaying` is not added.
    pub fn charge(
        &mut self,
        symbol: usize,
        now: Instant,
        fixed: i64,
        decaying: i64,
    ) -> Result<(), RateLimited> {
        let after_fixed = self.value(symbol, now).saturating_add(fixed);
        let total = after_fixed.saturating_add(decaying);
        if self.enforced && total > self.tier.threshold() * CENTI {
            self.set(symbol, now, after_fixed);
            return Err(RateLimited);
        }
        self.set(symbol, now, total);
        Ok(())
    }

    /// A transaction that is never refused (batch cancels).
    pub fn charge_unchecked(&mut self, symbol: usize, now: Instant, count: i64) {
        let v = self.value(symbol, now).saturating_add(count);
        self.set(symbol, now, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_lifetime_example_totals_eight() {
        // Add, amend after 7 s, cancel 36 s later: 1 + (1 + 2) + 4 = 8 (spot-ratelimits.md),
        // before decay.
        assert_eq!(amend_count(Duration::from_secs(7)), 200);
        assert_eq!(cancel_count(Duration::from_secs(36)), 400);
        assert_eq!(cancel_count(Duration::from_millis(10)), 800);
        assert_eq!(cancel_count(Duration::from_secs(299)), 100);
        assert_eq!(cancel_count(Duration::from_secs(300)), 0);
        assert_eq!(amend_count(Duration::from_secs(15)), 0);
    }

    #[test]
    fn counters_decay_per_tier_and_refuse_above_the_threshold() {
        let t0 = Instant::now();
        let mut l = RateLimits::new(TradingTier::Intermediate, 2, t0);
        // 50 adds, 10 s: 50 − 23.4 = 26.6 (the documented intermediate example).
        for _ in 0..50 {
            l.charge(0, t0, CENTI, 0).unwrap();
        }
        assert_eq!(l.value(0, t0 + Duration::from_secs(10)), 2_660);
        assert_eq!(l.value(1, t0), 0);
        let mut s = RateLimits::new(TradingTier::Starter, 1, t0);
        for _ in 0..60 {
            s.charge(0, t0, CENTI, 0).unwrap();
        }
        assert_eq!(s.charge(0, t0, CENTI, 0), Err(RateLimited));
        // The fixed count stayed: 61, and a cancel (+8) is refused without adding.
        assert_eq!(s.value(0, t0), 6_100);
        assert_eq!(s.charge(0, t0, 0, 800), Err(RateLimited));
        assert_eq!(s.value(0, t0), 6_100);
        // Two seconds later it is at 59 and one more add goes through.
        let later = t0 + Duration::from_secs(2);
        assert_eq!(s.charge(0, later, CENTI, 0), Ok(()));
        s.charge_unchecked(0, later, 800);
        assert_eq!(s.value(0, later), 6_800);
        assert_eq!(s.value(0, later + Duration::from_secs(3_600)), 0);
    }
}
