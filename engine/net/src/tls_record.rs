//! Our TLS 1.3 record layer (RFC 8446 §5): decrypts and encrypts application records in place, in
//! caller-owned buffers, with `ring` AEADs. Zero allocation per record.
//!
//! Why this exists: rustls 0.23 allocates one `Vec` per received record in every public API —
//! the buffered `ClientConnection::reader()` and also `UnbufferedClientConnection`, whose
//! `ReadTraffic::next_record` pops a `Vec` that `take_received_plaintext` filled with
//! `Payload::into_vec` (rustls-0.23.46 `common_state.rs`) — and one `Vec` per sent record
//! (`PrefixedPayload` in the encrypter). A counting allocator over 100k frames showed exactly one
//! allocation per record with both APIs. rustls itself offers the way out for kTLS users:
//! `UnbufferedClientConnection::dangerous_into_kernel_connection()` hands over the traffic secrets
//! and sequence numbers after the handshake plus a `KernelConnection` that still handles the two
//! rare post-handshake events (new session tickets and key updates). This module is the
//! "kernel": RFC 8446 §5.2 record protection, tested in `tls_record_tests.rs` against rustls's
//! own record layer for all three TLS 1.3 cipher suites, and in `tests/net_openssl_interop.rs`
//! against `openssl s_server`.
//!
//! Owns: the receive and send AEAD keys, IVs and sequence numbers, the `KernelConnection`, and a
//! bounded buffer (the connection's recycled join buffer, lent at hand-over and given back by
//! [`RecordLayer::into_join_buffer`]) that joins post-handshake messages split across
//! records (RFC 8446 §5.1 allows a NewSessionTicket to span records). Invariants: one record is
//! opened or sealed at a time, in place; every failure (bad tag, oversize record, unknown content
//! type, zero-length handshake record, a record of another type while a handshake message is
//! incomplete, a KeyUpdate not ending its record, a non-close alert, a sequence number that would
//! wrap) is a typed, connection-ending [`NetError`] whose [`TlsFailure::alert`] names the alert
//! the connection sends before closing; nothing panics on input and no plaintext is handed over
//! from a record that failed authentication. Never does: TLS 1.2, 0-RTT, renegotiation,
//! post-handshake client authentication. With the `fuzzing` feature,
//! `RecordLayer::with_fixed_keys` builds a layer without a handshake for the fuzz targets in
//! `fuzz/` (`kspin_net::fuzzing`).

use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use rustls::client::ClientConnectionData;
use rustls::kernel::KernelConnection;
use rustls::ConnectionTrafficSecrets;

use super::error::{alert, tls_failure, NetError, TlsFailure};

/// TLS record header length: type(1) + legacy_version(2) + length(2). RFC 8446 §5.1.
pub(crate) const RECORD_HEADER_LEN: usize = 5;
/// Maximum plaintext fragment, 2^14 bytes. RFC 8446 §5.1.
pub(crate) const MAX_PLAINTEXT: usize = 1 << 14;
/// Maximum `TLSCiphertext.length`, 2^14 + 256. RFC 8446 §5.2.
pub(crate) const MAX_CIPHERTEXT: usize = MAX_PLAINTEXT + 256;
/// Largest possible record on the wire; the receive buffer must hold one.
pub(crate) const MAX_RECORD: usize = RECORD_HEADER_LEN + MAX_CIPHERTEXT;
/// AEAD tag length of all three TLS 1.3 AEADs we support (AES-GCM, ChaCha20-Poly1305).
const TAG_LEN: usize = 16;
/// Bytes a sealed record adds to its plaintext: header, inner content type, tag.
pub(crate) const SEAL_OVERHEAD: usize = RECORD_HEADER_LEN + 1 + TAG_LEN;
/// Handshake message header: msg_type(1) + length(3). RFC 8446 §4.
const HS_HEADER_LEN: usize = 4;
/// Largest post-handshake message body we join: rustls's own bound on handshake messages
/// (`MAX_HANDSHAKE_SIZE = 0xffff`, rustls-0.23.46 `msgs/deframer/handshake.rs`); a larger one is
/// a decode_error.
pub(crate) const MAX_HANDSHAKE_BODY: usize = 0xffff;
/// Size of the buffer that joins a post-handshake message split across records.
pub(crate) const JOIN_BUFFER_LEN: usize = HS_HEADER_LEN + MAX_HANDSHAKE_BODY;

/// TLS ContentType values (RFC 8446 §5.1).
const CT_ALERT: u8 = 21;
const CT_HANDSHAKE: u8 = 22;
const CT_APPLICATION_DATA: u8 = 23;
/// `legacy_record_version` of every TLS 1.3 record (RFC 8446 §5.1).
const LEGACY_VERSION: [u8; 2] = [0x03, 0x03];
/// HandshakeType values (RFC 8446 §4).
const HS_NEW_SESSION_TICKET: u8 = 4;
const HS_KEY_UPDATE: u8 = 24;
/// AlertLevel values (RFC 8446 §6).
const ALERT_WARNING: u8 = 1;
const ALERT_FATAL: u8 = 2;

/// What a received record turned out to be, after its application data went to the sink.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordOutcome {
    /// Application data (delivered), a handled post-handshake message, or part of one.
    Continue,
    /// The peer sent close_notify: no more data will follow.
    PeerClosed,
}

/// What the record layer has seen and done since the hand-over (tests and diagnostics).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TlsCounters {
    /// Records opened (authenticated), of every inner type.
    pub records_opened: u64,
    /// NewSessionTicket messages handed to rustls.
    pub tickets: u64,
    /// Handshake messages that arrived split across two or more records.
    pub joined_messages: u64,
    /// KeyUpdates received (our receive key rotated).
    pub key_updates_received: u64,
    /// KeyUpdates received with update_requested.
    pub key_updates_requested: u64,
    /// KeyUpdates we sent (our send key rotated).
    pub key_updates_sent: u64,
}

/// One direction's AEAD state.
struct Direction {
    key: LessSafeKey,
    iv: [u8; 12],
    seq: u64,
}

impl Direction {
    fn new(seq: u64, secrets: &ConnectionTrafficSecrets) -> Result<Direction, NetError> {
        let (alg, key, iv) = match secrets {
            ConnectionTrafficSecrets::Aes128Gcm { key, iv } => (&aead::AES_128_GCM, key, iv),
            ConnectionTrafficSecrets::Aes256Gcm { key, iv } => (&aead::AES_256_GCM, key, iv),
            ConnectionTrafficSecrets::Chacha20Poly1305 { key, iv } => {
                (&aead::CHACHA20_POLY1305, key, iv)
            }
            _ => return Err(NetError::Tls(TlsFailure::Unsupported("cipher suite"))),
        };
        let unbound = UnboundKey::new(alg, key.as_ref())
            .map_err(|_| NetError::Tls(TlsFailure::Unsupported("AEAD key length")))?;
        let iv: [u8; 12] = iv
            .as_ref()
            .try_into()
            .map_err(|_| NetError::Tls(TlsFailure::Unsupported("IV length")))?;
        Ok(Direction {
            key: LessSafeKey::new(unbound),
            iv,
            seq,
        })
    }

    /// Per-record nonce: the IV XOR the 64-bit sequence number, left-padded (RFC 8446 §5.3).
    /// A sequence number never wraps (RFC 8446 §5.3: rekey or terminate): the last value is
    /// refused rather than used, so the increment below cannot overflow.
    fn next_nonce(&mut self) -> Result<Nonce, NetError> {
        if self.seq == u64::MAX {
            return Err(NetError::Tls(TlsFailure::Unsupported(
                "record sequence number exhausted",
            )));
        }
        let mut nonce = self.iv;
        let seq = self.seq.to_be_bytes();
        for (n, s) in nonce[4..].iter_mut().zip(seq) {
            *n ^= s;
        }
        self.seq += 1;
        Ok(Nonce::assume_unique_for_key(nonce))
    }
}

/// The rustls side of an established session: it handles the rare post-handshake messages
/// (session tickets, key updates).
// The small variant exists only in fuzzing builds; boxing the kernel for it would cost the
// engine an allocation and an indirection for nothing.
#[allow(clippy::large_enum_variant)]
enum Session {
    Rustls(KernelConnection<ClientConnectionData>),
    /// Fixed keys and no handshake behind them (`RecordLayer::with_fixed_keys`, fuzzing
    /// builds only): every complete post-handshake message is refused as `Unsupported`.
    #[cfg(feature = "fuzzing")]
    Detached,
}

impl Session {
    fn kernel(&mut self) -> Result<&mut KernelConnection<ClientConnectionData>, NetError> {
        match self {
            Session::Rustls(kernel) => Ok(kernel),
            #[cfg(feature = "fuzzing")]
            Session::Detached => Err(NetError::Tls(TlsFailure::Unsupported(
                "post-handshake message without a rustls session",
            ))),
        }
    }
}

/// The established TLS 1.3 session after the handshake.
pub struct RecordLayer {
    rx: Direction,
    tx: Direction,
    session: Session,
    /// Records we may seal under one key before rotating it (the suite's confidentiality limit).
    tx_limit: u64,
    /// The peer asked for a key update (RFC 8446 §4.6.3); ours must precede our next data record.
    key_update_owed: bool,
    /// Post-handshake handshake bytes not yet forming a whole message (header + body).
    hs_buf: Box<[u8]>,
    hs_len: usize,
    /// Records that have contributed to the message in `hs_buf` so far.
    hs_records: u32,
    counters: TlsCounters,
}

impl RecordLayer {
    /// Takes over from rustls after the handshake, joining split post-handshake messages in
    /// `join_buf` (at least [`JOIN_BUFFER_LEN`] bytes; its contents do not matter).
    pub(crate) fn new(
        secrets: rustls::ExtractedSecrets,
        kernel: KernelConnection<ClientConnectionData>,
        join_buf: Box<[u8]>,
    ) -> Result<RecordLayer, NetError> {
        if join_buf.len() < JOIN_BUFFER_LEN {
            return Err(NetError::Limits(
                "TLS join buffer smaller than a handshake message",
            ));
        }
        let rx = Direction::new(secrets.rx.0, &secrets.rx.1)?;
        let tx = Direction::new(secrets.tx.0, &secrets.tx.1)?;
        let tx_limit = match kernel.negotiated_cipher_suite() {
            rustls::SupportedCipherSuite::Tls13(suite) => suite.common.confidentiality_limit,
            #[allow(unreachable_patterns)]
            _ => return Err(NetError::Tls(TlsFailure::Unsupported("TLS 1.2"))),
        };
        Ok(RecordLayer::assemble(
            rx,
            tx,
            Session::Rustls(kernel),
            tx_limit,
            join_buf,
        ))
    }

    /// Gives back the join buffer (for the next connection); the session ends here.
    pub(crate) fn into_join_buffer(self) -> Box<[u8]> {
        self.hs_buf
    }

    fn assemble(
        rx: Direction,
        tx: Direction,
        session: Session,
        tx_limit: u64,
        join_buf: Box<[u8]>,
    ) -> RecordLayer {
        RecordLayer {
            rx,
            tx,
            session,
            tx_limit,
            key_update_owed: false,
            hs_buf: join_buf,
            hs_len: 0,
            hs_records: 0,
            counters: TlsCounters::default(),
        }
    }

    /// A record layer without a handshake, for the fuzz targets (`fuzz/`): both directions use
    /// `secrets` from sequence number 0, so it opens the records it seals; complete
    /// post-handshake messages are refused (there is no rustls session) and the send key never
    /// rotates.
    #[cfg(feature = "fuzzing")]
    pub fn with_fixed_keys(secrets: &ConnectionTrafficSecrets) -> Result<RecordLayer, NetError> {
        Ok(RecordLayer::assemble(
            Direction::new(0, secrets)?,
            Direction::new(0, secrets)?,
            Session::Detached,
            u64::MAX,
            vec![0; JOIN_BUFFER_LEN].into_boxed_slice(),
        ))
    }

    /// What the layer has seen and done so far.
    pub fn counters(&self) -> TlsCounters {
        self.counters
    }

    /// Whether part of a handshake message is waiting for the record that completes it.
    #[cfg(any(test, feature = "fuzzing"))]
    pub fn handshake_pending(&self) -> bool {
        self.hs_len > 0
    }

    /// Length of the complete record at the front of `buf`, or `None` if more bytes are needed.
    pub fn complete_record_len(buf: &[u8]) -> Result<Option<usize>, NetError> {
        if buf.len() < RECORD_HEADER_LEN {
            return Ok(None);
        }
        let len = usize::from(u16::from_be_bytes([buf[3], buf[4]]));
        if len > MAX_CIPHERTEXT {
            return Err(NetError::Tls(TlsFailure::RecordOverflow));
        }
        let total = RECORD_HEADER_LEN + len;
        Ok((buf.len() >= total).then_some(total))
    }

    /// Decrypts the one complete record `record` (header included) in place. Application data is
    /// passed to `sink`; post-handshake handshake messages and alerts are handled here.
    pub fn open_record(
        &mut self,
        record: &mut [u8],
        sink: &mut impl FnMut(&[u8]) -> Result<(), NetError>,
    ) -> Result<RecordOutcome, NetError> {
        debug_assert!(record.len() >= RECORD_HEADER_LEN);
        // After the handshake every record is protected and carries the outer type
        // application_data (RFC 8446 §5.2): a plaintext handshake, alert or change_cipher_spec
        // record now is an unexpected_message (§5: change_cipher_spec only before the peer's
        // Finished).
        if record.first() != Some(&CT_APPLICATION_DATA) {
            return Err(NetError::Tls(TlsFailure::UnexpectedMessage));
        }
        if record.len() < RECORD_HEADER_LEN + TAG_LEN + 1 {
            return Err(NetError::Tls(TlsFailure::Decrypt));
        }
        let (header, body) = record.split_at_mut(RECORD_HEADER_LEN);
        let header: [u8; RECORD_HEADER_LEN] =
            [header[0], header[1], header[2], header[3], header[4]];
        let nonce = self.rx.next_nonce()?;
        let plain = self
            .rx
            .key
            .open_in_place(nonce, Aad::from(header), body)
            .map_err(|_| NetError::Tls(TlsFailure::Decrypt))?;
        self.counters.records_opened += 1;
        // RFC 8446 §5.2/§5.4: an inner plaintext (content, type and padding) longer than
        // 2^14 + 1 bytes is a record_overflow, even if it decrypted.
        if plain.len() > MAX_PLAINTEXT + 1 {
            return Err(NetError::Tls(TlsFailure::RecordOverflow));
        }
        // TLSInnerPlaintext = content || ContentType || zeros (RFC 8446 §5.2); all zeros (no
        // type) is an unexpected_message (§5.4).
        let type_at = plain
            .iter()
            .rposition(|&b| b != 0)
            .ok_or(NetError::Tls(TlsFailure::UnexpectedMessage))?;
        let content_type = plain[type_at];
        let content = &plain[..type_at];
        // RFC 8446 §5.1: a handshake message split across records must not be interleaved
        // with records of another type.
        if self.hs_len > 0 && content_type != CT_HANDSHAKE {
            return Err(NetError::Tls(TlsFailure::UnexpectedMessage));
        }
        match content_type {
            CT_APPLICATION_DATA => {
                // Zero-length application data is allowed (RFC 8446 §5.1) and delivers nothing.
                if !content.is_empty() {
                    sink(content)?;
                }
                Ok(RecordOutcome::Continue)
            }
            CT_ALERT => match content {
                [_, alert::CLOSE_NOTIFY] => Ok(RecordOutcome::PeerClosed),
                [_, description] => Err(NetError::Tls(TlsFailure::AlertReceived(*description))),
                _ => Err(NetError::Tls(TlsFailure::DecodeError)),
            },
            CT_HANDSHAKE => {
                // RFC 8446 §5.1: "Implementations MUST NOT send zero-length fragments of
                // Handshake types".
                if content.is_empty() {
                    return Err(NetError::Tls(TlsFailure::UnexpectedMessage));
                }
                self.join_handshake(content)?;
                Ok(RecordOutcome::Continue)
            }
            _ => Err(NetError::Tls(TlsFailure::UnexpectedMessage)),
        }
    }

    /// Appends one record's handshake content to the join buffer and handles every message it
    /// completes; keeps an incomplete tail for the next record.
    fn join_handshake(&mut self, content: &[u8]) -> Result<(), NetError> {
        let end = self.hs_len + content.len();
        let Some(dest) = self.hs_buf.get_mut(self.hs_len..end) else {
            return Err(NetError::Tls(TlsFailure::DecodeError));
        };
        dest.copy_from_slice(content);
        self.hs_len = end;
        self.hs_records += 1;
        let mut pos = 0;
        while let [msg_type, a, b, c, rest @ ..] = &self.hs_buf[pos..self.hs_len] {
            let len = usize::from(*a) << 16 | usize::from(*b) << 8 | usize::from(*c);
            if len > MAX_HANDSHAKE_BODY {
                return Err(NetError::Tls(TlsFailure::DecodeError));
            }
            if rest.len() < len {
                break;
            }
            let msg_type = *msg_type;
            let body_at = pos + HS_HEADER_LEN;
            pos = body_at + len;
            if self.hs_records > 1 {
                self.counters.joined_messages += 1;
            }
            self.hs_records = 1;
            match msg_type {
                HS_NEW_SESSION_TICKET => {
                    let body = &self.hs_buf[body_at..pos];
                    self.session
                        .kernel()?
                        .handle_new_session_ticket(body)
                        .map_err(|e| NetError::Tls(tls_failure(&e)))?;
                    self.counters.tickets += 1;
                }
                HS_KEY_UPDATE => {
                    let requested = match self.hs_buf[body_at..pos] {
                        [0] => false,
                        [1] => true,
                        // RFC 8446 §4.6.3: any other request value is an illegal_parameter; a
                        // body of another length does not decode.
                        [_] => return Err(NetError::Tls(TlsFailure::IllegalParameter)),
                        _ => return Err(NetError::Tls(TlsFailure::DecodeError)),
                    };
                    // RFC 8446 §5.1: a KeyUpdate must end its record (the next record is under
                    // the new key); anything after it is an unexpected_message.
                    if pos != self.hs_len {
                        return Err(NetError::Tls(TlsFailure::UnexpectedMessage));
                    }
                    let (seq, secrets) = self
                        .session
                        .kernel()?
                        .update_rx_secret()
                        .map_err(|e| NetError::Tls(tls_failure(&e)))?;
                    self.rx = Direction::new(seq, &secrets)?;
                    self.key_update_owed |= requested;
                    self.counters.key_updates_received += 1;
                    self.counters.key_updates_requested += u64::from(requested);
                }
                _ => return Err(NetError::Tls(TlsFailure::UnexpectedMessage)),
            }
        }
        self.hs_buf.copy_within(pos..self.hs_len, 0);
        self.hs_len -= pos;
        if self.hs_len == 0 {
            self.hs_records = 0;
        }
        Ok(())
    }

    /// Bytes of `out` needed to seal `plaintext_len` bytes of application data (plus a possible
    /// owed key update).
    pub(crate) fn sealed_len(&self, plaintext_len: usize) -> usize {
        let key_update = if self.key_update_due() {
            SEAL_OVERHEAD + 5
        } else {
            0
        };
        key_update + plaintext_len + SEAL_OVERHEAD
    }

    /// Seals `plaintext` (at most [`MAX_PLAINTEXT`] bytes) as one application-data record into the
    /// front of `out`, preceded by our KeyUpdate if one is owed. Returns the bytes written.
    pub fn seal_app_data(&mut self, plaintext: &[u8], out: &mut [u8]) -> Result<usize, NetError> {
        if plaintext.len() > MAX_PLAINTEXT {
            return Err(NetError::State("TLS plaintext larger than one record"));
        }
        if out.len() < self.sealed_len(plaintext.len()) {
            return Err(NetError::State("TLS output buffer too small for record"));
        }
        let written = self.seal_key_update_if_due(out)?;
        Ok(written + self.seal(CT_APPLICATION_DATA, plaintext, &mut out[written..])?)
    }

    /// Whether a KeyUpdate of ours is waiting to be sent.
    pub(crate) fn key_update_due(&self) -> bool {
        self.key_update_owed || self.tx.seq >= self.tx_limit
    }

    /// Asks for a KeyUpdate of ours before the next record we seal (tests rotate our send key
    /// with it; the suite's limit and the peer's request do the same on their own).
    pub fn request_key_update(&mut self) {
        self.key_update_owed = true;
    }

    /// Seals our KeyUpdate(update_not_requested) under the old key and rotates the send key, if
    /// the peer asked for it or the suite's confidentiality limit is reached (RFC 8446 §4.6.3,
    /// §5.5). Returns the bytes written (0 if none was due).
    pub(crate) fn seal_key_update_if_due(&mut self, out: &mut [u8]) -> Result<usize, NetError> {
        if !self.key_update_due() {
            return Ok(0);
        }
        let written = self.seal(CT_HANDSHAKE, &[HS_KEY_UPDATE, 0, 0, 1, 0], out)?;
        let (seq, secrets) = self
            .session
            .kernel()?
            .update_tx_secret()
            .map_err(|e| NetError::Tls(tls_failure(&e)))?;
        self.tx = Direction::new(seq, &secrets)?;
        self.key_update_owed = false;
        self.counters.key_updates_sent += 1;
        Ok(written)
    }

    /// Seals a close_notify alert into `out` (RFC 8446 §6.1).
    pub(crate) fn seal_close_notify(&mut self, out: &mut [u8]) -> Result<usize, NetError> {
        self.seal_alert(alert::CLOSE_NOTIFY, out)
    }

    /// Seals an alert into `out`: close_notify at level warning, every other one fatal (RFC 8446
    /// §6: the level of any other alert is fatal in TLS 1.3).
    pub(crate) fn seal_alert(
        &mut self,
        description: u8,
        out: &mut [u8],
    ) -> Result<usize, NetError> {
        let level = if description == alert::CLOSE_NOTIFY {
            ALERT_WARNING
        } else {
            ALERT_FATAL
        };
        self.seal(CT_ALERT, &[level, description], out)
    }

    fn seal(
        &mut self,
        content_type: u8,
        plaintext: &[u8],
        out: &mut [u8],
    ) -> Result<usize, NetError> {
        let inner_len = plaintext.len() + 1;
        let total = RECORD_HEADER_LEN + inner_len + TAG_LEN;
        if out.len() < total {
            return Err(NetError::State("TLS output buffer too small for record"));
        }
        let length =
            u16::try_from(inner_len + TAG_LEN).map_err(|_| NetError::State("record too large"))?;
        let header = [
            CT_APPLICATION_DATA,
            LEGACY_VERSION[0],
            LEGACY_VERSION[1],
            length.to_be_bytes()[0],
            length.to_be_bytes()[1],
        ];
        let nonce = self.tx.next_nonce()?;
        out[..RECORD_HEADER_LEN].copy_from_slice(&header);
        let body_end = RECORD_HEADER_LEN + inner_len;
        out[RECORD_HEADER_LEN..body_end - 1].copy_from_slice(plaintext);
        out[body_end - 1] = content_type;
        let tag = self
            .tx
            .key
            .seal_in_place_separate_tag(
                nonce,
                Aad::from(header),
                &mut out[RECORD_HEADER_LEN..body_end],
            )
            .map_err(|_| NetError::Tls(TlsFailure::Unsupported("seal failed")))?;
        out[body_end..total].copy_from_slice(tag.as_ref());
        Ok(total)
    }
}

#[cfg(test)]
#[path = "tls_record_tests.rs"]
mod tests;
