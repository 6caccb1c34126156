//! OHLCV candles built from trades by exchange time: [`Candle`] and [`CandleBuilder`], shared by
//! the `candles` and `sma_cross` strategies.
//!
//! Buckets are aligned to multiples of the interval since the Unix epoch (a 1-minute candle
//! starts on the minute). A candle closes when the first trade of a later bucket arrives, so the
//! output depends only on the trades, never on a local clock; buckets without trades produce no
//! candle. A trade older than the open candle (out of order) is folded into the open candle.
//! Never allocates; volume saturates instead of overflowing.

use kspin_api::{Price, Qty};

/// One closed (or open) candle. Prices and volume are mantissas at the symbol's scales.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candle {
    /// Bucket start, ns since the Unix epoch.
    pub start_ns: u64,
    pub open: Price,
    pub high: Price,
    pub low: Price,
    pub close: Price,
    pub volume: Qty,
    pub trades: u32,
}

impl Candle {
    fn new(start_ns: u64, price: Price, qty: Qty) -> Candle {
        Candle {
            start_ns,
            open: price,
            high: price,
            low: price,
            close: price,
            volume: qty,
            trades: 1,
        }
    }

    fn add(&mut self, price: Price, qty: Qty) {
        self.high = self.high.max(price);
        self.low = self.low.min(price);
        self.close = price;
        self.volume = Qty(self.volume.0.saturating_add(qty.0));
        self.trades = self.trades.saturating_add(1);
    }
}

/// Aggregates trades into candles of a fixed interval.
#[derive(Debug, Clone)]
pub struct CandleBuilder {
    interval_ns: u64,
    open: Option<Candle>,
}

impl CandleBuilder {
    /// `interval_ns` must be > 0 (the strategies validate their parameter).
    pub fn new(interval_ns: u64) -> CandleBuilder {
        CandleBuilder {
            interval_ns: interval_ns.max(1),
            open: None,
        }
    }

    pub fn interval_ns(&self) -> u64 {
        self.interval_ns
    }

    /// The candle still being built.
    pub fn open_candle(&self) -> Option<&Candle> {
        self.open.as_ref()
    }

    /// Adds a trade; returns the candle it closed, if it started a new bucket.
    pub fn on_trade(&mut self, time_ns: u64, price: Price, qty: Qty) -> Option<Candle> {
        let start = time_ns - time_ns % self.interval_ns;
        match &mut self.open {
            Some(c) if start <= c.start_ns => {
                c.add(price, qty);
                None
            }
            open => open.replace(Candle::new(start, price, qty)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closes_on_the_first_trade_of_a_later_bucket() {
        let mut b = CandleBuilder::new(60);
        assert_eq!(b.on_trade(61, Price(10), Qty(1)), None);
        assert_eq!(b.on_trade(100, Price(12), Qty(2)), None);
        assert_eq!(b.on_trade(110, Price(9), Qty(3)), None);
        assert_eq!(b.on_trade(70, Price(11), Qty(1)), None); // late, same bucket
        let closed = b.on_trade(250, Price(20), Qty(5)).unwrap();
        assert_eq!(
            closed,
            Candle {
                start_ns: 60,
                open: Price(10),
                high: Price(12),
                low: Price(9),
                close: Price(11),
                volume: Qty(7),
                trades: 4,
            }
        );
        assert_eq!(b.open_candle().map(|c| c.start_ns), Some(240));
        // Older than the open candle: folded in.
        assert_eq!(b.on_trade(10, Price(1), Qty(1)), None);
        assert_eq!(
            b.open_candle().map(|c| (c.low, c.trades)),
            Some((Price(1), 2))
        );
    }
}
