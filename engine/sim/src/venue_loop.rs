//! The venue thread: one loop that accepts connections, answers requests, steps the market at
//! the paced rate, broadcasts frames, sends heartbeats and fires faults ([`faults`]), and runs
//! the trading side's listeners, requests, fills and timers ([`trading`]).
//!
//! Owns the listeners, every connection and (behind one mutex shared with the handle) the market
//! state and the exchange. Invariants: one thread does all the work, so a snapshot and the
//! updates after it are always consistent and every frame for a connection is queued in market
//! order (an account's fills on a market step follow that step's public frames); every loop
//! iteration is bounded and idles at most ~1 ms, so `stop()` and `pause()` take effect
//! promptly; only 127.0.0.1 is ever bound. It never panics on client input.

mod faults;
mod trading;

use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rustls::{ServerConfig, StreamOwned};
use tungstenite::protocol::WebSocketConfig;
use tungstenite::Utf8Bytes;

use super::config::SimConfig;
use super::conn::{Connection, Progress, Sent, TickerTrigger, VenueStream};
use super::fault::{FaultKind, FaultSchedule, MAX_OVERSIZED};
use super::frames::{self, now_micros};
use super::market::StepOutcome;
use super::pacer::{pacer_for, Pacer, PacingMode};
use super::pairs::SimPair;
use super::ref_book::RefBook;
use super::requests::{self, send_text, RequestCtx};
use super::rng::SimRng;
use super::state::MarketState;
use super::stats::StatsCounters;
use super::tls;
use super::trading::exchange::Now;
use super::trading::requests::TradingCtx;
use super::trading::session::fan_out;

pub(super) use trading::TradingSide;

/// Longest the loop idles between iterations (bounds request latency and `stop()` delay).
const MAX_IDLE: Duration = Duration::from_millis(1);
/// A client that has not completed TLS + WebSocket handshakes by then is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections accepted per loop iteration.
const ACCEPTS_PER_ITERATION: usize = 16;
/// Bytes a client may leave unread before it is disconnected as too slow (room for the largest
/// oversized fault frame plus ordinary traffic).
const MAX_WRITE_BUFFER: usize = MAX_OVERSIZED + (16 << 20);
/// Largest request the venue reads (Kraken requests are a few hundred bytes).
const MAX_REQUEST: usize = 1 << 20;
/// XOR applied to a checksum by the `corrupt` fault (never 0, so the value always changes).
const CORRUPT_MASK: u32 = 0x5A5A_0001;

/// State shared between the venue thread and its handle.
pub(super) struct Shared {
    pub(super) state: Mutex<MarketState>,
    pub(super) stats: StatsCounters,
    pub(super) stop: AtomicBool,
    pub(super) paused: AtomicBool,
    /// Completed loop iterations (lets `pause()` wait for the loop to see the flag).
    pub(super) epoch: AtomicU64,
    pub(super) injected: Mutex<Vec<FaultKind>>,
}

impl Shared {
    pub(super) fn new(state: MarketState, paused: bool) -> Shared {
        Shared {
            state: Mutex::new(state),
            stats: StatsCounters::default(),
            stop: AtomicBool::new(false),
            paused: AtomicBool::new(paused),
            epoch: AtomicU64::new(0),
            injected: Mutex::new(Vec::new()),
        }
    }

    pub(super) fn state(&self) -> MutexGuard<'_, MarketState> {
        // A panic on the venue thread cannot leave the market half-stepped in a way a reader
        // could misuse; keep serving the last state.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The venue thread's state.
pub(super) struct VenueLoop {
    cfg: SimConfig,
    pairs: Vec<&'static SimPair>,
    shared: Arc<Shared>,
    listener: Option<TcpListener>,
    addr: SocketAddr,
    tls: Option<Arc<ServerConfig>>,
    conns: Vec<Connection>,
    next_number: u64,
    conn_rng: SimRng,
    schedule: FaultSchedule,
    pacer: Box<dyn Pacer>,
    stall_until: Option<Instant>,
    maintenance_until: Option<Instant>,
    refuse_until: Option<Instant>,
    /// (until, factor)
    burst: Option<(Instant, u32)>,
    /// Pending `corrupt` faults: a symbol index, or `None` for whichever moves next.
    corrupt_pending: Vec<Option<usize>>,
    outcome: StepOutcome,
    was_frozen: bool,
    trading: TradingSide,
}

impl VenueLoop {
    pub(super) fn new(
        cfg: SimConfig,
        pairs: Vec<&'static SimPair>,
        shared: Arc<Shared>,
        listener: TcpListener,
        tls: Option<Arc<ServerConfig>>,
        trading: TradingSide,
    ) -> std::io::Result<VenueLoop> {
        let now = Instant::now();
        Ok(VenueLoop {
            schedule: FaultSchedule::new(&cfg.faults, now),
            pacer: pacer_for(cfg.pacing, now, cfg.batch),
            conn_rng: SimRng::derived(cfg.seed, 0x636f_6e6e),
            addr: listener.local_addr()?,
            cfg,
            pairs,
            shared,
            listener: Some(listener),
            tls,
            conns: Vec::new(),
            next_number: 1,
            stall_until: None,
            maintenance_until: None,
            refuse_until: None,
            burst: None,
            corrupt_pending: Vec::new(),
            outcome: StepOutcome::default(),
            was_frozen: false,
            trading,
        })
    }

    pub(super) fn run(mut self) {
        let mut due = Vec::new();
        let mut requests = Vec::new();
        while !self.shared.stop.load(Ordering::SeqCst) {
            let now = Instant::now();
            due.clear();
            due.append(
                &mut self
                    .shared
                    .injected
                    .lock()
                    .unwrap_or_else(|e| e.into_inner()),
            );
            let events = self.shared.stats.market_events.load(Ordering::Relaxed);
            self.schedule.poll(now, events, &mut due);
            for fault in due.drain(..) {
                self.fire(fault, now);
            }
            self.end_timed_faults(now);
            let mut idle = MAX_IDLE;
            if self.stall_until.is_none() {
                self.accept(now);
                self.accept_trading(now);
                self.serve_http(now);
                self.serve_requests(now, &mut requests);
                let frozen =
                    self.shared.paused.load(Ordering::SeqCst) || self.maintenance_until.is_some();
                if frozen {
                    self.was_frozen = true;
                } else {
                    if self.was_frozen {
                        self.pacer.reset(now);
                        self.was_frozen = false;
                    }
                    self.step_market(now);
                    idle = idle.min(self.pacer.idle(Instant::now()));
                }
                self.heartbeats(now);
                self.trading_timers(now);
                let stamps = self.cfg.send_stamps.as_deref();
                for c in &mut self.conns {
                    if let (Some(stamps), 1) = (stamps, c.number) {
                        stamps.stamp_range(c.text_frames_stamped + 1, c.text_frames_queued);
                        c.text_frames_stamped = c.text_frames_queued;
                    }
                    c.flush();
                }
                self.reap();
            }
            self.shared.epoch.fetch_add(1, Ordering::SeqCst);
            if !idle.is_zero() {
                std::thread::sleep(idle);
            } else if self.cfg.pacing == PacingMode::SpinYield {
                std::thread::yield_now();
            }
        }
        for c in &mut self.conns {
            c.close_gracefully();
        }
        StatsCounters::add(
            &self.shared.stats.connections_closed,
            self.conns.len() as u64,
        );
        self.conns.clear();
    }

    fn accept(&mut self, now: Instant) {
        if let Some(listener) = self.listener.take() {
            self.accept_on(&listener, false, now);
            self.listener = Some(listener);
        }
    }

    /// Accepts WebSocket clients on `listener` (the public one, or with `auth` the
    /// authenticated one, whose connections get a trading session).
    fn accept_on(&mut self, listener: &TcpListener, auth: bool, now: Instant) {
        for _ in 0..ACCEPTS_PER_ITERATION {
            let tcp = match listener.accept() {
                Ok((tcp, _)) => tcp,
                Err(_) => break,
            };
            StatsCounters::add(&self.shared.stats.connections_accepted, 1);
            if tcp.set_nonblocking(true).is_err() {
                continue;
            }
            let _ = tcp.set_nodelay(true);
            let stream = match &self.tls {
                None => VenueStream::Plain(tcp),
                Some(config) => match tls::server_session(config) {
                    Ok(session) => VenueStream::Tls(Box::new(StreamOwned::new(session, tcp))),
                    Err(_) => {
                        StatsCounters::add(&self.shared.stats.handshakes_failed, 1);
                        continue;
                    }
                },
            };
            let number = self.next_number;
            self.next_number += 1;
            // Kraken's connection ids exceed i64::MAX (PROTOCOL.md §1.2); odd-numbered
            // connections always get one that does, even-numbered ones one that does not.
            let raw = self.conn_rng.next_u64();
            let connection_id = if number % 2 == 1 {
                raw | 1 << 63
            } else {
                raw & !(1 << 63)
            };
            let ws_config = WebSocketConfig::default()
                .max_write_buffer_size(MAX_WRITE_BUFFER)
                .max_message_size(Some(MAX_REQUEST))
                .max_frame_size(Some(MAX_REQUEST));
            let mut conn = Connection::start(number, connection_id, stream, ws_config, now);
            if auth {
                conn.auth = Some(Box::default());
                StatsCounters::add(&self.shared.stats.auth_connections, 1);
            }
            if conn.progress() == Progress::JustOpened {
                self.opened(&mut conn, now);
            }
            self.conns.push(conn);
        }
    }

    fn opened(&self, conn: &mut Connection, now: Instant) {
        StatsCounters::add(&self.shared.stats.connections_open, 1);
        let system = if self.maintenance_until.is_some() {
            "maintenance"
        } else {
            "online"
        };
        let mut text = String::new();
        frames::status(&mut text, system, conn.connection_id);
        send_text(
            conn,
            &self.shared.stats,
            &self.shared.stats.status_frames,
            Utf8Bytes::from(text),
            now,
        );
    }

    fn serve_requests(&mut self, now: Instant, requests: &mut Vec<String>) {
        let shared = self.shared.clone();
        let stats = &shared.stats;
        let mut state = shared.state();
        let mut conns = std::mem::take(&mut self.conns);
        let mut events = std::mem::take(&mut self.trading.events);
        let maintenance = self.maintenance_until.is_some();
        for i in 0..conns.len() {
            let conn = &mut conns[i];
            match conn.progress() {
                Progress::Pending => {
                    if conn.age(now) > HANDSHAKE_TIMEOUT {
                        conn.cut();
                        StatsCounters::add(&stats.handshakes_failed, 1);
                    }
                    continue;
                }
                Progress::JustOpened => self.opened(conn, now),
                Progress::Open => {}
                Progress::Closed { handshake_failed } => {
                    if handshake_failed {
                        StatsCounters::add(&stats.handshakes_failed, 1);
                    }
                    continue;
                }
            }
            requests.clear();
            conn.read_requests(requests);
            for text in requests.drain(..) {
                let conn = &mut conns[i];
                let time_in = now_micros();
                let MarketState {
                    market, exchange, ..
                } = &mut *state;
                let handled = match (&conn.auth, exchange.as_mut()) {
                    (Some(_), Some(exchange)) => {
                        let mut ctx = TradingCtx {
                            market,
                            exchange,
                            stats,
                            now: Now {
                                at: now,
                                us: time_in,
                            },
                            maintenance,
                            events: &mut events,
                        };
                        super::trading::requests::handle(&mut ctx, conn, &text, time_in)
                    }
                    _ => false,
                };
                if !handled {
                    let mut ctx = RequestCtx {
                        state: &mut state,
                        stats,
                        pairs: &self.pairs,
                        now,
                        tap: self.cfg.book_tap.as_deref(),
                    };
                    requests::handle(&mut ctx, conn, &text, time_in);
                }
                if !events.is_empty() {
                    trading::count_events(stats, &events);
                    fan_out(&mut conns, &events, stats, now);
                    events.clear();
                }
            }
        }
        self.conns = conns;
        self.trading.events = events;
    }

    /// Takes the market events due now and broadcasts what they change.
    fn step_market(&mut self, now: Instant) {
        let factor = match self.burst {
            Some((_, f)) => f as u64,
            None => 1,
        };
        let n = self.pacer.due(now, self.cfg.rate_per_sec as u64 * factor);
        if n == 0 {
            return;
        }
        let shared = self.shared.clone();
        let mut state = shared.state();
        let mut book_frames: Vec<(u16, Utf8Bytes)> = Vec::new();
        // With a book tap: the reference book after this step, per depth (soaks only).
        let mut tapped: Vec<(u16, RefBook)> = Vec::new();
        let tap = self.cfg.book_tap.clone();
        let mut text = String::new();
        for _ in 0..n {
            let micros = now_micros();
            state.market.step(&mut self.outcome, micros);
            StatsCounters::add(&shared.stats.market_events, 1);
            let s = self.outcome.symbol;
            let pair = self.pairs[s];
            let corrupt_at = self
                .corrupt_pending
                .iter()
                .position(|t| t.is_none_or(|i| i == s));
            book_frames.clear();
            tapped.clear();
            let MarketState {
                market,
                views,
                exchange,
                ..
            } = &mut *state;
            let Some(sym) = market.symbol(s) else {
                continue;
            };
            for slot in views.iter_mut().filter(|v| v.view.symbol() == s) {
                if !slot.view.update(sym, &self.outcome) {
                    continue;
                }
                let (b, a) = slot.view.diff();
                let mut checksum = slot.view.book().checksum();
                if corrupt_at.is_some() {
                    checksum ^= CORRUPT_MASK;
                }
                text.clear();
                frames::book(&mut text, false, pair, b, a, checksum, micros);
                book_frames.push((slot.view.depth(), Utf8Bytes::from(text.clone())));
                if tap.is_some() {
                    tapped.push((slot.view.depth(), slot.view.book().clone()));
                }
            }
            let trade_frame = (!self.outcome.trades.is_empty()).then(|| {
                text.clear();
                frames::trades(&mut text, false, pair, self.outcome.trades.iter());
                Utf8Bytes::from(text.clone())
            });
            let ticker_needed = !self.outcome.trades.is_empty() || self.outcome.top_changed;
            let ticker_frame = ticker_needed.then(|| {
                text.clear();
                frames::ticker(&mut text, false, pair, &sym.ticker(), micros);
                Utf8Bytes::from(text.clone())
            });
            let mut corrupted_sent = 0;
            for conn in self.conns.iter_mut().filter(|c| c.is_open()) {
                for i in 0..conn.books.len() {
                    let (bs, depth) = conn.books[i];
                    if bs != s {
                        continue;
                    }
                    if let Some((_, f)) = book_frames.iter().find(|(d, _)| *d == depth) {
                        let sent = send_text(
                            conn,
                            &shared.stats,
                            &shared.stats.book_updates,
                            f.clone(),
                            now,
                        );
                        corrupted_sent += (sent == Sent::Queued && corrupt_at.is_some()) as u64;
                        let reference = tapped.iter().find(|(d, _)| *d == depth);
                        if let (Some(tap), Some((_, book)), Sent::Queued) = (&tap, reference, sent)
                        {
                            tap.record(conn.connection_id, conn.text_frames_queued, s, book);
                        }
                    }
                }
                if let Some(f) = &trade_frame {
                    if conn.trades.contains(&s) {
                        send_text(
                            conn,
                            &shared.stats,
                            &shared.stats.trade_frames,
                            f.clone(),
                            now,
                        );
                    }
                }
                if let Some(f) = &ticker_frame {
                    let wants = conn.tickers.iter().any(|&(ts, trig)| {
                        ts == s
                            && match trig {
                                TickerTrigger::Trades => !self.outcome.trades.is_empty(),
                                TickerTrigger::Bbo => self.outcome.top_changed,
                            }
                    });
                    if wants {
                        send_text(
                            conn,
                            &shared.stats,
                            &shared.stats.ticker_frames,
                            f.clone(),
                            now,
                        );
                    }
                }
            }
            if let (Some(at), false) = (corrupt_at, book_frames.is_empty()) {
                self.corrupt_pending.remove(at);
                StatsCounters::add(&shared.stats.checksums_corrupted, corrupted_sent);
            }
            if let Some(exchange) = exchange.as_mut() {
                let at = Now {
                    at: now,
                    us: micros,
                };
                exchange.on_market_step(sym, &self.outcome, at, &mut self.trading.events);
                if !self.trading.events.is_empty() {
                    trading::count_events(&shared.stats, &self.trading.events);
                    fan_out(&mut self.conns, &self.trading.events, &shared.stats, now);
                    self.trading.events.clear();
                }
            }
        }
    }

    fn heartbeats(&mut self, now: Instant) {
        let beat = Utf8Bytes::from_static(frames::HEARTBEAT);
        for conn in &mut self.conns {
            if conn.is_open()
                && conn.has_subscriptions()
                && now.saturating_duration_since(conn.last_sent) >= self.cfg.heartbeat
            {
                send_text(
                    conn,
                    &self.shared.stats,
                    &self.shared.stats.heartbeats,
                    beat.clone(),
                    now,
                );
            }
        }
    }

    /// Drops closed connections and their view subscriptions.
    fn reap(&mut self) {
        let mut state = None;
        let mut i = 0;
        while i < self.conns.len() {
            if !self.conns[i].is_closed() {
                i += 1;
                continue;
            }
            let conn = self.conns.swap_remove(i);
            let st = state.get_or_insert_with(|| self.shared.state());
            for &(s, d) in &conn.books {
                st.unsubscribe_view(s, d);
            }
            StatsCounters::add(&self.shared.stats.connections_closed, 1);
        }
    }
}
