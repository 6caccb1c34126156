//! The venue's "true" market: a deep order book per symbol driven by a seeded order-flow model.
//!
//! Owns, per symbol, both sides of a deep book (far deeper than the largest subscription depth,
//! so that depth-1000 subscribers see refills), the trade tape and the running ticker figures.
//! Invariants: prices and quantities are exact mantissas at the pair's precision; every stored
//! quantity is positive; the book is never crossed or locked (best bid < best ask); bid prices
//! stay positive; each step touches exactly one symbol and its outcome depends only on the seed and the
//! number of steps taken, never on time, subscriptions or faults. It never formats or sends.

use std::collections::{BTreeMap, VecDeque};

use kspin_api::{Price, Qty};

use super::pairs::SimPair;
use super::rng::SimRng;

/// Levels kept per side of the deep book: the largest Kraken depth (1000, PROTOCOL.md §1.4) plus
/// room for refills, so a depth-1000 view always has levels beyond its window.
pub const DEEP_LEVELS: usize = 1100;
/// Far levels are pruned once a side grows this far past [`DEEP_LEVELS`] (never visible: they sit
/// beyond rank 1000).
const DEEP_SLACK: usize = 100;
/// Kraken's `trade` snapshot holds the most recent 50 trades (PROTOCOL.md §1.5).
pub const TRADE_TAPE: usize = 50;
/// Side levels never drop below this many through cancels or trades.
const MIN_LEVELS: usize = 5;
/// Ranks considered "near the touch" by the flow model.
const NEAR: u64 = 24;

/// Which side of the book a change touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookSideKind {
    Bid,
    Ask,
}

/// One printed trade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TradePrint {
    pub price: Price,
    pub qty: Qty,
    /// Taker side: `true` = buy (lifted the ask).
    pub taker_buy: bool,
    /// `ord_type`: market (true) or limit.
    pub market_order: bool,
    /// Per-symbol sequence (`trade_id`, "unique per book").
    pub trade_id: u64,
    /// Unix time in microseconds when it printed (display only, never compared).
    pub unix_micros: u64,
}

/// What one market step did: the prices it touched and the trades it printed. Reused between
/// steps (cleared, not reallocated).
#[derive(Debug, Default)]
pub struct StepOutcome {
    pub symbol: usize,
    pub touched_bids: Vec<i64>,
    pub touched_asks: Vec<i64>,
    pub trades: Vec<TradePrint>,
    /// Best bid/ask price or quantity changed.
    pub top_changed: bool,
}

impl StepOutcome {
    fn clear(&mut self, symbol: usize) {
        self.symbol = symbol;
        self.touched_bids.clear();
        self.touched_asks.clear();
        self.trades.clear();
        self.top_changed = false;
    }
}

/// Ticker figures derived from the same state (PROTOCOL.md §1.6), as mantissas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TickerFigures {
    pub bid: (Price, Qty),
    pub ask: (Price, Qty),
    pub last: Price,
    pub volume: Qty,
    pub vwap: Price,
    pub low: Price,
    pub high: Price,
    /// `last - open`, at price precision.
    pub change: i64,
    /// Percent change, at 2 decimals.
    pub change_pct: i64,
}

/// One symbol's deep book and tape.
#[derive(Debug, Clone)]
pub struct SymbolMarket {
    pub pair: &'static SimPair,
    bids: BTreeMap<i64, i64>,
    asks: BTreeMap<i64, i64>,
    rng: SimRng,
    next_trade_id: u64,
    tape: VecDeque<TradePrint>,
    open: i64,
    high: i64,
    low: i64,
    last: i64,
    volume: i128,
    notional: i128,
}

impl SymbolMarket {
    /// A symbol's market seeded from `seed` and the pair's name, filled to [`DEEP_LEVELS`].
    pub fn new(pair: &'static SimPair, seed: u64) -> SymbolMarket {
        let stream = pair.symbol.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
        });
        let mut m = SymbolMarket {
            pair,
            bids: BTreeMap::new(),
            asks: BTreeMap::new(),
            rng: SimRng::derived(seed, stream),
            next_trade_id: 1 + (stream % 1_000) * 1_000_000,
            tape: VecDeque::with_capacity(TRADE_TAPE),
            open: pair.start_mid,
            high: pair.start_mid,
            low: pair.start_mid,
            last: pair.start_mid,
            volume: 0,
            notional: 0,
        };
        let half_spread = m.rng.range(1, pair.max_gap_ticks.max(1) as u64) as i64;
        let first_bid = pair.start_mid - half_spread / 2 - 1;
        let first_ask = first_bid + half_spread.max(1);
        let q = m.random_qty();
        m.bids.insert(first_bid, q);
        let q = m.random_qty();
        m.asks.insert(first_ask, q);
        m.refill_far(BookSideKind::Bid, None);
        m.refill_far(BookSideKind::Ask, None);
        m
    }

    pub fn best_bid(&self) -> Option<(i64, i64)> {
        self.bids.iter().next_back().map(|(&p, &q)| (p, q))
    }

    pub fn best_ask(&self) -> Option<(i64, i64)> {
        self.asks.iter().next().map(|(&p, &q)| (p, q))
    }

    /// Levels on a side.
    pub fn len(&self, side: BookSideKind) -> usize {
        match side {
            BookSideKind::Bid => self.bids.len(),
            BookSideKind::Ask => self.asks.len(),
        }
    }

    /// Whether the deep book holds `price` on `side`.
    pub fn contains(&self, side: BookSideKind, price: i64) -> bool {
        match side {
            BookSideKind::Bid => self.bids.contains_key(&price),
            BookSideKind::Ask => self.asks.contains_key(&price),
        }
    }

    /// Writes the best `n` levels of `side`, best first, into `out` (cleared first).
    pub fn top(&self, side: BookSideKind, n: usize, out: &mut Vec<(Price, Qty)>) {
        out.clear();
        match side {
            BookSideKind::Bid => out.extend(
                self.bids
                    .iter()
                    .rev()
                    .take(n)
                    .map(|(&p, &q)| (Price(p), Qty(q))),
            ),
            BookSideKind::Ask => {
                out.extend(self.asks.iter().take(n).map(|(&p, &q)| (Price(p), Qty(q))))
            }
        }
    }

    /// Every level of `side`, best first (the matching engine walks these).
    pub fn levels(&self, side: BookSideKind) -> impl Iterator<Item = (i64, i64)> + '_ {
        let (bids, asks) = match side {
            BookSideKind::Bid => (Some(self.bids.iter().rev()), None),
            BookSideKind::Ask => (None, Some(self.asks.iter())),
        };
        let bids = bids.into_iter().flatten();
        let asks = asks.into_iter().flatten();
        bids.chain(asks).map(|(&p, &q)| (p, q))
    }

    /// The most recent trades, oldest first (at most [`TRADE_TAPE`]).
    pub fn tape(&self) -> impl Iterator<Item = &TradePrint> {
        self.tape.iter()
    }

    /// Ticker figures from the current book and tape.
    pub fn ticker(&self) -> TickerFigures {
        let bid = self.best_bid().unwrap_or((0, 0));
        let ask = self.best_ask().unwrap_or((0, 0));
        let vwap = if self.volume > 0 {
            (self.notional / self.volume) as i64
        } else {
            self.last
        };
        let change = self.last - self.open;
        let change_pct = if self.open > 0 {
            (change as i128 * 10_000 / self.open as i128) as i64
        } else {
            0
        };
        TickerFigures {
            bid: (Price(bid.0), Qty(bid.1)),
            ask: (Price(ask.0), Qty(ask.1)),
            last: Price(self.last),
            volume: Qty(self.volume.min(i64::MAX as i128) as i64),
            vwap: Price(vwap),
            low: Price(self.low),
            high: Price(self.high),
            change,
            change_pct,
        }
    }

    fn side_map(&mut self, side: BookSideKind) -> &mut BTreeMap<i64, i64> {
        match side {
            BookSideKind::Bid => &mut self.bids,
            BookSideKind::Ask => &mut self.asks,
        }
    }

    /// Price of the level at `rank` (0 = best), or the worst level when the side is shorter.
    fn price_at(&self, side: BookSideKind, rank: usize) -> Option<i64> {
        match side {
            BookSideKind::Bid => self
                .bids
                .keys()
                .rev()
                .nth(rank)
                .or_else(|| self.bids.keys().next())
                .copied(),
            BookSideKind::Ask => self
                .asks
                .keys()
                .nth(rank)
                .or_else(|| self.asks.keys().next_back())
                .copied(),
        }
    }

    /// A resting quantity: the pair's typical size times 0.01–5, sometimes round.
    fn random_qty(&mut self) -> i64 {
        let typical = self.pair.typical_qty.max(1);
        let factor = self.rng.range(1, 500) as i128;
        let mut q = (typical as i128 * factor / 100) as i64;
        if self.rng.chance(35) {
            // Round to a few significant digits, like manual orders (`0.10000000`).
            let mut unit = 1i64;
            while unit < q / 100 {
                unit *= 10;
            }
            q = q / unit * unit;
        }
        q.max(1)
    }

    fn touch(out: &mut StepOutcome, side: BookSideKind, price: i64) {
        match side {
            BookSideKind::Bid => out.touched_bids.push(price),
            BookSideKind::Ask => out.touched_asks.push(price),
        }
    }

    fn set_level(&mut self, out: &mut StepOutcome, side: BookSideKind, price: i64, qty: i64) {
        if qty > 0 {
            self.side_map(side).insert(price, qty);
        } else {
            self.side_map(side).remove(&price);
        }
        Self::touch(out, side, price);
    }

    /// Adds to a level at or behind the touch (a new price or more size at an existing one).
    fn op_add(&mut self, out: &mut StepOutcome, side: BookSideKind, deep: bool) {
        let len = self.len(side) as u64;
        let rank = if deep {
            self.rng.range(NEAR, len.max(NEAR + 1))
        } else {
            self.rng.near_rank(NEAR)
        } as usize;
        let Some(anchor) = self.price_at(side, rank) else {
            return;
        };
        let gap = self.rng.range(0, self.pair.max_gap_ticks as u64) as i64;
        let price = match side {
            BookSideKind::Bid => anchor - gap,
            BookSideKind::Ask => anchor + gap,
        };
        if price <= 0 {
            return;
        }
        let add = self.random_qty();
        let old = self.side_map(side).get(&price).copied().unwrap_or(0);
        self.set_level(out, side, price, old.saturating_add(add));
    }

    /// Cancels a level near the touch (or deep), fully or partly.
    fn op_cancel(&mut self, out: &mut StepOutcome, side: BookSideKind, deep: bool) {
        let len = self.len(side);
        if len <= MIN_LEVELS {
            return;
        }
        let rank = if deep {
            self.rng.range(NEAR, len as u64)
        } else {
            self.rng.near_rank(NEAR)
        } as usize;
        let Some(price) = self.price_at(side, rank) else {
            return;
        };
        let old = self.side_map(side).get(&price).copied().unwrap_or(0);
        let new = if self.rng.chance(55) || old < 2 {
            0
        } else {
            old - (old as u64 / 100 * self.rng.range(10, 90)).max(1) as i64
        };
        self.set_level(out, side, price, new);
    }

    /// Replaces a level's quantity.
    fn op_modify(&mut self, out: &mut StepOutcome, side: BookSideKind) {
        let rank = self.rng.near_rank(NEAR) as usize;
        if let Some(price) = self.price_at(side, rank) {
            let q = self.random_qty();
            self.set_level(out, side, price, q);
        }
    }

    /// A new level inside the spread: moves the mid.
    fn op_improve(&mut self, out: &mut StepOutcome, side: BookSideKind) {
        let (Some((bid, _)), Some((ask, _))) = (self.best_bid(), self.best_ask()) else {
            return;
        };
        let spread = ask - bid;
        if spread <= 1 {
            self.op_add(out, side, false);
            return;
        }
        let step = self
            .rng
            .range(1, (spread - 1).min(self.pair.max_gap_ticks) as u64) as i64;
        let price = match side {
            BookSideKind::Bid => bid + step,
            BookSideKind::Ask => ask - step,
        };
        let q = self.random_qty();
        self.set_level(out, side, price, q);
    }

    /// A marketable order taking liquidity at the touch, sweeping up to three levels.
    fn op_trade(&mut self, out: &mut StepOutcome, taker_buy: bool, unix_micros: u64) {
        let side = if taker_buy {
            BookSideKind::Ask
        } else {
            BookSideKind::Bid
        };
        let mut remaining =
            (self.pair.typical_qty as i128 * self.rng.range(5, 400) as i128 / 100).max(1) as i64;
        let market_order = self.rng.chance(60);
        for _ in 0..3 {
            if remaining <= 0 || self.len(side) <= MIN_LEVELS {
                break;
            }
            let Some(price) = self.price_at(side, 0) else {
                break;
            };
            let level = self.side_map(side).get(&price).copied().unwrap_or(0);
            let take = remaining.min(level);
            if take <= 0 {
                break;
            }
            self.set_level(out, side, price, level - take);
            remaining -= take;
            let print = TradePrint {
                price: Price(price),
                qty: Qty(take),
                taker_buy,
                market_order,
                trade_id: self.next_trade_id,
                unix_micros,
            };
            self.next_trade_id += 1;
            self.record_trade(print);
            out.trades.push(print);
        }
    }

    fn record_trade(&mut self, t: TradePrint) {
        if self.tape.len() == TRADE_TAPE {
            self.tape.pop_front();
        }
        self.tape.push_back(t);
        self.last = t.price.0;
        self.high = self.high.max(t.price.0);
        self.low = self.low.min(t.price.0);
        self.volume += t.qty.0 as i128;
        self.notional += t.price.0 as i128 * t.qty.0 as i128;
    }

    /// Extends a side at its far end up to [`DEEP_LEVELS`] and prunes it beyond the slack.
    /// Far levels sit beyond rank 1000 once the side is full, so no view sees them appear.
    fn refill_far(&mut self, side: BookSideKind, mut out: Option<&mut StepOutcome>) {
        while self.len(side) < DEEP_LEVELS {
            let worst = match side {
                BookSideKind::Bid => self.bids.keys().next().copied(),
                BookSideKind::Ask => self.asks.keys().next_back().copied(),
            };
            let Some(worst) = worst else { break };
            let gap = self.rng.range(1, self.pair.max_gap_ticks as u64) as i64;
            let price = match side {
                BookSideKind::Bid => worst - gap,
                BookSideKind::Ask => worst + gap,
            };
            if price <= 0 {
                break;
            }
            let q = self.random_qty();
            self.side_map(side).insert(price, q);
            if let Some(o) = out.as_deref_mut() {
                Self::touch(o, side, price);
            }
        }
        while self.len(side) > DEEP_LEVELS + DEEP_SLACK {
            let worst = match side {
                BookSideKind::Bid => self.bids.pop_first(),
                BookSideKind::Ask => self.asks.pop_last(),
            };
            if let (Some((p, _)), Some(o)) = (worst, out.as_deref_mut()) {
                Self::touch(o, side, p);
            }
        }
    }

    /// One market event on this symbol: 1–4 operations, possibly on both sides, possibly a trade.
    pub fn step(&mut self, out: &mut StepOutcome, unix_micros: u64) {
        let before = (self.best_bid(), self.best_ask());
        let mid = match before {
            (Some((b, _)), Some((a, _))) => (a + b) / 2,
            _ => self.pair.start_mid,
        };
        // Mean reversion: lean towards the side that pulls the mid back to its start.
        let drift_up = mid < self.pair.start_mid;
        let ops = 1 + self.rng.near_rank(3);
        let mut traded = false;
        for _ in 0..ops {
            let side = if self.rng.chance(50) {
                BookSideKind::Bid
            } else {
                BookSideKind::Ask
            };
            match self.rng.below(100) {
                0..=29 => self.op_add(out, side, false),
                30..=54 => self.op_cancel(out, side, false),
                55..=64 => self.op_modify(out, side),
                65..=74 => {
                    let lean = if self.rng.chance(70) {
                        drift_up
                    } else {
                        !drift_up
                    };
                    let side = if lean {
                        BookSideKind::Bid
                    } else {
                        BookSideKind::Ask
                    };
                    self.op_improve(out, side);
                }
                75..=86 => {
                    let taker_buy = if self.rng.chance(60) {
                        drift_up
                    } else {
                        !drift_up
                    };
                    self.op_trade(out, taker_buy, unix_micros);
                    // A trade ends the event, so the book a client holds when the trade frame
                    // arrives is the book just after the trade (the touch was hit, not refilled).
                    traded = true;
                    break;
                }
                87..=93 => self.op_add(out, side, true),
                _ => self.op_cancel(out, side, true),
            }
        }
        // A very wide spread is refilled from the side that is behind (next event if traded).
        if let (false, Some((b, _)), Some((a, _))) = (traded, self.best_bid(), self.best_ask()) {
            if a - b > 4 * self.pair.max_gap_ticks + 2 {
                let side = if drift_up {
                    BookSideKind::Bid
                } else {
                    BookSideKind::Ask
                };
                self.op_improve(out, side);
            }
        }
        self.refill_far(BookSideKind::Bid, Some(out));
        self.refill_far(BookSideKind::Ask, Some(out));
        out.top_changed = before != (self.best_bid(), self.best_ask());
    }
}

/// All symbols of one venue and the generator that picks which one moves next.
#[derive(Debug, Clone)]
pub struct Market {
    symbols: Vec<SymbolMarket>,
    rng: SimRng,
    steps: u64,
}

impl Market {
    pub fn new(pairs: &[&'static SimPair], seed: u64) -> Market {
        Market {
            symbols: pairs.iter().map(|p| SymbolMarket::new(p, seed)).collect(),
            rng: SimRng::derived(seed, 0x6d61_726b_6574),
            steps: 0,
        }
    }

    pub fn symbols(&self) -> &[SymbolMarket] {
        &self.symbols
    }

    pub fn symbol(&self, index: usize) -> Option<&SymbolMarket> {
        self.symbols.get(index)
    }

    pub fn index_of(&self, symbol: &str) -> Option<usize> {
        self.symbols.iter().position(|s| s.pair.symbol == symbol)
    }

    /// Market events taken so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// One market event on one symbol; `out` says which and what changed.
    pub fn step(&mut self, out: &mut StepOutcome, unix_micros: u64) {
        let n = self.symbols.len() as u64;
        let index = self.rng.below(n) as usize;
        out.clear(index);
        if let Some(sym) = self.symbols.get_mut(index) {
            sym.step(out, unix_micros);
        }
        self.steps += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::super::pairs::instruments;
    use super::*;

    fn all_pairs() -> Vec<&'static SimPair> {
        instruments().iter().collect()
    }

    fn check_invariants(m: &SymbolMarket) {
        let (b, _) = m.best_bid().unwrap();
        let (a, _) = m.best_ask().unwrap();
        assert!(b < a, "{}: crossed {b} >= {a}", m.pair.symbol);
        assert!(m.bids.keys().all(|&p| p > 0));
        assert!(m.bids.values().chain(m.asks.values()).all(|&q| q > 0));
        assert!(m.len(BookSideKind::Ask) >= DEEP_LEVELS);
        assert!(m.len(BookSideKind::Ask) <= DEEP_LEVELS + DEEP_SLACK);
        assert!(m.len(BookSideKind::Bid) <= DEEP_LEVELS + DEEP_SLACK);
    }

    #[test]
    fn long_run_keeps_invariants_and_mid_near_start() {
        let mut market = Market::new(&all_pairs(), 7);
        let mut out = StepOutcome::default();
        let mut trades = 0;
        for i in 0..60_000 {
            market.step(&mut out, i);
            trades += out.trades.len();
            if i % 997 == 0 {
                for m in market.symbols() {
                    check_invariants(m);
                }
            }
        }
        assert!(trades > 1_000);
        for m in market.symbols() {
            check_invariants(m);
            let (b, _) = m.best_bid().unwrap();
            let mid = m.pair.start_mid;
            assert!(
                (b - mid).abs() < mid / 5,
                "{} drifted: {b} vs {mid}",
                m.pair.symbol
            );
            let t = m.ticker();
            assert!(t.low <= t.last && t.last <= t.high);
            assert!(t.volume.0 > 0);
        }
    }

    #[test]
    fn same_seed_same_market() {
        let run = |seed| {
            let mut market = Market::new(&all_pairs(), seed);
            let mut out = StepOutcome::default();
            let mut log = Vec::new();
            for i in 0..3_000 {
                market.step(&mut out, i);
                log.push((
                    out.symbol,
                    out.touched_bids.clone(),
                    out.touched_asks.clone(),
                    out.trades.clone(),
                ));
            }
            log
        };
        assert_eq!(run(11), run(11));
        assert_ne!(run(11), run(12));
    }
}
