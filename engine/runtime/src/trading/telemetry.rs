//! The order path's telemetry: at each tap tick ([`crate::telemetry`]) the
//! [`super::TradingLink`] pushes one [`TradingStats`] (connection state, its counters, the
//! session's counters, open orders, tick-to-trade buckets) and one [`TradingPosition`] per symbol
//! into two SPSC rings that the metrics thread drains ([`TradingTapReader`]).
//!
//! Owns the record types and both ends of the rings. Invariants: publishing never waits (a full
//! ring drops the record and counts it), never allocates after [`trading_taps`] and never
//! formats.

use kspin_core::trading::session::{TradingCounters, TradingSession};
use kspin_ring::{try_spsc, Consumer, Producer, RingError};

use super::latency::OrderLatency;
use super::link::{LinkCounters, TradingLinkState};
use crate::stats::LatencyBuckets;

/// Ticks of records the rings hold before they drop.
const TICKS: usize = 8;

/// The order path at one tick.
#[derive(Debug, Clone, Copy)]
pub struct TradingStats {
    pub state: TradingLinkState,
    pub link: LinkCounters,
    pub session: TradingCounters,
    pub open_orders: u32,
    /// Read of the triggering frame → order bytes written, every order since start.
    pub tick_to_trade: LatencyBuckets,
    /// Records the rings lost so far.
    pub dropped: u64,
}

/// The session's position in one symbol at one tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TradingPosition {
    /// The feed's (and the session's) symbol index.
    pub symbol: u16,
    /// Base-currency mantissa at the symbol's quantity scale.
    pub qty: i64,
}

/// The link's producer ends.
pub struct TradingTapWriter {
    pub(super) stats: Producer<TradingStats>,
    pub(super) positions: Producer<TradingPosition>,
    pub(super) dropped: u64,
}

impl TradingTapWriter {
    /// One tick: the link's and the session's figures, then every symbol's position.
    pub(super) fn publish(
        &mut self,
        state: TradingLinkState,
        link: &LinkCounters,
        session: &TradingSession,
        latency: &OrderLatency,
    ) {
        let stats = TradingStats {
            state,
            link: *link,
            session: *session.counters(),
            open_orders: session.open_orders().min(u32::MAX as usize) as u32,
            tick_to_trade: latency.tick_to_trade_buckets,
            dropped: self.dropped,
        };
        if self.stats.try_push(stats).is_err() {
            self.dropped += 1;
        }
        for symbol in 0..session.symbols().len() {
            let position = TradingPosition {
                symbol: symbol.min(usize::from(u16::MAX)) as u16,
                qty: session.position(symbol).unwrap_or(0),
            };
            if self.positions.try_push(position).is_err() {
                self.dropped += 1;
            }
        }
    }
}

/// The metrics thread's consumer ends.
pub struct TradingTapReader {
    pub stats: Consumer<TradingStats>,
    pub positions: Consumer<TradingPosition>,
}

/// The rings for a session of `symbols` symbols, allocated once.
pub fn trading_taps(symbols: usize) -> Result<(TradingTapWriter, TradingTapReader), RingError> {
    let (stats_tx, stats_rx) = try_spsc(TICKS)?;
    let (pos_tx, pos_rx) = try_spsc(symbols.max(1) * TICKS)?;
    Ok((
        TradingTapWriter {
            stats: stats_tx,
            positions: pos_tx,
            dropped: 0,
        },
        TradingTapReader {
            stats: stats_rx,
            positions: pos_rx,
        },
    ))
}
