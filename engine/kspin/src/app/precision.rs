//! Start-up resolution of each symbol's precision (`price_precision`, `qty_precision`).
//!
//! Strategy replicas and paper fills need every symbol's scales before the first event, so
//! `kspin run` resolves them once, before the engine core starts: from the configuration, else
//! from the simulated venue's pair table, else from one `instrument` snapshot fetched over a
//! short-lived connection of the same kind the core uses. Runs off the core; it polls with short
//! sleeps and a deadline, and allocates freely.

use std::time::{Duration, Instant};

use kspin_core::kraken::request::{write_subscribe, Subscription};
use kspin_core::kraken::{Decoder, DecoderLimits, Message};
use kspin_net::{ConnLimits, Connection, Endpoint, HandshakeState, NetError, TlsSettings};
use kspin_runtime::plan::SymbolPlan;

/// Why precision could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum PrecisionError {
    #[error("connecting for the instrument snapshot: {0}")]
    Net(#[from] NetError),
    #[error("no instrument snapshot within {0:?}")]
    Timeout(Duration),
    #[error("the exchange lists no pair {0:?} (instrument channel)")]
    UnknownSymbol(String),
}

/// Fills in the precision of every symbol in `plan` that has none, from the simulated venue's
/// pair table.
pub fn from_sim_pairs(plan: &mut [SymbolPlan]) -> Result<(), PrecisionError> {
    for p in plan.iter_mut().filter(|p| p.precision.is_none()) {
        let pair = kspin_sim::instruments()
            .iter()
            .find(|pair| pair.symbol == p.symbol)
            .ok_or_else(|| PrecisionError::UnknownSymbol(p.symbol.clone()))?;
        p.precision = Some((pair.price_precision, pair.qty_precision));
    }
    Ok(())
}

/// Fills in the precision of every symbol in `plan` that has none from one `instrument`
/// snapshot of the venue at `endpoint`.
pub fn fetch(
    endpoint: &Endpoint,
    tls: &TlsSettings,
    max_frame_len: usize,
    plan: &mut [SymbolPlan],
    timeout: Duration,
) -> Result<(), PrecisionError> {
    if plan.iter().all(|p| p.precision.is_some()) {
        return Ok(());
    }
    let deadline = Instant::now() + timeout;
    let limits = ConnLimits {
        max_frame_len,
        ..ConnLimits::default()
    };
    let mut conn = Connection::connect(endpoint, tls, limits)?;
    while conn.poll_handshake()? == HandshakeState::InProgress {
        if Instant::now() >= deadline {
            return Err(PrecisionError::Timeout(timeout));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let mut request = vec![0u8; 256];
    let sub = Subscription {
        channel: "instrument",
        symbols: &[],
        depth: None,
        snapshot: Some(true),
        req_id: Some(1),
    };
    let n = write_subscribe(&mut request, &sub).map_err(|_| PrecisionError::Timeout(timeout))?;
    conn.send_text(&request[..n])?;
    let mut decoder = Decoder::new(DecoderLimits {
        max_frame_len,
        ..DecoderLimits::default()
    });
    let mut pairs: Vec<(String, u8, u8)> = Vec::new();
    let mut done = false;
    while !done {
        if Instant::now() >= deadline {
            return Err(PrecisionError::Timeout(timeout));
        }
        conn.flush()?;
        conn.read_frames(|payload| {
            if let Ok(Message::Instrument(instrument)) = decoder.decode(payload) {
                for pair in instrument.iter() {
                    pairs.push((
                        pair.symbol.to_owned(),
                        pair.price_precision,
                        pair.qty_precision,
                    ));
                }
                done = true;
            }
        })?;
        std::thread::sleep(Duration::from_millis(1));
    }
    conn.close();
    for p in plan.iter_mut().filter(|p| p.precision.is_none()) {
        let (_, price, qty) = pairs
            .iter()
            .find(|(s, _, _)| *s == p.symbol)
            .ok_or_else(|| PrecisionError::UnknownSymbol(p.symbol.clone()))?;
        p.precision = Some((*price, *qty));
    }
    Ok(())
}
