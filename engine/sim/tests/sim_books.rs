//! End-to-end: clients rebuild the venue's books from the wire (plain and TLS) and every
//! checksum matches; at a quiescent point the client books equal `book_levels()` exactly; the
//! same seed gives the same frame sequence.

mod sim_support;

use kspin_sim::{SimConfig, SimVenue};
use sim_support::*;

fn venue(tls: bool, seed: u64) -> kspin_sim::VenueHandle {
    SimVenue::start(SimConfig {
        tls,
        seed,
        rate_per_sec: 4_000,
        start_paused: true,
        ..SimConfig::default()
    })
    .unwrap()
}

/// Reads acks and snapshots until every expected book has its snapshot.
fn read_snapshots(client: &mut Client, books: &mut ClientBooks) {
    let want = books.books.len();
    let mut got = 0;
    let mut acks = 0;
    while got < want {
        let t = client.text();
        if str_field(&t, "method").as_deref() == Some("subscribe") {
            assert_eq!(raw(&t, "success").as_deref(), Some("true"), "{t}");
            acks += 1;
        }
        for r in books.apply(&t) {
            assert_eq!(r, Applied::Ok);
            got += 1;
        }
    }
    assert_eq!(acks, want, "one ack per symbol");
}

fn run_books(tls: bool, frames: usize, subs: &[(&[&str], u16)]) {
    let venue = venue(tls, 5);
    let mut client = connect(&venue);
    let status = client.text();
    assert_eq!(channel(&status).as_deref(), Some("status"));
    let mut books = ClientBooks::default();
    for (i, (symbols, depth)) in subs.iter().enumerate() {
        subscribe_book(&mut client, &mut books, symbols, *depth, 10 + i as u64);
    }
    read_snapshots(&mut client, &mut books);
    venue.resume();
    let mut updates = 0;
    while updates < frames {
        let t = client.text();
        for r in books.apply(&t) {
            assert_eq!(r, Applied::Ok, "checksum mismatch");
            updates += 1;
        }
    }
    venue.pause();
    drain_to_pong(&mut client, &mut books, 9_001);
    assert!(books.mismatches.is_empty());
    books.assert_equal_to(&venue);
    // Realism: several levels and both sides in one message, refills from beyond the depth.
    assert!(books.multi_level > 0, "multi-level updates");
    assert!(books.both_sides > 0, "two-sided updates");
    assert!(books.refills > 0, "refills");
    // Resume and pause again: still equal.
    venue.resume();
    for _ in 0..200 {
        let t = client.text();
        assert!(books.apply(&t).iter().all(|r| *r == Applied::Ok));
    }
    venue.pause();
    drain_to_pong(&mut client, &mut books, 9_002);
    books.assert_equal_to(&venue);
    let stats = venue.stats();
    assert!(stats.book_updates as usize >= frames);
    assert_eq!(stats.checksums_corrupted, 0);
    venue.stop();
}

#[test]
fn plain_books_match_at_every_depth() {
    run_books(
        false,
        4_000,
        &[
            (&["BTC/USD", "ETH/USD"], 10),
            (&["MINA/GBP", "ALGO/USD"], 25),
            (&["DOGE/USD"], 100),
            (&["SOL/USD"], 500),
            (&["XRP/EUR"], 1000),
        ],
    );
}

#[test]
fn tls_books_match_trusting_only_the_venue_pem() {
    run_books(
        true,
        1_500,
        &[(&["BTC/USD", "DOGE/USD"], 10), (&["MINA/GBP"], 1000)],
    );
}

/// The first `n` book and trade frames after resuming, timestamps blanked.
fn sequence(seed: u64, n: usize) -> Vec<String> {
    let venue = venue(false, seed);
    let mut client = connect(&venue);
    client.text(); // status: its connection_id is not part of the market sequence
    let mut books = ClientBooks::default();
    subscribe_book(&mut client, &mut books, &["BTC/USD", "ALGO/USD"], 10, 1);
    subscribe_book(&mut client, &mut books, &["ETH/USD"], 25, 2);
    client.send(
        r#"{"method":"subscribe","params":{"channel":"trade","symbol":["BTC/USD","ETH/USD","ALGO/USD"]},"req_id":3}"#,
    );
    let mut out = Vec::new();
    // Acks and snapshots come before any update: the market is still paused.
    while out.len() < 3 + 3 + 3 {
        let t = client.text();
        books.apply(&t);
        out.push(without_times(&t));
    }
    venue.resume();
    while out.len() < n {
        let t = client.text();
        match channel(&t).as_deref() {
            Some("book") | Some("trade") => {
                assert!(books.apply(&t).iter().all(|r| *r == Applied::Ok));
                out.push(without_times(&t));
            }
            _ => {}
        }
    }
    venue.stop();
    out
}

#[test]
fn same_seed_gives_the_same_frame_sequence() {
    let a = sequence(77, 600);
    let b = sequence(77, 600);
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        assert_eq!(x, y, "frame {i} differs");
    }
    assert!(a.iter().any(|f| f.starts_with(r#"{"channel":"trade""#)));
    let c = sequence(78, 600);
    assert_ne!(a[9..], c[9..]);
}
