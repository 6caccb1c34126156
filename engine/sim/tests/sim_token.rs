//! End-to-end: the venue's REST token endpoint answers `POST /0/private/GetWebSocketsToken`
//! exactly as Kraken does (PROTOCOL.md §1.12): a request signed with the engine's own signer is
//! answered with a token, a bad key, a bad signature and a reused nonce with Kraken's error
//! texts (HTTP 200 with an error array); anything else that is not the endpoint gets 400, 404 or
//! 405. Tokens open the authenticated endpoint while fresh, and stay good on a connection that
//! subscribed with them.

mod sim_support;
mod trading_support;

use std::time::{Duration, Instant};

use kspin_auth::{Credentials, TokenClient, TokenError};
use kspin_sim::{SimConfig, SimTradingConfig, SimVenue, VenueHandle};
use trading_support::*;

fn venue(tls: bool) -> VenueHandle {
    SimVenue::start(SimConfig {
        tls,
        start_paused: true,
        symbols: vec!["BTC/USD".into()],
        ..SimConfig::default()
    })
    .unwrap()
}

#[test]
fn the_engines_client_gets_a_token_over_https() {
    let venue = venue(true);
    let url = venue.rest_url().unwrap();
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    assert!(venue.auth_url().unwrap().starts_with("wss://localhost:"));
    let client = TokenClient::new(&url, venue.cert_pem(), Duration::from_secs(10)).unwrap();
    let creds = venue.credentials().unwrap();
    let first = client.fetch(&creds).unwrap();
    let second = client.fetch(&creds).unwrap();
    assert_eq!(first.as_str().len(), 43);
    assert_eq!(first.expires_s, 900);
    assert_ne!(first, second);
    // A client with someone else's key is refused with Kraken's text.
    let stranger = Credentials::new("NOTTHEKEY", "c2VjcmV0", "test").unwrap();
    assert_eq!(
        client.fetch(&stranger).unwrap_err(),
        TokenError::Venue("EAPI:Invalid key".into())
    );
    let s = venue.stats();
    assert_eq!((s.tokens_issued, s.tokens_refused), (2, 1));
}

#[test]
fn bad_key_bad_signature_and_reused_nonce_get_krakens_errors() {
    for tls in [false, true] {
        let venue = venue(tls);
        let creds = venue.credentials().unwrap();
        let key = creds.api_key().to_owned();
        let other = Credentials::new(&key, "d3Jvbmctc2VjcmV0", "test").unwrap();
        let nonce = 1_616_492_376_594u64;
        let bad_key = token_request(&venue, "WRONGKEY", &creds, nonce);
        assert_eq!(bad_key, (200, r#"{"error":["EAPI:Invalid key"]}"#.into()));
        let bad_sign = token_request(&venue, &key, &other, nonce);
        assert_eq!(
            bad_sign,
            (200, r#"{"error":["EAPI:Invalid signature"]}"#.into())
        );
        // Refused requests consume no nonce: the same nonce, correctly signed, is accepted.
        let (status, body) = token_request(&venue, &key, &creds, nonce);
        assert_eq!(status, 200);
        let v = json(&body);
        assert_eq!(v["error"], serde_json::json!([]), "{body}");
        assert_eq!(v["result"]["expires"], 900);
        assert_eq!(v["result"]["token"].as_str().unwrap().len(), 43);
        for reused in [nonce, nonce - 1] {
            let again = token_request(&venue, &key, &creds, reused);
            assert_eq!(again, (200, r#"{"error":["EAPI:Invalid nonce"]}"#.into()));
        }
        assert_eq!(token_request(&venue, &key, &creds, nonce + 1).0, 200);
        let s = venue.stats();
        assert_eq!((s.tokens_issued, s.tokens_refused), (2, 4), "tls {tls}");
    }
}

#[test]
fn anything_but_the_token_endpoint_is_400_404_or_405() {
    let venue = venue(false);
    let get = b"GET /0/private/GetWebSocketsToken HTTP/1.1\r\nHost: x\r\n\r\n";
    let (status, body) = http_raw(&venue, get);
    assert_eq!(status, 405);
    assert!(body.contains("EAPI:Bad request"), "{body}");
    let other = b"POST /0/private/AddOrder HTTP/1.1\r\nContent-Length: 7\r\n\r\nnonce=1";
    assert_eq!(http_raw(&venue, other).0, 404);
    assert_eq!(http_raw(&venue, b"HELLO\r\n\r\n").0, 400);
    let huge = format!(
        "POST /0/private/GetWebSocketsToken HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
        1 << 20
    );
    assert_eq!(http_raw(&venue, huge.as_bytes()).0, 400);
    let no_nonce = b"POST /0/private/GetWebSocketsToken HTTP/1.1\r\nContent-Length: 3\r\n\r\nx=1";
    assert_eq!(http_raw(&venue, no_nonce).0, 200);
    let s = venue.stats();
    assert_eq!((s.rest_requests, s.rest_bad_requests), (5, 4));
    assert_eq!(s.tokens_refused, 1);
}

#[test]
fn tokens_open_the_authenticated_endpoint_only_while_good() {
    let venue = SimVenue::start(SimConfig {
        start_paused: true,
        symbols: vec!["BTC/USD".into()],
        trading: Some(SimTradingConfig {
            token_ttl: Duration::from_millis(800),
            ..SimTradingConfig::default()
        }),
        ..SimConfig::default()
    })
    .unwrap();
    let issued = Instant::now();
    let mut a = Auth::connect(&venue);
    // No token, a token the venue never issued.
    a.client
        .send(r#"{"method":"subscribe","params":{"channel":"executions"},"req_id":1}"#);
    let e = a.answer(1);
    assert_eq!(e["error"], "EGeneral:Invalid arguments:token");
    assert_eq!(
        (e["success"].clone(), e["method"].clone()),
        (false.into(), "subscribe".into())
    );
    let good = a.token.clone();
    a.token = "G38a1tGFzqGiUCmnegBcm8d4nfP3tytiNQz6tkCBYXY".into();
    assert_eq!(a.err("cancel_all", ""), "ESession:Invalid session");
    a.token = good.clone();
    let (ack, _) = a.subscribe_executions("");
    assert_eq!(ack["channel"], "executions");
    // Past its lifetime the token still works on the connection that subscribed with it ...
    while issued.elapsed() < Duration::from_millis(900) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(a.ok("cancel_all", "")["count"], 0);
    // ... but not on a new one.
    let mut late = Auth::connect_with(&venue, good);
    assert_eq!(
        late.err("subscribe", r#""channel":"balances""#),
        "ESession:Invalid session"
    );
    assert_eq!(venue.stats().auth_refused, 3);
}

#[test]
fn a_market_data_only_venue_has_no_trading_side() {
    let venue = SimVenue::start(SimConfig {
        start_paused: true,
        trading: None,
        ..SimConfig::default()
    })
    .unwrap();
    assert_eq!(venue.rest_url(), None);
    assert_eq!(venue.auth_url(), None);
    assert!(venue.credentials().is_none());
    assert!(venue.open_orders().is_empty());
}
