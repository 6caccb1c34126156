//! Host side of the book contract: a [`ReplicaBook`] the host keeps per symbol on the strategy's
//! thread, and the [`WireAssembler`] that applies wire events to the replicas and yields the
//! strategy-facing [`Event`]s.
//!
//! The engine's strategy host uses this state machine, and the test harness runs that same
//! host, so a strategy sees identical events in tests and in production. Invariants: a `BookChanged` event is yielded only
//! after the whole message has been applied to the replica, so [`crate::Context::book`] matches
//! the event (its top of book is read from the replica, which the `BookDone` fingerprint
//! vouches for); each `BookDone` is checked against the replica (level count and top of book) and
//! a disagreement turns the book stale ([`StaleReason::ReplicaDiverged`]) until the next snapshot;
//! every event gets its [`Event::time_ns`]: its own exchange time when the wire carries one (a
//! `BookDone`, a trade, or a `Meta` before the event), else the market clock (the latest exchange
//! time seen);
//! a book is live exactly when the engine said so (`BookLive` after a snapshot, no `BookStale`
//! since) and the replica has not diverged. It never allocates after [`WireAssembler::new`] and
//! never panics on any wire sequence.

use crate::book_view::BookView;
use crate::event::{BookChange, BookStale, Event, EventKind, StaleReason};
use crate::fixed::{Price, Qty};
use crate::side::BookSide;
use crate::symbol::SymbolId;
use crate::wire::{top_fingerprint, BookDone, WireEvent, WireKind, WireMeta};

/// A book the host can rebuild from wire events. The engine's host wraps its `OrderBook` (plus a
/// live flag).
pub trait ReplicaBook: BookView {
    /// Removes every level (a snapshot follows).
    fn clear(&mut self);
    /// Applies one level in message order: `qty == 0` removes the price, otherwise sets it.
    fn apply_level(&mut self, side: BookSide, price: Price, qty: Qty);
    /// The message is complete: truncate each side to the depth.
    fn end_message(&mut self);
    /// Sets what [`BookView::is_live`] answers.
    fn set_live(&mut self, live: bool);
}

/// What one wire event amounts to for the strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assembled {
    /// Call `on_event` with this.
    Deliver(Event),
    /// Consumed into the replica (levels, snapshot markers); nothing to deliver yet.
    Absorbed,
    /// The replica disagreed with the engine: deliver `event` (a `BookStale`) and count `fault`;
    /// the host asks the engine for a fresh snapshot (`OrderRequest::Resnapshot`).
    Diverged { event: Event, fault: AssemblyFault },
    /// A book event for a symbol outside the table; dropped.
    Rejected(AssemblyFault),
}

/// A wire sequence the assembler could not reconcile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssemblyFault {
    UnknownSymbol(SymbolId),
    /// `BookDone.levels_changed` differs from the levels received since the last message.
    LevelCount {
        symbol: SymbolId,
        announced: u16,
        received: u32,
    },
    /// The replica's top of book after the message differs from the engine's.
    TopOfBook(SymbolId),
}

#[derive(Debug, Clone, Copy, Default)]
struct SymbolState {
    /// Levels received for the message being assembled.
    levels: u32,
    engine_live: bool,
    diverged: bool,
}

/// Applies wire events to replicas; see the module docs.
#[derive(Debug, Clone)]
pub struct WireAssembler {
    states: Vec<SymbolState>,
    faults: u64,
    /// The latest exchange time seen (ns since the Unix epoch).
    market_ns: u64,
    /// A `Meta` waiting for the event it belongs to.
    pending: Option<WireMeta>,
}

impl WireAssembler {
    /// An assembler for `symbols` books (ids `0..symbols`), all initially not live.
    pub fn new(symbols: usize) -> WireAssembler {
        WireAssembler {
            states: vec![SymbolState::default(); symbols],
            faults: 0,
            market_ns: 0,
            pending: None,
        }
    }

    /// The market clock: the latest exchange time seen, in ns since the Unix epoch.
    pub fn market_ns(&self) -> u64 {
        self.market_ns
    }

    /// Faults seen so far (divergences and unknown symbols).
    pub fn faults(&self) -> u64 {
        self.faults
    }

    /// Moves the market clock to `time_ns` if it is later (0: unknown, ignored).
    #[inline]
    fn observe(&mut self, time_ns: u64) -> u64 {
        if time_ns > self.market_ns {
            self.market_ns = time_ns;
        }
        if time_ns == 0 {
            self.market_ns
        } else {
            time_ns
        }
    }

    /// Applies `wire` to `books` (indexed by symbol id) and says what to deliver.
    pub fn apply<B: ReplicaBook>(&mut self, books: &mut [B], wire: &WireEvent) -> Assembled {
        let wire_kind = wire.kind();
        // A Meta belongs to the event right after it, whatever that is.
        let meta = match wire_kind {
            WireKind::Meta(meta) => {
                self.pending = Some(meta);
                return Assembled::Absorbed;
            }
            _ => self.pending.take().unwrap_or_default(),
        };
        let time_ns = match wire_kind {
            WireKind::BookDone(done) => self.observe(done.time_ns),
            WireKind::Trade(t) => self.observe(t.time_ns),
            _ => self.observe(meta.time_ns),
        };
        let event = |kind| {
            Assembled::Deliver(Event::new(wire.recv_tsc(), wire.publish_tsc(), kind).at(time_ns))
        };
        let symbol = match wire_kind {
            WireKind::BookSnapshot(s) => s.symbol,
            WireKind::BookLevels(b) => b.symbol,
            WireKind::BookDone(c) => c.symbol,
            WireKind::BookStale(s) => s.symbol,
            WireKind::BookLive(s) => s,
            WireKind::Trade(t) => return event(EventKind::Trade(t)),
            WireKind::Ticker(t) => return event(EventKind::Ticker(t)),
            WireKind::Connection(c) => return event(EventKind::Connection(c)),
            WireKind::Order(o) => return event(EventKind::Order(o.with_fee(meta.fee))),
            WireKind::Meta(_) => return Assembled::Absorbed,
        };
        let (Some(state), Some(book)) = (
            self.states.get_mut(symbol.index()),
            books.get_mut(symbol.index()),
        ) else {
            self.faults += 1;
            return Assembled::Rejected(AssemblyFault::UnknownSymbol(symbol));
        };
        match wire_kind {
            WireKind::BookSnapshot(_) => {
                book.clear();
                state.levels = 0;
                state.diverged = false;
                Assembled::Absorbed
            }
            WireKind::BookLevels(batch) => {
                if !state.diverged {
                    for (side, price, qty) in batch.levels() {
                        book.apply_level(side, price, qty);
                    }
                    state.levels += batch.count as u32;
                }
                Assembled::Absorbed
            }
            WireKind::BookDone(change) => {
                let received = core::mem::take(&mut state.levels);
                if state.diverged {
                    return Assembled::Absorbed;
                }
                book.end_message();
                let fault = if received != change.levels_changed as u32 {
                    Some(AssemblyFault::LevelCount {
                        symbol,
                        announced: change.levels_changed,
                        received,
                    })
                } else if replica_top(&*book) != change.top {
                    Some(AssemblyFault::TopOfBook(symbol))
                } else {
                    None
                };
                match fault {
                    None => {
                        // A snapshot after a divergence makes the replica trustworthy again.
                        book.set_live(state.engine_live);
                        event(EventKind::BookChanged(book_change(&*book, &change)))
                    }
                    Some(fault) => {
                        state.diverged = true;
                        book.set_live(false);
                        self.faults += 1;
                        let stale = BookStale {
                            symbol,
                            reason: StaleReason::ReplicaDiverged,
                        };
                        Assembled::Diverged {
                            event: Event::new(
                                wire.recv_tsc(),
                                wire.publish_tsc(),
                                EventKind::BookStale(stale),
                            )
                            .at(time_ns),
                            fault,
                        }
                    }
                }
            }
            WireKind::BookStale(stale) => {
                state.engine_live = false;
                book.set_live(false);
                event(EventKind::BookStale(stale))
            }
            WireKind::BookLive(_) => {
                state.engine_live = true;
                if state.diverged {
                    return Assembled::Absorbed;
                }
                book.set_live(true);
                event(EventKind::BookLive(symbol))
            }
            // Returned above.
            WireKind::Trade(_)
            | WireKind::Ticker(_)
            | WireKind::Connection(_)
            | WireKind::Order(_)
            | WireKind::Meta(_) => Assembled::Absorbed,
        }
    }
}

/// The replica's top of book, as the engine fingerprints its own.
fn replica_top<B: BookView + ?Sized>(book: &B) -> u64 {
    let (bp, bq) = book.best_bid().unwrap_or((Price::ZERO, Qty::ZERO));
    let (ap, aq) = book.best_ask().unwrap_or((Price::ZERO, Qty::ZERO));
    top_fingerprint(bp, bq, ap, aq)
}

/// The strategy's `BookChanged`: the message's facts and the (verified) replica's top.
fn book_change<B: BookView + ?Sized>(book: &B, done: &BookDone) -> BookChange {
    let (bid_price, bid_qty) = book.best_bid().unwrap_or((Price::ZERO, Qty::ZERO));
    let (ask_price, ask_qty) = book.best_ask().unwrap_or((Price::ZERO, Qty::ZERO));
    BookChange {
        symbol: done.symbol,
        levels_changed: done.levels_changed,
        snapshot: done.snapshot,
        bid_price,
        bid_qty,
        ask_price,
        ask_qty,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::ClientOrderId;
    use crate::order_update::OrderUpdate;
    use crate::wire::{LevelBatch, WireOrder};
    use crate::Decimal;

    /// A one-level-a-side replica: enough to check what the assembler stamps.
    #[derive(Default)]
    struct Top {
        bid: Option<(Price, Qty)>,
        ask: Option<(Price, Qty)>,
        live: bool,
    }

    impl BookView for Top {
        fn level(&self, side: BookSide, rank: usize) -> Option<(Price, Qty)> {
            match (side, rank) {
                (BookSide::Bid, 0) => self.bid,
                (BookSide::Ask, 0) => self.ask,
                _ => None,
            }
        }
        fn len(&self, side: BookSide) -> usize {
            usize::from(self.level(side, 0).is_some())
        }
        fn is_live(&self) -> bool {
            self.live
        }
        fn price_scale(&self) -> u8 {
            0
        }
        fn qty_scale(&self) -> u8 {
            0
        }
        fn depth(&self) -> usize {
            1
        }
    }

    impl ReplicaBook for Top {
        fn clear(&mut self) {
            *self = Top::default();
        }
        fn apply_level(&mut self, side: BookSide, price: Price, qty: Qty) {
            let level = (qty.0 != 0).then_some((price, qty));
            match side {
                BookSide::Bid => self.bid = level,
                BookSide::Ask => self.ask = level,
            }
        }
        fn end_message(&mut self) {}
        fn set_live(&mut self, live: bool) {
            self.live = live;
        }
    }

    fn wire(kind: WireKind) -> WireEvent {
        WireEvent::new(1, 2, kind)
    }

    fn delivered(out: Assembled) -> Event {
        match out {
            Assembled::Deliver(e) => e,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn events_get_their_own_time_or_the_market_clock_and_fills_their_fee() {
        let s = SymbolId(0);
        let mut books = [Top::default()];
        let mut a = WireAssembler::new(1);
        let mut batch = LevelBatch::empty(s);
        batch.count = 1;
        batch.prices[0] = Price(100);
        batch.qtys[0] = Qty(5);
        assert_eq!(
            a.apply(&mut books, &wire(WireKind::BookLevels(batch))),
            Assembled::Absorbed
        );
        let done = BookDone {
            symbol: s,
            levels_changed: 1,
            snapshot: false,
            time_ns: 1_000,
            top: top_fingerprint(Price(100), Qty(5), Price::ZERO, Qty::ZERO),
        };
        let e = delivered(a.apply(&mut books, &wire(WireKind::BookDone(done))));
        assert_eq!(e.time_ns, 1_000);
        let EventKind::BookChanged(c) = e.kind else {
            panic!("{e:?}")
        };
        assert_eq!(c.best_bid(), Some((Price(100), Qty(5))));
        // No time of its own: the market clock.
        let stale = BookStale {
            symbol: s,
            reason: StaleReason::Disconnected,
        };
        let e = delivered(a.apply(&mut books, &wire(WireKind::BookStale(stale))));
        assert_eq!(e.time_ns, 1_000);
        // A Meta gives the next event its time and fee, and only that event.
        let meta = WireMeta {
            time_ns: 2_000,
            fee: Decimal {
                mantissa: 25,
                scale: 2,
            },
        };
        assert_eq!(
            a.apply(&mut books, &wire(WireKind::Meta(meta))),
            Assembled::Absorbed
        );
        let fill = OrderUpdate::filled(ClientOrderId(9), s, Price(100), Qty(1), Qty(0));
        let e = delivered(a.apply(&mut books, &wire(WireKind::Order(WireOrder::of(&fill)))));
        assert_eq!(e.time_ns, 2_000);
        let EventKind::Order(u) = e.kind else {
            panic!("{e:?}")
        };
        assert_eq!(u.fee, meta.fee);
        let e = delivered(a.apply(&mut books, &wire(WireKind::Order(WireOrder::of(&fill)))));
        let EventKind::Order(u) = e.kind else {
            panic!("{e:?}")
        };
        assert_eq!((u.fee, e.time_ns), (Decimal::ZERO, 2_000));
        assert_eq!(a.market_ns(), 2_000);
    }

    #[test]
    fn a_top_of_book_that_differs_from_the_engines_is_a_divergence() {
        let s = SymbolId(0);
        let mut books = [Top::default()];
        let mut a = WireAssembler::new(1);
        let done = BookDone {
            symbol: s,
            levels_changed: 0,
            snapshot: false,
            time_ns: 0,
            top: top_fingerprint(Price(1), Qty(1), Price::ZERO, Qty::ZERO),
        };
        assert!(matches!(
            a.apply(&mut books, &wire(WireKind::BookDone(done))),
            Assembled::Diverged {
                fault: AssemblyFault::TopOfBook(_),
                ..
            }
        ));
    }
}
