//! Built-in strategies built through the registry from their parameters, run on their own threads
//! behind the bus, with its log records drained and formatted as the monitor thread does: the
//! figures and the last log line match the engine's own book exactly.

mod bus_common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bus_common::*;
use kspin_api::{BookSide, BookView, FixedDisplay, Params, Price, Qty};
use kspin_core::book::OrderBook;
use kspin_host::{reports_json, strategy_reports, BookSource, Bus};
use kspin_ring::IdlePolicy;

/// A read-only view of the engine's book, to compute what the strategy should have logged.
struct EngineView<'a>(&'a OrderBook);

impl BookView for EngineView<'_> {
    fn level(&self, side: BookSide, rank: usize) -> Option<(Price, Qty)> {
        match side {
            BookSide::Bid => self.0.bids().level(rank),
            BookSide::Ask => self.0.asks().level(rank),
        }
    }
    fn len(&self, side: BookSide) -> usize {
        match side {
            BookSide::Bid => self.0.bids().len(),
            BookSide::Ask => self.0.asks().len(),
        }
    }
    fn is_live(&self) -> bool {
        true
    }
    fn price_scale(&self) -> u8 {
        self.0.price_scale()
    }
    fn qty_scale(&self) -> u8 {
        self.0.qty_scale()
    }
    fn depth(&self) -> usize {
        self.0.depth()
    }
}

#[test]
fn spread_monitor_from_config_sees_the_engine_book() {
    let symbols = symbol_table(2);
    let registry = kspin_strategies::builtins();
    let mut bus = Bus::new(&symbols);
    type Configured<'a> = (&'a str, Option<usize>, &'a [(&'a str, &'a str)]);
    let configured: [Configured; 2] = [
        (
            "spread_monitor",
            Some(1),
            &[("symbol", "S1/USD"), ("levels", "3")],
        ),
        ("whale_alert", None, &[("min_notional", "100")]),
    ];
    let handles: Vec<_> = configured
        .iter()
        .map(|&(name, core, pairs)| {
            let params = Params::from_pairs(&symbols, pairs).unwrap();
            let strategy = registry.build(name, &params).unwrap();
            bus.add_strategy(name, core, strategy, 1 << 16, IdlePolicy::SHARED_CORE)
                .unwrap()
        })
        .collect();
    let mut logs = bus.take_log_drain().unwrap();
    assert!(bus.take_log_drain().is_none());
    let stop = Arc::new(AtomicBool::new(false));
    let running: Vec<_> = handles
        .into_iter()
        .map(|h| h.spawn(Arc::clone(&stop)).unwrap())
        .collect();

    let mut gen = MarketGen::new(2, 11);
    let frames = gen.frames(3_000);
    let mut feed = passive_feed(2);
    let mut states = vec![Vec::new(); 2];
    drive(&mut feed, &mut bus, &frames, &mut states);
    stop.store(true, Ordering::Release);
    let reports: Vec<_> = running.into_iter().map(|r| r.join().unwrap()).collect();

    // Every S1 book state reached spread_monitor (nothing dropped on a large ring).
    let spread = &reports[0];
    assert_eq!(spread.name, "spread_monitor");
    assert_eq!(bus.lane_counters(0).unwrap().events_dropped, 0);
    let changes = spread.summary.get("book_changes").unwrap().value as usize;
    assert_eq!(changes, states[1].len());
    assert_eq!(
        spread.counters.events_received,
        bus.lane_counters(0).unwrap().events_published
    );

    // Its log lines, drained and formatted off the hot cores.
    let mut lines = Vec::new();
    logs.drain(usize::MAX, |name, _, text| {
        lines.push(format!("{name}: {text}"))
    });
    let spread_lines: Vec<_> = lines
        .iter()
        .filter(|l| l.starts_with("spread_monitor: "))
        .collect();
    let measured = spread.summary.get("measured").unwrap().value as usize;
    assert_eq!(spread_lines.len(), measured);
    let whale_lines = lines
        .iter()
        .filter(|l| l.starts_with("whale_alert: "))
        .count();
    assert_eq!(
        whale_lines as u64, gen.trades,
        "every 1000.1 x 0.25 trade is above 100"
    );

    // The last line is exactly what the engine's final S1 book gives.
    let (book, live) = feed.current_book(1).unwrap();
    assert!(live);
    let v = EngineView(book);
    let (mid, micro) = (v.mid().unwrap(), v.microprice().unwrap());
    let expected = format!(
        "spread_monitor: spread S1/USD spread={} mid={} micro={} imbalance={}",
        FixedDisplay {
            mantissa: v.spread().unwrap().0,
            scale: 1
        },
        FixedDisplay {
            mantissa: mid.mantissa,
            scale: mid.scale
        },
        FixedDisplay {
            mantissa: micro.mantissa,
            scale: micro.scale
        },
        FixedDisplay {
            mantissa: v.imbalance_scaled(3, 4).unwrap(),
            scale: 4
        },
    );
    assert_eq!(spread_lines.last().unwrap().as_str(), expected);

    // The run-summary JSON.
    let json = reports_json(&strategy_reports(bus.strategy_stats(), reports));
    assert_eq!(json["spread_monitor"]["core"], 1);
    assert_eq!(json["spread_monitor"]["events_dropped"], 0);
    assert_eq!(
        json["spread_monitor"]["summary"]["book_changes"],
        changes.to_string()
    );
    assert!(json["whale_alert"]["core"].is_null());
    assert_eq!(
        json["whale_alert"]["events_received"],
        json["whale_alert"]["events_published"]
    );
}
