//! Errors of the network layer: one small `Copy` enum, cheap to return from the hot path.
//!
//! Every variant ends the connection (the runtime reconnects); none carries heap data, so building
//! and returning one never allocates. Details that rustls or tungstenite give as rich error values
//! are mapped onto the small [`TlsFailure`] / [`HandshakeFailure`] enums here, at the edge.

use std::io;

/// Why a TLS session failed. Mapped from `rustls::Error` or detected by our record layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TlsFailure {
    /// The server's certificate chain does not lead to a trusted root (self-signed, unknown CA).
    #[error("certificate not trusted (unknown issuer)")]
    UntrustedCertificate,
    /// The certificate is valid but not for the name we connected to.
    #[error("certificate not valid for the server name")]
    CertificateNameMismatch,
    /// The certificate is expired or not yet valid.
    #[error("certificate expired or not yet valid")]
    CertificateExpired,
    /// Any other certificate problem (bad encoding, revoked, wrong usage, ...).
    #[error("bad certificate")]
    BadCertificate,
    /// The peer sent a fatal alert; the value is the TLS AlertDescription code (RFC 8446 §6).
    #[error("peer sent TLS alert {0}")]
    AlertReceived(u8),
    /// A record failed authentication (bad_record_mac).
    #[error("record decryption failed")]
    Decrypt,
    /// A record was longer than RFC 8446 §5.2 allows.
    #[error("record overflow")]
    RecordOverflow,
    /// A record or message arrived that is not allowed at this point (unexpected_message).
    #[error("unexpected TLS message")]
    UnexpectedMessage,
    /// A message could not be decoded: a wrong length, or a handshake message larger than the
    /// bound we join (decode_error).
    #[error("TLS message could not be decoded")]
    DecodeError,
    /// A field held a value the protocol forbids, e.g. a KeyUpdate request other than 0 or 1
    /// (illegal_parameter).
    #[error("illegal TLS parameter")]
    IllegalParameter,
    /// The peer negotiated something we do not implement (e.g. a cipher suite outside the TLS 1.3
    /// AEADs), or a record sequence number would wrap.
    #[error("unsupported TLS feature: {0}")]
    Unsupported(&'static str),
    /// The TLS configuration could not be built (bad PEM, invalid server name, ...).
    #[error("TLS configuration: {0}")]
    Config(&'static str),
    /// Any other failure reported by rustls during the handshake.
    #[error("TLS handshake failed")]
    Handshake,
}

/// TLS AlertDescription values (RFC 8446 §6) that kspin sends or names.
pub mod alert {
    pub const CLOSE_NOTIFY: u8 = 0;
    pub const UNEXPECTED_MESSAGE: u8 = 10;
    pub const BAD_RECORD_MAC: u8 = 20;
    pub const RECORD_OVERFLOW: u8 = 22;
    pub const HANDSHAKE_FAILURE: u8 = 40;
    pub const BAD_CERTIFICATE: u8 = 42;
    pub const UNSUPPORTED_CERTIFICATE: u8 = 43;
    pub const CERTIFICATE_REVOKED: u8 = 44;
    pub const CERTIFICATE_EXPIRED: u8 = 45;
    pub const CERTIFICATE_UNKNOWN: u8 = 46;
    pub const ILLEGAL_PARAMETER: u8 = 47;
    pub const UNKNOWN_CA: u8 = 48;
    pub const ACCESS_DENIED: u8 = 49;
    pub const DECODE_ERROR: u8 = 50;
    pub const DECRYPT_ERROR: u8 = 51;
    pub const PROTOCOL_VERSION: u8 = 70;
    pub const INSUFFICIENT_SECURITY: u8 = 71;
    pub const INTERNAL_ERROR: u8 = 80;
    pub const INAPPROPRIATE_FALLBACK: u8 = 86;
    pub const USER_CANCELED: u8 = 90;
    pub const MISSING_EXTENSION: u8 = 109;
    pub const UNSUPPORTED_EXTENSION: u8 = 110;
    pub const UNRECOGNIZED_NAME: u8 = 112;
    pub const BAD_CERTIFICATE_STATUS_RESPONSE: u8 = 113;
    pub const UNKNOWN_PSK_IDENTITY: u8 = 115;
    pub const CERTIFICATE_REQUIRED: u8 = 116;
    pub const NO_APPLICATION_PROTOCOL: u8 = 120;

    /// Every alert RFC 8446 §6 defines, with its name (snake_case, as the RFC spells it).
    pub const NAMED: [(u8, &str); 27] = [
        (CLOSE_NOTIFY, "close_notify"),
        (UNEXPECTED_MESSAGE, "unexpected_message"),
        (BAD_RECORD_MAC, "bad_record_mac"),
        (RECORD_OVERFLOW, "record_overflow"),
        (HANDSHAKE_FAILURE, "handshake_failure"),
        (BAD_CERTIFICATE, "bad_certificate"),
        (UNSUPPORTED_CERTIFICATE, "unsupported_certificate"),
        (CERTIFICATE_REVOKED, "certificate_revoked"),
        (CERTIFICATE_EXPIRED, "certificate_expired"),
        (CERTIFICATE_UNKNOWN, "certificate_unknown"),
        (ILLEGAL_PARAMETER, "illegal_parameter"),
        (UNKNOWN_CA, "unknown_ca"),
        (ACCESS_DENIED, "access_denied"),
        (DECODE_ERROR, "decode_error"),
        (DECRYPT_ERROR, "decrypt_error"),
        (PROTOCOL_VERSION, "protocol_version"),
        (INSUFFICIENT_SECURITY, "insufficient_security"),
        (INTERNAL_ERROR, "internal_error"),
        (INAPPROPRIATE_FALLBACK, "inappropriate_fallback"),
        (USER_CANCELED, "user_canceled"),
        (MISSING_EXTENSION, "missing_extension"),
        (UNSUPPORTED_EXTENSION, "unsupported_extension"),
        (UNRECOGNIZED_NAME, "unrecognized_name"),
        (
            BAD_CERTIFICATE_STATUS_RESPONSE,
            "bad_certificate_status_response",
        ),
        (UNKNOWN_PSK_IDENTITY, "unknown_psk_identity"),
        (CERTIFICATE_REQUIRED, "certificate_required"),
        (NO_APPLICATION_PROTOCOL, "no_application_protocol"),
    ];

    /// The RFC name of `description`, if RFC 8446 defines it.
    pub fn name(description: u8) -> Option<&'static str> {
        NAMED
            .iter()
            .find(|(d, _)| *d == description)
            .map(|(_, n)| *n)
    }
}

impl TlsFailure {
    /// The alert we send before closing on this failure (RFC 8446 §6.2), or `None` when the
    /// peer's own fatal alert ended the session (nothing more is sent after one).
    pub fn alert(&self) -> Option<u8> {
        Some(match self {
            TlsFailure::UntrustedCertificate => alert::UNKNOWN_CA,
            TlsFailure::CertificateNameMismatch | TlsFailure::BadCertificate => {
                alert::BAD_CERTIFICATE
            }
            TlsFailure::CertificateExpired => alert::CERTIFICATE_EXPIRED,
            TlsFailure::AlertReceived(_) => return None,
            TlsFailure::Decrypt => alert::BAD_RECORD_MAC,
            TlsFailure::RecordOverflow => alert::RECORD_OVERFLOW,
            TlsFailure::UnexpectedMessage => alert::UNEXPECTED_MESSAGE,
            TlsFailure::DecodeError => alert::DECODE_ERROR,
            TlsFailure::IllegalParameter => alert::ILLEGAL_PARAMETER,
            TlsFailure::Handshake => alert::HANDSHAKE_FAILURE,
            TlsFailure::Unsupported(_) | TlsFailure::Config(_) => alert::INTERNAL_ERROR,
        })
    }

    /// Whether the server's certificate was refused (what a man-in-the-middle looks like).
    pub fn is_certificate(&self) -> bool {
        matches!(
            self,
            TlsFailure::UntrustedCertificate
                | TlsFailure::CertificateNameMismatch
                | TlsFailure::CertificateExpired
                | TlsFailure::BadCertificate
        )
    }
}

/// Why the WebSocket upgrade (RFC 6455 §4) failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeFailure {
    /// The server answered with this HTTP status instead of 101.
    #[error("HTTP status {0} instead of 101")]
    Status(u16),
    /// `Upgrade: websocket` missing.
    #[error("missing Upgrade: websocket")]
    MissingUpgrade,
    /// `Connection: Upgrade` missing.
    #[error("missing Connection: upgrade")]
    MissingConnection,
    /// `Sec-WebSocket-Accept` missing or not derived from our key.
    #[error("Sec-WebSocket-Accept mismatch")]
    AcceptMismatch,
    /// The server enabled an extension we did not ask for.
    #[error("unrequested extension")]
    UnrequestedExtension,
    /// The response is not valid HTTP.
    #[error("malformed HTTP response")]
    Malformed,
    /// The response headers exceed the handshake buffer.
    #[error("HTTP response too large")]
    ResponseTooLarge,
    /// The request could not be generated (invalid host or path).
    #[error("invalid request")]
    Request,
}

/// Everything that can end a connection. `Copy`, no heap data; see [`NetError::kind`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NetError {
    /// The URL is not a valid `ws://` / `wss://` URL.
    #[error("invalid URL: {0}")]
    Url(&'static str),
    /// DNS resolution found no address.
    #[error("could not resolve host")]
    Resolve,
    /// The TCP connect failed (refused, unreachable, ...).
    #[error("connect failed: {0:?}")]
    Connect(io::ErrorKind),
    /// TLS failed.
    #[error("TLS: {0}")]
    Tls(TlsFailure),
    /// The WebSocket upgrade failed.
    #[error("WebSocket handshake: {0}")]
    Handshake(HandshakeFailure),
    /// The peer ended the stream (TCP FIN on a plain connection, or TLS close_notify) without a
    /// WebSocket close frame.
    #[error("connection closed by peer (EOF)")]
    Eof,
    /// TCP FIN on a TLS connection without a preceding close_notify: the stream may have been
    /// truncated (RFC 8446 §6.1).
    #[error("TLS stream ended without close_notify")]
    TlsNoCloseNotify,
    /// The peer sent a WebSocket close frame (already answered), or we closed the connection.
    #[error("WebSocket closed (code {code:?})")]
    Closed {
        /// The close status code, if the frame carried one.
        code: Option<u16>,
    },
    /// A frame or an assembled message exceeds `ConnLimits::max_frame_len`.
    #[error("frame of {len} bytes exceeds the limit of {max}")]
    FrameTooLarge {
        /// Announced length (payload, or message so far plus this frame).
        len: u64,
        /// The configured limit.
        max: usize,
    },
    /// The peer violated RFC 6455 (masked server frame, reserved bits, bad continuation, binary
    /// frame, ...).
    #[error("WebSocket protocol violation: {0}")]
    Protocol(&'static str),
    /// `send_text` found no room in the bounded write buffer.
    #[error("write buffer full")]
    WriteBufferFull,
    /// The connection limits are unusable.
    #[error("invalid connection limits: {0}")]
    Limits(&'static str),
    /// The call is not valid in the connection's current state (e.g. sending before `Open`).
    #[error("invalid state: {0}")]
    State(&'static str),
    /// A socket read or write failed.
    #[error("I/O error: {0:?}")]
    Io(io::ErrorKind),
}

impl NetError {
    /// A short stable name for metrics and logs ("eof", "tls", "frame_too_large", ...).
    pub fn kind(&self) -> &'static str {
        match self {
            NetError::Url(_) => "url",
            NetError::Resolve => "resolve",
            NetError::Connect(_) => "connect",
            NetError::Tls(_) => "tls",
            NetError::Handshake(_) => "handshake",
            NetError::Eof => "eof",
            NetError::TlsNoCloseNotify => "tls_no_close_notify",
            NetError::Closed { .. } => "closed",
            NetError::FrameTooLarge { .. } => "frame_too_large",
            NetError::Protocol(_) => "protocol",
            NetError::WriteBufferFull => "write_buffer_full",
            NetError::Limits(_) => "limits",
            NetError::State(_) => "state",
            NetError::Io(_) => "io",
        }
    }
}

/// Maps a rustls error (handshake time, or from `KernelConnection`) onto [`TlsFailure`].
pub(crate) fn tls_failure(err: &rustls::Error) -> TlsFailure {
    use rustls::{CertificateError, Error};
    match err {
        Error::InvalidCertificate(cert) => match cert {
            CertificateError::UnknownIssuer | CertificateError::BadSignature => {
                TlsFailure::UntrustedCertificate
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                TlsFailure::CertificateNameMismatch
            }
            CertificateError::Expired
            | CertificateError::ExpiredContext { .. }
            | CertificateError::NotValidYet
            | CertificateError::NotValidYetContext { .. } => TlsFailure::CertificateExpired,
            _ => TlsFailure::BadCertificate,
        },
        Error::AlertReceived(alert) => TlsFailure::AlertReceived(u8::from(*alert)),
        Error::DecryptError => TlsFailure::Decrypt,
        Error::InappropriateMessage { .. }
        | Error::InappropriateHandshakeMessage { .. }
        | Error::PeerMisbehaved(_) => TlsFailure::UnexpectedMessage,
        Error::InvalidMessage(_) => TlsFailure::DecodeError,
        _ => TlsFailure::Handshake,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_small_and_copy() {
        fn assert_copy<T: Copy>() {}
        assert_copy::<NetError>();
        assert!(std::mem::size_of::<NetError>() <= 24);
    }

    #[test]
    fn kinds_are_stable() {
        assert_eq!(NetError::Eof.kind(), "eof");
        assert_eq!(NetError::Closed { code: Some(1000) }.kind(), "closed");
        assert_eq!(
            NetError::FrameTooLarge { len: 10, max: 5 }.kind(),
            "frame_too_large"
        );
        assert_eq!(NetError::Tls(TlsFailure::Decrypt).kind(), "tls");
    }

    #[test]
    fn maps_unknown_issuer_to_untrusted() {
        let err = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        assert_eq!(tls_failure(&err), TlsFailure::UntrustedCertificate);
    }
}
