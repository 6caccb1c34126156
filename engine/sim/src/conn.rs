//! One client connection of the venue: the non-blocking socket (plain or TLS), the WebSocket
//! handshake and session, and the client's subscriptions.
//!
//! Owns the stream and what the client subscribed to (on the authenticated endpoint, its
//! trading session). Invariants: every socket operation is
//! non-blocking (the venue thread serves all connections and the market in one loop); a write
//! that cannot complete stays queued in tungstenite's bounded buffer, and a client whose buffer
//! fills is disconnected rather than allowed to grow memory; the `status` frame is the first
//! frame of every session. It never touches the market: the venue loop decides what to send.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Instant;

use rustls::{ServerConnection, StreamOwned};
use tungstenite::handshake::server::{ErrorResponse, Request, Response, ServerHandshake};
use tungstenite::handshake::{HandshakeError, MidHandshake};
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tungstenite::{Error as WsError, Message, Utf8Bytes, WebSocket};

use super::trading::session::AuthSession;

/// Kraken's v2 public endpoint path (`wss://ws.kraken.com/v2`, PROTOCOL.md §1.1).
pub const ENDPOINT_PATH: &str = "/v2";
/// Requests read per connection per loop iteration (keeps one iteration bounded).
const READS_PER_ITERATION: usize = 64;

/// Plain TCP or TLS over TCP.
#[derive(Debug)]
pub enum VenueStream {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ServerConnection, TcpStream>>),
}

impl VenueStream {
    pub fn tcp(&self) -> &TcpStream {
        match self {
            VenueStream::Plain(s) => s,
            VenueStream::Tls(s) => &s.sock,
        }
    }
}

impl Read for VenueStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            VenueStream::Plain(s) => s.read(buf),
            VenueStream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for VenueStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            VenueStream::Plain(s) => s.write(buf),
            VenueStream::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            VenueStream::Plain(s) => s.flush(),
            VenueStream::Tls(s) => s.flush(),
        }
    }
}

/// The handshake callback: only the `/v2` endpoint exists (a v1 client gets 404, as a
/// misconfigured URL should).
pub type PathCheck = fn(&Request, Response) -> Result<Response, ErrorResponse>;

// The signature is fixed by tungstenite's `Callback` trait.
#[allow(clippy::result_large_err)]
fn check_path(req: &Request, resp: Response) -> Result<Response, ErrorResponse> {
    let path = req.uri().path();
    if path == ENDPOINT_PATH || path == "/v2/" {
        Ok(resp)
    } else {
        let mut err = ErrorResponse::new(Some(format!("no endpoint at {path}")));
        *err.status_mut() = tungstenite::http::StatusCode::NOT_FOUND;
        Err(err)
    }
}

enum Session {
    Handshaking(Box<MidHandshake<ServerHandshake<VenueStream, PathCheck>>>),
    Open(Box<WebSocket<VenueStream>>),
    Closed,
}

/// How a ticker subscription is triggered (PROTOCOL.md §1.6, `event_trigger`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TickerTrigger {
    Trades,
    Bbo,
}

/// What progressing a connection found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Still handshaking.
    Pending,
    /// The handshake just completed: send `status` now.
    JustOpened,
    /// Open as before.
    Open,
    /// Gone (closed by the client, an error or a failed handshake).
    Closed { handshake_failed: bool },
}

/// Result of queueing a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    Queued,
    /// The write buffer is full: the client is not reading.
    Slow,
    Closed,
}

/// One client; see the module docs.
pub struct Connection {
    /// The venue's own number for the connection (1, 2, ...).
    pub number: u64,
    /// `connection_id` in its `status` frame.
    pub connection_id: u64,
    session: Session,
    /// `progress()` has reported the session open (so `status` went out exactly once).
    announced: bool,
    started: Instant,
    pub last_sent: Instant,
    /// Book subscriptions: (symbol index, depth).
    pub books: Vec<(usize, u16)>,
    pub trades: Vec<usize>,
    pub tickers: Vec<(usize, TickerTrigger)>,
    pub instrument: bool,
    /// The trading session of a connection accepted on the authenticated listener.
    pub auth: Option<Box<AuthSession>>,
    /// Text frames queued on this connection so far (the last one's sequence number).
    pub text_frames_queued: u64,
    /// Text frames already handed to [`super::send_stamps::SendStamps`].
    pub text_frames_stamped: u64,
}

impl Connection {
    /// Starts the WebSocket handshake on an accepted, non-blocking stream.
    pub fn start(
        number: u64,
        connection_id: u64,
        stream: VenueStream,
        config: WebSocketConfig,
        now: Instant,
    ) -> Connection {
        let session = wrap_handshake(tungstenite::accept_hdr_with_config(
            stream,
            check_path as PathCheck,
            Some(config),
        ));
        Connection {
            number,
            connection_id,
            session,
            announced: false,
            started: now,
            last_sent: now,
            books: Vec::new(),
            trades: Vec::new(),
            tickers: Vec::new(),
            instrument: false,
            auth: None,
            text_frames_queued: 0,
            text_frames_stamped: 0,
        }
    }

    pub fn is_open(&self) -> bool {
        matches!(self.session, Session::Open(_))
    }

    pub fn is_closed(&self) -> bool {
        matches!(self.session, Session::Closed)
    }

    pub fn age(&self, now: Instant) -> std::time::Duration {
        now.saturating_duration_since(self.started)
    }

    pub fn has_subscriptions(&self) -> bool {
        !self.books.is_empty()
            || !self.trades.is_empty()
            || !self.tickers.is_empty()
            || self.instrument
            || self.auth.as_ref().is_some_and(|a| a.has_subscriptions())
    }

    /// Drives the handshake if it is in progress.
    pub fn progress(&mut self) -> Progress {
        match std::mem::replace(&mut self.session, Session::Closed) {
            Session::Handshaking(mid) => {
                self.session = wrap_handshake((*mid).handshake());
                match self.session {
                    Session::Handshaking(_) => Progress::Pending,
                    Session::Open(_) => {
                        self.announced = true;
                        Progress::JustOpened
                    }
                    Session::Closed => Progress::Closed {
                        handshake_failed: true,
                    },
                }
            }
            Session::Open(ws) => {
                self.session = Session::Open(ws);
                if self.announced {
                    Progress::Open
                } else {
                    // The handshake completed inside `start()`.
                    self.announced = true;
                    Progress::JustOpened
                }
            }
            Session::Closed => Progress::Closed {
                handshake_failed: false,
            },
        }
    }

    /// Reads the client's pending text frames into `out` (bounded per call). Returns `false`
    /// once the connection is gone.
    pub fn read_requests(&mut self, out: &mut Vec<String>) -> bool {
        let Session::Open(ws) = &mut self.session else {
            return !self.is_closed();
        };
        for _ in 0..READS_PER_ITERATION {
            match ws.read() {
                Ok(Message::Text(t)) => out.push(t.as_str().to_owned()),
                Ok(_) => {}
                Err(WsError::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => return true,
                Err(_) => {
                    self.session = Session::Closed;
                    return false;
                }
            }
        }
        true
    }

    /// Queues one text frame.
    pub fn send(&mut self, text: &Utf8Bytes, now: Instant) -> Sent {
        let Session::Open(ws) = &mut self.session else {
            return Sent::Closed;
        };
        match ws.write(Message::Text(text.clone())) {
            Ok(()) => {}
            Err(WsError::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(WsError::WriteBufferFull(_)) => {
                self.cut();
                return Sent::Slow;
            }
            Err(_) => {
                self.session = Session::Closed;
                return Sent::Closed;
            }
        }
        self.last_sent = now;
        self.text_frames_queued += 1;
        Sent::Queued
    }

    /// Pushes queued bytes towards the socket. Returns `false` once the connection is gone.
    pub fn flush(&mut self) -> bool {
        let Session::Open(ws) = &mut self.session else {
            return !self.is_closed();
        };
        match ws.flush() {
            Ok(()) => true,
            Err(WsError::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => true,
            Err(_) => {
                self.session = Session::Closed;
                false
            }
        }
    }

    /// Closes the TCP connection at once: no WebSocket close, no TLS close_notify.
    pub fn cut(&mut self) {
        if let Some(tcp) = self.tcp() {
            let _ = tcp.shutdown(Shutdown::Both);
        }
        self.session = Session::Closed;
    }

    /// Sends a WebSocket close (1001 going away), then closes TCP *without* TLS close_notify.
    pub fn close_without_notify(&mut self) {
        if let Session::Open(ws) = &mut self.session {
            let _ = ws.close(Some(CloseFrame {
                code: CloseCode::Away,
                reason: "".into(),
            }));
            let _ = ws.flush();
        }
        self.cut();
    }

    /// Cuts the connection in the middle of a record: what is queued goes out as far as the
    /// socket takes it, then one more heartbeat frame of which only the first part of its TLS
    /// record (plain: of the frame) is written, then TCP closes without close_notify. Best effort
    /// on a non-blocking socket.
    pub fn truncate_and_cut(&mut self) {
        if let Session::Open(ws) = &mut self.session {
            let _ = ws.flush();
            let heartbeat = super::frames::HEARTBEAT.as_bytes();
            let mut frame = vec![0x81, heartbeat.len() as u8];
            frame.extend_from_slice(heartbeat);
            let mut wire = Vec::new();
            match ws.get_mut() {
                VenueStream::Tls(s) => {
                    // Whatever rustls still holds, then the new record: all but its last bytes.
                    if s.conn.writer().write_all(&frame).is_ok() {
                        while s.conn.wants_write() {
                            if s.conn.write_tls(&mut wire).is_err() {
                                break;
                            }
                        }
                    }
                    wire.truncate(wire.len().saturating_sub(7));
                    let _ = s.sock.write(&wire);
                }
                VenueStream::Plain(tcp) => {
                    let _ = tcp.write(&frame[..frame.len() / 2]);
                }
            }
        }
        self.cut();
    }

    /// A clean close: WebSocket close frame, then TLS close_notify, then TCP shutdown. Best
    /// effort on a non-blocking socket (what does not fit the socket buffer is dropped).
    pub fn close_gracefully(&mut self) {
        if let Session::Open(ws) = &mut self.session {
            let _ = ws.close(Some(CloseFrame {
                code: CloseCode::Away,
                reason: "venue stopping".into(),
            }));
            let _ = ws.flush();
            if let VenueStream::Tls(s) = ws.get_mut() {
                s.conn.send_close_notify();
                let _ = s.flush();
            }
        }
        self.cut();
    }

    fn tcp(&self) -> Option<&TcpStream> {
        match &self.session {
            Session::Handshaking(mid) => Some(mid.get_ref().get_ref().tcp()),
            Session::Open(ws) => Some(ws.get_ref().tcp()),
            Session::Closed => None,
        }
    }
}

fn wrap_handshake(
    result: Result<WebSocket<VenueStream>, HandshakeError<ServerHandshake<VenueStream, PathCheck>>>,
) -> Session {
    match result {
        Ok(ws) => Session::Open(Box::new(ws)),
        Err(HandshakeError::Interrupted(mid)) => Session::Handshaking(Box::new(mid)),
        Err(HandshakeError::Failure(_)) => Session::Closed,
    }
}
