//! The venue's exchange for the one simulated account: its open orders, fills, balances, rate
//! counters, dead man's switch and token desk, and the checks an order passes before it reaches
//! the matching ([`super::lifecycle`] places, amends, cancels and fills orders).
//!
//! Owns all trading state of the venue, behind the venue's one mutex (next to the market it
//! matches against). Invariants: every refusal is a [`Reject`] carrying Kraken's error text and
//! a counted kind, and a refused request changes nothing but the rate counter's fixed count;
//! open orders are kept in arrival order (the order in which resting orders are checked against
//! each market step); nothing here reads the clock (callers pass [`Now`]) or does I/O.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use kspin_auth::Credentials;

use super::config::{ResolvedTrading, TradingTier};
use super::ids::IdGen;
use super::ledger::{self, hold_for, Ledger};
use super::limits::{amend_count, cancel_count, RateLimited, RateLimits, CENTI};
use super::matching::Overlay;
use super::orders::{Fill, Order, OrderRequest, OrderType, Side};
use super::token::TokenDesk;
use crate::market::Market;
use crate::pairs::SimPair;

/// Kraken's error texts for order entry (spot-ratelimits.md and Kraken's error list; the ones
/// Kraken's docs do not spell out are marked "sim:" where they are defined).
pub mod errors {
    pub const RATE_LIMIT: &str = "EOrder:Rate limit exceeded";
    pub const ORDERS_LIMIT: &str = "EOrder:Orders limit exceeded";
    pub const POST_ONLY: &str = "EOrder:Post only order";
    pub const INSUFFICIENT_FUNDS: &str = "EOrder:Insufficient funds";
    pub const UNKNOWN_ORDER: &str = "EOrder:Unknown order";
    pub const ORDER_MINIMUM: &str = "EOrder:Order minimum not met";
    pub const COST_MINIMUM: &str = "EOrder:Cost minimum not met";
    pub const UNKNOWN_PAIR: &str = "EQuery:Unknown asset pair";
    pub const UNAVAILABLE: &str = "EService:Unavailable";
    pub const DEADLINE: &str = "EService:Deadline elapsed";
    pub const INVALID: &str = "EGeneral:Invalid arguments";
    /// sim: a `cl_ord_id` already naming an open order (Kraken: "uniquely identifies an open
    /// order"; the text is the simulator's).
    pub const DUPLICATE_CL_ORD_ID: &str = "EOrder:Duplicate cl_ord_id";
    /// sim: no token in the request.
    pub const TOKEN_MISSING: &str = "EGeneral:Invalid arguments:token";
    /// A token that was never issued or has expired.
    pub const INVALID_SESSION: &str = "ESession:Invalid session";
}

/// Why a transaction was refused (one stats counter each).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectKind {
    Invalid,
    UnknownOrder,
    PostOnly,
    Funds,
    OrdersLimit,
    RateLimit,
    /// The `reject` fault.
    Fault,
    /// Maintenance, or a deadline that elapsed.
    Unavailable,
    /// No or a bad token.
    Session,
}

/// A refusal: Kraken's error text and its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    pub text: String,
    pub kind: RejectKind,
}

impl Reject {
    pub fn new(kind: RejectKind, text: impl Into<String>) -> Reject {
        Reject {
            text: text.into(),
            kind,
        }
    }

    pub fn invalid(field: &str) -> Reject {
        Reject::new(RejectKind::Invalid, format!("{}:{field}", errors::INVALID))
    }
}

impl From<RateLimited> for Reject {
    fn from(_: RateLimited) -> Reject {
        Reject::new(RejectKind::RateLimit, errors::RATE_LIMIT)
    }
}

/// The venue's time at one moment: monotonic for timers and rate counters, wall clock (Unix
/// µs) for timestamps and GTD expiry.
#[derive(Debug, Clone, Copy)]
pub struct Now {
    pub at: Instant,
    pub us: u64,
}

/// How a cancel, amend or batch names its order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderRef {
    Id(String),
    ClOrdId(String),
    UserRef(i64),
}

/// Trading faults in force (see `fault.rs`: `reject`, `ack-delay`).
#[derive(Debug, Clone, Default)]
pub struct TradingFaults {
    /// Orders still to refuse, and the text.
    pub reject: Option<(u32, String)>,
    /// Until when trading answers are held back, and by how long.
    pub ack_delay: Option<(Instant, Duration)>,
}

impl TradingFaults {
    /// The delay to hold a trading answer by now, if `ack-delay` is in force.
    pub fn ack_delay(&self, now: Instant) -> Option<Duration> {
        self.ack_delay
            .filter(|(until, _)| now < *until)
            .map(|(_, d)| d)
    }
}

/// See the module docs.
#[derive(Debug)]
pub struct Exchange {
    pub(super) pairs: Vec<&'static SimPair>,
    pub(super) maker_bps: u32,
    pub(super) taker_bps: u32,
    pub(super) orders: Vec<Order>,
    pub(super) fills: Vec<Fill>,
    pub(super) ledger: Ledger,
    pub(super) limits: RateLimits,
    pub(super) overlays: Vec<Overlay>,
    pub(super) ids: IdGen,
    pub(super) next_trade_id: u64,
    pub(super) tokens: TokenDesk,
    pub(super) dead_man: Option<Instant>,
    pub faults: TradingFaults,
}

impl Exchange {
    pub fn new(
        cfg: ResolvedTrading,
        pairs: Vec<&'static SimPair>,
        seed: u64,
        now: Instant,
    ) -> Exchange {
        let n = pairs.len();
        Exchange {
            maker_bps: cfg.maker_fee_bps,
            taker_bps: cfg.taker_fee_bps,
            orders: Vec::new(),
            fills: Vec::new(),
            ledger: Ledger::new(&cfg.balances),
            limits: if cfg.rate_limit {
                RateLimits::new(cfg.tier, n, now)
            } else {
                RateLimits::new(cfg.tier, n, now).unenforced()
            },
            overlays: vec![Overlay::default(); n],
            ids: IdGen::new(seed),
            next_trade_id: 1,
            tokens: TokenDesk::new(cfg.credentials, cfg.token_ttl),
            dead_man: None,
            faults: TradingFaults::default(),
            pairs,
        }
    }

    pub fn pairs(&self) -> &[&'static SimPair] {
        &self.pairs
    }

    pub fn tokens(&mut self) -> &mut TokenDesk {
        &mut self.tokens
    }

    pub fn token_desk(&self) -> &TokenDesk {
        &self.tokens
    }

    pub fn credentials(&self) -> &Credentials {
        self.tokens.credentials()
    }

    pub fn tier(&self) -> TradingTier {
        self.limits.tier()
    }

    /// Open orders, in arrival order.
    pub fn open_orders(&self) -> &[Order] {
        &self.orders
    }

    /// Every fill so far, oldest first.
    pub fn fills(&self) -> &[Fill] {
        &self.fills
    }

    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// Pair `symbol`'s rate counter now, in hundredths.
    pub fn ratecount(&self, symbol: usize, now: Instant) -> i64 {
        self.limits.value(symbol, now)
    }

    /// The open order `r` names (the oldest, for a shared `order_userref`).
    pub fn find(&self, r: &OrderRef) -> Option<usize> {
        self.orders.iter().position(|o| match r {
            OrderRef::Id(id) => &o.order_id == id,
            OrderRef::ClOrdId(c) => o.cl_ord_id.as_deref() == Some(c.as_str()),
            OrderRef::UserRef(u) => o.order_userref == Some(*u),
        })
    }

    /// Every open order `r` names (all orders sharing an `order_userref`).
    pub fn find_all(&self, r: &OrderRef) -> Vec<usize> {
        match r {
            OrderRef::UserRef(u) => (0..self.orders.len())
                .filter(|&i| self.orders[i].order_userref == Some(*u))
                .collect(),
            other => self.find(other).into_iter().collect(),
        }
    }

    /// The fixed count of `add_order` (+1) or `batch_add` (+n/2), on receipt.
    pub fn charge_add(
        &mut self,
        symbol: usize,
        batch: Option<usize>,
        now: Instant,
    ) -> Result<(), Reject> {
        let fixed = match batch {
            None => CENTI,
            Some(n) => n as i64 * CENTI / 2,
        };
        Ok(self.limits.charge(symbol, now, fixed, 0)?)
    }

    /// `amend_order` on the open order at `index`: +1, plus +3/+2/+1 by its age.
    pub fn charge_amend(&mut self, index: usize, now: Instant) -> Result<(), Reject> {
        let Some(o) = self.orders.get(index) else {
            return Ok(());
        };
        let (symbol, age) = (o.symbol, now.saturating_duration_since(o.touched));
        Ok(self.limits.charge(symbol, now, CENTI, amend_count(age))?)
    }

    /// `cancel_order` of the open order at `index`: +8 … +1 by its age.
    pub fn charge_cancel(&mut self, index: usize, now: Instant) -> Result<(), Reject> {
        let Some(o) = self.orders.get(index) else {
            return Ok(());
        };
        let (symbol, age) = (o.symbol, now.saturating_duration_since(o.touched));
        Ok(self.limits.charge(symbol, now, 0, cancel_count(age))?)
    }

    /// A batch cancel (or `cancel_all`) of these open orders: counted, never refused.
    pub fn charge_batch_cancel(&mut self, indices: &[usize], now: Instant) {
        for &i in indices {
            if let Some(o) = self.orders.get(i) {
                let (symbol, age) = (o.symbol, now.saturating_duration_since(o.touched));
                self.limits.charge_unchecked(symbol, now, cancel_count(age));
            }
        }
    }

    /// Pre-trade checks of new orders (one, or a whole batch) against the venue's state:
    /// the `reject` fault, the open-order limit, `cl_ord_id` uniqueness, post-only and funds.
    pub fn check_new(
        &mut self,
        market: &Market,
        reqs: &[OrderRequest],
        validate: bool,
    ) -> Result<(), Reject> {
        if !validate {
            if let Some((left, text)) = &mut self.faults.reject {
                let text = text.clone();
                *left = left.saturating_sub(1);
                if *left == 0 {
                    self.faults.reject = None;
                }
                return Err(Reject::new(RejectKind::Fault, text));
            }
        }
        let max_open = self.limits.tier().max_open_orders();
        for req in reqs {
            let open = self
                .orders
                .iter()
                .filter(|o| o.symbol == req.symbol)
                .count();
            let new = reqs.iter().filter(|r| r.symbol == req.symbol).count();
            if open + new > max_open {
                return Err(Reject::new(RejectKind::OrdersLimit, errors::ORDERS_LIMIT));
            }
        }
        for (i, req) in reqs.iter().enumerate() {
            if let Some(c) = &req.cl_ord_id {
                let clash = self.orders.iter().any(|o| o.cl_ord_id.as_ref() == Some(c))
                    || reqs[..i].iter().any(|r| r.cl_ord_id.as_ref() == Some(c));
                if clash {
                    return Err(Reject::new(
                        RejectKind::Invalid,
                        errors::DUPLICATE_CL_ORD_ID,
                    ));
                }
            }
        }
        for req in reqs.iter().filter(|r| r.post_only) {
            if self.would_take(market, req.symbol, req.side, req.limit_price) {
                return Err(Reject::new(RejectKind::PostOnly, errors::POST_ONLY));
            }
        }
        self.check_funds(market, reqs)
    }

    /// Whether an order on `side` limited at `limit` would trade on arrival.
    pub fn would_take(
        &self,
        market: &Market,
        symbol: usize,
        side: Side,
        limit: Option<i64>,
    ) -> bool {
        match (market.symbol(symbol), self.overlays.get(symbol)) {
            (Some(m), Some(o)) => !o.sweep(m, side, limit, 1).is_empty(),
            _ => false,
        }
    }

    fn max_fee_bps(&self) -> u32 {
        self.maker_bps.max(self.taker_bps)
    }

    /// What a new order would hold: the limit, or for a market buy the worst price its sweep
    /// reaches now.
    fn hold_of(&self, market: &Market, req: &OrderRequest) -> (&'static str, i128) {
        let pair = self.pairs[req.symbol];
        let price = match (req.order_type, req.limit_price) {
            (OrderType::Limit, Some(p)) => p,
            _ => match (market.symbol(req.symbol), self.overlays.get(req.symbol)) {
                (Some(m), Some(o)) => o
                    .sweep(m, req.side, None, req.order_qty)
                    .last()
                    .map_or(0, |&(p, _)| p),
                _ => 0,
            },
        };
        hold_for(pair, req.side, req.order_qty, price, self.max_fee_bps())
    }

    fn check_funds(&self, market: &Market, reqs: &[OrderRequest]) -> Result<(), Reject> {
        let mut held: BTreeMap<&'static str, i128> = ledger::held(&self.orders, self.max_fee_bps());
        for req in reqs {
            let (asset, need) = self.hold_of(market, req);
            let total = held.entry(asset).or_insert(0);
            *total += need;
            if *total > self.ledger.balance(asset) {
                return Err(Reject::new(RejectKind::Funds, errors::INSUFFICIENT_FUNDS));
            }
        }
        Ok(())
    }

    /// Funds check of an amend of the order at `index` to `qty` at `price`.
    pub fn check_amend_funds(
        &self,
        index: usize,
        qty: i64,
        price: Option<i64>,
    ) -> Result<(), Reject> {
        let Some(o) = self.orders.get(index) else {
            return Ok(());
        };
        let Some(price) = price.or(o.limit_price) else {
            return Ok(());
        };
        let bps = self.max_fee_bps();
        let (asset, new) = hold_for(o.pair, o.side, (qty - o.cum_qty).max(0), price, bps);
        let held = ledger::held(&self.orders, bps);
        let old = o
            .limit_price
            .map_or(0, |p| hold_for(o.pair, o.side, o.remaining(), p, bps).1);
        let total = held.get(asset).copied().unwrap_or(0) - old + new;
        if new > old && total > self.ledger.balance(asset) {
            return Err(Reject::new(RejectKind::Funds, errors::INSUFFICIENT_FUNDS));
        }
        Ok(())
    }

    /// A fresh `amend_id`.
    pub fn new_amend_id(&mut self) -> String {
        self.ids.next('T')
    }

    /// Arms (`timeout_s > 0`) or disarms (0) the dead man's switch; returns the trigger time.
    pub fn set_dead_man(&mut self, timeout_s: u64, now: Instant) -> Option<Instant> {
        self.dead_man = (timeout_s > 0).then(|| now + Duration::from_secs(timeout_s));
        self.dead_man
    }
}
