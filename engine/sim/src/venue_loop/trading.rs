//! The venue loop's trading side: its two listeners (REST for tokens, WebSocket for the
//! authenticated endpoint), the REST connections and their routing, the trading timers (dead
//! man's switch, GTD expiry, answers held by `ack-delay`) and the counting of what the account's
//! events say.
//!
//! Owns [`TradingSide`]. Invariants: the trading listeners are polled for new connections, and
//! the timers checked, at most once a millisecond (so a latency run pays a clock comparison per
//! loop turn, not a lock), their connections every turn; the REST side serves exactly one route,
//! `POST /0/private/GetWebSocketsToken`, and answers Kraken's way (HTTP 200 with an `error`
//! array, whatever the outcome); every socket operation is non-blocking. It never parses order
//! requests (the authenticated connections are ordinary venue connections with a trading
//! session; `serve_requests` hands their requests to `trading::requests`).

use std::net::TcpListener;
use std::time::{Duration, Instant};

use kspin_auth::TOKEN_PATH;
use rustls::StreamOwned;

use super::VenueLoop;
use crate::conn::VenueStream;
use crate::frames::now_micros;
use crate::stats::StatsCounters;
use crate::tls;
use crate::trading::exchange::Now;
use crate::trading::http::{HttpConn, HttpRequest};
use crate::trading::lifecycle::reasons;
use crate::trading::orders::{AccountEvent, ExecType};
use crate::trading::session::{fan_out, release_held};

/// How often the trading listeners are polled for new connections, and the trading timers
/// (dead man's switch, GTD expiry, held answers) checked.
const POLL_EVERY: Duration = Duration::from_millis(1);
/// REST connections served at once (more are refused by closing them).
const MAX_HTTP_CONNS: usize = 256;
/// Connections accepted per listener per poll.
const ACCEPTS_PER_POLL: usize = 16;

/// See the module docs.
pub(crate) struct TradingSide {
    pub(crate) rest: Option<TcpListener>,
    pub(crate) auth: Option<TcpListener>,
    http: Vec<HttpConn>,
    next_accept: Instant,
    next_tick: Instant,
    /// Scratch: the account's events of one request or one market step.
    pub(super) events: Vec<AccountEvent>,
}

impl TradingSide {
    pub(crate) fn new(rest: Option<TcpListener>, auth: Option<TcpListener>) -> TradingSide {
        TradingSide {
            rest,
            auth,
            http: Vec::new(),
            next_accept: Instant::now(),
            next_tick: Instant::now(),
            events: Vec::new(),
        }
    }
}

/// Counts fills and cancelled remainders among `events`.
pub(super) fn count_events(stats: &StatsCounters, events: &[AccountEvent]) {
    for ev in events {
        if let AccountEvent::Exec(e) = ev {
            match (e.exec_type, e.reason) {
                (ExecType::Trade, _) => StatsCounters::add(&stats.fills, 1),
                (ExecType::Canceled, Some(r))
                    if r == reasons::IOC || r == reasons::NO_LIQUIDITY =>
                {
                    StatsCounters::add(&stats.remainders_cancelled, 1)
                }
                _ => {}
            }
        }
    }
}

/// A Kraken REST answer body: `{"error":[…]}` or `{"error":[],"result":…}`.
fn kraken_body(error: Option<&str>, result: Option<&str>) -> String {
    let mut out = String::from("{\"error\":[");
    if let Some(e) = error {
        crate::frames::push_str(&mut out, e);
    }
    out.push(']');
    if let Some(r) = result {
        out.push_str(",\"result\":");
        out.push_str(r);
    }
    out.push('}');
    out
}

impl VenueLoop {
    /// Accepts new connections on the trading listeners (at most once per [`POLL_EVERY`]).
    pub(super) fn accept_trading(&mut self, now: Instant) {
        if now < self.trading.next_accept {
            return;
        }
        self.trading.next_accept = now + POLL_EVERY;
        if let Some(listener) = self.trading.auth.take() {
            self.accept_on(&listener, true, now);
            self.trading.auth = Some(listener);
        }
        let Some(listener) = &self.trading.rest else {
            return;
        };
        for _ in 0..ACCEPTS_PER_POLL {
            let Ok((tcp, _)) = listener.accept() else {
                break;
            };
            if self.trading.http.len() >= MAX_HTTP_CONNS || tcp.set_nonblocking(true).is_err() {
                continue;
            }
            let _ = tcp.set_nodelay(true);
            let stream = match &self.tls {
                None => VenueStream::Plain(tcp),
                Some(config) => match tls::server_session(config) {
                    Ok(session) => VenueStream::Tls(Box::new(StreamOwned::new(session, tcp))),
                    Err(_) => continue,
                },
            };
            self.trading.http.push(HttpConn::new(stream, now));
        }
    }

    /// Reads, routes and answers REST requests; drops finished connections.
    pub(super) fn serve_http(&mut self, now: Instant) {
        if self.trading.http.is_empty() {
            return;
        }
        let mut http = std::mem::take(&mut self.trading.http);
        for conn in &mut http {
            match conn.poll_request(now) {
                None => {}
                Some(Err(status)) => {
                    StatsCounters::add(&self.shared.stats.rest_requests, 1);
                    StatsCounters::add(&self.shared.stats.rest_bad_requests, 1);
                    conn.respond(status, &kraken_body(Some("EAPI:Bad request"), None));
                }
                Some(Ok(req)) => {
                    StatsCounters::add(&self.shared.stats.rest_requests, 1);
                    let (status, body) = self.route(&req, now);
                    if status != 200 {
                        StatsCounters::add(&self.shared.stats.rest_bad_requests, 1);
                    }
                    conn.respond(status, &body);
                }
            }
            conn.flush();
        }
        http.retain(|c| !c.is_done());
        self.trading.http = http;
    }

    /// The answer to one REST request.
    fn route(&self, req: &HttpRequest, now: Instant) -> (u16, String) {
        if req.path != TOKEN_PATH {
            return (404, kraken_body(Some("EGeneral:Unknown method"), None));
        }
        if req.method != "POST" {
            return (405, kraken_body(Some("EAPI:Bad request"), None));
        }
        let Ok(body) = std::str::from_utf8(&req.body) else {
            return (400, kraken_body(Some("EAPI:Bad request"), None));
        };
        let stats = &self.shared.stats;
        let mut state = self.shared.state();
        let Some(exchange) = state.exchange.as_mut() else {
            return (404, kraken_body(Some("EGeneral:Unknown method"), None));
        };
        let ttl = exchange.token_desk().ttl_secs();
        let answer =
            exchange
                .tokens()
                .request(req.header("api-key"), req.header("api-sign"), body, now);
        match answer {
            Ok(token) => {
                StatsCounters::add(&stats.tokens_issued, 1);
                let mut result = String::from("{\"token\":");
                crate::frames::push_str(&mut result, &token);
                result.push_str(&format!(",\"expires\":{ttl}}}"));
                (200, kraken_body(None, Some(&result)))
            }
            Err(text) => {
                StatsCounters::add(&stats.tokens_refused, 1);
                (200, kraken_body(Some(text), None))
            }
        }
    }

    /// Timers of the trading side: the dead man's switch, GTD expiry, held answers (at most
    /// once per [`POLL_EVERY`]; nothing at all for a market-data-only venue).
    pub(super) fn trading_timers(&mut self, now: Instant) {
        if self.trading.auth.is_none() || now < self.trading.next_tick {
            return;
        }
        self.trading.next_tick = now + POLL_EVERY;
        let shared = self.shared.clone();
        let stats = &shared.stats;
        {
            let mut state = shared.state();
            let Some(exchange) = state.exchange.as_mut() else {
                return;
            };
            let at = Now {
                at: now,
                us: now_micros(),
            };
            let t = exchange.tick(at, &mut self.trading.events);
            StatsCounters::add(&stats.dead_man_cancels, t.dead_man_cancels);
            StatsCounters::add(&stats.orders_expired, t.expired);
        }
        if !self.trading.events.is_empty() {
            count_events(stats, &self.trading.events);
            fan_out(&mut self.conns, &self.trading.events, stats, now);
            self.trading.events.clear();
        }
        for conn in self.conns.iter_mut().filter(|c| c.auth.is_some()) {
            release_held(conn, stats, now);
        }
    }
}
