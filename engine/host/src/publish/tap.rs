//! Taps: lanes like a strategy's for consumers that are not strategies (the NATS bridge), with
//! a copy of every order update the strategies get ([`crate::order_tap`]). A child module
//! of [`super`], so it works on the bus's own fields. Start-up only: allocates the rings.

use kspin_api::wire::WireEvent;
use kspin_api::OrderMessage;
use kspin_ring::{try_spsc, Consumer, Producer};

use super::Bus;
use crate::order_tap::{TapOrder, ORDER_TAP_CAPACITY};
use crate::BusError;

/// The consumer-side ends of a *tap*: a lane like a strategy's, read by a thread that forwards
/// verified market data elsewhere (the NATS bridge) instead of running a strategy
/// ([`Bus::add_tap`]).
pub struct TapEnds {
    /// The tap's lane index ([`Bus::lane_counters`]).
    pub index: usize,
    /// Wire events, exactly as a strategy's host receives them.
    pub events: Consumer<WireEvent>,
    /// Requests back to the bus: only `OrderRequest::Resnapshot` is meaningful for a tap.
    pub intents: Producer<OrderMessage>,
    /// A copy of every order update handed to a strategy (fills, acks, cancels, rejects), in
    /// the order the strategy gets them; dropped and counted ([`Bus::order_tap_drops`]) when
    /// full.
    pub orders: Consumer<TapOrder>,
    /// The names of the strategies added before the tap, by index ([`TapOrder::strategy`]).
    pub strategies: Vec<String>,
}

impl std::fmt::Debug for TapEnds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TapEnds")
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

impl Bus {
    /// Adds a *tap*: a lane with the same guarantees as a strategy's (all or nothing per message,
    /// conflation with counted drops while its ring is full, a catch-up snapshot before further
    /// deltas) for a consumer that is not a strategy, such as the NATS bridge. A tap is left out
    /// of [`Self::strategy_stats`] and of the log drain; read its counters with
    /// [`Self::lane_counters`]. Start-up only.
    pub fn add_tap(&mut self, name: &str, ring_capacity: usize) -> Result<TapEnds, BusError> {
        let ends = self.add_lane(name, None, ring_capacity)?;
        if let Some(lane) = self.lanes.get_mut(ends.index) {
            lane.tap = true;
        }
        self.logs.remove_last();
        let (orders_tx, orders) =
            try_spsc(ORDER_TAP_CAPACITY).map_err(|source| BusError::Ring {
                strategy: name.to_owned(),
                what: "order tap",
                source,
            })?;
        self.order_taps.add(orders_tx);
        // By index: other taps keep their slot, unnamed.
        let strategies = self
            .lanes
            .iter()
            .take(ends.index)
            .map(|l| if l.tap { String::new() } else { l.name.clone() })
            .collect();
        Ok(TapEnds {
            index: ends.index,
            events: ends.events,
            intents: ends.intents,
            orders,
            strategies,
        })
    }
}
