//! One exchange connection: non-blocking TCP (mio), TLS 1.3 (rustls handshake, our record layer),
//! WebSocket (tungstenite handshake and header codec, our payload handling), busy-polled.
//!
//! Owns the socket, the TLS and WebSocket state and every buffer: a [`ConnectionBuffers`] set
//! sized from [`ConnLimits`], handed in by [`Connection::connect_with`] (recycled from the previous
//! connection) and given back by [`Connection::into_buffers`]. Invariants: no call blocks or sleeps (the socket is
//! non-blocking; the only syscalls after connect are `read`, `write`, `getsockopt` while
//! connecting and `shutdown`); once `Open`, `read_frames` / `send_text` / `flush` never allocate
//! (proved by `engine/net/tests/net_zero_alloc.rs`); every failure is a typed [`NetError`] after which
//! the connection is dead (`is_open() == false`) and the runtime reconnects.
//!
//! Read path, TLS: socket → `sock_in` (ciphertext) → records decrypted in place → plaintext fed
//! to the frame decoder → `on_text(&payload)` borrowed from `sock_in` when the frame lies inside
//! one record, else from the decoder's assembly buffer. Plain: socket → `sock_in` → decoder.
//! Write path: frames are masked into `ws_out`; on TLS, `flush` seals `ws_out` into records in
//! `tls_out` and writes those; on plain it writes `ws_out` directly.

use std::io;
use std::net::Shutdown;
use std::sync::Arc;

use mio::net::TcpStream;
use rustls::client::UnbufferedClientConnection;
use rustls::unbuffered::{ConnectionState, EncodeError, UnbufferedStatus};

use super::buffers::{BufferParts, ConnectionBuffers};
use super::byte_queue::ByteQueue;
use super::connect_plan::ConnectPlan;
use super::endpoint::Endpoint;
use super::error::{tls_failure, NetError, TlsFailure};
use super::pump::{queue_frame, read_some, seal_pending, write_queue, Input, ReadResult};
use super::tls_config::TlsSettings;
use super::tls_record::{RecordLayer, TlsCounters, JOIN_BUFFER_LEN};
use super::ws_decoder::{FrameDecoder, WsEvent};
use super::ws_encoder::{FrameEncoder, SendKind};
use super::ws_handshake::WsHandshake;

/// Buffer sizes and the frame limit, fixed at connect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnLimits {
    /// Largest text message (after joining fragments) we accept; larger → `FrameTooLarge`.
    pub max_frame_len: usize,
    /// Socket read buffer for plain connections (TLS reads use `tls_buf`).
    pub read_buf: usize,
    /// Outgoing WebSocket bytes (queued frames) not yet written / sealed.
    pub write_buf: usize,
    /// Each of the TLS receive and send buffers; at least one maximal record
    /// (16 KiB + 261 bytes, RFC 8446 §5.2), and enough for the server's handshake flight.
    pub tls_buf: usize,
}

impl Default for ConnLimits {
    /// Sized for Kraken v2: book snapshots of depth 1000 are ~100 KB, so 1 MiB of headroom.
    fn default() -> ConnLimits {
        ConnLimits {
            max_frame_len: 1 << 20,
            read_buf: 64 * 1024,
            write_buf: 64 * 1024,
            tls_buf: 64 * 1024,
        }
    }
}

/// Progress of [`Connection::poll_handshake`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandshakeState {
    /// TCP connect, TLS or WebSocket handshake still running: call again.
    InProgress,
    /// Ready for `read_frames` / `send_text`.
    Open,
}

/// What one [`Connection::read_frames`] call did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadReport {
    /// Complete text messages handed to `on_text`.
    pub frames: u64,
    /// Bytes read from the socket.
    pub bytes: usize,
}

/// Result of [`Connection::flush`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlushState {
    /// Everything queued has been written to the socket.
    Done,
    /// The socket is full; call `flush` again.
    Pending,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Connecting,
    TlsHandshake,
    WsHandshake,
    Open,
    Closed,
}

/// What a connection sends before it shuts down its side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Goodbye {
    /// WebSocket output still queued, then TLS close_notify.
    CloseNotify,
    /// A fatal TLS alert with this description, and nothing else.
    Alert(u8),
    Nothing,
}

pub(super) enum Tls {
    Handshaking(Box<UnbufferedClientConnection>),
    Established(Box<RecordLayer>),
    /// Only while switching from one to the other.
    Switching,
}

/// A busy-polled WebSocket client connection. See the module docs.
pub struct Connection {
    stream: TcpStream,
    phase: Phase,
    tls: Option<Tls>,
    /// The peer ended the stream (TCP EOF or TLS close_notify); reported after the bytes that
    /// preceded it have been delivered.
    ended: Option<NetError>,
    ws_handshake: Option<WsHandshake>,
    /// WebSocket bytes that arrived together with the HTTP 101 response.
    early: Vec<u8>,
    decoder: FrameDecoder,
    encoder: FrameEncoder,
    /// Plain: socket reads. TLS: ciphertext, records decrypted in place.
    sock_in: Box<[u8]>,
    sock_in_len: usize,
    /// During the TLS handshake: the front of `sock_in` shown to rustls, one whole record at a
    /// time, so that at the hand-over rustls has seen nothing after the record that completed
    /// the handshake (and any byte it still holds is a partial message: refused).
    tls_visible: usize,
    ws_out: ByteQueue,
    tls_out: ByteQueue,
    /// The TLS join buffer until the record layer takes it at the hand-over.
    join_buf: Option<Box<[u8]>>,
    /// What the buffers were made for (they go back to the next connection).
    limits: ConnLimits,
    scheme_tls: bool,
}

impl Connection {
    /// Resolves the host and starts a non-blocking TCP connect; builds the TLS client and every
    /// buffer. DNS resolution (`ToSocketAddrs`) may block: the engine core connects through a
    /// [`crate::WsTransport`] instead, whose connector thread resolves, connects and handshakes.
    pub fn connect(
        endpoint: &Endpoint,
        tls: &TlsSettings,
        limits: ConnLimits,
    ) -> Result<Connection, NetError> {
        let mut plan = ConnectPlan::new(endpoint, tls)?;
        Connection::connect_planned(&mut plan, limits)
    }

    /// Starts a non-blocking TCP connect to the plan's next address with the plan's TLS
    /// configuration, and allocates this connection's buffers.
    pub fn connect_planned(
        plan: &mut ConnectPlan,
        limits: ConnLimits,
    ) -> Result<Connection, NetError> {
        let buffers = ConnectionBuffers::new(limits, plan.endpoint.tls)?;
        Connection::connect_with(plan, buffers).map_err(|(error, _)| error)
    }

    /// Starts a non-blocking TCP connect to the plan's next address (resolving the name first
    /// when every cached address has failed: may block) in recycled `buffers`, which come back
    /// with the error if the attempt cannot start.
    #[allow(clippy::result_large_err)] // the buffers come back by value, never boxed (no allocation)
    pub fn connect_with(
        plan: &mut ConnectPlan,
        mut buffers: ConnectionBuffers,
    ) -> Result<Connection, (NetError, ConnectionBuffers)> {
        if buffers.tls() != plan.endpoint.tls {
            return Err((
                NetError::Limits("buffers made for the other scheme"),
                buffers,
            ));
        }
        let tls_state = match (&plan.config, &plan.server_name) {
            (Some(config), Some(name)) => {
                match UnbufferedClientConnection::new(Arc::clone(config), name.clone()) {
                    Ok(conn) => Some(Tls::Handshaking(Box::new(conn))),
                    Err(e) => return Err((NetError::Tls(tls_failure(&e)), buffers)),
                }
            }
            _ => None,
        };
        let (ws_handshake, request) = match WsHandshake::start(&plan.endpoint) {
            Ok(started) => started,
            Err(e) => return Err((e, buffers)),
        };
        if buffers.ws_out.len() < request.len() {
            // A write_buf smaller than the upgrade request (a test's tiny limit): this one
            // connection gets a larger queue, as it always did.
            buffers.ws_out = vec![0; request.len()].into_boxed_slice();
        }
        let addr = match plan.next_addr() {
            Ok(addr) => addr,
            Err(e) => return Err((e, buffers)),
        };
        let stream = match TcpStream::connect(addr) {
            Ok(stream) => stream,
            Err(e) => return Err((NetError::Connect(e.kind()), buffers)),
        };
        let limits = buffers.limits();
        let scheme_tls = buffers.tls();
        let ConnectionBuffers {
            sock_in,
            message,
            join,
            ws_out,
            tls_out,
            early,
            ..
        } = buffers;
        let mut ws_out = ByteQueue::with_buffer(ws_out);
        if let Some(spare) = ws_out.spare(request.len()) {
            spare[..request.len()].copy_from_slice(&request);
            ws_out.commit(request.len());
        }
        Ok(Connection {
            stream,
            phase: Phase::Connecting,
            tls: tls_state,
            ended: None,
            ws_handshake: Some(ws_handshake),
            early,
            decoder: FrameDecoder::with_buffer(message),
            encoder: FrameEncoder::new(),
            sock_in,
            sock_in_len: 0,
            tls_visible: 0,
            ws_out,
            tls_out: ByteQueue::with_buffer(tls_out),
            join_buf: Some(join),
            limits,
            scheme_tls,
        })
    }

    /// Takes the connection apart and gives back its buffers for the next one (the socket is
    /// closed and the TLS state dropped here: call it off the engine core).
    pub fn into_buffers(self) -> ConnectionBuffers {
        let join = match (self.tls, self.join_buf) {
            (_, Some(join)) => join,
            (Some(Tls::Established(layer)), None) => (*layer).into_join_buffer(),
            // Lost only if the hand-over failed half-way; the next connection gets a new one.
            (_, None) if self.scheme_tls => vec![0; JOIN_BUFFER_LEN].into_boxed_slice(),
            (_, None) => Box::default(),
        };
        ConnectionBuffers::reassemble(
            BufferParts {
                sock_in: self.sock_in,
                message: self.decoder.into_buffer(),
                join,
                ws_out: self.ws_out.into_buffer(),
                tls_out: self.tls_out.into_buffer(),
                early: self.early,
            },
            self.limits,
            self.scheme_tls,
        )
    }

    /// Drives TCP connect → TLS handshake → WebSocket upgrade as far as the socket allows now.
    /// Never blocks. Connect timeouts are the caller's timers.
    pub fn poll_handshake(&mut self) -> Result<HandshakeState, NetError> {
        let result = self.poll_handshake_inner();
        if let Err(e) = result {
            self.end_after(e);
        }
        result
    }

    fn poll_handshake_inner(&mut self) -> Result<HandshakeState, NetError> {
        loop {
            match self.phase {
                Phase::Connecting => {
                    if !self.poll_tcp_connect()? {
                        return Ok(HandshakeState::InProgress);
                    }
                    let _ = self.stream.set_nodelay(true);
                    self.phase = if self.tls.is_some() {
                        Phase::TlsHandshake
                    } else {
                        Phase::WsHandshake
                    };
                }
                Phase::TlsHandshake => {
                    if !self.drive_tls_handshake()? {
                        return Ok(HandshakeState::InProgress);
                    }
                    self.phase = Phase::WsHandshake;
                }
                Phase::WsHandshake => {
                    if !self.drive_ws_handshake()? {
                        return Ok(HandshakeState::InProgress);
                    }
                    self.ws_handshake = None;
                    self.phase = Phase::Open;
                }
                Phase::Open => return Ok(HandshakeState::Open),
                Phase::Closed => return Err(NetError::State("connection closed")),
            }
        }
    }

    /// `true` once the non-blocking connect has completed.
    fn poll_tcp_connect(&mut self) -> Result<bool, NetError> {
        // mio's documented way to learn the outcome of a non-blocking connect: SO_ERROR first,
        // then whether the socket has a peer.
        match self.stream.take_error() {
            Ok(Some(e)) | Err(e) => return Err(NetError::Connect(e.kind())),
            Ok(None) => {}
        }
        match self.stream.peer_addr() {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(false),
            Err(e) => Err(NetError::Connect(e.kind())),
        }
    }

    /// Runs rustls's unbuffered handshake in our buffers; on completion hands the session to our
    /// record layer. Returns `true` when done.
    fn drive_tls_handshake(&mut self) -> Result<bool, NetError> {
        enum Next {
            Again,
            NeedInput,
            Done,
        }
        loop {
            let Some(Tls::Handshaking(conn)) = self.tls.as_mut() else {
                return Err(NetError::State("TLS handshake without TLS state"));
            };
            let UnbufferedStatus { discard, state } =
                conn.process_tls_records(&mut self.sock_in[..self.tls_visible]);
            let next = match state.map_err(|e| NetError::Tls(tls_failure(&e)))? {
                ConnectionState::EncodeTlsData(mut data) => {
                    let out = self.tls_out.spare(0).unwrap_or(&mut []);
                    match data.encode(out) {
                        Ok(n) => {
                            self.tls_out.commit(n);
                            Next::Again
                        }
                        Err(EncodeError::InsufficientSize(_)) => {
                            return Err(NetError::Limits("tls_buf too small for handshake"));
                        }
                        Err(_) => return Err(NetError::Tls(TlsFailure::Handshake)),
                    }
                }
                // The bytes are in `tls_out`; they go out with the next write.
                ConnectionState::TransmitTlsData(data) => {
                    data.done();
                    Next::Again
                }
                ConnectionState::BlockedHandshake => Next::NeedInput,
                ConnectionState::WriteTraffic(_) => Next::Done,
                ConnectionState::ReadTraffic(_) => {
                    return Err(NetError::Protocol("application data before the upgrade"));
                }
                ConnectionState::PeerClosed | ConnectionState::Closed => return Err(NetError::Eof),
                _ => return Err(NetError::Tls(TlsFailure::UnexpectedMessage)),
            };
            self.sock_in.copy_within(discard..self.sock_in_len, 0);
            self.sock_in_len -= discard;
            self.tls_visible -= discard;
            match next {
                Next::Again => {}
                Next::NeedInput => {
                    // Show rustls the next whole record, if one is here already.
                    let unseen = &self.sock_in[self.tls_visible..self.sock_in_len];
                    if let Some(len) = RecordLayer::complete_record_len(unseen)? {
                        self.tls_visible += len;
                        continue;
                    }
                    write_queue(&mut self.stream, &mut self.tls_out)?;
                    if self.sock_in_len == self.sock_in.len() {
                        return Err(NetError::Limits("tls_buf too small for handshake message"));
                    }
                    match read_some(&mut self.stream, &mut self.sock_in[self.sock_in_len..])? {
                        ReadResult::Data(n) => self.sock_in_len += n,
                        ReadResult::WouldBlock => return Ok(false),
                        ReadResult::Eof => return Err(NetError::TlsNoCloseNotify),
                    }
                }
                Next::Done => {
                    // rustls has processed every record it was shown; a byte it still holds
                    // is part of a handshake message that would span the key change (RFC 8446
                    // §5.1: unexpected_message). What follows goes to our record layer.
                    if self.tls_visible != 0 {
                        return Err(NetError::Tls(TlsFailure::UnexpectedMessage));
                    }
                    let Some(Tls::Handshaking(conn)) = self.tls.replace(Tls::Switching) else {
                        return Err(NetError::State("TLS handshake without TLS state"));
                    };
                    let (secrets, kernel) = conn
                        .dangerous_into_kernel_connection()
                        .map_err(|e| NetError::Tls(tls_failure(&e)))?;
                    let join = self
                        .join_buf
                        .take()
                        .ok_or(NetError::State("TLS join buffer missing"))?;
                    let layer = RecordLayer::new(secrets, kernel, join)?;
                    self.tls = Some(Tls::Established(Box::new(layer)));
                    return Ok(true);
                }
            }
        }
    }

    /// Sends the upgrade request and checks the response. Returns `true` when done.
    fn drive_ws_handshake(&mut self) -> Result<bool, NetError> {
        self.write_out()?;
        let Some(handshake) = self.ws_handshake.as_mut() else {
            return Err(NetError::State("no WebSocket handshake"));
        };
        let mut head_len = None;
        let mut sink = |bytes: &[u8]| {
            if let Some(n) = handshake.receive(bytes)? {
                head_len = Some(n);
            }
            Ok(())
        };
        let mut input = Input {
            stream: &mut self.stream,
            sock_in: &mut self.sock_in,
            sock_in_len: &mut self.sock_in_len,
            tls: self.tls.as_mut(),
            ended: &mut self.ended,
        };
        input.read_available(&mut sink)?;
        let Some(head_len) = head_len else {
            return match self.ended {
                Some(end) => Err(end),
                None => Ok(false),
            };
        };
        self.early.extend_from_slice(handshake.leftover(head_len));
        Ok(true)
    }

    /// Reads everything the socket has now and calls `on_text` for each complete text message
    /// (payload borrowed, valid only during the call). Pings are answered and the pongs written
    /// before returning; a close frame is answered and reported as `Err(Closed)`. Stops early
    /// after a short read (the kernel buffer was drained at that instant). Never allocates.
    pub fn read_frames(&mut self, mut on_text: impl FnMut(&[u8])) -> Result<ReadReport, NetError> {
        if self.phase != Phase::Open {
            return Err(NetError::State("read_frames before Open or after close"));
        }
        let result = self.read_frames_inner(&mut on_text);
        if let Err(e) = result {
            // A peer's close: our echo is queued; it goes out with the TLS close_notify.
            self.end_after(e);
        }
        result
    }

    fn read_frames_inner(
        &mut self,
        on_text: &mut impl FnMut(&[u8]),
    ) -> Result<ReadReport, NetError> {
        let mut report = ReadReport::default();
        let decoder = &mut self.decoder;
        let encoder = &mut self.encoder;
        let ws_out = &mut self.ws_out;
        let mut replied = false;
        let mut on_event = |event: WsEvent<'_>| -> Result<(), NetError> {
            match event {
                WsEvent::Text(payload) => on_text(payload),
                WsEvent::Ping(payload) => {
                    queue_frame(encoder, ws_out, SendKind::Pong, payload)?;
                    replied = true;
                }
                WsEvent::Pong => {}
                WsEvent::Close(code) => {
                    let echo = code.map(u16::to_be_bytes);
                    let payload: &[u8] = match &echo {
                        Some(bytes) => bytes,
                        None => &[],
                    };
                    // Best effort: a full write buffer must not hide the peer's close.
                    let _ = queue_frame(encoder, ws_out, SendKind::Close, payload);
                    return Err(NetError::Closed { code });
                }
            }
            Ok(())
        };
        if !self.early.is_empty() {
            report.frames += decoder.feed(&self.early, &mut on_event)?;
            self.early.clear();
        }
        if let Some(end) = self.ended {
            return Err(end);
        }
        let mut sink = |bytes: &[u8]| -> Result<(), NetError> {
            report.frames += decoder.feed(bytes, &mut on_event)?;
            Ok(())
        };
        let mut input = Input {
            stream: &mut self.stream,
            sock_in: &mut self.sock_in,
            sock_in_len: &mut self.sock_in_len,
            tls: self.tls.as_mut(),
            ended: &mut self.ended,
        };
        let bytes = input.read_available(&mut sink)?;
        report.bytes = bytes;
        if let Some(end) = self.ended {
            return Err(end);
        }
        let key_update_due = matches!(&self.tls, Some(Tls::Established(l)) if l.key_update_due());
        if replied || key_update_due {
            self.write_out()?;
        }
        Ok(report)
    }

    /// Queues one masked text frame. `Err(WriteBufferFull)` if the bounded buffer lacks room
    /// (nothing is queued then); call `flush` to send.
    pub fn send_text(&mut self, payload: &[u8]) -> Result<(), NetError> {
        if self.phase != Phase::Open {
            return Err(NetError::State("send_text before Open or after close"));
        }
        queue_frame(&mut self.encoder, &mut self.ws_out, SendKind::Text, payload)
    }

    /// Writes as much queued output as the socket takes now.
    pub fn flush(&mut self) -> Result<FlushState, NetError> {
        if self.phase != Phase::Open {
            return Err(NetError::State("flush before Open or after close"));
        }
        match self.write_out() {
            Ok(true) => Ok(FlushState::Done),
            Ok(false) => Ok(FlushState::Pending),
            Err(e) => {
                self.end_after(e);
                Err(e)
            }
        }
    }

    /// Best-effort close: queues a close frame (1000, normal closure), the TLS close_notify, writes
    /// what the socket takes now and shuts down our sending side. Never blocks or waits for the
    /// peer's answer.
    pub fn close(&mut self) {
        if self.phase == Phase::Open {
            let _ = queue_frame(
                &mut self.encoder,
                &mut self.ws_out,
                SendKind::Close,
                &1000u16.to_be_bytes(),
            );
        }
        self.say_goodbye(Goodbye::CloseNotify);
    }

    /// The TLS record layer's [`TlsCounters`] (tickets, key updates and records seen so far), once
    /// the session is established.
    pub fn tls_counters(&self) -> Option<TlsCounters> {
        match &self.tls {
            Some(Tls::Established(layer)) => Some(layer.counters()),
            _ => None,
        }
    }

    /// Sends a KeyUpdate of ours (rotating our send key) before the next record, as the peer's
    /// update_requested or the suite's confidentiality limit would. Rarely needed: tests use it
    /// to rotate keys in both directions. `false` before the TLS session is established.
    pub fn request_key_update(&mut self) -> bool {
        match self.tls.as_mut() {
            Some(Tls::Established(layer)) => {
                layer.request_key_update();
                true
            }
            _ => false,
        }
    }

    /// Registers the socket (readable and writable, edge-triggered) with a mio registry, for a
    /// runtime that prefers one zero-timeout `epoll_wait` over several idle sockets (see the
    /// module docs for the measured trade-off). Optional: the connection never polls itself.
    pub fn register(
        &mut self,
        registry: &mio::Registry,
        token: mio::Token,
    ) -> Result<(), NetError> {
        registry
            .register(
                &mut self.stream,
                token,
                mio::Interest::READABLE | mio::Interest::WRITABLE,
            )
            .map_err(|e| NetError::Io(e.kind()))
    }

    /// Removes the socket from a registry it was [`Connection::register`]ed with.
    pub fn deregister(&mut self, registry: &mio::Registry) -> Result<(), NetError> {
        registry
            .deregister(&mut self.stream)
            .map_err(|e| NetError::Io(e.kind()))
    }

    /// `true` while the WebSocket is open.
    pub fn is_open(&self) -> bool {
        self.phase == Phase::Open
    }

    /// Ends the connection after `error`, saying what RFC 8446 §6 asks: the matching fatal alert
    /// after a TLS failure (none after the peer's own fatal alert), close_notify after every
    /// other end that leaves the socket writable (the peer's close, EOF, a WebSocket error with
    /// its close frame 1002 or 1009 first), nothing after an I/O error.
    fn end_after(&mut self, error: NetError) {
        let ws_close = match error {
            NetError::Protocol(_) => Some(1002u16),
            NetError::FrameTooLarge { .. } => Some(1009),
            _ => None,
        };
        if let (Some(code), Phase::Open) = (ws_close, self.phase) {
            let _ = queue_frame(
                &mut self.encoder,
                &mut self.ws_out,
                SendKind::Close,
                &code.to_be_bytes(),
            );
        }
        let goodbye = match error {
            NetError::Tls(failure) => match failure.alert() {
                Some(description) => Goodbye::Alert(description),
                None => Goodbye::Nothing,
            },
            NetError::Io(_) | NetError::Connect(_) | NetError::Resolve | NetError::Url(_) => {
                Goodbye::Nothing
            }
            _ => Goodbye::CloseNotify,
        };
        self.say_goodbye(goodbye);
    }

    /// Writes what `goodbye` asks (best effort, never blocking) and shuts down writing.
    fn say_goodbye(&mut self, goodbye: Goodbye) {
        if self.phase == Phase::Closed {
            return;
        }
        match (goodbye, self.tls.as_mut()) {
            (Goodbye::Nothing, _) => {}
            // During the handshake rustls has queued its own fatal alert for the failure.
            // One call hands it over (rustls pops queued output before it reads input again);
            // it is given the buffer its failed call saw, whose bytes its state may refer to.
            (Goodbye::Alert(_), Some(Tls::Handshaking(conn))) => {
                let visible = self.tls_visible.min(self.sock_in_len);
                let status = conn.process_tls_records(&mut self.sock_in[..visible]);
                if let Ok(ConnectionState::EncodeTlsData(mut data)) = status.state {
                    let out = self.tls_out.spare(0).unwrap_or(&mut []);
                    if let Ok(n) = data.encode(out) {
                        self.tls_out.commit(n);
                    }
                }
                let _ = write_queue(&mut self.stream, &mut self.tls_out);
            }
            (Goodbye::Alert(description), Some(Tls::Established(layer))) => {
                // Nothing after a fatal alert: queued output is dropped.
                if let Some(out) = self.tls_out.spare(64) {
                    if let Ok(n) = layer.seal_alert(description, out) {
                        self.tls_out.commit(n);
                    }
                }
                let _ = write_queue(&mut self.stream, &mut self.tls_out);
            }
            (Goodbye::CloseNotify, Some(Tls::Established(_))) => {
                let _ = self.write_out();
                if let Some(Tls::Established(layer)) = self.tls.as_mut() {
                    if let Some(out) = self.tls_out.spare(64) {
                        if let Ok(n) = layer.seal_close_notify(out) {
                            self.tls_out.commit(n);
                        }
                    }
                }
                let _ = write_queue(&mut self.stream, &mut self.tls_out);
            }
            (Goodbye::CloseNotify, None) if self.phase == Phase::Open => {
                let _ = self.write_out();
            }
            _ => {}
        }
        let _ = self.stream.shutdown(Shutdown::Write);
        self.phase = Phase::Closed;
    }

    /// Seals (TLS) and writes queued output. `Ok(true)` when everything is out.
    fn write_out(&mut self) -> Result<bool, NetError> {
        let Some(Tls::Established(layer)) = self.tls.as_mut() else {
            if self.tls.is_some() {
                return Err(NetError::State("write before the TLS handshake ended"));
            }
            return write_queue(&mut self.stream, &mut self.ws_out);
        };
        loop {
            seal_pending(layer, &mut self.ws_out, &mut self.tls_out)?;
            if !write_queue(&mut self.stream, &mut self.tls_out)? {
                return Ok(false);
            }
            if self.ws_out.is_empty() && !layer.key_update_due() {
                return Ok(true);
            }
        }
    }
}
