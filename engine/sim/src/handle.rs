//! The handle side of the simulated venue: [`SimVenue::start`] binds 127.0.0.1 (the public
//! listener, and with trading the REST and authenticated listeners), prepares TLS, spawns the
//! venue thread (`venue_loop`) and returns a [`VenueHandle`] through which tests and the CLI read
//! the venue's books, counters, orders, balances and fills, freeze the market and inject faults.
//!
//! Owns the thread's join handle, the certificate and the shared state's other end.
//! Invariants: only 127.0.0.1 is ever bound; `pause()` and `inject()` return only once the loop
//! has seen them (so ordering against later client requests is exact); dropping the handle stops
//! and joins the thread. It never touches sockets of clients itself.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use kspin_api::{Price, Qty};
use kspin_auth::Credentials;

use crate::SUPPORTED_DEPTHS;

use super::config::{SimConfig, SimError};
use super::fault::FaultKind;
use super::market::Market;
use super::pairs::{find_pair, instruments, SimPair};
use super::state::{Levels, MarketState};
use super::stats::VenueStats;
use super::tls::VenueCert;
use super::trading::{Balance, Exchange, Fill, Order};
use super::venue_loop::{Shared, TradingSide, VenueLoop};

/// How long `pause()` waits for the loop to acknowledge before giving up.
const PAUSE_WAIT: Duration = Duration::from_secs(5);

/// Bids and asks as `(price, qty)` mantissas, best first.
pub type MantissaLevels = (Vec<(i64, i64)>, Vec<(i64, i64)>);

/// Entry point; see the module docs.
pub struct SimVenue;

impl SimVenue {
    /// Binds 127.0.0.1, prepares TLS if asked, and starts the venue thread.
    pub fn start(cfg: SimConfig) -> Result<VenueHandle, SimError> {
        let pairs: Vec<&'static SimPair> = if cfg.symbols.is_empty() {
            instruments().iter().collect()
        } else {
            let mut v = Vec::new();
            for s in &cfg.symbols {
                let p = find_pair(s).ok_or_else(|| SimError::UnknownSymbol(s.clone()))?;
                if !v.contains(&p) {
                    v.push(p);
                }
            }
            v
        };
        let listener = bind(cfg.port)?;
        let addr = listener.local_addr().map_err(SimError::Socket)?;
        let (exchange, rest, auth) = match &cfg.trading {
            None => (None, None, None),
            Some(t) => {
                let resolved = t.resolve().map_err(SimError::Trading)?;
                let exchange = Exchange::new(resolved, pairs.clone(), cfg.seed, Instant::now());
                (
                    Some(exchange),
                    Some(bind(t.rest_port)?),
                    Some(bind(t.auth_port)?),
                )
            }
        };
        let local = |l: &Option<TcpListener>| -> Result<Option<SocketAddr>, SimError> {
            l.as_ref()
                .map(|l| l.local_addr().map_err(SimError::Socket))
                .transpose()
        };
        let (rest_addr, auth_addr) = (local(&rest)?, local(&auth)?);
        let (cert, tls_config) = if cfg.tls {
            let cert = VenueCert::generate()?;
            let config = cert.server_config()?;
            (Some(cert), Some(config))
        } else {
            (None, None)
        };
        let mut cert_path = None;
        if let (Some(cert), Some(path)) = (&cert, &cfg.cert_out) {
            std::fs::write(path, &cert.pem).map_err(|source| SimError::CertWrite {
                path: path.clone(),
                source,
            })?;
            cert_path = Some(path.clone());
        }
        let shared = Arc::new(Shared::new(
            MarketState::new(Market::new(&pairs, cfg.seed), cfg.seed, exchange),
            cfg.start_paused,
        ));
        let core = cfg.core;
        let trading = TradingSide::new(rest, auth);
        let venue = VenueLoop::new(
            cfg,
            pairs.clone(),
            shared.clone(),
            listener,
            tls_config,
            trading,
        )
        .map_err(SimError::Socket)?;
        let thread = std::thread::Builder::new()
            .name("kspin-sim-venue".into())
            .spawn(move || {
                if let Some(id) = core {
                    // Best effort: an unpinned venue still works, only less precisely paced.
                    core_affinity::set_for_current(core_affinity::CoreId { id });
                }
                venue.run()
            })
            .map_err(SimError::Thread)?;
        Ok(VenueHandle {
            addr,
            rest_addr,
            auth_addr,
            tls: cert.is_some(),
            cert,
            cert_path,
            pairs,
            shared,
            thread: Some(thread),
        })
    }
}

/// A non-blocking listener on 127.0.0.1:`port`.
fn bind(port: u16) -> Result<TcpListener, SimError> {
    let listener =
        TcpListener::bind(("127.0.0.1", port)).map_err(|source| SimError::Bind { port, source })?;
    listener.set_nonblocking(true).map_err(SimError::Socket)?;
    Ok(listener)
}

/// A running venue. Dropping it stops the venue like [`VenueHandle::stop`].
pub struct VenueHandle {
    addr: SocketAddr,
    rest_addr: Option<SocketAddr>,
    auth_addr: Option<SocketAddr>,
    tls: bool,
    cert: Option<VenueCert>,
    cert_path: Option<PathBuf>,
    pairs: Vec<&'static SimPair>,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl VenueHandle {
    /// The bound address (always 127.0.0.1).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `ws://127.0.0.1:PORT/v2`, or `wss://localhost:PORT/v2` with TLS (the certificate names
    /// `localhost`; connect to 127.0.0.1 — the venue does not listen on ::1).
    pub fn url(&self) -> String {
        if self.tls {
            format!("wss://localhost:{}/v2", self.addr.port())
        } else {
            format!("ws://127.0.0.1:{}/v2", self.addr.port())
        }
    }

    /// The REST endpoint's base URL for `POST /0/private/GetWebSocketsToken`:
    /// `https://127.0.0.1:PORT` with TLS (the certificate also names 127.0.0.1),
    /// `http://127.0.0.1:PORT` without; `None` without the trading side.
    pub fn rest_url(&self) -> Option<String> {
        let port = self.rest_addr?.port();
        Some(if self.tls {
            format!("https://127.0.0.1:{port}")
        } else {
            format!("http://127.0.0.1:{port}")
        })
    }

    /// The authenticated WebSocket endpoint (Kraken's `wss://ws-auth.kraken.com/v2`):
    /// `wss://localhost:PORT/v2` with TLS, `ws://127.0.0.1:PORT/v2` without; `None` without the
    /// trading side.
    pub fn auth_url(&self) -> Option<String> {
        let port = self.auth_addr?.port();
        Some(if self.tls {
            format!("wss://localhost:{port}/v2")
        } else {
            format!("ws://127.0.0.1:{port}/v2")
        })
    }

    /// The REST listener's address (127.0.0.1).
    pub fn rest_addr(&self) -> Option<SocketAddr> {
        self.rest_addr
    }

    /// The authenticated listener's address (127.0.0.1).
    pub fn auth_addr(&self) -> Option<SocketAddr> {
        self.auth_addr
    }

    /// The key pair the token endpoint accepts (the configured one, or the throwaway pair made
    /// at start); `None` without the trading side.
    pub fn credentials(&self) -> Option<Credentials> {
        let state = self.shared.state();
        state.exchange.as_ref().map(|e| e.credentials().clone())
    }

    /// The venue's open orders, in arrival order.
    pub fn open_orders(&self) -> Vec<Order> {
        let state = self.shared.state();
        state
            .exchange
            .as_ref()
            .map_or_else(Vec::new, |e| e.open_orders().to_vec())
    }

    /// The account's balances, by asset code.
    pub fn balances(&self) -> Vec<Balance> {
        let state = self.shared.state();
        state
            .exchange
            .as_ref()
            .map_or_else(Vec::new, |e| e.ledger().all())
    }

    /// One asset's balance (mantissa at the asset's precision; 0 if it holds none).
    pub fn balance(&self, asset: &str) -> i128 {
        let state = self.shared.state();
        state
            .exchange
            .as_ref()
            .map_or(0, |e| e.ledger().balance(asset))
    }

    /// Every fill of the account so far, oldest first.
    pub fn fills(&self) -> Vec<Fill> {
        let state = self.shared.state();
        state
            .exchange
            .as_ref()
            .map_or_else(Vec::new, |e| e.fills().to_vec())
    }

    /// Pair `symbol`'s trading rate counter now (Kraken's units; decays per the tier).
    pub fn rate_counter(&self, symbol: &str) -> Option<f64> {
        let index = self.pairs.iter().position(|p| p.symbol == symbol)?;
        let state = self.shared.state();
        let e = state.exchange.as_ref()?;
        Some(e.ratecount(index, Instant::now()) as f64 / 100.0)
    }

    /// The self-signed certificate (PEM) when TLS is on.
    pub fn cert_pem(&self) -> Option<&str> {
        self.cert.as_ref().map(|c| c.pem.as_str())
    }

    /// The self-signed certificate (DER) when TLS is on.
    pub fn cert_der(&self) -> Option<&[u8]> {
        self.cert.as_ref().map(|c| c.der.as_ref())
    }

    /// Where the PEM was written (`SimConfig::cert_out`), if it was.
    pub fn cert_path(&self) -> Option<&Path> {
        self.cert_path.as_deref()
    }

    /// The pairs this venue trades, in market order.
    pub fn pairs(&self) -> &[&'static SimPair] {
        &self.pairs
    }

    /// Bids and asks, best first, that a correct client subscribed to `symbol` at `depth` holds
    /// now (after it has read every frame sent so far). `None` for an unknown symbol or a depth
    /// Kraken does not offer.
    pub fn book_levels(&self, symbol: &str, depth: u16) -> Option<Levels> {
        if !SUPPORTED_DEPTHS.contains(&depth) {
            return None;
        }
        let index = self.pairs.iter().position(|p| p.symbol == symbol)?;
        self.shared.state().book_levels(index, depth)
    }

    /// The same levels as `(price, qty)` mantissas — convenient for comparisons.
    pub fn book_mantissas(&self, symbol: &str, depth: u16) -> Option<MantissaLevels> {
        let (b, a) = self.book_levels(symbol, depth)?;
        let m = |v: Vec<(Price, Qty)>| v.into_iter().map(|(p, q)| (p.0, q.0)).collect();
        Some((m(b), m(a)))
    }

    /// The venue's counters now.
    pub fn stats(&self) -> VenueStats {
        self.shared.stats.snapshot()
    }

    /// Freezes the market: returns once the venue loop has seen the pause, so every book,
    /// trade and ticker frame sent before the pause is already queued ahead of anything the
    /// client requests afterwards (send a `ping`, read up to its `pong`, and the client's
    /// books are comparable with [`VenueHandle::book_levels`]). Requests are still answered.
    pub fn pause(&self) {
        self.shared.paused.store(true, Ordering::SeqCst);
        self.wait_for_loop();
    }

    /// Unfreezes the market.
    pub fn resume(&self) {
        self.shared.paused.store(false, Ordering::SeqCst);
    }

    /// Fires a fault now (as if its schedule had come), from the venue thread's next iteration.
    pub fn inject(&self, fault: FaultKind) {
        self.shared
            .injected
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(fault);
        self.wait_for_loop();
    }

    /// Waits until the loop has completed a full iteration that started after this call.
    fn wait_for_loop(&self) {
        let start = self.shared.epoch.load(Ordering::SeqCst);
        let deadline = Instant::now() + PAUSE_WAIT;
        while self.shared.epoch.load(Ordering::SeqCst) < start + 2 {
            if Instant::now() > deadline || self.thread.as_ref().is_none_or(|t| t.is_finished()) {
                return;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
    }

    /// Stops the venue: closes every connection (WebSocket close, TLS close_notify), the
    /// listener, and joins the thread.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for VenueHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl std::fmt::Debug for VenueHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VenueHandle")
            .field("url", &self.url())
            .finish_non_exhaustive()
    }
}
