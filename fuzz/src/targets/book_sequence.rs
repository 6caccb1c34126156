//! `book_sequence`: a stream of frames, one per line, through decode → feed → book → checksum,
//! as `kspin replay` runs a recording (passive feed, symbols, depth and precision discovered
//! from the stream, the default resync policy).
//!
//! Checks DESIGN.md invariant 4, "a book is never published in a state that failed its
//! checksum", at the [`FeedSink`], where strategies would see it:
//! - every `book_updated` book's checksum (computed from scratch, not the feed's memoised one)
//!   equals the `checksum` of the book data just applied, when that data carried one;
//! - every `book_live` is followed, in the same frame, by the `book_updated` of that symbol, with
//!   the same book state;
//! - no `book_updated` reaches a symbol the sink was told is stale until it is live again;
//! - a published book holds at most `depth` levels per side, bids strictly descending, asks
//!   strictly ascending, no zero quantity.
//!
//! The default policy (`resync`) never stops validating; the `stop_validating` policy publishes
//! unverified books by design (reported stale), so it is not what this target checks.

use std::cell::RefCell;

use kspin_core::book::{ApplyReport, BookSide, FixedLevel, OrderBook};
use kspin_core::feed::{Feed, FeedMode, FeedOptions, FeedSink, StaleReason};
use kspin_core::kraken::{BookData, Decoder, DecoderLimits, UpdateKind};
use kspin_runtime::discover::{discover_plan, DiscoverOptions};

use crate::Verdict;

thread_local! {
    /// Built once per thread, like the engine's one decoder per connection.
    static DECODER: RefCell<Decoder> = RefCell::new(Decoder::new(DecoderLimits::default()));
}

/// The feed `kspin replay` builds for a JSON-lines recording: every symbol the stream shows,
/// at the depth and precision discovered from it (`kspin_runtime::discover`), passive.
fn replay_feed(stream: &[u8]) -> Feed {
    let lines = stream.split(|&b| b == b'\n');
    let plan = discover_plan(lines, &DiscoverOptions::default());
    let mut feed = Feed::new(FeedOptions {
        mode: FeedMode::Passive,
        ..FeedOptions::default()
    });
    for d in plan {
        // More symbols than the feed holds: the rest are unknown, as in a replay.
        let _ = feed.add_symbol(&d.plan.symbol, usize::from(d.plan.depth), d.plan.precision);
    }
    feed
}

/// See the module docs.
pub fn book_sequence(stream: &[u8]) -> Verdict {
    let mut feed = replay_feed(stream);
    let mut sink = PublicationChecker::default();
    DECODER.with_borrow_mut(|decoder| {
        for (i, line) in stream.split(|&b| b == b'\n').enumerate() {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let frame_no = i as u64 + 1;
            sink.frame_no = frame_no;
            if let Ok(msg) = decoder.decode(line) {
                feed.on_message(frame_no, &msg, &mut sink);
            }
            sink.end_of_frame();
        }
    });
    Verdict::from_accepted(sink.published > 0)
}

/// The sink that checks the publication invariants; see the module docs.
#[derive(Default)]
struct PublicationChecker {
    /// The frame (line) being processed, for messages.
    frame_no: u64,
    /// Per symbol: whether the sink was told the book is live (`book_live` after the last
    /// `book_stale`, or ever).
    live: Vec<bool>,
    /// A `book_live` of this frame waiting for its `book_updated`: (symbol, checksum then).
    went_live: Option<(usize, u32)>,
    /// Books published so far.
    published: u64,
}

impl PublicationChecker {
    fn live_mut(&mut self, symbol: usize) -> &mut bool {
        if self.live.len() <= symbol {
            self.live.resize(symbol + 1, false);
        }
        &mut self.live[symbol]
    }

    fn end_of_frame(&mut self) {
        assert!(
            self.went_live.is_none(),
            "frame {}: book_live for symbol {:?} without its book_updated",
            self.frame_no,
            self.went_live.map(|(s, _)| s)
        );
    }
}

/// Sorted best first, strictly, with no empty level.
fn check_side(side: &BookSide, depth: usize, descending: bool, what: &str) {
    assert!(
        side.len() <= depth,
        "{what}: {} levels published at depth {depth}",
        side.len()
    );
    let mut previous = None;
    for (price, qty) in side.iter() {
        assert!(qty.0 != 0, "{what}: level {price:?} published with qty 0");
        if let Some(previous) = previous {
            let ordered = if descending {
                price < previous
            } else {
                price > previous
            };
            assert!(ordered, "{what}: {price:?} after {previous:?}");
        }
        previous = Some(price);
    }
}

impl FeedSink for PublicationChecker {
    fn book_updated(
        &mut self,
        symbol: usize,
        book: &OrderBook,
        data: &BookData<'_>,
        levels: &[FixedLevel],
        _kind: UpdateKind,
        _report: &ApplyReport,
    ) {
        let frame_no = self.frame_no;
        // The levels handed on are the message's own, converted once, bids first.
        assert_eq!(
            levels.len(),
            data.bids.len() + data.asks.len(),
            "frame {frame_no}: converted levels do not match the message"
        );
        let bids = levels.iter().take(data.bids.len());
        assert!(
            bids.clone()
                .all(|l| l.side == kspin_core::book::SideKind::Bid)
                && levels
                    .iter()
                    .skip(data.bids.len())
                    .all(|l| l.side == kspin_core::book::SideKind::Ask),
            "frame {frame_no}: converted levels out of side order"
        );
        let state = book.checksum_uncached();
        if let Some(expected) = data.checksum {
            assert_eq!(
                state, expected,
                "frame {frame_no}: {} published with checksum {state} after data carrying {expected}",
                data.symbol
            );
        }
        if let Some((live_symbol, live_state)) = self.went_live.take() {
            assert_eq!(
                (live_symbol, live_state),
                (symbol, state),
                "frame {frame_no}: book_live and the book_updated after it differ"
            );
        }
        assert!(
            *self.live_mut(symbol),
            "frame {frame_no}: {} published while stale (no book_live since book_stale)",
            data.symbol
        );
        let depth = book.depth();
        check_side(book.bids(), depth, true, "bids");
        check_side(book.asks(), depth, false, "asks");
        self.published += 1;
    }

    fn checksum_mismatch(&mut self, symbol: usize, computed: u32, expected: u32) {
        assert_ne!(
            computed, expected,
            "frame {}: symbol {symbol}: a mismatch of equal checksums",
            self.frame_no
        );
    }

    fn book_stale(&mut self, symbol: usize, _reason: StaleReason) {
        *self.live_mut(symbol) = false;
    }

    fn book_live(&mut self, symbol: usize, book: &OrderBook) {
        assert!(
            self.went_live.is_none(),
            "frame {}: two book_live without a book_updated",
            self.frame_no
        );
        *self.live_mut(symbol) = true;
        self.went_live = Some((symbol, book.checksum_uncached()));
    }
}
