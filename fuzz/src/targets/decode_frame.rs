//! `decode_frame`: one Kraken v2 text frame through both decoders.
//!
//! Checks that [`Decoder::decode`] never panics and that the hand scanner path
//! ([`Decoder::new`]) and the general sonic-rs path ([`Decoder::sonic_only`]) give the same
//! result for every frame: the same message (compared as `format!("{:?}")`, which walks every
//! level, trade, ticker, candle and pair) or the same typed error. Done twice, with the default
//! limits and with small ones, so that arena-full limits are reached by short inputs.

use std::cell::RefCell;

use kspin_core::kraken::{Decoder, DecoderLimits, MAX_NESTING_LIMIT};

use super::shown;
use crate::Verdict;

/// Limits small enough that a fuzzer-sized frame fills the arena (as in
/// engine/core/tests/decode_differential.rs), with the deepest nesting a decoder may be
/// configured with, so that sonic-rs's recursion is exercised as deep as the engine allows.
const SMALL_LIMITS: DecoderLimits = DecoderLimits {
    max_frame_len: 1 << 20,
    max_levels: 64,
    max_books: 4,
    max_trades: 8,
    max_tickers: 4,
    max_candles: 4,
    max_pairs: 4,
    max_scratch: 64,
    max_nesting: MAX_NESTING_LIMIT,
    max_executions: 8,
    max_balances: 8,
    max_order_refs: 4,
};

/// One decoder of each kind, with the same limits.
struct DecoderPair {
    scanner_first: Decoder,
    sonic_only: Decoder,
}

impl DecoderPair {
    fn new(limits: DecoderLimits) -> DecoderPair {
        DecoderPair {
            scanner_first: Decoder::new(limits),
            sonic_only: Decoder::sonic_only(limits),
        }
    }
}

thread_local! {
    /// Decoders are built once per thread, as the engine builds one per connection: a decoder is
    /// reused for every frame, and `decode` starts from a cleared arena each time.
    static DECODERS: RefCell<[DecoderPair; 2]> = RefCell::new([
        DecoderPair::new(DecoderLimits::default()),
        DecoderPair::new(SMALL_LIMITS),
    ]);
}

/// See the module docs.
pub fn decode_frame(frame: &[u8]) -> Verdict {
    DECODERS.with_borrow_mut(|pairs| {
        let mut accepted = false;
        for pair in pairs.iter_mut() {
            let limits = pair.scanner_first.limits();
            let scanned = pair.scanner_first.decode(frame).map(|m| format!("{m:?}"));
            let general = pair.sonic_only.decode(frame).map(|m| format!("{m:?}"));
            assert_eq!(
                scanned,
                general,
                "Decoder::new and Decoder::sonic_only disagree ({limits:?}) on {}",
                shown(frame)
            );
            if let Err(e) = &scanned {
                // Every error has a stable counter name.
                assert!(!e.kind().is_empty());
            }
            accepted |= scanned.is_ok();
        }
        Verdict::from_accepted(accepted)
    })
}
