//! [`MetricsServer`]: a small HTTP/1.1 server on its own thread that serves the latest
//! [`Snapshot`]: `GET /metrics` in the Prometheus text format ([`crate::prom`]), `GET /snapshot`
//! as JSON (what `kspin top` reads), `GET /` a short index.
//!
//! Owns its listener and thread. Invariants: it only reads the shared snapshot (a lock held for
//! the time of a clone; the engine core never takes it); one request per connection, answered
//! and closed; requests are bounded (head ≤ 8 KiB, 2 s to send it) so a stuck client costs at
//! most that; anything but `GET`/`HEAD` of a known path gets 404/405; it binds the address it is
//! given (loopback by default in `kspin run`) and stops when dropped.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::model::Snapshot;

/// Largest request head read.
const MAX_HEAD: usize = 8 << 10;
/// How long a client has to send its request, and to take the answer.
const IO_TIMEOUT: Duration = Duration::from_secs(2);
/// How often the accept loop looks at the stop flag while idle.
const ACCEPT_POLL: Duration = Duration::from_millis(20);

/// The snapshot the server reads: the collector's thread replaces it, the server clones it.
pub type SharedSnapshot = Arc<Mutex<Arc<Snapshot>>>;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: String, source: io::Error },
    #[error("cannot start the metrics thread: {0}")]
    Spawn(io::Error),
}

/// See the module docs.
pub struct MetricsServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl MetricsServer {
    /// Binds `addr` and serves `shared` on a thread named `kspin-metrics`.
    pub fn start(addr: &str, shared: SharedSnapshot) -> Result<MetricsServer, ServeError> {
        let listener = TcpListener::bind(addr).map_err(|source| ServeError::Bind {
            addr: addr.to_owned(),
            source,
        })?;
        let bind_err = |source| ServeError::Bind {
            addr: addr.to_owned(),
            source,
        };
        let local = listener.local_addr().map_err(bind_err)?;
        listener.set_nonblocking(true).map_err(bind_err)?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("kspin-metrics".into())
            .spawn(move || serve(&listener, &shared, &flag))
            .map_err(ServeError::Spawn)?;
        Ok(MetricsServer {
            addr: local,
            stop,
            thread: Some(thread),
        })
    }

    /// The address it listens on (the port chosen when asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(listener: &TcpListener, shared: &SharedSnapshot, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((stream, _)) => {
                // A client that misbehaves only loses its own answer.
                let _ = answer(stream, shared);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::sleep(ACCEPT_POLL),
            Err(_) => std::thread::sleep(ACCEPT_POLL),
        }
    }
}

/// The parts of a request line this server looks at.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct RequestLine<'a> {
    pub method: &'a str,
    pub path: &'a str,
}

/// Parses the request line of `head` (`METHOD SP TARGET SP VERSION`); the query is dropped.
pub(crate) fn request_line(head: &str) -> Option<RequestLine<'_>> {
    let line = head.lines().next()?;
    let mut parts = line.split(' ');
    let method = parts.next()?;
    let target = parts.next()?;
    let version = parts.next()?;
    if !version.starts_with("HTTP/1.") || parts.next().is_some() {
        return None;
    }
    let path = target.split('?').next().unwrap_or(target);
    Some(RequestLine { method, path })
}

fn answer(mut stream: TcpStream, shared: &SharedSnapshot) -> io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
        if head.len() > MAX_HEAD {
            return respond(
                &mut stream,
                "431 Request Header Fields Too Large",
                "text/plain",
                b"",
                true,
            );
        }
    }
    let text = String::from_utf8_lossy(&head);
    let Some(req) = request_line(&text) else {
        return respond(
            &mut stream,
            "400 Bad Request",
            "text/plain",
            b"bad request\n",
            true,
        );
    };
    let with_body = req.method == "GET";
    if !with_body && req.method != "HEAD" {
        return respond(
            &mut stream,
            "405 Method Not Allowed",
            "text/plain",
            b"GET only\n",
            true,
        );
    }
    let snapshot = match shared.lock() {
        Ok(s) => Arc::clone(&s),
        // A panicked writer left the last snapshot it published: still worth serving.
        Err(poisoned) => Arc::clone(&poisoned.into_inner()),
    };
    match req.path {
        "/metrics" => {
            let body = crate::prom::render(&snapshot);
            respond(
                &mut stream,
                "200 OK",
                crate::prom::CONTENT_TYPE,
                body.as_bytes(),
                with_body,
            )
        }
        "/snapshot" => {
            let body = serde_json::to_vec(&*snapshot).unwrap_or_default();
            respond(&mut stream, "200 OK", "application/json", &body, with_body)
        }
        "/" => respond(
            &mut stream,
            "200 OK",
            "text/plain; charset=utf-8",
            b"kspin: /metrics (Prometheus), /snapshot (JSON, what kspin top reads)\n",
            with_body,
        ),
        _ => respond(
            &mut stream,
            "404 Not Found",
            "text/plain",
            b"not found\n",
            with_body,
        ),
    }
}

fn respond(
    stream: &mut TcpStream,
    status: &str,
    content_type: &str,
    body: &[u8],
    with_body: bool,
) -> io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    if with_body {
        stream.write_all(body)?;
    }
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines() {
        assert_eq!(
            request_line("GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\n\r\n"),
            Some(RequestLine {
                method: "GET",
                path: "/metrics"
            })
        );
        assert_eq!(request_line("GET /metrics\r\n"), None);
        assert_eq!(request_line("GET / SPDY/3\r\n"), None);
        assert_eq!(request_line(""), None);
    }
}
