//! [`TradingSession`]: the order path of live trading, between the strategies' requests and the
//! authenticated connection, with no I/O of its own.
//!
//! Requests come in as [`OrderMessage`]s taken from a strategy's intent ring
//! ([`TradingSession::on_request`]); each new order passes the pre-trade checks — kill switch,
//! connection, venue status, a live book at the strategy's scales, the strategy's
//! [`RiskLimits`] against its worst-case [`Exposure`], the venue's open orders per pair, the
//! modelled rate counter — then takes a slot in the [`OrderTable`], is encoded by the
//! [`OrderWriter`] with a `cl_ord_id` naming its slot, and is written through the caller's
//! [`SessionIo`]. Refusals go back to the strategy as typed [`RejectReason`]s and are counted.
//! The venue's answers and execution reports come in as decoded messages
//! ([`TradingSession::on_message`], in `reports.rs`) and become [`OrderUpdate`]s, fills,
//! positions and, after a reconnect, a reconciliation of what the engine believed with the
//! venue's snapshot (`reconcile.rs`).
//!
//! Invariants: nothing allocates after [`TradingSession::new`]; no request leaves before every
//! check passed; every request carries a `req_id` whose low 16 bits name the slot it concerns
//! (or [`NO_SLOT`]); a strategy hears `Accepted` before any fill of an order and exactly one
//! final update per order; the session never formats, logs or reads a clock (time is given in
//! nanoseconds since the Unix epoch), and the token never leaves the writer.

mod changes;
mod placing;
mod reconcile;
mod reports;
#[cfg(test)]
mod tests;

use kspin_api::{
    ClientOrderId, OrderMessage, OrderRequest, OrderUpdate, RejectReason, RiskReason, SystemStatus,
};

use super::cl_ord_id::ClOrdIdCodec;
use super::orders::{LiveOrder, OrderPhase, OrderTable, VenueOrderId};
use super::rate::{RateCounter, Tier};
use super::risk::{Exposure, RiskLimits};
use super::writer::{OrderWriteError, OrderWriter};
use crate::feed::Feed;

pub use reconcile::ReconcileReport;
pub use reports::BalanceTable;

/// The low 16 bits of a `req_id` that concerns no single slot (cancel-all, the dead man's
/// switch, subscriptions). Slots are below [`super::orders::MAX_ORDER_SLOTS`].
pub const NO_SLOT: u64 = 0xFFFF;
/// Most orders one `batch_cancel` names (batch_cancel docs: "up to 50").
pub const MAX_BATCH_CANCEL: usize = 50;
/// Kraken's batch_add limit (batch_add docs: 2 to 15 orders).
const MAX_BATCH_ADD: usize = kspin_api::MAX_BATCH;

/// A symbol as the session trades it: Kraken's name and the scales strategies' mantissas use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSymbol {
    pub name: String,
    pub price_scale: u8,
    pub qty_scale: u8,
}

/// Everything the session is built from (resolved from the config at start-up).
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// In feed order: `symbols[i]` is the feed's (and strategies') symbol `i`.
    pub symbols: Vec<SessionSymbol>,
    pub strategies: usize,
    /// `limits[strategy * symbols.len() + symbol]`.
    pub limits: Vec<RiskLimits>,
    /// The account's Kraken tier: rate-counter threshold and decay, open orders per pair.
    pub tier: Tier,
    /// Open orders per pair the engine allows itself (at most the tier's).
    pub max_open_per_pair: u32,
    /// Order-table slots (orders in flight at once, all strategies).
    pub order_slots: usize,
    /// Kraken's `validate` flag on every order: validated by the venue, never placed.
    pub validate: bool,
    /// Cancel open orders the venue reports that this run did not place.
    pub cancel_unknown_orders: bool,
    /// The per-run prefix of every `cl_ord_id` (drawn at start-up).
    pub run_id: u32,
    /// The dead man's switch timeout sent by [`TradingSession::refresh_dead_man`] (0: off).
    pub dead_man_timeout_s: u32,
    /// Request buffer size.
    pub writer_capacity: usize,
    /// Refuse orders the modelled rate counter says the venue would refuse (always, but in
    /// latency benchmarks against a venue whose rate limit is off).
    pub enforce_rate_limit: bool,
}

/// What the session needs from its caller: a way to write a request and a way to reach a
/// strategy. Called synchronously; implementations must not allocate or block.
pub trait SessionIo {
    /// Writes one request; `false` when the connection failed (the request did not go out).
    fn send(&mut self, frame: &[u8]) -> bool;
    /// An order update for strategy `strategy`.
    fn update(&mut self, strategy: usize, update: OrderUpdate);
    /// A stage of the order path was reached (tick-to-trade stamps).
    #[inline]
    fn stage(&mut self, _stage: OrderStage) {}
}

/// The stages of one order's way out, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStage {
    /// Every pre-trade check passed.
    RiskPassed,
    /// The request's bytes are ready.
    Encoded,
}

/// The session's counters (the `trading` object of `kspin run --json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TradingCounters {
    /// New orders written (a batch counts each order).
    pub orders_sent: u64,
    /// Requests written of any kind (orders, cancels, amends, subscriptions, dead man's switch).
    pub requests_sent: u64,
    /// Orders the venue acknowledged.
    pub acks: u64,
    /// Fills applied.
    pub fills: u64,
    /// Orders that ended cancelled or expired.
    pub cancels: u64,
    /// Amends that took effect.
    pub amends: u64,
    /// Refusals by [`RejectReason::index`], the engine's own and the venue's; refused amends and
    /// cancels included.
    pub rejects: [u64; RejectReason::COUNT],
    /// Execution snapshots reconciled against the table (one per connection).
    pub reconciliations: u64,
    /// Orders resolved by a reconciliation (filled or vanished while disconnected).
    pub reconciled_orders: u64,
    /// Open orders the venue reported that this run did not place.
    pub unknown_open_orders: u64,
    /// Execution reports about orders not in the table (late, or not ours).
    pub unmatched_reports: u64,
    /// Responses whose `req_id` matched nothing.
    pub unmatched_responses: u64,
    /// Dead man's switch refreshes sent, and the venue's errors answering them.
    pub dead_man_refreshes: u64,
    pub dead_man_errors: u64,
    /// The kill switch was thrown.
    pub killed: bool,
    /// Orders validated only (`validate` mode).
    pub validated: u64,
}

impl Default for TradingCounters {
    fn default() -> Self {
        TradingCounters {
            orders_sent: 0,
            requests_sent: 0,
            acks: 0,
            fills: 0,
            cancels: 0,
            amends: 0,
            rejects: [0; RejectReason::COUNT],
            reconciliations: 0,
            reconciled_orders: 0,
            unknown_open_orders: 0,
            unmatched_reports: 0,
            unmatched_responses: 0,
            dead_man_refreshes: 0,
            dead_man_errors: 0,
            killed: false,
            validated: 0,
        }
    }
}

impl TradingCounters {
    /// Refusals of every reason.
    pub fn rejects_total(&self) -> u64 {
        self.rejects.iter().sum()
    }
}

/// Why a session could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    #[error("risk limits: expected {expected} (strategies × symbols), got {got}")]
    Limits { expected: usize, got: usize },
    #[error("more than {} strategies", u16::MAX)]
    TooManyStrategies,
}

/// A batch being collected from the intent ring (its messages arrive together).
struct PendingBatch {
    strategy: usize,
    messages: [Option<OrderMessage>; MAX_BATCH_ADD],
    len: usize,
}

/// See the module docs.
pub struct TradingSession {
    cfg: SessionConfig,
    writer: OrderWriter,
    codec: ClOrdIdCodec,
    table: OrderTable,
    /// `exposure[strategy * symbols + symbol]`.
    exposure: Box<[Exposure]>,
    /// The account's filled position per symbol (all strategies).
    positions: Box<[i64]>,
    /// Open orders per symbol (all strategies): the venue's per-pair limit.
    open_per_symbol: Box<[u32]>,
    rate: Box<[RateCounter]>,
    balances: BalanceTable,
    next_seq: u64,
    /// The connection is open and authenticated (a token is set).
    link_up: bool,
    /// The executions snapshot of this connection has been reconciled: orders may go out.
    ready: bool,
    killed: bool,
    system: SystemStatus,
    batch: PendingBatch,
    counters: TradingCounters,
    last_reconcile: ReconcileReport,
}

impl core::fmt::Debug for TradingSession {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TradingSession")
            .field("orders", &self.table.len())
            .field("ready", &self.ready)
            .field("killed", &self.killed)
            .finish_non_exhaustive()
    }
}

impl TradingSession {
    /// Builds the session and every table it will use. Start-up only.
    pub fn new(cfg: SessionConfig) -> Result<TradingSession, SessionError> {
        let n = cfg.symbols.len();
        if cfg.strategies > usize::from(u16::MAX) {
            return Err(SessionError::TooManyStrategies);
        }
        if cfg.limits.len() != cfg.strategies * n {
            return Err(SessionError::Limits {
                expected: cfg.strategies * n,
                got: cfg.limits.len(),
            });
        }
        Ok(TradingSession {
            writer: OrderWriter::new(cfg.writer_capacity),
            codec: ClOrdIdCodec::new(cfg.run_id),
            table: OrderTable::new(cfg.order_slots),
            exposure: vec![Exposure::default(); cfg.strategies * n].into_boxed_slice(),
            positions: vec![0; n].into_boxed_slice(),
            open_per_symbol: vec![0; n].into_boxed_slice(),
            rate: vec![RateCounter::new(cfg.tier); n].into_boxed_slice(),
            balances: BalanceTable::new(),
            next_seq: 1,
            link_up: false,
            ready: false,
            killed: false,
            system: SystemStatus::Unknown,
            batch: PendingBatch {
                strategy: 0,
                messages: [None; MAX_BATCH_ADD],
                len: 0,
            },
            counters: TradingCounters::default(),
            last_reconcile: ReconcileReport::default(),
            cfg,
        })
    }

    pub fn counters(&self) -> &TradingCounters {
        &self.counters
    }

    /// The orders in flight.
    pub fn orders(&self) -> &OrderTable {
        &self.table
    }

    /// Open orders (all strategies).
    pub fn open_orders(&self) -> usize {
        self.table.len()
    }

    /// The account's filled position on `symbol` (qty mantissa), all strategies.
    pub fn position(&self, symbol: usize) -> Option<i64> {
        self.positions.get(symbol).copied()
    }

    /// One strategy's standing on one symbol.
    pub fn exposure(&self, strategy: usize, symbol: usize) -> Option<&Exposure> {
        self.exposure
            .get(strategy * self.cfg.symbols.len() + symbol)
    }

    pub fn balances(&self) -> &BalanceTable {
        &self.balances
    }

    pub fn symbols(&self) -> &[SessionSymbol] {
        &self.cfg.symbols
    }

    /// The modelled rate counter of `symbol` at `now_ns`, hundredths.
    pub fn rate_counter(&self, symbol: usize, now_ns: u64) -> Option<u32> {
        self.rate.get(symbol).map(|r| r.value_at(now_ns))
    }

    /// What the last reconciliation found.
    pub fn last_reconcile(&self) -> &ReconcileReport {
        &self.last_reconcile
    }

    /// Orders may go out: connected, authenticated and reconciled.
    pub fn is_ready(&self) -> bool {
        self.ready
    }

    pub fn is_killed(&self) -> bool {
        self.killed
    }

    /// The venue's trading status (from either connection's `status` channel).
    pub fn set_system(&mut self, system: SystemStatus) {
        self.system = system;
    }

    fn next_req(&mut self, slot: u64) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        (seq << 16) | (slot & 0xFFFF)
    }

    fn reject(&mut self, io: &mut impl SessionIo, strategy: usize, update: OrderUpdate) {
        if let kspin_api::OrderStatus::Rejected(r)
        | kspin_api::OrderStatus::AmendRejected(r)
        | kspin_api::OrderStatus::CancelRejected(r) = update.status
        {
            if let Some(c) = self.counters.rejects.get_mut(r.index()) {
                *c += 1;
            }
        }
        io.update(strategy, update);
    }

    // ----- the connection -------------------------------------------------------------------

    /// The authenticated connection opened with `token`: subscribe `executions` (open orders
    /// and recent fills in the snapshot, which the next snapshot reconciles) and `balances`.
    /// Returns `false` when a request could not be written.
    pub fn link_up(&mut self, token: &[u8], io: &mut impl SessionIo) -> bool {
        if self.writer.set_token(token).is_err() {
            return false;
        }
        self.link_up = true;
        self.ready = false;
        let req = self.next_req(NO_SLOT);
        let Ok(frame) = self.writer.subscribe_executions(req, true, true) else {
            return false;
        };
        if !io.send(frame) {
            return false;
        }
        let req = self.next_req(NO_SLOT);
        let Ok(frame) = self.writer.subscribe_balances(req, true) else {
            return false;
        };
        let sent = io.send(frame);
        self.counters.requests_sent += 2;
        sent
    }

    /// The authenticated connection ended: nothing can be sent until the next [`Self::link_up`]
    /// and reconciliation; every order stays in the table until then (the venue may still fill
    /// it, or its dead man's switch cancel it). The token is forgotten.
    pub fn link_down(&mut self, io: &mut impl SessionIo) {
        self.link_up = false;
        self.ready = false;
        self.writer.clear_token();
        // A batch half-collected when the link fell cannot go out whole.
        self.refuse_batch(io, RejectReason::Refused(RiskReason::NotConnected));
    }

    /// Refreshes the dead man's switch (`cancel_all_orders_after` with the configured timeout),
    /// while orders may go out. Returns whether a request was written.
    pub fn refresh_dead_man(&mut self, io: &mut impl SessionIo) -> bool {
        if !self.ready || self.killed || self.cfg.dead_man_timeout_s == 0 {
            return false;
        }
        let req = self.next_req(NO_SLOT);
        match self
            .writer
            .cancel_all_orders_after(req, self.cfg.dead_man_timeout_s)
        {
            Ok(frame) if io.send(frame) => {
                self.counters.dead_man_refreshes += 1;
                self.counters.requests_sent += 1;
                true
            }
            _ => false,
        }
    }

    /// The kill switch: no new order or amend from now on (refused `KillSwitch`), and a
    /// `cancel_all` for the whole account if connected. Returns whether it was written.
    pub fn kill(&mut self, io: &mut impl SessionIo) -> bool {
        self.killed = true;
        self.counters.killed = true;
        self.refuse_batch(io, RejectReason::Refused(RiskReason::KillSwitch));
        self.cancel_everything(io)
    }

    /// Orderly exit: `cancel_all` when `cancel_open` (else the orders stay), then the dead man's
    /// switch disarmed (timeout 0) so a clean exit does not cancel what was meant to stay.
    pub fn shutdown(&mut self, cancel_open: bool, io: &mut impl SessionIo) {
        if cancel_open {
            self.cancel_everything(io);
        }
        if self.link_up && self.cfg.dead_man_timeout_s > 0 {
            let req = self.next_req(NO_SLOT);
            if let Ok(frame) = self.writer.cancel_all_orders_after(req, 0) {
                if io.send(frame) {
                    self.counters.requests_sent += 1;
                }
            }
        }
    }

    fn cancel_everything(&mut self, io: &mut impl SessionIo) -> bool {
        if !self.link_up {
            return false;
        }
        let req = self.next_req(NO_SLOT);
        match self.writer.cancel_all(req) {
            Ok(frame) if io.send(frame) => {
                self.counters.requests_sent += 1;
                true
            }
            _ => false,
        }
    }

    // ----- requests -------------------------------------------------------------------------

    /// Handles one request from `strategy`'s intent ring against the feed's books at `now_ns`.
    pub fn on_request(
        &mut self,
        strategy: usize,
        message: &OrderMessage,
        feed: &Feed,
        now_ns: u64,
        io: &mut impl SessionIo,
    ) {
        if strategy >= self.cfg.strategies {
            return;
        }
        match message.request {
            OrderRequest::New { .. } if message.batch_rest > 0 || self.batch.len > 0 => {
                self.collect_batch(strategy, message, feed, now_ns, io)
            }
            OrderRequest::New { client_id, intent } => {
                let symbol = intent.symbol.index();
                match self.check_new(strategy, &intent, feed, 0, now_ns) {
                    Err(reason) => {
                        let update = OrderUpdate::rejected(client_id, intent.symbol, reason);
                        self.reject(io, strategy, update);
                    }
                    Ok(()) => {
                        io.stage(OrderStage::RiskPassed);
                        self.place(strategy, client_id, &intent, symbol, now_ns, io);
                    }
                }
            }
            OrderRequest::Cancel { client_id, symbol } => {
                self.cancel(strategy, client_id, symbol, now_ns, io)
            }
            OrderRequest::Amend {
                client_id,
                symbol,
                price,
                qty,
            } => self.amend(strategy, client_id, symbol, price, qty, feed, now_ns, io),
            OrderRequest::CancelAll { symbol } => self.cancel_all(strategy, symbol, now_ns, io),
            OrderRequest::Resnapshot { .. } => {}
        }
    }

    /// An order left the table (final update sent by the caller): exposure and counts.
    fn closed(&mut self, order: &LiveOrder) {
        let n = self.cfg.symbols.len();
        let s = usize::from(order.symbol);
        if let Some(e) = self.exposure.get_mut(usize::from(order.strategy) * n + s) {
            e.close(order.side, order.remaining().0);
        }
        if let Some(c) = self.open_per_symbol.get_mut(s) {
            *c = c.saturating_sub(1);
        }
    }
}

/// A table entry for a new order.
fn new_order(
    strategy: usize,
    client_id: ClientOrderId,
    intent: &kspin_api::OrderIntent,
    now_ns: u64,
) -> LiveOrder {
    LiveOrder {
        phase: OrderPhase::Sent,
        strategy: strategy as u16,
        client_id,
        symbol: intent.symbol.0,
        side: intent.side,
        order_type: intent.order_type,
        tif: intent.tif,
        price: intent.price,
        qty: intent.qty,
        placed_ns: now_ns,
        venue_id: VenueOrderId::EMPTY,
        ..LiveOrder::FREE
    }
}

/// What a strategy is told when its request could not be encoded.
fn write_reason(e: OrderWriteError) -> RejectReason {
    match e {
        OrderWriteError::NoToken | OrderWriteError::InvalidToken => {
            RejectReason::Refused(RiskReason::NotConnected)
        }
        _ => RejectReason::BadParameters,
    }
}
