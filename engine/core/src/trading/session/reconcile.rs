//! Reconciliation: the first `executions` snapshot of every authenticated connection (open
//! orders, and the account's recent fills: the session subscribes with `snap_orders` and
//! `snap_trades`) is compared with what the order table believed when the last connection
//! ended, and every difference is resolved and reported to the strategies.
//!
//! In order: fills in the snapshot that the table has not applied are applied (an order that
//! completed meanwhile ends `Filled`); every open order of the snapshot that is ours is
//! confirmed, its missed fills caught up from `cum_qty`, and a cancel or amend lost with the old
//! connection is answered refused (its status shows whether it happened); every order of the
//! table the snapshot does not show vanished (cancelled by the dead man's switch, expired, or
//! never received) and ends `Cancelled`; open orders this run did not place are counted, and
//! cancelled when the config says so. Then orders may go out again.
//!
//! Invariants: each order gets at most one final update; a fill is never applied twice (trade
//! ids); nothing allocates (cancels of unknown orders go out in batches from a stack array).

use kspin_api::{OrderUpdate, Price, Qty, RejectReason, RiskReason, SymbolId};

use super::reports::at_scale;
use super::{SessionIo, TradingSession, MAX_BATCH_CANCEL, NO_SLOT};
use crate::kraken::{ExecType, ExecutionsMsg};
use crate::trading::cl_ord_id::ClOrdIdMatch;
use crate::trading::orders::{PendingChange, VenueOrderId};
use crate::trading::writer::OrderIds;

/// What one reconciliation found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReconcileReport {
    /// Orders of ours the snapshot shows open.
    pub open_confirmed: u32,
    /// Fills the table had missed, applied (from the snapshot's trades or `cum_qty`).
    pub fills_applied: u32,
    /// Orders of ours that completed while disconnected.
    pub filled_meanwhile: u32,
    /// Orders of ours the snapshot does not show: resolved `Cancelled`.
    pub vanished: u32,
    /// Cancels and amends lost with the old connection (answered refused).
    pub changes_lost: u32,
    /// Open orders this run did not place.
    pub unknown_open: u32,
    /// Of those, how many a cancel was sent for.
    pub unknown_cancelled: u32,
}

impl TradingSession {
    pub(super) fn reconcile(
        &mut self,
        msg: &ExecutionsMsg<'_>,
        now_ns: u64,
        io: &mut impl SessionIo,
    ) {
        let mut report = ReconcileReport::default();
        let before = self.table.len();
        for (_, o) in self.table.iter_mut() {
            o.confirmed = false;
        }
        // 1. Fills the table missed.
        for exec in msg.iter().filter(|e| e.exec_type == ExecType::Trade) {
            if let Some(slot) = self.slot_of(&exec) {
                let filled = self.table.get(slot).map(|o| o.filled);
                self.apply_trade(slot, &exec, io);
                if self.table.get(slot).map(|o| o.filled) != filled {
                    report.fills_applied += 1;
                }
            }
        }
        // 2. Open orders.
        let mut unknown = [VenueOrderId::EMPTY; MAX_BATCH_CANCEL];
        let mut unknown_len = 0;
        for exec in msg.iter().filter(Self::is_open_report) {
            let Some(slot) = self.slot_of(&exec) else {
                let ours = exec
                    .cl_ord_id
                    .is_some_and(|c| matches!(self.codec.decode(c), ClOrdIdMatch::Ours { .. }));
                if !ours {
                    report.unknown_open += 1;
                    self.counters.unknown_open_orders += 1;
                    if self.cfg.cancel_unknown_orders {
                        if let Some(id) = exec.order_id.and_then(VenueOrderId::new) {
                            unknown[unknown_len] = id;
                            unknown_len += 1;
                            if unknown_len == MAX_BATCH_CANCEL {
                                report.unknown_cancelled += self.cancel_venue_ids(&unknown, io);
                                unknown_len = 0;
                            }
                        }
                    }
                }
                continue;
            };
            report.open_confirmed += 1;
            if let Some(o) = self.table.get_mut(slot) {
                o.confirmed = true;
                if o.venue_id.is_empty() {
                    if let Some(id) = exec.order_id.and_then(VenueOrderId::new) {
                        o.venue_id = id;
                    }
                }
            }
            self.tell_accepted(slot, io);
            if self.catch_up_fills(slot, &exec, io) {
                report.fills_applied += 1;
            }
            self.resolve_lost_change(slot, &exec, now_ns, &mut report, io);
        }
        if unknown_len > 0 {
            report.unknown_cancelled += self.cancel_venue_ids(&unknown[..unknown_len], io);
        }
        // 3. What the snapshot does not show is gone.
        for slot in 0..self.table.capacity() as u16 {
            let Some(order) = self.table.get(slot).copied() else {
                continue;
            };
            if order.confirmed {
                continue;
            }
            self.table.remove(slot);
            self.closed(&order);
            report.vanished += 1;
            self.counters.cancels += 1;
            let update =
                OrderUpdate::cancelled(order.client_id, SymbolId(order.symbol), order.remaining());
            io.update(usize::from(order.strategy), update);
        }
        let still_open = self.table.len();
        report.filled_meanwhile =
            (before.saturating_sub(still_open) as u32).saturating_sub(report.vanished);
        self.counters.reconciliations += 1;
        self.counters.reconciled_orders +=
            u64::from(report.filled_meanwhile + report.vanished + report.changes_lost);
        self.last_reconcile = report;
        self.ready = self.link_up;
    }

    /// A cancel or amend sent on the old connection got no answer: the snapshot says what
    /// happened. An amend that took effect is applied; anything else is answered refused.
    fn resolve_lost_change(
        &mut self,
        slot: u16,
        exec: &crate::kraken::Execution<'_>,
        now_ns: u64,
        report: &mut ReconcileReport,
        io: &mut impl SessionIo,
    ) {
        let Some(order) = self.table.get(slot).copied() else {
            return;
        };
        let cancel = match order.pending {
            PendingChange::None => return,
            PendingChange::Cancel { .. } => true,
            PendingChange::Amend { price, qty, .. } => {
                let sym = self.cfg.symbols.get(usize::from(order.symbol));
                let shown_qty =
                    sym.and_then(|s| exec.order_qty.and_then(|q| at_scale(q, s.qty_scale)));
                let shown_price =
                    sym.and_then(|s| exec.limit_price.and_then(|p| at_scale(p, s.price_scale)));
                if shown_qty == Some(qty.0) && shown_price.is_none_or(|p| p == price.0) {
                    if let Some(o) = self.table.get_mut(slot) {
                        o.qty = qty;
                        o.price = price;
                        o.placed_ns = now_ns;
                        o.pending = PendingChange::None;
                    }
                    self.counters.amends += 1;
                    let update = OrderUpdate::amended(
                        order.client_id,
                        SymbolId(order.symbol),
                        Price(price.0),
                        Qty(qty.0.saturating_sub(order.filled.0)),
                    );
                    io.update(usize::from(order.strategy), update);
                    return;
                }
                false
            }
        };
        if let Some(o) = self.table.get_mut(slot) {
            o.pending = PendingChange::None;
        }
        report.changes_lost += 1;
        let reason = RejectReason::Refused(RiskReason::NotConnected);
        let update =
            OrderUpdate::change_rejected(order.client_id, SymbolId(order.symbol), reason, cancel);
        self.reject(io, usize::from(order.strategy), update);
    }

    /// Cancels orders by the venue's ids (orders this run did not place). Returns how many.
    fn cancel_venue_ids(&mut self, ids: &[VenueOrderId], io: &mut impl SessionIo) -> u32 {
        let mut texts = [""; MAX_BATCH_CANCEL];
        let n = ids.len().min(MAX_BATCH_CANCEL);
        for (t, id) in texts.iter_mut().zip(ids) {
            *t = id.as_str();
        }
        let req = self.next_req(NO_SLOT);
        let frame = if n == 1 {
            self.writer
                .cancel_order(req, OrderIds::OrderId(&texts[..1]))
        } else {
            self.writer
                .batch_cancel(req, OrderIds::OrderId(&texts[..n]))
        };
        match frame {
            Ok(frame) if io.send(frame) => {
                self.counters.requests_sent += 1;
                n as u32
            }
            _ => 0,
        }
    }
}
