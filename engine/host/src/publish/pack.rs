//! Packing one verified book update into its wire events, once for every lane: the level
//! batches in message order ([`LEVELS_PER_BATCH`] levels each, the last one partly filled when
//! the count is odd) and the closing `BookDone`, written into the bus's preallocated scratch
//! slots. Exactly what [`kspin_api::wire::LevelPacker`] makes of the same levels (a unit test
//! holds the two equal), without its per-level counting and branches.
//!
//! Invariants: writes only the scratch slots it returns; never allocates or panics (a scratch
//! too small for the update yields an empty run, which the bus never asks for: it routes such
//! updates to catch-up first).

use kspin_api::wire::{LevelBatch, WireEvent, WireKind, LEVELS_PER_BATCH};
use kspin_api::{BookSide, SymbolId};
use kspin_core::book::{FixedLevel, OrderBook, SideKind};

use crate::lane::{book_done, Stamps};

// The pairing below writes exactly two levels per batch.
const _: () = assert!(LEVELS_PER_BATCH == 2);

/// What the scratch slots hold before their first update (never published).
pub(super) const EMPTY_SLOT: WireEvent = WireEvent::new(0, 0, WireKind::BookLive(SymbolId(0)));

/// Wire events of an update of `levels` levels: its batches and the `BookDone`.
#[inline]
pub(super) const fn update_events(levels: usize) -> usize {
    levels.div_ceil(LEVELS_PER_BATCH) + 1
}

#[inline(always)]
fn wire_side(side: SideKind) -> BookSide {
    match side {
        SideKind::Bid => BookSide::Bid,
        SideKind::Ask => BookSide::Ask,
    }
}

/// Packs the update `levels` of `symbol` (which left `book` as it is) into the front of
/// `scratch` and returns that run: [`update_events`]`(levels.len())` events, stamped with
/// `stamps` (the `BookDone` carries `stamps.time_ns`). The caller checked that the run fits
/// and that `levels.len() <= u16::MAX`.
#[inline]
pub(super) fn pack_update<'a>(
    scratch: &'a mut [WireEvent],
    symbol: SymbolId,
    book: &OrderBook,
    levels: &[FixedLevel],
    stamps: Stamps,
) -> &'a [WireEvent] {
    let need = update_events(levels.len());
    let Some(run) = scratch.get_mut(..need) else {
        return &[];
    };
    let wire = |kind| WireEvent::new(stamps.recv, stamps.publish, kind);
    let (batches, done) = run.split_at_mut(need - 1);
    // `chunks_exact`, not `as_chunks` (Rust 1.88, above the workspace MSRV of 1.85).
    let pairs = levels.chunks_exact(2);
    let odd = pairs.remainder();
    for (slot, pair) in batches.iter_mut().zip(pairs) {
        let [a, b] = pair else { continue };
        *slot = wire(WireKind::BookLevels(LevelBatch {
            symbol,
            count: 2,
            sides: [wire_side(a.side), wire_side(b.side)],
            prices: [a.price, b.price],
            qtys: [a.qty, b.qty],
        }));
    }
    if let ([last], Some(slot)) = (odd, batches.last_mut()) {
        let mut batch = LevelBatch::empty(symbol);
        batch.count = 1;
        batch.sides[0] = wire_side(last.side);
        batch.prices[0] = last.price;
        batch.qtys[0] = last.qty;
        *slot = wire(WireKind::BookLevels(batch));
    }
    let count = u16::try_from(levels.len()).unwrap_or(u16::MAX);
    done[0] = wire(WireKind::BookDone(book_done(
        symbol,
        book,
        count,
        false,
        stamps.time_ns,
    )));
    run
}

#[cfg(test)]
mod tests {
    use super::*;
    use kspin_api::wire::LevelPacker;
    use kspin_api::{Price, Qty};

    /// What the bus packed before: one `LevelPacker` push per level.
    fn packed_by_packer(
        symbol: SymbolId,
        book: &OrderBook,
        levels: &[FixedLevel],
        stamps: Stamps,
    ) -> Vec<WireEvent> {
        let wire = |kind| WireEvent::new(stamps.recv, stamps.publish, kind);
        let mut out = Vec::new();
        let mut packer = LevelPacker::new(symbol);
        for level in levels {
            if let Some(batch) = packer.push(wire_side(level.side), level.price, level.qty) {
                out.push(wire(WireKind::BookLevels(batch)));
            }
        }
        if let Some(batch) = packer.flush() {
            out.push(wire(WireKind::BookLevels(batch)));
        }
        out.push(wire(WireKind::BookDone(book_done(
            symbol,
            book,
            packer.levels(),
            false,
            stamps.time_ns,
        ))));
        out
    }

    #[test]
    fn packs_exactly_as_the_level_packer() {
        let book = OrderBook::new(10, 2, 8);
        let stamps = Stamps {
            recv: 7,
            publish: 9,
            time_ns: 11,
        };
        let mut scratch = vec![EMPTY_SLOT; 8];
        for n in 0..=13usize {
            let levels: Vec<FixedLevel> = (0..n)
                .map(|i| FixedLevel {
                    side: if i % 3 == 0 {
                        SideKind::Ask
                    } else {
                        SideKind::Bid
                    },
                    price: Price(100 + i as i64),
                    qty: Qty(i as i64),
                })
                .collect();
            let symbol = SymbolId(3);
            let expected = packed_by_packer(symbol, &book, &levels, stamps);
            if expected.len() > scratch.len() {
                assert!(pack_update(&mut scratch, symbol, &book, &levels, stamps).is_empty());
                continue;
            }
            // Stale contents from a longer earlier update must not leak into a shorter one.
            let run = pack_update(&mut scratch, symbol, &book, &levels, stamps);
            assert_eq!(run, expected.as_slice(), "{n} levels");
            assert_eq!(run.len(), update_events(n));
        }
    }
}
