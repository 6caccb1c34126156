//! Loopback WebSocket server for the `net` tests: std thread, blocking tungstenite, optional
//! rustls `ServerConnection` with an rcgen self-signed certificate for `localhost`. 127.0.0.1 only.
//! Also client-side helpers that drive a `Connection` with a generous deadline (a hang guard, not
//! a timing assertion).

#![allow(dead_code)]

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use kspin_net::{ConnLimits, Connection, Endpoint, HandshakeState, NetError, TlsSettings};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};
use tungstenite::WebSocket;

/// Hang guard for loops in tests; generous so a loaded 2-core machine never trips it.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// The server side of one accepted connection.
pub enum ServerStream {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ServerConnection, TcpStream>>),
}

impl ServerStream {
    fn tcp(&self) -> &TcpStream {
        match self {
            ServerStream::Plain(s) => s,
            ServerStream::Tls(s) => &s.sock,
        }
    }

    /// Closes TCP without any TLS close_notify or WebSocket close.
    pub fn abort(&mut self) {
        let _ = self.tcp().shutdown(Shutdown::Both);
    }

    /// Sends TLS close_notify (TLS only), then closes TCP.
    pub fn close_notify_and_shutdown(&mut self) {
        if let ServerStream::Tls(s) = self {
            s.conn.send_close_notify();
            let _ = s.flush();
        }
        let _ = self.tcp().shutdown(Shutdown::Both);
    }

    /// The rustls session (TLS only).
    pub fn tls_conn(&mut self) -> Option<&mut ServerConnection> {
        match self {
            ServerStream::Tls(s) => Some(&mut s.conn),
            ServerStream::Plain(_) => None,
        }
    }
}

impl Read for ServerStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            ServerStream::Plain(s) => s.read(buf),
            ServerStream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for ServerStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            ServerStream::Plain(s) => s.write(buf),
            ServerStream::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            ServerStream::Plain(s) => s.flush(),
            ServerStream::Tls(s) => s.flush(),
        }
    }
}

pub type ServerWs = WebSocket<ServerStream>;

/// A running one-connection server.
pub struct Server<T> {
    pub port: u16,
    pub tls: bool,
    /// PEM of the self-signed certificate (for `TlsSettings::extra_root_pem`).
    pub cert_pem: String,
    handle: JoinHandle<Result<T, String>>,
}

impl<T> Server<T> {
    /// Waits for the server thread and returns what its script returned.
    pub fn join(self) -> Result<T, String> {
        self.handle
            .join()
            .unwrap_or_else(|_| Err("server thread panicked".into()))
    }

    pub fn endpoint(&self) -> Endpoint {
        let scheme = if self.tls { "wss" } else { "ws" };
        Endpoint::parse(&format!("{scheme}://127.0.0.1:{}/v2", self.port)).unwrap()
    }

    /// Trusts exactly this server's certificate, verified as `localhost`.
    pub fn trust(&self) -> TlsSettings {
        TlsSettings {
            extra_root_pem: Some(self.cert_pem.clone()),
            use_webpki_roots: false,
            server_name_override: Some("localhost".into()),
        }
    }
}

fn server_config() -> (Arc<ServerConfig>, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    let cert = params.self_signed(&key).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(cert.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .unwrap();
    (Arc::new(config), cert.pem())
}

/// Starts a server that accepts one connection, completes TLS (if `tls`) and the WebSocket
/// upgrade, then runs `script`. Handshake failures end the thread with `Err`.
pub fn spawn<T: Send + 'static>(
    tls: bool,
    script: impl FnOnce(&mut ServerWs) -> Result<T, String> + Send + 'static,
) -> Server<T> {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (config, cert_pem) = server_config();
    let handle = std::thread::spawn(move || {
        let (tcp, _) = listener.accept().map_err(|e| e.to_string())?;
        tcp.set_nodelay(true).ok();
        let stream = if tls {
            let conn = ServerConnection::new(config).map_err(|e| e.to_string())?;
            let mut s = StreamOwned::new(conn, tcp);
            while s.conn.is_handshaking() {
                s.conn
                    .complete_io(&mut s.sock)
                    .map_err(|e| format!("server TLS handshake: {e}"))?;
            }
            ServerStream::Tls(Box::new(s))
        } else {
            ServerStream::Plain(tcp)
        };
        let mut ws = tungstenite::accept(stream).map_err(|e| format!("ws accept: {e}"))?;
        script(&mut ws)
    });
    Server {
        port,
        tls,
        cert_pem,
        handle,
    }
}

/// Starts a server that accepts `connections` connections one after the other, completes TLS
/// (if `tls`) and the WebSocket upgrade on each, and runs `script(index, ws)` on it (index from
/// 0). Returns what every script returned, in order.
pub fn spawn_serial<T: Send + 'static>(
    tls: bool,
    connections: usize,
    script: impl Fn(usize, &mut ServerWs) -> Result<T, String> + Send + 'static,
) -> Server<Vec<T>> {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (config, cert_pem) = server_config();
    let handle = std::thread::spawn(move || {
        let mut results = Vec::with_capacity(connections);
        for index in 0..connections {
            let (tcp, _) = listener.accept().map_err(|e| e.to_string())?;
            tcp.set_nodelay(true).ok();
            let stream = if tls {
                let conn = ServerConnection::new(Arc::clone(&config)).map_err(|e| e.to_string())?;
                let mut s = StreamOwned::new(conn, tcp);
                while s.conn.is_handshaking() {
                    s.conn
                        .complete_io(&mut s.sock)
                        .map_err(|e| format!("server TLS handshake {index}: {e}"))?;
                }
                ServerStream::Tls(Box::new(s))
            } else {
                ServerStream::Plain(tcp)
            };
            let mut ws = tungstenite::accept(stream).map_err(|e| format!("ws accept: {e}"))?;
            results.push(script(index, &mut ws)?);
        }
        Ok(results)
    });
    Server {
        port,
        tls,
        cert_pem,
        handle,
    }
}

/// Starts a server that accepts one connection and never answers on it, then serves the next
/// one as [`spawn`] does. The script gets the silent connection too (to check how it ended).
pub fn spawn_after_silent<T: Send + 'static>(
    tls: bool,
    script: impl FnOnce(&mut ServerWs, TcpStream) -> Result<T, String> + Send + 'static,
) -> Server<T> {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (config, cert_pem) = server_config();
    let handle = std::thread::spawn(move || {
        let (silent, _) = listener.accept().map_err(|e| e.to_string())?;
        let (tcp, _) = listener.accept().map_err(|e| e.to_string())?;
        let stream = if tls {
            let conn = ServerConnection::new(config).map_err(|e| e.to_string())?;
            let mut s = StreamOwned::new(conn, tcp);
            while s.conn.is_handshaking() {
                s.conn
                    .complete_io(&mut s.sock)
                    .map_err(|e| format!("server TLS handshake: {e}"))?;
            }
            ServerStream::Tls(Box::new(s))
        } else {
            ServerStream::Plain(tcp)
        };
        let mut ws = tungstenite::accept(stream).map_err(|e| format!("ws accept: {e}"))?;
        script(&mut ws, silent)
    });
    Server {
        port,
        tls,
        cert_pem,
        handle,
    }
}

/// Polls the handshake to completion or error.
pub fn handshake(conn: &mut Connection) -> Result<(), NetError> {
    let start = Instant::now();
    loop {
        match conn.poll_handshake()? {
            HandshakeState::Open => return Ok(()),
            HandshakeState::InProgress => {
                assert!(start.elapsed() < DEADLINE, "handshake stalled");
                std::thread::yield_now();
            }
        }
    }
}

/// Connects to `server` with its certificate trusted and completes the handshake.
pub fn open<T>(server: &Server<T>, limits: ConnLimits) -> Connection {
    let mut conn = Connection::connect(&server.endpoint(), &server.trust(), limits).unwrap();
    handshake(&mut conn).unwrap();
    assert!(conn.is_open());
    conn
}

/// Reads until `count` text messages arrived (owned copies) or an error.
pub fn read_texts(conn: &mut Connection, count: usize) -> Result<Vec<Vec<u8>>, NetError> {
    let mut out = Vec::new();
    let start = Instant::now();
    while out.len() < count {
        conn.read_frames(|t| out.push(t.to_vec()))?;
        assert!(
            start.elapsed() < DEADLINE,
            "read stalled at {} texts",
            out.len()
        );
        std::thread::yield_now();
    }
    Ok(out)
}

/// Reads (collecting texts) until the connection reports an error, which is returned.
pub fn read_until_error(conn: &mut Connection) -> (Vec<Vec<u8>>, NetError) {
    let mut out = Vec::new();
    let start = Instant::now();
    loop {
        if let Err(e) = conn.read_frames(|t| out.push(t.to_vec())) {
            return (out, e);
        }
        assert!(start.elapsed() < DEADLINE, "no error arrived");
        std::thread::yield_now();
    }
}

/// Small limits that force every slow path: reads smaller than frames, frames spanning records.
pub fn small_limits() -> ConnLimits {
    ConnLimits {
        max_frame_len: 200_000,
        read_buf: 4096,
        write_buf: 64 * 1024,
        tls_buf: 20_000,
    }
}

/// Deterministic text payload of `len` bytes.
pub fn payload(seed: usize, len: usize) -> String {
    (0..len)
        .map(|i| char::from(b'a' + ((i * 31 + seed * 7) % 26) as u8))
        .collect()
}
