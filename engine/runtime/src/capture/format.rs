//! The capture file format: a header, then length-prefixed records with a CRC each.
//!
//! ```text
//! header:  "KSPINCAP" | version u16 | 0u16 | body_len u32 | body (JSON, CaptureHeader) | crc32(body) u32
//! record:  len u32 | crc32(kind..payload) u32 | kind u8 | recv_tsc u64 | wall_ns u64 | payload[len]
//! ```
//!
//! All integers little-endian. `recv_tsc` is the engine's quanta raw TSC when the frame was read;
//! `wall_ns` is Unix time in ns derived from it. Record kinds: a received text frame, the link
//! going up or down, and a gap (frames the recorder had to drop, count in the payload).
//!
//! Owns encoding and decoding only; files are opened elsewhere ([`super::writer`], replay).
//! Invariants: a record is valid only if its whole length is present and its CRC matches; the
//! first invalid record ends the readable part of a file (a torn tail after a crash), and
//! [`scan`] reports exactly where, so a writer reopening the file cuts it there. Decoding never
//! panics on any input.

use serde::{Deserialize, Serialize};

/// First bytes of every capture file (the JSON-lines recordings start with `{`).
pub const MAGIC: &[u8; 8] = b"KSPINCAP";
/// Format version written by this build; readers accept exactly this version.
pub const VERSION: u16 = 1;
/// Bytes before the header's JSON body.
const HEADER_PREFIX: usize = 8 + 2 + 2 + 4;
/// Largest header body accepted (a header lists symbols only).
const MAX_HEADER_BODY: usize = 1 << 20;
/// Bytes of a record before its payload: len, crc, kind, recv_tsc, wall_ns.
pub const RECORD_HEADER: usize = 4 + 4 + 1 + 8 + 8;
/// Largest payload accepted (the engine's `max_frame_bytes` is at most a few MiB).
pub const MAX_PAYLOAD: usize = 64 << 20;

/// What a record holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum RecordKind {
    /// A received WebSocket text frame; the payload is its text.
    Frame = 1,
    /// The connection opened.
    LinkUp = 2,
    /// The connection ended.
    LinkDown = 3,
    /// The recorder dropped frames (its ring was full); payload: the count, u64 LE.
    Gap = 4,
}

impl RecordKind {
    pub fn from_u8(b: u8) -> Option<RecordKind> {
        match b {
            1 => Some(RecordKind::Frame),
            2 => Some(RecordKind::LinkUp),
            3 => Some(RecordKind::LinkDown),
            4 => Some(RecordKind::Gap),
            _ => None,
        }
    }
}

/// One symbol as configured when the capture was taken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptureSymbol {
    pub symbol: String,
    pub depth: u16,
    /// Price and quantity decimals when configured; otherwise learnt from the `instrument`
    /// frames in the capture.
    pub price_decimals: Option<u8>,
    pub qty_decimals: Option<u8>,
    pub book: bool,
    pub trade: bool,
    pub ticker: bool,
}

/// The header: what was recorded and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptureHeader {
    /// Where the frames came from (`ws://127.0.0.1:PORT/v2`, `wss://ws.kraken.com/v2`).
    pub venue: String,
    pub symbols: Vec<CaptureSymbol>,
    /// Unix time (ns) when recording started.
    pub started_unix_ns: u64,
    /// The program that wrote it (`kspin 0.1.0`).
    pub writer: String,
}

/// One decoded record, borrowing its payload from the file's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    pub kind: RecordKind,
    pub recv_tsc: u64,
    pub wall_ns: u64,
    pub payload: &'a [u8],
}

/// Why a capture could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FormatError {
    #[error("not a kspin capture (no KSPINCAP magic)")]
    NoMagic,
    #[error("capture format version {0}, this build reads version {VERSION}")]
    Version(u16),
    #[error("capture header truncated or corrupt")]
    BadHeader,
    #[error("capture header JSON: {0}")]
    HeaderJson(String),
}

/// Whether `bytes` starts like a capture file.
pub fn is_capture(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC)
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// Appends the encoded header to `out`.
pub fn encode_header(header: &CaptureHeader, out: &mut Vec<u8>) {
    // Serialising plain strings and integers cannot fail.
    let body = serde_json::to_vec(header).unwrap_or_default();
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
}

/// Decodes the header at the start of `bytes`; returns it and the offset of the first record.
pub fn decode_header(bytes: &[u8]) -> Result<(CaptureHeader, usize), FormatError> {
    if !is_capture(bytes) {
        return Err(FormatError::NoMagic);
    }
    let version = u16_at(bytes, 8).ok_or(FormatError::BadHeader)?;
    if version != VERSION {
        return Err(FormatError::Version(version));
    }
    let body_len = u32_at(bytes, 12).ok_or(FormatError::BadHeader)? as usize;
    if body_len > MAX_HEADER_BODY {
        return Err(FormatError::BadHeader);
    }
    let body = bytes
        .get(HEADER_PREFIX..HEADER_PREFIX + body_len)
        .ok_or(FormatError::BadHeader)?;
    let crc = u32_at(bytes, HEADER_PREFIX + body_len).ok_or(FormatError::BadHeader)?;
    if crc != crc32fast::hash(body) {
        return Err(FormatError::BadHeader);
    }
    let header: CaptureHeader =
        serde_json::from_slice(body).map_err(|e| FormatError::HeaderJson(e.to_string()))?;
    Ok((header, HEADER_PREFIX + body_len + 4))
}

fn record_crc(kind: u8, recv_tsc: u64, wall_ns: u64, payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&[kind]);
    h.update(&recv_tsc.to_le_bytes());
    h.update(&wall_ns.to_le_bytes());
    h.update(payload);
    h.finalize()
}

/// Appends one encoded record to `out`.
pub fn encode_record(
    kind: RecordKind,
    recv_tsc: u64,
    wall_ns: u64,
    payload: &[u8],
    out: &mut Vec<u8>,
) {
    let crc = record_crc(kind as u8, recv_tsc, wall_ns, payload);
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc.to_le_bytes());
    out.push(kind as u8);
    out.extend_from_slice(&recv_tsc.to_le_bytes());
    out.extend_from_slice(&wall_ns.to_le_bytes());
    out.extend_from_slice(payload);
}

/// Decodes the record at `bytes[at..]`: the record and the offset after it, or `None` when
/// there is no complete valid record there (end of file or a torn tail).
pub fn decode_record(bytes: &[u8], at: usize) -> Option<(Record<'_>, usize)> {
    let len = u32_at(bytes, at)? as usize;
    if len > MAX_PAYLOAD {
        return None;
    }
    let crc = u32_at(bytes, at + 4)?;
    let kind_byte = *bytes.get(at + 8)?;
    let recv_tsc = u64_at(bytes, at + 9)?;
    let wall_ns = u64_at(bytes, at + 17)?;
    let start = at + RECORD_HEADER;
    let payload = bytes.get(start..start.checked_add(len)?)?;
    if record_crc(kind_byte, recv_tsc, wall_ns, payload) != crc {
        return None;
    }
    let kind = RecordKind::from_u8(kind_byte)?;
    Some((
        Record {
            kind,
            recv_tsc,
            wall_ns,
            payload,
        },
        start + len,
    ))
}

/// Iterates over the valid records of a capture's bytes (after the header).
pub struct Records<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Records<'a> {
    /// Records of `bytes` starting at offset `first` (from [`decode_header`]).
    pub fn new(bytes: &'a [u8], first: usize) -> Records<'a> {
        Records { bytes, at: first }
    }

    /// Offset of the next record to read (after iteration: the end of the valid part).
    pub fn offset(&self) -> usize {
        self.at
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = Record<'a>;

    fn next(&mut self) -> Option<Record<'a>> {
        let (record, next) = decode_record(self.bytes, self.at)?;
        self.at = next;
        Some(record)
    }
}

/// What [`scan`] found in a capture's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanReport {
    pub header: CaptureHeader,
    /// Valid records.
    pub records: u64,
    /// Offset just after the last valid record.
    pub valid_len: u64,
    /// Bytes after it (a torn tail; 0 for a cleanly closed file).
    pub torn_bytes: u64,
}

/// Reads the header and every valid record; reports where the valid part ends.
pub fn scan(bytes: &[u8]) -> Result<ScanReport, FormatError> {
    let (header, first) = decode_header(bytes)?;
    let mut records = Records::new(bytes, first);
    let count = records.by_ref().count() as u64;
    let valid_len = records.offset() as u64;
    Ok(ScanReport {
        header,
        records: count,
        valid_len,
        torn_bytes: bytes.len() as u64 - valid_len,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn header() -> CaptureHeader {
        CaptureHeader {
            venue: "ws://127.0.0.1:1/v2".into(),
            symbols: vec![CaptureSymbol {
                symbol: "BTC/USD".into(),
                depth: 10,
                price_decimals: Some(1),
                qty_decimals: Some(8),
                book: true,
                trade: true,
                ticker: false,
            }],
            started_unix_ns: 1_763_800_000_000_000_000,
            writer: "test".into(),
        }
    }

    #[test]
    fn header_and_records_round_trip() {
        let mut file = Vec::new();
        encode_header(&header(), &mut file);
        encode_record(RecordKind::LinkUp, 5, 6, b"", &mut file);
        encode_record(
            RecordKind::Frame,
            7,
            8,
            br#"{"channel":"heartbeat"}"#,
            &mut file,
        );
        let (h, first) = decode_header(&file).unwrap();
        assert_eq!(h, header());
        let records: Vec<_> = Records::new(&file, first).collect();
        assert_eq!(records.len(), 2);
        assert_eq!(records[1].kind, RecordKind::Frame);
        assert_eq!(records[1].recv_tsc, 7);
        assert_eq!(records[1].wall_ns, 8);
        assert_eq!(records[1].payload, br#"{"channel":"heartbeat"}"#);
        let report = scan(&file).unwrap();
        assert_eq!(report.records, 2);
        assert_eq!(report.torn_bytes, 0);
    }

    #[test]
    fn a_torn_or_corrupt_tail_ends_the_valid_part_at_the_last_good_record() {
        let mut file = Vec::new();
        encode_header(&header(), &mut file);
        encode_record(RecordKind::Frame, 1, 1, b"first", &mut file);
        let good = file.len() as u64;
        encode_record(RecordKind::Frame, 2, 2, b"second frame", &mut file);
        // Every truncation inside the second record is a torn tail at `good`.
        for cut in good as usize..file.len() {
            let r = scan(&file[..cut]).unwrap();
            assert_eq!((r.records, r.valid_len), (1, good), "cut at {cut}");
            assert_eq!(r.torn_bytes, cut as u64 - good);
        }
        // A flipped payload byte fails the CRC.
        let mut bad = file.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert_eq!(scan(&bad).unwrap().valid_len, good);
        // An absurd length is not trusted.
        let mut huge = file.clone();
        huge[good as usize..good as usize + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(scan(&huge).unwrap().records, 1);
    }

    #[test]
    fn headers_are_checked() {
        assert_eq!(
            decode_header(b"{\"x\":1}").unwrap_err(),
            FormatError::NoMagic
        );
        let mut file = Vec::new();
        encode_header(&header(), &mut file);
        let mut v2 = file.clone();
        v2[8] = 2;
        assert_eq!(decode_header(&v2).unwrap_err(), FormatError::Version(2));
        let mut corrupt = file.clone();
        corrupt[HEADER_PREFIX + 3] ^= 0x20;
        assert_eq!(decode_header(&corrupt).unwrap_err(), FormatError::BadHeader);
        assert_eq!(
            decode_header(&file[..20]).unwrap_err(),
            FormatError::BadHeader
        );
        assert!(is_capture(&file));
    }
}
