//! Cost of one idle busy-poll iteration on the engine's socket: a direct non-blocking `read`
//! returning WouldBlock (what `kspin_net` does) versus a zero-timeout `mio::Poll::poll`
//! (`epoll_wait`), and the full `Connection::read_frames` on an idle open WebSocket.
//! Latencies per call from hdrhistogram (ns): p50/p99/p99.9/max, with ratios to the direct-read
//! baseline measured in the same run. Loopback only; a few seconds in total.
//!
//! Run: `cargo bench -p kspin-bench --bench net_idle`

use std::io::{ErrorKind, Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use kspin_net::{ConnLimits, Connection, Endpoint, HandshakeState, TlsSettings};
use mio::{Events, Interest, Poll, Token};

const ITERATIONS: u64 = 1_000_000;

struct Figures {
    name: &'static str,
    hist: Histogram<u64>,
}

fn measure(name: &'static str, mut op: impl FnMut()) -> Figures {
    for _ in 0..10_000 {
        op();
    }
    let mut hist = Histogram::<u64>::new_with_bounds(1, 10_000_000, 3).expect("histogram bounds");
    for _ in 0..ITERATIONS {
        let t = Instant::now();
        op();
        let ns = t.elapsed().as_nanos() as u64;
        hist.saturating_record(ns.max(1));
    }
    Figures { name, hist }
}

/// Accepts one connection and answers the WebSocket upgrade, then keeps the socket idle.
fn idle_ws_server(listener: TcpListener) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let Ok((mut s, _)) = listener.accept() else {
            return;
        };
        let mut req = Vec::new();
        let mut buf = [0u8; 4096];
        while !req.windows(4).any(|w| w == b"\r\n\r\n") {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => req.extend_from_slice(&buf[..n]),
            }
        }
        let text = String::from_utf8_lossy(&req);
        let key = text
            .lines()
            .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
            .unwrap_or("")
            .trim()
            .to_string();
        let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
        let resp = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {accept}\r\n\r\n"
        );
        let _ = s.write_all(resp.as_bytes());
        // Stay idle until the client goes away.
        let _ = s.read(&mut buf);
    })
}

fn main() {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    println!(
        "net_idle: {ITERATIONS} iterations per case, {cores} cores, no pinning, loopback, \
         server thread idle"
    );

    // Raw socket pair for the syscall comparison.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let mut client = mio::net::TcpStream::connect(addr).expect("connect");
    let (_server_side, _) = listener.accept().expect("accept");
    while client.peer_addr().is_err() {
        std::thread::yield_now();
    }
    let mut buf = [0u8; 4096];
    let direct = measure("direct read (WouldBlock)", || {
        let r = client.read(&mut buf);
        debug_assert!(matches!(r, Err(ref e) if e.kind() == ErrorKind::WouldBlock));
        std::hint::black_box(&r);
    });
    let mut poll = Poll::new().expect("poll");
    poll.registry()
        .register(&mut client, Token(0), Interest::READABLE)
        .expect("register");
    let mut events = Events::with_capacity(16);
    let epoll = measure("mio Poll::poll(0) (epoll_wait)", || {
        let r = poll.poll(&mut events, Some(Duration::ZERO));
        std::hint::black_box(&r);
    });

    // Full read_frames on an idle open plain WebSocket.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = idle_ws_server(listener);
    let endpoint = Endpoint::parse(&format!("ws://127.0.0.1:{port}/")).expect("url");
    let mut conn = Connection::connect(&endpoint, &TlsSettings::default(), ConnLimits::default())
        .expect("connect");
    while conn.poll_handshake().expect("handshake") != HandshakeState::Open {
        std::thread::yield_now();
    }
    let read_frames = measure("Connection::read_frames (idle)", || {
        let r = conn.read_frames(|_| {});
        std::hint::black_box(&r);
    });
    let clock = measure("empty (clock overhead)", || {});
    conn.close();
    let _ = server.join();

    let base = direct.hist.value_at_quantile(0.5) as f64;
    println!(
        "{:<34} {:>8} {:>8} {:>8} {:>9} {:>14}",
        "case (ns per call)", "p50", "p99", "p99.9", "max", "p50 / direct"
    );
    for f in [&direct, &epoll, &read_frames, &clock] {
        println!(
            "{:<34} {:>8} {:>8} {:>8} {:>9} {:>14.2}",
            f.name,
            f.hist.value_at_quantile(0.5),
            f.hist.value_at_quantile(0.99),
            f.hist.value_at_quantile(0.999),
            f.hist.max(),
            f.hist.value_at_quantile(0.5) as f64 / base
        );
    }
}
