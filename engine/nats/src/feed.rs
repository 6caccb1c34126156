//! [`MirrorFeed`]: local strategies fed by a mirror, through the same bus and host threads as
//! `kspin run`. Every book state the [`Verifier`] rebuilt and verified is handed to the bus
//! ([`Bus::verified_book`]) as the engine's feed hands its own, so a strategy sees the same
//! events: a snapshot, then deltas, trades and tickers, `BookStale` when the book cannot be
//! trusted (the engine said so, a gap, a checksum mismatch) and `BookLive` after the snapshot
//! that heals it. Its orders are answered by the bus's paper model against the mirrored books.
//!
//! The strategies' symbol table (scales, depth) comes from the stream: the bus is built
//! (`build`, which also starts the strategy threads) once every symbol asked for has a verified
//! book, and each book is then handed as its first snapshot. Periodic snapshots of a book the
//! mirror already trusted change nothing and are not handed on; any other snapshot is.
//!
//! Owns the bus, the symbol map and what strategies were last told per symbol. Runs on the
//! mirror's thread; allocates only while building and for the levels scratch.

use kspin_api::{
    ConnectionStatus, Link, LinkState, Price, Qty, Side, StaleReason, SymbolId, SymbolInfo,
    SystemStatus, Ticker, Trade, TradeOrderType,
};
use kspin_core::book::{FixedLevel, OrderBook, SideKind};
use kspin_host::{BookSource, Bus};

use crate::format::{Body, Message, ENGINE_KEY};
use crate::verify::{Broke, Outcome, Verifier};

/// Builds the bus with its strategies (and starts their threads) for the symbol table.
pub type BuildBus<'a> = Box<dyn FnMut(&[SymbolInfo]) -> Result<Bus, String> + 'a>;

/// What the feed did, for the mirror's report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FeedCounters {
    /// Messages taken before every symbol had a book (the strategies had not started).
    pub before_start: u64,
    pub snapshots: u64,
    pub updates: u64,
    pub trades: u64,
    pub tickers: u64,
    pub stale: u64,
    pub connections: u64,
    /// Periodic snapshots of a trusted book, not handed on.
    pub periodic_skipped: u64,
}

/// See the module docs.
pub struct MirrorFeed<'a> {
    names: Vec<String>,
    build: BuildBus<'a>,
    bus: Option<Bus>,
    /// Strategies were last told the book is live (a snapshot handed, no stale since).
    told_live: Vec<bool>,
    levels: Vec<FixedLevel>,
    error: Option<String>,
    counters: FeedCounters,
}

impl std::fmt::Debug for MirrorFeed<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MirrorFeed")
            .field("symbols", &self.names)
            .field("started", &self.bus.is_some())
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

/// The mirror's books, by the bus's symbol index.
struct Books<'v> {
    verifier: &'v Verifier,
    names: &'v [String],
}

impl BookSource for Books<'_> {
    fn current_book(&self, symbol: usize) -> Option<(&OrderBook, bool)> {
        let name = self.names.get(symbol)?;
        let book = self.verifier.book(name)?;
        Some((book, self.verifier.synced(name)))
    }
}

impl<'a> MirrorFeed<'a> {
    /// A feed for `symbols` (the bus's order) that builds its bus with `build`.
    pub fn new(symbols: Vec<String>, build: BuildBus<'a>) -> MirrorFeed<'a> {
        let n = symbols.len();
        MirrorFeed {
            names: symbols,
            build,
            bus: None,
            told_live: vec![false; n],
            levels: Vec::with_capacity(1024),
            error: None,
            counters: FeedCounters::default(),
        }
    }

    pub fn counters(&self) -> FeedCounters {
        self.counters
    }

    /// The bus, once the strategies started.
    pub fn bus(&self) -> Option<&Bus> {
        self.bus.as_ref()
    }

    /// The bus (for the strategies' figures at the end), once the strategies started.
    pub fn into_bus(self) -> Option<Bus> {
        self.bus
    }

    /// Why the strategies could not be started (the mirror stops).
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// Hands what message `m` did (`outcome`, from the verifier that took it) to the
    /// strategies.
    pub fn on_message(&mut self, verifier: &Verifier, m: &Message, outcome: Outcome) {
        if self.bus.is_none() {
            // Started: the books as they are now (this message included) were just handed.
            if !self.start(verifier) {
                self.counters.before_start += 1;
            }
            return;
        }
        if m.symbol == ENGINE_KEY {
            self.connection(m);
            return;
        }
        let Some(i) = self.names.iter().position(|n| *n == m.symbol) else {
            return;
        };
        if !outcome.taken {
            return;
        }
        if let Some(broke) = outcome.broke {
            let reason = match broke {
                Broke::Gap => StaleReason::Disconnected,
                Broke::Mismatch => StaleReason::ChecksumMismatch,
            };
            self.stale(i, reason);
        }
        if let Body::Status(s) = &m.body {
            if !s.live {
                let reason = match s.stale_reason.as_deref() {
                    Some("checksum_mismatch") => StaleReason::ChecksumMismatch,
                    Some("unsubscribed") => StaleReason::Unsubscribed,
                    Some("replica_diverged") => StaleReason::ReplicaDiverged,
                    Some("precision_changed") => StaleReason::PrecisionChanged,
                    _ => StaleReason::Disconnected,
                };
                self.stale(i, reason);
            }
        }
        let Some(bus) = self.bus.as_mut() else {
            return;
        };
        let id = SymbolId(i as u16);
        match &m.body {
            Body::Book(b) => {
                let Some(was_trusted) = outcome.verified else {
                    return;
                };
                let Some(book) = verifier.book(&m.symbol) else {
                    return;
                };
                if b.snapshot {
                    let periodic = b.reason.as_deref() == Some("periodic");
                    if periodic && was_trusted && self.told_live[i] {
                        self.counters.periodic_skipped += 1;
                        return;
                    }
                    if !self.told_live[i] {
                        bus.verified_live(i);
                        self.told_live[i] = true;
                    }
                    self.counters.snapshots += 1;
                    bus.verified_book(i, book, &[], true, m.time_ns);
                } else if self.told_live[i] {
                    self.levels.clear();
                    for (side, levels) in [(SideKind::Bid, &b.bids), (SideKind::Ask, &b.asks)] {
                        self.levels.extend(levels.iter().map(|&[p, q]| FixedLevel {
                            side,
                            price: Price(p),
                            qty: Qty(q),
                        }));
                    }
                    self.counters.updates += 1;
                    bus.verified_book(i, book, &self.levels, false, m.time_ns);
                }
            }
            Body::Trade(t) => {
                self.counters.trades += 1;
                bus.verified_trade(Trade {
                    symbol: id,
                    side: if t.side == "sell" {
                        Side::Sell
                    } else {
                        Side::Buy
                    },
                    ord_type: if t.ord_type.as_deref() == Some("market") {
                        TradeOrderType::Market
                    } else {
                        TradeOrderType::Limit
                    },
                    price: Price(t.price),
                    qty: Qty(t.qty),
                    trade_id: t.trade_id,
                    time_ns: m.time_ns,
                });
            }
            Body::Ticker(t) => {
                self.counters.tickers += 1;
                let ticker = Ticker {
                    symbol: id,
                    bid: Price(t.bid),
                    ask: Price(t.ask),
                    last: Price(t.last),
                    volume: Qty(t.volume),
                };
                bus.verified_ticker(ticker, m.time_ns);
            }
            // Stale: told above. Live again: the snapshot before it was handed with `BookLive`.
            Body::Status(_) | Body::Connection(_) | Body::Order(_) => {}
        }
        let books = Books {
            verifier,
            names: &self.names,
        };
        bus.drain_intents(&books);
        bus.service(&books);
    }

    /// The bus's turn without a message: strategies' orders answered, lagging lanes caught up.
    pub fn poll(&mut self, verifier: &Verifier) {
        if let Some(bus) = self.bus.as_mut() {
            let books = Books {
                verifier,
                names: &self.names,
            };
            bus.drain_intents(&books);
            bus.service(&books);
        }
    }

    /// Whether some lane still waits for catch-up or answers.
    pub fn needs_service(&self) -> bool {
        self.bus.as_ref().is_some_and(Bus::needs_service)
    }

    fn stale(&mut self, i: usize, reason: StaleReason) {
        if let (Some(bus), Some(told)) = (self.bus.as_mut(), self.told_live.get_mut(i)) {
            if *told {
                *told = false;
                self.counters.stale += 1;
                bus.verified_stale(i, reason);
            }
        }
    }

    fn connection(&mut self, m: &Message) {
        let (Some(bus), Body::Connection(c)) = (self.bus.as_mut(), &m.body) else {
            return;
        };
        self.counters.connections += 1;
        bus.publish_connection(ConnectionStatus {
            link: if c.link == "private" {
                Link::Private
            } else {
                Link::Public
            },
            state: if c.connected {
                LinkState::Connected
            } else {
                LinkState::Disconnected
            },
            system: match c.system.as_str() {
                "online" => SystemStatus::Online,
                "maintenance" => SystemStatus::Maintenance,
                "cancel_only" => SystemStatus::CancelOnly,
                "post_only" => SystemStatus::PostOnly,
                _ => SystemStatus::Unknown,
            },
        });
    }

    /// Builds the bus once every symbol has a verified book, and hands each as its first
    /// snapshot. Returns whether the bus runs.
    fn start(&mut self, verifier: &Verifier) -> bool {
        if self.error.is_some() || !self.names.iter().all(|n| verifier.synced(n)) {
            return false;
        }
        let mut infos = Vec::with_capacity(self.names.len());
        for (i, name) in self.names.iter().enumerate() {
            let Some(book) = verifier.book(name) else {
                return false;
            };
            let depth = u16::try_from(book.depth()).unwrap_or(u16::MAX);
            infos.push(SymbolInfo::new(
                i as u16,
                name,
                book.price_scale(),
                book.qty_scale(),
                depth,
            ));
        }
        match (self.build)(&infos) {
            Ok(mut bus) => {
                for (i, name) in self.names.iter().enumerate() {
                    if let Some(book) = verifier.book(name) {
                        bus.verified_live(i);
                        bus.verified_book(i, book, &[], true, 0);
                        self.told_live[i] = true;
                        self.counters.snapshots += 1;
                    }
                }
                self.bus = Some(bus);
                true
            }
            Err(e) => {
                self.error = Some(e);
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;

    use super::*;
    use crate::format::{BookBody, Kind, StatusBody, TradeBody, FORMAT_VERSION};
    use kspin_api::wire::{WireEvent, WireKind};
    use kspin_host::TapEnds;

    /// A message of `X/Y` numbered `seq`.
    fn msg(seq: u64, kind: Kind, body: Body) -> Message {
        Message {
            v: FORMAT_VERSION,
            kind,
            symbol: "X/Y".into(),
            epoch: 1,
            seq,
            read_ns: 0,
            time_ns: 0,
            body,
        }
    }

    /// A book message that leaves `book` with `levels` applied, carrying its checksum.
    fn book(
        book: &mut OrderBook,
        seq: u64,
        snapshot: bool,
        reason: &str,
        bids: Vec<[i64; 2]>,
    ) -> Message {
        if snapshot {
            book.clear();
        }
        for &[p, q] in &bids {
            let _ = book.apply_level(SideKind::Bid, Price(p), Qty(q));
        }
        let body = Body::Book(BookBody {
            snapshot,
            depth: 10,
            price_scale: 1,
            qty_scale: 2,
            bids,
            asks: vec![],
            checksum: book.checksum_uncached(),
            reason: snapshot.then(|| reason.to_owned()),
        });
        msg(seq, Kind::Book, body)
    }

    fn names(events: &mut kspin_ring::Consumer<WireEvent>) -> Vec<&'static str> {
        let mut out = Vec::new();
        while let Some(e) = events.try_pop() {
            out.push(match e.kind() {
                WireKind::BookSnapshot(_) => "snapshot",
                WireKind::BookLevels(_) => "levels",
                WireKind::BookDone(_) => "done",
                WireKind::BookLive(_) => "live",
                WireKind::BookStale(_) => "stale",
                WireKind::Trade(_) => "trade",
                _ => "other",
            });
        }
        out
    }

    /// The strategies get what `kspin run` would give them: nothing before a verified book,
    /// then the snapshot with `BookLive`, deltas, `BookStale` at a gap, a healing snapshot
    /// with `BookLive`, trades; periodic snapshots of a trusted book are not handed on.
    #[test]
    fn verified_states_reach_the_bus_as_the_feed_would_hand_them() {
        let tap: Rc<RefCell<Option<TapEnds>>> = Rc::default();
        let slot = Rc::clone(&tap);
        let build = move |symbols: &[SymbolInfo]| {
            assert_eq!((symbols[0].price_scale, symbols[0].qty_scale), (1, 2));
            let mut bus = Bus::new(symbols);
            *slot.borrow_mut() = Some(bus.add_tap("probe", 64).map_err(|e| e.to_string())?);
            Ok(bus)
        };
        let mut feed = MirrorFeed::new(vec!["X/Y".into()], Box::new(build));
        let mut verifier = Verifier::new();
        let mut engine = OrderBook::new(10, 1, 2);
        let status = msg(
            1,
            Kind::Status,
            Body::Status(StatusBody {
                live: true,
                stale_reason: None,
            }),
        );
        let trade = msg(
            9,
            Kind::Trade,
            Body::Trade(TradeBody {
                side: "sell".into(),
                price: 100,
                qty: 1,
                trade_id: 3,
                price_scale: 1,
                qty_scale: 2,
                ord_type: None,
            }),
        );
        let mut steps = vec![status];
        steps.push(book(&mut engine, 2, true, "initial", vec![[100, 5]]));
        steps.push(book(&mut engine, 3, false, "", vec![[99, 1]]));
        steps.push(book(
            &mut engine,
            4,
            true,
            "periodic",
            vec![[100, 5], [99, 1]],
        ));
        // 5 is lost; 6 is skipped, 7 heals.
        let _lost = book(&mut engine, 5, false, "", vec![[98, 2]]);
        steps.push(book(&mut engine, 6, false, "", vec![[97, 2]]));
        steps.push(book(
            &mut engine,
            7,
            true,
            "periodic",
            vec![[100, 5], [99, 1], [98, 2], [97, 2]],
        ));
        steps.push(book(&mut engine, 8, false, "", vec![[100, 0]]));
        steps.push(trade);
        let mut seen = Vec::new();
        for m in &steps {
            let outcome = verifier.on_message(m, 0);
            feed.on_message(&verifier, m, outcome);
            let mut t = tap.borrow_mut();
            if let Some(t) = t.as_mut() {
                seen.push(names(&mut t.events));
            } else {
                seen.push(vec![]);
            }
        }
        assert_eq!(
            seen,
            [
                vec![],
                vec!["snapshot", "levels", "done", "live"],
                vec!["levels", "done"],
                vec![],
                vec!["stale"],
                // Four levels: two batches.
                vec!["snapshot", "levels", "levels", "done", "live"],
                vec!["levels", "done"],
                vec!["trade"],
            ]
        );
        let c = feed.counters();
        assert_eq!(
            (
                c.before_start,
                c.snapshots,
                c.updates,
                c.periodic_skipped,
                c.stale,
                c.trades
            ),
            (1, 2, 2, 1, 1, 1)
        );
        assert_eq!(
            verifier.book("X/Y").map(OrderBook::checksum_uncached),
            Some(engine.checksum_uncached())
        );
    }
}
