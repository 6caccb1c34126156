//! Frame streams for benchmarks (see the crate docs).

use kspin::sim::depth_view::DepthView;
use kspin::sim::frames;
use kspin::sim::market::{Market, StepOutcome};
use kspin::sim::{instruments, SimPair};

/// A book stream for one symbol: its snapshot, then `updates` update frames, all checksummed.
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
}

/// Generates a stream for `symbol` (one of the venue's pairs, e.g. "BTC/USD") at `depth`.
/// Deterministic for a seed. Returns `None` for an unknown symbol.
pub fn book_stream(symbol: &str, depth: u16, updates: usize, seed: u64) -> Option<BookStream> {
    let pair = instruments().iter().find(|p| p.symbol == symbol)?;
    let mut market = Market::new(&[pair], seed);
    let mut view = DepthView::new(0, depth, market.symbol(0)?, seed ^ 0x5eed);
    let mut t = 1_763_800_000_000_000u64; // 2025-11-22 in µs, advanced 1 ms per event
    let mut text = String::new();
    let book = view.book();
    let bids: Vec<_> = book.bids().iter().collect();
    let asks: Vec<_> = book.asks().iter().collect();
    frames::book(
        &mut text,
        true,
        pair,
        &bids,
        &asks,
        book.checksum_uncached(),
        t,
    );
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
            frames::book(
                &mut text,
                false,
                pair,
                b,
                a,
                view.book().checksum_uncached(),
                t,
            );
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

#[cfg(test)]
mod tests {
    use super::*;
    use kspin::feed::{Feed, FeedMode, FeedOptions, NullSink};
    use kspin::kraken::{Decoder, DecoderLimits};

    #[test]
    fn streams_verify_through_the_engine_path() {
        let s = book_stream("BTC/USD", 25, 2_000, 7).unwrap();
        let mut feed = Feed::new(FeedOptions {
            mode: FeedMode::Passive,
            ..FeedOptions::default()
        });
        feed.add_symbol(
            "BTC/USD",
            25,
            Some((s.pair.price_precision, s.pair.qty_precision)),
        );
        let mut dec = Decoder::new(DecoderLimits::default());
        for (i, f) in s.frames().enumerate() {
            let msg = dec.decode(f).unwrap();
            feed.on_message(i as u64, &msg, &mut NullSink);
        }
        assert_eq!(feed.counters().checksum_ok, 2_001);
        assert_eq!(feed.counters().checksum_mismatch, 0);
    }
}
