//! Order taps: a copy of every order update the bus hands a strategy (paper answers and a
//! venue's execution reports alike), for a tap's consumer such as the NATS bridge, which
//! publishes fills and order state changes off the engine core.
//!
//! Owns one SPSC ring of [`TapOrder`] per tap ([`super::Bus::add_tap`]) and the count of copies
//! dropped because a tap's ring was full. Invariants: a copy is made exactly when the update
//! enters the strategy's event ring (so a tap sees what the strategy sees, in the same order);
//! the engine core never waits for a tap (a full ring drops the copy and counts it); nothing here
//! allocates after start-up, blocks or panics.

use kspin_api::OrderUpdate;
use kspin_ring::Producer;

/// Slots of each tap's order ring (order updates are rare next to market data: a few per
/// order).
pub const ORDER_TAP_CAPACITY: usize = 4096;

/// An order update as a tap receives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TapOrder {
    /// The strategy's index in the bus (its lane; [`super::TapEnds::strategies`] names it).
    pub strategy: u16,
    /// The engine's read (quanta raw) of the frame in hand when the update was handed over.
    pub recv_tsc: u64,
    /// Exchange time the update carries (ns since the Unix epoch; the market clock).
    pub time_ns: u64,
    pub update: OrderUpdate,
}

/// The producers of every tap's order ring.
#[derive(Default)]
pub(crate) struct OrderTaps {
    rings: Vec<Producer<TapOrder>>,
    /// Copies not made because a tap's ring was full.
    pub(crate) dropped: u64,
}

impl OrderTaps {
    /// Adds a tap's ring. Start-up only.
    pub(crate) fn add(&mut self, ring: Producer<TapOrder>) {
        self.rings.push(ring);
    }

    /// Copies `order` to every tap (none: a single branch).
    #[inline]
    pub(crate) fn copy(&mut self, order: TapOrder) {
        for ring in &mut self.rings {
            if ring.try_push(order).is_err() {
                self.dropped += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kspin_api::{ClientOrderId, SymbolId};

    #[test]
    fn a_full_tap_drops_and_counts() {
        let (tx, mut rx) = kspin_ring::try_spsc::<TapOrder>(2).unwrap();
        let mut taps = OrderTaps::default();
        taps.copy(TapOrder {
            strategy: 0,
            recv_tsc: 0,
            time_ns: 0,
            update: OrderUpdate::accepted(ClientOrderId(1), SymbolId(0)),
        });
        taps.add(tx);
        for id in 1..=3 {
            taps.copy(TapOrder {
                strategy: 1,
                recv_tsc: 0,
                time_ns: id,
                update: OrderUpdate::accepted(ClientOrderId(id), SymbolId(0)),
            });
        }
        assert_eq!(taps.dropped, 1);
        assert_eq!(rx.try_pop().map(|o| o.time_ns), Some(1));
        assert_eq!(rx.try_pop().map(|o| o.time_ns), Some(2));
        assert_eq!(rx.try_pop(), None);
    }
}
