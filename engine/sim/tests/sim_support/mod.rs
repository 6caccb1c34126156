//! Test client for the simulated venue: a plain blocking tungstenite client (over rustls for
//! `wss://`, trusting only the venue's PEM), and client-side books rebuilt from the raw frame
//! text with `kspin_core::book::OrderBook`, numbers read as text (sonic-rs raw values), never `f64`.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use kspin_api::{Decimal, Price, Qty};
use kspin_core::book::{ApplyMode, OrderBook};
use kspin_sim::{instruments, VenueHandle};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConnection, StreamOwned};
use sonic_rs::JsonValueTrait;
use tungstenite::{Message, WebSocket};

/// Longest a test waits for one frame before failing: a hang guard, not a timing assertion.
pub const HANG_GUARD: Duration = Duration::from_secs(30);

pub enum ClientStream {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl ClientStream {
    pub fn tcp(&self) -> &TcpStream {
        match self {
            ClientStream::Plain(s) => s,
            ClientStream::Tls(s) => &s.sock,
        }
    }
}

impl Read for ClientStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            ClientStream::Plain(s) => s.read(buf),
            ClientStream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for ClientStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            ClientStream::Plain(s) => s.write(buf),
            ClientStream::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            ClientStream::Plain(s) => s.flush(),
            ClientStream::Tls(s) => s.flush(),
        }
    }
}

/// What reading the next frame gave.
#[derive(Debug)]
pub enum Next {
    Text(String),
    /// The server sent a WebSocket close frame.
    CloseFrame,
    /// The connection ended; the error says how.
    Ended(tungstenite::Error),
}

pub struct Client {
    pub ws: WebSocket<ClientStream>,
}

/// A rustls client configuration trusting exactly the venue's certificate.
pub fn tls_config(pem: &str) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

/// Opens the TCP connection only (to observe refusals).
pub fn tcp_connect(venue: &VenueHandle) -> io::Result<TcpStream> {
    TcpStream::connect(venue.local_addr())
}

/// Connects to the venue's URL (TLS when it is `wss://`), completing both handshakes.
pub fn connect(venue: &VenueHandle) -> Client {
    try_connect(venue).unwrap()
}

pub fn try_connect(venue: &VenueHandle) -> io::Result<Client> {
    try_connect_at(venue.local_addr(), &venue.url(), venue.cert_pem())
}

/// Connects to `url` at `addr` (TLS trusting `pem` when given), completing both handshakes.
pub fn try_connect_at(
    addr: std::net::SocketAddr,
    url: &str,
    pem: Option<&str>,
) -> io::Result<Client> {
    let tcp = TcpStream::connect(addr)?;
    tcp.set_read_timeout(Some(HANG_GUARD))?;
    tcp.set_nodelay(true)?;
    let stream = match pem {
        None => ClientStream::Plain(tcp),
        Some(pem) => {
            let name = ServerName::try_from("localhost").unwrap();
            let conn = ClientConnection::new(tls_config(pem), name).unwrap();
            ClientStream::Tls(Box::new(StreamOwned::new(conn, tcp)))
        }
    };
    let (ws, _) = tungstenite::client(url, stream)
        .map_err(|e| io::Error::other(format!("handshake: {e}")))?;
    Ok(Client { ws })
}

impl Client {
    pub fn send(&mut self, text: &str) {
        self.ws.send(Message::text(text)).unwrap();
    }

    pub fn next(&mut self) -> Next {
        loop {
            match self.ws.read() {
                Ok(Message::Text(t)) => return Next::Text(t.as_str().to_owned()),
                Ok(Message::Close(_)) => return Next::CloseFrame,
                Ok(_) => continue,
                Err(e) => return Next::Ended(e),
            }
        }
    }

    /// The next text frame; panics if the connection ends.
    pub fn text(&mut self) -> String {
        match self.next() {
            Next::Text(t) => t,
            other => panic!("expected a text frame, got {other:?}"),
        }
    }

    /// Reads text frames until one satisfies `pred`, handing each to `seen`.
    pub fn until(
        &mut self,
        mut pred: impl FnMut(&str) -> bool,
        mut seen: impl FnMut(&str),
    ) -> String {
        loop {
            let t = self.text();
            seen(&t);
            if pred(&t) {
                return t;
            }
        }
    }
}

/// Raw text of `key` in the JSON object `json` (numbers exactly as written).
pub fn raw(json: &str, key: &str) -> Option<String> {
    sonic_rs::get_from_str(json, [key])
        .ok()
        .map(|v| v.as_raw_str().to_owned())
}

/// The unquoted string value of `key`.
pub fn str_field(json: &str, key: &str) -> Option<String> {
    sonic_rs::get_from_str(json, [key])
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
}

/// Raw texts of the elements of a JSON array.
pub fn array(json: &str) -> Vec<String> {
    sonic_rs::to_array_iter(json)
        .map(|v| v.unwrap().as_raw_str().to_owned())
        .collect()
}

pub fn channel(frame: &str) -> Option<String> {
    str_field(frame, "channel")
}

/// (price text, qty text) of each level of `list`.
pub fn level_texts(list: &str) -> Vec<(String, String)> {
    array(list)
        .iter()
        .map(|lv| (raw(lv, "price").unwrap(), raw(lv, "qty").unwrap()))
        .collect()
}

/// A parsed book entry (one element of `data`).
#[derive(Debug, Clone)]
pub struct BookEntry {
    pub snapshot: bool,
    pub symbol: String,
    pub bids: Vec<(String, String)>,
    pub asks: Vec<(String, String)>,
    pub checksum: u32,
}

/// The book entries of a `book` frame (empty for other frames).
pub fn book_entries(frame: &str) -> Vec<BookEntry> {
    if channel(frame).as_deref() != Some("book") {
        return Vec::new();
    }
    let snapshot = str_field(frame, "type").as_deref() == Some("snapshot");
    array(&raw(frame, "data").unwrap())
        .iter()
        .map(|e| BookEntry {
            snapshot,
            symbol: str_field(e, "symbol").unwrap(),
            bids: level_texts(&raw(e, "bids").unwrap()),
            asks: level_texts(&raw(e, "asks").unwrap()),
            checksum: raw(e, "checksum").unwrap().parse().unwrap(),
        })
        .collect()
}

fn precision(symbol: &str) -> (u8, u8) {
    let p = instruments().iter().find(|p| p.symbol == symbol).unwrap();
    (p.price_precision, p.qty_precision)
}

fn exact(levels: &[(String, String)], pp: u8, qp: u8) -> Vec<(Price, Qty)> {
    levels
        .iter()
        .map(|(p, q)| {
            // Exactly the pair's precision on the wire (trailing zeros kept).
            assert_eq!(
                p.split('.').nth(1).map_or(0, str::len),
                pp as usize,
                "price {p}"
            );
            assert_eq!(
                q.split('.').nth(1).map_or(0, str::len),
                qp as usize,
                "qty {q}"
            );
            (
                Price::from_decimal(Decimal::parse(p.as_bytes()).unwrap(), pp).unwrap(),
                Qty::from_decimal(Decimal::parse(q.as_bytes()).unwrap(), qp).unwrap(),
            )
        })
        .collect()
}

/// Outcome of applying one book entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    Ok,
    Mismatch { symbol: String },
}

/// A client's books, one per symbol, at the depth it subscribed.
#[derive(Default)]
pub struct ClientBooks {
    pub books: HashMap<String, OrderBook>,
    pub depths: HashMap<String, u16>,
    pub checked: u64,
    pub mismatches: Vec<String>,
    /// Updates that carried both sides / several levels / a delete plus an insert (realism).
    pub both_sides: u64,
    pub multi_level: u64,
    pub refills: u64,
}

impl ClientBooks {
    pub fn expect(&mut self, symbol: &str, depth: u16) {
        let (pp, qp) = precision(symbol);
        self.books
            .insert(symbol.to_owned(), OrderBook::new(depth as usize, pp, qp));
        self.depths.insert(symbol.to_owned(), depth);
    }

    /// Applies every book entry of `frame`; returns one result per entry.
    pub fn apply(&mut self, frame: &str) -> Vec<Applied> {
        let mut out = Vec::new();
        for e in book_entries(frame) {
            let book = self.books.get_mut(&e.symbol).expect("unexpected symbol");
            let (pp, qp) = (book.price_scale(), book.qty_scale());
            let bids = exact(&e.bids, pp, qp);
            let asks = exact(&e.asks, pp, qp);
            let mode = if e.snapshot {
                ApplyMode::Snapshot
            } else {
                ApplyMode::Update
            };
            let report = book.apply_exact(mode, &bids, &asks);
            assert!(!report.crossed, "crossed book {}", e.symbol);
            if !e.snapshot {
                self.both_sides += (!bids.is_empty() && !asks.is_empty()) as u64;
                self.multi_level += (bids.len() + asks.len() > 1) as u64;
                self.refills += (report.removed > 0 && report.inserted > 0) as u64;
            }
            self.checked += 1;
            if book.checksum_uncached() == e.checksum {
                out.push(Applied::Ok);
            } else {
                self.mismatches.push(e.symbol.clone());
                out.push(Applied::Mismatch { symbol: e.symbol });
            }
        }
        out
    }

    /// Asserts every book equals what the venue says a correct client holds now.
    pub fn assert_equal_to(&self, venue: &VenueHandle) {
        for (symbol, book) in &self.books {
            let depth = self.depths[symbol];
            let (bids, asks) = venue.book_levels(symbol, depth).unwrap();
            let mine_b: Vec<_> = book.bids().iter().collect();
            let mine_a: Vec<_> = book.asks().iter().collect();
            assert_eq!(mine_b, bids, "{symbol} d{depth} bids");
            assert_eq!(mine_a, asks, "{symbol} d{depth} asks");
            assert!(!bids.is_empty() && !asks.is_empty());
        }
    }
}

/// Subscribes to `book` for `symbols` at `depth` and registers them in `books`.
pub fn subscribe_book(
    client: &mut Client,
    books: &mut ClientBooks,
    symbols: &[&str],
    depth: u16,
    req_id: u64,
) {
    let list: Vec<String> = symbols.iter().map(|s| format!("\"{s}\"")).collect();
    client.send(&format!(
        r#"{{"method":"subscribe","params":{{"channel":"book","symbol":[{}],"depth":{depth}}},"req_id":{req_id}}}"#,
        list.join(",")
    ));
    for s in symbols {
        books.expect(s, depth);
    }
}

/// After `venue.pause()`: sends a ping and reads (applying book frames) up to its pong.
pub fn drain_to_pong(client: &mut Client, books: &mut ClientBooks, req_id: u64) {
    client.send(&format!(r#"{{"method":"ping","req_id":{req_id}}}"#));
    let id = req_id.to_string();
    loop {
        let t = client.text();
        if str_field(&t, "method").as_deref() == Some("pong")
            && raw(&t, "req_id").as_deref() == Some(id.as_str())
        {
            return;
        }
        books.apply(&t);
    }
}

/// The frame with every `"timestamp":"..."`, `"time_in"` and `"time_out"` value blanked.
pub fn without_times(frame: &str) -> String {
    let mut out = String::with_capacity(frame.len());
    let mut rest = frame;
    while let Some(i) = ["\"timestamp\":\"", "\"time_in\":\"", "\"time_out\":\""]
        .iter()
        .filter_map(|k| rest.find(k).map(|i| (i, k.len())))
        .min()
        .map(|(i, l)| i + l)
    {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let end = rest.find('"').unwrap();
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}
