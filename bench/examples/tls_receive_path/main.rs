//! Which TLS receive path is fastest, wire → payload in hand (issue 13, item 6): one WebSocket
//! text frame (Kraken-sized, 200 B, and 4 KiB) in one TLS 1.3 record, already in the client
//! socket's kernel receive queue, until the client holds the frame's payload as a slice. Same
//! thread, same loopback socket pair kind, same rustls server, same cipher suite
//! (TLS_AES_256_GCM_SHA384, rustls's first choice with ring), in interleaved rounds:
//!
//! - (a) `kspin_net::Connection::read_frames`: read syscall, kspin's record layer (ring AEAD,
//!   in place), kspin's frame decoder; allocates nothing.
//! - (b) rustls `UnbufferedClientConnection`: read syscall, `process_tls_records` +
//!   `ReadTraffic::next_record` (rustls decrypts, then copies the plaintext into a fresh `Vec`:
//!   one allocation per record), the frame header parsed by tungstenite's `FrameHeader` as
//!   kspin's decoder does; once with glibc malloc (b-malloc), once with every allocation of the
//!   measuring thread served by a preallocated bump arena whose frees are no-ops (b-arena: the
//!   cheapest any allocator can be).
//! - floor: the same number of bytes read from a plain TCP socket (no TLS, no WebSocket): the
//!   syscall and copy every path pays; `p50 − floor` is what each path adds to it.
//! - (c) kernel TLS: `setsockopt(TCP_ULP, "tls")` on a connected socket; the result (an errno on
//!   a kernel without the `tls` module) is printed, and no figure is made up.
//!
//! Every client socket is non-blocking and busy-polled, as kspin's core reads (a blocking read
//! would add a sleep and a wake-up whenever the record is still in the kernel's loopback path).
//! Each iteration: the server thread-side code (run inline, not timed) writes one record into its
//! socket; then the timer starts, the client reads until it holds the payload, the timer stops.
//! Histograms (hdrhistogram, ns from the TSC via quanta) per variant; ratios to (a) from the same
//! run. Run: `cargo run --release -p kspin-bench --example tls_receive_path [rounds]`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use hdrhistogram::Histogram;
use kspin_bench::harness::conditions::RunConditions;
use kspin_net::{ConnLimits, Connection, Endpoint, HandshakeState, TlsSettings};
use rustls::client::UnbufferedClientConnection;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::unbuffered::{ConnectionState, UnbufferedStatus};
use rustls::{ClientConfig, RootCertStore, ServerConfig, ServerConnection, StreamOwned};
use tungstenite::protocol::frame::FrameHeader;

mod arena;
mod memory;

use arena::arena;
use memory::memory_paths;

/// Iterations per variant per round, and rounds (variants interleave round by round).
const PER_ROUND: usize = 2_000;
const DEFAULT_ROUNDS: usize = 25;
const WARMUP: usize = 2_000;
const SIZES: [usize; 2] = [200, 4096];

// ---------------------------------------------------------------------------------------------
// Setup: certificate, server, the two clients.

fn certificate() -> (Arc<ServerConfig>, String) {
    let key = rcgen::KeyPair::generate().expect("key");
    let params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).expect("params");
    let cert = params.self_signed(&key).expect("cert");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("tls13")
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(cert.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .expect("server config");
    (Arc::new(config), cert.pem())
}

type ServerStream = StreamOwned<ServerConnection, TcpStream>;

/// Accepts one connection on a thread, completes TLS (and the WebSocket upgrade if `websocket`),
/// and hands the server stream back.
fn serve(
    listener: TcpListener,
    config: Arc<ServerConfig>,
    websocket: bool,
) -> std::thread::JoinHandle<ServerStream> {
    std::thread::spawn(move || {
        let (tcp, _) = listener.accept().expect("accept");
        tcp.set_nodelay(true).expect("nodelay");
        let mut s = StreamOwned::new(ServerConnection::new(config).expect("server"), tcp);
        while s.conn.is_handshaking() {
            s.conn.complete_io(&mut s.sock).expect("server handshake");
        }
        if websocket {
            tungstenite::accept(s).expect("ws accept").into_inner()
        } else {
            s
        }
    })
}

/// (a): kspin's connection, handshake by rustls, records by kspin.
fn kspin_client(config: &Arc<ServerConfig>, pem: &str) -> (Connection, ServerStream) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = serve(listener, Arc::clone(config), true);
    let endpoint = Endpoint::parse(&format!("wss://127.0.0.1:{port}/v2")).expect("url");
    let tls = TlsSettings {
        extra_root_pem: Some(pem.to_owned()),
        use_webpki_roots: false,
        server_name_override: Some("localhost".into()),
    };
    let mut conn = Connection::connect(&endpoint, &tls, ConnLimits::default()).expect("connect");
    while conn.poll_handshake().expect("handshake") == HandshakeState::InProgress {
        std::thread::yield_now();
    }
    (conn, server.join().expect("server thread"))
}

/// (b): rustls's unbuffered client on a blocking socket, after a full handshake.
struct RustlsClient {
    conn: UnbufferedClientConnection,
    sock: TcpStream,
    incoming: Vec<u8>,
    len: usize,
}

fn rustls_client(config: &Arc<ServerConfig>, pem: &str) -> (RustlsClient, ServerStream) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = serve(listener, Arc::clone(config), false);
    let mut conn =
        UnbufferedClientConnection::new(client_config(pem), localhost()).expect("client");
    let mut sock = TcpStream::connect(addr).expect("connect");
    sock.set_nodelay(true).expect("nodelay");
    let mut incoming = vec![0u8; 64 * 1024];
    let mut len = 0;
    let mut outgoing = vec![0u8; 64 * 1024];
    loop {
        let UnbufferedStatus { discard, state } = conn.process_tls_records(&mut incoming[..len]);
        let mut need_input = false;
        let mut done = false;
        match state.expect("client handshake") {
            ConnectionState::EncodeTlsData(mut data) => {
                let n = data.encode(&mut outgoing).expect("encode");
                sock.write_all(&outgoing[..n]).expect("send");
            }
            ConnectionState::TransmitTlsData(data) => data.done(),
            ConnectionState::BlockedHandshake => need_input = true,
            ConnectionState::WriteTraffic(_) => done = true,
            // Session tickets after the handshake: processed, nothing to do.
            ConnectionState::ReadTraffic(_) => {}
            _ => panic!("unexpected client state during the handshake"),
        }
        incoming.copy_within(discard..len, 0);
        len -= discard;
        if done {
            break;
        }
        if need_input {
            let n = sock.read(&mut incoming[len..]).expect("read");
            assert!(n > 0, "server closed during the handshake");
            len += n;
        }
    }
    let server = server.join().expect("server thread");
    sock.set_nonblocking(true).expect("nonblocking");
    (
        RustlsClient {
            conn,
            sock,
            incoming,
            len,
        },
        server,
    )
}

impl RustlsClient {
    /// Reads until one WebSocket text payload is in hand; returns its length.
    fn receive(&mut self) -> usize {
        loop {
            if let Some(n) = self.try_payload() {
                return n;
            }
            match self.sock.read(&mut self.incoming[self.len..]) {
                Ok(0) => panic!("server closed"),
                Ok(n) => self.len += n,
                // Busy-polled like kspin's socket: the record may still be on its way.
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => panic!("read: {e}"),
            }
        }
    }

    fn try_payload(&mut self) -> Option<usize> {
        take_payload(&mut self.conn, &mut self.incoming, &mut self.len)
    }
}

/// Processes what rustls's client has buffered in `incoming[..len]`: the payload length of the
/// first text frame found, the processed bytes discarded.
fn take_payload(
    conn: &mut UnbufferedClientConnection,
    incoming: &mut [u8],
    len: &mut usize,
) -> Option<usize> {
    loop {
        let UnbufferedStatus { mut discard, state } =
            conn.process_tls_records(&mut incoming[..*len]);
        let mut got = None;
        match state.expect("client traffic") {
            ConnectionState::ReadTraffic(mut traffic) => {
                while let Some(record) = traffic.next_record() {
                    let record = record.expect("record");
                    discard += record.discard;
                    got = Some(payload_len(record.payload));
                }
            }
            ConnectionState::WriteTraffic(_) => {}
            _ => panic!("unexpected client state"),
        }
        incoming.copy_within(discard..*len, 0);
        *len -= discard;
        if got.is_some() {
            return got;
        }
        // Records consumed (session tickets): look again before reading more.
        if discard == 0 {
            return None;
        }
    }
}

/// The payload of one whole unmasked server text frame, header parsed as kspin's decoder does.
fn payload_len(frame: &[u8]) -> usize {
    let mut cursor = std::io::Cursor::new(frame);
    let (_, len) = FrameHeader::parse(&mut cursor)
        .expect("frame header")
        .expect("whole header");
    let at = cursor.position() as usize;
    let payload = &frame[at..at + len as usize];
    std::hint::black_box(payload).len()
}

/// One unmasked WebSocket text frame with a `size`-byte JSON-ish payload.
fn frame(size: usize) -> Vec<u8> {
    let mut payload =
        br#"{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":"#
            .to_vec();
    while payload.len() < size {
        payload.extend_from_slice(b"9");
    }
    payload.truncate(size);
    let mut out = vec![0x81];
    match size {
        0..=125 => out.push(size as u8),
        126..=65535 => {
            out.push(126);
            out.extend_from_slice(&(size as u16).to_be_bytes());
        }
        _ => unreachable!("frames here are at most 4 KiB"),
    }
    out.extend_from_slice(&payload);
    out
}

/// Writes one frame as one TLS record into the server socket (not timed).
fn send(server: &mut ServerStream, frame: &[u8]) {
    server.write_all(frame).expect("server write");
    server.flush().expect("server flush");
}

// ---------------------------------------------------------------------------------------------
// Kernel TLS.

/// `setsockopt(TCP_ULP, "tls")` on a connected loopback socket: `Ok` if the kernel offers kTLS.
fn try_ktls() -> Result<(), std::io::Error> {
    use std::os::fd::AsRawFd;
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let sock = TcpStream::connect(listener.local_addr()?)?;
    let _peer = listener.accept()?;
    let ulp = b"tls";
    // SAFETY: a valid socket fd and a pointer/length pair for a live 3-byte buffer.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_ULP,
            ulp.as_ptr().cast(),
            ulp.len() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

// ---------------------------------------------------------------------------------------------

struct Variant {
    name: &'static str,
    hist: Histogram<u64>,
}

fn new_hist() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("histogram")
}

fn print_table(title: &str, frame_len: usize, variants: &[Variant], floor: Option<usize>) {
    let base = variants[0].hist.value_at_quantile(0.5) as f64;
    println!("\n## {title} ({frame_len} B frame, one TLS record)");
    println!("| path | n | p50 | p99 | p99.9 | max | p50 / (a) |");
    println!("|---|---|---|---|---|---|---|");
    for v in variants {
        let h = &v.hist;
        let p50 = h.value_at_quantile(0.5) as f64;
        println!(
            "| {} | {} | {} | {} | {} | {} | {:.2} |",
            v.name,
            h.len(),
            p50,
            h.value_at_quantile(0.99),
            h.value_at_quantile(0.999),
            h.max(),
            p50 / base
        );
    }
    if let Some(floor) = floor {
        let floor = variants[floor].hist.value_at_quantile(0.5) as f64;
        let added: Vec<String> = variants
            .iter()
            .map(|v| format!("{:.0}", v.hist.value_at_quantile(0.5) as f64 - floor))
            .collect();
        println!("p50 minus the floor's p50, per row: {}", added.join(", "));
    }
}

fn localhost() -> ServerName<'static> {
    ServerName::try_from("localhost").expect("name")
}

fn client_config(pem: &str) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for cert in rustls::pki_types::pem::PemObject::pem_slice_iter(pem.as_bytes()) {
        roots.add(cert.expect("pem")).expect("root");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .expect("tls13")
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(DEFAULT_ROUNDS);
    let clock = quanta::Clock::new();
    let conditions = RunConditions::gather(&clock);
    println!("# tls_receive_path: {rounds} rounds x {PER_ROUND} per variant, interleaved");
    println!("# run conditions: {conditions:?}");
    let ulp = std::fs::read_to_string("/proc/sys/net/ipv4/tcp_available_ulp")
        .unwrap_or_else(|e| format!("unreadable: {e}"));
    println!("# tcp_available_ulp: {}", ulp.trim());
    match try_ktls() {
        Ok(()) => println!("# (c) kTLS: setsockopt(TCP_ULP, \"tls\") succeeded: kTLS is offered"),
        Err(e) => println!(
            "# (c) kTLS: setsockopt(SOL_TCP, TCP_ULP, \"tls\") failed: {e} (errno {:?}); \
             no kTLS figure on this machine",
            e.raw_os_error()
        ),
    }

    let (config, pem) = certificate();
    for size in SIZES {
        let frame = frame(size);
        let (mut kspin, mut kspin_server) = kspin_client(&config, &pem);
        let (mut rustls, mut rustls_server) = rustls_client(&config, &pem);
        // The floor: the same number of bytes as the TLS record (frame + 5-byte header +
        // content type + 16-byte tag), read from a plain socket.
        let record_len = frame.len() + 22;
        let floor_listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let mut floor_client =
            TcpStream::connect(floor_listener.local_addr().expect("addr")).expect("connect");
        let (mut floor_server, _) = floor_listener.accept().expect("accept");
        floor_client.set_nodelay(true).expect("nodelay");
        floor_server.set_nodelay(true).expect("nodelay");
        floor_client.set_nonblocking(true).expect("nonblocking");
        let floor_bytes = vec![7u8; record_len];
        let mut floor_buf = vec![0u8; 64 * 1024];
        let mut variants = [
            Variant {
                name: "(a) kspin record layer",
                hist: new_hist(),
            },
            Variant {
                name: "(b) rustls unbuffered, glibc malloc",
                hist: new_hist(),
            },
            Variant {
                name: "(b) rustls unbuffered, bump arena",
                hist: new_hist(),
            },
            Variant {
                name: "floor: read() of as many bytes, plain TCP, no TLS/WS",
                hist: new_hist(),
            },
        ];
        let mut run = |which: usize, n: usize, record: bool, variants: &mut [Variant; 4]| {
            for _ in 0..n {
                let (server, got) = match which {
                    0 => {
                        send(&mut kspin_server, &frame);
                        let start = clock.raw();
                        let mut got = 0;
                        while got == 0 {
                            kspin
                                .read_frames(|payload| got = std::hint::black_box(payload).len())
                                .expect("read_frames");
                        }
                        (clock.delta_as_nanos(start, clock.raw()), got)
                    }
                    1 | 2 => {
                        send(&mut rustls_server, &frame);
                        arena(which == 2);
                        let start = clock.raw();
                        let got = rustls.receive();
                        let end = clock.raw();
                        arena(false);
                        (clock.delta_as_nanos(start, end), got)
                    }
                    _ => {
                        floor_server.write_all(&floor_bytes).expect("floor write");
                        let start = clock.raw();
                        let mut got = 0;
                        while got < record_len {
                            match floor_client.read(&mut floor_buf[got..]) {
                                Ok(n) => got += n,
                                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                                Err(e) => panic!("floor read: {e}"),
                            }
                        }
                        let end = clock.raw();
                        (clock.delta_as_nanos(start, end), size + got - record_len)
                    }
                };
                assert_eq!(got, size, "payload length");
                if record {
                    variants[which].hist.saturating_record(server.max(1));
                }
            }
        };
        for which in 0..4 {
            run(which, WARMUP, false, &mut variants);
        }
        for _ in 0..rounds {
            for which in 0..4 {
                run(which, PER_ROUND, true, &mut variants);
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        print_table(
            &format!("{size}-byte payload, through a loopback socket, ns"),
            frame.len(),
            &variants,
            Some(3),
        );
        memory_paths(size, &frame, rounds, &clock, &config, &pem);
        kspin.close();
    }
}
