//! `ws_frames`: a byte stream from the server through the WebSocket frame decoder
//! (`kspin_net::fuzzing::FrameDecoder`, engine/net/src/ws_decoder.rs).
//!
//! Input: byte 0 picks the size of the pieces the stream arrives in (1..=256 bytes, as TCP or TLS
//! records would cut it), byte 1 the message limit (one of [`WS_MESSAGE_LIMITS`]), the rest is
//! the stream. Checks that the decoder never panics; that the stream cut in pieces gives exactly
//! the events and the error it gives in one piece (the decoder keeps partial headers and
//! payloads itself); that every text message fits the limit, every ping payload fits a control
//! frame, and the count `feed` returns is the number of text messages delivered.

use kspin_net::fuzzing::{FrameDecoder, WsEvent};
use kspin_net::NetError;

use crate::Verdict;

/// The message limits byte 1 chooses from: tiny, around the 125-byte control payload and the
/// 16-bit length form, and the 64-bit length form.
pub const WS_MESSAGE_LIMITS: [usize; 5] = [16, 125, 126, 1000, 70_000];

/// Largest control-frame payload, RFC 6455 §5.5 (independent of the decoder's constant).
const MAX_CONTROL_PAYLOAD: usize = 125;

/// An event, owned so that two runs can be compared.
#[derive(Debug, PartialEq, Eq)]
enum Event {
    Text(Vec<u8>),
    Ping(Vec<u8>),
    Pong,
    Close(Option<u16>),
}

/// What one run produced: the events in order and how it ended.
#[derive(Debug, PartialEq, Eq)]
struct Run {
    events: Vec<Event>,
    end: Result<(), NetError>,
}

fn decode_in_pieces(stream: &[u8], piece: usize, max_message_len: usize) -> Run {
    let mut decoder = FrameDecoder::new(max_message_len);
    let mut events = Vec::new();
    let mut texts_counted = 0;
    let mut end = Ok(());
    for chunk in stream.chunks(piece.max(1)) {
        let fed = decoder.feed(chunk, &mut |event| {
            events.push(match event {
                WsEvent::Text(text) => {
                    assert!(
                        text.len() <= max_message_len,
                        "a {}-byte text message passed the {max_message_len}-byte limit",
                        text.len()
                    );
                    Event::Text(text.to_vec())
                }
                WsEvent::Ping(payload) => {
                    assert!(payload.len() <= MAX_CONTROL_PAYLOAD);
                    Event::Ping(payload.to_vec())
                }
                WsEvent::Pong => Event::Pong,
                WsEvent::Close(code) => Event::Close(code),
            });
            Ok(())
        });
        match fed {
            Ok(texts) => texts_counted += texts,
            Err(e) => {
                // Any error ends the connection: nothing more is fed.
                end = Err(e);
                break;
            }
        }
    }
    if end.is_ok() {
        // (A call that fails returns the error, not its count: only a clean run can be counted.)
        let texts = events
            .iter()
            .filter(|e| matches!(e, Event::Text(_)))
            .count() as u64;
        assert_eq!(
            texts_counted, texts,
            "feed counted a different number of text messages than it delivered"
        );
    }
    Run { events, end }
}

/// See the module docs.
pub fn ws_frames(data: &[u8]) -> Verdict {
    let [piece, limit, stream @ ..] = data else {
        return Verdict::Rejected;
    };
    let piece = usize::from(*piece) + 1;
    let max_message_len = WS_MESSAGE_LIMITS[usize::from(*limit) % WS_MESSAGE_LIMITS.len()];
    let whole = decode_in_pieces(stream, stream.len(), max_message_len);
    let pieces = decode_in_pieces(stream, piece, max_message_len);
    assert_eq!(
        whole, pieces,
        "the stream in one piece and in {piece}-byte pieces decode differently"
    );
    Verdict::from_accepted(!whole.events.is_empty())
}
