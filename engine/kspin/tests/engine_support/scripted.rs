//! A scripted Kraken server for the resync tests: a blocking tungstenite server on 127.0.0.1
//! whose every frame is chosen by a script, with checksums from a model `OrderBook` per symbol
//! (the "true" book), so the order of events the engine sees is exact.
//!
//! Owns the listener (a script may cut the connection and accept the engine's next one), the
//! WebSocket and the true books of BTC/USD and ETH/USD. Requests are read as JSON; acks, pongs,
//! status and book frames are written with the simulated venue's frame writers.

use std::net::{TcpListener, TcpStream};
use std::sync::mpsc::{Receiver, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use kspin::book::{ApplyMode, OrderBook};
use kspin::net::{Endpoint, TlsSettings};
use kspin::sim::frames::{self, ReqTimes};
use kspin::sim::pairs::find_pair;
use kspin::sim::SimPair;
use kspin_api::{Price, Qty};
use serde_json::Value;
use tungstenite::{Message, WebSocket};

use super::{core_config_for, BUDGET};

pub const DEPTH: u16 = 10;

/// The scripted server's side of the market: the true book of each symbol.
pub struct Scripted {
    pub listener: TcpListener,
    pub ws: WebSocket<TcpStream>,
    pub pairs: [&'static SimPair; 2],
    pub truth: [OrderBook; 2],
    pub step: i64,
}

pub type Levels = (Vec<(Price, Qty)>, Vec<(Price, Qty)>);

pub fn accept(listener: &TcpListener) -> WebSocket<TcpStream> {
    let (tcp, _) = listener.accept().unwrap();
    tcp.set_read_timeout(Some(BUDGET)).unwrap();
    tcp.set_nodelay(true).unwrap();
    tungstenite::accept(tcp).expect("websocket upgrade")
}

impl Scripted {
    /// Cuts the connection (no WebSocket close) and accepts the engine's next one.
    pub fn cut_and_accept(&mut self) {
        let _ = self.ws.get_mut().shutdown(std::net::Shutdown::Both);
        self.ws = accept(&self.listener);
    }

    pub fn send(&mut self, text: String) {
        self.ws.send(Message::text(text)).expect("send");
    }

    /// The next request, as JSON.
    pub fn request(&mut self) -> Value {
        loop {
            match self.ws.read().expect("read a request") {
                Message::Text(t) => return serde_json::from_str(t.as_str()).expect("JSON request"),
                Message::Close(_) => panic!("the engine closed the connection"),
                _ => continue,
            }
        }
    }

    pub fn times() -> ReqTimes {
        let now = frames::now_micros();
        ReqTimes {
            time_in: now,
            time_out: now,
        }
    }

    pub fn ack(&mut self, method: &str, i: usize, req_id: &Value) {
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

    pub fn pong(&mut self, req_id: &Value) {
        let mut out = String::new();
        frames::pong(&mut out, Self::times(), Some(&req_id.to_string()));
        self.send(out);
    }

    pub fn book_frame(
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
    pub fn snapshot(&mut self, i: usize) {
        let bids: Vec<_> = self.truth[i].bids().iter().collect();
        let asks: Vec<_> = self.truth[i].asks().iter().collect();
        let text = self.book_frame(i, true, &bids, &asks, self.truth[i].checksum_uncached());
        self.send(text);
    }

    /// Moves the true book of `i` by one deterministic change and sends it as an update, with
    /// a wrong checksum when `corrupt`.
    pub fn update(&mut self, i: usize, corrupt: bool) {
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
        let mut checksum = self.truth[i].checksum_uncached();
        if corrupt {
            checksum ^= 0x5A5A_0001;
        }
        let text = self.book_frame(i, false, bids, asks, checksum);
        self.send(text);
    }

    pub fn levels(&self, i: usize) -> Levels {
        (
            self.truth[i].bids().iter().collect(),
            self.truth[i].asks().iter().collect(),
        )
    }

    /// Sends a `status` frame (system online) with `connection_id`.
    pub fn status_online(&mut self, connection_id: u64) {
        let mut out = String::new();
        frames::status(&mut out, "online", connection_id);
        self.send(out);
    }

    /// Expects the grouped book subscription of both symbols, acks it and sends both
    /// snapshots.
    pub fn subscribe_both(&mut self) {
        let sub = self.request();
        assert_eq!(method(&sub), "subscribe", "{sub}");
        assert_eq!(book_symbols(&sub), ["BTC/USD", "ETH/USD"]);
        let id = sub["req_id"].clone();
        self.ack("subscribe", BTC, &id);
        self.ack("subscribe", ETH, &id);
        self.snapshot(BTC);
        self.snapshot(ETH);
    }

    /// `rounds` correct updates of each symbol, alternating.
    pub fn stream(&mut self, rounds: usize) {
        for _ in 0..rounds {
            self.update(BTC, false);
            self.update(ETH, false);
        }
    }

    /// Expects symbol `i`'s resync, with nothing else in between: unsubscribe, (ack), subscribe,
    /// (ack), then sends the fresh snapshot.
    pub fn resync(&mut self, i: usize) {
        let unsub = self.request();
        assert_eq!(method(&unsub), "unsubscribe", "{unsub}");
        assert_eq!(book_symbols(&unsub), [self.pairs[i].symbol]);
        self.ack("unsubscribe", i, &unsub["req_id"]);
        let resub = self.request();
        assert_eq!(method(&resub), "subscribe", "{resub}");
        assert_eq!(book_symbols(&resub), [self.pairs[i].symbol]);
        self.ack("subscribe", i, &resub["req_id"]);
        self.snapshot(i);
    }

    /// Expects the test's final ping (and no other request before it), answers it and returns
    /// the true books.
    pub fn finish(&mut self) -> [Levels; 2] {
        let last = self.request();
        assert_eq!(
            method(&last),
            "ping",
            "expected only the test's ping, got {last}"
        );
        self.pong(&last["req_id"]);
        [self.levels(BTC), self.levels(ETH)]
    }
}

/// [`scripted_config`] with every precision configured (no `instrument` round trip).
pub fn scripted_config_known_precision(port: u16) -> super::TestConfig {
    let mut cfg = scripted_config(port);
    for p in &mut cfg.symbols {
        let pair = find_pair(&p.symbol).unwrap();
        p.precision = Some((pair.price_precision, pair.qty_precision));
    }
    cfg
}

/// Pings through the core and polls until the pong: every frame the script sent before it has
/// been processed.
pub fn drain_to_pong(core: &mut super::Core) {
    let id = core.ping_now();
    assert!(id.is_some(), "the connection is open");
    super::poll_until(core, "the last pong", |c| c.publisher().last_pong == id);
}

/// The engine's books equal the script's true books, level for level.
pub fn assert_books_are(core: &super::Core, truth: &[Levels; 2]) {
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
}

pub fn method(req: &Value) -> &str {
    req["method"].as_str().unwrap_or("")
}

pub fn book_symbols(req: &Value) -> Vec<String> {
    assert_eq!(req["params"]["channel"], "book", "{req}");
    req["params"]["symbol"]
        .as_array()
        .expect("symbol list")
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

pub const BTC: usize = 0;
pub const ETH: usize = 1;

pub type Script = fn(Scripted, Receiver<()>) -> [Levels; 2];

pub fn spawn_script(script: Script) -> (u16, Sender<()>, JoinHandle<[Levels; 2]>) {
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
pub fn scripted_config(port: u16) -> super::TestConfig {
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
