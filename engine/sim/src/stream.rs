//! Checksummed book streams generated offline from the venue's order-flow model, for benchmarks,
//! `kspin bench replay` and tests: a snapshot then update frames exactly as the venue would send
//! them to one depth-`depth` subscription (refills from beyond the depth included), every
//! checksum valid. Generation allocates freely; it never runs on a measured path.

use super::depth_view::DepthView;
use super::frames;
use super::market::{Market, StepOutcome};
use super::pairs::{instruments, SimPair};

/// A book stream for one symbol: its snapshot, then update frames.
pub struct BookStream {
    pub pair: &'static SimPair,
    pub depth: u16,
    pub snapshot: Vec<u8>,
    pub updates: Vec<Vec<u8>>,
}

impl BookStream {
    /// Every frame in order: the snapshot first.
    pub fn frames(&self) -> impl Iterator<Item = &[u8]> {
        std::iter::once(self.snapshot.as_slice()).chain(self.updates.iter().map(Vec::as_slice))
    }

    /// Mean bytes per update frame.
    pub fn mean_update_len(&self) -> usize {
        self.updates.iter().map(Vec::len).sum::<usize>() / self.updates.len().max(1)
    }

    /// The pair's (price, qty) decimals.
    pub fn precision(&self) -> (u8, u8) {
        (self.pair.price_precision, self.pair.qty_precision)
    }
}

/// Generates `updates` update frames for `symbol` (one of the venue's pairs, e.g. "BTC/USD") at
/// `depth`, deterministic for a seed. `None` for a symbol the venue does not list.
pub fn book_stream(symbol: &str, depth: u16, updates: usize, seed: u64) -> Option<BookStream> {
    let pair = instruments().iter().find(|p| p.symbol == symbol)?;
    let mut market = Market::new(&[pair], seed);
    let mut view = DepthView::new(0, depth, market.symbol(0)?, seed ^ 0x5eed);
    let mut t = 1_763_800_000_000_000u64; // 2025-11-22 in µs, advanced 1 ms per event
    let mut text = String::new();
    let book = view.book();
    let bids: Vec<_> = book.bids().collect();
    let asks: Vec<_> = book.asks().collect();
    frames::book(&mut text, true, pair, &bids, &asks, book.checksum(), t);
    let snapshot = text.clone().into_bytes();
    let mut out = Vec::with_capacity(updates);
    let mut step = StepOutcome::default();
    while out.len() < updates {
        t += 1_000;
        market.step(&mut step, t);
        let changed = match market.symbol(0) {
            Some(m) => view.update(m, &step),
            None => false,
        };
        if changed {
            let (b, a) = view.diff();
            text.clear();
            frames::book(&mut text, false, pair, b, a, view.book().checksum(), t);
            out.push(text.clone().into_bytes());
        }
    }
    Some(BookStream {
        pair,
        depth,
        snapshot,
        updates: out,
    })
}
