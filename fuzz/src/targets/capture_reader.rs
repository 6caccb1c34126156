//! `capture_reader`: any bytes as a capture file, through
//! [`kspin_runtime::capture::Capture::from_bytes`] and every record.
//!
//! Checks that reading never panics, and that it returns exactly the records an independent
//! reader written here from the format's description (engine/runtime/src/capture/format.rs)
//! finds: only whole records whose CRC matches, in file order, ending at the first bad one, with
//! the torn tail counted. Also builds the replay configuration a capture implies.

use kspin_runtime::capture::{Capture, CaptureHeader, RecordKind};

use super::shown;
use crate::Verdict;

const MAGIC: &[u8; 8] = b"KSPINCAP";
const VERSION: u16 = 1;
/// magic, version, reserved, body length.
const HEADER_PREFIX: usize = 8 + 2 + 2 + 4;
const MAX_HEADER_BODY: usize = 1 << 20;
/// len, crc, kind, recv_tsc, wall_ns.
const RECORD_HEADER: usize = 4 + 4 + 1 + 8 + 8;
const MAX_PAYLOAD: usize = 64 << 20;

/// One record as the reference reads it: kind byte, recv_tsc, wall_ns, payload.
type ReferenceRecord<'a> = (u8, u64, u64, &'a [u8]);

/// `N` bytes at `at`, if the file has them.
fn bytes_at<const N: usize>(file: &[u8], at: usize) -> Option<[u8; N]> {
    file.get(at..at.checked_add(N)?)?.try_into().ok()
}

/// The header and the offset of the first record, or `None` if the file is not a capture.
fn reference_header(file: &[u8]) -> Option<(CaptureHeader, usize)> {
    if file.get(..8)? != MAGIC || u16::from_le_bytes(bytes_at(file, 8)?) != VERSION {
        return None;
    }
    let body_len = u32::from_le_bytes(bytes_at(file, 12)?) as usize;
    if body_len > MAX_HEADER_BODY {
        return None;
    }
    let body = file.get(HEADER_PREFIX..HEADER_PREFIX + body_len)?;
    let crc = u32::from_le_bytes(bytes_at(file, HEADER_PREFIX + body_len)?);
    if crc != crc32fast::hash(body) {
        return None;
    }
    let header = serde_json::from_slice(body).ok()?;
    Some((header, HEADER_PREFIX + body_len + 4))
}

/// The valid records from `at` on, and where the valid part ends.
fn reference_records(file: &[u8], mut at: usize) -> (Vec<ReferenceRecord<'_>>, usize) {
    let mut records = Vec::new();
    loop {
        let record = (|| {
            let len = u32::from_le_bytes(bytes_at(file, at)?) as usize;
            let crc = u32::from_le_bytes(bytes_at(file, at + 4)?);
            let kind = *file.get(at + 8)?;
            let recv_tsc = u64::from_le_bytes(bytes_at(file, at + 9)?);
            let wall_ns = u64::from_le_bytes(bytes_at(file, at + 17)?);
            if len > MAX_PAYLOAD {
                return None;
            }
            let payload = file.get(at + RECORD_HEADER..at + RECORD_HEADER + len)?;
            let mut hasher = crc32fast::Hasher::new();
            hasher.update(&file[at + 8..at + RECORD_HEADER]);
            hasher.update(payload);
            if hasher.finalize() != crc || !(1..=4).contains(&kind) {
                return None;
            }
            Some(((kind, recv_tsc, wall_ns, payload), at + RECORD_HEADER + len))
        })();
        let Some((record, next)) = record else {
            return (records, at);
        };
        records.push(record);
        at = next;
    }
}

/// See the module docs.
pub fn capture_reader(file: &[u8]) -> Verdict {
    let reference = reference_header(file);
    let capture = match Capture::from_bytes(file.to_vec()) {
        Ok(capture) => capture,
        Err(e) => {
            assert!(
                reference.is_none(),
                "a valid capture was refused ({e}): {}",
                shown(file)
            );
            return Verdict::Rejected;
        }
    };
    let Some((header, first)) = reference else {
        panic!("an invalid capture was read: {}", shown(file));
    };
    assert_eq!(capture.header(), &header);
    let (expected, valid_end) = reference_records(file, first);
    let records: Vec<ReferenceRecord<'_>> = capture
        .records()
        .map(|r| (r.kind as u8, r.recv_tsc, r.wall_ns, r.payload))
        .collect();
    assert_eq!(
        records, expected,
        "records differ from the reference reader"
    );
    assert_eq!(capture.record_count(), expected.len() as u64);
    assert_eq!(capture.torn_bytes(), (file.len() - valid_end) as u64);
    let frames = capture.frames().count();
    let expected_frames = expected
        .iter()
        .filter(|r| r.0 == RecordKind::Frame as u8)
        .count();
    assert_eq!(frames, expected_frames);
    let plan = capture.symbol_plan();
    assert_eq!(plan.len(), header.symbols.len());
    let config = capture.engine_config();
    assert_eq!(config.symbols.len(), header.symbols.len());
    Verdict::Accepted
}
