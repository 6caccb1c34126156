//! A precision change announced on `instrument` after start-up, end to end through decoder →
//! passive feed → bus → strategy thread: strategies, whose prices are mantissas at the scales of
//! their symbol table, get `BookStale{PrecisionChanged}` for that symbol and then nothing of it
//! (no book, trade or order answer at the wrong scale), while the other symbols flow on; when the
//! precision returns to their scales the symbol thaws with a fresh snapshot and `BookLive`, and
//! the final replica equals the engine's book.

mod bus_common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use bus_common::*;
use kspin_api::{Context, Event, EventKind, StaleReason, Strategy, StrategySummary, SymbolId};
use kspin_host::Bus;
use kspin_ring::IdlePolicy;

/// What the strategy saw of symbol 0, in order, and how many events of symbol 1.
#[derive(Debug, Default, Clone)]
struct Seen {
    s0: Vec<String>,
    s1_events: u64,
    final_s0: Option<(u64, bool)>,
}

struct Watcher {
    seen: Seen,
    out: Arc<Mutex<Option<Seen>>>,
}

impl Strategy for Watcher {
    fn on_event(&mut self, event: &Event, ctx: &mut dyn Context) {
        let Some(symbol) = event.symbol() else { return };
        if symbol == SymbolId(1) {
            self.seen.s1_events += 1;
            return;
        }
        let tag = match event.kind {
            EventKind::BookChanged(c) if c.snapshot => "snapshot".to_string(),
            EventKind::BookChanged(_) => "update".to_string(),
            EventKind::Trade(_) => "trade".to_string(),
            EventKind::BookStale(s) => format!("stale {:?}", s.reason),
            EventKind::BookLive(_) => "live".to_string(),
            _ => return,
        };
        // Collapse runs of updates/trades: the order of the state changes is what matters.
        if !(matches!(tag.as_str(), "update" | "trade") && self.seen.s0.last() == Some(&tag)) {
            self.seen.s0.push(tag);
        }
        let _ = ctx;
    }

    fn on_stop(&mut self, ctx: &mut dyn Context) {
        self.seen.final_s0 = ctx.book(SymbolId(0)).map(|v| (view_digest(v), v.is_live()));
        *self.out.lock().unwrap() = Some(self.seen.clone());
    }

    fn summary(&self) -> StrategySummary {
        StrategySummary::new()
    }
}

fn instrument(price_precision: u8) -> String {
    format!(
        r#"{{"channel":"instrument","type":"update","data":{{"assets":[],"pairs":[{{"symbol":"S0/USD","base":"S0","quote":"USD","status":"online","qty_precision":{QTY_SCALE},"qty_increment":1e-08,"price_precision":{price_precision},"cost_precision":5,"marginable":false,"has_index":true,"cost_min":0.5,"tick_size":0.1,"price_increment":0.1,"qty_min":5e-05}}]}}}}"#
    )
}

#[test]
fn a_precision_change_freezes_the_symbol_for_strategies_until_it_returns() {
    let symbols = symbol_table(2);
    let mut gen = MarketGen::new(2, 11);
    let mut frames = gen.frames(300);
    // The exchange moves S0/USD to 2 price decimals: the engine resubscribes (passive here: it
    // waits for a snapshot at the new precision; the generator's snapshots at 1 decimal fail
    // their checksum at 2, so the engine's book stays down), and strategies must not see S0.
    frames.push(instrument(PRICE_SCALE + 1));
    for _ in 0..300 {
        frames.push(gen.next_frame());
    }
    frames.push(gen.snapshot(0));
    // Back to 1 decimal: the next snapshot makes the book live again.
    frames.push(instrument(PRICE_SCALE));
    frames.push(gen.snapshot(0));
    for _ in 0..300 {
        frames.push(gen.next_frame());
    }

    let mut bus = Bus::new(&symbols);
    let out = Arc::new(Mutex::new(None));
    let watcher = Watcher {
        seen: Seen::default(),
        out: Arc::clone(&out),
    };
    let handle = bus
        .add_strategy(
            "watcher",
            None,
            Box::new(watcher),
            1 << 16,
            IdlePolicy::SHARED_CORE,
        )
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let running = handle.spawn(Arc::clone(&stop)).unwrap();
    let mut feed = passive_feed(2);
    let mut states = vec![Vec::new(); 2];
    drive(&mut feed, &mut bus, &frames, &mut states);
    stop.store(true, Ordering::Release);
    running.join().unwrap();
    let seen = out.lock().unwrap().take().expect("on_stop ran");

    assert_eq!(bus.counters().precision_changes, 1);
    let stale = format!("stale {:?}", StaleReason::PrecisionChanged);
    let at = seen
        .s0
        .iter()
        .position(|t| *t == stale)
        .unwrap_or_else(|| panic!("no {stale}: {:?}", seen.s0));
    // Before: the initial snapshot, live, then updates and trades. Right after the freeze:
    // nothing until the thaw's snapshot and BookLive.
    assert_eq!(&seen.s0[..2], ["snapshot", "live"], "{:?}", seen.s0);
    assert_eq!(
        &seen.s0[at..at + 3],
        [stale.as_str(), "snapshot", "live"],
        "{:?}",
        seen.s0
    );
    assert!(seen.s0[at + 3..]
        .iter()
        .all(|t| t == "update" || t == "trade"));
    assert!(seen.s1_events > 100, "S1 kept flowing");
    // The replica ends exactly as the engine's book, live.
    let engine = feed.book(0).unwrap();
    assert!(engine.state.is_live());
    assert_eq!(seen.final_s0, Some((book_digest(&engine.book), true)));
}
