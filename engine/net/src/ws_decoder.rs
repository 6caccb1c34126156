//! WebSocket frame decoder (RFC 6455 §5) over caller-provided bytes: a streaming decoder for
//! server frames that accepts input in arbitrary pieces. The encoder is `ws_encoder.rs`.
//!
//! Owns: the partial-header buffer, the bounded message-assembly buffer (`max_frame_len` bytes,
//! allocated once) and a 125-byte control-frame buffer.
//! Invariants: `feed` always consumes all of its input (partial headers and payloads are kept
//! here), so callers never compact; a text frame that lies whole inside one input piece is
//! handed up borrowed from that piece (no copy), anything else is assembled in the bounded
//! buffer; nothing allocates after construction; malformed input is a typed error, never a panic.
//! Header parsing and formatting are tungstenite's `FrameHeader` (they work on a `Cursor` /
//! `Write` over our slices and do not allocate); payloads, masking and assembly are ours, because
//! tungstenite's `WebSocket`/`FrameSocket` own a `BytesMut` read buffer and allocate per message.
//!
//! Policy choices (documented for the runtime): binary frames are a protocol error (Kraken v2
//! sends only text; a binary frame means we are talking to the wrong thing); text payloads are
//! not UTF-8-validated here (the JSON decoder rejects malformed input anyway, and validating twice
//! costs a pass over every byte); extensions are never negotiated, so any RSV bit is an error.

use std::io::Cursor;

use tungstenite::protocol::frame::coding::{Control, Data, OpCode};
use tungstenite::protocol::frame::FrameHeader;

use super::error::NetError;

/// Longest frame header: 2 + 8 (64-bit length) + 4 (mask). RFC 6455 §5.2.
pub(crate) const MAX_HEADER_LEN: usize = 14;
/// Control frames carry at most 125 payload bytes and are never fragmented. RFC 6455 §5.5.
pub(crate) const MAX_CONTROL_PAYLOAD: usize = 125;

/// Something the decoder found, handed to the caller's callback.
#[derive(Debug, PartialEq, Eq)]
pub enum WsEvent<'a> {
    /// A complete text message (all fragments joined).
    Text(&'a [u8]),
    /// A ping; the caller must answer with a pong carrying the same payload (RFC 6455 §5.5.2).
    Ping(&'a [u8]),
    /// A pong (unsolicited or answering our ping).
    Pong,
    /// A close frame with its status code, if any (RFC 6455 §5.5.1).
    Close(Option<u16>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FrameKind {
    /// A text frame or a continuation of a text message.
    TextPart,
    Ping,
    Pong,
    Close,
}

#[derive(Clone, Copy, Debug)]
enum State {
    Header,
    Payload {
        kind: FrameKind,
        fin: bool,
        remaining: usize,
    },
}

/// Streaming decoder for server-to-client frames.
pub struct FrameDecoder {
    header: [u8; MAX_HEADER_LEN],
    header_len: usize,
    state: State,
    /// Assembly buffer for text messages that span input pieces or fragments.
    message: Box<[u8]>,
    message_len: usize,
    /// A fragmented text message is open: only continuation (and control) frames may follow.
    in_message: bool,
    control: [u8; MAX_CONTROL_PAYLOAD],
    control_len: usize,
}

impl FrameDecoder {
    /// `max_message_len` bounds one (assembled) text message.
    #[cfg(any(test, feature = "fuzzing"))]
    pub fn new(max_message_len: usize) -> FrameDecoder {
        FrameDecoder::with_buffer(vec![0; max_message_len].into_boxed_slice())
    }

    /// A fresh decoder over a recycled assembly buffer, whose length bounds one text message
    /// (its old contents are never read: only bytes written since are).
    pub fn with_buffer(message: Box<[u8]>) -> FrameDecoder {
        FrameDecoder {
            header: [0; MAX_HEADER_LEN],
            header_len: 0,
            state: State::Header,
            message,
            message_len: 0,
            in_message: false,
            control: [0; MAX_CONTROL_PAYLOAD],
            control_len: 0,
        }
    }

    /// Gives back the assembly buffer (for the next connection's decoder).
    pub fn into_buffer(self) -> Box<[u8]> {
        self.message
    }

    /// Feeds the next piece of the byte stream. Calls `on_event` for every complete message or
    /// control frame; an error from the callback stops decoding and is returned. Returns the number
    /// of text messages delivered.
    pub fn feed(
        &mut self,
        mut data: &[u8],
        on_event: &mut impl FnMut(WsEvent<'_>) -> Result<(), NetError>,
    ) -> Result<u64, NetError> {
        let mut texts = 0u64;
        while !data.is_empty() || matches!(self.state, State::Payload { remaining: 0, .. }) {
            match self.state {
                State::Header => {
                    // Fast path: a whole text frame in the form servers send, header and all.
                    if let Some((header_len, len)) = self.whole_text_frame(data) {
                        let (payload, rest) = data[header_len..].split_at(len);
                        data = rest;
                        texts += 1;
                        on_event(WsEvent::Text(payload))?;
                        continue;
                    }
                    let Some(used) = self.take_header(data)? else {
                        return Ok(texts); // all of `data` is now in the header buffer
                    };
                    data = &data[used..];
                }
                State::Payload {
                    kind,
                    fin,
                    remaining,
                } => {
                    // Fast path: a whole unfragmented text frame inside this piece.
                    if kind == FrameKind::TextPart
                        && fin
                        && !self.in_message
                        && self.message_len == 0
                        && data.len() >= remaining
                    {
                        let (payload, rest) = data.split_at(remaining);
                        self.state = State::Header;
                        data = rest;
                        texts += 1;
                        on_event(WsEvent::Text(payload))?;
                        continue;
                    }
                    let take = remaining.min(data.len());
                    let (chunk, rest) = data.split_at(take);
                    data = rest;
                    if kind == FrameKind::TextPart {
                        let end = self.message_len + take;
                        // Bounded at header time: message_len + remaining <= message.len().
                        debug_assert!(end <= self.message.len());
                        self.message[self.message_len..end].copy_from_slice(chunk);
                        self.message_len = end;
                    } else {
                        let end = self.control_len + take;
                        debug_assert!(end <= MAX_CONTROL_PAYLOAD);
                        self.control[self.control_len..end].copy_from_slice(chunk);
                        self.control_len = end;
                    }
                    let remaining = remaining - take;
                    if remaining > 0 {
                        self.state = State::Payload {
                            kind,
                            fin,
                            remaining,
                        };
                        continue;
                    }
                    self.state = State::Header;
                    if self.finish_frame(kind, fin, on_event)? {
                        texts += 1;
                    }
                }
            }
        }
        Ok(texts)
    }

    /// The header length and payload length of an unfragmented, unmasked text frame with a 7- or
    /// 16-bit length (RFC 6455 §5.2: first byte `0x81` = FIN, no RSV bit, opcode 1; second byte
    /// below `0x80` = no mask, `126` = a 16-bit length follows) lying whole at the front of
    /// `data`, when no header or message is being assembled and it fits the message bound: the
    /// frames Kraken sends. `None` for anything else, which the general path (tungstenite's
    /// header parser, `check_header`) decides exactly as before, including its errors.
    #[inline]
    fn whole_text_frame(&self, data: &[u8]) -> Option<(usize, usize)> {
        if self.header_len != 0 || self.in_message || self.message_len != 0 {
            return None;
        }
        let (header_len, len) = match *data {
            [0x81, short @ 0..=125, ..] => (2, usize::from(short)),
            [0x81, 126, hi, lo, ..] => (4, usize::from(u16::from_be_bytes([hi, lo]))),
            _ => return None,
        };
        if len > self.message.len() || data.len() - header_len < len {
            return None;
        }
        Some((header_len, len))
    }

    /// Delivers a frame whose payload is now complete in `message` / `control`. Returns whether a
    /// text message was delivered.
    fn finish_frame(
        &mut self,
        kind: FrameKind,
        fin: bool,
        on_event: &mut impl FnMut(WsEvent<'_>) -> Result<(), NetError>,
    ) -> Result<bool, NetError> {
        match kind {
            FrameKind::TextPart if fin => {
                let len = self.message_len;
                self.message_len = 0;
                self.in_message = false;
                on_event(WsEvent::Text(&self.message[..len]))?;
                Ok(true)
            }
            FrameKind::TextPart => {
                self.in_message = true;
                Ok(false)
            }
            FrameKind::Ping => {
                let len = self.control_len;
                self.control_len = 0;
                on_event(WsEvent::Ping(&self.control[..len]))?;
                Ok(false)
            }
            FrameKind::Pong => {
                self.control_len = 0;
                on_event(WsEvent::Pong)?;
                Ok(false)
            }
            FrameKind::Close => {
                let code = match &self.control[..self.control_len] {
                    [] => None,
                    [_] => return Err(NetError::Protocol("close frame with 1-byte payload")),
                    [hi, lo, ..] => Some(u16::from_be_bytes([*hi, *lo])),
                };
                self.control_len = 0;
                on_event(WsEvent::Close(code))?;
                Ok(false)
            }
        }
    }

    /// Parses a header from the buffered header bytes plus the front of `data`. Returns how many
    /// bytes of `data` it used, or `None` if the header is still incomplete (then all of `data`
    /// was buffered).
    fn take_header(&mut self, data: &[u8]) -> Result<Option<usize>, NetError> {
        let parsed = if self.header_len == 0 {
            let mut cursor = Cursor::new(data);
            match FrameHeader::parse(&mut cursor) {
                Ok(Some((header, len))) => Some((header, len, cursor.position() as usize)),
                Ok(None) => None,
                Err(_) => return Err(NetError::Protocol("invalid opcode")),
            }
        } else {
            let old = self.header_len;
            let add = (MAX_HEADER_LEN - old).min(data.len());
            self.header[old..old + add].copy_from_slice(&data[..add]);
            self.header_len += add;
            let mut cursor = Cursor::new(&self.header[..self.header_len]);
            match FrameHeader::parse(&mut cursor) {
                Ok(Some((header, len))) => {
                    let pos = cursor.position() as usize;
                    debug_assert!(pos > old);
                    self.header_len = 0;
                    Some((header, len, pos - old))
                }
                Ok(None) => {
                    debug_assert_eq!(add, data.len());
                    return Ok(None);
                }
                Err(_) => return Err(NetError::Protocol("invalid opcode")),
            }
        };
        let Some((header, len, used)) = parsed else {
            // Incomplete and nothing buffered yet: a header is at most 14 bytes, so it fits.
            debug_assert!(data.len() < MAX_HEADER_LEN);
            self.header[..data.len()].copy_from_slice(data);
            self.header_len = data.len();
            return Ok(None);
        };
        self.state = self.check_header(&header, len)?;
        Ok(Some(used))
    }

    fn check_header(&self, header: &FrameHeader, len: u64) -> Result<State, NetError> {
        if header.rsv1 || header.rsv2 || header.rsv3 {
            return Err(NetError::Protocol("reserved bits set"));
        }
        if header.mask.is_some() {
            return Err(NetError::Protocol("masked server frame"));
        }
        let kind = match header.opcode {
            OpCode::Data(Data::Text) if self.in_message => {
                return Err(NetError::Protocol("text frame inside fragmented message"));
            }
            OpCode::Data(Data::Continue) if !self.in_message => {
                return Err(NetError::Protocol("continuation without a message"));
            }
            OpCode::Data(Data::Text) | OpCode::Data(Data::Continue) => FrameKind::TextPart,
            OpCode::Data(Data::Binary) => return Err(NetError::Protocol("binary frame")),
            OpCode::Control(Control::Ping) => FrameKind::Ping,
            OpCode::Control(Control::Pong) => FrameKind::Pong,
            OpCode::Control(Control::Close) => FrameKind::Close,
            OpCode::Data(Data::Reserved(_)) | OpCode::Control(Control::Reserved(_)) => {
                return Err(NetError::Protocol("invalid opcode"));
            }
        };
        let remaining = if kind == FrameKind::TextPart {
            let max = self.message.len();
            let total = (self.message_len as u64).saturating_add(len);
            if total > max as u64 {
                return Err(NetError::FrameTooLarge { len: total, max });
            }
            len as usize
        } else {
            if !header.is_final || len > MAX_CONTROL_PAYLOAD as u64 {
                return Err(NetError::Protocol("fragmented or oversized control frame"));
            }
            len as usize
        };
        Ok(State::Payload {
            kind,
            fin: header.is_final,
            remaining,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Unmasked server frame (what Kraken sends).
    fn server_frame(opcode: u8, fin: bool, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![opcode | if fin { 0x80 } else { 0 }];
        if payload.len() < 126 {
            v.push(payload.len() as u8);
        } else if payload.len() <= 0xffff {
            v.push(126);
            v.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        } else {
            v.push(127);
            v.extend_from_slice(&(payload.len() as u64).to_be_bytes());
        }
        v.extend_from_slice(payload);
        v
    }

    #[derive(Debug, PartialEq)]
    enum Owned {
        Text(Vec<u8>),
        Ping(Vec<u8>),
        Pong,
        Close(Option<u16>),
    }

    fn decode_in_pieces(stream: &[u8], piece: usize, max: usize) -> Result<Vec<Owned>, NetError> {
        let mut dec = FrameDecoder::new(max);
        let mut out = Vec::new();
        for chunk in stream.chunks(piece.max(1)) {
            dec.feed(chunk, &mut |ev| {
                out.push(match ev {
                    WsEvent::Text(t) => Owned::Text(t.to_vec()),
                    WsEvent::Ping(p) => Owned::Ping(p.to_vec()),
                    WsEvent::Pong => Owned::Pong,
                    WsEvent::Close(c) => Owned::Close(c),
                });
                Ok(())
            })?;
        }
        Ok(out)
    }

    #[test]
    fn decodes_any_split_of_a_mixed_stream() {
        let big: Vec<u8> = (0..70_000u32).map(|i| b'a' + (i % 26) as u8).collect();
        let mut stream = Vec::new();
        stream.extend(server_frame(0x1, true, b"hello"));
        stream.extend(server_frame(0x1, true, b""));
        stream.extend(server_frame(0x1, true, &big[..300]));
        stream.extend(server_frame(0x1, false, b"frag-"));
        stream.extend(server_frame(0x9, true, b"ping!"));
        stream.extend(server_frame(0x0, false, b"ment"));
        stream.extend(server_frame(0x0, true, b"ed"));
        stream.extend(server_frame(0xA, true, b""));
        stream.extend(server_frame(0x1, true, &big));
        stream.extend(server_frame(0x8, true, &[0x03, 0xe8, b'b', b'y', b'e']));
        let expected = vec![
            Owned::Text(b"hello".to_vec()),
            Owned::Text(Vec::new()),
            Owned::Text(big[..300].to_vec()),
            Owned::Ping(b"ping!".to_vec()),
            Owned::Text(b"frag-mented".to_vec()),
            Owned::Pong,
            Owned::Text(big.clone()),
            Owned::Close(Some(1000)),
        ];
        for piece in [1, 2, 3, 7, 13, 14, 15, 100, 4096, stream.len()] {
            assert_eq!(
                decode_in_pieces(&stream, piece, 100_000).unwrap(),
                expected,
                "piece {piece}"
            );
        }
    }

    #[test]
    fn rejects_protocol_violations() {
        let cases: Vec<(Vec<u8>, NetError)> = vec![
            (
                server_frame(0x2, true, b"bin"),
                NetError::Protocol("binary frame"),
            ),
            (
                server_frame(0x1 | 0x40, true, b"x"),
                NetError::Protocol("reserved bits set"),
            ),
            (
                server_frame(0x0, true, b"x"),
                NetError::Protocol("continuation without a message"),
            ),
            (
                [
                    server_frame(0x1, false, b"a"),
                    server_frame(0x1, true, b"b"),
                ]
                .concat(),
                NetError::Protocol("text frame inside fragmented message"),
            ),
            (
                server_frame(0x9, false, b"p"),
                NetError::Protocol("fragmented or oversized control frame"),
            ),
            (
                server_frame(0x9, true, &[0; 126]),
                NetError::Protocol("fragmented or oversized control frame"),
            ),
            (
                server_frame(0x3, true, b""),
                NetError::Protocol("invalid opcode"),
            ),
            (
                server_frame(0x8, true, &[3]),
                NetError::Protocol("close frame with 1-byte payload"),
            ),
            (
                vec![0x81, 0x81, 1, 2, 3, 4, b'x' ^ 1],
                NetError::Protocol("masked server frame"),
            ),
        ];
        for (bytes, err) in cases {
            for piece in [1, bytes.len()] {
                assert_eq!(decode_in_pieces(&bytes, piece, 1000).unwrap_err(), err);
            }
        }
    }

    #[test]
    fn bounds_frames_and_assembled_messages() {
        let err = decode_in_pieces(&server_frame(0x1, true, &[b'x'; 101]), 5, 100).unwrap_err();
        assert_eq!(err, NetError::FrameTooLarge { len: 101, max: 100 });
        // Two fragments of 60 exceed 100 once joined.
        let s = [
            server_frame(0x1, false, &[b'x'; 60]),
            server_frame(0x0, true, &[b'y'; 60]),
        ]
        .concat();
        let err = decode_in_pieces(&s, 1000, 100).unwrap_err();
        assert_eq!(err, NetError::FrameTooLarge { len: 120, max: 100 });
        // Whole in one piece (the fast path's form) it is refused the same way.
        let whole = server_frame(0x1, true, &[b'x'; 101]);
        let err = decode_in_pieces(&whole, whole.len(), 100).unwrap_err();
        assert_eq!(err, NetError::FrameTooLarge { len: 101, max: 100 });
        // A 16-bit length where 7 bits would do is accepted as the general parser accepts it.
        let loose = [&[0x81, 126, 0, 3][..], b"abc"].concat();
        for piece in [1, 2, 3, loose.len()] {
            assert_eq!(
                decode_in_pieces(&loose, piece, 100).unwrap(),
                vec![Owned::Text(b"abc".to_vec())]
            );
        }
        // A 64-bit length near u64::MAX is refused before any payload.
        let mut huge = vec![0x81, 127];
        huge.extend_from_slice(&u64::MAX.to_be_bytes());
        let err = decode_in_pieces(&huge, 3, 100).unwrap_err();
        assert_eq!(
            err,
            NetError::FrameTooLarge {
                len: u64::MAX,
                max: 100
            }
        );
    }

    proptest::proptest! {
        /// Arbitrary bytes in arbitrary pieces never panic; they decode or fail with a typed error.
        #[test]
        fn arbitrary_input_never_panics(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600),
            piece in 1usize..40,
        ) {
            let _ = decode_in_pieces(&bytes, piece, 256);
        }

        /// Any split of a stream of valid frames decodes to the same messages.
        #[test]
        fn splits_do_not_change_the_result(
            lens in proptest::collection::vec(0usize..400, 1..12),
            piece in 1usize..500,
        ) {
            let mut stream = Vec::new();
            let mut expected = Vec::new();
            for (i, len) in lens.iter().enumerate() {
                let p: Vec<u8> = (0..*len).map(|j| (i * 13 + j) as u8).collect();
                stream.extend(server_frame(0x1, true, &p));
                expected.push(Owned::Text(p));
            }
            proptest::prop_assert_eq!(decode_in_pieces(&stream, piece, 400).unwrap(), expected);
        }
    }
}
