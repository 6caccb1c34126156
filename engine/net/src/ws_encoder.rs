//! WebSocket client frame encoder (RFC 6455 §5.2–5.3): final, masked frames written into a
//! caller-provided slice, with mask keys from a cheap PRNG.
//!
//! Owns only the PRNG state. Invariants: a frame is written whole or not at all (`None` when the
//! slice is too small); no allocation, no syscall per frame. The header is formatted by
//! tungstenite's `FrameHeader::format` (allocation-free into a slice); masking is ours because
//! tungstenite's mask helper is private.

use tungstenite::protocol::frame::coding::{Control, Data, OpCode};
use tungstenite::protocol::frame::FrameHeader;

/// Client frame opcodes we send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SendKind {
    Text,
    Pong,
    Close,
}

/// Writes masked client frames (RFC 6455 §5.3) with a cheap PRNG for mask keys.
pub(crate) struct FrameEncoder {
    /// xorshift64* state; never zero.
    rng: u64,
}

impl FrameEncoder {
    /// Seeds the mask generator once (from the OS-random std hasher keys: no syscall per frame).
    pub(crate) fn new() -> FrameEncoder {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(0x6b73_7069_6e00_0000);
        FrameEncoder {
            rng: h.finish() | 1,
        }
    }

    /// Seeds deterministically (tests).
    #[cfg(test)]
    pub(crate) fn with_seed(seed: u64) -> FrameEncoder {
        FrameEncoder { rng: seed | 1 }
    }

    fn next_mask(&mut self) -> [u8; 4] {
        // xorshift64* (Vigna 2016): masks only need to be unpredictable to the page author
        // (RFC 6455 §10.3), not cryptographically strong per frame.
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        let r = x.wrapping_mul(0x2545_f491_4f6c_dd1d);
        (r >> 32).to_le_bytes()[..4].try_into().unwrap_or([0x5a; 4])
    }

    /// Bytes needed for a frame with `payload_len` bytes.
    pub(crate) fn frame_len(payload_len: usize) -> usize {
        let ext = if payload_len < 126 {
            0
        } else if payload_len <= u16::MAX as usize {
            2
        } else {
            8
        };
        2 + ext + 4 + payload_len
    }

    /// Writes one final, masked frame into the front of `out`. Returns the bytes written, or
    /// `None` if `out` is too small (nothing written then).
    pub(crate) fn write_frame(
        &mut self,
        kind: SendKind,
        payload: &[u8],
        out: &mut [u8],
    ) -> Option<usize> {
        let total = Self::frame_len(payload.len());
        if out.len() < total {
            return None;
        }
        let mask = self.next_mask();
        let header = FrameHeader {
            is_final: true,
            rsv1: false,
            rsv2: false,
            rsv3: false,
            opcode: match kind {
                SendKind::Text => OpCode::Data(Data::Text),
                SendKind::Pong => OpCode::Control(Control::Pong),
                SendKind::Close => OpCode::Control(Control::Close),
            },
            mask: Some(mask),
        };
        let header_len = total - payload.len();
        let mut cursor: &mut [u8] = &mut out[..header_len];
        header.format(payload.len() as u64, &mut cursor).ok()?;
        debug_assert!(cursor.is_empty());
        let body = &mut out[header_len..total];
        body.copy_from_slice(payload);
        apply_mask(body, mask);
        Some(total)
    }
}

/// XORs `buf` with the repeating 4-byte `mask` (RFC 6455 §5.3), 8 bytes at a time.
pub(crate) fn apply_mask(buf: &mut [u8], mask: [u8; 4]) {
    let wide = u64::from_ne_bytes([
        mask[0], mask[1], mask[2], mask[3], mask[0], mask[1], mask[2], mask[3],
    ]);
    let mut chunks = buf.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        chunk.copy_from_slice(&(u64::from_ne_bytes(word) ^ wide).to_ne_bytes());
    }
    // The remainder starts at a multiple of 8, hence of 4: the mask phase is 0 again.
    for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
        *b ^= mask[i & 3];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn unmask_client_frame(frame: &[u8]) -> (u8, Vec<u8>) {
        let mut cur = Cursor::new(frame);
        let (h, len) = FrameHeader::parse(&mut cur).unwrap().unwrap();
        let start = cur.position() as usize;
        assert_eq!(start + len as usize, frame.len());
        let mask = h.mask.expect("client frames are masked");
        let mut p = frame[start..].to_vec();
        for (i, b) in p.iter_mut().enumerate() {
            *b ^= mask[i % 4];
        }
        (frame[0], p)
    }

    #[test]
    fn encodes_masked_frames_of_every_length_class() {
        let mut enc = FrameEncoder::with_seed(42);
        let mut out = vec![0u8; 70_000];
        for len in [0usize, 1, 7, 8, 9, 125, 126, 65_535, 65_536] {
            let payload: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            let n = enc.write_frame(SendKind::Text, &payload, &mut out).unwrap();
            assert_eq!(n, FrameEncoder::frame_len(len));
            let (b0, p) = unmask_client_frame(&out[..n]);
            assert_eq!(b0, 0x81);
            assert_eq!(p, payload);
        }
        let n = enc.write_frame(SendKind::Pong, b"abc", &mut out).unwrap();
        assert_eq!(unmask_client_frame(&out[..n]), (0x8A, b"abc".to_vec()));
        assert_eq!(
            enc.write_frame(SendKind::Close, &[0; 10], &mut out[..15]),
            None
        );
    }

    #[test]
    fn masks_differ_between_frames() {
        let mut enc = FrameEncoder::with_seed(7);
        let a = enc.next_mask();
        let b = enc.next_mask();
        assert_ne!(a, b);
    }

    #[test]
    fn apply_mask_matches_bytewise_definition() {
        let mask = [0x12, 0x34, 0x56, 0x78];
        for len in 0..40 {
            let orig: Vec<u8> = (0..len as u8).collect();
            let mut fast = orig.clone();
            apply_mask(&mut fast, mask);
            let slow: Vec<u8> = orig
                .iter()
                .enumerate()
                .map(|(i, b)| b ^ mask[i % 4])
                .collect();
            assert_eq!(fast, slow);
        }
    }
}
