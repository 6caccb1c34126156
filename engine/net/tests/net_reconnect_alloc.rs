//! What one reconnect costs the engine core's thread in heap traffic: a real loopback server
//! (plain and TLS), a [`WsTransport`] driven the way the runtime drives it (`connect`,
//! `poll_handshake` until `Open`, `read_frames`, `close`), and the per-thread counters of the
//! counting allocator read around each whole cycle on the calling thread (the core). The first
//! connection warms up; every later one is a reconnect and must cost the core exactly nothing:
//! no allocation, no byte, no free (the handshake, DNS and buffer recycling happen on the
//! transport's connector thread, whose allocations are not the core's).

kspin_testkit::install_counting_allocator!();
mod net_support;

use std::io::Read;
use std::time::Instant;

use kspin_net::{ConnLimits, HandshakeState, Transport, WsTransport};
use kspin_testkit::{allocated_bytes, allocs, frees};
use net_support::{spawn_after_silent, spawn_serial, DEADLINE};
use tungstenite::Message;

/// Connections per run: one warm-up, then reconnects.
const CONNECTIONS: usize = 4;

/// Heap traffic of the calling thread over one connect → open → one message → close cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Cost {
    allocations: u64,
    bytes: u64,
    frees: u64,
}

fn cycle(transport: &mut WsTransport, index: usize) -> Cost {
    let expected = format!("hello {index}");
    let mut got = false;
    let (a0, b0, f0) = (allocs(), allocated_bytes(), frees());
    transport.connect().unwrap();
    let start = Instant::now();
    while transport.poll_handshake().unwrap() == HandshakeState::InProgress {
        assert!(start.elapsed() < DEADLINE, "handshake {index} stalled");
        std::thread::yield_now();
    }
    while !got {
        transport
            .read_frames(|text| got |= text == expected.as_bytes())
            .unwrap();
        assert!(start.elapsed() < DEADLINE, "message {index} never came");
    }
    transport.close();
    Cost {
        allocations: allocs() - a0,
        bytes: allocated_bytes() - b0,
        frees: frees() - f0,
    }
}

fn run(tls: bool) -> Vec<Cost> {
    let server = spawn_serial(tls, CONNECTIONS, |index, ws| {
        ws.send(Message::text(format!("hello {index}")))
            .map_err(|e| e.to_string())?;
        // Until the client's close (or its TCP end): tungstenite answers the close itself.
        while ws.read().is_ok() {}
        Ok(())
    });
    let limits = ConnLimits::default();
    let mut transport = WsTransport::new(&server.endpoint(), &server.trust(), limits).unwrap();
    let costs: Vec<Cost> = (0..CONNECTIONS)
        .map(|index| cycle(&mut transport, index))
        .collect();
    drop(transport);
    server.join().unwrap();
    costs
}

#[test]
fn reconnects_cost_the_core_thread_nothing() {
    // The counters work (so a zero below means something).
    let (a0, b0) = (allocs(), allocated_bytes());
    drop(std::hint::black_box(Vec::<u8>::with_capacity(64)));
    assert_eq!((allocs() - a0, allocated_bytes() - b0), (1, 64));

    let runs = [false, true].map(|tls| (tls, run(tls)));
    for (tls, costs) in &runs {
        eprintln!("tls={tls}: per cycle (first = start-up) {costs:?}");
    }
    for (tls, costs) in runs {
        for (index, cost) in costs.iter().enumerate().skip(1) {
            assert_eq!(
                *cost,
                Cost {
                    allocations: 0,
                    bytes: 0,
                    frees: 0
                },
                "tls={tls}: reconnect {index} on the core thread"
            );
        }
    }
}

/// The runtime's connect timeout: an attempt that never completes (the server accepted TCP and
/// says nothing) is closed by the core while it is still running on the connector thread; the
/// connector abandons it (its socket ends) and the next attempt opens in the recycled buffers,
/// the core's thread again paying nothing.
#[test]
fn an_abandoned_attempt_ends_and_the_next_one_opens() {
    for tls in [false, true] {
        let server = spawn_after_silent(tls, |ws, mut silent| {
            ws.send(Message::text("hello 1"))
                .map_err(|e| e.to_string())?;
            silent
                .set_read_timeout(Some(DEADLINE))
                .map_err(|e| e.to_string())?;
            // The client's first bytes (ClientHello or the upgrade request), then its end.
            let mut buf = [0u8; 4096];
            loop {
                match silent.read(&mut buf) {
                    Ok(0) => break,
                    Ok(_) => {}
                    // A reset is an end too.
                    Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
                    Err(e) => return Err(format!("silent connection: {e}")),
                }
            }
            while ws.read().is_ok() {}
            Ok(())
        });
        let mut transport =
            WsTransport::new(&server.endpoint(), &server.trust(), ConnLimits::default()).unwrap();
        let before = (allocs(), allocated_bytes(), frees());
        transport.connect().unwrap();
        for _ in 0..100 {
            assert_eq!(
                transport.poll_handshake().unwrap(),
                HandshakeState::InProgress,
                "tls={tls}: the silent server cannot have completed a handshake"
            );
            std::thread::yield_now();
        }
        // What the driver does on its connect timeout.
        transport.close();
        let after = (allocs(), allocated_bytes(), frees());
        assert_eq!(
            (after.0 - before.0, after.1 - before.1, after.2 - before.2),
            (0, 0, 0),
            "tls={tls}: the abandoned attempt on the core thread"
        );
        // The next attempt (its own span: `cycle` formats its expected text before counting).
        let cost = cycle(&mut transport, 1);
        assert_eq!(
            cost,
            Cost {
                allocations: 0,
                bytes: 0,
                frees: 0
            }
        );
        drop(transport);
        server.join().unwrap();
    }
}
