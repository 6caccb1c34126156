//! What the runtime needs of a connection to the exchange, as a trait: [`Transport`]. The real
//! one is [`WsTransport`] (mio TCP → TLS 1.3 → WebSocket, one [`Connection`] at a time over a
//! [`ConnectPlan`]); tests drive the runtime with [`crate::memory::MemoryTransport`] on virtual
//! time.
//!
//! Invariants of every implementation: no method blocks or sleeps; once a connection is open,
//! reading, sending and flushing allocate nothing; any `Err` ends the current connection (the
//! runtime then calls [`Transport::close`] and schedules the next attempt itself: a transport
//! never reconnects or waits on its own). Time is the caller's: a transport reads no clock.

use crate::connect_plan::ConnectPlan;
use crate::connection::{ConnLimits, Connection, FlushState, HandshakeState, ReadReport};
use crate::endpoint::Endpoint;
use crate::error::NetError;
use crate::tls_config::TlsSettings;

/// One connection to the exchange at a time; see the module docs.
pub trait Transport {
    /// Starts a new connection attempt (ending any previous connection first). Never blocks:
    /// the handshake goes on in [`Transport::poll_handshake`].
    fn connect(&mut self) -> Result<(), NetError>;
    /// Drives the handshake as far as it goes now.
    fn poll_handshake(&mut self) -> Result<HandshakeState, NetError>;
    /// Hands every complete text message available now to `on_text` (payload borrowed for the
    /// call only).
    fn read_frames(&mut self, on_text: impl FnMut(&[u8])) -> Result<ReadReport, NetError>;
    /// Queues one text message.
    fn send_text(&mut self, text: &[u8]) -> Result<(), NetError>;
    /// Writes what is queued, as far as the socket takes it now.
    fn flush(&mut self) -> Result<FlushState, NetError>;
    /// Ends the current connection, if any: orderly when open, abandoned when the attempt never
    /// opened (the next attempt then tries another address).
    fn close(&mut self);
}

/// The exchange over mio TCP, TLS 1.3 and WebSocket; see the module docs.
pub struct WsTransport {
    plan: ConnectPlan,
    limits: ConnLimits,
    conn: Option<Connection>,
    opened: bool,
}

impl WsTransport {
    /// Resolves the endpoint and prepares the TLS configuration: start-up only (DNS may block).
    pub fn new(
        endpoint: &Endpoint,
        tls: &TlsSettings,
        limits: ConnLimits,
    ) -> Result<WsTransport, NetError> {
        Ok(WsTransport {
            plan: ConnectPlan::new(endpoint, tls)?,
            limits,
            conn: None,
            opened: false,
        })
    }

    /// The open connection, if any.
    pub fn connection(&mut self) -> Option<&mut Connection> {
        self.conn.as_mut()
    }

    fn open(&mut self) -> Result<&mut Connection, NetError> {
        self.conn.as_mut().ok_or(NetError::State("no connection"))
    }
}

impl Transport for WsTransport {
    fn connect(&mut self) -> Result<(), NetError> {
        self.close();
        self.opened = false;
        let conn = Connection::connect_planned(&mut self.plan, self.limits);
        match conn {
            Ok(conn) => {
                self.conn = Some(conn);
                Ok(())
            }
            Err(e) => {
                self.plan.attempt_failed();
                Err(e)
            }
        }
    }

    fn poll_handshake(&mut self) -> Result<HandshakeState, NetError> {
        let state = self.open()?.poll_handshake()?;
        if state == HandshakeState::Open && !self.opened {
            self.opened = true;
            self.plan.attempt_succeeded();
        }
        Ok(state)
    }

    #[inline]
    fn read_frames(&mut self, on_text: impl FnMut(&[u8])) -> Result<ReadReport, NetError> {
        self.open()?.read_frames(on_text)
    }

    #[inline]
    fn send_text(&mut self, text: &[u8]) -> Result<(), NetError> {
        self.open()?.send_text(text)
    }

    #[inline]
    fn flush(&mut self) -> Result<FlushState, NetError> {
        self.open()?.flush()
    }

    fn close(&mut self) {
        if let Some(mut conn) = self.conn.take() {
            conn.close();
            if !self.opened {
                self.plan.attempt_failed();
            }
        }
    }
}
