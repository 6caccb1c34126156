//! The engine's own throughput limit: a sender that writes pre-generated, pre-framed book updates
//! as fast as the loopback socket takes them, so that the simulated venue (which builds and
//! checksums every frame on one core) is not what limits the measurement.
//!
//! The stream (`kspin_sim::stream`) is generated and framed before anything is timed: a status,
//! a subscribe ack, the snapshot, then every update, each a WebSocket text frame. A sender thread
//! completes the WebSocket handshake (tungstenite) and writes the bytes in large chunks on its
//! pinned core; the engine core runs on its own and processes every frame through the live path
//! (decode → feed → book → checksum). The rate is the updates processed divided by the time from
//! the first to the last one; every checksum must match. TCP never drops, so `drops` is 0 by
//! construction and the figure is the engine's sustained rate, not a drop point.

use std::io::Write;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::conditions::set_up_thread;
use super::{BenchError, BenchOptions};
use kspin_net::Endpoint;
use kspin_runtime::plan::SymbolPlan;
use kspin_runtime::{EngineCore, NoStrategies};
use kspin_sim::stream::{book_stream, BookStream};

/// Updates sent per run (about 210 bytes each).
const UPDATES: usize = 400_000;

/// Appends `payload` as one unmasked server-to-client WebSocket text frame (RFC 6455 §5.2).
pub fn push_frame(out: &mut Vec<u8>, payload: &[u8]) {
    out.push(0x81);
    match payload.len() {
        n if n < 126 => out.push(n as u8),
        n if n <= usize::from(u16::MAX) => {
            out.push(126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(payload);
}

/// What the engine reads in a blast run, framed as the venue would send it: a status frame, the
/// book subscription's ack, then `stream`'s snapshot and updates, one WebSocket text frame each.
pub fn blast_wire(stream: &BookStream, symbol: &str, depth: u16) -> Vec<u8> {
    let mut wire = Vec::with_capacity(stream.updates.len() * 240);
    push_frame(
        &mut wire,
        br#"{"channel":"status","type":"update","data":[{"version":"2.0.10","system":"online","api_version":"v2","connection_id":1}]}"#,
    );
    push_frame(
        &mut wire,
        format!(
            r#"{{"method":"subscribe","result":{{"channel":"book","depth":{depth},"snapshot":true,"symbol":"{symbol}"}},"success":true,"time_in":"2025-11-22T08:00:00.000000Z","time_out":"2025-11-22T08:00:00.000050Z"}}"#
        )
        .as_bytes(),
    );
    for frame in stream.frames() {
        push_frame(&mut wire, frame);
    }
    wire
}

/// One blast run: returns (updates processed per second, updates, checksum mismatches).
fn run_once(opts: &BenchOptions, symbol: &str) -> Result<(f64, u64, u64), BenchError> {
    let depth = opts.depth;
    let stream = book_stream(symbol, depth, UPDATES, opts.seed)
        .ok_or_else(|| BenchError::Setup(format!("the simulated venue lists no pair {symbol}")))?;
    let wire = blast_wire(&stream, symbol, depth);
    let listener =
        TcpListener::bind("127.0.0.1:0").map_err(|e| BenchError::Setup(e.to_string()))?;
    let port = listener
        .local_addr()
        .map_err(|e| BenchError::Setup(e.to_string()))?
        .port();
    let (venue_core, rt) = (opts.venue_core, opts.rt);
    let sender = std::thread::spawn(move || -> Result<(), String> {
        set_up_thread("blast sender", venue_core, rt);
        let (stream, _) = listener.accept().map_err(|e| e.to_string())?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let mut ws = tungstenite::accept(stream).map_err(|e| e.to_string())?;
        let socket = ws.get_mut();
        for chunk in wire.chunks(1 << 20) {
            socket.write_all(chunk).map_err(|e| e.to_string())?;
        }
        socket.flush().map_err(|e| e.to_string())?;
        // Keep the connection open until the engine has read everything.
        std::thread::sleep(Duration::from_secs(2));
        Ok(())
    });

    set_up_thread("engine core", opts.engine_core, opts.rt);
    let plan = vec![SymbolPlan {
        symbol: symbol.into(),
        depth,
        book: true,
        trade: false,
        ticker: false,
        precision: Some(stream.precision()),
    }];
    let mut cfg = kspin_runtime::CoreConfig::new(plan);
    let endpoint = Endpoint {
        host: "127.0.0.1".into(),
        port,
        path: "/v2".into(),
        tls: false,
    };
    cfg.connect_timeout = Duration::from_secs(10);
    cfg.stall_timeout = Duration::from_secs(30);
    let clock = quanta::Clock::new();
    let transport = super::loopback_transport(&endpoint)?;
    let mut core = EngineCore::new(cfg, NoStrategies, transport, clock.clone())?;
    let want = UPDATES as u64 + 1; // the snapshot too
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut first: Option<(u64, u64)> = None;
    loop {
        core.poll();
        let done = core.feed().counters().book_messages;
        if first.is_none() && done > 0 {
            first = Some((clock.raw(), done));
        }
        if done >= want || Instant::now() >= deadline {
            break;
        }
    }
    let end = clock.raw();
    let feed = *core.feed().counters();
    let _ = sender.join().map_err(|_| BenchError::Panicked)?;
    let (start, at_start) = first.unwrap_or((end, 0));
    let processed = feed.book_messages.saturating_sub(at_start);
    let secs = clock.delta(start, end).as_secs_f64().max(1e-9);
    Ok((
        processed as f64 / secs,
        feed.book_messages,
        feed.checksum_mismatch,
    ))
}

/// Runs the blast `opts.runs` times on the first symbol; returns the JSON figures.
pub fn run(opts: &BenchOptions) -> Result<Value, BenchError> {
    let symbol = opts
        .symbols
        .first()
        .map_or("BTC/USD", String::as_str)
        .to_owned();
    let mut rates = Vec::new();
    let mut mismatch = 0;
    let mut messages = 0;
    for run in 0..opts.runs.max(1) {
        eprintln!(
            "kspin bench: throughput blast {}/{} ({UPDATES} pre-framed updates of {symbol})",
            run + 1,
            opts.runs.max(1)
        );
        let (rate, n, bad) = run_once(opts, &symbol)?;
        rates.push(rate);
        mismatch += bad;
        messages += n;
    }
    let median = super::report::median(&mut rates.clone());
    Ok(json!({
        "msgs_per_sec": median.round(),
        "runs_msgs_per_sec": rates.iter().map(|r| r.round()).collect::<Vec<_>>(),
        "book_messages": messages,
        "checksum_mismatch": mismatch,
        "drops": 0,
        "symbol": symbol,
        "depth": opts.depth,
        "updates_per_run": UPDATES,
    }))
}
