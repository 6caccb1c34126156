//! Proves the engine-core path allocates nothing per message: decode → feed → book apply and
//! truncate → memoised checksum, over a long generated stream of checksummed book updates at
//! depths 10, 25 and 100 (the checksum cache included), with a counting global allocator.
//! Every message must also verify, so the counted path is the live one.
//!
//! The counter is per thread, so the test harness's own threads cannot disturb it.

kspin_testkit::install_counting_allocator!();

use kspin_core::feed::{Feed, FeedMode, FeedOptions, NullSink};
use kspin_core::kraken::{Decoder, DecoderLimits};
use kspin_testkit::allocs;

/// A snapshot then `n` update frames for `symbol` at `depth`, from the simulated venue's market.
fn stream(symbol: &str, depth: u16, n: usize) -> (Vec<Vec<u8>>, (u8, u8)) {
    let s = kspin_sim::stream::book_stream(symbol, depth, n, 3).unwrap();
    let precision = s.precision();
    (s.frames().map(<[u8]>::to_vec).collect(), precision)
}

#[test]
fn decode_feed_book_checksum_allocate_nothing_per_message() {
    for (symbol, depth) in [("MINA/GBP", 10u16), ("BTC/USD", 25), ("ETH/USD", 100)] {
        let (frames, scales) = stream(symbol, depth, 3_000);
        let mut feed = Feed::new(FeedOptions {
            mode: FeedMode::Passive,
            ..FeedOptions::default()
        });
        feed.add_symbol(symbol, usize::from(depth), Some(scales));
        let mut dec = Decoder::new(DecoderLimits::default());
        let before = allocs();
        for (i, f) in frames.iter().enumerate() {
            let msg = dec.decode(f).unwrap();
            feed.on_message(i as u64, &msg, &mut NullSink);
        }
        let during = allocs() - before;
        assert_eq!(during, 0, "{symbol} d{depth}: {during} allocations");
        assert_eq!(feed.counters().checksum_ok, frames.len() as u64);
        assert_eq!(feed.counters().checksum_mismatch, 0);
    }
}
