//! The deterministic replay's clock: each capture record's time, in exchange time.
//!
//! A record's time is the latest exchange timestamp (book update, trade, ticker) seen in the
//! capture up to and including it — a running maximum, so time never goes back. Records before
//! the first timestamp take the first one (snapshots, statuses and heartbeats carry none); a
//! capture with no timestamp at all falls back to each record's recorded receive time. The times
//! are found by a first pass through the capture with a pipeline of their own (the frames are
//! decoded twice), because an order that arrives at the venue at `t` must be handled before the
//! first frame whose time is `t` or later is applied, so that frame's time is needed before it is
//! applied.
//!
//! Pure function of the capture's bytes. Allocates (one `u64` per record).

use kspin_core::book::{ApplyReport, FixedLevel, OrderBook};
use kspin_core::feed::{FeedOptions, FeedSink};
use kspin_core::kraken::{self, BookData, UpdateKind};
use kspin_core::{FrameSink, Pipeline};
use kspin_runtime::capture::{Capture, RecordKind};

/// The latest exchange time a pipeline reported.
#[derive(Default)]
struct LatestTime {
    ns: u64,
}

impl LatestTime {
    fn see(&mut self, timestamp: Option<&str>) {
        let ns = timestamp
            .and_then(kraken::time::parse_rfc3339_nanos)
            .and_then(|t| u64::try_from(t).ok())
            .unwrap_or(0);
        self.ns = self.ns.max(ns);
    }
}

impl FeedSink for LatestTime {
    fn book_updated(
        &mut self,
        _symbol: usize,
        _book: &OrderBook,
        data: &BookData<'_>,
        _levels: &[FixedLevel],
        _kind: UpdateKind,
        _report: &ApplyReport,
    ) {
        self.see(data.timestamp);
    }
    fn trade(&mut self, _symbol: usize, trade: &kraken::Trade<'_>) {
        self.see(Some(trade.timestamp));
    }
    fn ticker(&mut self, _symbol: usize, ticker: &kraken::Ticker<'_>) {
        self.see(ticker.timestamp);
    }
}

impl FrameSink for LatestTime {}

/// One time per record of `capture` (in record order), ns since the Unix epoch; see the module
/// docs.
pub fn record_times(capture: &Capture) -> Vec<u64> {
    let cfg = capture.engine_config();
    let mut pipeline = Pipeline::new(
        cfg.decoder,
        FeedOptions {
            mode: cfg.mode,
            policy: cfg.policy,
        },
    );
    for p in &cfg.symbols {
        // A symbol the feed cannot take is reported by the replay itself.
        let _ = pipeline
            .feed_mut()
            .add_symbol(&p.symbol, usize::from(p.depth), p.precision);
    }
    let mut latest = LatestTime::default();
    let mut times = Vec::with_capacity(usize::try_from(capture.record_count()).unwrap_or(0));
    let mut walls = Vec::with_capacity(times.capacity());
    for record in capture.records() {
        match record.kind {
            RecordKind::Frame => {
                let _ = pipeline.on_frame(record.payload, record.recv_tsc, &mut latest);
            }
            RecordKind::LinkDown => pipeline.link_down(&mut latest),
            RecordKind::LinkUp | RecordKind::Gap => {}
        }
        times.push(latest.ns);
        walls.push(record.wall_ns);
    }
    match times.iter().copied().find(|&t| t > 0) {
        Some(first) => {
            for t in times.iter_mut().take_while(|t| **t == 0) {
                *t = first;
            }
            times
        }
        // No exchange time anywhere: the recorded receive times, kept monotonic.
        None => {
            let mut latest = 0;
            walls
                .into_iter()
                .map(|w| {
                    latest = latest.max(w);
                    latest
                })
                .collect()
        }
    }
}
