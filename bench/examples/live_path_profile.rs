//! What the live receive path costs beyond the frame pipeline, on the workload of `kspin bench
//! throughput`'s engine limit (`engine_limit`, [`kspin_bench::harness::blast`]): pre-framed BTC/USD
//! depth-10 updates written over loopback by a sender thread as fast as the socket takes them,
//! read by an `EngineCore` (mio TCP, WebSocket frame parsing, the driver loop) with no strategies.
//!
//! Two modes on the same frames, so the difference is the read loop's own work:
//! - `live` (default): the sender thread and `EngineCore::poll` until every update is processed;
//!   prints messages, polls, reads and, natively, the engine thread's user and system CPU time per
//!   message (`getrusage(RUSAGE_THREAD)`: the system part is the kernel's receive copy and
//!   syscalls, which callgrind cannot see).
//! - `replay`: the same frame payloads straight through `Engine::replay_frame`.
//!
//! Instruction counts (deterministic; callgrind runs the two threads one at a time, which
//! changes nothing in what the engine thread executes per message):
//! `valgrind --tool=callgrind --toggle-collect='*live_path_profile::poll_once*' \
//!   target/release/examples/live_path_profile 100000 live` and
//! `... --toggle-collect='*live_path_profile::replay_all*' ... 100000 replay`;
//! divide each total by the messages printed.

use std::hint::black_box;
use std::io::Write;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use kspin_bench::harness::blast::blast_wire;
use kspin_net::Endpoint;
use kspin_runtime::plan::SymbolPlan;
use kspin_runtime::{Engine, EngineConfig, EngineCore, NoStrategies};
use kspin_sim::stream::book_stream;

const SYMBOL: &str = "BTC/USD";
const DEPTH: u16 = 10;

/// One driver iteration: what callgrind counts in `live` mode.
#[inline(never)]
fn poll_once<C: FnMut()>(mut poll: C) {
    poll();
}

/// Every frame through the pipeline: what callgrind counts in `replay` mode.
#[inline(never)]
fn replay_all(engine: &mut Engine<NoStrategies>, frames: &[&[u8]]) -> u64 {
    for (i, f) in frames.iter().enumerate() {
        engine.replay_frame(black_box(f), 1_000 + i as u64);
    }
    engine.pipeline().feed().counters().book_messages
}

/// The calling thread's (user, system) CPU time.
fn thread_times() -> (Duration, Duration) {
    // SAFETY: getrusage writes the struct we pass and nothing else; zeroed is a valid rusage.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, exclusively borrowed rusage for the call's duration.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) };
    if rc != 0 {
        return (Duration::ZERO, Duration::ZERO);
    }
    let d = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    (d(usage.ru_utime), d(usage.ru_stime))
}

fn main() {
    let updates: usize = std::env::args()
        .nth(1)
        .and_then(|d| d.parse().ok())
        .unwrap_or(100_000);
    let mode = std::env::args().nth(2).unwrap_or_else(|| "live".into());
    let stream = book_stream(SYMBOL, DEPTH, updates, 7).expect("stream");
    let plan = vec![SymbolPlan {
        symbol: SYMBOL.into(),
        depth: DEPTH,
        book: true,
        trade: false,
        ticker: false,
        precision: Some(stream.precision()),
    }];
    let want = updates as u64 + 1; // the snapshot too
    if mode == "replay" {
        let frames: Vec<&[u8]> = stream.frames().collect();
        let cfg = EngineConfig {
            symbols: plan,
            decoder: kspin_core::kraken::DecoderLimits::default(),
            policy: Default::default(),
            mode: kspin_core::feed::FeedMode::Passive,
        };
        let mut engine = Engine::new(&cfg, NoStrategies, quanta::Clock::new()).expect("engine");
        let n = replay_all(&mut engine, &frames);
        let c = engine.pipeline().feed().counters();
        println!(
            "replay: {n} book messages, checksum ok {} mismatch {}",
            c.checksum_ok, c.checksum_mismatch
        );
        return;
    }
    let wire = blast_wire(&stream, SYMBOL, DEPTH);
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let sender = std::thread::spawn(move || {
        let (socket, _) = listener.accept().expect("accept");
        socket.set_nodelay(true).expect("nodelay");
        let mut ws = tungstenite::accept(socket).expect("handshake");
        let socket = ws.get_mut();
        for chunk in wire.chunks(1 << 20) {
            socket.write_all(chunk).expect("write");
        }
        socket.flush().expect("flush");
        std::thread::sleep(Duration::from_secs(2));
    });
    let endpoint = Endpoint {
        host: "127.0.0.1".into(),
        port,
        path: "/v2".into(),
        tls: false,
    };
    let mut cfg = kspin_runtime::CoreConfig::new(plan);
    cfg.connect_timeout = Duration::from_secs(60);
    cfg.stall_timeout = Duration::from_secs(600);
    let transport = kspin_net::WsTransport::new(
        &endpoint,
        &kspin_net::TlsSettings::default(),
        kspin_net::ConnLimits::default(),
    )
    .expect("transport");
    let mut core =
        EngineCore::new(cfg, NoStrategies, transport, quanta::Clock::new()).expect("core");
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut first: Option<(Instant, (Duration, Duration), u64, u64)> = None;
    let mut polls = 0u64;
    loop {
        poll_once(|| core.poll());
        polls += 1;
        let done = core.feed().counters().book_messages;
        if first.is_none() && done > 0 {
            first = Some((Instant::now(), thread_times(), done, polls));
        }
        if done >= want || Instant::now() >= deadline {
            break;
        }
    }
    let (end, (user1, sys1)) = (Instant::now(), thread_times());
    let feed = *core.feed().counters();
    let stats = core.snapshot();
    sender.join().expect("sender");
    let Some((start, (user0, sys0), at_start, polls0)) = first else {
        println!("live: nothing processed");
        return;
    };
    let n = feed.book_messages.saturating_sub(at_start).max(1) as f64;
    let per = |d: Duration| d.as_nanos() as f64 / n;
    println!(
        "live: {} book messages, checksum ok {} mismatch {}, {} polls, {} bytes read",
        feed.book_messages, feed.checksum_ok, feed.checksum_mismatch, polls, stats.core.bytes_read
    );
    println!(
        "live: over the last {n} messages: wall {:.0} ns/msg, engine thread user {:.0} ns/msg, \
         system {:.0} ns/msg, {:.2} messages per poll",
        per(end - start),
        per(user1.saturating_sub(user0)),
        per(sys1.saturating_sub(sys0)),
        n / (polls - polls0).max(1) as f64
    );
    black_box(&stats);
}
