//! The target bodies, one module per parser of outside bytes.
//!
//! Owns the checks each target makes beyond "does not panic": the decoders' agreement
//! ([`decode_frame`]), the feed's publication invariant ([`book_sequence`]), split-independence
//! of the WebSocket decoder ([`ws_frames`]), authentication of TLS records against an independent
//! AEAD ([`tls_records`]), the capture reader against an independent reader ([`capture_reader`])
//! and the validated config's promises ([`config`]). Invariants: a failed check panics with a
//! message that says which invariant broke; nothing here writes files or reads a clock.

mod book_sequence;
mod capture_reader;
mod config;
mod decode_frame;
mod tls_records;
mod ws_frames;

pub use book_sequence::book_sequence;
pub use capture_reader::capture_reader;
pub use config::config;
pub use decode_frame::decode_frame;
pub use tls_records::{
    tls_records, TlsFuzzKeys, MODE_SCRIPT, OP_RAW, OP_SEAL_AND_FLIP, OP_SEAL_APP_DATA,
    OP_SEAL_INNER, SUITE_AES_256_GCM,
};
pub use ws_frames::{ws_frames, WS_MESSAGE_LIMITS};

/// The input as text for a panic message: lossy, and cut to a readable length.
pub(crate) fn shown(bytes: &[u8]) -> String {
    const SHOWN: usize = 400;
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(SHOWN)]).into_owned();
    if bytes.len() > SHOWN {
        format!("{text}… ({} bytes)", bytes.len())
    } else {
        text
    }
}
