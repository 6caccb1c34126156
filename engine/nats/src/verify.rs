//! [`Verifier`]: the mirror's books. Rebuilds each symbol's book from the bridge's messages with
//! kspin-core's own [`OrderBook`] (same apply and truncate rules as the engine), checks every
//! book message's Kraken checksum against the rebuilt book, and follows each symbol's sequence.
//!
//! Per symbol: a message numbered below the next expected one is a duplicate (dropped, counted);
//! one numbered above it is a *gap*: the book is untrusted until the next snapshot, which
//! *heals* it; a checksum mismatch also untrusts the book until a snapshot. Updates that arrive
//! while the book is untrusted are skipped (counted). A new bridge run (new `epoch`) restarts the
//! sequence. Fills and order updates follow their own per-symbol sequence (duplicates dropped,
//! gaps counted); the identities of the fills taken are kept (up to [`FILL_IDS_KEPT`]).
//! [`Verifier::on_message`] says what a message did ([`Outcome`]), so that a
//! [`crate::feed::MirrorFeed`] hands strategies exactly the verified book states. Owns no I/O;
//! the [`crate::mirror`] loop feeds it.

use std::collections::BTreeMap;

use kspin_api::{Price, Qty};
use kspin_core::book::{OrderBook, SideKind};
use serde_json::{json, Value};

use crate::format::{Body, BookBody, Kind, Message};

/// Fill identities kept for the report (a long mirror run keeps the first ones).
pub const FILL_IDS_KEPT: usize = 100_000;

/// Why a trusted book stopped being trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Broke {
    /// Messages of the symbol are missing.
    Gap,
    /// A book message's checksum did not match the rebuilt book.
    Mismatch,
}

/// What one message did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Outcome {
    /// Taken in its symbol's market-data sequence (not a duplicate, not a fill or order update).
    pub taken: bool,
    /// The book was trusted before the message and is not after it.
    pub broke: Option<Broke>,
    /// A book message was applied and its checksum verified; the value says whether the book
    /// was trusted just before it (after any gap this message revealed).
    pub verified: Option<bool>,
}

/// Fills and order updates of one symbol.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OrderFigures {
    pub messages: u64,
    pub fills: u64,
    pub updates: u64,
    pub gaps: u64,
    pub duplicates: u64,
}

#[derive(Debug, Default)]
struct OrderStream {
    epoch: u64,
    next_seq: u64,
    figures: OrderFigures,
}

/// Figures of one symbol.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SymbolFigures {
    pub messages: u64,
    pub checksum_ok: u64,
    pub checksum_mismatch: u64,
    pub gaps: u64,
    /// Snapshots applied (each verified like an update).
    pub snapshots: u64,
    /// Gaps (and mismatches) after which a snapshot made the book trustworthy again.
    pub healed: u64,
    pub duplicates: u64,
    /// Book updates skipped while waiting for a snapshot.
    pub skipped: u64,
    pub trades: u64,
    pub tickers: u64,
    pub statuses: u64,
    /// Snapshots this mirror asked the bridge for (its book was not trusted).
    pub snapshot_requests: u64,
}

#[derive(Debug)]
struct SymbolBook {
    epoch: u64,
    next_seq: u64,
    book: Option<OrderBook>,
    /// The book matches the stream (a snapshot applied, no gap or mismatch since).
    synced: bool,
    /// A gap or mismatch waits for its healing snapshot.
    broken: bool,
    figures: SymbolFigures,
}

/// See the module docs.
#[derive(Debug, Default)]
pub struct Verifier {
    symbols: BTreeMap<String, SymbolBook>,
    /// Unique messages taken (duplicates excluded).
    messages: u64,
    duplicates: u64,
    unparsable: u64,
    /// Engine read → taken here, ns (wall clocks of the same host on loopback).
    latency: Option<hdrhistogram::Histogram<u64>>,
    orders: BTreeMap<String, OrderStream>,
    fill_ids: Vec<String>,
}

impl Verifier {
    pub fn new() -> Verifier {
        Verifier {
            latency: hdrhistogram::Histogram::new_with_bounds(1, 60_000_000_000, 3).ok(),
            ..Verifier::default()
        }
    }

    /// A message body that did not parse.
    pub fn unparsable(&mut self) {
        self.unparsable += 1;
    }

    /// Takes one message received at `now_ns` (wall clock).
    pub fn on_message(&mut self, m: &Message, now_ns: u64) -> Outcome {
        if m.kind.is_order() {
            self.on_order(m);
            return Outcome::default();
        }
        let entry = self
            .symbols
            .entry(m.symbol.clone())
            .or_insert_with(|| SymbolBook {
                epoch: m.epoch,
                next_seq: m.seq,
                book: None,
                synced: false,
                broken: false,
                figures: SymbolFigures::default(),
            });
        if entry.epoch != m.epoch {
            // A new bridge run: its sequence starts afresh; wait for its snapshot.
            entry.epoch = m.epoch;
            entry.next_seq = m.seq;
            entry.synced = false;
        }
        if m.seq < entry.next_seq {
            entry.figures.duplicates += 1;
            self.duplicates += 1;
            return Outcome::default();
        }
        let trusted = entry.synced;
        if m.seq > entry.next_seq {
            entry.figures.gaps += 1;
            entry.synced = false;
            entry.broken = true;
        }
        entry.next_seq = m.seq + 1;
        entry.figures.messages += 1;
        self.messages += 1;
        if let Some(h) = self.latency.as_mut() {
            if m.read_ns > 0 && now_ns > m.read_ns {
                let _ = h.record(now_ns - m.read_ns);
            }
        }
        let before = entry.synced;
        let mut verified = None;
        let mut mismatch = false;
        match (&m.kind, &m.body) {
            (Kind::Book, Body::Book(b)) => match apply_book(entry, b) {
                Some(true) => verified = Some(before),
                Some(false) => mismatch = true,
                None => {}
            },
            (Kind::Trade, _) => entry.figures.trades += 1,
            (Kind::Ticker, _) => entry.figures.tickers += 1,
            _ => entry.figures.statuses += 1,
        }
        let broke = (trusted && !entry.synced).then_some(if mismatch {
            Broke::Mismatch
        } else {
            Broke::Gap
        });
        Outcome {
            taken: true,
            broke,
            verified,
        }
    }

    fn on_order(&mut self, m: &Message) {
        let stream = self.orders.entry(m.symbol.clone()).or_default();
        if stream.epoch != m.epoch {
            stream.epoch = m.epoch;
            stream.next_seq = m.seq;
        }
        if m.seq < stream.next_seq {
            stream.figures.duplicates += 1;
            self.duplicates += 1;
            return;
        }
        if m.seq > stream.next_seq {
            stream.figures.gaps += 1;
        }
        stream.next_seq = m.seq + 1;
        stream.figures.messages += 1;
        self.messages += 1;
        match &m.body {
            Body::Order(o) if m.kind == Kind::Fill => {
                stream.figures.fills += 1;
                if let Some(id) = &o.fill_id {
                    if self.fill_ids.len() < FILL_IDS_KEPT {
                        self.fill_ids.push(id.clone());
                    }
                }
            }
            _ => stream.figures.updates += 1,
        }
    }

    /// The mirror asked for a snapshot of `symbol`.
    pub fn snapshot_requested(&mut self, symbol: &str) {
        if let Some(s) = self.symbols.get_mut(symbol) {
            s.figures.snapshot_requests += 1;
        }
    }

    /// Fills and order updates of `symbol`.
    pub fn order_figures(&self, symbol: &str) -> Option<OrderFigures> {
        self.orders.get(symbol).map(|o| o.figures)
    }

    /// Identities of the fills taken, in arrival order (the first [`FILL_IDS_KEPT`]).
    pub fn fill_ids(&self) -> &[String] {
        &self.fill_ids
    }

    /// Whether `symbol`'s book is trusted (a snapshot applied, no gap or mismatch since).
    pub fn synced(&self, symbol: &str) -> bool {
        self.symbols.get(symbol).is_some_and(|s| s.synced)
    }

    /// Unique messages taken.
    pub fn messages(&self) -> u64 {
        self.messages
    }

    /// Figures of `symbol`.
    pub fn figures(&self, symbol: &str) -> Option<SymbolFigures> {
        self.symbols.get(symbol).map(|s| s.figures)
    }

    /// The rebuilt book of `symbol` (when a snapshot arrived).
    pub fn book(&self, symbol: &str) -> Option<&OrderBook> {
        self.symbols.get(symbol).and_then(|s| s.book.as_ref())
    }

    /// The `--json` report: `{messages, duplicates, unparsable, latency_ns, symbols: {SYMBOL:
    /// {checksum_ok, checksum_mismatch, gaps, snapshots, healed, ..., checksum, synced}}}`;
    /// `only` restricts the symbols listed (every symbol seen when empty).
    pub fn report(&self, only: &[String]) -> Value {
        let mut symbols = serde_json::Map::new();
        for (name, s) in &self.symbols {
            if name == crate::format::ENGINE_KEY || (!only.is_empty() && !only.contains(name)) {
                continue;
            }
            let f = s.figures;
            symbols.insert(
                name.clone(),
                json!({
                    "checksum_ok": f.checksum_ok,
                    "checksum_mismatch": f.checksum_mismatch,
                    "gaps": f.gaps,
                    "snapshots": f.snapshots,
                    "healed": f.healed,
                    "duplicates": f.duplicates,
                    "skipped": f.skipped,
                    "messages": f.messages,
                    "trades": f.trades,
                    "tickers": f.tickers,
                    "statuses": f.statuses,
                    "snapshot_requests": f.snapshot_requests,
                    "synced": s.synced,
                    "checksum": s.book.as_ref().map(OrderBook::checksum_uncached),
                }),
            );
        }
        let latency = self.latency.as_ref().filter(|h| !h.is_empty()).map(|h| {
            json!({
                "p50": h.value_at_quantile(0.5),
                "p99": h.value_at_quantile(0.99),
                "p99_9": h.value_at_quantile(0.999),
                "max": h.max(),
                "samples": h.len(),
            })
        });
        let mut orders = serde_json::Map::new();
        let mut total = OrderFigures::default();
        for (name, o) in &self.orders {
            if !only.is_empty() && !only.contains(name) {
                continue;
            }
            let f = o.figures;
            total.messages += f.messages;
            total.fills += f.fills;
            total.updates += f.updates;
            total.gaps += f.gaps;
            total.duplicates += f.duplicates;
            orders.insert(
                name.clone(),
                json!({"messages": f.messages, "fills": f.fills, "updates": f.updates,
                       "gaps": f.gaps, "duplicates": f.duplicates}),
            );
        }
        json!({
            "messages": self.messages,
            "duplicates": self.duplicates,
            "unparsable": self.unparsable,
            "latency_ns": latency,
            "symbols": symbols,
            "orders": {
                "messages": total.messages,
                "fills": total.fills,
                "updates": total.updates,
                "gaps": total.gaps,
                "duplicates": total.duplicates,
                "fill_ids": self.fill_ids,
                "symbols": orders,
            },
        })
    }
}

/// Applies a book message: `Some(true)` verified, `Some(false)` checksum mismatch, `None`
/// skipped (waiting for a snapshot).
fn apply_book(entry: &mut SymbolBook, b: &BookBody) -> Option<bool> {
    if b.snapshot {
        let book = entry.book.get_or_insert_with(|| {
            OrderBook::new(usize::from(b.depth), b.price_scale, b.qty_scale)
        });
        if book.depth() != usize::from(b.depth) {
            *book = OrderBook::new(usize::from(b.depth), b.price_scale, b.qty_scale);
        }
        book.clear();
        book.set_precision(b.price_scale, b.qty_scale);
        apply_levels(book, b);
        entry.figures.snapshots += 1;
        if entry.broken {
            entry.figures.healed += 1;
            entry.broken = false;
        }
        entry.synced = true;
    } else {
        match entry.book.as_mut() {
            Some(book) if entry.synced => apply_levels(book, b),
            _ => {
                entry.figures.skipped += 1;
                return None;
            }
        }
    }
    let book = entry.book.as_ref()?;
    if book.checksum_uncached() == b.checksum {
        entry.figures.checksum_ok += 1;
        Some(true)
    } else {
        entry.figures.checksum_mismatch += 1;
        entry.synced = false;
        entry.broken = true;
        Some(false)
    }
}

fn apply_levels(book: &mut OrderBook, b: &BookBody) {
    for (kind, levels) in [(SideKind::Bid, &b.bids), (SideKind::Ask, &b.asks)] {
        for &[price, qty] in levels.iter() {
            let _ = book.apply_level(kind, Price(price), Qty(qty));
        }
    }
    book.truncate_to_depth();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{StatusBody, FORMAT_VERSION};

    fn book_msg(seq: u64, snapshot: bool, bids: Vec<[i64; 2]>, asks: Vec<[i64; 2]>) -> Message {
        let mut b = OrderBook::new(10, 1, 2);
        for &[p, q] in &bids {
            let _ = b.apply_level(SideKind::Bid, Price(p), Qty(q));
        }
        for &[p, q] in &asks {
            let _ = b.apply_level(SideKind::Ask, Price(p), Qty(q));
        }
        Message {
            v: FORMAT_VERSION,
            kind: Kind::Book,
            symbol: "X/Y".into(),
            epoch: 1,
            seq,
            read_ns: 0,
            time_ns: 0,
            body: Body::Book(BookBody {
                snapshot,
                depth: 10,
                price_scale: 1,
                qty_scale: 2,
                bids,
                asks,
                checksum: b.checksum_uncached(),
                reason: None,
            }),
        }
    }

    fn status(seq: u64) -> Message {
        Message {
            v: FORMAT_VERSION,
            kind: Kind::Status,
            symbol: "X/Y".into(),
            epoch: 1,
            seq,
            read_ns: 0,
            time_ns: 0,
            body: Body::Status(StatusBody {
                live: true,
                stale_reason: None,
            }),
        }
    }

    #[test]
    fn duplicates_gaps_and_healing() {
        let mut v = Verifier::new();
        let snap = book_msg(1, true, vec![[100, 5]], vec![[101, 5]]);
        v.on_message(&snap, 0);
        v.on_message(&status(2), 0);
        v.on_message(&status(2), 0); // duplicate
        v.on_message(&status(4), 0); // gap: 3 lost
                                     // An update while untrusted is skipped even if its checksum would match.
        let mut upd = book_msg(5, false, vec![[100, 5]], vec![[101, 5]]);
        v.on_message(&upd, 0);
        v.on_message(&book_msg(6, true, vec![[100, 7]], vec![[102, 1]]), 0);
        if let Body::Book(b) = &mut upd.body {
            b.bids = vec![[100, 0], [99, 3]];
            let mut book = OrderBook::new(10, 1, 2);
            let _ = book.apply_level(SideKind::Bid, Price(99), Qty(3));
            let _ = book.apply_level(SideKind::Ask, Price(102), Qty(1));
            b.asks = vec![];
            b.checksum = book.checksum_uncached();
        }
        upd.seq = 7;
        v.on_message(&upd, 0);
        let f = v.figures("X/Y").unwrap();
        assert_eq!(
            (
                f.messages,
                f.duplicates,
                f.gaps,
                f.snapshots,
                f.healed,
                f.skipped
            ),
            (6, 1, 1, 2, 1, 1)
        );
        assert_eq!((f.checksum_ok, f.checksum_mismatch), (3, 0));
        assert_eq!(v.book("X/Y").unwrap().best_bid(), Some((Price(99), Qty(3))));
        // A wrong checksum untrusts the book until the next snapshot.
        let mut bad = book_msg(8, false, vec![[98, 1]], vec![]);
        if let Body::Book(b) = &mut bad.body {
            b.checksum ^= 1;
        }
        v.on_message(&bad, 0);
        v.on_message(&book_msg(9, false, vec![[97, 1]], vec![]), 0);
        let f = v.figures("X/Y").unwrap();
        assert_eq!((f.checksum_mismatch, f.skipped), (1, 2));
        let r = v.report(&[]);
        assert_eq!(r["messages"], 8);
        assert_eq!(r["symbols"]["X/Y"]["gaps"], 1);
        assert_eq!(r["symbols"]["X/Y"]["synced"], false);
    }

    #[test]
    fn a_new_epoch_restarts_the_sequence() {
        let mut v = Verifier::new();
        v.on_message(&book_msg(5, true, vec![[100, 5]], vec![]), 0);
        let mut m = book_msg(1, true, vec![[100, 6]], vec![]);
        m.epoch = 2;
        v.on_message(&m, 0);
        let f = v.figures("X/Y").unwrap();
        assert_eq!(
            (f.gaps, f.duplicates, f.snapshots, f.checksum_ok),
            (0, 0, 2, 2)
        );
    }
}
