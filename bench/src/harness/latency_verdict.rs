//! The verdict of `kspin bench latency` on its p50 target, from per-round p50s of kspin and of
//! the busy-poll floor measured back to back in the same round: `met`, `not_met`, or
//! `unreliable` when the run cannot tell.
//!
//! Pure arithmetic over numbers already measured (no clock, no I/O), so the rules are
//! unit-tested with exact figures. Invariants: a verdict is `met` only when there were at least
//! [`MIN_ROUNDS`] rounds, every round measured both phases, the floor's per-round p50 moved by no
//! more than the budget nor by more than [`FLOOR_RELATIVE_SPREAD_PERCENT`] of its median, and
//! the median paired difference (kspin − floor, per round) is within the budget and not more
//! negative than minus the budget (kspin cannot beat the socket read it is built on by more than
//! the noise: such a run measured a disturbed floor, as in issue 13's 20 µs floor against a
//! 7.9 µs kspin).

use serde_json::{json, Value};

/// Fewest rounds from which the floor's stability can be judged at all.
pub const MIN_ROUNDS: usize = 3;

/// Largest spread (max − min) of the floor's per-round p50 relative to its median, in percent,
/// for a run to count as reliable (beside the absolute bound: the budget itself).
pub const FLOOR_RELATIVE_SPREAD_PERCENT: i64 = 10;

/// What the run says about the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Met,
    NotMet,
    Unreliable,
}

impl Verdict {
    /// The name in `--json` output and the text report.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Met => "met",
            Verdict::NotMet => "not_met",
            Verdict::Unreliable => "unreliable",
        }
    }
}

/// Median, extremes and quartiles of a set of per-round figures (ns). Quartiles and the median
/// are the lower middle element of the sorted values (no interpolation), like every median in
/// the harness.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Spread {
    pub median: i64,
    pub min: i64,
    pub max: i64,
    pub q1: i64,
    pub q3: i64,
}

impl Spread {
    /// The spread of `values`; all zero when empty.
    pub fn of(values: &[i64]) -> Spread {
        let mut v = values.to_vec();
        v.sort_unstable();
        let at = |num: usize, den: usize| -> i64 {
            match v.len() {
                0 => 0,
                n => v[(n - 1) * num / den],
            }
        };
        Spread {
            median: at(1, 2),
            min: at(0, 1),
            max: at(1, 1),
            q1: at(1, 4),
            q3: at(3, 4),
        }
    }

    /// max − min.
    pub fn range(&self) -> i64 {
        self.max - self.min
    }

    pub fn to_json(self) -> Value {
        json!({"median": self.median, "min": self.min, "max": self.max,
               "q1": self.q1, "q3": self.q3})
    }
}

/// The judgement of one run and the figures behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    pub verdict: Verdict,
    /// Why, in one sentence (for people; not a contract).
    pub reason: String,
    /// kspin − floor per round, ns.
    pub paired: Vec<i64>,
    pub paired_spread: Spread,
    pub floor_spread: Spread,
}

/// Judges `kspin_p50[i] − floor_p50[i] <= budget_ns` over the rounds (both slices in round
/// order, ns; a 0 means the phase had no sample in that round).
pub fn judge(floor_p50: &[u64], kspin_p50: &[u64], budget_ns: i64) -> Judgement {
    let paired: Vec<i64> = floor_p50
        .iter()
        .zip(kspin_p50)
        .map(|(&f, &k)| k as i64 - f as i64)
        .collect();
    let floors: Vec<i64> = floor_p50.iter().map(|&f| f as i64).collect();
    let paired_spread = Spread::of(&paired);
    let floor_spread = Spread::of(&floors);
    let (verdict, reason) = decide(
        floor_p50,
        kspin_p50,
        budget_ns,
        &paired_spread,
        &floor_spread,
    );
    Judgement {
        verdict,
        reason,
        paired,
        paired_spread,
        floor_spread,
    }
}

fn decide(
    floor_p50: &[u64],
    kspin_p50: &[u64],
    budget_ns: i64,
    paired: &Spread,
    floor: &Spread,
) -> (Verdict, String) {
    let rounds = floor_p50.len().min(kspin_p50.len());
    if rounds < MIN_ROUNDS || floor_p50.len() != kspin_p50.len() {
        return (
            Verdict::Unreliable,
            format!("{rounds} paired round(s): at least {MIN_ROUNDS} are needed to judge the floor's stability"),
        );
    }
    if floor_p50.contains(&0) || kspin_p50.contains(&0) {
        return (
            Verdict::Unreliable,
            "a round measured no sample in one of the phases".into(),
        );
    }
    if floor.range() > budget_ns {
        return (
            Verdict::Unreliable,
            format!(
                "the floor is unstable: its per-round p50 spans {} ns ({}..{}), more than the {budget_ns} ns budget",
                floor.range(), floor.min, floor.max
            ),
        );
    }
    if floor.range() * 100 > floor.median * FLOOR_RELATIVE_SPREAD_PERCENT {
        return (
            Verdict::Unreliable,
            format!(
                "the floor is unstable: its per-round p50 spans {} ns, more than {FLOOR_RELATIVE_SPREAD_PERCENT}% of its median {} ns",
                floor.range(), floor.median
            ),
        );
    }
    if paired.median < -budget_ns {
        return (
            Verdict::Unreliable,
            format!(
                "kspin is {} ns below the floor (median of paired rounds), beyond the {budget_ns} ns noise allowance: the floor phases were disturbed",
                -paired.median
            ),
        );
    }
    if paired.median <= budget_ns {
        (
            Verdict::Met,
            format!(
                "median paired overhead {} ns <= {budget_ns} ns; floor stable within {} ns",
                paired.median,
                floor.range()
            ),
        )
    } else {
        (
            Verdict::NotMet,
            format!(
                "median paired overhead {} ns > {budget_ns} ns; floor stable within {} ns",
                paired.median,
                floor.range()
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_takes_lower_middles_without_interpolation() {
        let s = Spread::of(&[40, -10, 30, 20, 10]);
        assert_eq!(
            s,
            Spread {
                median: 20,
                min: -10,
                max: 40,
                q1: 10,
                q3: 30
            }
        );
        let s = Spread::of(&[4, 1, 3, 2]);
        assert_eq!((s.median, s.q1, s.q3, s.range()), (2, 1, 3, 3));
        assert_eq!(Spread::of(&[]), Spread::default());
    }

    #[test]
    fn a_stable_floor_and_a_small_overhead_is_met() {
        let j = judge(&[5_000, 5_100, 5_050], &[5_400, 5_500, 5_300], 500);
        assert_eq!(j.verdict, Verdict::Met);
        assert_eq!(j.paired, vec![400, 400, 250]);
        assert_eq!(j.paired_spread.median, 400);
        assert_eq!((j.paired_spread.min, j.paired_spread.max), (250, 400));
        assert_eq!(j.floor_spread.range(), 100);
        // Exactly the budget still meets it.
        let j = judge(&[5_000, 5_000, 5_000], &[5_500, 5_500, 5_600], 500);
        assert_eq!(j.verdict, Verdict::Met);
    }

    #[test]
    fn a_stable_floor_and_a_large_overhead_is_not_met() {
        let j = judge(&[5_000, 5_100, 5_050], &[5_600, 5_700, 5_400], 500);
        assert_eq!(j.paired, vec![600, 600, 350]);
        assert_eq!(j.verdict, Verdict::NotMet);
    }

    #[test]
    fn a_floor_moving_by_more_than_the_budget_is_unreliable() {
        // Issue 13: one round's floor at 20 µs, others at 5 µs.
        let j = judge(&[5_000, 20_000, 5_100], &[5_300, 7_900, 5_400], 500);
        assert_eq!(j.verdict, Verdict::Unreliable);
        assert!(j.reason.contains("15000 ns"), "{}", j.reason);
        // 501 ns of spread is over a 500 ns budget even on a 10 µs floor (5 % relative).
        let j = judge(&[10_000, 10_501, 10_200], &[10_100, 10_600, 10_300], 500);
        assert_eq!(j.verdict, Verdict::Unreliable);
    }

    #[test]
    fn a_floor_moving_by_more_than_ten_percent_is_unreliable_under_the_budget_too() {
        // Spread 300 ns on a 2 µs floor: 15 %.
        let j = judge(&[2_000, 2_300, 2_100], &[2_200, 2_400, 2_300], 500);
        assert_eq!(j.verdict, Verdict::Unreliable);
        // Spread 200 ns on a 2 µs floor: exactly 10 %, allowed.
        let j = judge(&[2_000, 2_200, 2_100], &[2_200, 2_400, 2_300], 500);
        assert_eq!(j.verdict, Verdict::Met);
    }

    #[test]
    fn kspin_below_the_floor_beyond_the_budget_is_unreliable_within_it_met() {
        // The run: a negative overhead must never read as met.
        let j = judge(&[20_000, 20_100, 20_050], &[7_900, 8_000, 7_950], 500);
        assert_eq!(j.paired_spread.median, -12_100);
        assert_eq!(j.verdict, Verdict::Unreliable);
        assert!(j.reason.contains("below the floor"), "{}", j.reason);
        // Slightly negative (kspin's read path can beat tungstenite's): within noise.
        let j = judge(&[5_000, 5_100, 5_050], &[4_800, 4_900, 4_850], 500);
        assert_eq!(j.paired_spread.median, -200);
        assert_eq!(j.verdict, Verdict::Met);
        let j = judge(&[5_000, 5_100, 5_050], &[4_499, 4_599, 4_549], 500);
        assert_eq!(j.paired_spread.median, -501);
        assert_eq!(j.verdict, Verdict::Unreliable);
    }

    #[test]
    fn too_few_rounds_or_empty_rounds_are_unreliable() {
        let j = judge(&[5_000, 5_000], &[5_100, 5_100], 500);
        assert_eq!(j.verdict, Verdict::Unreliable);
        assert_eq!(j.paired, vec![100, 100]);
        let j = judge(&[5_000, 0, 5_000], &[5_100, 5_100, 5_100], 500);
        assert_eq!(j.verdict, Verdict::Unreliable);
        let j = judge(&[5_000, 5_000, 5_000], &[5_100, 5_100], 500);
        assert_eq!(j.verdict, Verdict::Unreliable);
        assert_eq!(judge(&[], &[], 500).verdict, Verdict::Unreliable);
    }
}
