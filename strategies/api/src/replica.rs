//! Host side of the book contract: a [`ReplicaBook`] the host keeps per symbol on the strategy's
//! thread, and the [`WireAssembler`] that applies wire events to the replicas and yields the
//! strategy-facing [`Event`]s.
//!
//! The engine's strategy host uses this state machine, and the test harness runs that same
//! host, so a strategy sees identical events in tests and in production. Invariants: a `BookChanged` event is yielded only
//! after the whole message has been applied to the replica, so [`crate::Context::book`] matches
//! the event; each `BookDone` is checked against the replica (level count and top of book) and a
//! disagreement turns the book stale ([`StaleReason::ReplicaDiverged`]) until the next snapshot;
//! a book is live exactly when the engine said so (`BookLive` after a snapshot, no `BookStale`
//! since) and the replica has not diverged. It never allocates after [`WireAssembler::new`] and
//! never panics on any wire sequence.

use crate::book_view::BookView;
use crate::event::{BookChange, BookStale, Event, EventKind, StaleReason};
use crate::fixed::{Price, Qty};
use crate::side::BookSide;
use crate::symbol::SymbolId;
use crate::wire::{WireEvent, WireKind};

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
}

impl WireAssembler {
    /// An assembler for `symbols` books (ids `0..symbols`), all initially not live.
    pub fn new(symbols: usize) -> WireAssembler {
        WireAssembler {
            states: vec![SymbolState::default(); symbols],
            faults: 0,
        }
    }

    /// Faults seen so far (divergences and unknown symbols).
    pub fn faults(&self) -> u64 {
        self.faults
    }

    /// Applies `wire` to `books` (indexed by symbol id) and says what to deliver.
    pub fn apply<B: ReplicaBook>(&mut self, books: &mut [B], wire: &WireEvent) -> Assembled {
        let event = |kind| Assembled::Deliver(Event::new(wire.recv_tsc, wire.publish_tsc, kind));
        let symbol = match wire.kind {
            WireKind::BookSnapshot(s) => s.symbol,
            WireKind::BookLevels(b) => b.symbol,
            WireKind::BookDone(c) => c.symbol,
            WireKind::BookStale(s) => s.symbol,
            WireKind::BookLive(s) => s,
            WireKind::Trade(t) => return event(EventKind::Trade(t)),
            WireKind::Ticker(t) => return event(EventKind::Ticker(t)),
            WireKind::Connection(c) => return event(EventKind::Connection(c)),
            WireKind::Order(o) => return event(EventKind::Order(o)),
        };
        let (Some(state), Some(book)) = (
            self.states.get_mut(symbol.index()),
            books.get_mut(symbol.index()),
        ) else {
            self.faults += 1;
            return Assembled::Rejected(AssemblyFault::UnknownSymbol(symbol));
        };
        match wire.kind {
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
                } else if !top_matches(&*book, &change) {
                    Some(AssemblyFault::TopOfBook(symbol))
                } else {
                    None
                };
                match fault {
                    None => {
                        // A snapshot after a divergence makes the replica trustworthy again.
                        book.set_live(state.engine_live);
                        event(EventKind::BookChanged(change))
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
                                wire.recv_tsc,
                                wire.publish_tsc,
                                EventKind::BookStale(stale),
                            ),
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
            | WireKind::Order(_) => Assembled::Absorbed,
        }
    }
}

fn top_matches<B: BookView + ?Sized>(book: &B, change: &BookChange) -> bool {
    book.best_bid() == change.best_bid() && book.best_ask() == change.best_ask()
}
