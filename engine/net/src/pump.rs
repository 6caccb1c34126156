//! The byte pump between the socket, the TLS record layer and the WebSocket codec: non-blocking
//! reads and writes, record opening and sealing, frame queueing.
//!
//! Owns nothing: free functions over the buffers that `Connection` owns, split out so a sink that
//! feeds the decoder can borrow the read side while replies are queued on the write side.
//! Invariants: never blocks (WouldBlock ends a loop, EINTR retries), never allocates, reports the
//! end of the stream through `ended` after delivering the bytes that preceded it.

use std::io::{self, Read, Write};

use mio::net::TcpStream;

use super::byte_queue::ByteQueue;
use super::connection::Tls;
use super::error::NetError;
use super::tls_record::{RecordLayer, RecordOutcome, MAX_PLAINTEXT};
use super::ws_encoder::{FrameEncoder, SendKind};

/// Masks one frame into `ws_out`.
pub(super) fn queue_frame(
    encoder: &mut FrameEncoder,
    ws_out: &mut ByteQueue,
    kind: SendKind,
    payload: &[u8],
) -> Result<(), NetError> {
    let needed = FrameEncoder::frame_len(payload.len());
    let out = ws_out.spare(needed).ok_or(NetError::WriteBufferFull)?;
    let n = encoder
        .write_frame(kind, payload, out)
        .ok_or(NetError::WriteBufferFull)?;
    ws_out.commit(n);
    Ok(())
}

/// Seals as much of `ws_out` into records in `tls_out` as fits (plus an owed KeyUpdate).
pub(super) fn seal_pending(
    layer: &mut RecordLayer,
    ws_out: &mut ByteQueue,
    tls_out: &mut ByteQueue,
) -> Result<(), NetError> {
    if ws_out.is_empty() && layer.key_update_due() {
        if let Some(out) = tls_out.spare(layer.sealed_len(0)) {
            let n = layer.seal_key_update_if_due(out)?;
            tls_out.commit(n);
        }
    }
    while !ws_out.is_empty() {
        let overhead = layer.sealed_len(0);
        let room = tls_out.free().saturating_sub(overhead);
        let chunk = ws_out.pending().len().min(MAX_PLAINTEXT).min(room);
        if chunk == 0 {
            break;
        }
        let Some(out) = tls_out.spare(overhead + chunk) else {
            break;
        };
        let n = layer.seal_app_data(&ws_out.pending()[..chunk], out)?;
        tls_out.commit(n);
        ws_out.consume(chunk);
    }
    Ok(())
}

/// Writes `queue` until it is empty (`Ok(true)`) or the socket would block (`Ok(false)`).
pub(super) fn write_queue(stream: &mut TcpStream, queue: &mut ByteQueue) -> Result<bool, NetError> {
    while !queue.is_empty() {
        match stream.write(queue.pending()) {
            Ok(0) => return Err(NetError::Io(io::ErrorKind::WriteZero)),
            Ok(n) => queue.consume(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(NetError::Io(e.kind())),
        }
    }
    Ok(true)
}

pub(super) enum ReadResult {
    Data(usize),
    WouldBlock,
    Eof,
}

pub(super) fn read_some(stream: &mut TcpStream, buf: &mut [u8]) -> Result<ReadResult, NetError> {
    loop {
        match stream.read(buf) {
            Ok(0) => return Ok(ReadResult::Eof),
            Ok(n) => return Ok(ReadResult::Data(n)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(ReadResult::WouldBlock),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(NetError::Io(e.kind())),
        }
    }
}

/// The read side, borrowed apart from the write side so a sink can queue replies.
pub(super) struct Input<'a> {
    pub(super) stream: &'a mut TcpStream,
    pub(super) sock_in: &'a mut [u8],
    pub(super) sock_in_len: &'a mut usize,
    pub(super) tls: Option<&'a mut Tls>,
    pub(super) ended: &'a mut Option<NetError>,
}

impl Input<'_> {
    /// Reads until WouldBlock, a short read or the end of the stream, passing plaintext stream
    /// bytes to `sink`. Returns the bytes read from the socket. The end of the stream is recorded
    /// in `ended` (`Eof` after close_notify or on plain TCP, `TlsNoCloseNotify` for a bare TCP FIN
    /// under TLS), not returned, so that bytes delivered before it are not lost.
    pub(super) fn read_available(
        &mut self,
        sink: &mut impl FnMut(&[u8]) -> Result<(), NetError>,
    ) -> Result<usize, NetError> {
        let mut total = 0;
        loop {
            let start = *self.sock_in_len;
            let space = self.sock_in.len() - start;
            debug_assert!(space > 0);
            let n = match read_some(self.stream, &mut self.sock_in[start..])? {
                ReadResult::Data(n) => n,
                ReadResult::WouldBlock => return Ok(total),
                ReadResult::Eof => {
                    *self.ended = Some(match self.tls {
                        Some(_) => NetError::TlsNoCloseNotify,
                        None => NetError::Eof,
                    });
                    return Ok(total);
                }
            };
            total += n;
            match self.tls.as_deref_mut() {
                None => sink(&self.sock_in[..n])?,
                Some(Tls::Established(layer)) => {
                    *self.sock_in_len += n;
                    let (used, outcome) =
                        open_records(layer, &mut self.sock_in[..*self.sock_in_len], sink)?;
                    self.sock_in.copy_within(used..*self.sock_in_len, 0);
                    *self.sock_in_len -= used;
                    if outcome == RecordOutcome::PeerClosed {
                        *self.ended = Some(NetError::Eof);
                        return Ok(total);
                    }
                }
                Some(_) => return Err(NetError::State("read before the TLS handshake ended")),
            }
            if n < space {
                return Ok(total);
            }
        }
    }
}

/// Opens every complete record at the front of `buf`; returns the bytes used and whether the
/// last one was the peer's close_notify (nothing after it is read).
fn open_records(
    layer: &mut RecordLayer,
    buf: &mut [u8],
    sink: &mut impl FnMut(&[u8]) -> Result<(), NetError>,
) -> Result<(usize, RecordOutcome), NetError> {
    let mut pos = 0;
    while let Some(len) = RecordLayer::complete_record_len(&buf[pos..])? {
        let outcome = layer.open_record(&mut buf[pos..pos + len], sink)?;
        pos += len;
        if outcome == RecordOutcome::PeerClosed {
            return Ok((pos, outcome));
        }
    }
    Ok((pos, RecordOutcome::Continue))
}
