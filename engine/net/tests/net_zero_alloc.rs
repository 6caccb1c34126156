//! Proves the steady state of `Connection` allocates nothing: a counting `#[global_allocator]`
//! (counting only on the client thread, via a thread-local switch) over 100 000 text frames
//! received through TLS and through plain TCP, with pings answered and texts sent and flushed
//! while counting.

kspin_testkit::install_counting_allocator!();
mod net_support;

use std::time::Instant;

use kspin_net::{ConnLimits, FlushState};
use kspin_testkit::{counting, take_allocations};
use net_support::{open, spawn, DEADLINE};
use tungstenite::Message;

const WARMUP: u64 = 2_000;
const COUNTED: u64 = 100_000;
/// The server pings every this many frames; the client sends a text every this many frames.
const PING_EVERY: u64 = 5_000;
const SEND_EVERY: u64 = 1_000;

/// Frame `seq`: 8 decimal digits, ':', then filler; lengths vary from 9 to 608 bytes.
fn frame_text(seq: u64) -> String {
    let filler = (seq * 37 % 600) as usize;
    let mut s = format!("{seq:08}:");
    s.extend(std::iter::repeat_n('k', filler));
    s
}

/// Checks a received frame without allocating: sequence digits and length.
fn check_frame(payload: &[u8], expected_seq: u64) -> bool {
    if payload.len() != 9 + (expected_seq * 37 % 600) as usize || payload[8] != b':' {
        return false;
    }
    let mut seq = 0u64;
    for &d in &payload[..8] {
        if !d.is_ascii_digit() {
            return false;
        }
        seq = seq * 10 + u64::from(d - b'0');
    }
    seq == expected_seq && payload[9..].iter().all(|&b| b == b'k')
}

struct Outcome {
    allocations: u64,
    frames: u64,
    server_texts: usize,
    server_pongs: usize,
}

fn run(tls: bool) -> Outcome {
    let total = WARMUP + COUNTED;
    let server = spawn(tls, move |ws| {
        for seq in 0..total {
            ws.write(Message::text(frame_text(seq)))
                .map_err(|e| e.to_string())?;
            if seq % PING_EVERY == 0 {
                ws.write(Message::Ping(b"hb".to_vec().into()))
                    .map_err(|e| e.to_string())?;
            }
            if seq % 64 == 0 {
                ws.flush().map_err(|e| e.to_string())?;
            }
        }
        ws.send(Message::text("end")).map_err(|e| e.to_string())?;
        // Everything the client sent is waiting in the socket: count it.
        let (mut texts, mut pongs) = (0usize, 0usize);
        loop {
            match ws.read().map_err(|e| e.to_string())? {
                Message::Text(t) if t.as_str() == "bye" => return Ok((texts, pongs)),
                Message::Text(t) if t.as_str() == "client-heartbeat" => texts += 1,
                Message::Pong(p) if p.as_ref() == b"hb" => pongs += 1,
                other => return Err(format!("unexpected {other:?}")),
            }
        }
    });
    let limits = ConnLimits {
        max_frame_len: 64 * 1024,
        read_buf: 16 * 1024,
        write_buf: 16 * 1024,
        tls_buf: 40 * 1024,
    };
    let mut conn = open(&server, limits);
    let mut next_seq = 0u64;
    let mut bad = 0u64;
    let mut ended = false;
    let mut sends_due = 0u32;
    let start = Instant::now();
    while !ended {
        let result = conn.read_frames(|payload| {
            if payload == b"end" {
                ended = true;
                counting(false);
                return;
            }
            if !check_frame(payload, next_seq) {
                bad += 1;
            }
            next_seq += 1;
            if next_seq == WARMUP {
                counting(true);
            }
            if next_seq % SEND_EVERY == 0 {
                sends_due += 1;
            }
        });
        result.unwrap();
        while sends_due > 0 {
            conn.send_text(b"client-heartbeat").unwrap();
            sends_due -= 1;
        }
        while conn.flush().unwrap() == FlushState::Pending {}
        assert!(start.elapsed() < DEADLINE, "stalled at frame {next_seq}");
    }
    counting(false);
    let allocations = take_allocations();
    assert_eq!(bad, 0, "corrupted or reordered frames");
    conn.send_text(b"bye").unwrap();
    while conn.flush().unwrap() == FlushState::Pending {}
    let (server_texts, server_pongs) = server.join().unwrap();
    conn.close();
    Outcome {
        allocations,
        frames: next_seq,
        server_texts,
        server_pongs,
    }
}

/// One test runs both transports in sequence so the process-wide counter is never shared
/// between two counting threads.
#[test]
fn steady_state_allocates_nothing_over_100k_frames() {
    // The counter itself works (so a zero below means something).
    counting(true);
    let probe = std::hint::black_box(Vec::<u8>::with_capacity(64));
    counting(false);
    drop(probe);
    assert_eq!(take_allocations(), 1);

    for tls in [true, false] {
        let outcome = run(tls);
        assert_eq!(outcome.frames, WARMUP + COUNTED, "tls={tls}");
        assert_eq!(
            outcome.server_texts as u64,
            (WARMUP + COUNTED) / SEND_EVERY,
            "tls={tls}"
        );
        assert_eq!(
            outcome.server_pongs as u64,
            (WARMUP + COUNTED).div_ceil(PING_EVERY),
            "tls={tls}"
        );
        assert_eq!(
            outcome.allocations, 0,
            "tls={tls}: allocations while counting"
        );
    }
}
