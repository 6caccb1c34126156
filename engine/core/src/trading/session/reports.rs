//! What the authenticated connection tells the session: execution reports, answers to order
//! requests, balances and the venue's status.
//!
//! Execution reports drive each order's state (`pending_new → new → trade… → filled / canceled
//! / expired`, amends); answers resolve requests by `req_id` (a refusal names the slot in the
//! id's low bits). Invariants: a fill is applied once (Kraken `trade_id`s increase per pair, so
//! one already applied is skipped); `Accepted` precedes an order's first fill; exactly one final
//! update per order, after which its slot is free; a report or answer that matches nothing is
//! counted, never an error. Never allocates.

use kspin_api::{Decimal, OrderUpdate, Price, Qty, RejectReason, SymbolId};

use super::{SessionIo, TradingSession, NO_SLOT};
use crate::kraken::{
    BalancesMsg, ExecType, Execution, ExecutionsMsg, OrderMethod, OrderResponseMsg, OrderState,
};
use crate::kraken::{Message, UpdateKind};
use crate::trading::cl_ord_id::ClOrdIdMatch;
use crate::trading::orders::{OrderPhase, PendingChange, VenueOrderId};
use crate::trading::venue_error;

/// Assets a [`BalanceTable`] holds.
pub const MAX_ASSETS: usize = 64;
/// Longest asset name kept (Kraken's are a few characters: `USD`, `BTC`, `USDT`).
pub const ASSET_NAME_MAX: usize = 16;

/// The account's balances per asset, as the `balances` channel last reported them.
#[derive(Debug, Clone)]
pub struct BalanceTable {
    names: [[u8; ASSET_NAME_MAX]; MAX_ASSETS],
    name_lens: [u8; MAX_ASSETS],
    values: [Decimal; MAX_ASSETS],
    len: usize,
    /// Assets not kept (table full or name too long).
    pub dropped: u64,
}

impl Default for BalanceTable {
    fn default() -> Self {
        BalanceTable::new()
    }
}

impl BalanceTable {
    pub const fn new() -> BalanceTable {
        BalanceTable {
            names: [[0; ASSET_NAME_MAX]; MAX_ASSETS],
            name_lens: [0; MAX_ASSETS],
            values: [Decimal::ZERO; MAX_ASSETS],
            len: 0,
            dropped: 0,
        }
    }

    fn name(&self, i: usize) -> &str {
        let len = usize::from(self.name_lens[i]);
        core::str::from_utf8(self.names[i].get(..len).unwrap_or(&[])).unwrap_or("")
    }

    /// Sets `asset`'s balance.
    pub fn set(&mut self, asset: &str, value: Decimal) {
        if let Some(i) = (0..self.len).find(|&i| self.name(i) == asset) {
            self.values[i] = value;
            return;
        }
        let bytes = asset.as_bytes();
        if self.len == MAX_ASSETS || bytes.len() > ASSET_NAME_MAX {
            self.dropped += 1;
            return;
        }
        self.names[self.len][..bytes.len()].copy_from_slice(bytes);
        self.name_lens[self.len] = bytes.len() as u8;
        self.values[self.len] = value;
        self.len += 1;
    }

    pub fn get(&self, asset: &str) -> Option<Decimal> {
        (0..self.len)
            .find(|&i| self.name(i) == asset)
            .map(|i| self.values[i])
    }

    /// `(asset, balance)` in the order first reported.
    pub fn iter(&self) -> impl Iterator<Item = (&str, Decimal)> {
        (0..self.len).map(|i| (self.name(i), self.values[i]))
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// `d` at `scale`, exactly when it fits, else rounded half away from zero (a venue price with
/// more decimals than the pair's); `None` when it does not fit an `i64`.
pub(super) fn at_scale(d: Decimal, scale: u8) -> Option<i64> {
    if let Ok(m) = d.to_scale(scale) {
        return Some(m);
    }
    if d.scale <= scale {
        return None; // overflow
    }
    let div = kspin_api::fixed::pow10(d.scale - scale)?;
    let q = d.mantissa / div;
    let r = d.mantissa % div;
    Some(if r.unsigned_abs() * 2 >= div.unsigned_abs() {
        q + d.mantissa.signum()
    } else {
        q
    })
}

impl TradingSession {
    /// A decoded message of the authenticated connection at `now_ns`.
    pub fn on_message(&mut self, msg: &Message<'_>, now_ns: u64, io: &mut impl SessionIo) {
        match msg {
            Message::Executions(m) => self.on_executions(m, now_ns, io),
            Message::OrderResponse(r) => self.on_response(r, io),
            Message::Balances(b) => self.on_balances(b),
            Message::Status(s) => self.set_system(s.system.into()),
            _ => {}
        }
    }

    fn on_balances(&mut self, msg: &BalancesMsg<'_>) {
        for b in msg.iter() {
            if let Some(value) = b.balance {
                self.balances.set(b.asset, value);
            }
        }
    }

    fn on_executions(&mut self, msg: &ExecutionsMsg<'_>, now_ns: u64, io: &mut impl SessionIo) {
        if msg.kind == UpdateKind::Snapshot {
            return self.reconcile(msg, now_ns, io);
        }
        for report in msg.iter() {
            self.on_execution(&report, now_ns, io);
        }
    }

    /// The slot a report is about, if it is one of this run's orders still in the table.
    pub(super) fn slot_of(&self, report: &Execution<'_>) -> Option<u16> {
        let ClOrdIdMatch::Ours {
            slot, client_id, ..
        } = self.codec.decode(report.cl_ord_id?)
        else {
            return None;
        };
        self.table
            .get(slot)
            .filter(|o| o.client_id == client_id)
            .map(|_| slot)
    }

    pub(super) fn on_execution(
        &mut self,
        report: &Execution<'_>,
        now_ns: u64,
        io: &mut impl SessionIo,
    ) {
        let Some(slot) = self.slot_of(report) else {
            // One of ours already finished (the `filled` after its last `trade`, a repeat) is
            // expected; anything else is not this run's.
            let ours = report
                .cl_ord_id
                .is_some_and(|c| matches!(self.codec.decode(c), ClOrdIdMatch::Ours { .. }));
            if !ours {
                self.counters.unmatched_reports += 1;
            }
            return;
        };
        match report.exec_type {
            ExecType::PendingNew => self.remember_venue_id(slot, report),
            ExecType::New => {
                self.remember_venue_id(slot, report);
                self.tell_accepted(slot, io);
            }
            ExecType::Trade => self.apply_trade(slot, report, io),
            ExecType::Filled => self.apply_filled(slot, report, io),
            ExecType::Canceled | ExecType::Expired => self.finish_cancelled(slot, io),
            ExecType::Amended | ExecType::Restated => self.apply_amend(slot, report, now_ns, io),
            ExecType::Status | ExecType::IcebergRefill | ExecType::Other => {}
        }
    }

    fn remember_venue_id(&mut self, slot: u16, report: &Execution<'_>) {
        if let (Some(o), Some(id)) = (self.table.get_mut(slot), report.order_id) {
            if o.venue_id.is_empty() {
                o.venue_id = VenueOrderId::new(id).unwrap_or(VenueOrderId::EMPTY);
            }
        }
    }

    pub(super) fn tell_accepted(&mut self, slot: u16, io: &mut impl SessionIo) {
        let Some(o) = self.table.get_mut(slot) else {
            return;
        };
        o.phase = OrderPhase::Open;
        if !o.told_accepted {
            o.told_accepted = true;
            let update = OrderUpdate::accepted(o.client_id, SymbolId(o.symbol));
            io.update(usize::from(o.strategy), update);
        }
    }

    /// One fill (`trade`): position, exposure, the strategy's `Filled`; the order ends when
    /// nothing remains.
    pub(super) fn apply_trade(
        &mut self,
        slot: u16,
        report: &Execution<'_>,
        io: &mut impl SessionIo,
    ) {
        let Some(order) = self.table.get(slot).copied() else {
            return;
        };
        if let Some(id) = report.trade_id {
            if id <= order.last_trade_id {
                return; // applied already (a snapshot repeats recent fills)
            }
        }
        let Some(sym) = self.cfg.symbols.get(usize::from(order.symbol)) else {
            return;
        };
        let (Some(qty), Some(price)) = (report.last_qty, report.last_price) else {
            self.counters.unmatched_reports += 1;
            return;
        };
        let (Some(qty), Some(price)) = (
            at_scale(qty, sym.qty_scale),
            at_scale(price, sym.price_scale),
        ) else {
            self.counters.unmatched_reports += 1;
            return;
        };
        let fee = report.fee.unwrap_or(Decimal::ZERO);
        self.fill(slot, Qty(qty), Price(price), fee, report.trade_id, io);
    }

    /// Applies a fill of `qty` at `price` to the order in `slot`.
    pub(super) fn fill(
        &mut self,
        slot: u16,
        qty: Qty,
        price: Price,
        fee: Decimal,
        trade_id: Option<u64>,
        io: &mut impl SessionIo,
    ) {
        self.tell_accepted(slot, io);
        let Some(o) = self.table.get_mut(slot) else {
            return;
        };
        let qty = Qty(qty.0.min(o.remaining().0));
        o.filled = Qty(o.filled.0.saturating_add(qty.0));
        if let Some(id) = trade_id {
            o.last_trade_id = o.last_trade_id.max(id);
        }
        let order = *o;
        let n = self.cfg.symbols.len();
        let s = usize::from(order.symbol);
        if let Some(e) = self.exposure.get_mut(usize::from(order.strategy) * n + s) {
            e.fill(order.side, qty.0);
        }
        if let Some(p) = self.positions.get_mut(s) {
            *p = match order.side {
                kspin_api::Side::Buy => p.saturating_add(qty.0),
                kspin_api::Side::Sell => p.saturating_sub(qty.0),
            };
        }
        self.counters.fills += 1;
        let remaining = order.remaining();
        let update = OrderUpdate::filled(
            order.client_id,
            SymbolId(order.symbol),
            price,
            qty,
            remaining,
        )
        .with_fee(fee);
        io.update(usize::from(order.strategy), update);
        if remaining.0 == 0 {
            self.table.remove(slot);
            self.closed(&order);
        }
    }

    /// `filled`: the order is complete. Fills the report's `cum_qty` says were missed are
    /// applied at its average price first.
    fn apply_filled(&mut self, slot: u16, report: &Execution<'_>, io: &mut impl SessionIo) {
        self.catch_up_fills(slot, report, io);
        if let Some(order) = self.table.get(slot).copied() {
            // The venue says done; whatever the table still counted as open is not.
            self.table.remove(slot);
            self.closed(&order);
            let update =
                OrderUpdate::cancelled(order.client_id, SymbolId(order.symbol), order.remaining());
            io.update(usize::from(order.strategy), update);
        }
    }

    /// Applies the difference between the report's `cum_qty` and what the table has filled, at
    /// the report's `avg_price` (or `last_price`), as one fill.
    pub(super) fn catch_up_fills(
        &mut self,
        slot: u16,
        report: &Execution<'_>,
        io: &mut impl SessionIo,
    ) -> bool {
        let Some(order) = self.table.get(slot).copied() else {
            return false;
        };
        let Some(sym) = self.cfg.symbols.get(usize::from(order.symbol)) else {
            return false;
        };
        let Some(cum) = report.cum_qty.and_then(|q| at_scale(q, sym.qty_scale)) else {
            return false;
        };
        let missed = cum.saturating_sub(order.filled.0);
        if missed <= 0 {
            return false;
        }
        let price = report
            .avg_price
            .or(report.last_price)
            .or(report.limit_price)
            .and_then(|p| at_scale(p, sym.price_scale))
            .unwrap_or(order.price.0);
        self.fill(slot, Qty(missed), Price(price), Decimal::ZERO, None, io);
        true
    }

    /// `canceled` / `expired`: the order ends with what remained.
    fn finish_cancelled(&mut self, slot: u16, io: &mut impl SessionIo) {
        let Some(order) = self.table.remove(slot) else {
            return;
        };
        self.closed(&order);
        self.counters.cancels += 1;
        let update =
            OrderUpdate::cancelled(order.client_id, SymbolId(order.symbol), order.remaining());
        io.update(usize::from(order.strategy), update);
    }

    /// `amended` / `restated`: new quantity and/or price.
    fn apply_amend(
        &mut self,
        slot: u16,
        report: &Execution<'_>,
        now_ns: u64,
        io: &mut impl SessionIo,
    ) {
        let Some(order) = self.table.get(slot).copied() else {
            return;
        };
        let Some(sym) = self.cfg.symbols.get(usize::from(order.symbol)) else {
            return;
        };
        let qty = report
            .order_qty
            .and_then(|q| at_scale(q, sym.qty_scale))
            .map_or(order.qty, Qty);
        let price = report
            .limit_price
            .and_then(|p| at_scale(p, sym.price_scale))
            .map_or(order.price, Price);
        let n = self.cfg.symbols.len();
        let old_remaining = order.remaining().0;
        let Some(o) = self.table.get_mut(slot) else {
            return;
        };
        o.qty = qty;
        o.price = price;
        o.placed_ns = now_ns;
        o.pending = PendingChange::None;
        let updated = *o;
        let new_remaining = updated.remaining().0;
        if let Some(e) = self
            .exposure
            .get_mut(usize::from(order.strategy) * n + usize::from(order.symbol))
        {
            e.reduce(order.side, old_remaining);
            match order.side {
                kspin_api::Side::Buy => e.open_buy = e.open_buy.saturating_add(new_remaining),
                kspin_api::Side::Sell => e.open_sell = e.open_sell.saturating_add(new_remaining),
            }
        }
        self.counters.amends += 1;
        let update = OrderUpdate::amended(
            order.client_id,
            SymbolId(order.symbol),
            price,
            updated.remaining(),
        );
        io.update(usize::from(order.strategy), update);
    }

    fn on_response(&mut self, r: &OrderResponseMsg<'_>, io: &mut impl SessionIo) {
        let Some(req) = r.req_id else {
            self.counters.unmatched_responses += 1;
            return;
        };
        match r.method {
            OrderMethod::AddOrder => self.on_add_answer(req, r, io),
            OrderMethod::BatchAdd => self.on_batch_add_answer(req, r, io),
            OrderMethod::CancelOrder | OrderMethod::BatchCancel => {
                if !r.success {
                    self.refuse_change(req, r.error, true, io);
                }
            }
            OrderMethod::AmendOrder | OrderMethod::EditOrder => {
                if !r.success {
                    self.refuse_change(req, r.error, false, io);
                }
            }
            OrderMethod::CancelAllOrdersAfter => {
                if !r.success {
                    self.counters.dead_man_errors += 1;
                }
            }
            OrderMethod::CancelAll => {}
        }
    }

    fn on_add_answer(&mut self, req: u64, r: &OrderResponseMsg<'_>, io: &mut impl SessionIo) {
        let slot = (req & NO_SLOT) as u16;
        if self.table.get(slot).is_none_or(|o| o.req_id != req) {
            self.counters.unmatched_responses += 1;
            return;
        }
        if !r.success {
            return self.refuse_order(slot, r.error, io);
        }
        self.counters.acks += 1;
        if let Some(id) = r.order().and_then(|o| o.order_id) {
            if let Some(o) = self.table.get_mut(slot) {
                o.venue_id = VenueOrderId::new(id).unwrap_or(VenueOrderId::EMPTY);
            }
        }
        self.accepted_or_validated(slot, io);
    }

    /// An acknowledged order: `Accepted`, or in validate mode (nothing placed) `Accepted` then
    /// `Cancelled` with its whole quantity.
    fn accepted_or_validated(&mut self, slot: u16, io: &mut impl SessionIo) {
        self.tell_accepted(slot, io);
        if self.cfg.validate {
            if let Some(order) = self.table.remove(slot) {
                self.closed(&order);
                self.counters.validated += 1;
                let update =
                    OrderUpdate::cancelled(order.client_id, SymbolId(order.symbol), order.qty);
                io.update(usize::from(order.strategy), update);
            }
        }
    }

    fn on_batch_add_answer(&mut self, req: u64, r: &OrderResponseMsg<'_>, io: &mut impl SessionIo) {
        let mut matched = false;
        // Slots of this batch, in table order (the order they were taken, for one batch).
        for slot in 0..self.table.capacity() as u16 {
            if self.table.get(slot).is_none_or(|o| o.req_id != req) {
                continue;
            }
            matched = true;
            if !r.success {
                self.refuse_order(slot, r.error, io);
                continue;
            }
            self.counters.acks += 1;
            let codec = self.codec;
            let id = r.orders().find(|o| {
                o.cl_ord_id.is_some_and(
                    |c| matches!(codec.decode(c), ClOrdIdMatch::Ours { slot: s, .. } if s == slot),
                )
            });
            if let (Some(o), Some(venue)) = (self.table.get_mut(slot), id.and_then(|i| i.order_id))
            {
                o.venue_id = VenueOrderId::new(venue).unwrap_or(VenueOrderId::EMPTY);
            }
            self.accepted_or_validated(slot, io);
        }
        if !matched {
            self.counters.unmatched_responses += 1;
        }
    }

    /// The venue refused a new order: `Rejected`, slot freed.
    fn refuse_order(&mut self, slot: u16, error: Option<&str>, io: &mut impl SessionIo) {
        let Some(order) = self.table.remove(slot) else {
            return;
        };
        // Never accepted: nothing of it was open at the venue.
        self.closed(&order);
        let reason = error.map_or(RejectReason::Other, venue_error::classify);
        let update = OrderUpdate::rejected(order.client_id, SymbolId(order.symbol), reason);
        self.reject(io, usize::from(order.strategy), update);
    }

    /// The venue refused a cancel or amend: the order works on; the strategy hears why.
    fn refuse_change(
        &mut self,
        req: u64,
        error: Option<&str>,
        cancel: bool,
        io: &mut impl SessionIo,
    ) {
        let reason = error.map_or(RejectReason::Other, venue_error::classify);
        let mut matched = false;
        let single = (req & NO_SLOT) as u16;
        let is_ours = |p: PendingChange| match p {
            PendingChange::Cancel { req_id } => cancel && req_id == req,
            PendingChange::Amend { req_id, .. } => !cancel && req_id == req,
            PendingChange::None => false,
        };
        let candidates = if self.table.get(single).is_some_and(|o| is_ours(o.pending)) {
            single..single + 1
        } else {
            0..self.table.capacity() as u16
        };
        for slot in candidates {
            let Some(o) = self.table.get_mut(slot) else {
                continue;
            };
            if !is_ours(o.pending) {
                continue;
            }
            matched = true;
            o.pending = PendingChange::None;
            let (client_id, symbol, strategy) = (o.client_id, SymbolId(o.symbol), o.strategy);
            let update = OrderUpdate::change_rejected(client_id, symbol, reason, cancel);
            self.reject(io, usize::from(strategy), update);
        }
        if !matched {
            self.counters.unmatched_responses += 1;
        }
    }

    /// An open order of the snapshot (`new` / `partially_filled`).
    pub(super) fn is_open_report(report: &Execution<'_>) -> bool {
        matches!(
            report.order_status,
            Some(OrderState::New | OrderState::PartiallyFilled | OrderState::PendingNew)
        ) || (report.order_status.is_none()
            && matches!(report.exec_type, ExecType::New | ExecType::PendingNew))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_scale_is_exact_when_it_can_be_and_rounds_otherwise() {
        let d = |m, s| Decimal {
            mantissa: m,
            scale: s,
        };
        assert_eq!(at_scale(d(12345, 2), 4), Some(1_234_500));
        assert_eq!(at_scale(d(12345, 3), 2), Some(1235));
        assert_eq!(at_scale(d(12344, 3), 2), Some(1234));
        assert_eq!(at_scale(d(-12345, 3), 2), Some(-1235));
        assert_eq!(at_scale(d(i64::MAX, 0), 2), None);
    }

    #[test]
    fn balance_table_keeps_assets_in_order_and_bounds_them() {
        let mut t = BalanceTable::new();
        let one = Decimal {
            mantissa: 1,
            scale: 0,
        };
        t.set("USD", one);
        t.set("BTC", Decimal::ZERO);
        t.set("USD", Decimal::ZERO);
        assert_eq!(
            t.iter().collect::<Vec<_>>(),
            [("USD", Decimal::ZERO), ("BTC", Decimal::ZERO)]
        );
        t.set(&"X".repeat(ASSET_NAME_MAX + 1), one);
        assert_eq!((t.len(), t.dropped), (2, 1));
    }
}
