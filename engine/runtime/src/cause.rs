//! Why a connection ended or an attempt failed: [`EndCause`], mapped from the transport's
//! [`NetError`] or named by the runtime itself (stall, checksum policy, local stop, ...), and
//! [`CauseCounts`], a fixed table of counts by cause with a stable snake_case name per slot.
//!
//! Owns the list of causes and their names: a name, once published in `kspin run --json`
//! (`disconnects_by_cause`, `connect_failures_by_cause`), never changes meaning. Invariants:
//! every [`NetError`] maps to exactly one cause; a TLS alert keeps its description (one slot per
//! alert RFC 8446 §6 defines) and a WebSocket close its code (one slot per code RFC 6455 §7.4.1
//! defines); counting is an array increment (no allocation, no formatting: the core counts, the
//! monitor thread names and prints).

use kspin_net::{alert, NetError, TlsFailure};

/// Why a connection ended (or an attempt failed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndCause {
    /// The server's certificate was refused (untrusted issuer, wrong name, expired, invalid):
    /// what a man-in-the-middle looks like.
    CertificateRejected,
    /// The peer sent this fatal TLS alert (RFC 8446 §6).
    TlsAlertReceived(u8),
    /// A record failed authentication (we sent bad_record_mac).
    RecordAuthenticationFailed,
    /// Any other TLS protocol violation (unexpected message, decode error, overflow, ...).
    TlsProtocolError,
    /// The peer closed the WebSocket with this code (`None`: no code).
    WebSocketClose(Option<u16>),
    /// TCP ended under TLS without close_notify (the stream may have been truncated).
    EofWithoutCloseNotify,
    /// The peer ended the stream (close_notify, or TCP on a plain connection) without a
    /// WebSocket close.
    Eof,
    /// No frame for the stall timeout.
    Stall,
    /// A book stayed resyncing (after checksum mismatches or refused data) past the resync
    /// deadline: the exchange lost or refused the resync, so the connection is rebuilt.
    ChecksumPolicy,
    /// We stopped (shutdown); counted in the table only, not in the `disconnects` total.
    LocalStop,
    /// The TCP connect failed (refused, unreachable).
    ConnectFailed,
    /// The TCP, TLS and WebSocket handshakes did not finish within the connect timeout.
    ConnectTimeout,
    /// DNS resolution failed.
    DnsFailed,
    /// The WebSocket upgrade was refused or malformed.
    WebSocketUpgradeRefused,
    /// The peer broke RFC 6455 (masked frame, bad continuation, binary frame, ...).
    WebSocketProtocolError,
    /// A message larger than the configured frame limit.
    FrameTooLarge,
    /// A socket read or write failed (reset, broken pipe, ...).
    IoError,
    /// The venue refused a subscription (trading: a bad or expired token).
    SubscribeRefused,
    /// No token could be had for the trading connection (unreachable, refused, bad answer,
    /// timeout).
    TokenFailed,
    /// Our own state or limits (full write buffer, unusable limits, a bad URL or TLS setting).
    LocalError,
}

/// WebSocket close codes with a slot of their own (RFC 6455 §7.4.1; 1006 and 1015 are never
/// sent in a close frame). Any other code counts as `websocket_close_other`.
const CLOSE_CODES: [u16; 12] = [
    1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014,
];

/// Slots before the alert slots: one per cause without a parameter.
const FIXED: usize = 18;
/// First alert slot; one per named alert, then `tls_alert_other`.
const ALERT_BASE: usize = FIXED;
const ALERT_SLOTS: usize = alert::NAMED.len() + 1;
/// First WebSocket close slot; one per code, then no code, then other.
const CLOSE_BASE: usize = ALERT_BASE + ALERT_SLOTS;
const CLOSE_SLOTS: usize = CLOSE_CODES.len() + 2;
/// Slots in a [`CauseCounts`] table.
pub const CAUSE_SLOTS: usize = CLOSE_BASE + CLOSE_SLOTS;

/// The stable name of every slot, in slot order.
pub const CAUSE_NAMES: [&str; CAUSE_SLOTS] = [
    "certificate_rejected",
    "record_authentication_failed",
    "tls_protocol_error",
    "eof_without_close_notify",
    "eof",
    "stall",
    "checksum_policy",
    "local_stop",
    "connect_failed",
    "connect_timeout",
    "dns_failed",
    "websocket_upgrade_refused",
    "websocket_protocol_error",
    "frame_too_large",
    "io_error",
    "subscribe_refused",
    "token_failed",
    "local_error",
    // One per alert of `kspin_net::alert::NAMED`, in its order.
    "tls_alert_close_notify",
    "tls_alert_unexpected_message",
    "tls_alert_bad_record_mac",
    "tls_alert_record_overflow",
    "tls_alert_handshake_failure",
    "tls_alert_bad_certificate",
    "tls_alert_unsupported_certificate",
    "tls_alert_certificate_revoked",
    "tls_alert_certificate_expired",
    "tls_alert_certificate_unknown",
    "tls_alert_illegal_parameter",
    "tls_alert_unknown_ca",
    "tls_alert_access_denied",
    "tls_alert_decode_error",
    "tls_alert_decrypt_error",
    "tls_alert_protocol_version",
    "tls_alert_insufficient_security",
    "tls_alert_internal_error",
    "tls_alert_inappropriate_fallback",
    "tls_alert_user_canceled",
    "tls_alert_missing_extension",
    "tls_alert_unsupported_extension",
    "tls_alert_unrecognized_name",
    "tls_alert_bad_certificate_status_response",
    "tls_alert_unknown_psk_identity",
    "tls_alert_certificate_required",
    "tls_alert_no_application_protocol",
    "tls_alert_other",
    // One per code of `CLOSE_CODES`, then no code, then any other code.
    "websocket_close_1000",
    "websocket_close_1001",
    "websocket_close_1002",
    "websocket_close_1003",
    "websocket_close_1007",
    "websocket_close_1008",
    "websocket_close_1009",
    "websocket_close_1010",
    "websocket_close_1011",
    "websocket_close_1012",
    "websocket_close_1013",
    "websocket_close_1014",
    "websocket_close_no_code",
    "websocket_close_other",
];

impl EndCause {
    /// The cause of a transport error.
    pub fn of(error: &NetError) -> EndCause {
        match error {
            NetError::Url(_)
            | NetError::Limits(_)
            | NetError::State(_)
            | NetError::WriteBufferFull => EndCause::LocalError,
            NetError::Resolve => EndCause::DnsFailed,
            NetError::Connect(_) => EndCause::ConnectFailed,
            NetError::Tls(failure) => match failure {
                f if f.is_certificate() => EndCause::CertificateRejected,
                TlsFailure::AlertReceived(description) => EndCause::TlsAlertReceived(*description),
                TlsFailure::Decrypt => EndCause::RecordAuthenticationFailed,
                TlsFailure::Config(_) => EndCause::LocalError,
                _ => EndCause::TlsProtocolError,
            },
            NetError::Handshake(_) => EndCause::WebSocketUpgradeRefused,
            NetError::Eof => EndCause::Eof,
            NetError::TlsNoCloseNotify => EndCause::EofWithoutCloseNotify,
            NetError::Closed { code } => EndCause::WebSocketClose(*code),
            NetError::FrameTooLarge { .. } => EndCause::FrameTooLarge,
            NetError::Protocol(_) => EndCause::WebSocketProtocolError,
            NetError::Io(_) => EndCause::IoError,
        }
    }

    /// The slot of this cause in a [`CauseCounts`] table.
    pub fn slot(self) -> usize {
        match self {
            EndCause::CertificateRejected => 0,
            EndCause::RecordAuthenticationFailed => 1,
            EndCause::TlsProtocolError => 2,
            EndCause::EofWithoutCloseNotify => 3,
            EndCause::Eof => 4,
            EndCause::Stall => 5,
            EndCause::ChecksumPolicy => 6,
            EndCause::LocalStop => 7,
            EndCause::ConnectFailed => 8,
            EndCause::ConnectTimeout => 9,
            EndCause::DnsFailed => 10,
            EndCause::WebSocketUpgradeRefused => 11,
            EndCause::WebSocketProtocolError => 12,
            EndCause::FrameTooLarge => 13,
            EndCause::IoError => 14,
            EndCause::SubscribeRefused => 15,
            EndCause::TokenFailed => 16,
            EndCause::LocalError => 17,
            EndCause::TlsAlertReceived(description) => {
                let named = alert::NAMED.iter().position(|(d, _)| *d == description);
                ALERT_BASE + named.unwrap_or(ALERT_SLOTS - 1)
            }
            EndCause::WebSocketClose(None) => CLOSE_BASE + CLOSE_CODES.len(),
            EndCause::WebSocketClose(Some(code)) => {
                let known = CLOSE_CODES.iter().position(|c| *c == code);
                CLOSE_BASE + known.unwrap_or(CLOSE_SLOTS - 1)
            }
        }
    }

    /// The stable snake_case name of this cause (the JSON key).
    pub fn name(self) -> &'static str {
        CAUSE_NAMES[self.slot()]
    }

    /// Whether the server's identity was refused: loud, and never retried faster than the
    /// backoff.
    pub fn is_certificate(self) -> bool {
        self == EndCause::CertificateRejected
    }
}

/// One connection's ends by cause, as the monitor thread logs them (the trading link's travel in
/// [`crate::CoreStats::order_link_causes`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EndCauses {
    pub disconnects: CauseCounts,
    pub connect_failures: CauseCounts,
}

/// Counts by [`EndCause`]; `Copy` and fixed-size, so it travels in the core's stats snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CauseCounts {
    counts: [u64; CAUSE_SLOTS],
}

impl Default for CauseCounts {
    fn default() -> CauseCounts {
        CauseCounts {
            counts: [0; CAUSE_SLOTS],
        }
    }
}

impl CauseCounts {
    #[inline]
    pub fn add(&mut self, cause: EndCause) {
        self.counts[cause.slot()] += 1;
    }

    pub fn get(&self, cause: EndCause) -> u64 {
        self.counts[cause.slot()]
    }

    /// The count of the slot named `name` (0 for an unknown name).
    pub fn by_name(&self, name: &str) -> u64 {
        CAUSE_NAMES
            .iter()
            .position(|n| *n == name)
            .map_or(0, |i| self.counts[i])
    }

    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Every cause counted at least once, with its name, in slot order.
    pub fn named(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        CAUSE_NAMES
            .iter()
            .zip(self.counts.iter())
            .filter(|(_, n)| **n > 0)
            .map(|(name, n)| (*name, *n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_and_names_line_up() {
        for (i, (_, name)) in alert::NAMED.iter().enumerate() {
            assert_eq!(CAUSE_NAMES[ALERT_BASE + i], format!("tls_alert_{name}"));
        }
        for (i, code) in CLOSE_CODES.iter().enumerate() {
            assert_eq!(
                CAUSE_NAMES[CLOSE_BASE + i],
                format!("websocket_close_{code}")
            );
        }
        let mut names = CAUSE_NAMES.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), CAUSE_SLOTS, "names are unique");
    }

    #[test]
    fn every_net_error_has_its_cause() {
        use std::io::ErrorKind;
        let cases = [
            (
                NetError::Tls(TlsFailure::UntrustedCertificate),
                "certificate_rejected",
            ),
            (
                NetError::Tls(TlsFailure::CertificateExpired),
                "certificate_rejected",
            ),
            (
                NetError::Tls(TlsFailure::AlertReceived(20)),
                "tls_alert_bad_record_mac",
            ),
            (
                NetError::Tls(TlsFailure::AlertReceived(200)),
                "tls_alert_other",
            ),
            (
                NetError::Tls(TlsFailure::Decrypt),
                "record_authentication_failed",
            ),
            (
                NetError::Tls(TlsFailure::UnexpectedMessage),
                "tls_protocol_error",
            ),
            (NetError::Tls(TlsFailure::DecodeError), "tls_protocol_error"),
            (
                NetError::Closed { code: Some(1001) },
                "websocket_close_1001",
            ),
            (
                NetError::Closed { code: Some(4000) },
                "websocket_close_other",
            ),
            (NetError::Closed { code: None }, "websocket_close_no_code"),
            (NetError::TlsNoCloseNotify, "eof_without_close_notify"),
            (NetError::Eof, "eof"),
            (
                NetError::Connect(ErrorKind::ConnectionRefused),
                "connect_failed",
            ),
            (NetError::Resolve, "dns_failed"),
            (
                NetError::FrameTooLarge { len: 2, max: 1 },
                "frame_too_large",
            ),
            (
                NetError::Protocol("binary frame"),
                "websocket_protocol_error",
            ),
            (NetError::Io(ErrorKind::ConnectionReset), "io_error"),
            (NetError::WriteBufferFull, "local_error"),
        ];
        let mut counts = CauseCounts::default();
        for (error, name) in cases {
            assert_eq!(EndCause::of(&error).name(), name, "{error:?}");
            counts.add(EndCause::of(&error));
        }
        assert_eq!(counts.total(), 18);
        assert_eq!(counts.by_name("certificate_rejected"), 2);
        assert_eq!(counts.named().count(), 16);
    }
}
