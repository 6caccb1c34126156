//! `tls_records`: TLS 1.3 records from the server through kspin's own record layer
//! (`kspin_net::fuzzing::RecordLayer`, engine/net/src/tls_record.rs), built with fixed keys.
//!
//! Checks that `complete_record_len` and `open_record` never panic and that no plaintext ever
//! comes out of a record that fails authentication. The judge is an independent TLS 1.3 record
//! protection written here on `ring`'s AEAD ([`TlsFuzzKeys`], RFC 8446 §5.2): for every record
//! the layer is given, it opens the same bytes with the same key and sequence number. A record it
//! cannot authenticate must be an error with nothing handed to the sink; one it can must give
//! exactly what RFC 8446 says (the application data, close_notify, the alert, an overflow or an
//! unexpected message). It also checks that `seal_app_data` writes byte for byte what the
//! reference seals.
//!
//! Input: byte 0 chooses the cipher suite (bit 0: ChaCha20-Poly1305 or AES-256-GCM) and the mode
//! (bit 1). In wire mode the rest is the byte stream as received. In script mode the rest is a
//! list of operations that build the stream, so that the fuzzer reaches authenticated records:
//! `op, len_hi, len_lo, payload[len]` where `op & 3` is 0 (seal `payload` as application data:
//! it must then open to exactly `payload`, or be refused as an unexpected message right after
//! part of a split handshake message), 1 (seal `payload` as the whole inner plaintext:
//! content, type and padding chosen by the fuzzer), 2 (`pos_hi, pos_lo, xor, data`: seal `data`
//! as application data, then xor one byte at `pos`: it must be refused) or 3 (append `payload`
//! unsealed).

use kspin_net::fuzzing::{RecordLayer, RecordOutcome};
use kspin_net::{NetError, TlsFailure};
use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use rustls::crypto::cipher::{AeadKey, Iv};
use rustls::ConnectionTrafficSecrets;

use crate::Verdict;

/// Record header: type, legacy_version, length (RFC 8446 §5.1).
const HEADER_LEN: usize = 5;
/// AEAD tag of every TLS 1.3 AEAD suite.
const TAG_LEN: usize = 16;
/// Largest plaintext fragment and ciphertext length (RFC 8446 §5.1, §5.2).
const MAX_PLAINTEXT: usize = 1 << 14;
const MAX_CIPHERTEXT: usize = MAX_PLAINTEXT + 256;
/// ContentType values (RFC 8446 §5.1).
const CT_ALERT: u8 = 21;
const CT_HANDSHAKE: u8 = 22;
const CT_APPLICATION_DATA: u8 = 23;
/// `legacy_record_version` (RFC 8446 §5.1).
const LEGACY_VERSION: [u8; 2] = [0x03, 0x03];

/// Bit 0 of byte 0: the cipher suite.
pub const SUITE_AES_256_GCM: u8 = 0b01;
/// Bit 1 of byte 0: the rest of the input is a script of operations, not wire bytes.
pub const MODE_SCRIPT: u8 = 0b10;
/// Script operations (`op & 3`).
pub const OP_SEAL_APP_DATA: u8 = 0;
pub const OP_SEAL_INNER: u8 = 1;
pub const OP_SEAL_AND_FLIP: u8 = 2;
pub const OP_RAW: u8 = 3;

/// The fixed traffic key and IV of the fuzzed session (32 bytes suit both suites).
const KEY: [u8; 32] = *b"kspin fuzz: fixed traffic key 01";
const IV: [u8; 12] = *b"kspin fz iv1";

/// The reference record protection (the "server"), independent of the layer under test.
pub struct TlsFuzzKeys {
    suite_aes: bool,
    key: LessSafeKey,
}

impl TlsFuzzKeys {
    /// The keys selected by `byte0` of an input (bit 0: AES-256-GCM rather than ChaCha20).
    pub fn for_input(byte0: u8) -> TlsFuzzKeys {
        let suite_aes = byte0 & SUITE_AES_256_GCM != 0;
        let alg = if suite_aes {
            &aead::AES_256_GCM
        } else {
            &aead::CHACHA20_POLY1305
        };
        // A 32-byte key is valid for both algorithms.
        let key = UnboundKey::new(alg, &KEY).expect("32-byte key for a 256-bit AEAD");
        TlsFuzzKeys {
            suite_aes,
            key: LessSafeKey::new(key),
        }
    }

    /// The same key as rustls hands it to the record layer after a handshake.
    fn traffic_secrets(&self) -> ConnectionTrafficSecrets {
        let (key, iv) = (AeadKey::from(KEY), Iv::new(IV));
        if self.suite_aes {
            ConnectionTrafficSecrets::Aes256Gcm { key, iv }
        } else {
            ConnectionTrafficSecrets::Chacha20Poly1305 { key, iv }
        }
    }

    /// The per-record nonce: the IV xor the sequence number (RFC 8446 §5.3).
    fn nonce(seq: u64) -> Nonce {
        let mut nonce = IV;
        for (n, s) in nonce[4..].iter_mut().zip(seq.to_be_bytes()) {
            *n ^= s;
        }
        Nonce::assume_unique_for_key(nonce)
    }

    /// Seals `inner` (content, type and padding: a TLSInnerPlaintext) as record number `seq`.
    pub fn seal(&self, seq: u64, inner: &[u8]) -> Vec<u8> {
        let length = u16::try_from(inner.len() + TAG_LEN).unwrap_or(u16::MAX);
        let [hi, lo] = length.to_be_bytes();
        let header = [
            CT_APPLICATION_DATA,
            LEGACY_VERSION[0],
            LEGACY_VERSION[1],
            hi,
            lo,
        ];
        let mut record = header.to_vec();
        record.extend_from_slice(inner);
        let tag = self
            .key
            .seal_in_place_separate_tag(
                Self::nonce(seq),
                Aad::from(header),
                &mut record[HEADER_LEN..],
            )
            .expect("sealing a record of at most 64 KiB");
        record.extend_from_slice(tag.as_ref());
        record
    }

    /// Seals `content` as application data (no padding), as record number `seq`.
    pub fn seal_app_data(&self, seq: u64, content: &[u8]) -> Vec<u8> {
        let mut inner = content.to_vec();
        inner.push(CT_APPLICATION_DATA);
        self.seal(seq, &inner)
    }

    /// The inner plaintext of `record` if it authenticates as record number `seq`.
    fn open(&self, seq: u64, record: &[u8]) -> Option<Vec<u8>> {
        if record.len() < HEADER_LEN + TAG_LEN || record[0] != CT_APPLICATION_DATA {
            return None;
        }
        let header: [u8; HEADER_LEN] = record[..HEADER_LEN].try_into().ok()?;
        let mut body = record[HEADER_LEN..].to_vec();
        let plain = self
            .key
            .open_in_place(Self::nonce(seq), Aad::from(header), &mut body)
            .ok()?;
        Some(plain.to_vec())
    }
}

/// What RFC 8446 makes of an authenticated inner plaintext, with no rustls session behind the
/// layer (so every complete post-handshake message is refused).
#[derive(Debug, PartialEq)]
enum Expected {
    /// Application data: the content (nothing is handed over when it is empty); also a part of
    /// a handshake message, kept for the next record (nothing handed over).
    Data(Vec<u8>),
    PeerClosed,
    Error(NetError),
    /// Refused, whatever the reason, and nothing handed over: a complete handshake message, or
    /// an empty inner plaintext (RFC 8446 §5.4 calls that unexpected_message; the layer refuses
    /// a record that short by its length, before decrypting it, as a decryption failure).
    AnyError,
}

/// Largest handshake message body the layer joins (rustls's bound, engine/net/src/tls_record.rs).
const MAX_HANDSHAKE_BODY: usize = 0xffff;

/// The expectation for `inner`, given `pending`: the bytes of a handshake message split across
/// records so far (updated when the record adds to it).
fn expected(inner: &[u8], pending: &mut Vec<u8>) -> Expected {
    let tls = |failure| Expected::Error(NetError::Tls(failure));
    if inner.len() > MAX_PLAINTEXT + 1 {
        return tls(TlsFailure::RecordOverflow);
    }
    if inner.is_empty() {
        return Expected::AnyError;
    }
    let Some(type_at) = inner.iter().rposition(|&b| b != 0) else {
        return tls(TlsFailure::UnexpectedMessage);
    };
    let content = &inner[..type_at];
    // RFC 8446 §5.1: nothing may interleave with a handshake message split across records.
    if !pending.is_empty() && inner[type_at] != CT_HANDSHAKE {
        return tls(TlsFailure::UnexpectedMessage);
    }
    match inner[type_at] {
        CT_APPLICATION_DATA => Expected::Data(content.to_vec()),
        CT_ALERT => match content {
            [_, 0] => Expected::PeerClosed,
            [_, description] => tls(TlsFailure::AlertReceived(*description)),
            _ => tls(TlsFailure::DecodeError),
        },
        // RFC 8446 §5.1: no zero-length handshake fragments.
        CT_HANDSHAKE if content.is_empty() => tls(TlsFailure::UnexpectedMessage),
        CT_HANDSHAKE => {
            pending.extend_from_slice(content);
            if let [_, a, b, c, rest @ ..] = &pending[..] {
                let len = usize::from(*a) << 16 | usize::from(*b) << 8 | usize::from(*c);
                if len > MAX_HANDSHAKE_BODY {
                    return tls(TlsFailure::DecodeError);
                }
                if rest.len() >= len {
                    return Expected::AnyError;
                }
            }
            Expected::Data(Vec::new())
        }
        _ => tls(TlsFailure::UnexpectedMessage),
    }
}

/// The record length at the front of `buf` by RFC 8446 §5.1/§5.2.
fn reference_record_len(buf: &[u8]) -> Result<Option<usize>, NetError> {
    let [_, _, _, hi, lo, ..] = buf else {
        return Ok(None);
    };
    let len = usize::from(u16::from_be_bytes([*hi, *lo]));
    if len > MAX_CIPHERTEXT {
        return Err(NetError::Tls(TlsFailure::RecordOverflow));
    }
    Ok((buf.len() >= HEADER_LEN + len).then_some(HEADER_LEN + len))
}

/// A record sealed unmodified as application data: where it starts on the wire, its sequence
/// number and its content.
struct Promise {
    at: usize,
    seq: u64,
    content: Vec<u8>,
}

/// Runs a script (see the module docs) into wire bytes and the records that must open.
fn build_wire(
    script: &[u8],
    peer: &TlsFuzzKeys,
    sender: &mut RecordLayer,
) -> (Vec<u8>, Vec<Promise>) {
    let mut wire = Vec::new();
    let mut promises = Vec::new();
    let mut seq = 0u64;
    let mut rest = script;
    while let [op, hi, lo, tail @ ..] = rest {
        let len = usize::from(u16::from_be_bytes([*hi, *lo])).min(tail.len());
        let (payload, tail) = tail.split_at(len);
        rest = tail;
        match op & 3 {
            OP_SEAL_APP_DATA => {
                let content = &payload[..payload.len().min(MAX_PLAINTEXT)];
                let record = sealed_by_both(peer, sender, seq, content);
                promises.push(Promise {
                    at: wire.len(),
                    seq,
                    content: content.to_vec(),
                });
                wire.extend_from_slice(&record);
                seq += 1;
            }
            OP_SEAL_INNER => {
                // Up to a little past the largest legal record, so that overflows are reached.
                let inner = &payload[..payload.len().min(MAX_CIPHERTEXT)];
                wire.extend_from_slice(&peer.seal(seq, inner));
                // Keep the sender's sequence number in step with the reference's.
                sealed_by_both(peer, sender, seq, &[]);
                seq += 1;
            }
            OP_SEAL_AND_FLIP => {
                let [pos_hi, pos_lo, xor, data @ ..] = payload else {
                    continue;
                };
                let data = &data[..data.len().min(MAX_PLAINTEXT)];
                let mut record = sealed_by_both(peer, sender, seq, data);
                let at = usize::from(u16::from_be_bytes([*pos_hi, *pos_lo])) % record.len();
                record[at] ^= if *xor == 0 { 1 } else { *xor };
                wire.extend_from_slice(&record);
                seq += 1;
            }
            _ => wire.extend_from_slice(payload),
        }
    }
    (wire, promises)
}

/// Seals `content` with the layer's `seal_app_data` and with the reference; they must agree.
fn sealed_by_both(
    peer: &TlsFuzzKeys,
    sender: &mut RecordLayer,
    seq: u64,
    content: &[u8],
) -> Vec<u8> {
    let reference = peer.seal_app_data(seq, content);
    let mut out = vec![0; content.len() + HEADER_LEN + 1 + TAG_LEN];
    let written = sender
        .seal_app_data(content, &mut out)
        .expect("seal_app_data of at most 2^14 bytes into a buffer of the sealed size");
    assert_eq!(
        &out[..written],
        &reference[..],
        "seal_app_data of record {seq} differs from the reference"
    );
    reference
}

/// Feeds `wire` to `receiver` as `open_records` does (engine/net/src/pump.rs) and judges every
/// record; returns whether any record authenticated.
fn receive(
    receiver: &mut RecordLayer,
    peer: &TlsFuzzKeys,
    wire: &mut [u8],
    promises: &[Promise],
) -> bool {
    let mut authenticated = false;
    let mut at = 0;
    let mut seq = 0u64;
    let mut pending = Vec::new();
    loop {
        let len = RecordLayer::complete_record_len(&wire[at..]);
        assert_eq!(
            len,
            reference_record_len(&wire[at..]),
            "complete_record_len at offset {at}"
        );
        let Ok(Some(len)) = len else {
            return authenticated;
        };
        let record = &mut wire[at..at + len];
        let inner = peer.open(seq, record);
        let mut delivered: Vec<Vec<u8>> = Vec::new();
        let outcome = receiver.open_record(record, &mut |bytes| {
            delivered.push(bytes.to_vec());
            Ok(())
        });
        let promise = promises.iter().find(|p| p.at == at && p.seq == seq);
        match inner {
            None => {
                assert!(
                    delivered.is_empty(),
                    "record {seq} at offset {at} failed authentication but handed over plaintext"
                );
                assert!(
                    outcome.is_err(),
                    "record {seq} at offset {at} failed authentication but was accepted: {outcome:?}"
                );
                assert!(
                    promise.is_none(),
                    "record {seq} at offset {at} was sealed unmodified but does not authenticate"
                );
            }
            Some(inner) => {
                authenticated = true;
                let split_handshake_pending = !pending.is_empty();
                let expected = expected(&inner, &mut pending);
                match &expected {
                    Expected::Data(content) => {
                        assert_eq!(outcome, Ok(RecordOutcome::Continue), "record {seq}");
                        let wanted: Vec<Vec<u8>> = if content.is_empty() {
                            Vec::new()
                        } else {
                            vec![content.clone()]
                        };
                        assert_eq!(delivered, wanted, "record {seq}: application data");
                    }
                    Expected::PeerClosed => {
                        assert_eq!(outcome, Ok(RecordOutcome::PeerClosed), "record {seq}");
                        assert!(delivered.is_empty());
                    }
                    Expected::Error(error) => {
                        assert_eq!(outcome, Err(*error), "record {seq}");
                        assert!(delivered.is_empty());
                    }
                    Expected::AnyError => {
                        assert!(outcome.is_err(), "record {seq}: {outcome:?}");
                        assert!(delivered.is_empty());
                    }
                }
                if let Some(promise) = promise {
                    // Sealed application data opens to its content, except right after part of a
                    // handshake message: RFC 8446 §5.1 forbids interleaving, so it must be refused.
                    let opened_as_promised = if split_handshake_pending {
                        expected == Expected::Error(NetError::Tls(TlsFailure::UnexpectedMessage))
                    } else {
                        matches!(&expected, Expected::Data(c) if *c == promise.content)
                    };
                    assert!(
                        opened_as_promised,
                        "record {seq}: sealed application data opened as {expected:?}"
                    );
                }
            }
        }
        if outcome == Ok(RecordOutcome::Continue) {
            assert_eq!(
                receiver.handshake_pending(),
                !pending.is_empty(),
                "record {seq}: a split handshake message kept"
            );
        }
        if outcome != Ok(RecordOutcome::Continue) {
            // An error or close_notify ends the connection: nothing after it is read.
            return authenticated;
        }
        at += len;
        seq += 1;
    }
}

/// See the module docs.
pub fn tls_records(data: &[u8]) -> Verdict {
    let [mode, rest @ ..] = data else {
        return Verdict::Rejected;
    };
    let peer = TlsFuzzKeys::for_input(*mode);
    let secrets = peer.traffic_secrets();
    let mut receiver = RecordLayer::with_fixed_keys(&secrets).expect("a supported suite and key");
    let (mut wire, promises) = if mode & MODE_SCRIPT != 0 {
        let mut sender = RecordLayer::with_fixed_keys(&secrets).expect("a supported suite and key");
        build_wire(rest, &peer, &mut sender)
    } else {
        (rest.to_vec(), Vec::new())
    };
    Verdict::from_accepted(receive(&mut receiver, &peer, &mut wire, &promises))
}
