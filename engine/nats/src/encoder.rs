//! [`Encoder`]: turns the wire events of the bridge's tap lane into NATS messages. It rebuilds
//! every book with the strategy host's own machinery ([`WireAssembler`] over a kspin-core
//! [`OrderBook`] per symbol), so a message is only produced for a book state the engine
//! verified and the assembler checked against the engine's top of book; the Kraken checksum it
//! carries is that book's.
//!
//! Also encodes the run's fills and order updates ([`Encoder::on_order`], from the tap's order
//! ring), numbered in each symbol's order sequence, each fill with its identity.
//!
//! Owns the per-symbol replicas, the per-symbol sequences, the snapshot debts (a symbol whose
//! message could not be delivered owes a fresh snapshot before its next update) and the fill
//! count of each open order. Invariants:
//! sequences increase by exactly one per message of a symbol; an update is never encoded for a
//! symbol that owes a snapshot; nothing here does I/O (the [`crate::bridge`] thread does).

use kspin_api::replica::{Assembled, ReplicaBook, WireAssembler};
use kspin_api::wire::{SnapshotReason, WireEvent, WireKind};
use kspin_api::{
    BookSide, BookView, EventKind, Link, LinkState, Price, Qty, Side, StaleReason, SymbolId,
    SymbolInfo, SystemStatus,
};
use kspin_core::book::{OrderBook, SideKind};

use std::collections::HashMap;

use kspin_api::{OrderStatus, TradeOrderType};
use kspin_host::TapOrder;

use crate::verify::FILL_IDS_KEPT;

use crate::format::{
    fill_id, message_id, order_message_id, subject, Body, BookBody, ConnectionBody, Kind, Level,
    Message, OrderBody, StatusBody, TickerBody, TradeBody, ENGINE_KEY, FORMAT_VERSION,
};

/// One message ready to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub subject: String,
    /// `Nats-Msg-Id`.
    pub id: String,
    /// Index of the symbol (`None`: connection status), for snapshot debts.
    pub symbol: Option<usize>,
    pub body: Vec<u8>,
    pub snapshot: bool,
}

/// A replica book that also remembers the levels of the message being assembled.
#[derive(Debug, Clone)]
struct TapBook {
    book: OrderBook,
    live: bool,
    levels: Vec<(BookSide, Price, Qty)>,
}

impl BookView for TapBook {
    fn level(&self, side: BookSide, rank: usize) -> Option<(Price, Qty)> {
        match side {
            BookSide::Bid => self.book.bids().level(rank),
            BookSide::Ask => self.book.asks().level(rank),
        }
    }
    fn len(&self, side: BookSide) -> usize {
        match side {
            BookSide::Bid => self.book.bids().len(),
            BookSide::Ask => self.book.asks().len(),
        }
    }
    fn is_live(&self) -> bool {
        self.live
    }
    fn price_scale(&self) -> u8 {
        self.book.price_scale()
    }
    fn qty_scale(&self) -> u8 {
        self.book.qty_scale()
    }
    fn depth(&self) -> usize {
        self.book.depth()
    }
}

impl ReplicaBook for TapBook {
    fn clear(&mut self) {
        self.book.clear();
        self.levels.clear();
    }
    fn apply_level(&mut self, side: BookSide, price: Price, qty: Qty) {
        let kind = match side {
            BookSide::Bid => SideKind::Bid,
            BookSide::Ask => SideKind::Ask,
        };
        // An invalid level is left out; the assembler's top-of-book check catches it.
        let _ = self.book.apply_level(kind, price, qty);
        self.levels.push((side, price, qty));
    }
    fn end_message(&mut self) {
        self.book.truncate_to_depth();
    }
    fn set_live(&mut self, live: bool) {
        self.live = live;
    }
}

/// Per-symbol state of the encoder.
#[derive(Debug, Clone, Default)]
struct SymbolState {
    seq: u64,
    /// The symbol's fills and order updates (their own sequence).
    order_seq: u64,
    /// A snapshot is owed before the next update (a message of this symbol was lost).
    owes_snapshot: bool,
    /// The owed snapshot was asked for by a consumer ([`Encoder::request_snapshot`]).
    requested: bool,
    /// The book was verified at least once (there is something to snapshot).
    has_book: bool,
    /// Why the snapshot being assembled was sent.
    reason: Option<SnapshotReason>,
}

/// Counters of the encoder.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EncoderCounters {
    pub wire_events: u64,
    pub snapshots: u64,
    pub updates: u64,
    pub trades: u64,
    pub tickers: u64,
    pub statuses: u64,
    /// The replica disagreed with the engine (a fresh snapshot was asked for).
    pub diverged: u64,
    /// Fills of the run's orders.
    pub fills: u64,
    /// Other updates of the run's orders.
    pub order_updates: u64,
}

/// See the module docs.
#[derive(Debug)]
pub struct Encoder {
    venue: String,
    epoch: u64,
    symbols: Vec<SymbolInfo>,
    books: Vec<TapBook>,
    states: Vec<SymbolState>,
    engine_seq: u64,
    assembler: WireAssembler,
    /// Converts the engine's TSC stamps to wall-clock ns.
    clock: quanta::Clock,
    anchor_raw: u64,
    anchor_unix_ns: u64,
    counters: EncoderCounters,
    /// Strategy names by bus index (for fills and order updates).
    strategies: Vec<String>,
    /// Fills so far of each open order, by (strategy, client id); an order's entry goes when
    /// its last update does.
    fills_per_order: HashMap<(u16, u64), u32>,
    /// Fill ids encoded, in order (the first [`FILL_IDS_KEPT`]), for the run summary.
    fill_ids: Vec<String>,
}

impl Encoder {
    /// An encoder for `symbols` (the bus's table) publishing under `venue`, run `epoch`.
    pub fn new(venue: &str, epoch: u64, symbols: &[SymbolInfo], clock: quanta::Clock) -> Encoder {
        let books = symbols
            .iter()
            .map(|s| TapBook {
                book: OrderBook::new(usize::from(s.depth), s.price_scale, s.qty_scale),
                live: false,
                levels: Vec::with_capacity(2 * usize::from(s.depth) + 16),
            })
            .collect();
        let anchor_raw = clock.raw();
        Encoder {
            venue: venue.to_owned(),
            epoch,
            symbols: symbols.to_vec(),
            books,
            states: vec![SymbolState::default(); symbols.len()],
            engine_seq: 0,
            assembler: WireAssembler::new(symbols.len()),
            clock,
            anchor_raw,
            anchor_unix_ns: unix_ns(),
            counters: EncoderCounters::default(),
            strategies: Vec::new(),
            fills_per_order: HashMap::new(),
            fill_ids: Vec::new(),
        }
    }

    /// The fill ids encoded so far, in order (the first [`FILL_IDS_KEPT`]), taken.
    pub fn take_fill_ids(&mut self) -> Vec<String> {
        core::mem::take(&mut self.fill_ids)
    }

    /// Names the strategies of the bus, by index ([`TapOrder::strategy`]).
    pub fn set_strategies(&mut self, names: Vec<String>) {
        self.strategies = names;
    }

    /// Encodes one order update a strategy received: a `fill` message for a fill (with its
    /// [`fill_id`]), an `order` message otherwise, in the symbol's order sequence.
    pub fn on_order(&mut self, order: &TapOrder, out: &mut Vec<Outgoing>) {
        let u = &order.update;
        let i = u.symbol.index();
        let Some(info) = self.symbols.get(i) else {
            return;
        };
        let strategy = match self.strategies.get(usize::from(order.strategy)) {
            Some(name) if !name.is_empty() => name.clone(),
            _ => format!("strategy{}", order.strategy),
        };
        let key = (order.strategy, u.client_id.0);
        let (kind, status, reason, fill) = match u.status {
            OrderStatus::Filled => {
                let n = self.fills_per_order.entry(key).or_insert(0);
                *n += 1;
                let id = fill_id(&strategy, key.1, *n);
                if self.fill_ids.len() < FILL_IDS_KEPT {
                    self.fill_ids.push(id.clone());
                }
                (Kind::Fill, "filled", None, Some(id))
            }
            OrderStatus::Accepted => (Kind::Order, "accepted", None, None),
            OrderStatus::Rejected(r) => (Kind::Order, "rejected", Some(r.name()), None),
            OrderStatus::Cancelled => (Kind::Order, "cancelled", None, None),
            OrderStatus::Amended => (Kind::Order, "amended", None, None),
            OrderStatus::AmendRejected(r) => (Kind::Order, "amend_rejected", Some(r.name()), None),
            OrderStatus::CancelRejected(r) => {
                (Kind::Order, "cancel_rejected", Some(r.name()), None)
            }
        };
        if u.is_final() {
            self.fills_per_order.remove(&key);
        }
        match kind {
            Kind::Fill => self.counters.fills += 1,
            _ => self.counters.order_updates += 1,
        }
        let body = Body::Order(OrderBody {
            strategy,
            client_id: key.1,
            status: status.into(),
            reason: reason.map(str::to_owned),
            fill_id: fill,
            price: u.fill_price.0,
            qty: u.fill_qty.0,
            remaining: u.remaining.0,
            fee: u.fee.mantissa,
            fee_scale: u.fee.scale,
            price_scale: info.price_scale,
            qty_scale: info.qty_scale,
        });
        self.states[i].order_seq += 1;
        let seq = self.states[i].order_seq;
        let name = info.name.as_str();
        let message = Message {
            v: FORMAT_VERSION,
            kind,
            symbol: name.to_owned(),
            epoch: self.epoch,
            seq,
            read_ns: self.wall_ns(order.recv_tsc),
            time_ns: order.time_ns,
            body,
        };
        out.push(Outgoing {
            subject: subject(&self.venue, kind, name),
            id: order_message_id(&self.venue, name, self.epoch, seq),
            // Not a book's message: a lost one owes no snapshot.
            symbol: None,
            body: message.to_bytes(),
            snapshot: false,
        });
    }

    pub fn counters(&self) -> EncoderCounters {
        self.counters
    }

    /// The verified book of `symbol` (tests compare it with the mirror's).
    pub fn book(&self, symbol: usize) -> Option<&OrderBook> {
        self.books.get(symbol).map(|b| &b.book)
    }

    /// Wall-clock ns of a quanta raw stamp.
    fn wall_ns(&self, raw: u64) -> u64 {
        if raw >= self.anchor_raw {
            self.anchor_unix_ns + self.clock.delta_as_nanos(self.anchor_raw, raw)
        } else {
            self.anchor_unix_ns
                .saturating_sub(self.clock.delta_as_nanos(raw, self.anchor_raw))
        }
    }

    /// A message of `symbol` lost: its next message is a snapshot of the current book.
    pub fn owe_snapshot(&mut self, symbol: usize) {
        if let Some(s) = self.states.get_mut(symbol) {
            s.owes_snapshot = true;
        }
    }

    /// A consumer asked for a snapshot of the symbol named `name` (after a gap, or to start):
    /// its next message is one (reason `requested`). `false` when this encoder does not carry
    /// that symbol (another shard's, or unknown).
    pub fn request_snapshot(&mut self, name: &str) -> bool {
        let Some(i) = self.symbols.iter().position(|s| s.name == name) else {
            return false;
        };
        let state = &mut self.states[i];
        state.owes_snapshot = true;
        state.requested = true;
        true
    }

    /// Every symbol with a verified book owes a snapshot (periodic snapshots for late joiners
    /// and for consumers healing a gap).
    pub fn owe_all_snapshots(&mut self) {
        for s in &mut self.states {
            s.owes_snapshot |= s.has_book;
        }
    }

    /// Snapshots owed by symbols whose replica is verified and live, encoded now (reason
    /// `recovery` or `periodic`, or `requested` when a consumer asked for it).
    pub fn pay_snapshot_debts(&mut self, reason: &str, now_raw: u64, out: &mut Vec<Outgoing>) {
        for i in 0..self.states.len() {
            let state = &self.states[i];
            if state.owes_snapshot && state.has_book && self.books[i].live {
                let reason = if state.requested { "requested" } else { reason };
                self.states[i].owes_snapshot = false;
                self.states[i].requested = false;
                let read_ns = self.wall_ns(now_raw);
                out.push(self.snapshot_message(i, reason, read_ns, self.assembler.market_ns()));
            }
        }
    }

    /// Applies one wire event; pushes the messages it amounts to onto `out`. Returns the
    /// symbol whose replica diverged (the caller asks the engine for a fresh snapshot).
    pub fn on_wire(&mut self, wire: &WireEvent, out: &mut Vec<Outgoing>) -> Option<SymbolId> {
        self.counters.wire_events += 1;
        if let WireKind::BookSnapshot(start) = wire.kind() {
            if let Some(s) = self.states.get_mut(start.symbol.index()) {
                s.reason = Some(start.reason);
            }
        }
        let read_ns = self.wall_ns(wire.recv_tsc());
        match self.assembler.apply(&mut self.books, wire) {
            Assembled::Absorbed | Assembled::Rejected(_) => None,
            Assembled::Diverged { event, .. } => {
                self.counters.diverged += 1;
                let symbol = event.kind.symbol()?;
                let i = symbol.index();
                if let Some(b) = self.books.get_mut(i) {
                    b.levels.clear();
                }
                if let Some(s) = self.states.get_mut(i) {
                    s.owes_snapshot = true;
                }
                out.push(self.status_message(
                    i,
                    false,
                    Some(StaleReason::ReplicaDiverged),
                    read_ns,
                    event.time_ns,
                ));
                Some(symbol)
            }
            Assembled::Deliver(event) => {
                let time_ns = event.time_ns;
                match event.kind {
                    EventKind::BookChanged(change) => {
                        let i = change.symbol.index();
                        if i >= self.states.len() {
                            return None;
                        }
                        let state = &mut self.states[i];
                        state.has_book = true;
                        let reason = state.reason.take();
                        if change.snapshot || state.owes_snapshot {
                            state.owes_snapshot = false;
                            let requested = core::mem::take(&mut state.requested);
                            let why = match (change.snapshot, reason) {
                                (false, _) if requested => "requested",
                                (false, _) => "recovery",
                                (true, Some(SnapshotReason::Initial)) => "initial",
                                (true, Some(SnapshotReason::Resync)) => "resync",
                                (true, _) => "catch_up",
                            };
                            out.push(self.snapshot_message(i, why, read_ns, time_ns));
                        } else {
                            out.push(self.update_message(i, read_ns, time_ns));
                        }
                        self.books[i].levels.clear();
                    }
                    EventKind::Trade(t) => {
                        let i = t.symbol.index();
                        let info = self.symbols.get(i)?;
                        self.counters.trades += 1;
                        let body = Body::Trade(TradeBody {
                            side: match t.side {
                                Side::Buy => "buy",
                                Side::Sell => "sell",
                            }
                            .into(),
                            price: t.price.0,
                            qty: t.qty.0,
                            trade_id: t.trade_id,
                            price_scale: info.price_scale,
                            qty_scale: info.qty_scale,
                            ord_type: Some(
                                match t.ord_type {
                                    TradeOrderType::Market => "market",
                                    TradeOrderType::Limit => "limit",
                                }
                                .into(),
                            ),
                        });
                        out.push(self.message(Some(i), Kind::Trade, read_ns, time_ns, body));
                    }
                    EventKind::Ticker(t) => {
                        let i = t.symbol.index();
                        let info = self.symbols.get(i)?;
                        self.counters.tickers += 1;
                        let body = Body::Ticker(TickerBody {
                            bid: t.bid.0,
                            ask: t.ask.0,
                            last: t.last.0,
                            volume: t.volume.0,
                            price_scale: info.price_scale,
                            qty_scale: info.qty_scale,
                        });
                        out.push(self.message(Some(i), Kind::Ticker, read_ns, time_ns, body));
                    }
                    EventKind::BookStale(s) if s.symbol.index() < self.states.len() => {
                        let m = self.status_message(
                            s.symbol.index(),
                            false,
                            Some(s.reason),
                            read_ns,
                            time_ns,
                        );
                        out.push(m);
                    }
                    EventKind::BookLive(s) if s.index() < self.states.len() => {
                        out.push(self.status_message(s.index(), true, None, read_ns, time_ns));
                    }
                    EventKind::Connection(c) => {
                        let body = Body::Connection(ConnectionBody {
                            link: match c.link {
                                Link::Public => "public",
                                Link::Private => "private",
                            }
                            .into(),
                            connected: c.state == LinkState::Connected,
                            system: match c.system {
                                SystemStatus::Online => "online",
                                SystemStatus::Maintenance => "maintenance",
                                SystemStatus::CancelOnly => "cancel_only",
                                SystemStatus::PostOnly => "post_only",
                                SystemStatus::Unknown => "unknown",
                            }
                            .into(),
                        });
                        out.push(self.message(None, Kind::Connection, read_ns, time_ns, body));
                    }
                    EventKind::BookStale(_)
                    | EventKind::BookLive(_)
                    | EventKind::Timer(_)
                    | EventKind::Order(_) => {}
                }
                None
            }
        }
    }

    fn status_message(
        &mut self,
        i: usize,
        live: bool,
        reason: Option<StaleReason>,
        read_ns: u64,
        time_ns: u64,
    ) -> Outgoing {
        self.counters.statuses += 1;
        let body = Body::Status(StatusBody {
            live,
            stale_reason: reason.map(|r| {
                match r {
                    StaleReason::ChecksumMismatch => "checksum_mismatch",
                    StaleReason::Disconnected => "disconnected",
                    StaleReason::Unsubscribed => "unsubscribed",
                    StaleReason::ReplicaDiverged => "replica_diverged",
                    StaleReason::PrecisionChanged => "precision_changed",
                }
                .into()
            }),
        });
        self.message(Some(i), Kind::Status, read_ns, time_ns, body)
    }

    fn snapshot_message(&mut self, i: usize, reason: &str, read_ns: u64, time_ns: u64) -> Outgoing {
        self.counters.snapshots += 1;
        let book = &self.books[i].book;
        let side = |it: &mut dyn Iterator<Item = (Price, Qty)>| -> Vec<Level> {
            it.map(|(p, q)| [p.0, q.0]).collect()
        };
        let body = Body::Book(BookBody {
            snapshot: true,
            depth: self.symbols[i].depth,
            price_scale: book.price_scale(),
            qty_scale: book.qty_scale(),
            bids: side(&mut book.bids().iter()),
            asks: side(&mut book.asks().iter()),
            checksum: book.checksum_uncached(),
            reason: Some(reason.into()),
        });
        let mut m = self.message(Some(i), Kind::Book, read_ns, time_ns, body);
        m.snapshot = true;
        m
    }

    fn update_message(&mut self, i: usize, read_ns: u64, time_ns: u64) -> Outgoing {
        self.counters.updates += 1;
        let tap = &self.books[i];
        let pick = |want: BookSide| -> Vec<Level> {
            tap.levels
                .iter()
                .filter(|(s, _, _)| *s == want)
                .map(|(_, p, q)| [p.0, q.0])
                .collect()
        };
        let body = Body::Book(BookBody {
            snapshot: false,
            depth: self.symbols[i].depth,
            price_scale: tap.book.price_scale(),
            qty_scale: tap.book.qty_scale(),
            bids: pick(BookSide::Bid),
            asks: pick(BookSide::Ask),
            checksum: tap.book.checksum_uncached(),
            reason: None,
        });
        self.message(Some(i), Kind::Book, read_ns, time_ns, body)
    }

    /// Numbers and encodes one message of symbol `i` (`None`: the engine's own sequence).
    fn message(
        &mut self,
        i: Option<usize>,
        kind: Kind,
        read_ns: u64,
        time_ns: u64,
        body: Body,
    ) -> Outgoing {
        let (name, seq) = match i {
            Some(i) => {
                self.states[i].seq += 1;
                (self.symbols[i].name.as_str(), self.states[i].seq)
            }
            None => {
                self.engine_seq += 1;
                (ENGINE_KEY, self.engine_seq)
            }
        };
        let message = Message {
            v: FORMAT_VERSION,
            kind,
            symbol: name.to_owned(),
            epoch: self.epoch,
            seq,
            read_ns,
            time_ns,
            body,
        };
        Outgoing {
            subject: subject(&self.venue, kind, name),
            id: message_id(&self.venue, name, self.epoch, seq),
            symbol: i,
            body: message.to_bytes(),
            snapshot: false,
        }
    }
}

/// Wall-clock ns since the Unix epoch (0 if the clock is before it).
pub fn unix_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

#[cfg(test)]
mod tests;
