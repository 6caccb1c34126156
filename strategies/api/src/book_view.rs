//! [`BookView`]: the read-only view of one L2 book a strategy gets from
//! [`crate::Context::book`], with exact fixed-point helpers (mid, spread, microprice, imbalance).
//!
//! The host implements the five required methods over the book it keeps (its replica of the
//! engine's `OrderBook`); the helpers are provided and use only
//! integer arithmetic (`i128` where products are formed). Invariants a view must uphold: levels
//! are best first on each side, every quantity is > 0, prices and quantities are mantissas at
//! [`BookView::price_scale`] / [`BookView::qty_scale`]. Nothing here allocates, panics or uses
//! `f64` for a price; the one `f64` output ([`BookView::imbalance`]) is a unitless ratio.

use crate::fixed::{div_round, pow10, Decimal, Price, Qty};
use crate::side::BookSide;

/// Extra decimals [`BookView::microprice`] carries beyond the price scale: the size-weighted mid
/// lies between ticks, and four more digits resolve it to 1/10000 of a tick.
pub const MICROPRICE_EXTRA_DECIMALS: u8 = 4;

/// Largest `decimals` [`BookView::imbalance_scaled`] accepts; more is clamped. With 9 the
/// intermediate `|bid - ask| * 10^9` stays far inside `i128` even for 1000-level sums.
pub const MAX_IMBALANCE_DECIMALS: u8 = 9;

/// A consistent view of one book. See the module docs for the invariants.
pub trait BookView {
    /// The level at `rank` (0 = best) on `side`.
    fn level(&self, side: BookSide, rank: usize) -> Option<(Price, Qty)>;
    /// Number of levels held on `side` (at most [`BookView::depth`]).
    fn len(&self, side: BookSide) -> usize;
    /// False while the engine's book is stale (resyncing, disconnected) or the host's replica
    /// diverged; the levels are then the last known ones and must not be traded on.
    fn is_live(&self) -> bool;
    /// Decimals of every [`Price`] mantissa in this book.
    fn price_scale(&self) -> u8;
    /// Decimals of every [`Qty`] mantissa in this book.
    fn qty_scale(&self) -> u8;
    /// Subscribed depth per side.
    fn depth(&self) -> usize;

    #[inline]
    fn best_bid(&self) -> Option<(Price, Qty)> {
        self.level(BookSide::Bid, 0)
    }

    #[inline]
    fn best_ask(&self) -> Option<(Price, Qty)> {
        self.level(BookSide::Ask, 0)
    }

    /// No level on `side`.
    #[inline]
    fn is_side_empty(&self, side: BookSide) -> bool {
        self.len(side) == 0
    }

    /// Best ask minus best bid, in price units (zero or negative when the book is crossed or
    /// locked). `None` if either side is empty.
    #[inline]
    fn spread(&self) -> Option<Price> {
        let (b, _) = self.best_bid()?;
        let (a, _) = self.best_ask()?;
        a.0.checked_sub(b.0).map(Price)
    }

    /// `(best_bid + best_ask) / 2`, exact: a [`Decimal`] at `price_scale + 1` decimals.
    #[inline]
    fn mid(&self) -> Option<Decimal> {
        let (b, _) = self.best_bid()?;
        let (a, _) = self.best_ask()?;
        let m = b.0.checked_add(a.0)?.checked_mul(5)?;
        Some(Decimal {
            mantissa: m,
            scale: self.price_scale() + 1,
        })
    }

    /// Size-weighted mid `(bid * ask_qty + ask * bid_qty) / (bid_qty + ask_qty)`, which leans
    /// towards the side with less size: a [`Decimal`] at `price_scale +`
    /// [`MICROPRICE_EXTRA_DECIMALS`], rounded to nearest (ties away from zero).
    fn microprice(&self) -> Option<Decimal> {
        let (b, bq) = self.best_bid()?;
        let (a, aq) = self.best_ask()?;
        let num = (b.0 as i128)
            .checked_mul(aq.0 as i128)?
            .checked_add((a.0 as i128).checked_mul(bq.0 as i128)?)?;
        let den = bq.0 as i128 + aq.0 as i128;
        if den <= 0 {
            return None;
        }
        // Integer part and remainder separately so that the scaling cannot overflow.
        let f = pow10(MICROPRICE_EXTRA_DECIMALS)? as i128;
        let whole = num / den;
        let frac = div_round((num % den) * f, den)?;
        let m = whole.checked_mul(f)?.checked_add(frac)?;
        Some(Decimal {
            mantissa: i64::try_from(m).ok()?,
            scale: self.price_scale() + MICROPRICE_EXTRA_DECIMALS,
        })
    }

    /// Sum of the quantities of the best `levels` levels on `side` (qty mantissas).
    fn depth_qty(&self, side: BookSide, levels: usize) -> i128 {
        let n = levels.min(self.len(side));
        let mut sum = 0i128;
        for rank in 0..n {
            if let Some((_, q)) = self.level(side, rank) {
                sum += q.0 as i128;
            }
        }
        sum
    }

    /// Book imbalance over the best `levels` levels, `(bid_qty - ask_qty) / (bid_qty + ask_qty)`
    /// in `[-1, 1]` (positive = more bid size). A unitless ratio, hence `f64`; use
    /// [`BookView::imbalance_scaled`] for an exact figure. `None` if both sides are empty.
    fn imbalance(&self, levels: usize) -> Option<f64> {
        let b = self.depth_qty(BookSide::Bid, levels);
        let a = self.depth_qty(BookSide::Ask, levels);
        if a + b == 0 {
            return None;
        }
        Some((b - a) as f64 / (a + b) as f64)
    }

    /// [`BookView::imbalance`] as an integer at `decimals` decimals (4 = basis points of the
    /// ratio, so `10000` is all bids), rounded to nearest, ties away from zero. `decimals` is
    /// clamped to [`MAX_IMBALANCE_DECIMALS`].
    fn imbalance_scaled(&self, levels: usize, decimals: u8) -> Option<i64> {
        let b = self.depth_qty(BookSide::Bid, levels);
        let a = self.depth_qty(BookSide::Ask, levels);
        let f = pow10(decimals.min(MAX_IMBALANCE_DECIMALS))? as i128;
        let r = div_round((b - a).checked_mul(f)?, a + b)?;
        i64::try_from(r).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Minimal view over two fixed slices.
    struct Slices<'a> {
        bids: &'a [(i64, i64)],
        asks: &'a [(i64, i64)],
    }

    impl BookView for Slices<'_> {
        fn level(&self, side: BookSide, rank: usize) -> Option<(Price, Qty)> {
            let s = match side {
                BookSide::Bid => self.bids,
                BookSide::Ask => self.asks,
            };
            s.get(rank).map(|&(p, q)| (Price(p), Qty(q)))
        }
        fn len(&self, side: BookSide) -> usize {
            match side {
                BookSide::Bid => self.bids.len(),
                BookSide::Ask => self.asks.len(),
            }
        }
        fn is_live(&self) -> bool {
            true
        }
        fn price_scale(&self) -> u8 {
            1
        }
        fn qty_scale(&self) -> u8 {
            8
        }
        fn depth(&self) -> usize {
            10
        }
    }

    #[test]
    fn helpers_are_exact() {
        // bid 100.0 x 3, ask 100.1 x 1 (price scale 1, qty scale 8).
        let v = Slices {
            bids: &[(1000, 300_000_000), (999, 100_000_000)],
            asks: &[(1001, 100_000_000), (1003, 500_000_000)],
        };
        assert_eq!(v.spread(), Some(Price(1)));
        assert_eq!(v.mid().map(|d| d.to_string()), Some("100.05".to_owned()));
        // (1000*1 + 1001*3) / 4 = 1000.75 ticks -> 100.075
        assert_eq!(
            v.microprice().map(|d| d.to_string()),
            Some("100.07500".to_owned())
        );
        // top 1: (3-1)/4 = 0.5 ; top 2: (4-6)/10 = -0.2
        assert_eq!(v.imbalance_scaled(1, 4), Some(5000));
        assert_eq!(v.imbalance_scaled(2, 4), Some(-2000));
        assert_eq!(v.imbalance(1), Some(0.5));
        assert_eq!(v.depth_qty(BookSide::Ask, 99), 600_000_000);
    }

    #[test]
    fn microprice_rounds_to_nearest() {
        // (10*1 + 11*2) / 3 = 10.6666.. ticks -> 10.6667 at 4 extra decimals.
        let v = Slices {
            bids: &[(10, 2)],
            asks: &[(11, 1)],
        };
        assert_eq!(
            v.microprice(),
            Some(Decimal {
                mantissa: 106_667,
                scale: 5
            })
        );
    }

    #[test]
    fn empty_sides_give_none() {
        let v = Slices {
            bids: &[],
            asks: &[(11, 1)],
        };
        assert_eq!(v.spread(), None);
        assert_eq!(v.mid(), None);
        assert_eq!(v.microprice(), None);
        assert_eq!(v.imbalance_scaled(5, 4), Some(-10000));
        let none = Slices {
            bids: &[],
            asks: &[],
        };
        assert_eq!(none.imbalance(5), None);
        assert_eq!(none.imbalance_scaled(5, 4), None);
    }
}
