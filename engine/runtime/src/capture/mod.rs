//! Capture and replay of what the engine receives: every frame read from the exchange socket,
//! with its receive TSC and Unix time, in an append-only file of CRC-checked records.
//!
//! Owns the file format ([`format`]), the core-to-writer byte ring ([`byte_ring`]), the writer
//! thread ([`writer`]), the [`Recording`] publisher wrapper that feeds it from the engine core
//! ([`recording`]) and reading a capture back ([`reader`]). Invariants: recording never blocks,
//! allocates or formats on the core; a capture replayed through the engine-core path produces the
//! same feed outcomes in the same order as the live run that recorded it (DESIGN.md invariant 7;
//! tested in `engine/kspin/tests/capture_determinism.rs`); a torn tail is detected and never read as
//! data. It never touches the network.

pub mod byte_ring;
pub mod format;
pub mod reader;
pub mod recording;
pub mod writer;

pub use format::{
    is_capture as is_capture_file, CaptureHeader, CaptureSymbol, FormatError, Record, RecordKind,
    ScanReport,
};
pub use reader::Capture;
pub use recording::Recording;
pub use writer::{
    start_recording, start_recording_on, CaptureError, CaptureProducer, CaptureRecorder, OpenMode,
    RecordSummary, DEFAULT_RING_BYTES,
};
