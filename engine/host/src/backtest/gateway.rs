//! [`Gateway`]: the engine's side of the deterministic replay's order path — what the live
//! session does on the engine core, without a connection. Each request a strategy sends passes
//! the live pre-trade checks ([`kspin_core::trading::pretrade`], with the configuration's resolved
//! [`RiskLimits`], the strategy's worst-case [`Exposure`], the pair's open orders, the order
//! table and Kraken's modelled rate counter) at the moment it is sent; a refusal is answered at
//! once with the same [`RejectReason`] as live. What passes is booked (exposure, counts, rate)
//! and leaves for the paper venue, where it arrives after the latency model's delay. Requests of
//! one strategy never overtake each other (one connection): each arrives no earlier than the one
//! sent before it.
//!
//! Owns the engine's view of every order (side, price, quantity, fills, a change in flight), the
//! exposure, the counters of the checks and the requests in flight, ordered by arrival (ties by
//! sending order). Invariants: exposure and counts change exactly as the live session's do for
//! the same updates; no panic on any request. It allocates (the replay tool's, not the core's).

use std::collections::BTreeMap;

use kspin_api::{
    ClientOrderId, OrderIntent, OrderMessage, OrderRequest, OrderStatus, OrderType, OrderUpdate,
    Price, Qty, RejectReason, Side, SymbolId, SymbolInfo, SystemStatus,
};
use kspin_core::trading::pretrade::{self, Capacity, Gate, RateCheck, Standing, WorkingOrder};
use kspin_core::trading::rate::{self, RateCounter, Tier};
use kspin_core::trading::risk::{Exposure, RiskLimits, Touch};

use super::latency::LatencyModel;
use crate::BookSource;

/// The live limits and capacities the checks use.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// `limits[strategy * symbols + symbol]`, as `[trading]` resolves them.
    pub limits: Vec<RiskLimits>,
    /// Open orders per pair the engine allows itself (all strategies).
    pub max_open_per_pair: u32,
    /// Orders open or in flight at once (all strategies).
    pub order_slots: usize,
    /// The account's tier: the rate counter's threshold and decay.
    pub tier: Tier,
}

/// An order as the engine knows it.
#[derive(Debug, Clone, Copy)]
struct EngineOrder {
    strategy: usize,
    symbol: SymbolId,
    side: Side,
    order_type: OrderType,
    price: Price,
    qty: i64,
    filled: i64,
    change_pending: bool,
    placed_ns: u64,
}

impl EngineOrder {
    fn remaining(&self) -> i64 {
        (self.qty - self.filled).max(0)
    }
}

/// A request on its way to the venue.
#[derive(Debug, Clone, Copy)]
pub struct InFlight {
    pub strategy: usize,
    pub request: OrderRequest,
}

/// See the module docs.
#[derive(Debug)]
pub struct Gateway {
    cfg: GatewayConfig,
    /// `(price_scale, qty_scale)` per symbol.
    scales: Vec<(u8, u8)>,
    exposure: Vec<Exposure>,
    open_per_symbol: Vec<u32>,
    rate: Vec<RateCounter>,
    orders: BTreeMap<ClientOrderId, EngineOrder>,
    /// By (arrival ns, sending order).
    in_flight: BTreeMap<(u64, u64), InFlight>,
    sent: u64,
    /// Per strategy: when its last request arrives.
    last_arrival: Vec<u64>,
    latency: LatencyModel,
    system: SystemStatus,
    /// A batch being collected (its messages come together): strategy and messages.
    batch: Vec<(usize, OrderMessage)>,
    /// Requests taken from the strategies (orders, cancels, amends, cancel-alls).
    pub requests: Vec<u64>,
}

impl Gateway {
    /// A gateway for `strategies` strategies over `symbols`. `cfg.limits` must hold one entry
    /// per strategy and symbol (missing entries refuse as `BookNotLive`).
    pub fn new(
        cfg: GatewayConfig,
        symbols: &[SymbolInfo],
        strategies: usize,
        latency: LatencyModel,
    ) -> Gateway {
        let n = symbols.len();
        Gateway {
            scales: symbols
                .iter()
                .map(|s| (s.price_scale, s.qty_scale))
                .collect(),
            exposure: vec![Exposure::default(); strategies * n],
            open_per_symbol: vec![0; n],
            rate: vec![RateCounter::new(cfg.tier); n],
            orders: BTreeMap::new(),
            in_flight: BTreeMap::new(),
            sent: 0,
            last_arrival: vec![0; strategies],
            latency,
            system: SystemStatus::Unknown,
            batch: Vec::new(),
            requests: vec![0; strategies],
            cfg,
        }
    }

    pub fn set_system(&mut self, system: SystemStatus) {
        self.system = system;
    }

    /// When the next request reaches the venue (`u64::MAX`: none in flight).
    pub fn next_arrival(&self) -> u64 {
        self.in_flight.keys().next().map_or(u64::MAX, |&(at, _)| at)
    }

    /// The next request that has reached the venue by `now_ns`, in arrival order.
    pub fn pop_arrived(&mut self, now_ns: u64) -> Option<InFlight> {
        let (&key, _) = self.in_flight.iter().next()?;
        if key.0 > now_ns {
            return None;
        }
        self.in_flight.remove(&key)
    }

    /// Requests in flight.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// The side of a known order (for the strategy's ledger).
    pub fn side_of(&self, id: ClientOrderId) -> Option<Side> {
        self.orders.get(&id).map(|o| o.side)
    }

    fn gate(&self) -> Gate {
        Gate {
            killed: false,
            ready: true,
            system: self.system,
        }
    }

    /// The touch of `symbol`'s book if it is live at the strategies' scales.
    fn touch<B: BookSource + ?Sized>(&self, books: &B, symbol: usize) -> Option<Touch> {
        let &(ps, qs) = self.scales.get(symbol)?;
        let (book, live) = books.current_book(symbol)?;
        if !live || book.price_scale() != ps || book.qty_scale() != qs {
            return None;
        }
        Some(Touch {
            bid: book.best_bid().map(|(p, _)| p),
            ask: book.best_ask().map(|(p, _)| p),
        })
    }

    fn index(&self, strategy: usize, symbol: usize) -> usize {
        strategy * self.scales.len() + symbol
    }

    /// Takes one request of `strategy` at `now_ns`: refusals go to `refused` (strategy,
    /// update) at once, what passes leaves for the venue. Returns the symbol of a new order
    /// (sent or refused) for the ledger, with whether it passed.
    pub fn take<B: BookSource + ?Sized>(
        &mut self,
        strategy: usize,
        message: &OrderMessage,
        books: &B,
        now_ns: u64,
        refused: &mut Vec<(usize, OrderUpdate)>,
    ) -> Vec<(SymbolId, bool)> {
        if let Some(r) = self.requests.get_mut(strategy) {
            *r += 1;
        }
        let mut orders = Vec::new();
        match message.request {
            OrderRequest::New { .. } if message.batch_rest > 0 || !self.batch.is_empty() => {
                self.batch.push((strategy, *message));
                if message.batch_rest == 0 || self.batch.len() >= kspin_api::MAX_BATCH {
                    let batch = core::mem::take(&mut self.batch);
                    self.send_batch(&batch, books, now_ns, refused, &mut orders);
                }
            }
            OrderRequest::New { client_id, intent } => {
                let verdict = self.check_new(strategy, &intent, books, 0, true, now_ns);
                orders.push((intent.symbol, verdict.is_ok()));
                match verdict {
                    Err(reason) => refused.push((
                        strategy,
                        OrderUpdate::rejected(client_id, intent.symbol, reason),
                    )),
                    Ok(()) => {
                        self.open(strategy, client_id, &intent, now_ns, rate::add_cost());
                        self.dispatch(strategy, message.request, now_ns);
                    }
                }
            }
            OrderRequest::Cancel { client_id, symbol } => {
                let Some(order) = self.own(strategy, client_id) else {
                    let update =
                        OrderUpdate::rejected(client_id, symbol, RejectReason::UnknownOrder);
                    refused.push((strategy, update));
                    return orders;
                };
                if order.change_pending {
                    return orders; // already asked; the answer is coming
                }
                self.charge(
                    order.symbol,
                    rate::cancel_cost(now_ns.saturating_sub(order.placed_ns)),
                    now_ns,
                );
                self.set_pending(client_id, true);
                self.dispatch(strategy, message.request, now_ns);
            }
            OrderRequest::Amend {
                client_id,
                symbol,
                price,
                qty,
            } => {
                let Some(order) = self.own(strategy, client_id) else {
                    let update =
                        OrderUpdate::rejected(client_id, symbol, RejectReason::UnknownOrder);
                    refused.push((strategy, update));
                    return orders;
                };
                let s = order.symbol.index();
                let i = self.index(strategy, s);
                let touch = self.touch(books, s);
                let standing = Standing {
                    touch,
                    limits: self.cfg.limits.get(i),
                    exposure: self.exposure.get(i),
                };
                let working = WorkingOrder {
                    order_type: order.order_type,
                    side: order.side,
                    price: order.price,
                    filled: Qty(order.filled),
                    remaining: Qty(order.remaining()),
                    change_pending: order.change_pending,
                };
                let cost = rate::amend_cost(now_ns.saturating_sub(order.placed_ns));
                let rate_check = self.rate.get(s).map(|counter| RateCheck { counter, cost });
                let verdict = pretrade::check_amend_order(
                    &self.gate(),
                    &standing,
                    &working,
                    price,
                    qty,
                    rate_check,
                    now_ns,
                );
                if let Err(reason) = verdict {
                    let update = OrderUpdate::change_rejected(client_id, symbol, reason, false);
                    refused.push((strategy, update));
                    return orders;
                }
                self.charge(order.symbol, cost, now_ns);
                self.set_pending(client_id, true);
                self.dispatch(strategy, message.request, now_ns);
            }
            OrderRequest::CancelAll { symbol } => {
                let mine: Vec<(ClientOrderId, SymbolId, u64)> = self
                    .orders
                    .iter()
                    .filter(|(_, o)| {
                        o.strategy == strategy
                            && !o.change_pending
                            && symbol.is_none_or(|s| s == o.symbol)
                    })
                    .map(|(id, o)| (*id, o.symbol, o.placed_ns))
                    .collect();
                for (id, symbol, placed) in mine {
                    self.charge(
                        symbol,
                        rate::cancel_cost(now_ns.saturating_sub(placed)),
                        now_ns,
                    );
                    self.set_pending(id, true);
                }
                self.dispatch(strategy, message.request, now_ns);
            }
            OrderRequest::Resnapshot { .. } => {}
        }
        orders
    }

    /// The checks of a new order ([`pretrade::check_new_order`]); `batch_extra` orders of its
    /// batch passed before it; `with_rate` checks the rate counter for one `add_order`.
    fn check_new<B: BookSource + ?Sized>(
        &self,
        strategy: usize,
        intent: &OrderIntent,
        books: &B,
        batch_extra: u32,
        with_rate: bool,
        now_ns: u64,
    ) -> Result<(), RejectReason> {
        let s = intent.symbol.index();
        let i = self.index(strategy, s);
        let standing = Standing {
            touch: self.touch(books, s),
            limits: self.cfg.limits.get(i),
            exposure: self.exposure.get(i),
        };
        let capacity = Capacity {
            open_on_pair: self.open_per_symbol.get(s).copied().unwrap_or(0) + batch_extra,
            max_open_per_pair: self.cfg.max_open_per_pair,
            table_full: self.orders.len() + batch_extra as usize >= self.cfg.order_slots,
        };
        let rate_check = match self.rate.get(s) {
            Some(counter) if with_rate => Some(RateCheck {
                counter,
                cost: rate::add_cost(),
            }),
            _ => None,
        };
        pretrade::check_new_order(
            &self.gate(),
            &standing,
            &capacity,
            rate_check,
            now_ns,
            intent,
        )
    }

    /// A batch is checked whole (each order as if the ones before it were open, then the
    /// batch's rate cost once) and sent or refused whole, as live.
    fn send_batch<B: BookSource + ?Sized>(
        &mut self,
        batch: &[(usize, OrderMessage)],
        books: &B,
        now_ns: u64,
        refused: &mut Vec<(usize, OrderUpdate)>,
        orders: &mut Vec<(SymbolId, bool)>,
    ) {
        let intents: Vec<(usize, ClientOrderId, OrderIntent)> = batch
            .iter()
            .filter_map(|(strategy, m)| match m.request {
                OrderRequest::New { client_id, intent } => Some((*strategy, client_id, intent)),
                _ => None,
            })
            .collect();
        let Some(&(strategy, _, first)) = intents.first() else {
            return;
        };
        let i = self.index(strategy, first.symbol.index());
        let saved = self.exposure.get(i).copied();
        let mut verdict = Ok(());
        for (k, (s, _, intent)) in intents.iter().enumerate() {
            if *s != strategy || intent.symbol != first.symbol {
                verdict = Err(RejectReason::BadParameters);
                break;
            }
            verdict = self.check_new(strategy, intent, books, k as u32, false, now_ns);
            if verdict.is_err() {
                break;
            }
            if let Some(e) = self.exposure.get_mut(i) {
                e.open(intent.side, intent.qty.0);
            }
        }
        if let (Some(e), Some(saved)) = (self.exposure.get_mut(i), saved) {
            *e = saved;
        }
        let cost = rate::batch_add_cost(intents.len());
        if verdict.is_ok()
            && self
                .rate
                .get(first.symbol.index())
                .is_some_and(|r| r.would_exceed(cost, now_ns))
        {
            verdict = Err(RejectReason::Refused(kspin_api::RiskReason::RateLimit));
        }
        for (k, (_, client_id, intent)) in intents.iter().enumerate() {
            orders.push((intent.symbol, verdict.is_ok()));
            match verdict {
                Err(reason) => refused.push((
                    strategy,
                    OrderUpdate::rejected(*client_id, intent.symbol, reason),
                )),
                Ok(()) => {
                    let cost = if k == 0 { cost } else { 0 };
                    self.open(strategy, *client_id, intent, now_ns, cost);
                    let request = OrderRequest::New {
                        client_id: *client_id,
                        intent: *intent,
                    };
                    self.dispatch(strategy, request, now_ns);
                }
            }
        }
    }

    fn own(&self, strategy: usize, id: ClientOrderId) -> Option<EngineOrder> {
        self.orders
            .get(&id)
            .filter(|o| o.strategy == strategy)
            .copied()
    }

    fn set_pending(&mut self, id: ClientOrderId, pending: bool) {
        if let Some(o) = self.orders.get_mut(&id) {
            o.change_pending = pending;
        }
    }

    fn charge(&mut self, symbol: SymbolId, cost: u32, now_ns: u64) {
        if let Some(r) = self.rate.get_mut(symbol.index()) {
            r.charge(cost, now_ns);
        }
    }

    /// Books a new order that passed: exposure, the pair's count, the rate counter, the table.
    fn open(
        &mut self,
        strategy: usize,
        id: ClientOrderId,
        intent: &OrderIntent,
        now_ns: u64,
        cost: u32,
    ) {
        let s = intent.symbol.index();
        let i = self.index(strategy, s);
        if let Some(e) = self.exposure.get_mut(i) {
            e.open(intent.side, intent.qty.0);
        }
        if let Some(c) = self.open_per_symbol.get_mut(s) {
            *c += 1;
        }
        self.charge(intent.symbol, cost, now_ns);
        self.orders.insert(
            id,
            EngineOrder {
                strategy,
                symbol: intent.symbol,
                side: intent.side,
                order_type: intent.order_type,
                price: intent.price,
                qty: intent.qty.0,
                filled: 0,
                change_pending: false,
                placed_ns: now_ns,
            },
        );
    }

    /// Sends a request: it arrives after the drawn latency, never before the strategy's
    /// previous one.
    fn dispatch(&mut self, strategy: usize, request: OrderRequest, now_ns: u64) {
        let earliest = self.last_arrival.get(strategy).copied().unwrap_or(0);
        let at = now_ns.saturating_add(self.latency.draw()).max(earliest);
        if let Some(last) = self.last_arrival.get_mut(strategy) {
            *last = at;
        }
        self.sent += 1;
        self.in_flight
            .insert((at, self.sent), InFlight { strategy, request });
    }

    /// An update the venue sent about one of `strategy`'s orders: the engine's view, the
    /// exposure and the pair's count follow it, as live.
    pub fn on_update(&mut self, strategy: usize, update: &OrderUpdate) {
        let id = update.client_id;
        let Some(mut order) = self.own(strategy, id) else {
            return;
        };
        let i = self.index(strategy, order.symbol.index());
        let mut closed = false;
        match update.status {
            OrderStatus::Accepted => {}
            OrderStatus::Filled => {
                let qty = update.fill_qty.0;
                order.filled = order.filled.saturating_add(qty);
                if let Some(e) = self.exposure.get_mut(i) {
                    e.fill(order.side, qty);
                }
                closed = update.remaining.0 == 0;
            }
            OrderStatus::Cancelled | OrderStatus::Rejected(_) => closed = true,
            OrderStatus::Amended => {
                let old = order.remaining();
                let new = update.remaining.0;
                if let Some(e) = self.exposure.get_mut(i) {
                    e.reduce(order.side, old);
                    match order.side {
                        Side::Buy => e.open_buy = e.open_buy.saturating_add(new),
                        Side::Sell => e.open_sell = e.open_sell.saturating_add(new),
                    }
                }
                order.qty = order.filled.saturating_add(new);
                if let Some(p) = update.amended_price() {
                    order.price = p;
                }
                order.change_pending = false;
            }
            OrderStatus::AmendRejected(_) | OrderStatus::CancelRejected(_) => {
                order.change_pending = false;
            }
        }
        if closed {
            if let Some(e) = self.exposure.get_mut(i) {
                e.close(order.side, order.remaining());
            }
            if let Some(c) = self.open_per_symbol.get_mut(order.symbol.index()) {
                *c = c.saturating_sub(1);
            }
            self.orders.remove(&id);
        } else {
            self.orders.insert(id, order);
        }
    }
}
