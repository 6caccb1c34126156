//! The one entry for a frame: [`Pipeline::on_frame`] runs decode → feed → book → checksum →
//! sink for every text frame, whether it was just read from the exchange, replayed from a capture
//! or a JSON-lines recording, or fed by a benchmark.
//!
//! Owns the [`Decoder`], the [`Feed`] and the decode-error counters ([`PipelineCounters`]).
//! Invariants: processing a frame never allocates, never panics on any input and never reads a
//! clock: the caller's `stamp` (a TSC reading live, the recorded one in a replay) is handed to
//! the sink untouched, and the sink takes any stage stamps it wants in its callbacks. Every frame
//! is counted exactly once: decoded (by kind) or refused (by decode-error kind).

use crate::feed::{Feed, FeedOptions, FeedSink};
use crate::kraken::{DecodeError, Decoder, DecoderLimits, Message};

/// Number of decode-error kinds counted separately.
pub const DECODE_ERROR_KINDS: usize = 12;

/// Stable names of the decode-error kinds, by index in
/// [`PipelineCounters::decode_errors_by_kind`] (the `kind()` of each [`DecodeError`]).
pub const DECODE_ERROR_NAMES: [&str; DECODE_ERROR_KINDS] = [
    "oversized",
    "malformed",
    "not_an_object",
    "unknown_channel",
    "unknown_method",
    "missing_field",
    "wrong_type",
    "bad_number",
    "arena_full",
    "escaped_string",
    "too_deep",
    "other",
];

/// Index of a decode error's kind in [`DECODE_ERROR_NAMES`] ("other" for a kind without a slot).
pub fn decode_error_index(error: &DecodeError) -> usize {
    let kind = error.kind();
    DECODE_ERROR_NAMES
        .iter()
        .position(|&n| n == kind)
        .unwrap_or(DECODE_ERROR_KINDS - 1)
}

/// Number of [`FrameKind`]s.
pub const FRAME_KINDS: usize = 14;

/// What kind of message a frame held (for counts by kind; never allocates).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrameKind {
    Status,
    Heartbeat,
    Pong,
    SubscribeAck,
    UnsubscribeAck,
    Book,
    Trade,
    Ticker,
    Ohlc,
    Instrument,
    Request,
    Executions,
    Balances,
    OrderResponse,
}

impl FrameKind {
    /// Every kind, in a stable order.
    pub const ALL: [FrameKind; FRAME_KINDS] = [
        FrameKind::Status,
        FrameKind::Heartbeat,
        FrameKind::Pong,
        FrameKind::SubscribeAck,
        FrameKind::UnsubscribeAck,
        FrameKind::Book,
        FrameKind::Trade,
        FrameKind::Ticker,
        FrameKind::Ohlc,
        FrameKind::Instrument,
        FrameKind::Request,
        FrameKind::Executions,
        FrameKind::Balances,
        FrameKind::OrderResponse,
    ];

    pub fn of(msg: &Message<'_>) -> FrameKind {
        match msg {
            Message::Status(_) => FrameKind::Status,
            Message::Heartbeat => FrameKind::Heartbeat,
            Message::Pong(_) => FrameKind::Pong,
            Message::Subscribed(_) => FrameKind::SubscribeAck,
            Message::Unsubscribed(_) => FrameKind::UnsubscribeAck,
            Message::Book(_) => FrameKind::Book,
            Message::Trade(_) => FrameKind::Trade,
            Message::Ticker(_) => FrameKind::Ticker,
            Message::Ohlc(_) => FrameKind::Ohlc,
            Message::Instrument(_) => FrameKind::Instrument,
            Message::Request(_) => FrameKind::Request,
            Message::Executions(_) => FrameKind::Executions,
            Message::Balances(_) => FrameKind::Balances,
            Message::OrderResponse(_) => FrameKind::OrderResponse,
        }
    }

    /// Stable short name, for reports.
    pub fn name(self) -> &'static str {
        match self {
            FrameKind::Status => "status",
            FrameKind::Heartbeat => "heartbeat",
            FrameKind::Pong => "pong",
            FrameKind::SubscribeAck => "subscribe_ack",
            FrameKind::UnsubscribeAck => "unsubscribe_ack",
            FrameKind::Book => "book",
            FrameKind::Trade => "trade",
            FrameKind::Ticker => "ticker",
            FrameKind::Ohlc => "ohlc",
            FrameKind::Instrument => "instrument",
            FrameKind::Request => "request",
            FrameKind::Executions => "executions",
            FrameKind::Balances => "balances",
            FrameKind::OrderResponse => "order_response",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// What became of one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameOutcome {
    /// Decoded and handed to the feed.
    Decoded(FrameKind),
    /// Refused by the decoder (counted); the pipeline goes on with the next frame.
    Refused(DecodeError),
}

/// Frames and decode errors seen by a pipeline.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PipelineCounters {
    /// Every frame handed to [`Pipeline::on_frame`].
    pub frames: u64,
    /// Decoded frames by [`FrameKind`] (index: the kind's position in [`FrameKind::ALL`]).
    pub decoded_by_kind: [u64; FRAME_KINDS],
    pub decode_errors: u64,
    pub decode_errors_by_kind: [u64; DECODE_ERROR_KINDS],
}

impl PipelineCounters {
    /// Decoded frames of `kind`.
    pub fn decoded(&self, kind: FrameKind) -> u64 {
        self.decoded_by_kind[kind.index()]
    }

    /// Decode errors named `kind` (one of [`DECODE_ERROR_NAMES`]).
    pub fn decode_errors_of(&self, kind: &str) -> u64 {
        DECODE_ERROR_NAMES
            .iter()
            .position(|&n| n == kind)
            .map_or(0, |i| self.decode_errors_by_kind[i])
    }
}

/// What a pipeline tells its consumer about each frame, around the feed's callbacks. Every method
/// has an empty default.
#[allow(unused_variables)]
pub trait FrameSink: FeedSink {
    /// A frame stamped `stamp` by the caller is about to be decoded; `payload` is borrowed for
    /// this call only (a recorder copies it here).
    #[inline]
    fn frame_begin(&mut self, stamp: u64, payload: &[u8]) {}
    /// The frame decoded; the feed runs next.
    #[inline]
    fn frame_decoded(&mut self, msg: &Message<'_>) {}
    /// The frame is done (decoded and applied, or refused).
    #[inline]
    fn frame_end(&mut self, outcome: &FrameOutcome) {}
}

/// A sink that ignores everything.
pub struct NullFrameSink;
impl FeedSink for NullFrameSink {}
impl FrameSink for NullFrameSink {}

/// Decoder, feed and counters; see the module docs.
pub struct Pipeline {
    decoder: Decoder,
    feed: Feed,
    counters: PipelineCounters,
}

impl Pipeline {
    /// A pipeline with no symbol yet (add them with [`Pipeline::feed_mut`]`.add_symbol`).
    /// Allocates the decoder's arena: start-up only.
    pub fn new(limits: DecoderLimits, options: FeedOptions) -> Pipeline {
        Pipeline {
            decoder: Decoder::new(limits),
            feed: Feed::with_level_capacity(options, limits.max_levels),
            counters: PipelineCounters::default(),
        }
    }

    /// Processes one frame; see the module docs.
    #[inline]
    pub fn on_frame<S: FrameSink>(
        &mut self,
        payload: &[u8],
        stamp: u64,
        sink: &mut S,
    ) -> FrameOutcome {
        self.counters.frames += 1;
        let frame_no = self.counters.frames;
        sink.frame_begin(stamp, payload);
        // Matched by reference: moving the 168-byte message out of the result costs a copy.
        let decoded = self.decoder.decode(payload);
        let outcome = match &decoded {
            Ok(msg) => {
                let kind = FrameKind::of(msg);
                self.counters.decoded_by_kind[kind.index()] += 1;
                sink.frame_decoded(msg);
                self.feed.on_message(frame_no, msg, sink);
                FrameOutcome::Decoded(kind)
            }
            Err(error) => {
                self.counters.decode_errors += 1;
                self.counters.decode_errors_by_kind[decode_error_index(error)] += 1;
                FrameOutcome::Refused(*error)
            }
        };
        sink.frame_end(&outcome);
        outcome
    }

    /// The connection ended: every book is stale until its next snapshot.
    pub fn link_down(&mut self, sink: &mut impl FeedSink) {
        self.feed.disconnected(sink);
    }

    #[inline]
    pub fn feed(&self) -> &Feed {
        &self.feed
    }

    #[inline]
    pub fn feed_mut(&mut self) -> &mut Feed {
        &mut self.feed
    }

    #[inline]
    pub fn counters(&self) -> &PipelineCounters {
        &self.counters
    }

    /// The number the next frame will carry in reports (line numbers of a replay): frames are
    /// numbered from 1 in the order they were handed in.
    pub fn next_frame_no(&self) -> u64 {
        self.counters.frames + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_decode_error_kind_has_its_own_slot() {
        let all = [
            DecodeError::Oversized { len: 2, max: 1 },
            DecodeError::TooDeep { max: 1 },
            DecodeError::Malformed,
            DecodeError::NotAnObject,
            DecodeError::UnknownChannel,
            DecodeError::UnknownMethod,
            DecodeError::MissingField("x"),
            DecodeError::WrongType("x"),
            DecodeError::BadNumber {
                field: "x",
                error: kspin_api::FixedError::Invalid,
            },
            DecodeError::ArenaFull("x"),
            DecodeError::EscapedString("x"),
        ];
        for e in all {
            let i = decode_error_index(&e);
            assert_eq!(DECODE_ERROR_NAMES[i], e.kind());
            assert_ne!(DECODE_ERROR_NAMES[i], "other");
        }
    }

    #[test]
    fn frames_are_counted_once_decoded_or_refused() {
        let mut p = Pipeline::new(DecoderLimits::default(), FeedOptions::default());
        let frames: [&[u8]; 4] = [
            br#"{"channel":"heartbeat"}"#,
            b"not json",
            br#"{"channel":"heartbeat"}"#,
            br#"{"channel":"level3","type":"update","data":[]}"#,
        ];
        let outcomes: Vec<FrameOutcome> = frames
            .iter()
            .map(|f| p.on_frame(f, 0, &mut NullFrameSink))
            .collect();
        assert_eq!(
            outcomes,
            [
                FrameOutcome::Decoded(FrameKind::Heartbeat),
                FrameOutcome::Refused(DecodeError::Malformed),
                FrameOutcome::Decoded(FrameKind::Heartbeat),
                FrameOutcome::Refused(DecodeError::UnknownChannel),
            ]
        );
        let c = p.counters();
        assert_eq!((c.frames, c.decode_errors), (4, 2));
        assert_eq!(c.decoded(FrameKind::Heartbeat), 2);
        assert_eq!(c.decode_errors_of("malformed"), 1);
        assert_eq!(c.decode_errors_of("unknown_channel"), 1);
        assert_eq!(p.feed().counters().heartbeats, 2);
        assert_eq!(p.next_frame_no(), 5);
    }
}
