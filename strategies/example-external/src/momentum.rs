//! `micro_momentum`: buys when the micro-price rose by at least `threshold_bps` over the last
//! `window` of exchange time, sells when it fell as much, within `max_position` either way.
//!
//! Owns a ring of (exchange time, micro-price) samples sized at construction, the position built
//! from its fills, and a few counters. Invariants: time is the events' exchange time
//! (`Event::time_ns`), so a replay of a capture makes exactly the decisions the live run made;
//! nothing is allocated per event; prices stay exact (the micro-price is a `Decimal` and the
//! momentum is computed in integers); at most one order is in flight at a time.

use core::time::Duration;

use kspin_api::{
    ClientOrderId, Context, Decimal, Event, EventKind, LogRecord, LogSchema, OrderIntent,
    OrderStatus, ParamError, Params, Qty, Side, Strategy, StrategySummary, SymbolId,
};

/// The registry name.
pub const NAME: &str = "micro_momentum";

static SIGNAL: LogSchema = LogSchema::new("signal", ["momentum_bps", "position", "", ""]);

/// See the module docs.
pub struct MicroMomentum {
    symbol: SymbolId,
    window_ns: u64,
    /// The threshold in hundredths of a basis point.
    threshold_centi_bps: i128,
    qty: Qty,
    max_position: Qty,
    /// (time_ns, micro-price mantissa at `micro_scale`), oldest first, as a ring.
    samples: Vec<(u64, i64)>,
    head: usize,
    len: usize,
    micro_scale: u8,
    position: Qty,
    /// The order waiting for its answer, and its side.
    in_flight: Option<(ClientOrderId, Side)>,
    signals: u64,
    fills: u64,
    rejects: u64,
    /// The largest momentum seen, in hundredths of a basis point (for tuning the threshold).
    max_abs_centi_bps: u64,
}

impl MicroMomentum {
    /// Parameters: `symbol`, `window` (default 500ms), `threshold_bps` (default 2, decimals
    /// allowed), `qty`,
    /// `max_position` (default 5 × qty), `capacity` (samples kept, default 4096).
    pub fn from_params(p: &Params) -> Result<MicroMomentum, ParamError> {
        let symbol = p.get_symbol("symbol")?;
        let window = p.get_duration_or("window", Duration::from_millis(500))?;
        let threshold = match p.raw("threshold_bps") {
            Some(_) => p.get_decimal("threshold_bps")?,
            None => Decimal {
                mantissa: 2,
                scale: 0,
            },
        };
        let threshold_centi_bps =
            threshold
                .to_scale(2)
                .ok()
                .filter(|&t| t > 0)
                .ok_or_else(|| {
                    ParamError::invalid(
                        "threshold_bps",
                        threshold.mantissa,
                        "basis points > 0 with at most 2 decimals",
                    )
                })?;
        let qty = p.get_qty("qty", symbol)?;
        let max_position = match p.raw("max_position") {
            Some(_) => p.get_qty("max_position", symbol)?,
            None => Qty(qty.0.saturating_mul(5)),
        };
        let capacity = p.get_u64_in("capacity", 4096, 2, 1 << 20)? as usize;
        if qty.0 <= 0 {
            return Err(ParamError::invalid("qty", qty.0, "a quantity > 0"));
        }
        Ok(MicroMomentum {
            symbol,
            window_ns: u64::try_from(window.as_nanos()).unwrap_or(u64::MAX),
            threshold_centi_bps: i128::from(threshold_centi_bps),
            qty,
            max_position,
            samples: vec![(0, 0); capacity],
            head: 0,
            len: 0,
            micro_scale: 0,
            position: Qty::ZERO,
            in_flight: None,
            signals: 0,
            fills: 0,
            rejects: 0,
            max_abs_centi_bps: 0,
        })
    }

    fn push(&mut self, time_ns: u64, micro: i64) {
        let cap = self.samples.len();
        if self.len == cap {
            self.head = (self.head + 1) % cap;
            self.len -= 1;
        }
        self.samples[(self.head + self.len) % cap] = (time_ns, micro);
        self.len += 1;
        // Forget what has left the window (keep the last sample older than it as the base).
        while self.len > 1 {
            let next = self.samples[(self.head + 1) % cap];
            if time_ns.saturating_sub(next.0) < self.window_ns {
                break;
            }
            self.head = (self.head + 1) % cap;
            self.len -= 1;
        }
    }

    /// Micro-price change over the window, in hundredths of a basis point of its start; `None`
    /// until the samples span the whole window.
    fn momentum_centi_bps(&self, now_ns: u64) -> Option<i128> {
        if self.len < 2 {
            return None;
        }
        let (t0, start) = self.samples[self.head];
        if now_ns.saturating_sub(t0) < self.window_ns || start <= 0 {
            return None;
        }
        let (_, last) = self.samples[(self.head + self.len - 1) % self.samples.len()];
        Some((i128::from(last) - i128::from(start)) * 1_000_000 / i128::from(start))
    }

    fn on_book(&mut self, event: &Event, ctx: &mut dyn Context) {
        let Some(book) = ctx.book(self.symbol) else {
            return;
        };
        if !book.is_live() {
            return;
        }
        let Some(Decimal { mantissa, scale }) = book.microprice() else {
            return;
        };
        if scale != self.micro_scale {
            // The first sample, or the pair's precision changed: start over.
            self.micro_scale = scale;
            self.len = 0;
        }
        self.push(event.time_ns, mantissa);
        let Some(centi) = self.momentum_centi_bps(event.time_ns) else {
            return;
        };
        self.max_abs_centi_bps = self
            .max_abs_centi_bps
            .max(u64::try_from(centi.unsigned_abs()).unwrap_or(u64::MAX));

        if self.in_flight.is_some() {
            return;
        }
        let side = if centi >= self.threshold_centi_bps
            && self.position.0.saturating_add(self.qty.0) <= self.max_position.0
        {
            Side::Buy
        } else if centi <= -self.threshold_centi_bps
            && self.position.0.saturating_sub(self.qty.0) >= -self.max_position.0
        {
            Side::Sell
        } else {
            return;
        };
        self.signals += 1;
        ctx.log(
            LogRecord::new(&SIGNAL, Some(self.symbol))
                .value(i64::try_from(centi).unwrap_or(i64::MAX), 2)
                .value(self.position.0, book.qty_scale()),
        );
        if let Ok(id) = ctx.submit(OrderIntent::market(self.symbol, side, self.qty)) {
            self.in_flight = Some((id, side));
            // A fresh window after each decision: the next one needs new evidence.
            self.len = 0;
        }
    }
}

impl Strategy for MicroMomentum {
    fn on_event(&mut self, event: &Event, ctx: &mut dyn Context) {
        match event.kind {
            EventKind::BookChanged(c) if c.symbol == self.symbol => self.on_book(event, ctx),
            EventKind::Order(u) => {
                let Some((id, side)) = self.in_flight else {
                    return;
                };
                if u.client_id != id {
                    return;
                }
                if let Some((_, qty, _)) = u.fill() {
                    self.fills += 1;
                    let signed = match side {
                        Side::Buy => qty.0,
                        Side::Sell => -qty.0,
                    };
                    self.position = Qty(self.position.0.saturating_add(signed));
                }
                if let OrderStatus::Rejected(_) = u.status {
                    self.rejects += 1;
                }
                if u.is_final() {
                    self.in_flight = None;
                }
            }
            _ => {}
        }
    }

    fn summary(&self) -> StrategySummary {
        StrategySummary::new()
            .count("signals", self.signals)
            .count("fills", self.fills)
            .count("rejects", self.rejects)
            .count("max_abs_momentum_centi_bps", self.max_abs_centi_bps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kspin::testing::TestHost;
    use kspin_api::SymbolInfo;

    const BTC: SymbolId = SymbolId(0);
    const T0: u64 = 1_764_000_000_000_000_000;
    const MS: u64 = 1_000_000;

    fn strategy() -> (TestHost, MicroMomentum) {
        let symbols = vec![SymbolInfo::new(0, "BTC/USD", 1, 8, 10)];
        let params = Params::from_pairs(
            &symbols,
            &[
                ("symbol", "BTC/USD"),
                ("window", "500ms"),
                ("threshold_bps", "2"),
                ("qty", "0.01"),
            ],
        )
        .unwrap();
        (
            TestHost::new(symbols),
            MicroMomentum::from_params(&params).unwrap(),
        )
    }

    /// A one-level book around `mid` (in ticks of 0.1), with more size on the bid.
    fn book(host: &mut TestHost, s: &mut MicroMomentum, t: u64, mid: i64) {
        host.set_now(t);
        host.book_snapshot(s, BTC, &[(mid - 1, 300_000_000)], &[(mid + 1, 100_000_000)]);
    }

    #[test]
    fn buys_on_a_rise_over_the_window_and_the_paper_fill_moves_the_position() {
        let (mut host, mut s) = strategy();
        // 600 ms of a flat market: no signal.
        for i in 0..7 {
            book(&mut host, &mut s, T0 + i * 100 * MS, 900_000);
        }
        assert!(host.intents().is_empty());
        // +0.05% in 100 ms (5 bps): over the 500 ms window, above the 2 bps threshold.
        book(&mut host, &mut s, T0 + 700 * MS, 900_450);
        let intents = host.intents();
        assert_eq!(intents.len(), 1);
        let (_, intent) = intents[0];
        assert_eq!((intent.side, intent.qty), (Side::Buy, Qty(1_000_000)));
        // The paper model filled it at the ask of the book that priced it.
        assert_eq!(s.position, Qty(1_000_000));
        assert_eq!(s.in_flight, None);
        assert_eq!(s.summary().get("fills").map(|f| f.value), Some(1));
        // Right after a decision the window starts over: no second order yet.
        book(&mut host, &mut s, T0 + 800 * MS, 900_900);
        assert_eq!(host.intents().len(), 1);
    }

    #[test]
    fn a_window_not_yet_spanned_makes_no_decision() {
        let (mut host, mut s) = strategy();
        book(&mut host, &mut s, T0, 900_000);
        book(&mut host, &mut s, T0 + 100 * MS, 950_000);
        assert!(host.intents().is_empty(), "100 ms of history is not 500 ms");
    }
}
