//! Test client for the venue's trading side: a hand-rolled HTTP/1.1 client (plain, or TLS
//! trusting only the venue's PEM) for the token endpoint, the engine's own token client
//! (`kspin_auth::TokenClient`), and an authenticated WebSocket session that keeps every frame it
//! reads past in an inbox, so answers and `executions` updates can be awaited in any order.
//! Numbers are compared as the text on the wire.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use kspin_auth::{sign_request, Credentials, TokenClient, TOKEN_PATH};
use kspin_sim::VenueHandle;
use rustls::pki_types::ServerName;
use rustls::{ClientConnection, StreamOwned};
use serde_json::Value;

use crate::sim_support::{tls_config, try_connect_at, Client, Next, HANG_GUARD};

pub fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// Sends `request` (raw bytes) to the REST listener; returns (status, body).
pub fn http_raw(venue: &VenueHandle, request: &[u8]) -> (u16, String) {
    let tcp = TcpStream::connect(venue.rest_addr().unwrap()).unwrap();
    tcp.set_read_timeout(Some(HANG_GUARD)).unwrap();
    let mut response = Vec::new();
    match venue.cert_pem() {
        None => {
            let mut tcp = tcp;
            tcp.write_all(request).unwrap();
            let _ = tcp.read_to_end(&mut response);
        }
        Some(pem) => {
            let name = ServerName::try_from("127.0.0.1").unwrap();
            let conn = ClientConnection::new(tls_config(pem), name).unwrap();
            let mut tls = StreamOwned::new(conn, tcp);
            tls.write_all(request).unwrap();
            let _ = tls.read_to_end(&mut response);
        }
    }
    let text = String::from_utf8(response).unwrap();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {text:?}"));
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap();
    (status, body)
}

/// A token request as Kraken's docs describe it, signed with `secret_of` (the venue's pair unless
/// a test wants a wrong one), sent with `api_key`.
pub fn token_request(
    venue: &VenueHandle,
    api_key: &str,
    secret_of: &Credentials,
    nonce: u64,
) -> (u16, String) {
    let body = format!("nonce={nonce}");
    let sign = sign_request(TOKEN_PATH, nonce, &body, secret_of.secret()).unwrap();
    let request = format!(
        "POST {TOKEN_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nAPI-Key: {api_key}\r\nAPI-Sign: {sign}\r\n\
         Content-Type: application/x-www-form-urlencoded; charset=utf-8\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    http_raw(venue, request.as_bytes())
}

/// A token from the venue through the engine's own client.
pub fn fetch_token(venue: &VenueHandle) -> String {
    let client = TokenClient::new(
        &venue.rest_url().unwrap(),
        venue.cert_pem(),
        Duration::from_secs(10),
    )
    .unwrap();
    let token = client.fetch(&venue.credentials().unwrap()).unwrap();
    token.as_str().to_owned()
}

/// An authenticated WebSocket session; see the module docs.
pub struct Auth {
    pub client: Client,
    pub token: String,
    next_req: u64,
    inbox: VecDeque<String>,
}

impl Auth {
    /// Fetches a token and connects to the authenticated endpoint (status frame read).
    pub fn connect(venue: &VenueHandle) -> Auth {
        let token = fetch_token(venue);
        Auth::connect_with(venue, token)
    }

    pub fn connect_with(venue: &VenueHandle, token: String) -> Auth {
        let mut client = try_connect_at(
            venue.auth_addr().unwrap(),
            &venue.auth_url().unwrap(),
            venue.cert_pem(),
        )
        .unwrap();
        let status = json(&client.text());
        assert_eq!(status["channel"], "status");
        Auth {
            client,
            token,
            next_req: 100,
            inbox: VecDeque::new(),
        }
    }

    /// Sends `method` with `params` (a JSON object's inner text, without the token); returns the
    /// `req_id` used.
    pub fn send(&mut self, method: &str, params: &str) -> u64 {
        self.next_req += 1;
        let sep = if params.trim().is_empty() { "" } else { "," };
        let text = format!(
            r#"{{"method":"{method}","params":{{{params}{sep}"token":"{}"}},"req_id":{}}}"#,
            self.token, self.next_req
        );
        self.client.send(&text);
        self.next_req
    }

    /// The next frame satisfying `pred`: from the inbox first, then the socket (other frames
    /// read on the way stay in the inbox, in order).
    pub fn wait(&mut self, mut pred: impl FnMut(&Value) -> bool) -> Value {
        if let Some(i) = self.inbox.iter().position(|t| pred(&json(t))) {
            let t = self.inbox.remove(i).unwrap();
            return json(&t);
        }
        loop {
            let t = self.client.text();
            if pred(&json(&t)) {
                return json(&t);
            }
            self.inbox.push_back(t);
        }
    }

    /// The raw text of the next frame satisfying `pred` (to check numbers as written).
    pub fn wait_text(&mut self, mut pred: impl FnMut(&Value) -> bool) -> String {
        if let Some(i) = self.inbox.iter().position(|t| pred(&json(t))) {
            return self.inbox.remove(i).unwrap();
        }
        loop {
            let t = self.client.text();
            if pred(&json(&t)) {
                return t;
            }
            self.inbox.push_back(t);
        }
    }

    /// The answer to request `req_id`.
    pub fn answer(&mut self, req_id: u64) -> Value {
        self.wait(|v| v["req_id"] == req_id)
    }

    /// Sends and waits for the answer.
    pub fn call(&mut self, method: &str, params: &str) -> Value {
        let id = self.send(method, params);
        self.answer(id)
    }

    /// Sends and waits for a successful answer; its `result`.
    pub fn ok(&mut self, method: &str, params: &str) -> Value {
        let a = self.call(method, params);
        assert_eq!(a["success"], true, "{method} {params}: {a}");
        a["result"].clone()
    }

    /// Sends and waits for a failed answer; its `error`.
    pub fn err(&mut self, method: &str, params: &str) -> String {
        let a = self.call(method, params);
        assert_eq!(a["success"], false, "{method} {params}: {a}");
        assert!(a.get("result").is_none(), "{a}");
        a["error"].as_str().unwrap().to_owned()
    }

    /// The next `executions` update (its one report) and the message's sequence.
    pub fn exec(&mut self) -> (Value, u64) {
        let m = self.wait(|v| v["channel"] == "executions" && v["type"] == "update");
        let data = m["data"].as_array().unwrap();
        assert_eq!(data.len(), 1, "{m}");
        (data[0].clone(), m["sequence"].as_u64().unwrap())
    }

    /// The next `executions` report of `exec_type`.
    pub fn exec_of(&mut self, exec_type: &str) -> Value {
        let m = self.wait(|v| {
            v["channel"] == "executions"
                && v["type"] == "update"
                && v["data"][0]["exec_type"] == exec_type
        });
        m["data"][0].clone()
    }

    /// The next `balances` update's ledger entry.
    pub fn ledger(&mut self) -> Value {
        let m = self.wait(|v| v["channel"] == "balances" && v["type"] == "update");
        m["data"][0].clone()
    }

    /// Subscribes to `executions` with extra params; returns (ack result, snapshot message).
    pub fn subscribe_executions(&mut self, extra: &str) -> (Value, Option<Value>) {
        let sep = if extra.is_empty() { "" } else { "," };
        let ack = self.ok(
            "subscribe",
            &format!(r#""channel":"executions"{sep}{extra}"#),
        );
        let wants = ack["snap_orders"] == true || ack["snap_trades"] == true;
        let snap =
            wants.then(|| self.wait(|v| v["channel"] == "executions" && v["type"] == "snapshot"));
        (ack, snap)
    }

    /// Subscribes to `balances`; returns the snapshot message.
    pub fn subscribe_balances(&mut self) -> Value {
        let ack = self.ok("subscribe", r#""channel":"balances""#);
        assert_eq!(ack["channel"], "balances");
        self.wait(|v| v["channel"] == "balances" && v["type"] == "snapshot")
    }

    /// Sends a ping and waits for its pong, keeping everything read before it; returns the
    /// frames that arrived first (drained from the inbox).
    pub fn sync(&mut self) -> Vec<Value> {
        self.next_req += 1;
        let id = self.next_req;
        self.client
            .send(&format!(r#"{{"method":"ping","req_id":{id}}}"#));
        self.wait(|v| v["method"] == "pong" && v["req_id"] == id);
        self.inbox.drain(..).map(|t| json(&t)).collect()
    }

    /// Reads until the connection ends (after a cut); panics if a frame satisfying nothing keeps
    /// coming past the hang guard.
    pub fn expect_closed(&mut self) {
        loop {
            match self.client.next() {
                Next::Text(_) => continue,
                _ => return,
            }
        }
    }
}

/// `mantissa` at `scale` decimals as text (the venue's number format).
pub fn fixed(mantissa: i128, scale: u32) -> String {
    let unit = 10i128.pow(scale);
    let sign = if mantissa < 0 { "-" } else { "" };
    let m = mantissa.abs();
    if scale == 0 {
        return format!("{sign}{m}");
    }
    format!("{sign}{}.{:0w$}", m / unit, m % unit, w = scale as usize)
}

/// `v` rescaled from `from` to `to` decimals, rounding halves up (`up`: any remainder up).
pub fn rescale(v: i128, from: u32, to: u32, up: bool) -> i128 {
    if to >= from {
        return v * 10i128.pow(to - from);
    }
    let unit = 10i128.pow(from - to);
    let (q, r) = (v / unit, v % unit);
    if (up && r != 0) || (!up && r * 2 >= unit) {
        q + 1
    } else {
        q
    }
}
