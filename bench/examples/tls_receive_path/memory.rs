//! The in-memory half of `tls_receive_path`: the same receive paths without the socket (the
//! ciphertext is copied into the receive buffer, as the read syscall would), so the kernel's
//! share does not blur the comparison.
//!
//! Owns the in-memory sessions: kspin's record layer and frame decoder with fixed keys, and a
//! rustls unbuffered client with a rustls server after a full in-memory handshake. Only the
//! receive side is timed; sealing the next record is not.

use std::io::Write;
use std::sync::Arc;

use kspin_net::fuzzing::{FrameDecoder, RecordLayer, WsEvent};
use rustls::client::UnbufferedClientConnection;
use rustls::crypto::cipher::{AeadKey, Iv};
use rustls::unbuffered::{ConnectionState, UnbufferedStatus};
use rustls::ConnectionTrafficSecrets;
use rustls::{ServerConfig, ServerConnection};

use super::arena::arena;
use super::{client_config, localhost, new_hist, print_table, take_payload, Variant};
use super::{PER_ROUND, WARMUP};

/// (a) in memory: kspin's record layer and frame decoder (keys fixed, AES-256-GCM, as the rustls
/// handshake negotiates here; the fuzz targets' constructor, `kspin_net::fuzzing`).
struct MemoryKspin {
    sender: RecordLayer,
    receiver: RecordLayer,
    decoder: FrameDecoder,
    staging: Vec<u8>,
    staged: usize,
    buf: Vec<u8>,
}

fn memory_kspin() -> MemoryKspin {
    let secrets = || ConnectionTrafficSecrets::Aes256Gcm {
        key: AeadKey::from([0x42; 32]),
        iv: Iv::new([0x24; 12]),
    };
    MemoryKspin {
        sender: RecordLayer::with_fixed_keys(&secrets()).expect("sender"),
        receiver: RecordLayer::with_fixed_keys(&secrets()).expect("receiver"),
        decoder: FrameDecoder::new(1 << 20),
        staging: vec![0; 64 * 1024],
        staged: 0,
        buf: vec![0; 64 * 1024],
    }
}

impl MemoryKspin {
    /// Seals the next record (not timed).
    fn stage(&mut self, frame: &[u8]) {
        self.staged = self
            .sender
            .seal_app_data(frame, &mut self.staging)
            .expect("seal");
    }

    /// Copy in, open in place, decode: the payload length.
    fn receive(&mut self) -> usize {
        let n = self.staged;
        self.buf[..n].copy_from_slice(&self.staging[..n]);
        let decoder = &mut self.decoder;
        let mut got = 0;
        let mut sink = |plain: &[u8]| {
            decoder
                .feed(plain, &mut |event| {
                    if let WsEvent::Text(payload) = event {
                        got = std::hint::black_box(payload).len();
                    }
                    Ok(())
                })
                .map(|_| ())
        };
        self.receiver
            .open_record(&mut self.buf[..n], &mut sink)
            .expect("open");
        got
    }
}

/// (b) in memory: rustls's unbuffered client after a full handshake with a rustls server, both
/// in memory.
struct MemoryRustls {
    client: UnbufferedClientConnection,
    server: ServerConnection,
    incoming: Vec<u8>,
    len: usize,
    staging: Vec<u8>,
}

fn memory_rustls(config: &Arc<ServerConfig>, pem: &str) -> MemoryRustls {
    let mut client =
        UnbufferedClientConnection::new(client_config(pem), localhost()).expect("client");
    let mut server = ServerConnection::new(Arc::clone(config)).expect("server");
    let mut incoming = vec![0u8; 64 * 1024];
    let mut len = 0;
    let mut out = vec![0u8; 64 * 1024];
    loop {
        let UnbufferedStatus { discard, state } = client.process_tls_records(&mut incoming[..len]);
        let mut need_input = false;
        let mut done = false;
        match state.expect("client handshake") {
            ConnectionState::EncodeTlsData(mut data) => {
                let n = data.encode(&mut out).expect("encode");
                server.read_tls(&mut &out[..n]).expect("server reads");
                server.process_new_packets().expect("server handshake");
            }
            ConnectionState::TransmitTlsData(data) => data.done(),
            ConnectionState::BlockedHandshake => need_input = true,
            ConnectionState::WriteTraffic(_) => done = true,
            ConnectionState::ReadTraffic(_) => {}
            _ => panic!("unexpected client state during the handshake"),
        }
        incoming.copy_within(discard..len, 0);
        len -= discard;
        if done {
            break;
        }
        if need_input {
            let mut flight = Vec::new();
            server.write_tls(&mut flight).expect("server writes");
            assert!(!flight.is_empty(), "handshake stuck");
            incoming[len..len + flight.len()].copy_from_slice(&flight);
            len += flight.len();
        }
    }
    // Whatever the server still has (session tickets) is read with the first record.
    let mut staging = Vec::with_capacity(64 * 1024);
    server.write_tls(&mut staging).expect("server writes");
    incoming[len..len + staging.len()].copy_from_slice(&staging);
    len += staging.len();
    MemoryRustls {
        client,
        server,
        incoming,
        len,
        staging,
    }
}

impl MemoryRustls {
    /// Encrypts the next record on the server (not timed).
    fn stage(&mut self, frame: &[u8]) {
        self.server.writer().write_all(frame).expect("server write");
        self.staging.clear();
        self.server
            .write_tls(&mut self.staging)
            .expect("server writes");
    }

    /// Copy in, rustls decrypts and hands the record over: the payload length.
    fn receive(&mut self) -> usize {
        let n = self.staging.len();
        self.incoming[self.len..self.len + n].copy_from_slice(&self.staging);
        self.len += n;
        take_payload(&mut self.client, &mut self.incoming, &mut self.len).expect("a record")
    }
}

pub(crate) fn memory_paths(
    size: usize,
    frame: &[u8],
    rounds: usize,
    clock: &quanta::Clock,
    config: &Arc<ServerConfig>,
    pem: &str,
) {
    let mut kspin = memory_kspin();
    let mut rustls = memory_rustls(config, pem);
    println!(
        "# in memory, rustls negotiated {:?}",
        rustls.client.negotiated_cipher_suite().map(|s| s.suite())
    );
    let mut variants = [
        Variant {
            name: "(a) kspin record layer, in memory",
            hist: new_hist(),
        },
        Variant {
            name: "(b) rustls unbuffered, glibc malloc, in memory",
            hist: new_hist(),
        },
        Variant {
            name: "(b) rustls unbuffered, bump arena, in memory",
            hist: new_hist(),
        },
    ];
    let mut run = |which: usize, n: usize, record: bool, variants: &mut [Variant; 3]| {
        for _ in 0..n {
            let (ns, got) = if which == 0 {
                kspin.stage(frame);
                let start = clock.raw();
                let got = kspin.receive();
                (clock.delta_as_nanos(start, clock.raw()), got)
            } else {
                rustls.stage(frame);
                arena(which == 2);
                let start = clock.raw();
                let got = rustls.receive();
                let end = clock.raw();
                arena(false);
                (clock.delta_as_nanos(start, end), got)
            };
            assert_eq!(got, size, "payload length");
            if record {
                variants[which].hist.saturating_record(ns.max(1));
            }
        }
    };
    for which in 0..3 {
        run(which, WARMUP, false, &mut variants);
    }
    for _ in 0..rounds {
        for which in 0..3 {
            run(which, PER_ROUND, true, &mut variants);
        }
    }
    print_table(
        &format!("{size}-byte payload, in memory (ciphertext copied in, no syscall), ns"),
        frame.len(),
        &variants,
        None,
    );
}
