//! Shared helpers of the bus tests: a deterministic generator of Kraken v2 text frames with
//! valid checksums (computed by a mirror `OrderBook`), a sink that forwards to the bus while
//! recording the engine's book states, and a recording test strategy.
#![allow(dead_code)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use kspin_api::{
    BookSide, BookView, Context, Event, EventKind, FixedDisplay, OrderUpdate, Price, Qty, Strategy,
    StrategySummary, SymbolId, SymbolInfo,
};
use kspin_core::book::{ApplyMode, ApplyReport, FixedLevel, OrderBook};
use kspin_core::feed::{Feed, FeedMode, FeedOptions, FeedSink, StaleReason};
use kspin_core::kraken::{BookData, Decoder, DecoderLimits, StatusMsg, UpdateKind};
use kspin_host::Bus;

pub const DEPTH: u16 = 10;
pub const PRICE_SCALE: u8 = 1;
pub const QTY_SCALE: u8 = 8;

pub fn symbol_names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("S{i}/USD")).collect()
}

pub fn symbol_table(n: usize) -> Vec<SymbolInfo> {
    symbol_names(n)
        .iter()
        .enumerate()
        .map(|(i, name)| SymbolInfo::new(i as u16, name, PRICE_SCALE, QTY_SCALE, DEPTH))
        .collect()
}

pub fn passive_feed(n: usize) -> Feed {
    let mut feed = Feed::new(FeedOptions {
        mode: FeedMode::Passive,
        ..FeedOptions::default()
    });
    for name in symbol_names(n) {
        feed.add_symbol(&name, usize::from(DEPTH), Some((PRICE_SCALE, QTY_SCALE)));
    }
    feed
}

/// FNV-1a over the levels of both sides: equal digests mean equal books.
pub fn digest(
    bids: impl Iterator<Item = (Price, Qty)>,
    asks: impl Iterator<Item = (Price, Qty)>,
) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |v: i64| {
        for b in v.to_le_bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x100_0000_01b3);
        }
    };
    for (p, q) in bids {
        eat(p.0);
        eat(q.0);
    }
    eat(-1);
    for (p, q) in asks {
        eat(p.0);
        eat(q.0);
    }
    h
}

pub fn book_digest(book: &OrderBook) -> u64 {
    digest(book.bids().iter(), book.asks().iter())
}

pub fn view_digest(view: &dyn BookView) -> u64 {
    let side = |s| (0..view.len(s)).filter_map(move |r| view.level(s, r));
    digest(side(BookSide::Bid), side(BookSide::Ask))
}

/// xorshift64*: deterministic, dependency-free.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn level_json(out: &mut String, levels: &[(Price, Qty)]) {
    out.push('[');
    for (i, (p, q)) in levels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&format!(
            "{{\"price\":{},\"qty\":{}}}",
            FixedDisplay {
                mantissa: p.0,
                scale: PRICE_SCALE
            },
            FixedDisplay {
                mantissa: q.0,
                scale: QTY_SCALE
            }
        ));
    }
    out.push(']');
}

/// Generates frames for `n` symbols: a snapshot each, then random updates and trades; with
/// `corrupt_every`, every that-many-th update carries a wrong checksum and is followed by a
/// fresh snapshot of that symbol (a resync in a passive feed).
pub struct MarketGen {
    names: Vec<String>,
    mirrors: Vec<OrderBook>,
    rng: Rng,
    trade_id: u64,
    updates: u64,
    pub corrupt_every: Option<u64>,
    pending_snapshot: Option<usize>,
    pub book_messages: u64,
    pub trades: u64,
}

impl MarketGen {
    pub fn new(n: usize, seed: u64) -> MarketGen {
        MarketGen {
            names: symbol_names(n),
            mirrors: (0..n)
                .map(|_| OrderBook::new(usize::from(DEPTH), PRICE_SCALE, QTY_SCALE))
                .collect(),
            rng: Rng::new(seed),
            trade_id: 0,
            updates: 0,
            corrupt_every: None,
            pending_snapshot: None,
            book_messages: 0,
            trades: 0,
        }
    }

    fn book_frame(
        &self,
        s: usize,
        kind: &str,
        bids: &[(Price, Qty)],
        asks: &[(Price, Qty)],
        checksum: u32,
    ) -> String {
        let mut f = format!(
            "{{\"channel\":\"book\",\"type\":\"{kind}\",\"data\":[{{\"symbol\":\"{}\",\"bids\":",
            self.names[s]
        );
        level_json(&mut f, bids);
        f.push_str(",\"asks\":");
        level_json(&mut f, asks);
        f.push_str(&format!(
            ",\"checksum\":{checksum},\"timestamp\":\"2026-11-22T10:00:00.000000Z\"}}]}}"
        ));
        f
    }

    fn random_level(&mut self, side: BookSide) -> (Price, Qty) {
        let off = 1 + self.rng.below(25) as i64;
        let p = match side {
            BookSide::Bid => 10_000 - off,
            BookSide::Ask => 10_000 + off,
        };
        (Price(p), Qty(1 + self.rng.below(500) as i64 * 1_000_000))
    }

    /// A full snapshot of symbol `s` (random, or the mirror's current state when resyncing).
    pub fn snapshot(&mut self, s: usize) -> String {
        let (bids, asks): (Vec<_>, Vec<_>) = if self.mirrors[s].bids().is_empty() {
            let b = (0..DEPTH)
                .map(|_| self.random_level(BookSide::Bid))
                .collect();
            let a = (0..DEPTH)
                .map(|_| self.random_level(BookSide::Ask))
                .collect();
            (b, a)
        } else {
            (
                self.mirrors[s].bids().iter().collect(),
                self.mirrors[s].asks().iter().collect(),
            )
        };
        self.mirrors[s].apply_exact(ApplyMode::Snapshot, &bids, &asks);
        self.book_messages += 1;
        let c = self.mirrors[s].checksum();
        self.book_frame(s, "snapshot", &bids, &asks, c)
    }

    /// The next frame after the initial snapshots.
    pub fn next_frame(&mut self) -> String {
        if let Some(s) = self.pending_snapshot.take() {
            return self.snapshot(s);
        }
        let s = self.rng.below(self.names.len() as u64) as usize;
        if self.rng.below(8) == 0 {
            return self.trade(s);
        }
        let mut bids = Vec::new();
        let mut asks = Vec::new();
        for _ in 0..1 + self.rng.below(4) {
            let side = if self.rng.below(2) == 0 {
                BookSide::Bid
            } else {
                BookSide::Ask
            };
            let (p, mut q) = self.random_level(side);
            if self.rng.below(3) == 0 {
                q = Qty(0);
            }
            match side {
                BookSide::Bid => bids.push((p, q)),
                BookSide::Ask => asks.push((p, q)),
            }
        }
        self.mirrors[s].apply_exact(ApplyMode::Update, &bids, &asks);
        self.updates += 1;
        self.book_messages += 1;
        let mut c = self.mirrors[s].checksum();
        if self.corrupt_every.is_some_and(|k| self.updates % k == 0) {
            c ^= 0x5a5a;
            self.pending_snapshot = Some(s);
        }
        self.book_frame(s, "update", &bids, &asks, c)
    }

    fn trade(&mut self, s: usize) -> String {
        self.trade_id += 1;
        self.trades += 1;
        format!(
            "{{\"channel\":\"trade\",\"type\":\"update\",\"data\":[{{\"symbol\":\"{}\",\"side\":\"buy\",\"price\":1000.1,\"qty\":0.25,\"ord_type\":\"market\",\"trade_id\":{},\"timestamp\":\"2026-11-22T10:00:00.000000Z\"}}]}}",
            self.names[s], self.trade_id
        )
    }

    /// Initial snapshots, then `count` more frames.
    pub fn frames(&mut self, count: usize) -> Vec<String> {
        let mut out: Vec<String> = (0..self.names.len()).map(|s| self.snapshot(s)).collect();
        for _ in 0..count {
            out.push(self.next_frame());
        }
        out
    }
}

/// Forwards market data to the bus and records each verified engine book state per symbol.
pub struct Tee<'a> {
    pub bus: &'a mut Bus,
    /// Digest sequence per symbol, in publish order.
    pub states: Vec<Vec<u64>>,
}

impl FeedSink for Tee<'_> {
    fn book_updated(
        &mut self,
        symbol: usize,
        book: &OrderBook,
        data: &BookData<'_>,
        levels: &[FixedLevel],
        kind: UpdateKind,
        report: &ApplyReport,
    ) {
        if let Some(v) = self.states.get_mut(symbol) {
            v.push(book_digest(book));
        }
        self.bus
            .book_updated(symbol, book, data, levels, kind, report);
    }
    fn book_stale(&mut self, symbol: usize, reason: StaleReason) {
        self.bus.book_stale(symbol, reason);
    }
    fn book_live(&mut self, symbol: usize, book: &OrderBook) {
        self.bus.book_live(symbol, book);
    }
    fn trade(&mut self, symbol: usize, trade: &kspin_core::kraken::Trade<'_>) {
        self.bus.trade(symbol, trade);
    }
    fn ticker(&mut self, symbol: usize, ticker: &kspin_core::kraken::Ticker<'_>) {
        self.bus.ticker(symbol, ticker);
    }
    fn status(&mut self, status: &StatusMsg<'_>) {
        self.bus.status(status);
    }
    fn precision_changed(&mut self, symbol: usize, price_scale: u8, qty_scale: u8) {
        self.bus.precision_changed(symbol, price_scale, qty_scale);
    }
}

/// Drives `frames` through decoder → feed → tee (→ bus), calling `service` and `drain_intents`
/// after each frame as the runtime loop does. Frame n (0-based) is stamped read at tick n + 1.
pub fn drive(feed: &mut Feed, bus: &mut Bus, frames: &[String], states: &mut Vec<Vec<u64>>) {
    drive_stamped(feed, bus, frames, states, |n| n as u64 + 1);
}

/// [`drive`] stamping frame n (0-based) read at tick `read_tsc(n)`: use real TSC readings when
/// the events' `publish_tsc` matters (a wire event carries it only within 2^31 ticks of
/// `recv_tsc`; further away it reads back as 0).
pub fn drive_stamped(
    feed: &mut Feed,
    bus: &mut Bus,
    frames: &[String],
    states: &mut Vec<Vec<u64>>,
    mut read_tsc: impl FnMut(usize) -> u64,
) {
    let mut decoder = Decoder::new(DecoderLimits::default());
    for (n, frame) in frames.iter().enumerate() {
        bus.set_frame_tsc(read_tsc(n));
        let msg = decoder
            .decode(frame.as_bytes())
            .expect("generated frames decode");
        let mut tee = Tee {
            bus,
            states: core::mem::take(states),
        };
        feed.on_message(n as u64, &msg, &mut tee);
        *states = tee.states;
        bus.service(feed);
        bus.drain_intents(feed);
    }
}

/// What a [`Recorder`] saw, handed over in `on_stop`.
#[derive(Debug, Default, Clone)]
pub struct Recording {
    /// `(symbol, digest of the replica, live)` at every `BookChanged`.
    pub books: Vec<(usize, u64, bool)>,
    pub trades: u64,
    pub stale: u64,
    pub live: u64,
    pub orders: Vec<OrderUpdate>,
    /// `(digest, live)` of every replica when the strategy stopped.
    pub final_views: Vec<(u64, bool)>,
    /// Allocations counted on the strategy thread between its first and last event.
    pub allocations_during_events: Option<u64>,
}

/// A test strategy that records every book state it sees. Optionally gated (waits on its first
/// event until the gate opens: a deliberately stuck strategy) and slow (spins per event).
pub struct Recorder {
    rec: Recording,
    out: Arc<Mutex<Option<Recording>>>,
    gate: Option<Arc<AtomicBool>>,
    spin_per_event: u32,
    /// Reads the per-thread allocation count (from the test binary's allocator), if any.
    alloc_count: Option<fn() -> u64>,
    first_alloc: Option<u64>,
    last_alloc: u64,
    /// Submitted on the first `BookLive`.
    pub on_first_book: Vec<kspin_api::OrderIntent>,
    pub cancel_second: bool,
}

impl Recorder {
    pub fn new(capacity: usize) -> (Recorder, Arc<Mutex<Option<Recording>>>) {
        let out = Arc::new(Mutex::new(None));
        let mut rec = Recording::default();
        rec.books.reserve(capacity);
        rec.orders.reserve(1024);
        (
            Recorder {
                rec,
                out: Arc::clone(&out),
                gate: None,
                spin_per_event: 0,
                alloc_count: None,
                first_alloc: None,
                last_alloc: 0,
                on_first_book: Vec::new(),
                cancel_second: false,
            },
            out,
        )
    }

    pub fn gated(mut self, gate: Arc<AtomicBool>, spin_per_event: u32) -> Recorder {
        self.gate = Some(gate);
        self.spin_per_event = spin_per_event;
        self
    }

    pub fn counting(mut self, f: fn() -> u64) -> Recorder {
        self.alloc_count = Some(f);
        self
    }
}

impl Strategy for Recorder {
    fn on_event(&mut self, event: &Event, ctx: &mut dyn Context) {
        if let Some(f) = self.alloc_count {
            let now = f();
            self.first_alloc.get_or_insert(now);
            self.last_alloc = now;
        }
        if let Some(gate) = &self.gate {
            while !gate.load(Ordering::Acquire) {
                std::thread::yield_now();
            }
            for _ in 0..self.spin_per_event {
                core::hint::spin_loop();
            }
        }
        match event.kind {
            EventKind::BookChanged(c) => {
                let Some(view) = ctx.book(c.symbol) else {
                    return;
                };
                let d = view_digest(view);
                let live = view.is_live();
                if self.rec.books.len() < self.rec.books.capacity() {
                    self.rec.books.push((c.symbol.index(), d, live));
                }
            }
            EventKind::Trade(_) => self.rec.trades += 1,
            EventKind::BookStale(_) => self.rec.stale += 1,
            EventKind::BookLive(_) => {
                self.rec.live += 1;
                if !self.on_first_book.is_empty() {
                    let intents = core::mem::take(&mut self.on_first_book);
                    let mut ids = Vec::new();
                    for intent in intents {
                        ids.push(ctx.submit(intent).expect("intent ring has room"));
                    }
                    if self.cancel_second {
                        ctx.cancel(SymbolId(0), ids[1]).expect("room");
                    }
                }
            }
            EventKind::Order(o) if self.rec.orders.len() < self.rec.orders.capacity() => {
                self.rec.orders.push(o);
            }
            _ => {}
        }
    }

    fn on_stop(&mut self, ctx: &mut dyn Context) {
        for i in 0..ctx.symbols().len() {
            if let Some(view) = ctx.book(SymbolId(i as u16)) {
                self.rec
                    .final_views
                    .push((view_digest(view), view.is_live()));
            }
        }
        if let Some(first) = self.first_alloc {
            self.rec.allocations_during_events = Some(self.last_alloc - first);
        }
        *self.out.lock().unwrap() = Some(core::mem::take(&mut self.rec));
    }

    fn summary(&self) -> StrategySummary {
        StrategySummary::new().count("books", self.rec.books.len() as u64)
    }
}

/// True if `sub` appears in `full` in order (not necessarily contiguously).
pub fn is_subsequence(sub: &[u64], full: &[u64]) -> bool {
    let mut it = full.iter();
    sub.iter().all(|x| it.any(|y| y == x))
}
