//! Set-up shared by the runtime's end-to-end tests: one BTC/USD symbol at depth 10 (price and
//! quantity precision 1 and 8), live, on a mock clock. Each test binary uses part of it.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use kspin_core::feed::FeedMode;
use kspin_core::kraken::DecoderLimits;
use kspin_runtime::plan::SymbolPlan;
use kspin_runtime::EngineConfig;
use quanta::{Clock, Mock};

/// A mock clock one second past zero (a stamp of 0 means "no stamp" to the engine).
pub fn mock_clock() -> (Clock, Arc<Mock>) {
    let (clock, mock) = Clock::mock();
    mock.increment(Duration::from_secs(1));
    (clock, mock)
}

/// BTC/USD at depth 10, precision (1, 8), with the `book` and `trade` channels as asked.
pub fn btc_usd(book: bool, trade: bool) -> EngineConfig {
    EngineConfig {
        symbols: vec![SymbolPlan {
            symbol: "BTC/USD".into(),
            depth: 10,
            book,
            trade,
            ticker: false,
            precision: Some((1, 8)),
        }],
        decoder: DecoderLimits::default(),
        policy: Default::default(),
        mode: FeedMode::Live,
    }
}
