//! [`OrderTable`]: every order the engine has sent and not seen end, in a fixed table.
//!
//! Owns one [`LiveOrder`] per slot, the free list, and an index from [`ClientOrderId`] to slot
//! (open addressing, linear probing, backward-shift deletion). The slot number travels in the
//! order's `cl_ord_id` ([`super::cl_ord_id`]), so execution reports find their order in O(1);
//! strategies' cancels and amends name the [`ClientOrderId`], found through the index.
//!
//! Invariants: capacity is fixed at construction (at most [`MAX_ORDER_SLOTS`]); nothing
//! allocates afterwards; a slot is in the index exactly while it is not free; the index has at
//! least twice as many buckets as there are slots, so probes stay short and always end.

use kspin_api::{ClientOrderId, OrderType, Price, Qty, Side, TimeInForce};

/// Most slots a table may have: slot numbers are `u16` in the `cl_ord_id`.
pub const MAX_ORDER_SLOTS: usize = 1 << 15;
/// Kraken order ids are 19 characters (`OABCDE-FGHIJ-KLMNOP`, add_order docs); room to spare.
pub const VENUE_ID_MAX: usize = 32;

/// The venue's id of an order, stored inline.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct VenueOrderId {
    bytes: [u8; VENUE_ID_MAX],
    len: u8,
}

impl VenueOrderId {
    pub const EMPTY: VenueOrderId = VenueOrderId {
        bytes: [0; VENUE_ID_MAX],
        len: 0,
    };

    /// `None` when `text` is longer than [`VENUE_ID_MAX`].
    pub fn new(text: &str) -> Option<VenueOrderId> {
        let src = text.as_bytes();
        let mut id = VenueOrderId::EMPTY;
        id.bytes.get_mut(..src.len())?.copy_from_slice(src);
        id.len = src.len() as u8;
        Some(id)
    }

    pub fn as_str(&self) -> &str {
        let bytes = self.bytes.get(..usize::from(self.len)).unwrap_or(&[]);
        // Built from a `&str` cut at its full length: always UTF-8.
        core::str::from_utf8(bytes).unwrap_or("")
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl core::fmt::Debug for VenueOrderId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

/// Where an order is in its life, as far as the engine knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderPhase {
    /// The slot holds no order.
    Free,
    /// Sent; neither acknowledged nor reported live yet.
    Sent,
    /// Acknowledged or reported live (`new`), possibly partly filled.
    Open,
}

/// A change the engine asked for and the venue has not answered yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PendingChange {
    None,
    Cancel { req_id: u64 },
    Amend { req_id: u64, price: Price, qty: Qty },
}

/// One order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiveOrder {
    pub phase: OrderPhase,
    pub strategy: u16,
    pub client_id: ClientOrderId,
    pub symbol: u16,
    pub side: Side,
    pub order_type: OrderType,
    pub tif: TimeInForce,
    /// Limit price (zero for a market order).
    pub price: Price,
    /// Total order quantity (an amend changes it).
    pub qty: Qty,
    /// Filled so far.
    pub filled: Qty,
    pub venue_id: VenueOrderId,
    /// The request that placed it (`add_order` or `batch_add`).
    pub req_id: u64,
    pub pending: PendingChange,
    /// When it was placed or last amended (ns since the Unix epoch): the rate counter's age.
    pub placed_ns: u64,
    /// The strategy was told `Accepted`.
    pub told_accepted: bool,
    /// The last fill applied (Kraken `trade_id`, increasing per pair): a fill seen again in a
    /// snapshot after a reconnect is not applied twice.
    pub last_trade_id: u64,
    /// Reconciliation: seen in the executions snapshot of the current connection.
    pub confirmed: bool,
}

impl LiveOrder {
    pub const FREE: LiveOrder = LiveOrder {
        phase: OrderPhase::Free,
        strategy: 0,
        client_id: ClientOrderId(0),
        symbol: 0,
        side: Side::Buy,
        order_type: OrderType::Limit,
        tif: TimeInForce::Gtc,
        price: Price::ZERO,
        qty: Qty::ZERO,
        filled: Qty::ZERO,
        venue_id: VenueOrderId::EMPTY,
        req_id: 0,
        pending: PendingChange::None,
        placed_ns: 0,
        told_accepted: false,
        last_trade_id: 0,
        confirmed: false,
    };

    /// Quantity still working.
    #[inline]
    pub fn remaining(&self) -> Qty {
        Qty(self.qty.0.saturating_sub(self.filled.0).max(0))
    }
}

const EMPTY_BUCKET: u16 = u16::MAX;

/// See the module docs.
pub struct OrderTable {
    slots: Box<[LiveOrder]>,
    free: Box<[u16]>,
    free_len: usize,
    /// `ClientOrderId` → slot; `EMPTY_BUCKET` marks an empty bucket.
    index: Box<[u16]>,
    mask: usize,
}

impl core::fmt::Debug for OrderTable {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OrderTable")
            .field("capacity", &self.slots.len())
            .field("open", &self.len())
            .finish()
    }
}

impl OrderTable {
    /// A table of `capacity` slots (clamped to 1..=[`MAX_ORDER_SLOTS`]). Start-up only.
    pub fn new(capacity: usize) -> OrderTable {
        let capacity = capacity.clamp(1, MAX_ORDER_SLOTS);
        let buckets = (capacity * 2).next_power_of_two();
        OrderTable {
            slots: vec![LiveOrder::FREE; capacity].into_boxed_slice(),
            // Popped from the end: slot 0 first.
            free: (0..capacity as u16).rev().collect(),
            free_len: capacity,
            index: vec![EMPTY_BUCKET; buckets].into_boxed_slice(),
            mask: buckets - 1,
        }
    }

    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Orders in the table.
    pub fn len(&self) -> usize {
        self.slots.len() - self.free_len
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn is_full(&self) -> bool {
        self.free_len == 0
    }

    #[inline]
    fn bucket_of(&self, id: ClientOrderId) -> usize {
        // Fibonacci hashing: the ids are sequential per strategy, the high bits mix them.
        (id.0.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize & self.mask
    }

    /// Takes a free slot for `order` (its `phase` must not be `Free`); `None` when full or when
    /// the client id is already in the table.
    pub fn insert(&mut self, order: LiveOrder) -> Option<u16> {
        if self.free_len == 0 || self.find(order.client_id).is_some() {
            return None;
        }
        self.free_len -= 1;
        let slot = *self.free.get(self.free_len)?;
        *self.slots.get_mut(usize::from(slot))? = order;
        let mut b = self.bucket_of(order.client_id);
        while self.index[b] != EMPTY_BUCKET {
            b = (b + 1) & self.mask;
        }
        self.index[b] = slot;
        Some(slot)
    }

    /// The slot of `client_id`, if it is in the table.
    pub fn find(&self, client_id: ClientOrderId) -> Option<u16> {
        let mut b = self.bucket_of(client_id);
        loop {
            let slot = self.index[b];
            if slot == EMPTY_BUCKET {
                return None;
            }
            if self
                .slots
                .get(usize::from(slot))
                .is_some_and(|o| o.client_id == client_id)
            {
                return Some(slot);
            }
            b = (b + 1) & self.mask;
        }
    }

    pub fn get(&self, slot: u16) -> Option<&LiveOrder> {
        self.slots
            .get(usize::from(slot))
            .filter(|o| o.phase != OrderPhase::Free)
    }

    pub fn get_mut(&mut self, slot: u16) -> Option<&mut LiveOrder> {
        self.slots
            .get_mut(usize::from(slot))
            .filter(|o| o.phase != OrderPhase::Free)
    }

    /// Frees `slot`, returning the order it held.
    pub fn remove(&mut self, slot: u16) -> Option<LiveOrder> {
        let order = *self.get(slot)?;
        // Unlink from the index: find its bucket, then shift later members of the probe run
        // back into the hole (no tombstones, so lookups stay bounded by the run length).
        let mut hole = self.bucket_of(order.client_id);
        while self.index[hole] != slot {
            if self.index[hole] == EMPTY_BUCKET {
                break; // not indexed (cannot happen); just free the slot
            }
            hole = (hole + 1) & self.mask;
        }
        if self.index[hole] == slot {
            self.index[hole] = EMPTY_BUCKET;
            let mut next = (hole + 1) & self.mask;
            while self.index[next] != EMPTY_BUCKET {
                let moved = self.index[next];
                let home = self
                    .slots
                    .get(usize::from(moved))
                    .map_or(next, |o| self.bucket_of(o.client_id));
                // Move it back when its home is not within (hole, next] cyclically.
                let in_range = if hole <= next {
                    hole < home && home <= next
                } else {
                    hole < home || home <= next
                };
                if !in_range {
                    self.index[hole] = moved;
                    self.index[next] = EMPTY_BUCKET;
                    hole = next;
                }
                next = (next + 1) & self.mask;
            }
        }
        self.slots[usize::from(slot)] = LiveOrder::FREE;
        if let Some(f) = self.free.get_mut(self.free_len) {
            *f = slot;
            self.free_len += 1;
        }
        Some(order)
    }

    /// Every order in the table with its slot.
    pub fn iter(&self) -> impl Iterator<Item = (u16, &LiveOrder)> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, o)| o.phase != OrderPhase::Free)
            .map(|(i, o)| (i as u16, o))
    }

    /// Every order, mutably.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (u16, &mut LiveOrder)> {
        self.slots
            .iter_mut()
            .enumerate()
            .filter(|(_, o)| o.phase != OrderPhase::Free)
            .map(|(i, o)| (i as u16, o))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn order(id: u64) -> LiveOrder {
        LiveOrder {
            phase: OrderPhase::Sent,
            client_id: ClientOrderId(id),
            qty: Qty(10),
            ..LiveOrder::FREE
        }
    }

    #[test]
    fn insert_find_remove_and_reuse() {
        let mut t = OrderTable::new(2);
        let a = t.insert(order(1)).unwrap();
        let b = t.insert(order(2)).unwrap();
        assert_eq!((a, b), (0, 1));
        assert!(t.is_full());
        assert_eq!(t.insert(order(3)), None);
        assert_eq!(t.find(ClientOrderId(2)), Some(1));
        assert_eq!(t.remove(a).map(|o| o.client_id), Some(ClientOrderId(1)));
        assert_eq!(t.find(ClientOrderId(1)), None);
        assert_eq!(t.get(a), None);
        assert_eq!(t.remove(a), None);
        assert_eq!(t.insert(order(2)), None, "duplicate client id");
        assert_eq!(t.insert(order(3)), Some(0));
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn venue_ids_are_bounded() {
        assert_eq!(
            VenueOrderId::new("OABCDE-FGHIJ-KLMNOP").unwrap().as_str(),
            "OABCDE-FGHIJ-KLMNOP"
        );
        assert!(VenueOrderId::new(&"X".repeat(VENUE_ID_MAX + 1)).is_none());
        assert!(VenueOrderId::EMPTY.is_empty());
    }

    proptest! {
        /// The table agrees with a map under any sequence of inserts and removes, including ids
        /// that collide in the index.
        #[test]
        fn agrees_with_a_map(ops in proptest::collection::vec((any::<bool>(), 0u64..64), 1..400)) {
            let mut t = OrderTable::new(16);
            let mut model: BTreeMap<u64, u16> = BTreeMap::new();
            for (insert, id) in ops {
                let id = id << 40 | (id % 5); // sequential-looking ids of a few strategies
                if insert {
                    let got = t.insert(order(id));
                    if model.len() < 16 && !model.contains_key(&id) {
                        let slot = got.expect("room");
                        model.insert(id, slot);
                    } else {
                        prop_assert_eq!(got, None);
                    }
                } else if let Some(slot) = model.remove(&id) {
                    prop_assert_eq!(t.remove(slot).map(|o| o.client_id.0), Some(id));
                }
                for (&id, &slot) in &model {
                    prop_assert_eq!(t.find(ClientOrderId(id)), Some(slot));
                }
                prop_assert_eq!(t.len(), model.len());
            }
        }
    }
}
