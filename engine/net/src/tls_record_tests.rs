//! The record layer against rustls's own, for each of the three TLS 1.3 cipher suites: a real
//! handshake in memory (rustls's unbuffered client, handed over exactly as `Connection` does, and
//! a rustls server), then records sealed by rustls's record layer and opened by ours, and ours
//! opened by rustls. Cases rustls never sends (padding, zero-length data, several tickets in one
//! record, malformed messages) are sealed here with the server's traffic key, taken from the
//! secrets rustls hands over; the negative cases are in `negative` below.

use std::io::{Read, Write};
use std::sync::{Arc, OnceLock};

use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use rustls::client::UnbufferedClientConnection;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::unbuffered::ConnectionState;
use rustls::{ServerConfig, ServerConnection, SupportedCipherSuite};

use super::*;
use crate::tls_config::{client_config, TlsSettings};

#[path = "tls_record_negative_tests.rs"]
mod negative;

/// The three TLS 1.3 cipher suites (RFC 8446 §B.4) rustls's ring provider implements.
fn suites() -> [SupportedCipherSuite; 3] {
    use rustls::crypto::ring::cipher_suite as cs;
    [
        cs::TLS13_AES_128_GCM_SHA256,
        cs::TLS13_AES_256_GCM_SHA384,
        cs::TLS13_CHACHA20_POLY1305_SHA256,
    ]
}

struct TestCert {
    pem: String,
    der: CertificateDer<'static>,
    key: Vec<u8>,
}

fn cert() -> &'static TestCert {
    static CERT: OnceLock<TestCert> = OnceLock::new();
    CERT.get_or_init(|| {
        let key = rcgen::KeyPair::generate().expect("key pair");
        let params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).expect("params");
        let cert = params.self_signed(&key).expect("self-signed certificate");
        TestCert {
            pem: cert.pem(),
            der: cert.der().clone(),
            key: key.serialize_der(),
        }
    })
}

/// How the rustls server is set up.
#[derive(Clone, Copy)]
pub(super) struct ServerSetup {
    pub tickets: usize,
    pub max_fragment: Option<usize>,
}

pub(super) const QUIET: ServerSetup = ServerSetup {
    tickets: 0,
    max_fragment: None,
};

/// Seals records as the server would, with its traffic key (for what rustls never sends).
pub(super) struct Forger {
    key: LessSafeKey,
    iv: [u8; 12],
    pub seq: u64,
}

impl Forger {
    fn new(seq: u64, secrets: &ConnectionTrafficSecrets) -> Forger {
        let (alg, key, iv) = match secrets {
            ConnectionTrafficSecrets::Aes128Gcm { key, iv } => (&aead::AES_128_GCM, key, iv),
            ConnectionTrafficSecrets::Aes256Gcm { key, iv } => (&aead::AES_256_GCM, key, iv),
            ConnectionTrafficSecrets::Chacha20Poly1305 { key, iv } => {
                (&aead::CHACHA20_POLY1305, key, iv)
            }
            _ => panic!("not a TLS 1.3 suite"),
        };
        Forger {
            key: LessSafeKey::new(UnboundKey::new(alg, key.as_ref()).expect("key")),
            iv: iv.as_ref().try_into().expect("12-byte IV"),
            seq,
        }
    }

    /// Seals `inner` (content, type and padding) as the next record.
    pub fn seal_inner(&mut self, inner: &[u8]) -> Vec<u8> {
        let len = u16::try_from(inner.len() + TAG_LEN).expect("record length");
        let header = [
            CT_APPLICATION_DATA,
            3,
            3,
            len.to_be_bytes()[0],
            len.to_be_bytes()[1],
        ];
        let mut nonce = self.iv;
        for (n, s) in nonce[4..].iter_mut().zip(self.seq.to_be_bytes()) {
            *n ^= s;
        }
        self.seq = self.seq.wrapping_add(1);
        let mut record = header.to_vec();
        record.extend_from_slice(inner);
        let tag = self
            .key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(header),
                &mut record[RECORD_HEADER_LEN..],
            )
            .expect("seal");
        record.extend_from_slice(tag.as_ref());
        record
    }

    /// Seals `content` of `content_type` followed by `padding` zeros.
    pub fn seal(&mut self, content_type: u8, content: &[u8], padding: usize) -> Vec<u8> {
        let mut inner = content.to_vec();
        inner.push(content_type);
        inner.resize(inner.len() + padding, 0);
        self.seal_inner(&inner)
    }
}

/// A client record layer and the rustls server it shook hands with.
pub(super) struct Session {
    pub layer: RecordLayer,
    pub server: ServerConnection,
    /// The server's send key, for records rustls does not send (valid while the server itself
    /// sends nothing and no KeyUpdate happened).
    pub forger: Forger,
}

/// Runs a full handshake in memory with `suite` and hands the client over as `Connection` does.
pub(super) fn session(suite: SupportedCipherSuite, setup: ServerSetup) -> Session {
    let c = cert();
    let mut provider = rustls::crypto::ring::default_provider();
    provider.cipher_suites = vec![suite];
    let mut server_config = ServerConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("TLS 1.3")
        .with_no_client_auth()
        .with_single_cert(
            vec![c.der.clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(c.key.clone())),
        )
        .expect("server config");
    server_config.send_tls13_tickets = setup.tickets;
    server_config.max_fragment_size = setup.max_fragment;
    let mut server = ServerConnection::new(Arc::new(server_config)).expect("server");
    let settings = TlsSettings {
        extra_root_pem: Some(c.pem.clone()),
        ..TlsSettings::default()
    };
    let name = ServerName::try_from("localhost").expect("name");
    let mut client =
        UnbufferedClientConnection::new(client_config(&settings).expect("client config"), name)
            .expect("client");
    let mut incoming: Vec<u8> = Vec::new();
    let mut outgoing = vec![0u8; 1 << 16];
    let mut out_len = 0;
    enum Next {
        Again,
        Input,
        Done,
    }
    for _ in 0..100 {
        let status = client.process_tls_records(&mut incoming);
        let discard = status.discard;
        let next = match status.state.expect("client handshake") {
            ConnectionState::EncodeTlsData(mut data) => {
                out_len += data.encode(&mut outgoing[out_len..]).expect("encode");
                Next::Again
            }
            ConnectionState::TransmitTlsData(data) => {
                server
                    .read_tls(&mut &outgoing[..out_len])
                    .expect("server reads");
                server.process_new_packets().expect("server handshake");
                out_len = 0;
                data.done();
                Next::Again
            }
            ConnectionState::BlockedHandshake => Next::Input,
            ConnectionState::WriteTraffic(_) => Next::Done,
            _ => panic!("unexpected client state during the handshake"),
        };
        incoming.drain(..discard);
        match next {
            Next::Again => {}
            Next::Input => {
                server.write_tls(&mut incoming).expect("server writes");
            }
            Next::Done => {
                assert!(incoming.is_empty(), "nothing after the server's Finished");
                let (secrets, kernel) = client
                    .dangerous_into_kernel_connection()
                    .expect("hand-over");
                let forger = Forger::new(secrets.rx.0, &secrets.rx.1);
                let suite_matches = matches!(
                    (&secrets.rx.1, suite.suite()),
                    (
                        ConnectionTrafficSecrets::Aes128Gcm { .. },
                        rustls::CipherSuite::TLS13_AES_128_GCM_SHA256
                    ) | (
                        ConnectionTrafficSecrets::Aes256Gcm { .. },
                        rustls::CipherSuite::TLS13_AES_256_GCM_SHA384
                    ) | (
                        ConnectionTrafficSecrets::Chacha20Poly1305 { .. },
                        rustls::CipherSuite::TLS13_CHACHA20_POLY1305_SHA256
                    )
                );
                assert!(suite_matches, "negotiated {:?}", suite.suite());
                let layer = RecordLayer::new(
                    secrets,
                    kernel,
                    vec![0; super::JOIN_BUFFER_LEN].into_boxed_slice(),
                )
                .expect("record layer");
                assert!(!server.is_handshaking());
                return Session {
                    layer,
                    server,
                    forger,
                };
            }
        }
    }
    panic!("handshake did not finish");
}

/// What opening a byte stream did: the outcome of the last record opened (or the error) and
/// every piece of application data handed over.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Opened {
    pub result: Result<RecordOutcome, NetError>,
    pub data: Vec<u8>,
    pub records: usize,
}

/// Opens every complete record of `wire` as the pump does, stopping at an error or
/// close_notify.
pub(super) fn open_all(layer: &mut RecordLayer, wire: &[u8]) -> Opened {
    let mut buf = wire.to_vec();
    let mut data = Vec::new();
    let mut at = 0;
    let mut records = 0;
    let mut result = Ok(RecordOutcome::Continue);
    loop {
        match RecordLayer::complete_record_len(&buf[at..]) {
            Ok(Some(len)) => {
                let mut sink = |bytes: &[u8]| {
                    data.extend_from_slice(bytes);
                    Ok(())
                };
                result = layer.open_record(&mut buf[at..at + len], &mut sink);
                records += 1;
                at += len;
                if result != Ok(RecordOutcome::Continue) {
                    break;
                }
            }
            Ok(None) => break,
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    Opened {
        result,
        data,
        records,
    }
}

/// Everything the rustls server has to send.
pub(super) fn from_server(server: &mut ServerConnection) -> Vec<u8> {
    let mut wire = Vec::new();
    while server.wants_write() {
        server.write_tls(&mut wire).expect("server writes");
    }
    wire
}

/// The server sends `data` through rustls's record layer.
pub(super) fn server_sends(server: &mut ServerConnection, data: &[u8]) -> Vec<u8> {
    server.writer().write_all(data).expect("server writer");
    from_server(server)
}

/// Our layer seals `data` (in records of at most `chunk` bytes) and rustls's server opens it;
/// returns what the server's application read.
fn to_server(s: &mut Session, data: &[u8], chunk: usize) -> Vec<u8> {
    let mut wire = Vec::new();
    for piece in data.chunks(chunk) {
        let mut out = vec![0u8; s.layer.sealed_len(piece.len())];
        let n = s.layer.seal_app_data(piece, &mut out).expect("seal");
        wire.extend_from_slice(&out[..n]);
    }
    let mut reader = &wire[..];
    let mut got = Vec::new();
    while !reader.is_empty() {
        s.server.read_tls(&mut reader).expect("server reads");
        s.server
            .process_new_packets()
            .expect("rustls accepts our records");
        let mut buf = [0u8; 4096];
        loop {
            match s.server.reader().read(&mut buf) {
                Ok(0) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => panic!("server reader: {e}"),
            }
        }
    }
    got
}

fn ok(data: &[u8], records: usize) -> Opened {
    Opened {
        result: Ok(RecordOutcome::Continue),
        data: data.to_vec(),
        records,
    }
}

/// A valid NewSessionTicket body (RFC 8446 §4.6.1): lifetime, age_add, nonce, ticket,
/// extensions.
pub(super) fn ticket_body(nonce: u8) -> Vec<u8> {
    let mut body = vec![0, 0, 0x1c, 0x20, 1, 2, 3, 4, 1, nonce, 0, 8];
    body.extend_from_slice(b"tickets!");
    body.extend_from_slice(&[0, 0]);
    body
}

/// A handshake message: type, 24-bit length, body.
pub(super) fn handshake_message(msg_type: u8, body: &[u8]) -> Vec<u8> {
    let len = body.len() as u32;
    let mut m = vec![msg_type];
    m.extend_from_slice(&len.to_be_bytes()[1..]);
    m.extend_from_slice(body);
    m
}

#[test]
fn tickets_and_data_sealed_by_rustls_open_exactly() {
    for suite in suites() {
        let mut s = session(
            suite,
            ServerSetup {
                tickets: 3,
                max_fragment: None,
            },
        );
        // rustls sends its three tickets in one record.
        let mut wire = from_server(&mut s.server);
        wire.extend(server_sends(&mut s.server, b"hello"));
        assert_eq!(open_all(&mut s.layer, &wire), ok(b"hello", 2), "{suite:?}");
        let c = s.layer.counters();
        assert_eq!((c.tickets, c.records_opened, c.joined_messages), (3, 2, 0));
        assert!(!s.layer.handshake_pending());
    }
}

#[test]
fn tickets_split_across_records_by_rustls_are_joined() {
    for suite in suites() {
        // rustls's smallest fragment (32 bytes of plaintext per record) splits every ticket.
        let mut s = session(
            suite,
            ServerSetup {
                tickets: 2,
                max_fragment: Some(32),
            },
        );
        let mut wire = from_server(&mut s.server);
        let data: Vec<u8> = (0..200u8).collect();
        wire.extend(server_sends(&mut s.server, &data));
        let opened = open_all(&mut s.layer, &wire);
        assert_eq!(
            (&opened.result, &opened.data),
            (&Ok(RecordOutcome::Continue), &data)
        );
        let c = s.layer.counters();
        assert_eq!((c.tickets, c.joined_messages), (2, 2), "{suite:?}");
        assert!(opened.records > 10);
    }
}

#[test]
fn a_key_update_with_update_requested_then_data_in_one_read() {
    for suite in suites() {
        let mut s = session(suite, QUIET);
        s.server.refresh_traffic_keys().expect("key update");
        let mut wire = from_server(&mut s.server);
        wire.extend(server_sends(&mut s.server, b"under the new key"));
        assert_eq!(
            open_all(&mut s.layer, &wire),
            ok(b"under the new key", 2),
            "{suite:?}"
        );
        let c = s.layer.counters();
        assert_eq!((c.key_updates_received, c.key_updates_requested), (1, 1));
        assert!(s.layer.key_update_due(), "the peer asked for ours");
        // Ours goes out before our next record, and rustls reads what follows under it.
        assert_eq!(
            to_server(&mut s, b"ours rotated too", 64),
            b"ours rotated too"
        );
        assert_eq!(s.layer.counters().key_updates_sent, 1);
        assert!(!s.layer.key_update_due());
        // And the server's next key update works as well.
        s.server.refresh_traffic_keys().expect("second key update");
        let mut wire = from_server(&mut s.server);
        wire.extend(server_sends(&mut s.server, b"again"));
        assert_eq!(open_all(&mut s.layer, &wire), ok(b"again", 2));
        assert_eq!(to_server(&mut s, b"and again", 4), b"and again");
        assert_eq!(s.layer.counters().key_updates_sent, 2);
    }
}

#[test]
fn our_own_key_update_and_records_of_every_size_are_read_by_rustls() {
    for suite in suites() {
        let mut s = session(suite, QUIET);
        let big: Vec<u8> = (0..3 * MAX_PLAINTEXT + 7)
            .map(|i| (i % 251) as u8)
            .collect();
        assert_eq!(to_server(&mut s, &big, MAX_PLAINTEXT), big, "{suite:?}");
        s.layer.request_key_update();
        assert_eq!(to_server(&mut s, b"tiny", 1), b"tiny");
        assert_eq!(s.layer.counters().key_updates_sent, 1);
        // And rustls's records of every size open here.
        let wire = server_sends(&mut s.server, &big);
        assert_eq!(open_all(&mut s.layer, &wire), ok(&big, 4));
    }
}

#[test]
fn close_notify_both_ways() {
    for suite in suites() {
        let mut s = session(suite, QUIET);
        s.server.send_close_notify();
        let wire = from_server(&mut s.server);
        assert_eq!(
            open_all(&mut s.layer, &wire).result,
            Ok(RecordOutcome::PeerClosed),
            "{suite:?}"
        );
        let mut out = [0u8; 64];
        let n = s.layer.seal_close_notify(&mut out).expect("seal");
        s.server.read_tls(&mut &out[..n]).expect("server reads");
        let state = s
            .server
            .process_new_packets()
            .expect("close_notify accepted");
        assert!(state.peer_has_closed());
    }
}

#[test]
fn our_fatal_alert_reaches_rustls_as_that_alert() {
    for suite in suites() {
        let mut s = session(suite, QUIET);
        let mut out = [0u8; 64];
        let n = s
            .layer
            .seal_alert(alert::BAD_RECORD_MAC, &mut out)
            .expect("seal");
        s.server.read_tls(&mut &out[..n]).expect("server reads");
        let err = s.server.process_new_packets().expect_err("a fatal alert");
        assert_eq!(
            err,
            rustls::Error::AlertReceived(rustls::AlertDescription::BadRecordMac),
            "{suite:?}"
        );
    }
}

#[test]
fn padding_and_zero_length_data() {
    for suite in suites() {
        let mut s = session(suite, QUIET);
        let mut wire = s.forger.seal(CT_APPLICATION_DATA, b"padded", 200);
        wire.extend(s.forger.seal(CT_APPLICATION_DATA, b"", 0));
        wire.extend(s.forger.seal(CT_APPLICATION_DATA, b"", 31));
        // Padding up to the largest inner plaintext (2^14 + 1 bytes).
        wire.extend(s.forger.seal(CT_APPLICATION_DATA, b"x", MAX_PLAINTEXT - 1));
        wire.extend(s.forger.seal(CT_APPLICATION_DATA, b"end", 0));
        assert_eq!(
            open_all(&mut s.layer, &wire),
            ok(b"paddedxend", 5),
            "{suite:?}"
        );
    }
}

#[test]
fn several_tickets_in_one_record_and_one_ticket_over_many_records() {
    for suite in suites() {
        let mut s = session(suite, QUIET);
        let mut messages = Vec::new();
        for nonce in 0..3 {
            messages.extend(handshake_message(
                HS_NEW_SESSION_TICKET,
                &ticket_body(nonce),
            ));
        }
        let mut wire = s.forger.seal(CT_HANDSHAKE, &messages, 7);
        // One ticket a byte per record, then a ticket and the start of the next in one record.
        let one = handshake_message(HS_NEW_SESSION_TICKET, &ticket_body(9));
        for byte in &one {
            wire.extend(s.forger.seal(CT_HANDSHAKE, &[*byte], 0));
        }
        let mut two = one.clone();
        two.extend_from_slice(&one[..10]);
        wire.extend(s.forger.seal(CT_HANDSHAKE, &two, 0));
        wire.extend(s.forger.seal(CT_HANDSHAKE, &one[10..], 0));
        wire.extend(s.forger.seal(CT_APPLICATION_DATA, b"after", 0));
        let records = 1 + one.len() + 3;
        assert_eq!(
            open_all(&mut s.layer, &wire),
            ok(b"after", records),
            "{suite:?}"
        );
        let c = s.layer.counters();
        assert_eq!((c.tickets, c.joined_messages), (6, 2));
        assert!(!s.layer.handshake_pending());
    }
}
