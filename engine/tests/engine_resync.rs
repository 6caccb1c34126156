//! The resync state machine and the repeated-mismatch policy, end to end.
//!
//! The first test drives the engine core against a scripted Kraken server on 127.0.0.1 (a
//! blocking tungstenite server whose every frame is chosen by the test, with checksums computed by
//! a model `OrderBook`), so the order of events is exact: a checksum mismatch on BTC/USD sends an
//! unsubscribe (and nothing else) → only after its ack a subscribe → the book is rebuilt from
//! the fresh snapshot; every update in between — in flight before the ack, late after it, or
//! before the new snapshot — is dropped and counted, and ETH/USD streams on untouched.
//!
//! The policy tests use the simulated venue's `corrupt` fault repeatedly: keep resyncing, stop
//! validating, halt — each with its counters, the other symbols unaffected.

mod engine_support;

use std::net::{TcpListener, TcpStream};
use std::sync::mpsc::{Receiver, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use engine_support::*;
use kspin::book::{ApplyMode, OrderBook};
use kspin::feed::{MismatchAction, MismatchPolicy, StaleReason, SubscriptionState};
use kspin::net::{Endpoint, TlsSettings};
use kspin::sim::frames::{self, ReqTimes};
use kspin::sim::pairs::find_pair;
use kspin::sim::{FaultKind, SimPair};
use kspin_api::{Price, Qty};
use serde_json::Value;
use tungstenite::{Message, WebSocket};

const DEPTH: u16 = 10;

/// The scripted server's side of the market: the true book of each symbol.
struct Scripted {
    listener: TcpListener,
    ws: WebSocket<TcpStream>,
    pairs: [&'static SimPair; 2],
    truth: [OrderBook; 2],
    step: i64,
}

type Levels = (Vec<(Price, Qty)>, Vec<(Price, Qty)>);

fn accept(listener: &TcpListener) -> WebSocket<TcpStream> {
    let (tcp, _) = listener.accept().unwrap();
    tcp.set_read_timeout(Some(BUDGET)).unwrap();
    tcp.set_nodelay(true).unwrap();
    tungstenite::accept(tcp).expect("websocket upgrade")
}

impl Scripted {
    /// Cuts the connection (no WebSocket close) and accepts the engine's next one.
    fn cut_and_accept(&mut self) {
        let _ = self.ws.get_mut().shutdown(std::net::Shutdown::Both);
        self.ws = accept(&self.listener);
    }

    fn send(&mut self, text: String) {
        self.ws.send(Message::text(text)).expect("send");
    }

    /// The next request, as JSON.
    fn request(&mut self) -> Value {
        loop {
            match self.ws.read().expect("read a request") {
                Message::Text(t) => return serde_json::from_str(t.as_str()).expect("JSON request"),
                Message::Close(_) => panic!("the engine closed the connection"),
                _ => continue,
            }
        }
    }

    fn times() -> ReqTimes {
        let now = frames::now_micros();
        ReqTimes {
            time_in: now,
            time_out: now,
        }
    }

    fn ack(&mut self, method: &str, i: usize, req_id: &Value) {
        let mut result = format!("{{\"channel\":\"book\",\"depth\":{DEPTH}");
        if method == "subscribe" {
            result.push_str(",\"snapshot\":true");
        }
        result.push_str(&format!(",\"symbol\":\"{}\"}}", self.pairs[i].symbol));
        let mut out = String::new();
        let id = req_id.to_string();
        frames::ack_ok(&mut out, method, &result, Self::times(), Some(&id));
        self.send(out);
    }

    fn pong(&mut self, req_id: &Value) {
        let mut out = String::new();
        frames::pong(&mut out, Self::times(), Some(&req_id.to_string()));
        self.send(out);
    }

    fn book_frame(
        &self,
        i: usize,
        snapshot: bool,
        bids: &[(Price, Qty)],
        asks: &[(Price, Qty)],
        checksum: u32,
    ) -> String {
        let mut out = String::new();
        frames::book(
            &mut out,
            snapshot,
            self.pairs[i],
            bids,
            asks,
            checksum,
            frames::now_micros(),
        );
        out
    }

    /// Sends the true book of `i` as a snapshot.
    fn snapshot(&mut self, i: usize) {
        let bids: Vec<_> = self.truth[i].bids().iter().collect();
        let asks: Vec<_> = self.truth[i].asks().iter().collect();
        let text = self.book_frame(i, true, &bids, &asks, self.truth[i].checksum());
        self.send(text);
    }

    /// Moves the true book of `i` by one deterministic change and sends it as an update, with
    /// a wrong checksum when `corrupt`.
    fn update(&mut self, i: usize, corrupt: bool) {
        self.step += 1;
        let k = self.step;
        let book = &self.truth[i];
        let best_bid = book.bids().best().map_or(1_000_000, |(p, _)| p.0);
        let best_ask = book.asks().best().map_or(1_000_100, |(p, _)| p.0);
        // A quantity change, an insert or a delete, on alternating sides, never crossing.
        let qty = if k % 5 == 0 {
            0
        } else {
            100_000_000 + k * 1_000
        };
        let level = [(
            if k % 2 == 0 {
                Price(best_bid - (k % 4) * 10)
            } else {
                Price(best_ask + (k % 4) * 10)
            },
            Qty(qty),
        )];
        let (bids, asks): (&[_], &[_]) = if k % 2 == 0 {
            (&level, &[])
        } else {
            (&[], &level)
        };
        self.truth[i].apply_exact(ApplyMode::Update, bids, asks);
        let mut checksum = self.truth[i].checksum();
        if corrupt {
            checksum ^= 0x5A5A_0001;
        }
        let text = self.book_frame(i, false, bids, asks, checksum);
        self.send(text);
    }

    fn levels(&self, i: usize) -> Levels {
        (
            self.truth[i].bids().iter().collect(),
            self.truth[i].asks().iter().collect(),
        )
    }
}

fn method(req: &Value) -> &str {
    req["method"].as_str().unwrap_or("")
}

fn book_symbols(req: &Value) -> Vec<String> {
    assert_eq!(req["params"]["channel"], "book", "{req}");
    req["params"]["symbol"]
        .as_array()
        .expect("symbol list")
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

const BTC: usize = 0;
const ETH: usize = 1;

/// The server's script; returns the true books at the end.
fn script(mut s: Scripted, go: Receiver<()>) -> [Levels; 2] {
    s.send({
        let mut out = String::new();
        frames::status(&mut out, "online", 42);
        out
    });
    // Initial subscription: one request for both symbols (same depth).
    let sub = s.request();
    assert_eq!(method(&sub), "subscribe", "{sub}");
    assert_eq!(book_symbols(&sub), ["BTC/USD", "ETH/USD"]);
    let id = sub["req_id"].clone();
    s.ack("subscribe", BTC, &id);
    s.ack("subscribe", ETH, &id);
    s.snapshot(BTC);
    s.snapshot(ETH);
    for _ in 0..3 {
        s.update(BTC, false);
        s.update(ETH, false);
    }
    // The fault: BTC's book is right, its checksum is not.
    s.update(BTC, true);
    // In flight before the engine's unsubscribe can arrive: BTC dropped, ETH applied.
    s.update(BTC, false);
    s.update(ETH, false);
    let unsub = s.request();
    assert_eq!(method(&unsub), "unsubscribe", "{unsub}");
    assert_eq!(book_symbols(&unsub), ["BTC/USD"]);
    // Still the old subscription (the ack is not sent yet): dropped.
    s.update(BTC, false);
    // The test pings once it sees BTC resyncing: a subscribe sent before the unsubscribe's ack
    // would arrive first.
    let ping = s.request();
    assert_eq!(
        method(&ping),
        "ping",
        "expected the test's ping, got {ping}"
    );
    s.pong(&ping["req_id"]);
    // The test looks at the engine between the pong and the ack.
    go.recv().expect("the test's go-ahead");
    s.ack("unsubscribe", BTC, &unsub["req_id"]);
    // Late frame of the old subscription after its ack: dropped.
    s.update(BTC, false);
    let resub = s.request();
    assert_eq!(method(&resub), "subscribe", "{resub}");
    assert_eq!(book_symbols(&resub), ["BTC/USD"]);
    assert_eq!(resub["params"]["depth"], DEPTH);
    assert_eq!(resub["params"]["snapshot"], true);
    // Before the new subscription's snapshot: dropped.
    s.update(BTC, false);
    s.ack("subscribe", BTC, &resub["req_id"]);
    s.snapshot(BTC);
    for _ in 0..5 {
        s.update(BTC, false);
        s.update(ETH, false);
    }
    let last = s.request();
    assert_eq!(method(&last), "ping", "{last}");
    s.pong(&last["req_id"]);
    [s.levels(BTC), s.levels(ETH)]
}

type Script = fn(Scripted, Receiver<()>) -> [Levels; 2];

fn spawn_script(script: Script) -> (u16, Sender<()>, JoinHandle<[Levels; 2]>) {
    let (go_tx, go) = std::sync::mpsc::channel();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let ws = accept(&listener);
        let pairs = [find_pair("BTC/USD").unwrap(), find_pair("ETH/USD").unwrap()];
        let mut truth =
            pairs.map(|p| OrderBook::new(DEPTH.into(), p.price_precision, p.qty_precision));
        for (i, book) in truth.iter_mut().enumerate() {
            let mid = 1_000_050 + i as i64 * 7_000;
            let bids: Vec<_> = (0..5)
                .map(|k| (Price(mid - 50 - k * 10), Qty(200_000_000 + k)))
                .collect();
            let asks: Vec<_> = (0..5)
                .map(|k| (Price(mid + 50 + k * 10), Qty(300_000_000 + k)))
                .collect();
            book.apply_exact(ApplyMode::Snapshot, &bids, &asks);
        }
        script(
            Scripted {
                listener,
                ws,
                pairs,
                truth,
                step: 0,
            },
            go,
        )
    });
    (port, go_tx, handle)
}

/// A core configuration for the scripted server on `port`.
fn scripted_config(port: u16) -> kspin::runtime::CoreConfig {
    let endpoint = Endpoint::parse(&format!("ws://127.0.0.1:{port}/v2")).unwrap();
    let tls = TlsSettings {
        extra_root_pem: None,
        use_webpki_roots: false,
        server_name_override: None,
    };
    let mut cfg = core_config_for(endpoint, tls, &[("BTC/USD", DEPTH), ("ETH/USD", DEPTH)]);
    // No timer pings, no stall (the scripts send no heartbeats).
    cfg.ping_interval = Duration::from_secs(3_600);
    cfg.stall_timeout = Duration::from_secs(3_600);
    for p in &mut cfg.symbols {
        p.trade = false;
    }
    cfg
}

#[test]
fn resync_is_unsubscribe_ack_subscribe_snapshot_and_drops_everything_between() {
    let (port, go, server) = spawn_script(script);
    let mut cfg = scripted_config(port);
    // Precision configured: no `instrument` round trip.
    for p in &mut cfg.symbols {
        let pair = find_pair(&p.symbol).unwrap();
        p.precision = Some((pair.price_precision, pair.qty_precision));
    }
    let mut core = core(cfg);

    poll_until(&mut core, "BTC resyncing", |c| {
        c.feed().book(BTC).unwrap().state == SubscriptionState::Unsubscribing
    });
    let id = core.ping_now();
    assert!(id.is_some());
    poll_until(&mut core, "the pong", |c| c.publisher().last_pong == id);
    {
        // Up to the pong: BTC waits for its unsubscribe ack with an empty book and has dropped the
        // two updates of the old subscription; ETH is live with every update applied.
        let btc = core.feed().book(BTC).unwrap();
        assert_eq!(btc.state, SubscriptionState::Unsubscribing);
        assert!(btc.book.bids().is_empty() && btc.book.asks().is_empty());
        assert_eq!(btc.counters.dropped_not_live, 2, "{}", describe(&core));
        let eth = core.feed().book(ETH).unwrap();
        assert_eq!(eth.state, SubscriptionState::Live);
        assert_eq!(eth.counters.book_messages, 5);
        assert_eq!(eth.counters.checksum_ok, 5);
    }
    go.send(()).unwrap();
    poll_until(&mut core, "BTC live again", all_live);
    let id = core.ping_now();
    assert!(id.is_some());
    poll_until(&mut core, "the last pong", |c| {
        c.publisher().last_pong == id
    });
    let truth = server.join().expect("the script ran to its end");

    // Both books equal the script's true books: nothing dropped leaked into the new BTC book.
    for (levels, (name, b)) in truth.iter().zip(core.feed().books()) {
        assert_eq!(b.state, SubscriptionState::Live, "{name}");
        assert_eq!(
            b.book.bids().iter().collect::<Vec<_>>(),
            levels.0,
            "{name} bids"
        );
        assert_eq!(
            b.book.asks().iter().collect::<Vec<_>>(),
            levels.1,
            "{name} asks"
        );
    }
    let btc = core.feed().book(BTC).unwrap().counters;
    let eth = core.feed().book(ETH).unwrap().counters;
    // BTC: 2 snapshots + 3 + 1 corrupt + 1 in flight + 1 before the ack + 1 after it + 1 before
    // the snapshot + 5 after.
    assert_eq!(btc.book_messages, 15);
    assert_eq!(btc.dropped_not_live, 4, "{}", describe(&core));
    assert_eq!(
        (btc.checksum_mismatch, btc.resyncs, btc.snapshots),
        (1, 1, 2)
    );
    assert_eq!(btc.checksum_ok, 2 + 3 + 5);
    assert_eq!((eth.book_messages, eth.checksum_ok), (10, 10));
    assert_eq!(
        (eth.dropped_not_live, eth.resyncs, eth.snapshots),
        (0, 0, 1)
    );
    let r = core.publisher();
    assert_eq!((r.stale[BTC], r.live[BTC], r.mismatches[BTC]), (1, 2, 1));
    assert_eq!(r.last_stale[BTC], Some(StaleReason::ChecksumMismatch));
    assert_eq!((r.stale[ETH], r.live[ETH]), (0, 1));
    assert_eq!(r.published_unverified, 0);
    let c = core.counters();
    // Initial subscribe, unsubscribe, subscribe, two pings.
    assert_eq!((c.connects, c.disconnects), (1, 0));
    assert_eq!(c.requests_sent, 3);
    assert_eq!(c.pings_sent, 2);
}

const SYMBOLS: [(&str, u16); 3] = [("BTC/USD", 10), ("ETH/USD", 10), ("SOL/USD", 25)];

/// Corrupts ETH/USD `n` times under `policy` (after 2 mismatches), waiting after each one for
/// `settled`; returns the core for inspection after a final comparison with the venue.
fn corrupt_repeatedly(
    action: MismatchAction,
    n: u64,
    settled: impl Fn(&Core, u64) -> bool,
) -> (kspin::sim::VenueHandle, Core) {
    let names: Vec<&str> = SYMBOLS.iter().map(|s| s.0).collect();
    let venue = venue(false, &names, 1_500, false);
    let mut cfg = core_config(&venue, &SYMBOLS);
    cfg.policy = MismatchPolicy {
        action,
        max_mismatches: 2,
    };
    let mut core = core(cfg);
    start(&mut core);
    stream(&mut core, 100);
    for k in 1..=n {
        venue.inject(FaultKind::Corrupt(Some("ETH/USD".into())));
        poll_until(&mut core, "the mismatch to be handled", |c| settled(c, k));
        stream(&mut core, 100);
    }
    settle_and_compare_trusted(&mut core, &venue);
    assert_eq!(venue.stats().checksums_corrupted, n);
    (venue, core)
}

/// The symbols other than ETH/USD never noticed.
fn others_untouched(core: &Core) {
    let eth = index_of(core, "ETH/USD");
    for (i, (name, b)) in core.feed().books().enumerate() {
        if i != eth {
            assert_eq!(b.state, SubscriptionState::Live, "{name}");
            assert_eq!(
                (b.counters.resyncs, b.counters.checksum_mismatch),
                (0, 0),
                "{name}"
            );
            assert_eq!(b.counters.dropped_not_live, 0, "{name}");
            assert_eq!(core.publisher().stale[i], 0, "{name}");
        }
    }
    let c = core.counters();
    assert_eq!((c.connects, c.disconnects), (1, 0));
}

fn eth(core: &Core) -> &kspin::feed::SymbolBook {
    core.feed().book(index_of(core, "ETH/USD")).unwrap()
}

#[test]
fn policy_keep_resyncing_resyncs_every_time() {
    let (_venue, core) = corrupt_repeatedly(MismatchAction::KeepResyncing, 3, |c, k| {
        eth(c).counters.resyncs == k && all_live(c)
    });
    let b = eth(&core);
    assert_eq!((b.counters.checksum_mismatch, b.counters.resyncs), (3, 3));
    assert_eq!(b.counters.snapshots, 4);
    assert_eq!(b.state, SubscriptionState::Live);
    others_untouched(&core);
}

#[test]
fn policy_stop_validating_after_the_limit() {
    let (_venue, core) = corrupt_repeatedly(MismatchAction::StopValidating, 3, |c, k| {
        let b = eth(c);
        b.counters.checksum_mismatch == k && b.state.is_live()
    });
    let b = eth(&core);
    // First mismatch: a resync. Second: the limit, validation stops. Third: counted only.
    assert_eq!((b.counters.checksum_mismatch, b.counters.resyncs), (3, 1));
    assert_eq!(b.counters.snapshots, 2);
    assert_eq!(b.state, SubscriptionState::Unvalidated);
    assert_eq!(core.publisher().stale[index_of(&core, "ETH/USD")], 1);
    others_untouched(&core);
}

#[test]
fn policy_halt_after_the_limit() {
    let (_venue, core) = corrupt_repeatedly(MismatchAction::Halt, 2, |c, k| {
        let b = eth(c);
        b.counters.checksum_mismatch == k
            && matches!(b.state, SubscriptionState::Live | SubscriptionState::Halted)
    });
    let b = eth(&core);
    let i = index_of(&core, "ETH/USD");
    assert_eq!((b.counters.checksum_mismatch, b.counters.resyncs), (2, 1));
    assert_eq!(b.state, SubscriptionState::Halted);
    assert!(
        b.counters.dropped_not_live > 0,
        "updates after the halt are dropped"
    );
    let r = core.publisher();
    assert_eq!(r.stale[i], 2);
    assert_eq!(r.last_stale[i], Some(StaleReason::Halted));
    others_untouched(&core);
}

/// BTC/USD with one more price decimal: the instrument update of the next test.
fn btc_finer() -> &'static SimPair {
    Box::leak(Box::new(SimPair {
        price_precision: 2,
        ..*find_pair("BTC/USD").unwrap()
    }))
}

fn precision_script(mut s: Scripted, _go: Receiver<()>) -> [Levels; 2] {
    s.send({
        let mut out = String::new();
        frames::status(&mut out, "online", 43);
        out
    });
    let inst = s.request();
    assert_eq!(method(&inst), "subscribe", "{inst}");
    assert_eq!(inst["params"]["channel"], "instrument", "{inst}");
    s.send({
        let mut out = String::new();
        frames::instrument(&mut out, &s.pairs);
        out
    });
    let sub = s.request();
    assert_eq!(book_symbols(&sub), ["BTC/USD", "ETH/USD"]);
    let id = sub["req_id"].clone();
    s.ack("subscribe", BTC, &id);
    s.ack("subscribe", ETH, &id);
    s.snapshot(BTC);
    s.snapshot(ETH);
    for _ in 0..3 {
        s.update(BTC, false);
        s.update(ETH, false);
    }
    // Kraken changes BTC/USD's price precision: an instrument update; from now on every BTC
    // price has two decimals (the true book is the same prices, mantissas x10).
    let finer = btc_finer();
    s.send({
        let mut out = String::new();
        frames::instrument(&mut out, &[finer]);
        out.replacen("\"type\":\"snapshot\"", "\"type\":\"update\"", 1)
    });
    let rescale = |v: Vec<(Price, Qty)>| -> Vec<(Price, Qty)> {
        v.into_iter().map(|(p, q)| (Price(p.0 * 10), q)).collect()
    };
    let (bids, asks) = s.levels(BTC);
    let mut book = OrderBook::new(DEPTH.into(), 2, finer.qty_precision);
    book.apply_exact(ApplyMode::Snapshot, &rescale(bids), &rescale(asks));
    s.truth[BTC] = book;
    s.pairs[BTC] = finer;
    // An update at the new precision, still on the old subscription: not for the old book.
    s.update(BTC, false);
    s.update(ETH, false);
    // The engine resyncs BTC to get a snapshot at the new precision.
    let unsub = s.request();
    assert_eq!(method(&unsub), "unsubscribe", "{unsub}");
    assert_eq!(book_symbols(&unsub), ["BTC/USD"]);
    s.ack("unsubscribe", BTC, &unsub["req_id"]);
    let resub = s.request();
    assert_eq!(method(&resub), "subscribe", "{resub}");
    assert_eq!(book_symbols(&resub), ["BTC/USD"]);
    s.ack("subscribe", BTC, &resub["req_id"]);
    s.snapshot(BTC);
    for _ in 0..3 {
        s.update(BTC, false);
        s.update(ETH, false);
    }
    let last = s.request();
    assert_eq!(method(&last), "ping", "{last}");
    s.pong(&last["req_id"]);
    [s.levels(BTC), s.levels(ETH)]
}

#[test]
fn a_precision_change_on_a_live_book_resyncs_it_at_the_new_precision() {
    let (port, _go, server) = spawn_script(precision_script);
    // Precision learnt from `instrument` (nothing configured).
    let mut core = core(scripted_config(port));
    poll_until(&mut core, "BTC rebuilt at the new precision", |c| {
        all_live(c) && c.feed().book(BTC).unwrap().counters.snapshots == 2
    });
    let id = core.ping_now();
    assert!(id.is_some());
    poll_until(&mut core, "the last pong", |c| {
        c.publisher().last_pong == id
    });
    let truth = server.join().expect("the script ran to its end");
    for (levels, (name, b)) in truth.iter().zip(core.feed().books()) {
        assert_eq!(
            b.book.bids().iter().collect::<Vec<_>>(),
            levels.0,
            "{name} bids"
        );
        assert_eq!(
            b.book.asks().iter().collect::<Vec<_>>(),
            levels.1,
            "{name} asks"
        );
    }
    let entry = core.feed().symbols().get(BTC).unwrap();
    assert_eq!((entry.price_scale, entry.qty_scale), (2, 8));
    assert_eq!(core.feed().book(BTC).unwrap().book.price_scale(), 2);
    let btc = core.feed().book(BTC).unwrap().counters;
    let eth = core.feed().book(ETH).unwrap().counters;
    assert_eq!(
        (btc.checksum_mismatch, btc.resyncs),
        (0, 1),
        "{}",
        describe(&core)
    );
    assert_eq!(btc.dropped_not_live, 1);
    assert_eq!(
        (eth.resyncs, eth.dropped_not_live, eth.checksum_ok),
        (0, 0, 8)
    );
    let r = core.publisher();
    assert_eq!((r.stale[BTC], r.live[BTC]), (1, 2));
    assert_eq!((r.stale[ETH], r.live[ETH]), (0, 1));
    assert_eq!(core.feed().counters().instruments, 2);
}

fn late_precision_script(mut s: Scripted, _go: Receiver<()>) -> [Levels; 2] {
    let inst = s.request();
    assert_eq!(inst["params"]["channel"], "instrument", "{inst}");
    // The instrument snapshot lists ETH/USD only (BTC/USD is listed later).
    s.send({
        let mut out = String::new();
        frames::instrument(&mut out, &s.pairs[ETH..]);
        out
    });
    let sub = s.request();
    assert_eq!(book_symbols(&sub), ["BTC/USD", "ETH/USD"]);
    let id = sub["req_id"].clone();
    s.ack("subscribe", BTC, &id);
    s.ack("subscribe", ETH, &id);
    // BTC's snapshot and updates cannot be read without a precision: dropped, counted.
    s.snapshot(BTC);
    s.snapshot(ETH);
    s.update(BTC, false);
    s.update(ETH, false);
    s.send({
        let mut out = String::new();
        frames::instrument(&mut out, &s.pairs[..ETH]);
        out.replacen("\"type\":\"snapshot\"", "\"type\":\"update\"", 1)
    });
    // No snapshot will come on the current subscription: the engine resubscribes.
    let unsub = s.request();
    assert_eq!(method(&unsub), "unsubscribe", "{unsub}");
    assert_eq!(book_symbols(&unsub), ["BTC/USD"]);
    s.ack("unsubscribe", BTC, &unsub["req_id"]);
    let resub = s.request();
    assert_eq!(method(&resub), "subscribe", "{resub}");
    s.ack("subscribe", BTC, &resub["req_id"]);
    s.snapshot(BTC);
    for _ in 0..3 {
        s.update(BTC, false);
        s.update(ETH, false);
    }
    let last = s.request();
    assert_eq!(method(&last), "ping", "{last}");
    s.pong(&last["req_id"]);
    [s.levels(BTC), s.levels(ETH)]
}

#[test]
fn a_snapshot_dropped_for_want_of_precision_is_fetched_again_once_it_is_known() {
    let (port, _go, server) = spawn_script(late_precision_script);
    let mut core = core(scripted_config(port));
    poll_until(&mut core, "BTC live", all_live);
    let id = core.ping_now();
    assert!(id.is_some());
    poll_until(&mut core, "the last pong", |c| {
        c.publisher().last_pong == id
    });
    let truth = server.join().expect("the script ran to its end");
    for (levels, (name, b)) in truth.iter().zip(core.feed().books()) {
        assert_eq!(
            b.book.bids().iter().collect::<Vec<_>>(),
            levels.0,
            "{name} bids"
        );
        assert_eq!(
            b.book.asks().iter().collect::<Vec<_>>(),
            levels.1,
            "{name} asks"
        );
    }
    assert_eq!(
        core.feed().counters().no_precision,
        2,
        "{}",
        describe(&core)
    );
    let btc = core.feed().book(BTC).unwrap().counters;
    assert_eq!((btc.resyncs, btc.snapshots, btc.checksum_ok), (1, 1, 4));
    let r = core.publisher();
    assert_eq!((r.stale[BTC], r.live[BTC]), (0, 1));
    assert_eq!(core.feed().book(ETH).unwrap().counters.resyncs, 0);
}

fn cut_mid_resync_script(mut s: Scripted, _go: Receiver<()>) -> [Levels; 2] {
    let sub = s.request();
    assert_eq!(book_symbols(&sub), ["BTC/USD", "ETH/USD"]);
    let id = sub["req_id"].clone();
    s.ack("subscribe", BTC, &id);
    s.ack("subscribe", ETH, &id);
    s.snapshot(BTC);
    s.snapshot(ETH);
    s.update(ETH, false);
    s.update(BTC, true);
    let unsub = s.request();
    assert_eq!(method(&unsub), "unsubscribe", "{unsub}");
    // The connection dies before the unsubscribe is acknowledged.
    s.cut_and_accept();
    // On the new connection: every subscription exactly once (the grouped one), and no
    // leftover resync request.
    let sub = s.request();
    assert_eq!(method(&sub), "subscribe", "{sub}");
    assert_eq!(book_symbols(&sub), ["BTC/USD", "ETH/USD"]);
    let id = sub["req_id"].clone();
    s.ack("subscribe", BTC, &id);
    s.ack("subscribe", ETH, &id);
    s.snapshot(BTC);
    s.snapshot(ETH);
    for _ in 0..3 {
        s.update(BTC, false);
        s.update(ETH, false);
    }
    let last = s.request();
    assert_eq!(
        method(&last),
        "ping",
        "expected only the test's ping, got {last}"
    );
    s.pong(&last["req_id"]);
    [s.levels(BTC), s.levels(ETH)]
}

#[test]
fn a_drop_in_the_middle_of_a_resync_resubscribes_everything_exactly_once() {
    let (port, _go, server) = spawn_script(cut_mid_resync_script);
    let mut cfg = scripted_config(port);
    for p in &mut cfg.symbols {
        let pair = find_pair(&p.symbol).unwrap();
        p.precision = Some((pair.price_precision, pair.qty_precision));
    }
    let mut core = core(cfg);
    poll_until(&mut core, "reconnected, every book live", |c| {
        c.counters().connects == 2 && all_live(c)
    });
    let id = core.ping_now();
    assert!(id.is_some());
    poll_until(&mut core, "the last pong", |c| {
        c.publisher().last_pong == id
    });
    let truth = server.join().expect("the script ran to its end");
    for (levels, (name, b)) in truth.iter().zip(core.feed().books()) {
        assert_eq!(
            b.book.bids().iter().collect::<Vec<_>>(),
            levels.0,
            "{name} bids"
        );
        assert_eq!(
            b.book.asks().iter().collect::<Vec<_>>(),
            levels.1,
            "{name} asks"
        );
        assert_eq!(b.counters.snapshots, 2, "{name}");
    }
    let btc = core.feed().book(BTC).unwrap().counters;
    assert_eq!((btc.checksum_mismatch, btc.resyncs), (1, 1));
    let c = core.counters();
    assert_eq!((c.disconnects, c.reconnects, c.requests_sent), (1, 1, 3));
    let r = core.publisher();
    // BTC went stale by its mismatch (the drop found it already stale); ETH by the drop.
    assert_eq!(r.last_stale[BTC], Some(StaleReason::ChecksumMismatch));
    assert_eq!(r.last_stale[ETH], Some(StaleReason::Disconnected));
    assert_eq!((r.live[BTC], r.live[ETH]), (2, 2));
}
