//! The backtest stepped frame by frame with hand-written frames (the test harness's writer, so
//! checksums verify): when an order reaches the venue, what it is matched against, what the
//! pre-trade checks refuse and when, how a resting order waits in its queue, and that the same
//! input gives the same report.

use std::sync::{Arc, Mutex};

use kspin_api::{
    Context, Event, EventKind, OrderIntent, OrderStatus, OrderUpdate, Price, Qty, RejectReason,
    RiskReason, Side, Strategy, StrategySummary, SymbolId, SymbolInfo,
};
use kspin_core::feed::FeedMode;
use kspin_core::kraken::DecoderLimits;
use kspin_core::trading::rate::Tier;
use kspin_core::trading::risk::RiskLimits;
use kspin_runtime::{Engine, EngineConfig, SymbolPlan};

use super::*;
use crate::testing::frames::{BookFrame, FrameWriter};

const S: SymbolId = SymbolId(0);
/// 2026-01-01T00:00:00Z.
const T0: u64 = 1_767_225_600_000_000_000;
const MS: u64 = 1_000_000;

/// What the scripted strategy saw: each order update with the event's time and its clock then.
type Seen = Arc<Mutex<Vec<(OrderUpdate, u64, u64)>>>;

/// Submits `intents` at the first `BookLive` (all of them, in order), and records every order
/// update with the event's time and the strategy's clock then.
struct Script {
    intents: Vec<OrderIntent>,
    seen: Seen,
}

impl Script {
    fn boxed(intents: Vec<OrderIntent>) -> (Box<dyn Strategy>, Seen) {
        let seen = Seen::default();
        let script = Script {
            intents,
            seen: Arc::clone(&seen),
        };
        (Box::new(script), seen)
    }
}

impl Strategy for Script {
    fn on_event(&mut self, event: &Event, ctx: &mut dyn Context) {
        match event.kind {
            EventKind::BookLive(_) => {
                for intent in core::mem::take(&mut self.intents) {
                    let _ = ctx.submit(intent);
                }
            }
            EventKind::Order(u) => {
                if let Ok(mut seen) = self.seen.lock() {
                    seen.push((u, event.time_ns, ctx.now_ns()));
                }
            }
            _ => {}
        }
    }
    fn summary(&self) -> StrategySummary {
        StrategySummary::new()
    }
}

fn statuses(seen: &Seen) -> Vec<(OrderStatus, i64, i64, u64)> {
    seen.lock()
        .map(|s| {
            s.iter()
                .map(|(u, _, now)| (u.status, u.fill_price.0, u.fill_qty.0, *now))
                .collect()
        })
        .unwrap_or_default()
}

fn symbols() -> Vec<SymbolInfo> {
    vec![SymbolInfo::new(0, "BTC/USD", 1, 0, 10)]
}

struct Bench {
    backtest: Backtest,
    engine: ReplayEngine,
    frames: FrameWriter,
}

fn bench(
    strategy: Box<dyn Strategy>,
    latency_ns: u64,
    queue: QueueModel,
    limits: RiskLimits,
) -> Bench {
    let symbols = symbols();
    let cfg = BacktestConfig {
        latency: LatencyModel::new(latency_ns, 0, 1),
        venue: VenueConfig {
            queue,
            maker_fee_bps: 0,
            taker_fee_bps: 0,
        },
        gateway: GatewayConfig {
            limits: vec![limits],
            max_open_per_pair: 20,
            order_slots: 64,
            tier: Tier::Starter,
        },
        ring_capacity: 1 << 12,
        time_callbacks: false,
    };
    let (backtest, tape) =
        Backtest::new(&symbols, vec![("once".into(), strategy)], cfg).expect("backtest");
    let engine_cfg = EngineConfig {
        symbols: vec![SymbolPlan {
            symbol: "BTC/USD".into(),
            depth: 10,
            book: true,
            trade: true,
            ticker: false,
            precision: Some((1, 0)),
        }],
        decoder: DecoderLimits::default(),
        policy: Default::default(),
        mode: FeedMode::Passive,
    };
    let engine = Engine::new(&engine_cfg, tape, quanta::Clock::new()).expect("engine");
    Bench {
        backtest,
        engine,
        frames: FrameWriter::new(&symbols),
    }
}

impl Bench {
    fn start(&mut self, t: u64) {
        self.backtest.start(&mut self.engine, t);
    }
    fn book(&mut self, t: u64, kind: BookFrame, bids: &[(i64, i64)], asks: &[(i64, i64)]) {
        self.frames.set_now(t);
        self.frames.book(0, kind, bids, asks);
        let outcome = self.backtest.frame(&mut self.engine, t, self.frames.text());
        assert!(!matches!(outcome, FrameOutcome::Refused(_)), "{outcome:?}");
    }
    fn trade(&mut self, t: u64, taker: Side, price: i64, qty: i64) {
        self.frames.trade(0, taker, price, qty, t, t);
        self.backtest.frame(&mut self.engine, t, self.frames.text());
    }
    fn finish(self, end: u64) -> BacktestReport {
        let Bench {
            backtest,
            mut engine,
            ..
        } = self;
        backtest.finish(&mut engine, end)
    }
}

#[test]
fn an_order_is_handled_against_the_book_as_it_stands_when_it_arrives() {
    // The market buy sent at T0 arrives at T0 + latency. The ask moves to 105.0 at T0 + 0.5 ms
    // and to 110.0 at T0 + 2 ms: with 1 ms it fills at 105.0, with 0.2 ms at 101.0, with 3 ms
    // at 110.0 — each time at the arrival time, on the strategy's clock too.
    for (latency, price) in [(MS, 1050), (MS / 5, 1010), (3 * MS, 1100)] {
        let (strategy, seen) = Script::boxed(vec![OrderIntent::market(S, Side::Buy, Qty(2))]);
        let mut b = bench(strategy, latency, QueueModel::Back, RiskLimits::unlimited());
        b.start(T0);
        b.book(T0, BookFrame::Snapshot, &[(1000, 5)], &[(1010, 5)]);
        b.book(T0 + MS / 2, BookFrame::Update, &[], &[(1010, 0), (1050, 5)]);
        b.book(T0 + 2 * MS, BookFrame::Update, &[], &[(1050, 0), (1100, 5)]);
        let report = b.finish(T0 + 4 * MS);
        let at = T0 + latency;
        assert_eq!(
            statuses(&seen),
            [
                (OrderStatus::Accepted, 0, 0, at),
                (OrderStatus::Filled, price, 2, at),
            ],
            "latency {latency}"
        );
        let times: Vec<u64> = seen.lock().unwrap().iter().map(|s| s.1).collect();
        assert_eq!(times, [at, at], "the updates carry the arrival time");
        let l = &report.ledgers[0].symbols[0];
        assert_eq!((l.position, report.ledgers[0].fills), (2, 1));
        // Marked to the last mid, (100.0 + 110.0) / 2 = 105.0.
        assert_eq!(
            l.unrealized(),
            i128::from(2 * (10_500 - price * 10)),
            "latency {latency}"
        );
    }
}

#[test]
fn pre_trade_refusals_are_answered_at_once_with_the_live_reason() {
    let limits = RiskLimits {
        max_order_qty: Qty(1),
        ..RiskLimits::unlimited()
    };
    let (strategy, seen) = Script::boxed(vec![
        OrderIntent::market(S, Side::Buy, Qty(2)),
        OrderIntent::market(S, Side::Buy, Qty(1)),
    ]);
    let mut b = bench(strategy, MS, QueueModel::Back, limits);
    b.start(T0);
    b.book(T0, BookFrame::Snapshot, &[(1000, 5)], &[(1010, 5)]);
    b.book(T0 + 2 * MS, BookFrame::Update, &[(990, 1)], &[]);
    let report = b.finish(T0 + 3 * MS);
    let refused = OrderStatus::Rejected(RejectReason::Refused(RiskReason::OrderQty));
    assert_eq!(
        statuses(&seen),
        [
            (refused, 0, 0, T0),
            (OrderStatus::Accepted, 0, 0, T0 + MS),
            (OrderStatus::Filled, 1010, 1, T0 + MS),
        ]
    );
    let ledger = &report.ledgers[0];
    assert_eq!((ledger.orders_sent, ledger.fills), (1, 1));
    assert_eq!(
        ledger.rejects[RejectReason::Refused(RiskReason::OrderQty).index()],
        1
    );
    assert_eq!(report.requests, [2]);
}

#[test]
fn a_resting_order_waits_for_the_quantity_ahead_of_it() {
    // A buy of 3 at 100.0 joins 5 shown there. Trades at 100.0: 3 (ahead 2 left), then 4
    // (2 for the queue, 2 for the order); the bid level then shows 1: nothing ahead any more;
    // a trade of 1 at 100.0 fills the last 1.
    let run = |queue| {
        let (strategy, seen) =
            Script::boxed(vec![OrderIntent::limit(S, Side::Buy, Price(1000), Qty(3))]);
        let mut b = bench(strategy, MS, queue, RiskLimits::unlimited());
        b.start(T0);
        b.book(T0, BookFrame::Snapshot, &[(1000, 5)], &[(1010, 5)]);
        b.trade(T0 + 2 * MS, Side::Sell, 1000, 3);
        b.book(T0 + 2 * MS, BookFrame::Update, &[(1000, 2)], &[]);
        b.trade(T0 + 3 * MS, Side::Sell, 1000, 4);
        b.book(T0 + 3 * MS, BookFrame::Update, &[(1000, 1)], &[]);
        b.trade(T0 + 4 * MS, Side::Sell, 1000, 1);
        let _ = b.finish(T0 + 5 * MS);
        statuses(&seen)
    };
    let accepted = (OrderStatus::Accepted, 0, 0, T0 + MS);
    assert_eq!(
        run(QueueModel::Back),
        [
            accepted,
            (OrderStatus::Filled, 1000, 2, T0 + 3 * MS),
            (OrderStatus::Filled, 1000, 1, T0 + 4 * MS),
        ]
    );
    // At the front, the first trade fills it all.
    assert_eq!(
        run(QueueModel::Front),
        [accepted, (OrderStatus::Filled, 1000, 3, T0 + 2 * MS)]
    );
    // Trades never fill it; the book never crosses it.
    assert_eq!(run(QueueModel::Cross), [accepted]);
}

#[test]
fn the_same_input_gives_the_same_report() {
    let run = || {
        let (strategy, _) = Script::boxed(vec![
            OrderIntent::limit(S, Side::Buy, Price(1000), Qty(3)),
            OrderIntent::market(S, Side::Sell, Qty(1)),
        ]);
        let mut b = bench(strategy, MS, QueueModel::Back, RiskLimits::unlimited());
        b.start(T0);
        b.book(T0, BookFrame::Snapshot, &[(1000, 5)], &[(1010, 5)]);
        b.trade(T0 + 2 * MS, Side::Sell, 990, 9);
        b.book(T0 + 3 * MS, BookFrame::Update, &[(1000, 0), (995, 2)], &[]);
        let report = b.finish(T0 + 5 * MS);
        (
            report.strategies_json(false).to_string(),
            report.settings_json().to_string(),
        )
    };
    let first = run();
    assert_eq!(first, run());
    assert!(
        first.0.contains(r#""realized_pnl":{"BTC/USD":"#),
        "{}",
        first.0
    );
}
