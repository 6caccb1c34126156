//! A model of Kraken's per-pair trading rate counter, so the engine can refuse a transaction
//! that Kraken would reject with `EOrder:Rate limit exceeded` before sending it.
//!
//! Owns [`Tier`], [`RateCounter`] and the transaction costs ([`add_cost`], [`amend_cost`],
//! [`cancel_cost`], [`batch_add_cost`], [`batch_cancel_cost`]). Every fact comes from Kraken's
//! "Spot Trading Limits" guide (https://docs.kraken.com/api/docs/guides/spot-ratelimits, saved
//! as `spot-ratelimits.md`). Invariants: counts are integers in hundredths of a count (the
//! intermediate tier decays by 2.34 a second, so hundredths make every documented figure exact);
//! never floating point, never a panic, never an allocation; time is the caller's nanoseconds
//! and may go backwards without panicking or raising the counter. It never reads a clock and
//! knows nothing of pairs: the caller keeps one [`RateCounter`] per pair.
//!
//! Decay is modelled as continuous: the value at `t` is `max(0, v - r * (t - t0))` exactly, with
//! the state kept in hundredths x 10^9 so no fraction of a hundredth is ever lost between
//! charges, and [`RateCounter::value_at`] rounds up (it never reports less than the model holds).

/// Nanoseconds per second.
const NS_PER_S: u64 = 1_000_000_000;

/// One count, in hundredths.
const ONE: u32 = 100;

/// Kraken's client tiers, which set the decay rate, the threshold and the open-order limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tier {
    Starter,
    Intermediate,
    Pro,
}

impl Tier {
    /// "Rate counter threshold": 60 / 125 / 180 counts (spot-ratelimits.md, "Exceeding rate
    /// counter threshold").
    pub const fn threshold(self) -> u32 {
        match self {
            Tier::Starter => 60,
            Tier::Intermediate => 125,
            Tier::Pro => 180,
        }
    }

    /// [`Tier::threshold`] in hundredths.
    pub const fn threshold_hundredths(self) -> u32 {
        self.threshold() * ONE
    }

    /// "Rate counter decay rate": -1 / -2.34 / -3.75 a second (spot-ratelimits.md,
    /// "Decrementing the rate counter"), in hundredths a second.
    pub const fn decay_per_s_hundredths(self) -> u32 {
        match self {
            Tier::Starter => 100,
            Tier::Intermediate => 234,
            Tier::Pro => 375,
        }
    }

    /// "Max open orders per pair": 60 / 80 / 225 (spot-ratelimits.md, "Open Order Limits");
    /// beyond it Kraken answers `EOrder:Orders limit exceeded`.
    pub const fn max_open_orders(self) -> u32 {
        match self {
            Tier::Starter => 60,
            Tier::Intermediate => 80,
            Tier::Pro => 225,
        }
    }

    /// The tier whose threshold is `max_rate_count`, the `maxratecount` Kraken reports in the
    /// executions subscribe ack ("the max rate counter value for the user transaction rate. It
    /// is based on user tier", executions.md); `None` for a value no documented tier has.
    pub const fn from_max_rate_count(max_rate_count: u32) -> Option<Tier> {
        match max_rate_count {
            60 => Some(Tier::Starter),
            125 => Some(Tier::Intermediate),
            180 => Some(Tier::Pro),
            _ => None,
        }
    }
}

/// Start of each decaying-count age bucket, exclusive upper bounds in seconds: "< 5s", "< 10s",
/// "< 15s", "< 45s", "< 90s", "< 300s" (spot-ratelimits.md, "Incrementing the rate counter").
const AGE_BUCKETS_S: [u64; 6] = [5, 10, 15, 45, 90, 300];

/// Index of the age bucket `age_ns` falls in (6: 300 s or older, no decaying count).
fn bucket(age_ns: u64) -> usize {
    AGE_BUCKETS_S
        .iter()
        .position(|&s| age_ns < s.saturating_mul(NS_PER_S))
        .unwrap_or(AGE_BUCKETS_S.len())
}

/// Add Order: fixed +1 (spot-ratelimits.md). In hundredths.
pub const fn add_cost() -> u32 {
    ONE
}

/// Amend Order: fixed +1, plus +3 / +2 / +1 when the order is younger than 5 / 10 / 15 s
/// (spot-ratelimits.md). `age_ns` is the time since the order was created *or last amended*
/// ("the number of seconds since the order was created or amended"; the guide's worked example
/// confirms it: a cancel 36 s after an amend costs the < 45 s count). In hundredths.
pub fn amend_cost(age_ns: u64) -> u32 {
    const DECAYING: [u32; 7] = [300, 200, 100, 0, 0, 0, 0];
    ONE + DECAYING.get(bucket(age_ns)).copied().unwrap_or(0)
}

/// Cancel Order: +8 / +6 / +5 / +4 / +2 / +1 when the order is younger than 5 / 10 / 15 / 45 /
/// 90 / 300 s, nothing after (spot-ratelimits.md); no fixed count. `age_ns` as for
/// [`amend_cost`]. In hundredths.
pub fn cancel_cost(age_ns: u64) -> u32 {
    const DECAYING: [u32; 7] = [800, 600, 500, 400, 200, 100, 0];
    DECAYING.get(bucket(age_ns)).copied().unwrap_or(0)
}

/// Batch Add of `n` orders: fixed +(n/2) (spot-ratelimits.md). Exact in hundredths (50 per
/// order), so an odd batch costs a half count, not a rounded one: the guide gives no rounding
/// and Kraken's counter holds fractions anyway (it decays by 2.34). Saturates.
pub fn batch_add_cost(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX).saturating_mul(ONE / 2)
}

/// Batch Cancel: +(8*n) ... (1*n) by age (spot-ratelimits.md), taken per order: the sum of
/// [`cancel_cost`] over each cancelled order's age, which is the guide's `n` times the count
/// when all are in one bucket. Note the guide: "If the rate counter in the batch exceeds maximum
/// for a batch cancel, the requests in batch are still accepted", so a batch cancel need not be
/// gated on [`RateCounter::would_exceed`]; it is still charged. Saturates.
pub fn batch_cancel_cost(ages: impl Iterator<Item = u64>) -> u32 {
    ages.fold(0u32, |sum, age| sum.saturating_add(cancel_cost(age)))
}

/// One pair's rate counter as Kraken keeps it: charged on every transaction "on receipt of the
/// transaction (even if the transaction fails validation)", decaying every second by the tier's
/// rate, never below zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateCounter {
    tier: Tier,
    /// The value at `at_ns`, in hundredths x 10^9 (a hundredth-nanosecond of decay each unit).
    value: u64,
    /// When `value` was last set; never moves backwards.
    at_ns: u64,
}

impl RateCounter {
    /// A counter at zero ("the count starts at 0").
    pub const fn new(tier: Tier) -> Self {
        RateCounter {
            tier,
            value: 0,
            at_ns: 0,
        }
    }

    /// The tier this counter decays and is limited by.
    pub const fn tier(&self) -> Tier {
        self.tier
    }

    /// The exact model value at `now_ns` in hundredths x 10^9. A `now_ns` before the last
    /// charge or observation is taken as that instant (no decay, no increase).
    fn scaled_at(&self, now_ns: u64) -> u64 {
        let elapsed = now_ns.saturating_sub(self.at_ns);
        let decay =
            u128::from(self.tier.decay_per_s_hundredths()).saturating_mul(u128::from(elapsed));
        let decay = u64::try_from(decay).unwrap_or(u64::MAX);
        self.value.saturating_sub(decay)
    }

    /// The counter at `now_ns` in hundredths, rounded up.
    pub fn value_at(&self, now_ns: u64) -> u32 {
        let scaled = self.scaled_at(now_ns);
        let hundredths = scaled.div_ceil(NS_PER_S);
        u32::try_from(hundredths).unwrap_or(u32::MAX)
    }

    /// Whether charging `cost` (hundredths) at `now_ns` would bring the counter to or above the
    /// tier's threshold, i.e. whether Kraken might answer `EOrder:Rate limit exceeded`.
    ///
    /// Reaching the threshold counts as exceeding it. The guide says both "When the rate counter
    /// threshold is reached, the engine will generate `EOrder:Rate limit exceeded`" and "When
    /// the rate counter exceeds the threshold for the client tier, further transactions will be
    /// restricted ... until the rate counter has decayed below the threshold"; allowing a
    /// transaction only when the counter stays strictly below the threshold *after* its cost is
    /// safe under either reading, at the price of at most one transaction's headroom.
    pub fn would_exceed(&self, cost: u32, now_ns: u64) -> bool {
        let after = u128::from(self.scaled_at(now_ns)) + u128::from(cost) * u128::from(NS_PER_S);
        after >= u128::from(self.tier.threshold_hundredths()) * u128::from(NS_PER_S)
    }

    /// Charges `cost` (hundredths) at `now_ns`: decay up to `now_ns`, then add. Saturates.
    pub fn charge(&mut self, cost: u32, now_ns: u64) {
        let cost = u64::from(cost).saturating_mul(NS_PER_S);
        self.value = self.scaled_at(now_ns).saturating_add(cost);
        self.at_ns = self.at_ns.max(now_ns);
    }

    /// Aligns the model with the exchange's own value (hundredths) as reported at `now_ns` by the
    /// executions channel's `ratecounter` (subscribe with `"ratecounter": true`, executions.md).
    /// An observation older than the last charge is taken as of that charge (no decay credited).
    pub fn observe(&mut self, value: u32, now_ns: u64) {
        self.value = u64::from(value).saturating_mul(NS_PER_S);
        self.at_ns = self.at_ns.max(now_ns);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const S: u64 = NS_PER_S;

    #[test]
    fn tiers_match_the_guide() {
        let t = |t: Tier| {
            (
                t.threshold(),
                t.threshold_hundredths(),
                t.decay_per_s_hundredths(),
                t.max_open_orders(),
            )
        };
        assert_eq!(t(Tier::Starter), (60, 6000, 100, 60));
        assert_eq!(t(Tier::Intermediate), (125, 12500, 234, 80));
        assert_eq!(t(Tier::Pro), (180, 18000, 375, 225));
        assert_eq!(Tier::from_max_rate_count(125), Some(Tier::Intermediate));
        assert_eq!(Tier::from_max_rate_count(60), Some(Tier::Starter));
        assert_eq!(Tier::from_max_rate_count(180), Some(Tier::Pro));
        assert_eq!(Tier::from_max_rate_count(100), None);
    }

    #[test]
    fn short_order_lifetime_example_totals_eight() {
        // The guide's example: add, amend after 7 s, cancel a further 36 s later → 8.
        let steps = [add_cost(), amend_cost(7 * S), cancel_cost(36 * S)];
        assert_eq!(steps, [100, 300, 400]);
        assert_eq!(steps.iter().sum::<u32>(), 800);
        // Applied to a counter with no time passing, the total is the same.
        let mut c = RateCounter::new(Tier::Pro);
        for cost in steps {
            c.charge(cost, 0);
        }
        assert_eq!(c.value_at(0), 800);
    }

    #[test]
    fn fifty_adds_then_ten_seconds_at_intermediate_is_26_6() {
        let mut c = RateCounter::new(Tier::Intermediate);
        let t0 = 1_000 * S;
        for _ in 0..50 {
            c.charge(add_cost(), t0);
        }
        assert_eq!(c.value_at(t0), 5000);
        assert_eq!(c.value_at(t0 + 10 * S), 2660);
    }

    #[test]
    fn age_buckets_switch_exactly_at_their_bounds() {
        let ms = 1_000_000;
        let amend = [
            (0, 400),
            (5 * S - 1, 400),
            (4_999 * ms, 400),
            (5 * S, 300),
            (10 * S - 1, 300),
            (10 * S, 200),
            (15 * S - 1, 200),
            (15 * S, 100),
            (u64::MAX, 100),
        ];
        for (age, want) in amend {
            assert_eq!(amend_cost(age), want, "amend at {age} ns");
        }
        let cancel = [
            (0, 800),
            (4_999 * ms, 800),
            (5 * S, 600),
            (9_999 * ms, 600),
            (10 * S, 500),
            (15 * S - 1, 500),
            (15 * S, 400),
            (45 * S - 1, 400),
            (45 * S, 200),
            (90 * S - 1, 200),
            (90 * S, 100),
            (300 * S - 1, 100),
            (300 * S, 0),
            (u64::MAX, 0),
        ];
        for (age, want) in cancel {
            assert_eq!(cancel_cost(age), want, "cancel at {age} ns");
        }
    }

    #[test]
    fn batch_costs() {
        assert_eq!(add_cost(), 100);
        assert_eq!(batch_add_cost(2), 100);
        assert_eq!(batch_add_cost(15), 750);
        assert_eq!(batch_add_cost(0), 0);
        assert_eq!(batch_add_cost(usize::MAX), u32::MAX);
        assert_eq!(batch_cancel_cost([S, S, S].into_iter()), 2400);
        assert_eq!(
            batch_cancel_cost([S, 7 * S, 100 * S, 301 * S].into_iter()),
            1500
        );
        assert_eq!(batch_cancel_cost(core::iter::empty()), 0);
        assert_eq!(
            batch_cancel_cost(core::iter::repeat_n(0, 10_000_000)),
            u32::MAX
        );
    }

    #[test]
    fn decay_stops_at_zero_and_counts_again_from_there() {
        let mut c = RateCounter::new(Tier::Starter);
        c.charge(300, 0);
        assert_eq!(c.value_at(S), 200);
        assert_eq!(c.value_at(3 * S), 0);
        assert_eq!(c.value_at(u64::MAX), 0);
        c.charge(100, 10 * S);
        assert_eq!(c.value_at(10 * S), 100);
        // A fraction of a hundredth left rounds up.
        assert_eq!(c.value_at(10 * S + 1), 100);
        assert_eq!(c.value_at(10 * S + 10_000_000), 99);
    }

    #[test]
    fn time_going_backwards_never_panics_nor_raises_the_counter() {
        let mut c = RateCounter::new(Tier::Intermediate);
        c.charge(1_000, 100 * S);
        assert_eq!(c.value_at(0), 1_000);
        assert_eq!(c.value_at(99 * S), 1_000);
        c.charge(100, 50 * S);
        assert_eq!(c.value_at(100 * S), 1_100);
        assert_eq!(c.value_at(101 * S), 866);
        c.observe(500, 10 * S);
        assert_eq!(c.value_at(100 * S), 500);
        c.charge(u32::MAX, u64::MAX);
        c.charge(u32::MAX, 0);
        assert!(c.value_at(u64::MAX) > 0);
    }

    #[test]
    fn reaching_the_threshold_counts_as_exceeding() {
        let mut c = RateCounter::new(Tier::Starter);
        for _ in 0..59 {
            assert!(!c.would_exceed(add_cost(), 0));
            c.charge(add_cost(), 0);
        }
        assert_eq!(c.value_at(0), 5900);
        assert!(c.would_exceed(add_cost(), 0));
        assert!(!c.would_exceed(99, 0));
        // Decay is continuous: one nanosecond later the counter is below 59 and an add fits.
        assert!(!c.would_exceed(add_cost(), 1));
        assert!(c.would_exceed(101, S / 100 - 1));
        assert!(!c.would_exceed(101, S / 100 + 1));
        assert!(c.would_exceed(u32::MAX, u64::MAX));
        assert!(!RateCounter::new(Tier::Pro).would_exceed(17_999, 0));
        assert!(RateCounter::new(Tier::Pro).would_exceed(18_000, 0));
    }

    #[test]
    fn observe_replaces_the_model() {
        let mut c = RateCounter::new(Tier::Pro);
        c.charge(5_000, S);
        c.observe(1_234, 2 * S);
        assert_eq!(c.value_at(2 * S), 1_234);
        assert_eq!(c.value_at(3 * S), 859);
        assert_eq!(c.tier(), Tier::Pro);
    }

    /// An independent reference: the counter in thousandths of a hundredth, stepped one
    /// millisecond at a time (a tier's decay per millisecond is then exactly its hundredths per
    /// second), with every event on a millisecond.
    fn reference(tier: Tier, events: &[(u64, u32)], until_ms: u64) -> u64 {
        let mut value: u64 = 0;
        let mut events = events.iter().peekable();
        for t in 0..=until_ms {
            if t > 0 {
                value = value.saturating_sub(u64::from(tier.decay_per_s_hundredths()));
            }
            while let Some(&&(at, cost)) = events.peek() {
                if at != t {
                    break;
                }
                value += u64::from(cost) * 1_000;
                events.next();
            }
        }
        value
    }

    fn tier() -> impl Strategy<Value = Tier> {
        prop_oneof![
            Just(Tier::Starter),
            Just(Tier::Intermediate),
            Just(Tier::Pro)
        ]
    }

    proptest! {
        #[test]
        fn matches_the_reference_model(
            tier in tier(),
            mut events in proptest::collection::vec((0u64..20_000, 0u32..2_000), 0..40),
            probe in 0u64..25_000,
            cost in 0u32..20_000,
        ) {
            events.sort_by_key(|e| e.0);
            let mut c = RateCounter::new(tier);
            let mut applied = Vec::new();
            for &(at_ms, cost) in &events {
                if at_ms > probe {
                    break;
                }
                c.charge(cost, at_ms * 1_000_000);
                applied.push((at_ms, cost));
            }
            let want = reference(tier, &applied, probe);
            let now = probe * 1_000_000;
            prop_assert_eq!(u64::from(c.value_at(now)), want.div_ceil(1_000));
            let exceeds = want + u64::from(cost) * 1_000
                >= u64::from(tier.threshold_hundredths()) * 1_000;
            prop_assert_eq!(c.would_exceed(cost, now), exceeds);
        }

        #[test]
        fn any_sequence_never_panics_and_never_rises_without_a_charge(
            tier in tier(),
            ops in proptest::collection::vec((any::<u64>(), any::<u32>(), any::<bool>()), 0..50),
            probe in any::<u64>(),
        ) {
            let mut c = RateCounter::new(tier);
            for (now, v, observe) in ops {
                if observe { c.observe(v, now) } else { c.charge(v, now) }
                let before = c.value_at(now);
                prop_assert!(c.value_at(now.saturating_add(probe)) <= before);
                prop_assert!(c.value_at(now.saturating_sub(probe)) >= before);
                let _ = c.would_exceed(v, probe);
            }
        }
    }
}
