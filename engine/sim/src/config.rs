//! Configuration of a simulated venue and the errors starting one can produce.
//!
//! Owns plain data only. Invariants: the default configuration starts a usable plain `ws://`
//! venue on an ephemeral port with every listed pair, and its trading side on two more
//! ephemeral ports; nothing here opens sockets or files.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::book_tap::BookTap;
use super::fault::FaultSpec;
use super::pacer::PacingMode;
use super::send_stamps::SendStamps;
use super::trading::SimTradingConfig;

/// Kraken sends a heartbeat "approximately once every second in the absence of any other
/// channel updates" (PROTOCOL.md §1.2).
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(1);
/// Default market events per second across all symbols.
pub const DEFAULT_RATE: u32 = 200;

/// How to run a venue. `..SimConfig::default()` fills the rest.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// TCP port on 127.0.0.1; 0 = an ephemeral port (see `VenueHandle::local_addr`).
    pub port: u16,
    /// Serve `wss://` with a self-signed certificate instead of `ws://`.
    pub tls: bool,
    /// Market events per second across all symbols (each event is one book change on one
    /// symbol, sent to every subscription it touches; trades and ticker updates ride along).
    pub rate_per_sec: u32,
    /// Seed of the market: the same seed gives the same book and trade events.
    pub seed: u64,
    /// Symbols to trade (`BTC/USD`, ...); empty = every pair of `instruments()`.
    pub symbols: Vec<String>,
    /// Faults to inject.
    pub faults: Vec<FaultSpec>,
    /// Idle time after which a subscribed connection gets a `heartbeat`.
    pub heartbeat: Duration,
    /// Where to write the certificate PEM when `tls` (for the engine's trust configuration).
    pub cert_out: Option<PathBuf>,
    /// Events sent back to back per pacing tick, same average rate (1 = evenly spaced).
    pub batch: u32,
    /// Pacing strategy.
    pub pacing: PacingMode,
    /// Start with the market frozen (as after `pause()`); `resume()` starts it. Lets tests
    /// subscribe first and then see an exactly reproducible sequence.
    pub start_paused: bool,
    /// Latency benchmarks: stamp every text frame sent on the first connection here (see
    /// [`SendStamps`]).
    pub send_stamps: Option<Arc<SendStamps>>,
    /// Soaks: record the reference book after every book frame queued (see [`BookTap`]).
    pub book_tap: Option<Arc<BookTap>>,
    /// Pin the venue thread to this core (latency benchmarks); `None` = not pinned.
    pub core: Option<usize>,
    /// The trading side (REST token endpoint, authenticated WebSocket, matching engine) on
    /// its own two listeners; `None` = market data only. The default runs it with a throwaway
    /// key pair (see `VenueHandle::credentials`).
    pub trading: Option<SimTradingConfig>,
}

impl Default for SimConfig {
    fn default() -> SimConfig {
        SimConfig {
            port: 0,
            tls: false,
            rate_per_sec: DEFAULT_RATE,
            seed: 1,
            symbols: Vec::new(),
            faults: Vec::new(),
            heartbeat: DEFAULT_HEARTBEAT,
            cert_out: None,
            batch: 1,
            pacing: PacingMode::Sleep,
            start_paused: false,
            send_stamps: None,
            book_tap: None,
            core: None,
            trading: Some(SimTradingConfig::default()),
        }
    }
}

/// Why a venue could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("cannot listen on 127.0.0.1:{port}: {source}")]
    Bind { port: u16, source: std::io::Error },
    #[error("socket setup failed: {0}")]
    Socket(std::io::Error),
    #[error("certificate generation failed: {0}")]
    Certificate(String),
    #[error("TLS configuration failed: {0}")]
    Tls(rustls::Error),
    #[error("cannot write the certificate to {path}: {source}")]
    CertWrite {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("unknown symbol `{0}` (see `instruments()` for the venue's pairs)")]
    UnknownSymbol(String),
    #[error("cannot start the venue thread: {0}")]
    Thread(std::io::Error),
    #[error("trading configuration: {0}")]
    Trading(String),
}
