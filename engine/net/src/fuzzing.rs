//! Internals exposed for the fuzz targets in `fuzz/` (crate `kspin-fuzz`), and for nothing else:
//! this module exists only with the `fuzzing` feature, is hidden from the docs and is not API.
//!
//! Owns nothing: it re-exports the two parsers of bytes from the network that the public
//! [`crate::Connection`] hides behind a socket, so that they can be driven straight from fuzzer
//! input: the WebSocket frame decoder ([`FrameDecoder`], `ws_decoder.rs`) and the TLS 1.3 record
//! layer ([`RecordLayer`], `tls_record.rs`; [`RecordLayer::with_fixed_keys`] builds one without a
//! handshake). The engine never uses this module, and nothing here may be relied on to stay.

pub use crate::tls_record::{RecordLayer, RecordOutcome};
pub use crate::ws_decoder::{FrameDecoder, WsEvent};
