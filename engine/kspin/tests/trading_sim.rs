//! Live order entry end to end against the simulated venue on loopback: the engine core polls
//! the market-data connection and the authenticated one (TLS both), fetches its token from the
//! venue's REST endpoint over HTTPS, and the venue's matching engine answers. Orders are handed
//! to the core as strategies' intents would be; every answer is checked against the venue's own
//! state (its open orders and fills), never against the engine's.

mod engine_support;

kspin_testkit::install_counting_allocator!();

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use engine_support::{endpoint_of, venue_with};
use kspin::feed::{Feed, FeedSink};
use kspin::net::{ConnLimits, Endpoint, TlsSettings, WsTransport};
use kspin::runtime::trading::{TradingLink, TradingLinkConfig, TradingLinkState};
use kspin::runtime::{BackoffPolicy, CoreConfig, EngineCore, Publisher};
use kspin::sim::{FaultKind, SimConfig, SimTradingConfig, TradingTier, VenueHandle};
use kspin_api::{
    ClientOrderId, OrderIntent, OrderMessage, OrderRequest, OrderStatus, OrderUpdate, Price, Qty,
    RejectReason, Side, SymbolId,
};
use kspin_auth::{TokenClient, TokenService};
use kspin_core::trading::rate::Tier;
use kspin_core::trading::risk::RiskLimits;
use kspin_core::trading::session::{SessionConfig, SessionSymbol, TradingSession};
use kspin_runtime::plan::SymbolPlan;

const BTC: SymbolId = SymbolId(0);

/// The strategies' side, scripted by the test.
#[derive(Default)]
struct Desk {
    waiting: Vec<OrderMessage>,
    updates: Vec<OrderUpdate>,
}

impl FeedSink for Desk {}

impl Publisher for Desk {
    fn take_orders(&mut self, _feed: &Feed, take: &mut dyn FnMut(usize, &OrderMessage)) {
        for m in self.waiting.drain(..) {
            take(0, &m);
        }
    }
    fn order_update(&mut self, _strategy: usize, update: OrderUpdate) -> bool {
        self.updates.push(update);
        true
    }
}

type Link = TradingLink<WsTransport, TokenService>;
type Core = EngineCore<Desk, WsTransport, Link>;

struct Run {
    core: Core,
    venue: VenueHandle,
    next_id: u64,
}

fn start(tier: TradingTier, engine_tier: Tier, dead_man_s: u32) -> Run {
    let venue = venue_with(SimConfig {
        tls: true,
        rate_per_sec: 200,
        symbols: vec!["BTC/USD".into()],
        heartbeat: Duration::from_millis(200),
        trading: Some(SimTradingConfig {
            tier,
            ..SimTradingConfig::default()
        }),
        ..SimConfig::default()
    });
    let (endpoint, tls) = endpoint_of(&venue);
    let mut cfg = CoreConfig::new(vec![SymbolPlan {
        symbol: "BTC/USD".into(),
        depth: 10,
        book: true,
        trade: false,
        ticker: false,
        precision: Some((1, 8)),
    }]);
    cfg.watch_instrument = false;
    let transport = WsTransport::new(&endpoint, &tls, ConnLimits::default()).unwrap();
    let session = TradingSession::new(SessionConfig {
        symbols: vec![SessionSymbol {
            name: "BTC/USD".into(),
            price_scale: 1,
            qty_scale: 8,
        }],
        strategies: 1,
        limits: vec![RiskLimits::unlimited()],
        tier: engine_tier,
        max_open_per_pair: engine_tier.max_open_orders(),
        order_slots: 256,
        validate: false,
        cancel_unknown_orders: false,
        run_id: 0x5eed,
        dead_man_timeout_s: dead_man_s,
        writer_capacity: 64 << 10,
        enforce_rate_limit: true,
    })
    .unwrap();
    let auth_url = venue.auth_url().unwrap();
    let mut auth = Endpoint::parse(&auth_url).unwrap();
    let server_name = auth.tls.then(|| auth.host.clone());
    auth.host = "127.0.0.1".into();
    let auth_tls = TlsSettings {
        extra_root_pem: venue.cert_pem().map(str::to_owned),
        use_webpki_roots: false,
        server_name_override: server_name,
    };
    let auth_transport = WsTransport::new(&auth, &auth_tls, ConnLimits::default()).unwrap();
    let client = TokenClient::new(
        &venue.rest_url().unwrap(),
        venue.cert_pem(),
        Duration::from_secs(5),
    )
    .unwrap();
    let tokens = TokenService::spawn(client, venue.credentials().unwrap(), |_| {}).unwrap();
    let epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let link_cfg = TradingLinkConfig {
        backoff: BackoffPolicy {
            initial: Duration::from_millis(20),
            jitter: 0.0,
            ..BackoffPolicy::default()
        },
        dead_man_refresh: Duration::from_millis(500),
        cancel_on_exit: true,
        ..TradingLinkConfig::new(epoch)
    };
    let clock = quanta::Clock::new();
    let link = TradingLink::new(
        link_cfg,
        session,
        auth_transport,
        tokens,
        Arc::new(AtomicBool::new(false)),
        clock.clone(),
    )
    .unwrap();
    let core = EngineCore::with_orders(cfg, Desk::default(), transport, link, clock).unwrap();
    let mut run = Run {
        core,
        venue,
        next_id: 1,
    };
    run.poll_until("book live and orders ready", |r| {
        r.core.feed().book(0).is_some_and(|b| b.state.is_live())
            && r.core.orders().state() == TradingLinkState::Ready
    });
    run
}

impl Run {
    fn poll_until(&mut self, what: &str, mut done: impl FnMut(&Run) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !done(self) {
            assert!(
                Instant::now() < deadline,
                "{what}: not reached; link {:?} counters {:?} session {:?} updates {:?}",
                self.core.orders().state(),
                self.core.orders().counters(),
                self.core.orders().session().counters(),
                self.core.publisher().updates
            );
            self.core.poll();
        }
    }

    fn touch(&self) -> (i64, i64) {
        let book = &self.core.feed().book(0).unwrap().book;
        (book.best_bid().unwrap().0 .0, book.best_ask().unwrap().0 .0)
    }

    fn send(&mut self, request: OrderRequest) {
        self.core
            .publisher_mut()
            .waiting
            .push(OrderMessage::new(0, request));
    }

    fn order(&mut self, intent: OrderIntent) -> ClientOrderId {
        let id = ClientOrderId(self.next_id);
        self.next_id += 1;
        self.send(OrderRequest::New {
            client_id: id,
            intent,
        });
        id
    }

    fn updates_of(&self, id: ClientOrderId) -> Vec<OrderUpdate> {
        self.core
            .publisher()
            .updates
            .iter()
            .filter(|u| u.client_id == id)
            .copied()
            .collect()
    }

    fn has(&self, id: ClientOrderId, pred: impl Fn(&OrderUpdate) -> bool) -> bool {
        self.core
            .publisher()
            .updates
            .iter()
            .any(|u| u.client_id == id && pred(u))
    }

    /// The venue's order carrying `id`'s cl_ord_id, if open.
    fn venue_order(&self, id: ClientOrderId) -> Option<kspin::sim::Order> {
        let slot = self.core.orders().session().orders().find(id)?;
        let cl = kspin_core::trading::cl_ord_id::ClOrdIdCodec::new(0x5eed)
            .encode(slot, 0, id)
            .as_str()
            .to_owned();
        self.venue
            .open_orders()
            .into_iter()
            .find(|o| o.cl_ord_id.as_deref() == Some(cl.as_str()))
    }
}

fn filled_qty(updates: &[OrderUpdate]) -> i64 {
    updates
        .iter()
        .filter_map(|u| u.fill())
        .map(|(_, q, _)| q.0)
        .sum()
}

#[test]
fn the_whole_order_lifecycle_against_the_venue() {
    let mut run = start(TradingTier::Starter, Tier::Starter, 60);
    run.venue.pause();
    let (bid, ask) = run.touch();
    // 1. A post-only bid 50 ticks below the touch rests.
    let resting = run.order(OrderIntent::post_only(
        BTC,
        Side::Buy,
        Price(bid - 50),
        Qty(100_000),
    ));
    run.poll_until("accepted", |r| {
        r.has(resting, |u| u.status == OrderStatus::Accepted)
    });
    let at_venue = run.venue_order(resting).expect("open at the venue");
    assert_eq!(
        (at_venue.limit_price, at_venue.order_qty, at_venue.post_only),
        (Some(bid - 50), 100_000, true)
    );
    // 2. Amended up 20 ticks and to a larger size: the venue shows the new terms.
    run.send(OrderRequest::Amend {
        client_id: resting,
        symbol: BTC,
        price: Price(bid - 30),
        qty: Qty(150_000),
    });
    run.poll_until("amended", |r| {
        r.has(resting, |u| u.status == OrderStatus::Amended)
    });
    let at_venue = run.venue_order(resting).unwrap();
    assert_eq!(
        (at_venue.limit_price, at_venue.order_qty),
        (Some(bid - 30), 150_000)
    );
    assert_eq!(
        run.updates_of(resting).last().copied(),
        Some(OrderUpdate::amended(
            resting,
            BTC,
            Price(bid - 30),
            Qty(150_000)
        ))
    );
    // 3. A marketable buy takes the ask side: filled (in parts across levels), fees charged.
    let take = run.order(
        OrderIntent::limit(BTC, Side::Buy, Price(ask + 20), Qty(2_000_000))
            .with_tif(kspin_api::TimeInForce::Ioc),
    );
    run.poll_until("the take is final", |r| {
        r.updates_of(take).iter().any(|u| u.is_final())
    });
    let updates = run.updates_of(take);
    assert_eq!(updates[0].status, OrderStatus::Accepted);
    let venue_fills: Vec<_> = run
        .venue
        .fills()
        .into_iter()
        .filter(|f| f.side == kspin::sim::Side::Buy && f.price > bid)
        .collect();
    assert!(!venue_fills.is_empty());
    let fills: Vec<(Price, Qty)> = updates
        .iter()
        .filter_map(|u| u.fill())
        .map(|(p, q, _)| (p, q))
        .collect();
    assert_eq!(
        fills,
        venue_fills
            .iter()
            .map(|f| (Price(f.price), Qty(f.qty)))
            .collect::<Vec<_>>(),
        "every venue fill, at its price and size"
    );
    // Fees: the venue's, in the quote currency, exactly (USD at 4 decimals).
    for (u, f) in updates
        .iter()
        .filter(|u| u.fill().is_some())
        .zip(&venue_fills)
    {
        assert_eq!(u.fee.to_scale(4).unwrap(), f.fee as i64);
    }
    let position = run.core.orders().session().position(0).unwrap();
    assert_eq!(position, filled_qty(&updates));
    // 4. Three quotes in one batch: all accepted, all open at the venue.
    let quotes: Vec<ClientOrderId> = (0..3).map(|k| ClientOrderId(100 + k)).collect();
    for (k, id) in quotes.iter().enumerate() {
        let message = OrderMessage {
            batch_rest: (2 - k) as u8,
            ..OrderMessage::new(
                0,
                OrderRequest::New {
                    client_id: *id,
                    intent: OrderIntent::post_only(
                        BTC,
                        Side::Sell,
                        Price(ask + 100 + k as i64),
                        Qty(60_000),
                    ),
                },
            )
        };
        run.core.publisher_mut().waiting.push(message);
    }
    run.poll_until("batch accepted", |r| {
        quotes
            .iter()
            .all(|&id| r.has(id, |u| u.status == OrderStatus::Accepted))
    });
    assert!(quotes.iter().all(|&id| run.venue_order(id).is_some()));
    // 5. Cancel one; cancel-all the rest (one batch_cancel), the resting bid included.
    run.send(OrderRequest::Cancel {
        client_id: quotes[0],
        symbol: BTC,
    });
    run.poll_until("cancelled", |r| {
        r.has(quotes[0], |u| u.status == OrderStatus::Cancelled)
    });
    run.send(OrderRequest::CancelAll { symbol: None });
    run.poll_until("all cancelled", |r| {
        [resting, quotes[1], quotes[2]]
            .iter()
            .all(|&id| r.has(id, |u| u.status == OrderStatus::Cancelled))
    });
    assert_eq!(
        run.updates_of(resting).last().copied(),
        Some(OrderUpdate::cancelled(resting, BTC, Qty(150_000)))
    );
    assert!(run.venue.open_orders().is_empty());
    assert_eq!(run.core.orders().session().open_orders(), 0);
    let c = *run.core.orders().session().counters();
    assert_eq!((c.orders_sent, c.acks, c.amends, c.cancels), (5, 5, 1, 4));
    assert_eq!(c.rejects.iter().sum::<u64>(), 0);
}

#[test]
fn a_reconnect_with_orders_open_and_fills_meanwhile_is_reconciled_exactly() {
    let mut run = start(TradingTier::Starter, Tier::Starter, 60);
    run.venue.pause();
    let (bid, ask) = run.touch();
    // Two resting orders: one at the touch (the market will trade through it), one far away.
    let near = run.order(OrderIntent::limit(BTC, Side::Sell, Price(ask), Qty(30_000)));
    let far = run.order(OrderIntent::post_only(
        BTC,
        Side::Buy,
        Price(bid - 500),
        Qty(40_000),
    ));
    run.poll_until("both accepted", |r| {
        [near, far]
            .iter()
            .all(|&id| r.has(id, |u| u.status == OrderStatus::Accepted))
    });
    let before = run.core.orders().counters().connects;
    // Cut the authenticated connection; let the market move while the engine is away.
    run.venue.inject(FaultKind::AuthDrop);
    run.poll_until("the engine saw the drop", |r| {
        r.core.orders().counters().disconnects == 1
    });
    run.venue.resume();
    let deadline = Instant::now() + Duration::from_secs(10);
    while run.venue.fills().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    run.venue.pause();
    run.poll_until("reconnected and reconciled", |r| {
        r.core.orders().counters().connects == before + 1
            && r.core.orders().state() == TradingLinkState::Ready
    });
    // Exactly what the venue did: the near order's fills reached the strategy, once each.
    let venue_near: i64 = run
        .venue
        .fills()
        .iter()
        .filter(|f| f.side == kspin::sim::Side::Sell)
        .map(|f| f.qty)
        .sum();
    assert!(venue_near > 0, "the market traded through the near order");
    assert_eq!(filled_qty(&run.updates_of(near)), venue_near);
    assert_eq!(run.core.orders().session().position(0), Some(-venue_near));
    // The far order is confirmed open, on both sides.
    assert!(run.venue_order(far).is_some());
    assert!(run.core.orders().session().orders().find(far).is_some());
    let r = *run.core.orders().session().last_reconcile();
    assert_eq!(r.vanished, 0);
    assert!(r.open_confirmed >= 1 && r.fills_applied >= 1, "{r:?}");
    assert_eq!(run.core.orders().session().counters().reconciliations, 2);
}

#[test]
fn venue_rate_limit_refusals_are_surfaced_and_counted() {
    // The engine believes it is Pro (threshold 180); the venue holds it to Starter (60).
    let mut run = start(TradingTier::Starter, Tier::Pro, 60);
    run.venue.pause();
    let (bid, _) = run.touch();
    let ids: Vec<ClientOrderId> = (0..70)
        .map(|k| {
            run.order(OrderIntent::post_only(
                BTC,
                Side::Buy,
                Price(bid - 100 - k),
                Qty(10_000),
            ))
        })
        .collect();
    run.poll_until("every order answered", |r| {
        ids.iter().all(|&id| {
            r.has(id, |u| {
                matches!(u.status, OrderStatus::Accepted | OrderStatus::Rejected(_))
            })
        })
    });
    let c = *run.core.orders().session().counters();
    let limited = c.rejects[RejectReason::RateLimited.index()];
    assert!(limited >= 10, "{limited} rate-limit refusals");
    let refused = ids
        .iter()
        .filter(|&&id| {
            run.has(id, |u| {
                u.status == OrderStatus::Rejected(RejectReason::RateLimited)
            })
        })
        .count() as u64;
    assert_eq!(refused, limited);
    // The venue holds exactly the orders the engine was told were accepted.
    assert_eq!(run.venue.open_orders().len() as u64, 70 - limited);
    assert_eq!(
        run.core.orders().session().open_orders() as u64,
        70 - limited
    );
}

#[test]
fn the_dead_mans_switch_fires_when_the_engine_dies() {
    let mut run = start(TradingTier::Starter, Tier::Starter, 2);
    run.venue.pause();
    let (bid, _) = run.touch();
    let id = run.order(OrderIntent::post_only(
        BTC,
        Side::Buy,
        Price(bid - 100),
        Qty(20_000),
    ));
    run.poll_until("accepted", |r| {
        r.has(id, |u| u.status == OrderStatus::Accepted)
    });
    run.poll_until("switch armed", |r| {
        r.core.orders().session().counters().dead_man_refreshes >= 1
    });
    assert_eq!(run.venue.open_orders().len(), 1);
    // The engine dies without a goodbye: no cancel, no disarm.
    let Run { core, venue, .. } = run;
    std::mem::forget(core.into_parts());
    let deadline = Instant::now() + Duration::from_secs(10);
    while !venue.open_orders().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        venue.open_orders().is_empty(),
        "the venue cancelled the order by itself"
    );
}

#[test]
fn the_live_order_path_allocates_nothing_over_tls() {
    // The counter itself works (so a zero below means something).
    kspin_testkit::counting(true);
    let probe = std::hint::black_box(Vec::<u8>::with_capacity(64));
    kspin_testkit::counting(false);
    drop(probe);
    assert_eq!(kspin_testkit::take_allocations(), 1);
    let mut run = start(TradingTier::Pro, Tier::Pro, 60);
    run.venue.pause();
    let (bid, _) = run.touch();
    // A resting order amended then cancelled (rate cost 1 + 4 + 8), and an IOC order that cannot
    // fill, which the venue cancels at once (cost 1): every request kind and answer of the path.
    let full_cycle = |run: &mut Run, k: i64| {
        let id = run.order(OrderIntent::post_only(
            BTC,
            Side::Buy,
            Price(bid - 200 - k % 50),
            Qty(10_000),
        ));
        run.poll_until("accepted", |r| {
            r.has(id, |u| u.status == OrderStatus::Accepted)
        });
        run.send(OrderRequest::Amend {
            client_id: id,
            symbol: BTC,
            price: Price(bid - 300 - k % 50),
            qty: Qty(12_000),
        });
        run.poll_until("amended", |r| {
            r.has(id, |u| u.status == OrderStatus::Amended)
        });
        run.send(OrderRequest::Cancel {
            client_id: id,
            symbol: BTC,
        });
        run.poll_until("cancelled", |r| {
            r.has(id, |u| u.status == OrderStatus::Cancelled)
        });
    };
    let ioc = |run: &mut Run, k: i64| {
        let id = run.order(
            OrderIntent::limit(BTC, Side::Buy, Price(bid - 400 - k % 50), Qty(10_000))
                .with_tif(kspin_api::TimeInForce::Ioc),
        );
        run.poll_until("ioc done", |r| {
            r.has(id, |u| u.status == OrderStatus::Cancelled)
        });
    };
    // Warm-up: every request kind once, every buffer touched.
    for k in 0..2 {
        full_cycle(&mut run, k);
        ioc(&mut run, k);
    }
    run.core.publisher_mut().updates.reserve(1024);
    run.core.publisher_mut().waiting.reserve(16);
    let sent_before = run.core.orders().session().counters().orders_sent;
    kspin_testkit::take_allocations();
    kspin_testkit::counting(true);
    for k in 0..40 {
        ioc(&mut run, k);
        if k % 10 == 0 {
            full_cycle(&mut run, k);
        }
    }
    kspin_testkit::counting(false);
    let allocations = kspin_testkit::take_allocations();
    let c = *run.core.orders().session().counters();
    assert_eq!(c.orders_sent - sent_before, 44);
    assert_eq!(c.rejects.iter().sum::<u64>(), 0, "{c:?}");
    assert_eq!(
        allocations, 0,
        "{allocations} allocations on the order path"
    );
}
