//! The life of an order at the venue: placing it (`pending_new` → `new` → `trade`… →
//! `filled`, or the unfilled rest of a market or IOC order `canceled`), amending it
//! (`amended`, and trades if the new price crosses), cancelling it (`canceled` with a reason),
//! expiring it (GTD, `expired`), the dead man's switch, and fills of resting orders on every
//! market step.
//!
//! Owns no state of its own: it is the second half of [`Exchange`]'s methods. Reasons the
//! venue writes (Kraken's docs name none; these are the simulator's): `User requested` for the
//! client's cancels, `Immediate or cancel` for the unfilled rest of an IOC order,
//! `Insufficient liquidity` for the rest of a market order the book could not fill,
//! `Order quantity below filled quantity` when an amend cuts an order to what has filled,
//! `Dead man's switch` when `cancel_all_orders_after` fires, `Order expired` for GTD expiry.
//! Invariants: every change is reported as events, in the order it happened, each execution
//! report carrying the order as it is just after; a closed order leaves the open list at once.

use super::exchange::{Exchange, Now};
use super::ledger::{self, notional};
use super::orders::{
    AccountEvent, ExecEvent, ExecType, Fill, Liquidity, Order, OrderRequest, OrderStatus,
    OrderType, TimeInForce,
};
use crate::market::{Market, StepOutcome, SymbolMarket};

/// Cancel reasons (see the module docs).
pub mod reasons {
    pub const USER: &str = "User requested";
    pub const IOC: &str = "Immediate or cancel";
    pub const NO_LIQUIDITY: &str = "Insufficient liquidity";
    pub const AMENDED_BELOW_FILLED: &str = "Order quantity below filled quantity";
    pub const DEAD_MAN: &str = "Dead man's switch";
    pub const EXPIRED: &str = "Order expired";
}

/// What a timer tick did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TickOutcome {
    pub dead_man_cancels: u64,
    pub expired: u64,
}

impl Exchange {
    fn event(
        &self,
        exec_type: ExecType,
        order: &Order,
        fill: Option<Fill>,
        reason: Option<&'static str>,
        now: Now,
    ) -> AccountEvent {
        AccountEvent::Exec(Box::new(ExecEvent {
            exec_type,
            order: order.clone(),
            fill,
            reason,
            ratecount_centi: self.limits.value(order.symbol, now.at),
            timestamp_us: now.us,
        }))
    }

    /// Places a checked order and matches what it can at once. Returns its `order_id`.
    pub fn place(
        &mut self,
        market: &Market,
        req: &OrderRequest,
        now: Now,
        out: &mut Vec<AccountEvent>,
    ) -> String {
        let order_id = self.ids.next('O');
        let mut order = Order {
            order_id: order_id.clone(),
            cl_ord_id: req.cl_ord_id.clone(),
            order_userref: req.order_userref,
            pair: self.pairs[req.symbol],
            symbol: req.symbol,
            side: req.side,
            order_type: req.order_type,
            time_in_force: req.time_in_force,
            order_qty: req.order_qty,
            limit_price: req.limit_price,
            post_only: req.post_only,
            expire_time: req.expire_time,
            cum_qty: 0,
            cum_cost: 0,
            notional: 0,
            fees: 0,
            status: OrderStatus::PendingNew,
            amended: false,
            placed_us: now.us,
            touched: now.at,
        };
        out.push(self.event(ExecType::PendingNew, &order, None, None, now));
        order.status = OrderStatus::New;
        out.push(self.event(ExecType::New, &order, None, None, now));
        self.orders.push(order);
        let index = self.orders.len() - 1;
        self.take(market, index, now, out);
        let Some(o) = self.orders.get(index) else {
            return order_id;
        };
        if o.remaining() > 0 {
            let rest = match (o.order_type, o.time_in_force) {
                (OrderType::Market, _) => Some(reasons::NO_LIQUIDITY),
                (_, TimeInForce::Ioc) => Some(reasons::IOC),
                _ => None,
            };
            if let Some(reason) = rest {
                self.close(index, ExecType::Canceled, Some(reason), now, out);
            }
        }
        order_id
    }

    /// Sweeps the opposite side for the order at `index` as a taker (nothing if its limit does
    /// not cross), then closes it if it is filled.
    fn take(&mut self, market: &Market, index: usize, now: Now, out: &mut Vec<AccountEvent>) {
        let Some(o) = self.orders.get(index) else {
            return;
        };
        let (symbol, side, limit, left) = (o.symbol, o.side, o.limit_price, o.remaining());
        let (Some(m), Some(overlay)) = (market.symbol(symbol), self.overlays.get_mut(symbol))
        else {
            return;
        };
        let levels = overlay.sweep(m, side, limit, left);
        for &(price, qty) in &levels {
            overlay.take(super::matching::opposite(side), price, qty);
        }
        for (price, qty) in levels {
            self.fill(index, price, qty, Liquidity::Taker, now, out);
        }
        if self.orders.get(index).is_some_and(|o| o.remaining() == 0) {
            self.close(index, ExecType::Filled, None, now, out);
        }
    }

    /// One fill of the open order at `index`: the trade report and its two ledger entries.
    fn fill(
        &mut self,
        index: usize,
        price: i64,
        qty: i64,
        liquidity: Liquidity,
        now: Now,
        out: &mut Vec<AccountEvent>,
    ) {
        let bps = match liquidity {
            Liquidity::Maker => self.maker_bps,
            Liquidity::Taker => self.taker_bps,
        };
        let exec_id = self.ids.next('T');
        let ledger_ids = [self.ids.next('L'), self.ids.next('L')];
        let trade_id = self.next_trade_id;
        self.next_trade_id += 1;
        let Some(o) = self.orders.get_mut(index) else {
            return;
        };
        let pair = o.pair;
        let cost = ledger::cost(pair, price, qty);
        let fee = ledger::fee(pair, price, qty, bps);
        o.cum_qty += qty;
        o.cum_cost += cost;
        o.notional += notional(price, qty);
        o.fees += fee;
        o.status = OrderStatus::PartiallyFilled;
        let fill = Fill {
            exec_id: exec_id.clone(),
            trade_id,
            order_id: o.order_id.clone(),
            cl_ord_id: o.cl_ord_id.clone(),
            order_userref: o.order_userref,
            pair,
            side: o.side,
            order_type: o.order_type,
            qty,
            price,
            cost,
            fee,
            liquidity,
            timestamp_us: now.us,
            cum_qty: o.cum_qty,
            cum_cost: o.cum_cost,
            avg_price: o.avg_price(),
        };
        let side = o.side;
        let order = o.clone();
        let entries = self
            .ledger
            .book_fill(pair, side, qty, cost, fee, &exec_id, ledger_ids, now.us);
        self.fills.push(fill.clone());
        out.push(self.event(ExecType::Trade, &order, Some(fill), None, now));
        out.extend(entries.into_iter().map(AccountEvent::Ledger));
    }

    /// Ends the open order at `index` (`filled`, `canceled` or `expired`) and removes it.
    pub fn close(
        &mut self,
        index: usize,
        exec_type: ExecType,
        reason: Option<&'static str>,
        now: Now,
        out: &mut Vec<AccountEvent>,
    ) -> Option<Order> {
        if index >= self.orders.len() {
            return None;
        }
        let mut order = self.orders.remove(index);
        order.status = match exec_type {
            ExecType::Filled => OrderStatus::Filled,
            ExecType::Expired => OrderStatus::Expired,
            _ => OrderStatus::Canceled,
        };
        out.push(self.event(exec_type, &order, None, reason, now));
        Some(order)
    }

    /// Amends the open order at `index` (already checked): a quantity at or below what has
    /// filled cancels the rest; otherwise `amended`, then trades if the new price crosses.
    pub fn amend(
        &mut self,
        market: &Market,
        index: usize,
        qty: i64,
        price: Option<i64>,
        now: Now,
        out: &mut Vec<AccountEvent>,
    ) {
        let Some(o) = self.orders.get_mut(index) else {
            return;
        };
        if qty <= o.cum_qty {
            self.close(
                index,
                ExecType::Canceled,
                Some(reasons::AMENDED_BELOW_FILLED),
                now,
                out,
            );
            return;
        }
        o.order_qty = qty;
        if price.is_some() {
            o.limit_price = price;
        }
        o.amended = true;
        o.touched = now.at;
        let order = o.clone();
        out.push(self.event(ExecType::Amended, &order, None, None, now));
        self.take(market, index, now, out);
    }

    /// Fills resting orders of the symbol that moved, at their limit price, against what the
    /// opposite side now offers through it (see `matching`).
    pub fn on_market_step(
        &mut self,
        market: &SymbolMarket,
        step: &StepOutcome,
        now: Now,
        out: &mut Vec<AccountEvent>,
    ) {
        let symbol = step.symbol;
        if let Some(o) = self.overlays.get_mut(symbol) {
            o.forget(step);
        }
        let mut i = 0;
        while i < self.orders.len() {
            let o = &self.orders[i];
            let (side, limit, left) = (o.side, o.limit_price, o.remaining());
            if o.symbol != symbol || o.order_type != OrderType::Limit || left <= 0 {
                i += 1;
                continue;
            }
            let Some(overlay) = self.overlays.get_mut(symbol) else {
                return;
            };
            let levels = overlay.sweep(market, side, limit, left);
            let qty: i64 = levels.iter().map(|&(_, q)| q).sum();
            for &(p, q) in &levels {
                overlay.take(super::matching::opposite(side), p, q);
            }
            if qty > 0 {
                if let Some(price) = limit {
                    self.fill(i, price, qty, Liquidity::Maker, now, out);
                }
            }
            if self.orders.get(i).is_some_and(|o| o.remaining() == 0) {
                self.close(i, ExecType::Filled, None, now, out);
            } else {
                i += 1;
            }
        }
    }

    /// Timers: the dead man's switch (every open order cancelled, the switch disarmed) and GTD
    /// expiry.
    pub fn tick(&mut self, now: Now, out: &mut Vec<AccountEvent>) -> TickOutcome {
        let mut t = TickOutcome::default();
        if self.dead_man.is_some_and(|at| now.at >= at) {
            self.dead_man = None;
            while !self.orders.is_empty() {
                self.close(0, ExecType::Canceled, Some(reasons::DEAD_MAN), now, out);
                t.dead_man_cancels += 1;
            }
        }
        let mut i = 0;
        while i < self.orders.len() {
            if self.orders[i].expire_time.is_some_and(|e| e <= now.us) {
                self.close(i, ExecType::Expired, Some(reasons::EXPIRED), now, out);
                t.expired += 1;
            } else {
                i += 1;
            }
        }
        t
    }
}
