//! Property test: the fixed-capacity array book equals a simple reference model (an ordered map
//! of exact prices per side, truncated to depth after each message) over random streams of
//! snapshots and updates, including deletes of present and absent levels, refills from beyond the
//! depth, and repeated updates of one price inside a message.

use std::collections::BTreeMap;

use kspin_api::{Decimal, Price, Qty};
use kspin_core::book::{ApplyMode, LevelBuf, OrderBook};
use proptest::prelude::*;

/// The reference: price -> qty per side, applied in order, truncated to depth after the message.
#[derive(Default)]
struct Model {
    bids: BTreeMap<i64, i64>,
    asks: BTreeMap<i64, i64>,
}

impl Model {
    fn apply(&mut self, snapshot: bool, bids: &[(i64, i64)], asks: &[(i64, i64)], depth: usize) {
        if snapshot {
            self.bids.clear();
            self.asks.clear();
        }
        for (side, levels) in [(&mut self.bids, bids), (&mut self.asks, asks)] {
            for &(p, q) in levels {
                if q == 0 {
                    side.remove(&p);
                } else {
                    side.insert(p, q);
                }
            }
        }
        while self.bids.len() > depth {
            let worst = *self.bids.keys().next().unwrap();
            self.bids.remove(&worst);
        }
        while self.asks.len() > depth {
            let worst = *self.asks.keys().next_back().unwrap();
            self.asks.remove(&worst);
        }
    }

    fn bids_best_first(&self) -> Vec<(i64, i64)> {
        self.bids.iter().rev().map(|(&p, &q)| (p, q)).collect()
    }

    fn asks_best_first(&self) -> Vec<(i64, i64)> {
        self.asks.iter().map(|(&p, &q)| (p, q)).collect()
    }

    /// Checksum text by the documented rule, computed independently of kspin's writer.
    fn checksum(&self) -> u32 {
        let mut text = String::new();
        for (p, q) in self
            .asks_best_first()
            .into_iter()
            .take(10)
            .chain(self.bids_best_first().into_iter().take(10))
        {
            text.push_str(&p.to_string());
            text.push_str(&q.to_string());
        }
        crc32fast::hash(text.as_bytes())
    }
}

/// A message: (is snapshot, bid levels, ask levels). Bids live in 1..=60, asks in 50..=110 so
/// that books sometimes cross; qty 0 means delete. At most 16 levels per side per message keeps
/// every message within the book's insertion slack, where the model is exact.
/// (is snapshot, bid levels, ask levels) as (price, qty) mantissas.
type Message = (bool, Vec<(i64, i64)>, Vec<(i64, i64)>);

fn message() -> impl Strategy<Value = Message> {
    let level = |lo: i64, hi: i64| (lo..=hi, prop_oneof![3 => Just(0i64), 7 => 1i64..1_000_000]);
    (
        prop::bool::weighted(0.05),
        prop::collection::vec(level(1, 60), 0..16),
        prop::collection::vec(level(50, 110), 0..16),
    )
}

fn to_decimals(levels: &[(i64, i64)], price_dp: u8, qty_dp: u8) -> Vec<(Decimal, Decimal)> {
    levels
        .iter()
        .map(|&(p, q)| {
            (
                Decimal {
                    mantissa: p,
                    scale: price_dp,
                },
                Decimal {
                    mantissa: q,
                    scale: qty_dp,
                },
            )
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn array_book_matches_reference_model(
        depth in prop_oneof![Just(10usize), Just(25), Just(3)],
        messages in prop::collection::vec(message(), 1..120),
    ) {
        let mut book = OrderBook::new(depth, 2, 4);
        let mut model = Model::default();
        for (i, (snapshot, bids, asks)) in messages.iter().enumerate() {
            let snapshot = *snapshot || i == 0;
            let mode = if snapshot { ApplyMode::Snapshot } else { ApplyMode::Update };
            let (b, a) = (to_decimals(bids, 2, 4), to_decimals(asks, 2, 4));
            let report = book.apply(mode, b.into_iter(), a.into_iter()).unwrap();
            model.apply(snapshot, bids, asks, depth);

            let got_bids: Vec<_> = book.bids().iter().map(|(p, q)| (p.0, q.0)).collect();
            let got_asks: Vec<_> = book.asks().iter().map(|(p, q)| (p.0, q.0)).collect();
            prop_assert_eq!(&got_bids, &model.bids_best_first());
            prop_assert_eq!(&got_asks, &model.asks_best_first());
            prop_assert_eq!(book.checksum(), model.checksum());
            prop_assert_eq!(report.capacity_evictions, 0);
            let crossed = matches!((book.best_bid(), book.best_ask()), (Some((b, _)), Some((a, _))) if b >= a);
            prop_assert_eq!(report.crossed, crossed);
        }
    }

    #[test]
    fn exact_levels_path_matches_decimal_path(messages in prop::collection::vec(message(), 1..60)) {
        let mut by_decimal = OrderBook::new(10, 2, 4);
        let mut by_exact = OrderBook::new(10, 2, 4);
        for (i, (snapshot, bids, asks)) in messages.iter().enumerate() {
            let mode = if *snapshot || i == 0 { ApplyMode::Snapshot } else { ApplyMode::Update };
            let (b, a) = (to_decimals(bids, 2, 4), to_decimals(asks, 2, 4));
            by_decimal.apply(mode, b.into_iter(), a.into_iter()).unwrap();
            let exact = |v: &[(i64, i64)]| v.iter().map(|&(p, q)| (Price(p), Qty(q))).collect::<Vec<_>>();
            by_exact.apply_exact(mode, &exact(bids), &exact(asks));
            prop_assert_eq!(by_decimal.checksum(), by_exact.checksum());
        }
    }
}

/// A raw level as a decimal: mantissas around the valid range (zero and negative prices,
/// negative quantities) at the book's scale or one more (too precise unless divisible).
fn raw_level(lo: i64, hi: i64) -> impl Strategy<Value = (Decimal, Decimal)> {
    let price = (lo - 3..=hi, prop_oneof![9 => Just(2u8), 1 => Just(3u8)]);
    let qty = (
        prop_oneof![3 => Just(0i64), 7 => -2i64..1_000_000],
        prop_oneof![9 => Just(4u8), 1 => Just(5u8)],
    );
    (price, qty).prop_map(|((p, ps), (q, qs))| {
        (
            Decimal {
                mantissa: p,
                scale: ps,
            },
            Decimal {
                mantissa: q,
                scale: qs,
            },
        )
    })
}

/// (is snapshot, bids, asks) as decimals, some of them invalid, up to 40 per side (more inserts
/// than the slack: evictions).
type RawMessage = (bool, Vec<(Decimal, Decimal)>, Vec<(Decimal, Decimal)>);

fn raw_message() -> impl Strategy<Value = RawMessage> {
    (
        prop::bool::weighted(0.05),
        prop::collection::vec(raw_level(1, 60), 0..40),
        prop::collection::vec(raw_level(50, 110), 0..40),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// The engine's one-call path (`convert_and_apply`, which skips the per-level check) does
    /// exactly what `convert_levels` then `apply_converted` (the checked general path) does:
    /// same result, same levels handed on, same book.
    #[test]
    fn convert_and_apply_matches_convert_then_apply_converted(
        depth in prop_oneof![Just(10usize), Just(3)],
        messages in prop::collection::vec(raw_message(), 1..80),
    ) {
        let mut fast = OrderBook::new(depth, 2, 4);
        let mut general = OrderBook::new(depth, 2, 4);
        let (mut fast_out, mut general_out) = (LevelBuf::with_capacity(64), LevelBuf::with_capacity(64));
        for (i, (snapshot, bids, asks)) in messages.iter().enumerate() {
            let mode = if *snapshot || i == 0 { ApplyMode::Snapshot } else { ApplyMode::Update };
            let got = fast.convert_and_apply(mode, bids.iter().copied(), asks.iter().copied(), &mut fast_out);
            let want = general
                .convert_levels(bids.iter().copied(), asks.iter().copied(), &mut general_out)
                .map(|()| general.apply_converted(mode, general_out.as_slice()));
            prop_assert_eq!(got, want);
            if got.is_ok() {
                prop_assert_eq!(fast_out.as_slice(), general_out.as_slice());
            }
            prop_assert!(fast.bids().iter().eq(general.bids().iter()));
            prop_assert!(fast.asks().iter().eq(general.asks().iter()));
            prop_assert_eq!(fast.checksum(), general.checksum());
        }
    }
}

/// One step of a stream for the memoised checksum: a message (exact levels, possibly more inserts
/// than the capacity slack so that evictions happen) and whether to take the checksum after it.
type Step = (bool, Vec<(i64, i64)>, Vec<(i64, i64)>, bool);

fn step() -> impl Strategy<Value = Step> {
    // Narrow price bands and few quantities: prices leave and come back, quantities return to
    // earlier values, levels shift across rank 10 in both directions.
    let level = |lo: i64, hi: i64| {
        (
            lo..=hi,
            prop_oneof![2 => Just(0i64), 3 => 1i64..4, 1 => 1i64..i64::MAX],
        )
    };
    (
        prop::bool::weighted(0.04),
        prop::collection::vec(level(1, 40), 0..24),
        prop::collection::vec(level(30, 70), 0..24),
        prop::bool::weighted(0.7),
    )
}

/// A step shaped like live updates: 0–3 levels per side (most messages change 1–3 of the 20
/// levels the checksum covers), prices in a band around the top of book so that inserts and
/// deletes shift the ranks across rank 10, quantities of every digit count.
fn small_step() -> impl Strategy<Value = Step> {
    let level = |lo: i64, hi: i64| {
        (
            lo..=hi,
            prop_oneof![3 => Just(0i64), 4 => 1i64..1_000, 2 => 1i64..i64::MAX],
        )
    };
    (
        prop::bool::weighted(0.01),
        prop::collection::vec(level(1, 30), 0..4),
        prop::collection::vec(level(31, 60), 0..4),
        prop::bool::weighted(0.9),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// The memoised checksum over long streams of small updates (the shape of live traffic, where
    /// a message changes a few of the levels the checksum covers), at the depths that matter.
    #[test]
    fn memoised_checksum_equals_uncached_over_small_updates(
        depth in prop_oneof![Just(10usize), Just(25)],
        first in (prop::collection::vec((1i64..=30, 1i64..1_000), 0..25),
                  prop::collection::vec((31i64..=60, 1i64..1_000), 0..25)),
        steps in prop::collection::vec(small_step(), 1..300),
    ) {
        let mut book = OrderBook::new(depth, 2, 4);
        let exact = |v: &[(i64, i64)]| v.iter().map(|&(p, q)| (Price(p), Qty(q))).collect::<Vec<_>>();
        book.apply_exact(ApplyMode::Snapshot, &exact(&first.0), &exact(&first.1));
        prop_assert_eq!(book.checksum(), book.checksum_uncached());
        for (snapshot, bids, asks, check) in &steps {
            let mode = if *snapshot { ApplyMode::Snapshot } else { ApplyMode::Update };
            book.apply_exact(mode, &exact(bids), &exact(asks));
            if *check {
                prop_assert_eq!(book.checksum(), book.checksum_uncached());
            }
        }
        prop_assert_eq!(book.checksum(), book.checksum_uncached());
    }

    /// The memoised `OrderBook::checksum` equals the from-scratch one after any history, whether
    /// it was taken after every message or only some, across snapshots, precision resets (which
    /// clear the book) and clones.
    #[test]
    fn memoised_checksum_equals_uncached(
        depth in prop_oneof![Just(3usize), Just(10), Just(12), Just(25)],
        steps in prop::collection::vec(step(), 1..150),
        reset_at in 0usize..200,
        clone_at in 0usize..200,
    ) {
        let mut book = OrderBook::new(depth, 2, 4);
        for (i, (snapshot, bids, asks, check)) in steps.iter().enumerate() {
            if i == reset_at {
                book.set_precision(2, 4);
            }
            if i == clone_at {
                book = book.clone();
            }
            let mode = if *snapshot || i == 0 { ApplyMode::Snapshot } else { ApplyMode::Update };
            let exact = |v: &[(i64, i64)]| v.iter().map(|&(p, q)| (Price(p), Qty(q))).collect::<Vec<_>>();
            book.apply_exact(mode, &exact(bids), &exact(asks));
            if *check {
                let want = book.checksum_uncached();
                prop_assert_eq!(book.checksum(), want);
                // Asked again with nothing changed: the memoised value.
                prop_assert_eq!(book.checksum(), want);
            }
        }
        let want = book.checksum_uncached();
        prop_assert_eq!(book.checksum(), want);
    }
}
