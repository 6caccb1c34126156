//! End-to-end: every fault kind is observable by a client exactly as documented.

mod sim_support;

use std::io::ErrorKind;
use std::time::Duration;

use kspin_sim::{FaultKind, SimConfig, SimVenue, VenueHandle};
use sim_support::*;

fn venue_with(cfg: SimConfig) -> VenueHandle {
    SimVenue::start(cfg).unwrap()
}

fn live(tls: bool) -> VenueHandle {
    venue_with(SimConfig {
        tls,
        rate_per_sec: 1_000,
        ..SimConfig::default()
    })
}

/// Connects, reads status, subscribes to book depth 10 for `symbols`, reads acks + snapshots.
fn subscribed(venue: &VenueHandle, symbols: &[&str]) -> (Client, ClientBooks) {
    let mut c = connect(venue);
    assert_eq!(channel(&c.text()).as_deref(), Some("status"));
    let mut books = ClientBooks::default();
    subscribe_book(&mut c, &mut books, symbols, 10, 1);
    let mut snaps = 0;
    while snaps < symbols.len() {
        let t = c.text();
        snaps += book_entries(&t).len();
        books.apply(&t);
    }
    (c, books)
}

fn is_closed(end: &Next) -> bool {
    match end {
        Next::CloseFrame => true,
        Next::Ended(tungstenite::Error::ConnectionClosed) => true,
        Next::Ended(tungstenite::Error::Io(e)) => matches!(
            e.kind(),
            ErrorKind::ConnectionReset | ErrorKind::UnexpectedEof | ErrorKind::BrokenPipe
        ),
        Next::Ended(tungstenite::Error::Protocol(_)) => true,
        _ => false,
    }
}

#[test]
fn corrupt_gives_exactly_one_mismatch_on_the_chosen_symbol() {
    let venue = live(false);
    let (mut c, mut books) = subscribed(&venue, &["BTC/USD", "ETH/USD"]);
    for _ in 0..50 {
        let t = c.text();
        assert!(books.apply(&t).iter().all(|r| *r == Applied::Ok));
    }
    venue.inject(FaultKind::Corrupt(Some("ETH/USD".into())));
    // Read until the corrupted frame has been sent and received, then a while longer.
    let mut after = 0;
    while books.mismatches.is_empty() || after < 300 {
        let t = c.text();
        books.apply(&t);
        if !books.mismatches.is_empty() {
            after += 1;
        }
    }
    venue.pause();
    drain_to_pong(&mut c, &mut books, 5);
    assert_eq!(books.mismatches, vec!["ETH/USD".to_string()]);
    // Only the checksum was wrong: the book itself is still exactly right.
    books.assert_equal_to(&venue);
    let s = venue.stats();
    assert_eq!(s.checksums_corrupted, 1);
    assert_eq!(s.faults_fired, 1);
}

#[test]
fn corrupt_from_the_config_spec_hits_a_subscribed_symbol() {
    let venue = venue_with(SimConfig {
        rate_per_sec: 1_000,
        symbols: vec!["ALGO/USD".into(), "DOGE/USD".into()],
        faults: vec!["corrupt@every:400".parse().unwrap()],
        ..SimConfig::default()
    });
    let (mut c, mut books) = subscribed(&venue, &["ALGO/USD", "DOGE/USD"]);
    while books.mismatches.len() < 2 {
        let t = c.text();
        books.apply(&t);
    }
    assert!(books
        .mismatches
        .iter()
        .all(|s| s == "ALGO/USD" || s == "DOGE/USD"));
}

#[test]
fn drop_closes_the_connection_and_new_ones_are_accepted() {
    let venue = live(false);
    let (mut c, _) = subscribed(&venue, &["BTC/USD"]);
    venue.inject(FaultKind::Drop);
    let end = loop {
        match c.next() {
            Next::Text(_) => continue,
            other => break other,
        }
    };
    assert!(is_closed(&end), "{end:?}");
    let (_c2, _) = subscribed(&venue, &["BTC/USD"]);
    assert_eq!(venue.stats().connections_cut, 1);
}

#[test]
fn stall_sends_nothing_but_keeps_the_connection() {
    let venue = live(false);
    let (mut c, mut books) = subscribed(&venue, &["BTC/USD"]);
    venue.inject(FaultKind::Stall(Duration::from_millis(1_500)));
    // Whatever was queued before the stall may still arrive; then silence (no close).
    c.ws.get_ref()
        .tcp()
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let silent = loop {
        match c.next() {
            Next::Text(t) => {
                books.apply(&t);
            }
            Next::Ended(tungstenite::Error::Io(e))
                if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
            {
                break true;
            }
            other => panic!("connection ended during a stall: {other:?}"),
        }
    };
    assert!(silent);
    c.ws.get_ref()
        .tcp()
        .set_read_timeout(Some(HANG_GUARD))
        .unwrap();
    // After the stall the stream resumes on the same connection, books still valid.
    let mut updates = 0;
    while updates < 20 {
        let t = c.text();
        for r in books.apply(&t) {
            assert_eq!(r, Applied::Ok);
            updates += 1;
        }
    }
}

#[test]
fn malformed_every_n_events_is_a_non_json_frame() {
    let venue = venue_with(SimConfig {
        rate_per_sec: 1_000,
        faults: vec!["malformed@every:50".parse().unwrap()],
        ..SimConfig::default()
    });
    let (mut c, _) = subscribed(&venue, &["BTC/USD"]);
    let bad = c.until(
        |t| serde_json::from_str::<serde_json::Value>(t).is_err(),
        |_| {},
    );
    assert!(bad.starts_with(r#"{"channel":"book""#));
    assert!(venue.stats().malformed_frames >= 1);
}

#[test]
fn oversized_frame_exceeds_the_configured_size() {
    let venue = live(false);
    let (mut c, _) = subscribed(&venue, &["BTC/USD"]);
    let size = 3 << 20;
    venue.inject(FaultKind::Oversized(size));
    let big = c.until(|t| t.len() > 1 << 20, |_| {});
    assert_eq!(big.len(), size);
    assert_eq!(channel(&big).as_deref(), Some("oversized"));
}

#[test]
fn maintenance_then_online_from_the_config_spec() {
    let venue = venue_with(SimConfig {
        rate_per_sec: 200,
        faults: vec!["maintenance:300ms@100ms".parse().unwrap()],
        ..SimConfig::default()
    });
    let mut c = connect(&venue);
    let mut systems = Vec::new();
    c.send(
        r#"{"method":"subscribe","params":{"channel":"ticker","symbol":["BTC/USD"]},"req_id":1}"#,
    );
    loop {
        let t = c.text();
        if channel(&t).as_deref() == Some("status") {
            let data = array(&raw(&t, "data").unwrap()).remove(0);
            systems.push(str_field(&data, "system").unwrap());
            if systems.ends_with(&["maintenance".to_string(), "online".to_string()]) {
                break;
            }
        }
    }
    assert!(systems.len() <= 3, "{systems:?}");
}

#[test]
fn refuse_refuses_then_accepts_again() {
    let venue = live(false);
    venue.inject(FaultKind::Refuse(Duration::from_millis(300)));
    let err = tcp_connect(&venue).expect_err("connection refused");
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
    // Retry until accepted again (bounded); the venue serves a normal session afterwards.
    let mut client = None;
    for _ in 0..500 {
        match try_connect(&venue) {
            Ok(c) => {
                client = Some(c);
                break;
            }
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    let mut c = client.expect("accepted again after the refuse window");
    assert_eq!(channel(&c.text()).as_deref(), Some("status"));
    assert_eq!(venue.stats().refuse_windows, 1);
}

#[test]
fn tls_close_without_close_notify_is_an_unexpected_eof() {
    let venue = live(true);
    let (mut c, _) = subscribed(&venue, &["BTC/USD"]);
    venue.inject(FaultKind::TlsNoCloseNotify);
    let mut saw_close = false;
    let end = loop {
        match c.next() {
            Next::Text(_) => continue,
            Next::CloseFrame => saw_close = true,
            Next::Ended(e) => break e,
        }
    };
    assert!(saw_close, "WebSocket close frame first");
    match end {
        tungstenite::Error::Io(e) => assert_eq!(e.kind(), ErrorKind::UnexpectedEof, "{e}"),
        other => panic!("expected a TLS EOF without close_notify, got {other:?}"),
    }
}

#[test]
fn tls_stop_is_a_clean_close() {
    let venue = live(true);
    let (mut c, _) = subscribed(&venue, &["BTC/USD"]);
    venue.stop();
    let end = loop {
        match c.next() {
            Next::Text(_) | Next::CloseFrame => continue,
            Next::Ended(e) => break e,
        }
    };
    assert!(
        matches!(end, tungstenite::Error::ConnectionClosed),
        "clean close with close_notify, got {end:?}"
    );
}

#[test]
fn burst_keeps_frames_valid() {
    let venue = live(false);
    let (mut c, mut books) = subscribed(&venue, &["BTC/USD", "ETH/USD"]);
    venue.inject(FaultKind::Burst {
        factor: 10,
        duration: Duration::from_millis(300),
    });
    let mut updates = 0;
    while updates < 1_000 {
        let t = c.text();
        for r in books.apply(&t) {
            assert_eq!(r, Applied::Ok);
            updates += 1;
        }
    }
    venue.pause();
    drain_to_pong(&mut c, &mut books, 1);
    books.assert_equal_to(&venue);
    assert_eq!(venue.stats().faults_fired, 1);
}
