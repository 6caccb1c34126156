//! The trading link on virtual time over an in-memory transport: token failures and retries, the
//! subscriptions, orders out and answers in, the dead man's switch on its timer, a stall and a
//! refused subscription each ending the connection with a fresh token next time, and the kill
//! switch. Exact requests, exact updates, exact times.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use kspin_api::{
    ClientOrderId, OrderIntent, OrderMessage, OrderRequest, OrderUpdate, Price, Qty, RejectReason,
    RiskReason, Side, SymbolId,
};
use kspin_auth::{TokenFailure, WsToken};
use kspin_core::book::{ApplyMode, OrderBook};
use kspin_core::feed::{Feed, FeedSink};
use kspin_core::trading::rate::Tier;
use kspin_core::trading::risk::RiskLimits;
use kspin_core::trading::session::{SessionConfig, SessionSymbol, TradingSession};
use kspin_net::memory::{memory_transport, MemoryPeer, MemoryTransport};
use kspin_net::NetError;
use kspin_runtime::plan::SymbolPlan;
use kspin_runtime::trading::{ScriptedTokens, TradingLink, TradingLinkConfig, TradingLinkState};
use kspin_runtime::{BackoffPolicy, Engine, OrderLink, Publisher};
use quanta::{Clock, Mock};

const TOKEN: &str = "SIMTOKENaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const EPOCH_NS: u64 = 1_796_415_480_000_000_000;

/// Strategies as the link sees them: requests waiting, updates received.
#[derive(Default)]
struct Strategies {
    waiting: Vec<(usize, OrderMessage)>,
    updates: Vec<(usize, OrderUpdate)>,
    /// What the link said about the order path, in order.
    order_link: Vec<bool>,
}

impl FeedSink for Strategies {}

impl Publisher for Strategies {
    fn take_orders(&mut self, _feed: &Feed, take: &mut dyn FnMut(usize, &OrderMessage)) {
        for (strategy, message) in self.waiting.drain(..) {
            take(strategy, &message);
        }
    }
    fn order_update(&mut self, strategy: usize, update: OrderUpdate) -> bool {
        self.updates.push((strategy, update));
        true
    }
    fn order_link(&mut self, ready: bool) {
        self.order_link.push(ready);
    }
}

struct Run {
    link: TradingLink<MemoryTransport, ScriptedTokens>,
    engine: Engine<Strategies>,
    peer: MemoryPeer,
    mock: Arc<Mock>,
    kill: Arc<AtomicBool>,
    now_ms: u64,
}

fn book_snapshot() -> String {
    let mut book = OrderBook::new(10, 1, 8);
    book.apply_exact(
        ApplyMode::Snapshot,
        &[(Price(10_000), Qty(200_000_000))],
        &[(Price(10_010), Qty(300_000_000))],
    );
    format!(
        r#"{{"channel":"book","type":"snapshot","data":[{{"symbol":"BTC/USD","bids":[{{"price":1000.0,"qty":2.00000000}}],"asks":[{{"price":1001.0,"qty":3.00000000}}],"checksum":{}}}]}}"#,
        book.checksum()
    )
}

impl Run {
    fn new(tokens: ScriptedTokens) -> Run {
        let (clock, mock) = common::mock_clock();
        let cfg = common::btc_usd(true, false);
        let mut engine = Engine::new(&cfg, Strategies::default(), clock.clone()).unwrap();
        engine.feed_mut().subscribe_sent(0);
        engine.on_frame(book_snapshot().as_bytes(), clock.raw());
        assert!(engine.pipeline().feed().book(0).unwrap().state.is_live());
        let session = TradingSession::new(SessionConfig {
            symbols: vec![SessionSymbol {
                name: "BTC/USD".into(),
                price_scale: 1,
                qty_scale: 8,
            }],
            strategies: 1,
            limits: vec![RiskLimits::unlimited()],
            tier: Tier::Starter,
            max_open_per_pair: 60,
            order_slots: 64,
            validate: false,
            cancel_unknown_orders: false,
            run_id: 7,
            dead_man_timeout_s: 60,
            writer_capacity: 8 << 10,
            enforce_rate_limit: true,
        })
        .unwrap();
        let link_cfg = TradingLinkConfig {
            backoff: BackoffPolicy {
                jitter: 0.0,
                ..BackoffPolicy::default()
            },
            ..TradingLinkConfig::new(EPOCH_NS)
        };
        let (transport, peer) = memory_transport();
        let kill = Arc::new(AtomicBool::new(false));
        let link =
            TradingLink::new(link_cfg, session, transport, tokens, kill.clone(), clock).unwrap();
        Run {
            link,
            engine,
            peer,
            mock,
            kill,
            now_ms: 0,
        }
    }

    /// One virtual millisecond: poll once.
    fn step(&mut self) {
        self.mock.increment(Duration::from_millis(1));
        self.now_ms += 1;
        self.link.poll(&mut self.engine);
    }

    fn run_ms(&mut self, ms: u64) {
        for _ in 0..ms {
            self.step();
        }
    }

    fn run_until(&mut self, limit_ms: u64, done: impl Fn(&Run) -> bool) -> u64 {
        for _ in 0..limit_ms {
            if done(self) {
                return self.now_ms;
            }
            self.step();
        }
        panic!("not reached within {limit_ms} ms");
    }

    fn sent(&self) -> Vec<String> {
        self.peer.take_sent().into_iter().map(|s| s.text).collect()
    }

    fn order(&mut self, id: u64, intent: OrderIntent) {
        let message = OrderMessage::new(
            0,
            OrderRequest::New {
                client_id: ClientOrderId(id),
                intent,
            },
        );
        self.engine.publisher_mut().waiting.push((0, message));
    }

    fn updates(&mut self) -> Vec<(usize, OrderUpdate)> {
        std::mem::take(&mut self.engine.publisher_mut().updates)
    }
}

fn token() -> WsToken {
    WsToken::new(TOKEN, 900).unwrap()
}

fn method(text: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(text).unwrap();
    let m = v["method"].as_str().unwrap_or("").to_owned();
    match v["params"]["channel"].as_str() {
        Some(channel) => format!("{m} {channel}"),
        None => m,
    }
}

#[test]
fn a_failed_token_is_retried_then_the_link_subscribes_and_orders_flow() {
    let tokens = ScriptedTokens::scripted([Err(TokenFailure::Unreachable)], Ok(token()));
    let mut run = Run::new(tokens);
    let ready = run.run_until(2_000, |r| r.link.state() == TradingLinkState::Reconciling);
    assert_eq!(run.link.tokens().requests, 2);
    assert_eq!(run.link.counters().token_unreachable, 1);
    assert_eq!(run.peer.attempts(), 1, "no connection without a token");
    // The first failure is retried after the backoff's first delay.
    assert!(ready >= 250, "retried at {ready} ms");
    let sent = run.sent();
    assert_eq!(
        sent.iter().map(|s| method(s)).collect::<Vec<_>>(),
        ["subscribe executions", "subscribe balances"]
    );
    assert!(sent[0].contains(TOKEN));
    // An order before the snapshot is refused: not reconciled yet.
    run.order(
        1,
        OrderIntent::limit(SymbolId(0), Side::Buy, Price(9_990), Qty(10)),
    );
    run.step();
    assert_eq!(
        run.updates(),
        [(
            0,
            OrderUpdate::rejected(
                ClientOrderId(1),
                SymbolId(0),
                RejectReason::Refused(RiskReason::NotConnected)
            )
        )]
    );
    run.peer
        .push_text(r#"{"channel":"executions","type":"snapshot","data":[]}"#);
    run.step();
    assert_eq!(run.link.state(), TradingLinkState::Ready);
    // Ready: the dead man's switch is armed at once.
    assert_eq!(
        run.sent().iter().map(|s| method(s)).collect::<Vec<_>>(),
        ["cancel_all_orders_after"]
    );
    run.order(
        2,
        OrderIntent::limit(SymbolId(0), Side::Buy, Price(9_990), Qty(10)),
    );
    run.step();
    let sent = run.sent();
    assert_eq!(sent.len(), 1);
    assert!(
        sent[0].starts_with(r#"{"method":"add_order""#),
        "{}",
        sent[0]
    );
    let v: serde_json::Value = serde_json::from_str(&sent[0]).unwrap();
    let (req, cl) = (
        v["req_id"].as_u64().unwrap(),
        v["params"]["cl_ord_id"].as_str().unwrap().to_owned(),
    );
    run.peer.push_text(format!(
        r#"{{"method":"add_order","req_id":{req},"result":{{"order_id":"OAAAAA-BBBBB-CCCCCC","cl_ord_id":"{cl}"}},"success":true}}"#
    ));
    run.step();
    assert_eq!(
        run.updates(),
        [(0, OrderUpdate::accepted(ClientOrderId(2), SymbolId(0)))]
    );
    // The engine's share of that order was measured.
    assert_eq!(run.link.latency().engine.len(), 1);
}

#[test]
fn the_dead_mans_switch_is_refreshed_on_its_timer_while_heartbeats_keep_the_link() {
    let mut run = Run::new(ScriptedTokens::always(token()));
    run.run_until(100, |r| r.link.state() == TradingLinkState::Reconciling);
    run.peer
        .push_text(r#"{"channel":"executions","type":"snapshot","data":[]}"#);
    let start = run.run_until(10, |r| r.link.state() == TradingLinkState::Ready);
    run.sent();
    // 65 s of heartbeats every second: refreshes at +20 s, +40 s, +60 s.
    let mut refreshes = Vec::new();
    for _ in 0..65 {
        run.peer.push_text(r#"{"channel":"heartbeat"}"#);
        for _ in 0..1_000 {
            run.step();
            for s in run.sent() {
                if method(&s) == "cancel_all_orders_after" {
                    refreshes.push(run.now_ms - start);
                }
            }
        }
    }
    assert_eq!(refreshes, [20_000, 40_000, 60_000]);
    assert_eq!(run.link.counters().disconnects, 0);
    assert_eq!(run.link.session().counters().dead_man_refreshes, 4);
}

#[test]
fn a_stall_or_a_refused_subscription_ends_the_connection_and_a_fresh_token_is_fetched() {
    let mut run = Run::new(ScriptedTokens::always(token()));
    run.run_until(100, |r| r.link.state() == TradingLinkState::Reconciling);
    run.peer
        .push_text(r#"{"channel":"executions","type":"snapshot","data":[]}"#);
    let ready = run.run_until(10, |r| r.link.state() == TradingLinkState::Ready);
    // Nothing arrives: the stall timeout (10 s) ends it.
    let down = run.run_until(20_000, |r| r.link.state() != TradingLinkState::Ready);
    assert_eq!(down - ready, 10_000);
    assert_eq!(run.link.counters().stalls, 1);
    run.step();
    assert_eq!(
        run.engine.publisher().order_link,
        [true, false],
        "strategies were told"
    );
    assert!(!run.link.session().is_ready());
    // Reconnects with a new token; the venue refuses the subscription this time.
    run.run_until(1_000, |r| r.link.state() == TradingLinkState::Reconciling);
    assert_eq!(run.link.tokens().requests, 2, "{:?}", run.link.counters());
    run.peer.push_text(
        r#"{"method":"subscribe","req_id":1,"success":false,"error":"ESession:Invalid session","time_in":"2026-12-04T20:18:00Z","time_out":"2026-12-04T20:18:00Z"}"#,
    );
    run.step();
    assert_eq!(run.link.counters().subscribe_refused, 1);
    assert_ne!(run.link.state(), TradingLinkState::Reconciling);
    run.run_until(5_000, |r| r.link.state() == TradingLinkState::Reconciling);
    assert_eq!(run.link.tokens().requests, 3);
    assert_eq!(run.peer.attempts(), 3);
    // A dropped connection the same way.
    run.peer
        .push_text(r#"{"channel":"executions","type":"snapshot","data":[]}"#);
    run.step();
    run.peer.end_connection(NetError::Closed { code: None });
    run.step();
    // The stall, the refused subscription and the drop.
    assert_eq!(run.link.counters().disconnects, 3);
}

#[test]
fn the_kill_switch_cancels_everything_and_refuses_new_orders() {
    let mut run = Run::new(ScriptedTokens::always(token()));
    run.run_until(100, |r| r.link.state() == TradingLinkState::Reconciling);
    run.peer
        .push_text(r#"{"channel":"executions","type":"snapshot","data":[]}"#);
    run.run_until(10, |r| r.link.state() == TradingLinkState::Ready);
    run.sent();
    run.kill.store(true, Ordering::Relaxed);
    run.run_ms(2);
    assert_eq!(
        run.sent().iter().map(|s| method(s)).collect::<Vec<_>>(),
        ["cancel_all"]
    );
    run.order(5, OrderIntent::market(SymbolId(0), Side::Sell, Qty(1)));
    run.step();
    assert_eq!(
        run.updates(),
        [(
            0,
            OrderUpdate::rejected(
                ClientOrderId(5),
                SymbolId(0),
                RejectReason::Refused(RiskReason::KillSwitch)
            )
        )]
    );
    assert!(run.sent().is_empty());
    assert!(run.link.session().counters().killed);
}

#[test]
fn an_engine_with_an_order_link_stamps_every_frame_so_every_order_has_its_trigger_stages() {
    let plan = vec![SymbolPlan {
        symbol: "BTC/USD".into(),
        depth: 10,
        book: true,
        trade: false,
        ticker: false,
        precision: Some((1, 8)),
    }];
    let (clock, _mock) = Clock::mock();
    let (transport, _peer) = memory_transport();
    let plain = kspin_runtime::EngineCore::new(
        kspin_runtime::CoreConfig::new(plan.clone()),
        Strategies::default(),
        transport,
        clock.clone(),
    )
    .unwrap();
    assert_eq!(
        plain.engine().stage_detail_sample_every(),
        kspin_runtime::stages::DETAIL_SAMPLE_EVERY
    );
    let link = Run::new(ScriptedTokens::always(token())).link;
    assert!(OrderLink::<Strategies>::stamps_trigger_frames(&link));
    let (transport, _peer) = memory_transport();
    let trading = kspin_runtime::EngineCore::with_orders(
        kspin_runtime::CoreConfig::new(plan),
        Strategies::default(),
        transport,
        Some(link),
        clock,
    )
    .unwrap();
    assert_eq!(trading.engine().stage_detail_sample_every(), 1);
}
