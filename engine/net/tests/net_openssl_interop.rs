//! Interop of kspin's TLS 1.3 record layer with a server someone else wrote: `openssl s_server`
//! (Debian package `openssl`; `.ci/run` installs it when missing) on 127.0.0.1, with its `-msg`
//! trace on stdout. The test plays the WebSocket server through s_server's stdin and stdout:
//! it reads our upgrade request from stdout, writes the 101 response and every server frame to
//! stdin (each stdin read becomes one SSL_write, so one or more records), and sends s_server's
//! own commands (`k`, `K`: key updates; `q`: close with close_notify).
//!
//! Covered: session tickets (several, and one split across records by `-max_send_frag 512`),
//! key updates both ways (the server's, with and without update_requested; ours, asked for and
//! spontaneous, checked by s_server decrypting what follows), 1-byte and maximal (2^14) records,
//! our close with close_notify (s_server reads it), closes without close_notify (s_server's `q`,
//! which in OpenSSL 3.0 closes the socket before its close_notify, and the server process
//! killed), and a record tampered by a proxy in the test (refused, and s_server receives our
//! bad_record_mac). A server's close_notify is tested against rustls in
//! `src/tls_record_tests.rs`.
//! Every wait is a hang guard, never a timing assertion.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kspin_net::{
    ConnLimits, Connection, Endpoint, HandshakeState, NetError, TlsFailure, TlsSettings,
};

/// Hang guard of every wait.
const DEADLINE: Duration = Duration::from_secs(60);

/// A server name of 253 characters (the DNS maximum): s_server keeps the acknowledged name in
/// the session, which makes its tickets long enough (with a 32-byte session id context) to be
/// split across records of `-max_send_frag 512`.
fn long_name() -> String {
    let label = |c: char, n: usize| std::iter::repeat_n(c, n).collect::<String>();
    format!(
        "{}.{}.{}.{}",
        label('a', 63),
        label('b', 63),
        label('c', 63),
        label('d', 61)
    )
}

struct Certificate {
    dir: std::path::PathBuf,
    pem: String,
}

fn certificate(tag: &str) -> Certificate {
    let key = rcgen::KeyPair::generate().expect("key");
    let params =
        rcgen::CertificateParams::new(vec!["localhost".to_string(), long_name()]).expect("params");
    let cert = params.self_signed(&key).expect("certificate");
    let dir = std::env::temp_dir().join(format!("kspin-openssl-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("cert.pem"), cert.pem()).expect("write cert");
    std::fs::write(dir.join("key.pem"), key.serialize_pem()).expect("write key");
    Certificate {
        dir,
        pem: cert.pem(),
    }
}

/// A running `openssl s_server` and everything it printed.
struct SServer {
    child: Child,
    stdin: ChildStdin,
    out: Arc<Mutex<Vec<u8>>>,
    port: u16,
    cert: Certificate,
}

impl SServer {
    fn start(tag: &str, extra: &[&str]) -> SServer {
        let cert = certificate(tag);
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let c = cert.dir.join("cert.pem");
        let k = cert.dir.join("key.pem");
        let mut child = Command::new("openssl")
            .args(["s_server", "-accept", &format!("127.0.0.1:{port}")])
            .arg("-cert")
            .arg(&c)
            .arg("-key")
            .arg(&k)
            .arg("-cert2")
            .arg(&c)
            .arg("-key2")
            .arg(&k)
            .args(["-servername", &long_name(), "-tls1_3", "-msg"])
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("openssl is not installed: apt-get install -y openssl (see the README)");
        let out = Arc::new(Mutex::new(Vec::new()));
        for pipe in [
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let out = Arc::clone(&out);
            std::thread::spawn(move || {
                let mut pipe = pipe;
                let mut buf = [0u8; 65536];
                while let Ok(n) = pipe.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    out.lock().expect("output").extend_from_slice(&buf[..n]);
                }
            });
        }
        let stdin = child.stdin.take().expect("stdin");
        let server = SServer {
            child,
            stdin,
            out,
            port,
            cert,
        };
        server.wait_for("ACCEPT");
        server
    }

    fn output(&self) -> Vec<u8> {
        self.out.lock().expect("output").clone()
    }

    fn printed(&self, needle: &str) -> usize {
        count(&self.output(), needle.as_bytes())
    }

    fn wait_for(&self, needle: &str) {
        let start = Instant::now();
        while self.printed(needle) == 0 {
            assert!(
                start.elapsed() < DEADLINE,
                "s_server never printed {needle:?}: {}",
                String::from_utf8_lossy(&self.output())
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn write(&mut self, bytes: &[u8]) {
        self.stdin.write_all(bytes).expect("s_server stdin");
        self.stdin.flush().expect("s_server stdin");
    }

    /// One unmasked text frame (RFC 6455 §5.2) from the server.
    fn send_text(&mut self, text: &[u8]) {
        self.write(&server_frame(text));
    }
}

impl Drop for SServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.cert.dir);
    }
}

fn count(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .filter(|w| *w == needle)
        .count()
}

fn server_frame(text: &[u8]) -> Vec<u8> {
    let mut frame = vec![0x81];
    match text.len() {
        n if n < 126 => frame.push(n as u8),
        n if n <= 0xffff => {
            frame.push(126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            frame.push(127);
            frame.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(text);
    frame
}

/// Whether s_server printed a masked client text frame carrying `text` (under 126 bytes).
fn received_client_text(out: &[u8], text: &[u8]) -> bool {
    let len = text.len();
    out.windows(2 + 4 + len).any(|w| {
        w[0] == 0x81
            && usize::from(w[1]) == 0x80 | len
            && w[6..]
                .iter()
                .enumerate()
                .all(|(i, b)| b ^ w[2 + i % 4] == text[i])
    })
}

/// Connects through `port` (s_server's or a proxy's) and completes TLS and the upgrade, playing
/// the WebSocket server through s_server.
fn open(server: &mut SServer, port: u16) -> Connection {
    let endpoint = Endpoint::parse(&format!("wss://127.0.0.1:{port}/v2")).expect("endpoint");
    let tls = TlsSettings {
        extra_root_pem: Some(server.cert.pem.clone()),
        use_webpki_roots: false,
        server_name_override: Some(long_name()),
    };
    let mut conn = Connection::connect(&endpoint, &tls, ConnLimits::default()).expect("connect");
    let start = Instant::now();
    let mut answered = false;
    loop {
        match conn.poll_handshake().expect("handshake") {
            HandshakeState::Open => return conn,
            HandshakeState::InProgress => {}
        }
        if !answered {
            let out = server.output();
            let text = String::from_utf8_lossy(&out);
            if let Some(at) = text.find("Sec-WebSocket-Key: ") {
                if let Some(end) = text[at..].find("\r\n") {
                    let key = &text[at + "Sec-WebSocket-Key: ".len()..at + end];
                    let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
                    let response = format!(
                        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
                         Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
                    );
                    server.write(response.as_bytes());
                    answered = true;
                }
            }
        }
        assert!(start.elapsed() < DEADLINE, "handshake stalled");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Reads until `done` holds (collecting texts), or fails on an error.
fn read_until(
    conn: &mut Connection,
    texts: &mut Vec<Vec<u8>>,
    done: impl Fn(&Connection, &[Vec<u8>]) -> bool,
) {
    let start = Instant::now();
    while !done(conn, texts) {
        conn.read_frames(|t| texts.push(t.to_vec()))
            .expect("connection ended");
        assert!(start.elapsed() < DEADLINE, "read stalled");
        std::thread::sleep(Duration::from_micros(200));
    }
}

fn read_texts(conn: &mut Connection, n: usize) -> Vec<Vec<u8>> {
    let mut texts = Vec::new();
    read_until(conn, &mut texts, |_, t| t.len() >= n);
    texts
}

fn read_error(conn: &mut Connection) -> (Vec<Vec<u8>>, NetError) {
    let mut texts = Vec::new();
    let start = Instant::now();
    loop {
        if let Err(e) = conn.read_frames(|t| texts.push(t.to_vec())) {
            return (texts, e);
        }
        assert!(start.elapsed() < DEADLINE, "no error arrived");
        std::thread::sleep(Duration::from_micros(200));
    }
}

fn send_and_flush(conn: &mut Connection, text: &[u8]) {
    conn.send_text(text).expect("send");
    let start = Instant::now();
    while conn.flush().expect("flush") != kspin_net::FlushState::Done {
        assert!(start.elapsed() < DEADLINE, "flush stalled");
    }
}

#[test]
fn tickets_key_updates_both_ways_and_records_of_every_size() {
    let mut server = SServer::start("updates", &["-num_tickets", "3"]);
    let port = server.port;
    let mut conn = open(&mut server, port);
    server.send_text(b"first");
    assert_eq!(read_texts(&mut conn, 1), [b"first".to_vec()]);
    let tls = conn.tls_counters().expect("TLS established");
    assert_eq!((tls.tickets, tls.key_updates_received), (3, 0));

    // The server's key update, without and with update_requested, each followed by data.
    server.write(b"k\n");
    let mut texts = Vec::new();
    read_until(&mut conn, &mut texts, |c, _| {
        c.tls_counters()
            .is_some_and(|t| t.key_updates_received == 1)
    });
    server.send_text(b"after k");
    assert_eq!(read_texts(&mut conn, 1), [b"after k".to_vec()]);
    server.write(b"K\n");
    read_until(&mut conn, &mut texts, |c, _| {
        c.tls_counters().is_some_and(|t| t.key_updates_sent == 1)
    });
    let tls = conn.tls_counters().expect("TLS");
    assert_eq!(
        (tls.key_updates_received, tls.key_updates_requested),
        (2, 1)
    );
    server.send_text(b"after K");
    assert_eq!(read_texts(&mut conn, 1), [b"after K".to_vec()]);
    // s_server decrypts what we send under our new key, and under the one after our own
    // spontaneous update.
    send_and_flush(&mut conn, b"client after our reply");
    assert!(conn.request_key_update());
    send_and_flush(&mut conn, b"client after our own update");
    let start = Instant::now();
    while !received_client_text(&server.output(), b"client after our own update") {
        assert!(
            start.elapsed() < DEADLINE,
            "s_server never decrypted our data"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let out = server.output();
    assert!(received_client_text(&out, b"client after our reply"));
    assert_eq!(
        count(&out, b"<<< TLS 1.3, Handshake [length 0005], KeyUpdate"),
        2
    );
    assert_eq!(conn.tls_counters().expect("TLS").key_updates_sent, 2);

    // A maximal record: s_server writes what one stdin read gave it, up to 2^14 bytes per record
    // (record length 0x4011: 2^14 + type byte + 16-byte tag).
    let big: Vec<u8> = (0..40_000).map(|i| b'a' + (i % 26) as u8).collect();
    let before = count(&server.output(), b"17 03 03 40 11");
    server.send_text(&big);
    assert_eq!(read_texts(&mut conn, 1), [big]);
    assert!(count(&server.output(), b"17 03 03 40 11") > before);
    // 1-byte records: one stdin byte at a time, each read by the client before the next.
    let frame = server_frame(b"0123456789");
    let before = count(&server.output(), b"17 03 03 00 12");
    let mut texts = Vec::new();
    for byte in &frame {
        let opened = conn.tls_counters().expect("TLS").records_opened;
        server.write(&[*byte]);
        read_until(&mut conn, &mut texts, |c, _| {
            c.tls_counters().is_some_and(|t| t.records_opened > opened)
        });
    }
    assert_eq!(texts, [b"0123456789".to_vec()]);
    assert_eq!(
        count(&server.output(), b"17 03 03 00 12") - before,
        frame.len()
    );

    // Our orderly close: WebSocket close, then close_notify, which s_server reads.
    conn.close();
    server.wait_for("close_notify");
    assert!(
        count(
            &server.output(),
            b"<<< TLS 1.3, Alert [length 0002], warning close_notify"
        ) >= 1
    );
}

#[test]
fn a_ticket_split_across_records_is_joined() {
    let mut server = SServer::start(
        "split",
        &[
            "-num_tickets",
            "2",
            "-max_send_frag",
            "512",
            "-context",
            "0123456789abcdef0123456789abcdef",
        ],
    );
    let port = server.port;
    let mut conn = open(&mut server, port);
    server.send_text(b"after the tickets");
    assert_eq!(read_texts(&mut conn, 1), [b"after the tickets".to_vec()]);
    let tls = conn.tls_counters().expect("TLS");
    assert_eq!((tls.tickets, tls.joined_messages), (2, 2));
    // Each ticket was longer than one 512-byte record.
    assert_eq!(
        count(
            &server.output(),
            b">>> TLS 1.3, Handshake [length 0209], NewSessionTicket"
        ),
        2
    );
}

#[test]
fn closes_without_close_notify_are_reported_as_such() {
    // s_server's `q` ends the connection, but OpenSSL 3.0 closes the socket before it writes
    // its close_notify (the trace shows the alert after "DONE"): what arrives is a bare FIN.
    let mut server = SServer::start("close", &[]);
    let port = server.port;
    let mut conn = open(&mut server, port);
    server.send_text(b"bye soon");
    assert_eq!(read_texts(&mut conn, 1), [b"bye soon".to_vec()]);
    server.write(b"q\n");
    let (texts, err) = read_error(&mut conn);
    assert!(texts.is_empty());
    assert_eq!(err, NetError::TlsNoCloseNotify);
    server.wait_for("DONE");

    // The server process dies.
    let mut server = SServer::start("kill", &[]);
    let port = server.port;
    let mut conn = open(&mut server, port);
    server.send_text(b"still here");
    assert_eq!(read_texts(&mut conn, 1), [b"still here".to_vec()]);
    server.child.kill().expect("kill s_server");
    let (texts, err) = read_error(&mut conn);
    assert!(texts.is_empty());
    assert_eq!(err, NetError::TlsNoCloseNotify);
}

/// A TCP proxy that forwards both ways and, when asked, flips one bit in the body of the next
/// application-data record from the server.
fn tampering_proxy(target: u16) -> (u16, Arc<AtomicU32>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("proxy listener");
    let port = listener.local_addr().expect("proxy address").port();
    let tamper = Arc::new(AtomicU32::new(0));
    let flag = Arc::clone(&tamper);
    std::thread::spawn(move || {
        let Ok((client, _)) = listener.accept() else {
            return;
        };
        let Ok(upstream) = TcpStream::connect(("127.0.0.1", target)) else {
            return;
        };
        let (mut c_read, mut u_write) = (
            client.try_clone().expect("clone"),
            upstream.try_clone().expect("clone"),
        );
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut c_read, &mut u_write);
        });
        let (mut u_read, mut c_write) = (upstream, client);
        // Server to client, one whole record at a time.
        loop {
            let mut header = [0u8; 5];
            if u_read.read_exact(&mut header).is_err() {
                break;
            }
            let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
            let mut body = vec![0u8; len];
            if u_read.read_exact(&mut body).is_err() {
                break;
            }
            if header[0] == 23 && flag.load(Ordering::SeqCst) > 0 {
                body[len / 2] ^= 0x04;
                flag.fetch_sub(1, Ordering::SeqCst);
            }
            if c_write.write_all(&header).is_err() || c_write.write_all(&body).is_err() {
                break;
            }
        }
        let _ = c_write.shutdown(std::net::Shutdown::Both);
    });
    (port, tamper)
}

#[test]
fn a_tampered_record_is_refused_and_answered_with_bad_record_mac() {
    let mut server = SServer::start("tamper", &["-num_tickets", "2"]);
    let (proxy, tamper) = tampering_proxy(server.port);
    let mut conn = open(&mut server, proxy);
    server.send_text(b"clean");
    assert_eq!(read_texts(&mut conn, 1), [b"clean".to_vec()]);
    assert_eq!(conn.tls_counters().expect("TLS").tickets, 2);
    tamper.store(1, Ordering::SeqCst);
    server.send_text(b"tampered in flight");
    let (texts, err) = read_error(&mut conn);
    assert!(
        texts.is_empty(),
        "no plaintext from a record that failed: {texts:?}"
    );
    assert_eq!(err, NetError::Tls(TlsFailure::Decrypt));
    assert!(!conn.is_open());
    server.wait_for("bad_record_mac");
    assert_eq!(
        count(
            &server.output(),
            b"<<< TLS 1.3, Alert [length 0002], fatal bad_record_mac"
        ),
        1
    );
}
