//! Tests of the checksum cache: the digit and level hashes against their rendered text, and
//! the cache against the from-scratch checksum over random histories, on every backend.

use super::super::checksum::{book_checksum, checksum_text};
use super::*;
use kspin_api::{Price, Qty};
use proptest::prelude::*;

/// Every backend the machine has.
fn backends() -> Vec<Backend> {
    let mut b = vec![Backend::Portable];
    #[cfg(target_arch = "x86_64")]
    if let Some(p) = Pclmul::detect() {
        b.push(Backend::Pclmul(p));
    }
    b
}

/// `hash_digits` on one backend.
fn hash_on(b: Backend, pm: u32, v: u64, from_empty: bool) -> (u32, usize) {
    match (b, from_empty) {
        #[cfg(target_arch = "x86_64")]
        (Backend::Pclmul(p), true) => hash_digits::<_, true>(p, pm, v),
        #[cfg(target_arch = "x86_64")]
        (Backend::Pclmul(p), false) => hash_digits::<_, false>(p, pm, v),
        (Backend::Portable, true) => hash_digits::<_, true>(Portable, pm, v),
        (Backend::Portable, false) => hash_digits::<_, false>(Portable, pm, v),
    }
}

#[test]
fn digits_hash_as_their_text_at_every_length_boundary() {
    // After every prefix length a quantity can follow (none, and prices of 1 to 19 digits),
    // `pm(prefix ‖ digits)` equals the reference over the text itself.
    let check = |v: u64| {
        let digits = if v == 0 { String::new() } else { v.to_string() };
        for b in backends() {
            let got = hash_on(b, 0, v, true);
            assert_eq!(got, (gf2::pm_of(digits.as_bytes()), digits.len()), "{v}");
            for prefix in [
                "",
                "7",
                "1234567",
                "12345678",
                "987654321012",
                "9223372036854775808",
            ] {
                let text = format!("{prefix}{digits}");
                let got = hash_on(b, gf2::pm_of(prefix.as_bytes()), v, false);
                assert_eq!(got, (gf2::pm_of(text.as_bytes()), digits.len()), "{text}");
            }
        }
    };
    let mut p = 1u64;
    loop {
        for v in [p - 1, p, p + 1] {
            check(v);
        }
        match p.checked_mul(10) {
            Some(next) => p = next,
            None => break,
        }
    }
    check(u64::MAX);
    check(i64::MIN.unsigned_abs());
    // A pseudo-random sweep over every magnitude (64-bit LCG, Knuth's MMIX constants).
    let mut x = 1u64;
    for i in 0..5_000u32 {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        check(x >> (i % 64));
    }
}

#[test]
fn a_level_hashes_as_its_reference_text() {
    let mut bids = BookSide::new(SideKind::Bid, 2);
    let asks = BookSide::new(SideKind::Ask, 2);
    for (price, qty) in [(452852, 100000), (i64::MAX, i64::MAX), (0, 7), (1, 1)] {
        bids.clear();
        bids.apply(Price(price), Qty(qty));
        let text = checksum_text(&bids, &asks);
        for b in backends() {
            let level = match b {
                #[cfg(target_arch = "x86_64")]
                Backend::Pclmul(p) => Level::new(p, price, qty),
                Backend::Portable => Level::new(Portable, price, qty),
            };
            assert_eq!(level.pm, gf2::pm_of(text.as_bytes()), "{text}");
            assert_eq!(usize::from(level.len), text.len());
            let digits = price.to_string();
            let price_text = if price == 0 { "" } else { digits.as_str() };
            assert_eq!(level.price_pm, gf2::pm_of(price_text.as_bytes()));
            assert_eq!(usize::from(level.price_len), price_text.len());
        }
    }
}

#[test]
fn equals_the_uncached_checksum_through_shifts_and_updates() {
    let mut bids = BookSide::new(SideKind::Bid, 40);
    let mut asks = BookSide::new(SideKind::Ask, 40);
    let mut cache = ChecksumCache::new();
    for p in 1..=20 {
        bids.apply(Price(1000 - p), Qty(p));
        asks.apply(Price(1000 + p), Qty(2 * p));
    }
    // As `OrderBook::checksum` drives it: the lowest changed ranks, then marked seen.
    let check = |cache: &mut ChecksumCache, bids: &mut BookSide, asks: &mut BookSide| {
        let got = cache.checksum(bids, bids.touched_from(), asks, asks.touched_from());
        bids.mark_seen();
        asks.mark_seen();
        assert_eq!(
            got,
            book_checksum(bids, asks),
            "{}",
            checksum_text(bids, asks)
        );
    };
    check(&mut cache, &mut bids, &mut asks);
    check(&mut cache, &mut bids, &mut asks);
    // New best levels shift every rank down; deletes shift them up; qty changes in place.
    bids.apply(Price(1000), Qty(7));
    asks.apply(Price(1003), Qty(0));
    check(&mut cache, &mut bids, &mut asks);
    asks.apply(Price(1001), Qty(123_456_789));
    bids.apply(Price(995), Qty(0));
    bids.apply(Price(994), Qty(0));
    bids.apply(Price(993), Qty(0));
    check(&mut cache, &mut bids, &mut asks);
    bids.clear();
    check(&mut cache, &mut bids, &mut asks);
    asks.apply(Price(1), Qty(1));
    check(&mut cache, &mut bids, &mut asks);
}

/// One change to a side: set a level (quantity 0 deletes), cut to a depth, or clear.
#[derive(Clone, Debug)]
enum Op {
    Set { bid: bool, price: i64, qty: i64 },
    Truncate { bid: bool, depth: usize },
    Clear { bid: bool },
}

fn op() -> impl Strategy<Value = Op> {
    // A narrow band of prices so that levels cross rank 10 both ways; quantities of every
    // digit count, and deletes.
    let qty = prop_oneof![3 => Just(0i64), 4 => 1i64..1_000, 2 => 1i64..i64::MAX];
    prop_oneof![
        40 => (any::<bool>(), 1i64..40, qty).prop_map(|(bid, price, qty)| Op::Set { bid, price, qty }),
        2 => (any::<bool>(), 0usize..14).prop_map(|(bid, depth)| Op::Truncate { bid, depth }),
        1 => any::<bool>().prop_map(|bid| Op::Clear { bid }),
    ]
}

/// Applies each batch of changes to a pair of sides, then checks every backend's cache
/// against the from-scratch checksum.
fn check_history(batches: &[Vec<Op>], capacity: usize) -> Result<(), TestCaseError> {
    let mut bids = BookSide::new(SideKind::Bid, capacity);
    let mut asks = BookSide::new(SideKind::Ask, capacity);
    let mut caches: Vec<_> = backends()
        .into_iter()
        .map(ChecksumCache::with_backend)
        .collect();
    for batch in batches {
        for op in batch {
            match *op {
                Op::Set {
                    bid: true,
                    price,
                    qty,
                } => {
                    bids.apply(Price(price), Qty(qty));
                }
                Op::Set {
                    bid: false,
                    price,
                    qty,
                } => {
                    asks.apply(Price(price), Qty(qty));
                }
                Op::Truncate { bid: true, depth } => {
                    bids.truncate(depth);
                }
                Op::Truncate { bid: false, depth } => {
                    asks.truncate(depth);
                }
                Op::Clear { bid: true } => bids.clear(),
                Op::Clear { bid: false } => asks.clear(),
            }
        }
        let want = book_checksum(&bids, &asks);
        for cache in &mut caches {
            let got = cache.checksum(&bids, bids.touched_from(), &asks, asks.touched_from());
            prop_assert_eq!(got, want, "{:?}: {}", cache, checksum_text(&bids, &asks));
        }
        bids.mark_seen();
        asks.mark_seen();
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// On every backend, the cache equals the from-scratch checksum after any history of
    /// changes (including more than the edit log holds between two computations), taken
    /// after every batch of 0 to 20 changes.
    #[test]
    fn every_backend_equals_the_uncached_checksum(
        batches in prop::collection::vec(prop::collection::vec(op(), 0..20), 1..60),
        capacity in 1usize..30,
    ) {
        check_history(&batches, capacity)?;
    }

    /// The one-edit path (`SideSums::single`: quantity changes at every rank, inserts at
    /// rank 0 into full and partial sides) equals the from-scratch checksum: a filled book,
    /// then a checksum after every single change.
    #[test]
    fn single_edits_equal_the_uncached_checksum(
        fill in prop::collection::vec(op(), 0..40),
        singles in prop::collection::vec(op(), 1..200),
        capacity in 1usize..30,
    ) {
        let mut batches = vec![fill];
        batches.extend(singles.into_iter().map(|op| vec![op]));
        check_history(&batches, capacity)?;
    }
}
