//! The bus's telemetry: at each tap tick of the engine core ([`kspin_runtime::telemetry`]) one
//! [`LaneStats`] per strategy (its lane's counters, its paper counters, how many events wait in
//! its ring, whether it is lagging) and a [`LanePosition`] for every paper position that changed,
//! into two SPSC rings that the metrics thread drains ([`LaneTapReader`]).
//!
//! Owns the record types, both ends of the rings and the last published position per lane and
//! symbol. Invariants: runs on the engine core, so it never waits (a full ring drops the record,
//! counts it, and a position that did not fit is offered again next tick), never allocates after
//! [`Bus::attach_taps`] and never formats.

use kspin_ring::{try_spsc, Consumer, Producer, RingError};

use super::Bus;
use crate::lane::LaneCounters;
use crate::paper::PaperCounters;

/// Ticks of lane records the ring holds before it drops.
const TICKS: usize = 8;

/// One strategy's lane at one tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LaneStats {
    /// The strategy's index (its order in the configuration).
    pub lane: u16,
    pub counters: LaneCounters,
    pub paper: PaperCounters,
    /// Wire events in its ring that its host has not taken yet: `events_published - queued` is
    /// what it has received.
    pub queued: u32,
    /// It has a book waiting for a catch-up snapshot (its deltas are being dropped).
    pub lagging: bool,
    /// Paper orders resting.
    pub open_orders: u32,
    /// Records the rings lost so far.
    pub dropped: u64,
}

/// A strategy's paper position in one symbol, published when it changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LanePosition {
    pub lane: u16,
    pub symbol: u16,
    /// Base-currency mantissa at the symbol's quantity scale.
    pub qty: i64,
}

/// The bus's producer ends.
pub(crate) struct LaneTapWriter {
    stats: Producer<LaneStats>,
    positions: Producer<LanePosition>,
    /// Last position published per lane and symbol (`lane * symbols + symbol`).
    published: Box<[Option<i64>]>,
    dropped: u64,
}

/// The metrics thread's consumer ends.
pub struct LaneTapReader {
    pub stats: Consumer<LaneStats>,
    pub positions: Consumer<LanePosition>,
}

impl Bus {
    /// Publishes every lane's figures at each telemetry tick from now on, and returns the
    /// readers' end. Start-up only, after the last [`Bus::add_strategy`].
    pub fn attach_taps(&mut self) -> Result<LaneTapReader, RingError> {
        let lanes = self.lanes.len().max(1);
        let symbols = self.symbols.len();
        let (stats_tx, stats_rx) = try_spsc(lanes * TICKS)?;
        let (pos_tx, pos_rx) = try_spsc((lanes * symbols).max(1) * 2)?;
        self.taps = Some(LaneTapWriter {
            stats: stats_tx,
            positions: pos_tx,
            published: vec![None; lanes * symbols].into_boxed_slice(),
            dropped: 0,
        });
        Ok(LaneTapReader {
            stats: stats_rx,
            positions: pos_rx,
        })
    }

    /// One telemetry tick (the runtime's `Publisher::telemetry`); once more after the
    /// strategies stopped, so that the last figures show what they took from their rings.
    pub fn publish_taps(&mut self) {
        let Some(taps) = &mut self.taps else {
            return;
        };
        let symbols = self.symbols.len();
        for (i, lane) in self.lanes.iter().enumerate() {
            let stats = LaneStats {
                lane: i.min(usize::from(u16::MAX)) as u16,
                counters: lane.counters,
                paper: lane.paper.counters(),
                queued: (lane.events.capacity() - lane.events.free_slots()).min(u32::MAX as usize)
                    as u32,
                lagging: lane.lagging(),
                open_orders: lane.paper.open_orders().min(u32::MAX as usize) as u32,
                dropped: taps.dropped,
            };
            if taps.stats.try_push(stats).is_err() {
                taps.dropped += 1;
            }
            for s in 0..symbols {
                let qty = lane.paper.position(s).unwrap_or(0);
                let Some(last) = taps.published.get_mut(i * symbols + s) else {
                    continue;
                };
                if *last == Some(qty) || (last.is_none() && qty == 0) {
                    continue;
                }
                let position = LanePosition {
                    lane: i.min(usize::from(u16::MAX)) as u16,
                    symbol: s.min(usize::from(u16::MAX)) as u16,
                    qty,
                };
                if taps.positions.try_push(position).is_ok() {
                    *last = Some(qty);
                } else {
                    taps.dropped += 1;
                }
            }
        }
    }
}
