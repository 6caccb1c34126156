//! `kspin bench tick-to-trade`: from the engine's read of the market-data frame that made a
//! strategy decide, to the order's bytes written on the trading socket, per stage, against a
//! bare client doing the least possible (read a frame, write a prepared order) on the same
//! loopback in the same run.
//!
//! Each run has two phases against a fresh simulated venue (same seed, same rate, its trading
//! side on, its rate limit off so that every order is answered normally):
//! - `kspin`: the engine core on its pinned core with the live order path (the venue's token
//!   endpoint, the authenticated WebSocket), one [`OrderProbe`] strategy on the strategy core
//!   that sends an IOC buy far below the touch (it never fills; the venue cancels it) on every
//!   `--order-every`-th book change once armed after the warm-up. The order link stamps every
//!   order (read → decoded → applied → published → received → submitted → dequeued → risk →
//!   encoded → written) into its histograms;
//! - `baseline`: one thread on the engine's core with two bare tungstenite clients, busy-polling
//!   the market-data socket; on every `--order-every`-th frame it writes a prepared `add_order`
//!   frame on the second socket and records read → written.
//!
//! The engine's pre-trade checks run as configured live, except the modelled rate limit (no
//! Kraken tier allows a thousand orders a second; the venue's is off too). Figures: medians over
//! `--runs` of each run's percentiles.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hdrhistogram::Histogram;
use serde_json::{json, Map, Value};

use super::conditions::{set_up_thread, ThreadSetup};
use super::engine_thread::EngineThread;
use super::report::{median_percentiles, percentiles_json};
use super::{BenchError, BenchOptions, VenuePacing};
use kspin_api::{
    Context, Event, EventKind, OrderIntent, Price, Qty, Side, Strategy, StrategySummary, SymbolId,
    TimeInForce,
};
use kspin_auth::{TokenClient, TokenService};
use kspin_core::trading::rate::Tier;
use kspin_core::trading::risk::RiskLimits;
use kspin_core::trading::session::{SessionConfig, SessionSymbol, TradingSession};
use kspin_host::{symbol_infos, Bus};
use kspin_net::{ConnLimits, Endpoint, TlsSettings, WsTransport};
use kspin_ring::IdlePolicy;
use kspin_runtime::plan::SymbolPlan;
use kspin_runtime::trading::{OrderLatency, OrderPoint, TradingLink, TradingLinkConfig};
use kspin_runtime::EngineCore;
use kspin_sim::{PacingMode, SimConfig, SimTradingConfig, SimVenue, TradingTier, VenueHandle};

/// Registry-style name of the probe strategy.
pub const ORDER_PROBE: &str = "order_probe";
/// Ticks below the best bid the probe's orders are priced at (they never fill).
const FAR_TICKS: i64 = 1_000;

/// Sends an IOC buy far below the touch on every `every`-th book change of symbol 0, once
/// `armed`. Allocation-free; counts what it sent and what came back.
pub struct OrderProbe {
    every: u32,
    seen: u32,
    armed: Arc<AtomicBool>,
    sent: u64,
    refused: u64,
    answers: u64,
}

impl OrderProbe {
    pub fn new(every: u32, armed: Arc<AtomicBool>) -> OrderProbe {
        OrderProbe {
            every: every.max(1),
            seen: 0,
            armed,
            sent: 0,
            refused: 0,
            answers: 0,
        }
    }
}

impl Strategy for OrderProbe {
    fn on_event(&mut self, event: &Event, ctx: &mut dyn Context) {
        match event.kind {
            EventKind::BookChanged(c) if c.symbol == SymbolId(0) => {
                self.seen = self.seen.wrapping_add(1);
                if self.seen % self.every != 0 || !self.armed.load(Ordering::Relaxed) {
                    return;
                }
                let Some((bid, _)) = ctx.book(c.symbol).and_then(|b| b.best_bid()) else {
                    return;
                };
                let price = Price(bid.0 - FAR_TICKS);
                if price.0 <= 0 {
                    return;
                }
                let intent = OrderIntent::limit(c.symbol, Side::Buy, price, Qty(10_000))
                    .with_tif(TimeInForce::Ioc);
                match ctx.submit(intent) {
                    Ok(_) => self.sent += 1,
                    Err(_) => self.refused += 1,
                }
            }
            EventKind::Order(_) => self.answers += 1,
            _ => {}
        }
    }

    fn summary(&self) -> StrategySummary {
        StrategySummary::new()
            .count("orders_sent", self.sent)
            .count("submit_refused", self.refused)
            .count("order_updates", self.answers)
    }
}

fn plan(opts: &BenchOptions) -> Vec<SymbolPlan> {
    opts.symbols
        .iter()
        .map(|s| SymbolPlan {
            symbol: s.clone(),
            depth: opts.depth,
            book: true,
            trade: opts.trades,
            ticker: false,
            precision: kspin_sim::pairs::find_pair(s).map(|p| (p.price_precision, p.qty_precision)),
        })
        .collect()
}

/// Book changes between two orders: about a thousand orders a second at the venue's rate.
pub fn order_every(opts: &BenchOptions) -> u32 {
    if opts.order_every > 0 {
        opts.order_every
    } else {
        (opts.rate / 1_000).clamp(1, u64::from(u32::MAX)) as u32
    }
}

fn start_venue(opts: &BenchOptions) -> Result<VenueHandle, BenchError> {
    Ok(SimVenue::start(SimConfig {
        rate_per_sec: opts.rate as u32,
        seed: opts.seed,
        symbols: opts.symbols.clone(),
        pacing: match opts.venue_pacing {
            VenuePacing::Spin => PacingMode::Spin,
            VenuePacing::SpinYield => PacingMode::SpinYield,
        },
        core: Some(opts.venue_core),
        trading: Some(SimTradingConfig {
            tier: TradingTier::Pro,
            rate_limit: false,
            ..SimTradingConfig::default()
        }),
        ..SimConfig::default()
    })?)
}

fn setup_error(e: impl std::fmt::Display) -> BenchError {
    BenchError::Setup(e.to_string())
}

/// One kspin phase: the order link's histograms and the threads.
struct KspinPhase {
    latency: OrderLatency,
    threads: Vec<ThreadSetup>,
    orders: u64,
    rejects: u64,
}

fn run_kspin(opts: &BenchOptions, clock: &quanta::Clock) -> Result<KspinPhase, BenchError> {
    let venue = start_venue(opts)?;
    let result = kspin_phase(opts, clock, &venue);
    venue.stop();
    result
}

fn kspin_phase(
    opts: &BenchOptions,
    clock: &quanta::Clock,
    venue: &VenueHandle,
) -> Result<KspinPhase, BenchError> {
    let plan = plan(opts);
    let mut cfg = kspin_runtime::CoreConfig::new(plan.clone());
    cfg.stall_timeout = Duration::from_secs(10);
    cfg.ping_interval = Duration::from_secs(30);
    let market = super::loopback_transport(&Endpoint::parse(&venue.url()).map_err(setup_error)?)?;
    let auth_url = venue
        .auth_url()
        .ok_or_else(|| setup_error("no trading side"))?;
    let auth = WsTransport::new(
        &Endpoint::parse(&auth_url).map_err(setup_error)?,
        &TlsSettings::default(),
        ConnLimits::default(),
    )
    .map_err(setup_error)?;
    let session = TradingSession::new(SessionConfig {
        symbols: plan
            .iter()
            .map(|p| {
                let (ps, qs) = p.precision.unwrap_or((0, 0));
                SessionSymbol {
                    name: p.symbol.clone(),
                    price_scale: ps,
                    qty_scale: qs,
                }
            })
            .collect(),
        strategies: 1,
        limits: vec![RiskLimits::unlimited(); plan.len()],
        tier: Tier::Pro,
        max_open_per_pair: Tier::Pro.max_open_orders(),
        order_slots: 4096,
        validate: false,
        cancel_unknown_orders: false,
        run_id: 0x7474_7400,
        dead_man_timeout_s: 0,
        writer_capacity: 64 << 10,
        enforce_rate_limit: false,
    })
    .map_err(setup_error)?;
    let client = TokenClient::new(
        &venue
            .rest_url()
            .ok_or_else(|| setup_error("no token endpoint"))?,
        None,
        Duration::from_secs(5),
    )
    .map_err(setup_error)?;
    let credentials = venue
        .credentials()
        .ok_or_else(|| setup_error("no credentials"))?;
    let tokens = TokenService::spawn(client, credentials, |m| eprintln!("kspin bench: {m}"))
        .map_err(setup_error)?;
    let epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let link_cfg = TradingLinkConfig {
        cancel_on_exit: false,
        ..TradingLinkConfig::new(epoch)
    };
    let link = TradingLink::new(
        link_cfg,
        session,
        auth,
        tokens,
        Arc::new(AtomicBool::new(false)),
        clock.clone(),
    )
    .map_err(setup_error)?;

    let armed = Arc::new(AtomicBool::new(false));
    let mut bus = Bus::new(&symbol_infos(&plan));
    bus.set_orders_live(true);
    let shares = opts.strategy_core == opts.venue_core || opts.strategy_core == opts.engine_core;
    let idle = if shares {
        IdlePolicy::SHARED_CORE
    } else {
        IdlePolicy::Spin
    };
    let handle = bus
        .add_strategy(
            ORDER_PROBE,
            Some(opts.strategy_core),
            Box::new(OrderProbe::new(order_every(opts), armed.clone())),
            1 << 14,
            idle,
        )
        .map_err(setup_error)?;
    let strategy_stop = Arc::new(AtomicBool::new(false));
    let strategy = handle.spawn(strategy_stop.clone()).map_err(setup_error)?;
    let core = EngineCore::with_orders(cfg, bus, market, link, clock.clone())?;
    let thread = EngineThread::spawn(opts, core)?;
    std::thread::sleep(Duration::from_secs_f64(opts.warmup));
    armed.store(true, Ordering::Relaxed);
    std::thread::sleep(Duration::from_secs_f64(opts.seconds));
    armed.store(false, Ordering::Relaxed);
    let (core, engine_setup) = thread.stop()?;
    strategy_stop.store(true, Ordering::Release);
    let report = strategy.join().map_err(setup_error)?;
    let (_, link) = core.into_parts();
    let c = link.session().counters();
    Ok(KspinPhase {
        latency: link.latency().clone(),
        threads: vec![
            engine_setup,
            ThreadSetup {
                role: if shares {
                    "strategy host (order_probe; spins, then yields when idle)"
                } else {
                    "strategy host (order_probe; busy-poll)"
                },
                core: opts.strategy_core,
                pinned: matches!(report.pinning, kspin_host::Pinning::Pinned(_)),
                rt: None,
            },
        ],
        orders: c.orders_sent,
        rejects: c.rejects.iter().sum(),
    })
}

/// The baseline phase: read → prepared order written, with bare tungstenite clients.
fn run_baseline(
    opts: &BenchOptions,
    clock: &quanta::Clock,
) -> Result<(Histogram<u64>, ThreadSetup), BenchError> {
    let venue = start_venue(opts)?;
    let result = baseline_phase(opts, clock, &venue);
    venue.stop();
    result
}

fn baseline_phase(
    opts: &BenchOptions,
    clock: &quanta::Clock,
    venue: &VenueHandle,
) -> Result<(Histogram<u64>, ThreadSetup), BenchError> {
    let requests = kspin_runtime::requests::Requests::render(&plan(opts)).map_err(setup_error)?;
    let subscriptions: Vec<String> = requests
        .books
        .iter()
        .chain(requests.others.iter())
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .collect();
    let (market_url, market_addr) = (venue.url(), venue.local_addr());
    let auth_url = venue
        .auth_url()
        .ok_or_else(|| setup_error("no trading side"))?;
    let auth_addr = venue
        .auth_addr()
        .ok_or_else(|| setup_error("no trading side"))?;
    // The order the engine would write, prepared once: same size and shape.
    let symbol = opts.symbols.first().cloned().unwrap_or_default();
    let prepared: tungstenite::Utf8Bytes = format!(
        r#"{{"method":"add_order","params":{{"order_type":"limit","side":"buy","order_qty":0.00010000,"symbol":"{symbol}","limit_price":1.0,"time_in_force":"ioc","cl_ord_id":"7474740000000000000000000000000a","token":"BASELINEaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}},"req_id":1}}"#
    )
    .into();
    let every = order_every(opts);
    let stop = Arc::new(AtomicBool::new(false));
    let armed = Arc::new(AtomicBool::new(false));
    let (thread_stop, thread_armed) = (stop.clone(), armed.clone());
    let (engine_core, rt, client_clock) = (opts.engine_core, opts.rt, clock.clone());
    let thread = std::thread::Builder::new()
        .name("kspin-bench-baseline".into())
        .spawn(move || -> Result<(Histogram<u64>, ThreadSetup), String> {
            let setup = set_up_thread("baseline client (tungstenite, busy-poll)", engine_core, rt);
            let mut hist = Histogram::<u64>::new_with_bounds(1, 10_000_000_000, 3)
                .map_err(|e| e.to_string())?;
            let connect = |addr, url: &str| -> Result<_, String> {
                let tcp = std::net::TcpStream::connect(addr).map_err(|e| e.to_string())?;
                tcp.set_nodelay(true).map_err(|e| e.to_string())?;
                let (ws, _) = tungstenite::client(url, tcp).map_err(|e| e.to_string())?;
                Ok(ws)
            };
            let mut market = connect(market_addr, &market_url)?;
            let mut orders = connect(auth_addr, &auth_url)?;
            for text in subscriptions {
                market
                    .send(tungstenite::Message::Text(text.into()))
                    .map_err(|e| e.to_string())?;
            }
            for ws in [&market, &orders] {
                ws.get_ref()
                    .set_nonblocking(true)
                    .map_err(|e| e.to_string())?;
            }
            let mut seen = 0u32;
            while !thread_stop.load(Ordering::Relaxed) {
                match market.read() {
                    Ok(tungstenite::Message::Text(_)) => {
                        let read = client_clock.raw();
                        seen = seen.wrapping_add(1);
                        if seen % every == 0 && thread_armed.load(Ordering::Relaxed) {
                            orders
                                .send(tungstenite::Message::Text(prepared.clone()))
                                .map_err(|e| e.to_string())?;
                            let written = client_clock.raw();
                            hist.saturating_record(
                                client_clock.delta_as_nanos(read, written).max(1),
                            );
                        }
                    }
                    Ok(_) => {}
                    Err(tungstenite::Error::Io(e))
                        if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e.to_string()),
                }
                // The venue answers every order (an error: no session): keep its socket drained.
                match orders.read() {
                    Ok(_) => {}
                    Err(tungstenite::Error::Io(e))
                        if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e.to_string()),
                }
            }
            Ok((hist, setup))
        })
        .map_err(setup_error)?;
    std::thread::sleep(Duration::from_secs_f64(opts.warmup));
    armed.store(true, Ordering::Relaxed);
    std::thread::sleep(Duration::from_secs_f64(opts.seconds));
    stop.store(true, Ordering::Relaxed);
    thread
        .join()
        .map_err(|_| BenchError::Panicked)?
        .map_err(BenchError::Floor)
}

/// Everything `kspin bench tick-to-trade` measured.
pub struct TickToTrade {
    pub figures: Map<String, Value>,
    pub threads: Vec<Value>,
    /// Merged over runs, for the `.hgrm` files: (name, histogram).
    pub merged: Vec<(String, Histogram<u64>)>,
}

/// Runs `opts.runs` pairs of phases and gathers the figures.
pub fn run(opts: &BenchOptions, clock: &quanta::Clock) -> Result<TickToTrade, BenchError> {
    let mut per_run: Vec<Map<String, Value>> = Vec::new();
    let mut merged: Vec<(String, Histogram<u64>)> = Vec::new();
    let mut threads = Vec::new();
    let (mut orders, mut rejects) = (0, 0);
    for run in 0..opts.runs {
        eprintln!("kspin bench tick-to-trade: run {}/{}", run + 1, opts.runs);
        let kspin = run_kspin(opts, clock)?;
        let (baseline, baseline_setup) = run_baseline(opts, clock)?;
        orders += kspin.orders;
        rejects += kspin.rejects;
        let mut m = Map::new();
        let lat = &kspin.latency;
        let mut add = |name: String, h: &Histogram<u64>, m: &mut Map<String, Value>| {
            m.insert(name.clone(), percentiles_json(h));
            match merged.iter_mut().find(|(n, _)| *n == name) {
                Some((_, all)) => {
                    let _ = all.add(h);
                }
                None => merged.push((name, h.clone())),
            }
        };
        add("tick_to_trade".into(), &lat.tick_to_trade, &mut m);
        add("engine".into(), &lat.engine, &mut m);
        add(
            "engine_before_write".into(),
            &lat.engine_before_write,
            &mut m,
        );
        add("baseline".into(), &baseline, &mut m);
        for (from, to, h) in lat.steps() {
            add(format!("{}_to_{}", from.name(), to.name()), h, &mut m);
        }
        per_run.push(m);
        if run == 0 {
            threads = kspin
                .threads
                .iter()
                .chain(std::iter::once(&baseline_setup))
                .map(ThreadSetup::to_json)
                .collect();
        }
    }
    let mut figures = Map::new();
    for (name, _) in &merged {
        let runs: Vec<Value> = per_run
            .iter()
            .filter_map(|m| m.get(name).cloned())
            .collect();
        figures.insert(format!("{name}_ns"), median_percentiles(&runs));
    }
    let p50 = |key: &str| figures[key]["p50"].as_f64().unwrap_or(0.0);
    let (t2t, engine, baseline) = (
        p50("tick_to_trade_ns"),
        p50("engine_ns"),
        p50("baseline_ns"),
    );
    let before_write = p50("engine_before_write_ns");
    let ratio = if baseline > 0.0 {
        (t2t / baseline * 100.0).round() / 100.0
    } else {
        0.0
    };
    figures.insert("ratio_p50_to_baseline".into(), json!(ratio));
    figures.insert(
        "targets".into(),
        json!({
            "engine_p50_le_1us": engine <= 1_000.0,
            "engine_before_write_p50_le_1us": before_write <= 1_000.0,
            "tick_to_trade_p50_le_3us": t2t <= 3_000.0,
            "strategy_has_own_core": opts.strategy_core != opts.venue_core && opts.strategy_core != opts.engine_core,
        }),
    );
    figures.insert("orders".into(), json!(orders));
    figures.insert("order_rejects".into(), json!(rejects));
    figures.insert("order_every".into(), json!(order_every(opts)));
    figures.insert(
        "points".into(),
        json!(OrderPoint::ALL.iter().map(|p| p.name()).collect::<Vec<_>>()),
    );
    Ok(TickToTrade {
        figures,
        threads,
        merged,
    })
}
