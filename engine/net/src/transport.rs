//! What the runtime needs of a connection to the exchange, as a trait: [`Transport`]. The real
//! one is [`WsTransport`] (mio TCP → TLS 1.3 → WebSocket, one [`Connection`] at a time, opened by
//! a connector thread over a [`ConnectPlan`] and handed over open; `connector.rs`); tests drive
//! the runtime with [`crate::memory::MemoryTransport`] on virtual time.
//!
//! Invariants of every implementation: no method blocks or sleeps; once a connection is open,
//! reading, sending and flushing allocate nothing; any `Err` ends the current connection (the
//! runtime then calls [`Transport::close`] and schedules the next attempt itself: a transport
//! never reconnects or waits on its own). Time is the caller's: a transport reads no clock.

use crate::buffers::ConnectionBuffers;
use crate::connect_plan::ConnectPlan;
use crate::connection::{ConnLimits, Connection, FlushState, HandshakeState, ReadReport};
use crate::connector::{Answer, Connector, Request};
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

/// The exchange over mio TCP, TLS 1.3 and WebSocket; see the module docs. Connections are
/// opened by a connector thread of its own (name resolution, TCP connect, TLS handshake,
/// WebSocket upgrade) and handed over open; finished ones go back to it with their buffers, so
/// the calling thread (the engine core) allocates nothing across a reconnect.
pub struct WsTransport {
    connector: Connector,
    conn: Option<Connection>,
    /// The number of the latest attempt the core asked for.
    attempt: u64,
    /// That attempt is running on the connector (asked, not yet answered or cancelled).
    waiting: bool,
}

impl WsTransport {
    /// Resolves the endpoint, prepares the TLS configuration, allocates one set of connection
    /// buffers and starts the connector thread: start-up only (DNS may block). The thread
    /// inherits the calling thread's CPU affinity and scheduling policy: build the transport
    /// before pinning the engine core (`kspin run` does), so the connector never competes with
    /// the spinning core for its CPU.
    pub fn new(
        endpoint: &Endpoint,
        tls: &TlsSettings,
        limits: ConnLimits,
    ) -> Result<WsTransport, NetError> {
        let plan = ConnectPlan::new(endpoint, tls)?;
        let buffers = ConnectionBuffers::new(limits, endpoint.tls)?;
        Ok(WsTransport {
            connector: Connector::spawn(plan, buffers)?,
            conn: None,
            attempt: 0,
            waiting: false,
        })
    }

    /// The open connection, if any.
    pub fn connection(&mut self) -> Option<&mut Connection> {
        self.conn.as_mut()
    }

    fn open(&mut self) -> Result<&mut Connection, NetError> {
        self.conn.as_mut().ok_or(NetError::State("no connection"))
    }

    /// Gives a finished connection back to the connector (dropped here only if its queue is
    /// full, which a core that waits for each answer never causes).
    fn recycle(&mut self, conn: Connection) {
        if let Err(Request::Recycle(conn)) = self.connector.request(Request::Recycle(conn)) {
            drop(conn);
        }
    }
}

impl Transport for WsTransport {
    fn connect(&mut self) -> Result<(), NetError> {
        self.close();
        self.attempt += 1;
        if self
            .connector
            .request(Request::Connect(self.attempt))
            .is_err()
        {
            return Err(NetError::State("connector queue full"));
        }
        self.waiting = true;
        Ok(())
    }

    fn poll_handshake(&mut self) -> Result<HandshakeState, NetError> {
        if self.conn.is_some() {
            return Ok(HandshakeState::Open);
        }
        if !self.waiting {
            return Err(NetError::State("no connection"));
        }
        while let Some(answer) = self.connector.answer() {
            match answer {
                Answer::Opened(n, conn) if n == self.attempt => {
                    self.waiting = false;
                    self.conn = Some(conn);
                    return Ok(HandshakeState::Open);
                }
                Answer::Failed(n, error) if n == self.attempt => {
                    self.waiting = false;
                    return Err(error);
                }
                Answer::Opened(_, stale) => self.recycle(stale),
                Answer::Failed(..) => {}
            }
        }
        Ok(HandshakeState::InProgress)
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
            self.recycle(conn);
        } else if self.waiting {
            self.waiting = false;
            // Full queue: the next Connect abandons the attempt anyway.
            let _ = self.connector.request(Request::Cancel(self.attempt));
        }
    }
}
