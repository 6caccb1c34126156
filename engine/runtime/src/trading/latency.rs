//! Tick-to-trade: the TSC stamps of one order's way from the market-data frame that triggered it
//! to its bytes written on the trading socket ([`OrderStamps`]), and one HdrHistogram per step
//! plus the totals ([`OrderLatency`]).
//!
//! Points, in order: the engine read the triggering frame (`read`), decoded it (`decoded`), the
//! feed applied it (`applied`), the bus published the event (`published`), the strategy's host
//! took it (`received`), the strategy submitted the intent (`submitted`), the order link took it
//! off the intent ring (`dequeued`), every pre-trade check passed (`risk_passed`), the request
//! was encoded (`encoded`), its bytes were written to the socket (`written`). The first four come
//! from the engine's stamps of the triggering frame, the next two travel in the intent, the rest
//! are taken by the order link. Totals: `tick_to_trade` (read → written) and `engine` (dequeued →
//! written: what the engine adds to a strategy's decision) and `engine_before_write` (dequeued →
//! encoded: the same without the write syscall).
//!
//! Invariants: a span is recorded only when both ends were stamped, in order (an order from a
//! timer has no triggering frame: only the engine's share is recorded); histograms are allocated
//! once and never resized; recording never allocates, locks or formats.

use hdrhistogram::{CreationError, Histogram};
use quanta::Clock;

/// A point on an order's way out (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OrderPoint {
    Read = 0,
    Decoded = 1,
    Applied = 2,
    Published = 3,
    Received = 4,
    Submitted = 5,
    Dequeued = 6,
    RiskPassed = 7,
    Encoded = 8,
    Written = 9,
}

/// Number of [`OrderPoint`]s.
pub const ORDER_POINTS: usize = 10;

impl OrderPoint {
    pub const ALL: [OrderPoint; ORDER_POINTS] = [
        OrderPoint::Read,
        OrderPoint::Decoded,
        OrderPoint::Applied,
        OrderPoint::Published,
        OrderPoint::Received,
        OrderPoint::Submitted,
        OrderPoint::Dequeued,
        OrderPoint::RiskPassed,
        OrderPoint::Encoded,
        OrderPoint::Written,
    ];

    /// Stable short name (JSON keys).
    pub fn name(self) -> &'static str {
        match self {
            OrderPoint::Read => "read",
            OrderPoint::Decoded => "decoded",
            OrderPoint::Applied => "applied",
            OrderPoint::Published => "published",
            OrderPoint::Received => "received",
            OrderPoint::Submitted => "submitted",
            OrderPoint::Dequeued => "dequeued",
            OrderPoint::RiskPassed => "risk_passed",
            OrderPoint::Encoded => "encoded",
            OrderPoint::Written => "written",
        }
    }
}

/// One order's stamps (quanta raw); 0 = not reached.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OrderStamps {
    tsc: [u64; ORDER_POINTS],
}

impl OrderStamps {
    #[inline]
    pub fn set(&mut self, point: OrderPoint, tsc: u64) {
        self.tsc[point as usize] = tsc;
    }

    #[inline]
    pub fn get(&self, point: OrderPoint) -> u64 {
        self.tsc[point as usize]
    }

    #[inline]
    pub fn clear(&mut self) {
        self.tsc = [0; ORDER_POINTS];
    }
}

/// Longest span tracked exactly (longer ones saturate): 10 s in ns.
const MAX_NS: u64 = 10_000_000_000;

fn histogram() -> Result<Histogram<u64>, CreationError> {
    Histogram::new_with_bounds(1, MAX_NS, 3)
}

/// One histogram per step between consecutive points, and the totals; see the module docs.
#[derive(Debug, Clone)]
pub struct OrderLatency {
    steps: Vec<Histogram<u64>>,
    /// Read of the triggering frame → bytes written.
    pub tick_to_trade: Histogram<u64>,
    /// The same samples in power-of-two buckets (what the metrics thread exposes).
    pub tick_to_trade_buckets: crate::stats::LatencyBuckets,
    /// Intent dequeued → bytes written.
    pub engine: Histogram<u64>,
    /// Intent dequeued → request encoded: the engine's own work, without the write syscall
    /// (which a bare client pays too).
    pub engine_before_write: Histogram<u64>,
}

impl OrderLatency {
    pub fn new() -> Result<OrderLatency, CreationError> {
        let mut steps = Vec::with_capacity(ORDER_POINTS - 1);
        for _ in 1..ORDER_POINTS {
            steps.push(histogram()?);
        }
        Ok(OrderLatency {
            steps,
            tick_to_trade: histogram()?,
            tick_to_trade_buckets: crate::stats::LatencyBuckets::default(),
            engine: histogram()?,
            engine_before_write: histogram()?,
        })
    }

    /// Records every span of `s` whose two ends were stamped, in order.
    pub fn record(&mut self, clock: &Clock, s: &OrderStamps) {
        let span = |from: OrderPoint, to: OrderPoint| {
            let (a, b) = (s.get(from), s.get(to));
            (a != 0 && b >= a).then(|| clock.delta_as_nanos(a, b).max(1))
        };
        for (i, hist) in self.steps.iter_mut().enumerate() {
            if let Some(ns) = span(OrderPoint::ALL[i], OrderPoint::ALL[i + 1]) {
                hist.saturating_record(ns);
            }
        }
        if let Some(ns) = span(OrderPoint::Read, OrderPoint::Written) {
            self.tick_to_trade.saturating_record(ns);
            self.tick_to_trade_buckets.record(ns);
        }
        if let Some(ns) = span(OrderPoint::Dequeued, OrderPoint::Written) {
            self.engine.saturating_record(ns);
        }
        if let Some(ns) = span(OrderPoint::Dequeued, OrderPoint::Encoded) {
            self.engine_before_write.saturating_record(ns);
        }
    }

    /// `(from → to, histogram)` of every step, in order.
    pub fn steps(&self) -> impl Iterator<Item = (OrderPoint, OrderPoint, &Histogram<u64>)> {
        self.steps
            .iter()
            .enumerate()
            .map(|(i, h)| (OrderPoint::ALL[i], OrderPoint::ALL[i + 1], h))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_and_totals_need_both_ends() {
        let (clock, _mock) = Clock::mock();
        let mut lat = OrderLatency::new().unwrap();
        let mut s = OrderStamps::default();
        for (i, p) in OrderPoint::ALL.iter().enumerate() {
            s.set(*p, 1_000 + 100 * i as u64);
        }
        lat.record(&clock, &s);
        assert_eq!(lat.tick_to_trade.max(), 900);
        assert_eq!(lat.tick_to_trade_buckets.count(), 1);
        assert_eq!(lat.tick_to_trade_buckets.sum_ns, 900);
        assert_eq!(lat.engine.max(), 300);
        assert_eq!(lat.engine_before_write.max(), 200);
        assert!(lat.steps().all(|(_, _, h)| h.len() == 1 && h.max() == 100));
        // A timer's order: no frame, only the engine's share.
        let mut t = OrderStamps::default();
        t.set(OrderPoint::Submitted, 5_000);
        t.set(OrderPoint::Dequeued, 5_050);
        t.set(OrderPoint::Written, 5_400);
        lat.record(&clock, &t);
        assert_eq!((lat.tick_to_trade.len(), lat.engine.len()), (1, 2));
    }
}
