//! The REST listener's connections: a minimal HTTP/1.1 server side, enough for Kraken's
//! `POST /0/private/GetWebSocketsToken` (plain HTTP, or TLS with the venue's certificate).
//!
//! Owns one accepted connection each ([`HttpConn`]: the non-blocking stream, what has been read,
//! the answer being written) and the request parser ([`parse_request`]). Rules: one request per
//! connection (every answer says `Connection: close`); the head is at most 8 KiB and the body at
//! most 4 KiB with a `Content-Length` (no chunked bodies); anything malformed or oversized is
//! answered `400`, another path `404`, another method on the token path `405` (with
//! `Allow: POST`). Invariants: every socket operation is non-blocking; a connection that has
//! not sent a whole request within the handshake timeout is dropped; no input panics.

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::time::{Duration, Instant};

use crate::conn::VenueStream;

/// Largest request head (request line and headers).
pub const MAX_HEAD: usize = 8 << 10;
/// Largest request body.
pub const MAX_BODY: usize = 4 << 10;
/// A connection that has not finished in this time is dropped.
const CONN_TIMEOUT: Duration = Duration::from_secs(10);

/// A parsed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: String,
    /// The target's path (without a query).
    pub path: String,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What the bytes read so far hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// Not a whole request yet.
    Incomplete,
    Request(HttpRequest),
    /// Malformed or too large: answer `400`.
    Bad,
}

fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n")
}

/// Parses one request from the start of `buf`.
pub fn parse_request(buf: &[u8]) -> Parsed {
    let Some(end) = find_head_end(buf) else {
        return if buf.len() > MAX_HEAD {
            Parsed::Bad
        } else {
            Parsed::Incomplete
        };
    };
    if end > MAX_HEAD {
        return Parsed::Bad;
    }
    let Ok(head) = std::str::from_utf8(&buf[..end]) else {
        return Parsed::Bad;
    };
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or("").split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (first.next(), first.next(), first.next(), first.next())
    else {
        return Parsed::Bad;
    };
    let token = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphabetic());
    if !token(method) || !target.starts_with('/') || !matches!(version, "HTTP/1.1" | "HTTP/1.0") {
        return Parsed::Bad;
    }
    let mut headers = Vec::new();
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            return Parsed::Bad;
        };
        if name.is_empty() || name.bytes().any(|b| b.is_ascii_whitespace()) {
            return Parsed::Bad;
        }
        headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
    }
    let find = |n: &str| {
        headers
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.as_str())
    };
    if find("transfer-encoding").is_some() {
        return Parsed::Bad;
    }
    let length = match find("content-length") {
        None => 0,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if n <= MAX_BODY && v.bytes().all(|b| b.is_ascii_digit()) => n,
            _ => return Parsed::Bad,
        },
    };
    let start = end + 4;
    if buf.len() < start + length {
        return Parsed::Incomplete;
    }
    if buf.len() > start + length {
        // A second request (pipelining) is not served.
        return Parsed::Bad;
    }
    let path = target.split('?').next().unwrap_or(target).to_owned();
    Parsed::Request(HttpRequest {
        method: method.to_owned(),
        path,
        headers,
        body: buf[start..start + length].to_vec(),
    })
}

/// The reason phrase of the statuses the venue sends.
fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Bad Request",
    }
}

/// A whole HTTP/1.1 answer with a JSON body.
pub fn response(status: u16, body: &str) -> Vec<u8> {
    let allow = if status == 405 { "Allow: POST\r\n" } else { "" };
    format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: application/json; charset=utf-8\r\n\
         Content-Length: {}\r\n{allow}Connection: close\r\n\r\n{body}",
        reason(status),
        body.len()
    )
    .into_bytes()
}

enum Phase {
    Reading,
    Writing { out: Vec<u8>, sent: usize },
    Done,
}

/// One REST connection; see the module docs.
pub struct HttpConn {
    stream: VenueStream,
    buf: Vec<u8>,
    phase: Phase,
    started: Instant,
}

impl HttpConn {
    pub fn new(stream: VenueStream, now: Instant) -> HttpConn {
        HttpConn {
            stream,
            buf: Vec::new(),
            phase: Phase::Reading,
            started: now,
        }
    }

    pub fn is_done(&self) -> bool {
        matches!(self.phase, Phase::Done)
    }

    /// Reads what has arrived; a whole request (or a bad one: `Err(400)`) once there is one.
    pub fn poll_request(&mut self, now: Instant) -> Option<Result<HttpRequest, u16>> {
        if !matches!(self.phase, Phase::Reading) {
            return None;
        }
        if now.saturating_duration_since(self.started) > CONN_TIMEOUT {
            self.close();
            return None;
        }
        let mut chunk = [0u8; 2048];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => {
                    self.close();
                    return None;
                }
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    if self.buf.len() > MAX_HEAD + MAX_BODY + 4 {
                        return Some(Err(400));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => {
                    self.close();
                    return None;
                }
            }
        }
        match parse_request(&self.buf) {
            Parsed::Incomplete => None,
            Parsed::Request(r) => Some(Ok(r)),
            Parsed::Bad => Some(Err(400)),
        }
    }

    /// Starts writing the answer (then the connection closes).
    pub fn respond(&mut self, status: u16, body: &str) {
        self.phase = Phase::Writing {
            out: response(status, body),
            sent: 0,
        };
        self.flush();
    }

    /// Pushes the answer towards the socket; closes once it is all out.
    pub fn flush(&mut self) {
        let Phase::Writing { out, sent } = &mut self.phase else {
            return;
        };
        while *sent < out.len() {
            match self.stream.write(&out[*sent..]) {
                Ok(0) => break,
                Ok(n) => *sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(_) => {
                    self.close();
                    return;
                }
            }
        }
        match self.stream.flush() {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            Err(_) => {
                self.close();
                return;
            }
        }
        if let VenueStream::Tls(s) = &mut self.stream {
            s.conn.send_close_notify();
            if s.conn.wants_write() {
                match s.conn.write_tls(&mut s.sock) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                    _ => {}
                }
                if s.conn.wants_write() {
                    return;
                }
            }
        }
        self.close();
    }

    fn close(&mut self) {
        let _ = self.stream.tcp().shutdown(Shutdown::Write);
        self.phase = Phase::Done;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn no_bytes_panic(b in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = parse_request(&b);
            let mut with_head = b"POST / HTTP/1.1\r\nContent-Length: 3\r\n".to_vec();
            with_head.extend_from_slice(&b);
            let _ = parse_request(&with_head);
        }
    }

    #[test]
    fn requests_parse_and_bad_ones_are_400() {
        let text = b"POST /0/private/GetWebSocketsToken?x=1 HTTP/1.1\r\nHost: h\r\nAPI-Key: K\r\nAPI-Sign: S\r\nContent-Length: 9\r\n\r\nnonce=123";
        let Parsed::Request(r) = parse_request(text) else {
            panic!("not parsed");
        };
        assert_eq!(
            (r.method.as_str(), r.path.as_str()),
            ("POST", "/0/private/GetWebSocketsToken")
        );
        assert_eq!(r.header("api-key"), Some("K"));
        assert_eq!(r.body, b"nonce=123");
        assert_eq!(parse_request(&text[..text.len() - 1]), Parsed::Incomplete);
        assert_eq!(
            parse_request(b"POST / HTTP/1.1\r\nHost"),
            Parsed::Incomplete
        );
        for bad in [
            &b"GARBAGE\r\n\r\n"[..],
            b"POST / HTTP/2\r\n\r\n",
            b"POST nopath HTTP/1.1\r\n\r\n",
            b"POST / HTTP/1.1\r\nno colon\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: 99999\r\n\r\n",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"GET / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n",
            b"P\xffST / HTTP/1.1\r\n\r\n",
        ] {
            assert_eq!(
                parse_request(bad),
                Parsed::Bad,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        assert_eq!(parse_request(&vec![b'a'; MAX_HEAD + 1]), Parsed::Bad);
        let r = String::from_utf8(response(405, "{}")).unwrap();
        assert!(r.starts_with("HTTP/1.1 405 Method Not Allowed\r\n") && r.contains("Allow: POST"));
        assert!(r.ends_with("Connection: close\r\n\r\n{}"));
    }
}
