//! [`ConnectionBuffers`]: every large buffer one connection uses, allocated once and moved from
//! one connection to the next, so that a reconnect neither allocates nor zero-fills them again
//! (about 1.2 MiB with the default [`ConnLimits`]).
//!
//! Owns the socket receive buffer, the WebSocket message assembly buffer, the TLS join buffer
//! for split post-handshake messages, the two outgoing byte queues' storage and the spill buffer
//! for WebSocket bytes that arrive with the HTTP 101 response. Invariants: sizes follow the
//! [`ConnLimits`] and the endpoint's scheme they were made for ([`ConnectionBuffers::fit`]); the
//! contents are never trusted: every user tracks its own fill level and reads only what it
//! wrote since it took the buffer. Never grows a buffer and never touches the network.

use super::connection::ConnLimits;
use super::error::NetError;
use super::tls_record::{JOIN_BUFFER_LEN, MAX_RECORD};
use super::ws_decoder::MAX_HEADER_LEN;

/// Room kept for WebSocket bytes that arrive together with the HTTP 101 response (a few frames).
const EARLY_CAPACITY: usize = 4 * 1024;

/// The buffers of one connection; see the module docs.
pub struct ConnectionBuffers {
    pub(crate) sock_in: Box<[u8]>,
    pub(crate) message: Box<[u8]>,
    /// TLS only (empty on plain connections).
    pub(crate) join: Box<[u8]>,
    pub(crate) ws_out: Box<[u8]>,
    /// TLS only (empty on plain connections).
    pub(crate) tls_out: Box<[u8]>,
    pub(crate) early: Vec<u8>,
    tls: bool,
    limits: ConnLimits,
}

impl ConnectionBuffers {
    /// Allocates (and zero-fills) the buffers for `limits` on a `tls` or plain connection, after
    /// checking the limits. Start-up only.
    pub fn new(limits: ConnLimits, tls: bool) -> Result<ConnectionBuffers, NetError> {
        check_limits(limits, tls)?;
        let (in_len, tls_len, join_len) = if tls {
            (limits.tls_buf, limits.tls_buf, JOIN_BUFFER_LEN)
        } else {
            (limits.read_buf, 0, 0)
        };
        Ok(ConnectionBuffers {
            sock_in: vec![0; in_len].into_boxed_slice(),
            message: vec![0; limits.max_frame_len].into_boxed_slice(),
            join: vec![0; join_len].into_boxed_slice(),
            ws_out: vec![0; limits.write_buf].into_boxed_slice(),
            tls_out: vec![0; tls_len].into_boxed_slice(),
            early: Vec::with_capacity(EARLY_CAPACITY),
            tls,
            limits,
        })
    }

    /// Whether these buffers were made for `limits` on a `tls` (or plain) connection.
    pub fn fit(&self, limits: ConnLimits, tls: bool) -> bool {
        self.limits == limits && self.tls == tls
    }

    /// Total bytes held.
    pub fn bytes(&self) -> usize {
        self.sock_in.len()
            + self.message.len()
            + self.join.len()
            + self.ws_out.len()
            + self.tls_out.len()
            + self.early.capacity()
    }

    /// Reassembles the buffers a connection gave back.
    pub(crate) fn reassemble(
        parts: BufferParts,
        limits: ConnLimits,
        tls: bool,
    ) -> ConnectionBuffers {
        let BufferParts {
            sock_in,
            message,
            join,
            ws_out,
            tls_out,
            mut early,
        } = parts;
        early.clear();
        ConnectionBuffers {
            sock_in,
            message,
            join,
            ws_out,
            tls_out,
            early,
            tls,
            limits,
        }
    }

    pub(crate) fn limits(&self) -> ConnLimits {
        self.limits
    }

    pub(crate) fn tls(&self) -> bool {
        self.tls
    }
}

/// The buffers taken apart, as a connection holds them.
pub(crate) struct BufferParts {
    pub(crate) sock_in: Box<[u8]>,
    pub(crate) message: Box<[u8]>,
    pub(crate) join: Box<[u8]>,
    pub(crate) ws_out: Box<[u8]>,
    pub(crate) tls_out: Box<[u8]>,
    pub(crate) early: Vec<u8>,
}

/// The limits every connection needs.
fn check_limits(limits: ConnLimits, tls: bool) -> Result<(), NetError> {
    if limits.max_frame_len == 0 || limits.read_buf == 0 {
        return Err(NetError::Limits("max_frame_len and read_buf must be > 0"));
    }
    if limits.write_buf < MAX_HEADER_LEN + 2 {
        return Err(NetError::Limits("write_buf too small for a close frame"));
    }
    if tls && limits.tls_buf < MAX_RECORD {
        return Err(NetError::Limits(
            "tls_buf must hold one 16645-byte TLS record",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_the_limits_and_the_scheme() {
        let limits = ConnLimits::default();
        let tls = ConnectionBuffers::new(limits, true).unwrap();
        assert_eq!(
            tls.bytes(),
            (1 << 20) + 3 * 64 * 1024 + JOIN_BUFFER_LEN + EARLY_CAPACITY
        );
        assert!(tls.fit(limits, true) && !tls.fit(limits, false));
        let plain = ConnectionBuffers::new(limits, false).unwrap();
        assert_eq!(plain.bytes(), (1 << 20) + 2 * 64 * 1024 + EARLY_CAPACITY);
        let small = ConnLimits {
            tls_buf: MAX_RECORD - 1,
            ..limits
        };
        assert!(matches!(
            ConnectionBuffers::new(small, true),
            Err(NetError::Limits(_))
        ));
        assert!(ConnectionBuffers::new(small, false).is_ok());
    }
}
