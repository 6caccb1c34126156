//! Changes to working orders: cancel (by `cl_ord_id`), amend (checked like a new order's
//! terms), and a strategy's cancel-all (one `cancel_order`, or `batch_cancel`s of up to
//! [`MAX_BATCH_CANCEL`]).
//!
//! Invariants: a strategy can change only its own orders (another's id is `UnknownOrder`); one
//! change per order at a time; a change that cannot be sent is answered refused at once, and the
//! order works on. Never allocates.

use kspin_api::{ClientOrderId, OrderType, OrderUpdate, Qty, RejectReason, RiskReason, SymbolId};

use super::{write_reason, OrderStage, SessionIo, TradingSession, MAX_BATCH_CANCEL};
use crate::feed::Feed;
use crate::trading::orders::{LiveOrder, PendingChange};
use crate::trading::pretrade::{self, RateCheck, Standing, WorkingOrder};
use crate::trading::rate;
use crate::trading::writer::{AmendOrder, Fixed, OrderIds};

impl TradingSession {
    pub(super) fn cancel(
        &mut self,
        strategy: usize,
        client_id: ClientOrderId,
        symbol: SymbolId,
        now_ns: u64,
        io: &mut impl SessionIo,
    ) {
        let Some(slot) = self.own_slot(strategy, client_id) else {
            let update = OrderUpdate::rejected(client_id, symbol, RejectReason::UnknownOrder);
            return self.reject(io, strategy, update);
        };
        if !self.link_up {
            let reason = RejectReason::Refused(RiskReason::NotConnected);
            let update = OrderUpdate::change_rejected(client_id, symbol, reason, true);
            return self.reject(io, strategy, update);
        }
        let Some(order) = self.table.get(slot).copied() else {
            return;
        };
        if matches!(order.pending, PendingChange::Cancel { .. }) {
            return; // already asked; the venue's answer is coming
        }
        let req = self.next_req(u64::from(slot));
        let id = self.codec.encode(slot, strategy as u16, client_id);
        let ids = [id.as_str()];
        let sent = match self.writer.cancel_order(req, OrderIds::ClOrdId(&ids)) {
            Ok(frame) => io.send(frame),
            Err(_) => false,
        };
        if !sent {
            let reason = RejectReason::Refused(RiskReason::NotConnected);
            let update = OrderUpdate::change_rejected(client_id, symbol, reason, true);
            return self.reject(io, strategy, update);
        }
        self.counters.requests_sent += 1;
        if let Some(o) = self.table.get_mut(slot) {
            o.pending = PendingChange::Cancel { req_id: req };
        }
        if let Some(r) = self.rate.get_mut(usize::from(order.symbol)) {
            r.charge(
                rate::cancel_cost(now_ns.saturating_sub(order.placed_ns)),
                now_ns,
            );
        }
    }

    /// The slot of a strategy's own order.
    pub(super) fn own_slot(&self, strategy: usize, client_id: ClientOrderId) -> Option<u16> {
        self.table.find(client_id).filter(|&s| {
            self.table
                .get(s)
                .is_some_and(|o| usize::from(o.strategy) == strategy)
        })
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn amend(
        &mut self,
        strategy: usize,
        client_id: ClientOrderId,
        symbol: SymbolId,
        price: kspin_api::Price,
        qty: Qty,
        feed: &Feed,
        now_ns: u64,
        io: &mut impl SessionIo,
    ) {
        let Some(slot) = self.own_slot(strategy, client_id) else {
            let update = OrderUpdate::rejected(client_id, symbol, RejectReason::UnknownOrder);
            return self.reject(io, strategy, update);
        };
        let Some(order) = self.table.get(slot).copied() else {
            return;
        };
        let refuse = |reason| OrderUpdate::change_rejected(client_id, symbol, reason, false);
        let verdict = self.check_amend(strategy, &order, price, qty, feed, now_ns);
        if let Err(reason) = verdict {
            return self.reject(io, strategy, refuse(reason));
        }
        io.stage(OrderStage::RiskPassed);
        let Some((price_scale, qty_scale)) = self
            .cfg
            .symbols
            .get(usize::from(order.symbol))
            .map(|s| (s.price_scale, s.qty_scale))
        else {
            return;
        };
        let req = self.next_req(u64::from(slot));
        let id = self.codec.encode(slot, strategy as u16, client_id);
        let amend = AmendOrder {
            order_id: None,
            cl_ord_id: Some(id.as_str()),
            order_qty: Fixed {
                mantissa: qty.0,
                scale: qty_scale,
            },
            limit_price: (price.0 > 0).then_some(Fixed {
                mantissa: price.0,
                scale: price_scale,
            }),
            post_only: order.order_type == OrderType::PostOnly,
            deadline: None,
        };
        let sent = match self.writer.amend_order(req, &amend) {
            Ok(frame) => {
                io.stage(OrderStage::Encoded);
                Ok(io.send(frame))
            }
            Err(e) => Err(e),
        };
        match sent {
            Ok(true) => {
                self.counters.requests_sent += 1;
                let new_price = if price.0 > 0 { price } else { order.price };
                if let Some(o) = self.table.get_mut(slot) {
                    o.pending = PendingChange::Amend {
                        req_id: req,
                        price: new_price,
                        qty,
                    };
                }
                if let Some(r) = self.rate.get_mut(usize::from(order.symbol)) {
                    r.charge(
                        rate::amend_cost(now_ns.saturating_sub(order.placed_ns)),
                        now_ns,
                    );
                }
            }
            Ok(false) => {
                let reason = RejectReason::Refused(RiskReason::NotConnected);
                self.reject(io, strategy, refuse(reason));
            }
            Err(e) => self.reject(io, strategy, refuse(write_reason(e))),
        }
    }

    /// The checks of an amend ([`pretrade::check_amend_order`]).
    pub(super) fn check_amend(
        &self,
        strategy: usize,
        order: &LiveOrder,
        price: kspin_api::Price,
        qty: Qty,
        feed: &Feed,
        now_ns: u64,
    ) -> Result<(), RejectReason> {
        let s = usize::from(order.symbol);
        let n = self.cfg.symbols.len();
        let standing = Standing {
            touch: self.live_touch(feed, s),
            limits: self.cfg.limits.get(strategy * n + s),
            exposure: self.exposure.get(strategy * n + s),
        };
        let working = WorkingOrder {
            order_type: order.order_type,
            side: order.side,
            price: order.price,
            filled: order.filled,
            remaining: order.remaining(),
            change_pending: order.pending != PendingChange::None,
        };
        let age = now_ns.saturating_sub(order.placed_ns);
        let rate = match self.rate.get(s) {
            Some(counter) if self.cfg.enforce_rate_limit => Some(RateCheck {
                counter,
                cost: rate::amend_cost(age),
            }),
            _ => None,
        };
        pretrade::check_amend_order(&self.gate(), &standing, &working, price, qty, rate, now_ns)
    }

    /// Cancels every open order of `strategy` (on `symbol`, or all): one `cancel_order`, or
    /// `batch_cancel`s of up to [`MAX_BATCH_CANCEL`].
    pub(super) fn cancel_all(
        &mut self,
        strategy: usize,
        symbol: Option<SymbolId>,
        now_ns: u64,
        io: &mut impl SessionIo,
    ) {
        let mut slots = [0u16; MAX_BATCH_CANCEL];
        let mut cursor = 0usize;
        loop {
            let mut found = 0;
            for (slot, o) in self.table.iter().skip(cursor) {
                cursor += 1;
                let mine = usize::from(o.strategy) == strategy
                    && symbol.is_none_or(|s| s.index() == usize::from(o.symbol))
                    && !matches!(o.pending, PendingChange::Cancel { .. });
                if mine {
                    slots[found] = slot;
                    found += 1;
                    if found == MAX_BATCH_CANCEL {
                        break;
                    }
                }
            }
            if found == 0 {
                return;
            }
            if found == 1 {
                if let Some(o) = self.table.get(slots[0]).copied() {
                    self.cancel(strategy, o.client_id, SymbolId(o.symbol), now_ns, io);
                }
            } else if !self.batch_cancel(strategy, &slots[..found], now_ns, io) {
                return;
            }
            if found < MAX_BATCH_CANCEL {
                return;
            }
        }
    }

    pub(super) fn batch_cancel(
        &mut self,
        strategy: usize,
        slots: &[u16],
        now_ns: u64,
        io: &mut impl SessionIo,
    ) -> bool {
        let mut ids = [self.codec.encode(0, 0, ClientOrderId(0)); MAX_BATCH_CANCEL];
        let mut texts = [""; MAX_BATCH_CANCEL];
        let n = slots.len().min(MAX_BATCH_CANCEL);
        for (k, &slot) in slots.iter().take(n).enumerate() {
            if let Some(o) = self.table.get(slot) {
                ids[k] = self.codec.encode(slot, strategy as u16, o.client_id);
            }
        }
        for k in 0..n {
            texts[k] = ids[k].as_str();
        }
        let req = self.next_req(u64::from(slots.first().copied().unwrap_or(0)));
        let sent = if !self.link_up {
            false
        } else {
            match self
                .writer
                .batch_cancel(req, OrderIds::ClOrdId(&texts[..n]))
            {
                Ok(frame) => io.send(frame),
                Err(_) => false,
            }
        };
        if !sent {
            let reason = RejectReason::Refused(RiskReason::NotConnected);
            for &slot in slots.iter().take(n) {
                if let Some(o) = self.table.get(slot).copied() {
                    let update =
                        OrderUpdate::change_rejected(o.client_id, SymbolId(o.symbol), reason, true);
                    self.reject(io, strategy, update);
                }
            }
            return false;
        }
        self.counters.requests_sent += 1;
        let mut cost = 0u32;
        for &slot in slots.iter().take(n) {
            if let Some(o) = self.table.get_mut(slot) {
                o.pending = PendingChange::Cancel { req_id: req };
                cost = cost.saturating_add(rate::cancel_cost(now_ns.saturating_sub(o.placed_ns)));
            }
        }
        if let Some(symbol) = slots
            .first()
            .and_then(|&s| self.table.get(s))
            .map(|o| o.symbol)
        {
            if let Some(r) = self.rate.get_mut(usize::from(symbol)) {
                r.charge(cost, now_ns);
            }
        }
        true
    }
}
