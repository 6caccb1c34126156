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
//! "kernel": about 200 lines of RFC 8446 §5.2 record protection, tested below against rustls.
//!
//! Owns: the receive and send AEAD keys, IVs and sequence numbers, and the `KernelConnection`.
//! Invariants: one record is opened or sealed at a time, in place; every failure (bad tag,
//! oversize record, unknown content type, non-close alert) is a typed, connection-ending
//! [`NetError`]; nothing panics on input. Never does: TLS 1.2, 0-RTT, renegotiation, or
//! handshake messages split across records after the handshake (reported as `Unsupported`).
//! With the `fuzzing` feature, `RecordLayer::with_fixed_keys` builds a layer without a
//! handshake for the fuzz targets in `fuzz/` (`kspin_net::fuzzing`).

use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use rustls::client::ClientConnectionData;
use rustls::kernel::KernelConnection;
use rustls::ConnectionTrafficSecrets;

use super::error::{tls_failure, NetError, TlsFailure};

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

/// TLS ContentType values (RFC 8446 §5.1).
const CT_ALERT: u8 = 21;
const CT_HANDSHAKE: u8 = 22;
const CT_APPLICATION_DATA: u8 = 23;
/// `legacy_record_version` of every TLS 1.3 record (RFC 8446 §5.1).
const LEGACY_VERSION: [u8; 2] = [0x03, 0x03];
/// HandshakeType values (RFC 8446 §4).
const HS_NEW_SESSION_TICKET: u8 = 4;
const HS_KEY_UPDATE: u8 = 24;
/// AlertDescription close_notify (RFC 8446 §6.1).
const ALERT_CLOSE_NOTIFY: u8 = 0;

/// What a received record turned out to be, after its application data went to the sink.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordOutcome {
    /// Application data (delivered) or a handled post-handshake message.
    Continue,
    /// The peer sent close_notify: no more data will follow.
    PeerClosed,
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
    fn next_nonce(&mut self) -> Nonce {
        let mut nonce = self.iv;
        let seq = self.seq.to_be_bytes();
        for (n, s) in nonce[4..].iter_mut().zip(seq) {
            *n ^= s;
        }
        self.seq = self.seq.wrapping_add(1);
        Nonce::assume_unique_for_key(nonce)
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
    /// builds only): every post-handshake message is refused as `Unsupported`.
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
}

impl RecordLayer {
    /// Takes over from rustls after the handshake.
    pub(crate) fn new(
        secrets: rustls::ExtractedSecrets,
        kernel: KernelConnection<ClientConnectionData>,
    ) -> Result<RecordLayer, NetError> {
        let rx = Direction::new(secrets.rx.0, &secrets.rx.1)?;
        let tx = Direction::new(secrets.tx.0, &secrets.tx.1)?;
        let tx_limit = match kernel.negotiated_cipher_suite() {
            rustls::SupportedCipherSuite::Tls13(suite) => suite.common.confidentiality_limit,
            #[allow(unreachable_patterns)]
            _ => return Err(NetError::Tls(TlsFailure::Unsupported("TLS 1.2"))),
        };
        Ok(RecordLayer {
            rx,
            tx,
            session: Session::Rustls(kernel),
            tx_limit,
            key_update_owed: false,
        })
    }

    /// A record layer without a handshake, for the fuzz targets (`fuzz/`): both directions use
    /// `secrets` from sequence number 0, so it opens the records it seals; post-handshake
    /// messages are refused (there is no rustls session) and the send key never rotates.
    #[cfg(feature = "fuzzing")]
    pub fn with_fixed_keys(secrets: &ConnectionTrafficSecrets) -> Result<RecordLayer, NetError> {
        Ok(RecordLayer {
            rx: Direction::new(0, secrets)?,
            tx: Direction::new(0, secrets)?,
            session: Session::Detached,
            tx_limit: u64::MAX,
            key_update_owed: false,
        })
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
        if record.len() < RECORD_HEADER_LEN + TAG_LEN + 1 {
            return Err(NetError::Tls(TlsFailure::Decrypt));
        }
        // After the handshake every record is protected and carries the outer type
        // application_data (RFC 8446 §5.2).
        if record[0] != CT_APPLICATION_DATA {
            return Err(NetError::Tls(TlsFailure::UnexpectedMessage));
        }
        let (header, body) = record.split_at_mut(RECORD_HEADER_LEN);
        let header: [u8; RECORD_HEADER_LEN] =
            [header[0], header[1], header[2], header[3], header[4]];
        let nonce = self.rx.next_nonce();
        let plain = self
            .rx
            .key
            .open_in_place(nonce, Aad::from(header), body)
            .map_err(|_| NetError::Tls(TlsFailure::Decrypt))?;
        // RFC 8446 §5.2/§5.4: an inner plaintext (content, type and padding) longer than
        // 2^14 + 1 bytes is a record_overflow, even if it decrypted.
        if plain.len() > MAX_PLAINTEXT + 1 {
            return Err(NetError::Tls(TlsFailure::RecordOverflow));
        }
        // TLSInnerPlaintext = content || ContentType || zeros (RFC 8446 §5.2).
        let type_at = plain
            .iter()
            .rposition(|&b| b != 0)
            .ok_or(NetError::Tls(TlsFailure::UnexpectedMessage))?;
        let content = &plain[..type_at];
        match plain[type_at] {
            CT_APPLICATION_DATA => {
                if !content.is_empty() {
                    sink(content)?;
                }
                Ok(RecordOutcome::Continue)
            }
            CT_ALERT => match content {
                [_, ALERT_CLOSE_NOTIFY] => Ok(RecordOutcome::PeerClosed),
                [_, description] => Err(NetError::Tls(TlsFailure::AlertReceived(*description))),
                _ => Err(NetError::Tls(TlsFailure::UnexpectedMessage)),
            },
            CT_HANDSHAKE => {
                self.handle_post_handshake(content)?;
                Ok(RecordOutcome::Continue)
            }
            _ => Err(NetError::Tls(TlsFailure::UnexpectedMessage)),
        }
    }

    /// NewSessionTicket goes to rustls (it is discarded: resumption is off); KeyUpdate rotates
    /// our receive key and, if asked, schedules our own update (RFC 8446 §4.6.3).
    fn handle_post_handshake(&mut self, mut messages: &[u8]) -> Result<(), NetError> {
        while !messages.is_empty() {
            let [msg_type, a, b, c, rest @ ..] = messages else {
                return Err(NetError::Tls(TlsFailure::Unsupported(
                    "handshake message split across records",
                )));
            };
            let len = u32::from_be_bytes([0, *a, *b, *c]) as usize;
            if rest.len() < len {
                return Err(NetError::Tls(TlsFailure::Unsupported(
                    "handshake message split across records",
                )));
            }
            let (body, tail) = rest.split_at(len);
            messages = tail;
            match *msg_type {
                HS_NEW_SESSION_TICKET => self
                    .session
                    .kernel()?
                    .handle_new_session_ticket(body)
                    .map_err(|e| NetError::Tls(tls_failure(&e)))?,
                HS_KEY_UPDATE => {
                    let requested = match body {
                        [0] => false,
                        [1] => true,
                        _ => return Err(NetError::Tls(TlsFailure::UnexpectedMessage)),
                    };
                    // RFC 8446 §5.1: a KeyUpdate must end its record (the next record is under
                    // the new key); anything after it is an unexpected_message.
                    if !messages.is_empty() {
                        return Err(NetError::Tls(TlsFailure::UnexpectedMessage));
                    }
                    let (seq, secrets) = self
                        .session
                        .kernel()?
                        .update_rx_secret()
                        .map_err(|e| NetError::Tls(tls_failure(&e)))?;
                    self.rx = Direction::new(seq, &secrets)?;
                    self.key_update_owed |= requested;
                }
                _ => return Err(NetError::Tls(TlsFailure::UnexpectedMessage)),
            }
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
        Ok(written)
    }

    /// Seals a close_notify alert into `out`.
    pub(crate) fn seal_close_notify(&mut self, out: &mut [u8]) -> Result<usize, NetError> {
        // Alert: level warning(1), description close_notify(0) (RFC 8446 §6).
        self.seal(CT_ALERT, &[1, ALERT_CLOSE_NOTIFY], out)
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
        out[..RECORD_HEADER_LEN].copy_from_slice(&header);
        let body_end = RECORD_HEADER_LEN + inner_len;
        out[RECORD_HEADER_LEN..body_end - 1].copy_from_slice(plaintext);
        out[body_end - 1] = content_type;
        let nonce = self.tx.next_nonce();
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
