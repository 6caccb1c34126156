//! Frame streams for benchmarks (see the crate docs).

pub use kspin_sim::stream::{book_stream, BookStream};

#[cfg(test)]
mod tests {
    use super::*;
    use kspin_core::feed::{Feed, FeedMode, FeedOptions, NullSink};
    use kspin_core::kraken::{Decoder, DecoderLimits};

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
