//! The new-order path: the pre-trade checks in order, the wire form of an order, a slot, the
//! request written, the exposure booked; and batches, collected from the intent ring and sent
//! (or refused) whole.
//!
//! Invariants: no byte leaves before every check passed; a refused order takes no slot, no rate
//! count and no exposure; a batch is all or nothing. Never allocates.

use kspin_api::{
    ClientOrderId, OrderMessage, OrderRequest, OrderType, OrderUpdate, Qty, RejectReason,
    RiskReason, SymbolId, TimeInForce,
};

use super::{
    new_order, write_reason, OrderStage, SessionIo, SessionSymbol, TradingSession, MAX_BATCH_ADD,
};
use crate::feed::Feed;
use crate::trading::cl_ord_id::ClOrdId;
use crate::trading::pretrade::{self, Capacity, Gate, RateCheck, Standing};
use crate::trading::rate;
use crate::trading::risk::Touch;
use crate::trading::writer::{
    write_rfc3339_utc_digits, AddOrder, BatchOrder, Fixed, OrderKind, Tif,
};

impl TradingSession {
    /// The checks of a new order, in order ([`pretrade::check_new_order`]); `batch_extra`
    /// orders of the same batch already passed and count as open (and the batch's rate cost is
    /// checked once, by the caller).
    pub(super) fn check_new(
        &self,
        strategy: usize,
        intent: &kspin_api::OrderIntent,
        feed: &Feed,
        batch_extra: u32,
        now_ns: u64,
    ) -> Result<(), RejectReason> {
        let s = intent.symbol.index();
        let n = self.cfg.symbols.len();
        let standing = Standing {
            touch: self.live_touch(feed, s),
            limits: self.cfg.limits.get(strategy * n + s),
            exposure: self.exposure.get(strategy * n + s),
        };
        let capacity = Capacity {
            open_on_pair: self.open_per_symbol.get(s).copied().unwrap_or(0) + batch_extra,
            max_open_per_pair: self.cfg.max_open_per_pair,
            table_full: self.table.len() + batch_extra as usize >= self.table.capacity(),
        };
        let rate = match self.rate.get(s) {
            Some(counter) if batch_extra == 0 && self.cfg.enforce_rate_limit => Some(RateCheck {
                counter,
                cost: rate::add_cost(),
            }),
            _ => None,
        };
        pretrade::check_new_order(&self.gate(), &standing, &capacity, rate, now_ns, intent)
    }

    /// What every request passes first: kill switch, connection, venue status.
    pub(super) fn gate(&self) -> Gate {
        Gate {
            killed: self.killed,
            ready: self.ready,
            system: self.system,
        }
    }

    /// The touch of `symbol`'s book if it is live at the scales strategies were given (a book
    /// whose precision changed is frozen for them, so not tradeable either).
    pub(super) fn live_touch(&self, feed: &Feed, symbol: usize) -> Option<Touch> {
        let sym = self.cfg.symbols.get(symbol)?;
        let entry = feed.book(symbol)?;
        let book = &entry.book;
        if !entry.state.is_live()
            || book.price_scale() != sym.price_scale
            || book.qty_scale() != sym.qty_scale
        {
            return None;
        }
        Some(Touch {
            bid: book.best_bid().map(|(p, _)| p),
            ask: book.best_ask().map(|(p, _)| p),
        })
    }

    /// The wire form of a strategy's order, with its `cl_ord_id` and (GTD) expiry text.
    pub(super) fn order_fields<'a>(
        sym: &SessionSymbol,
        intent: &kspin_api::OrderIntent,
        cl_ord_id: &'a ClOrdId,
        expire: &'a [u8],
    ) -> BatchOrder<'a> {
        let market = intent.order_type == OrderType::Market;
        let (tif, expire_time) = match intent.tif {
            TimeInForce::Gtc => (None, None),
            TimeInForce::Ioc => (Some(Tif::Ioc), None),
            TimeInForce::Gtd { .. } => (Some(Tif::Gtd), core::str::from_utf8(expire).ok()),
        };
        BatchOrder {
            side: intent.side,
            order_type: if market {
                OrderKind::Market
            } else {
                OrderKind::Limit
            },
            limit_price: (!market).then_some(Fixed {
                mantissa: intent.price.0,
                scale: sym.price_scale,
            }),
            order_qty: Fixed {
                mantissa: intent.qty.0,
                scale: sym.qty_scale,
            },
            time_in_force: tif,
            expire_time,
            post_only: intent.order_type == OrderType::PostOnly,
            cl_ord_id: Some(cl_ord_id.as_str()),
            order_userref: None,
        }
    }

    /// Takes a slot for a checked order, encodes and writes it.
    pub(super) fn place(
        &mut self,
        strategy: usize,
        client_id: ClientOrderId,
        intent: &kspin_api::OrderIntent,
        symbol: usize,
        now_ns: u64,
        io: &mut impl SessionIo,
    ) {
        let Some(slot) = self
            .table
            .insert(new_order(strategy, client_id, intent, now_ns))
        else {
            let reason = RejectReason::Refused(RiskReason::OpenOrders);
            return self.reject(
                io,
                strategy,
                OrderUpdate::rejected(client_id, intent.symbol, reason),
            );
        };
        let req = self.next_req(u64::from(slot));
        if let Some(o) = self.table.get_mut(slot) {
            o.req_id = req;
        }
        let cl_ord_id = self.codec.encode(slot, strategy as u16, client_id);
        let mut expire = [0u8; 32];
        let expire_len = match intent.tif {
            TimeInForce::Gtd { expire_ns } => write_rfc3339_utc_digits(expire_ns, 0, &mut expire),
            _ => 0,
        };
        let Some(sym) = self.cfg.symbols.get(symbol) else {
            self.table.remove(slot);
            return;
        };
        let fields = Self::order_fields(
            sym,
            intent,
            &cl_ord_id,
            expire.get(..expire_len).unwrap_or(&[]),
        );
        let order = AddOrder {
            symbol: &sym.name,
            side: fields.side,
            order_type: fields.order_type,
            limit_price: fields.limit_price,
            order_qty: fields.order_qty,
            time_in_force: fields.time_in_force,
            expire_time: fields.expire_time,
            post_only: fields.post_only,
            cl_ord_id: fields.cl_ord_id,
            order_userref: None,
            validate: self.cfg.validate,
        };
        let sent = match self.writer.add_order(req, &order) {
            Ok(frame) => {
                io.stage(OrderStage::Encoded);
                Ok(io.send(frame))
            }
            Err(e) => Err(e),
        };
        match sent {
            Ok(true) => {
                self.counters.orders_sent += 1;
                self.counters.requests_sent += 1;
                self.opened(strategy, symbol, intent, now_ns, rate::add_cost());
            }
            Ok(false) => {
                self.table.remove(slot);
                let reason = RejectReason::Refused(RiskReason::NotConnected);
                self.reject(
                    io,
                    strategy,
                    OrderUpdate::rejected(client_id, intent.symbol, reason),
                );
            }
            Err(e) => {
                self.table.remove(slot);
                let update = OrderUpdate::rejected(client_id, intent.symbol, write_reason(e));
                self.reject(io, strategy, update);
            }
        }
    }

    /// Books an order that went out: exposure, the pair's open count, the rate counter.
    pub(super) fn opened(
        &mut self,
        strategy: usize,
        symbol: usize,
        intent: &kspin_api::OrderIntent,
        now_ns: u64,
        cost: u32,
    ) {
        let n = self.cfg.symbols.len();
        if let Some(e) = self.exposure.get_mut(strategy * n + symbol) {
            e.open(intent.side, intent.qty.0);
        }
        if let Some(c) = self.open_per_symbol.get_mut(symbol) {
            *c += 1;
        }
        if let Some(r) = self.rate.get_mut(symbol) {
            r.charge(cost, now_ns);
        }
    }

    /// Collects the messages of one batch; sends it when the last arrives.
    pub(super) fn collect_batch(
        &mut self,
        strategy: usize,
        message: &OrderMessage,
        feed: &Feed,
        now_ns: u64,
        io: &mut impl SessionIo,
    ) {
        if self.batch.len > 0 && self.batch.strategy != strategy {
            // Another strategy's message while collecting: the batch was cut (cannot happen:
            // a batch is published whole and drained lane by lane); refuse what was collected.
            self.refuse_batch(io, RejectReason::Other);
        }
        self.batch.strategy = strategy;
        if let Some(m) = self.batch.messages.get_mut(self.batch.len) {
            *m = Some(*message);
            self.batch.len += 1;
        }
        if message.batch_rest == 0 || self.batch.len == MAX_BATCH_ADD {
            self.send_batch(feed, now_ns, io);
        }
    }

    pub(super) fn refuse_batch(&mut self, io: &mut impl SessionIo, reason: RejectReason) {
        let strategy = self.batch.strategy;
        for i in 0..core::mem::take(&mut self.batch.len) {
            if let Some(Some(OrderMessage {
                request: OrderRequest::New { client_id, intent },
                ..
            })) = self.batch.messages.get_mut(i).map(|m| m.take())
            {
                self.reject(
                    io,
                    strategy,
                    OrderUpdate::rejected(client_id, intent.symbol, reason),
                );
            }
        }
    }

    /// Checks a whole batch (all or nothing, like Kraken's `batch_add`) and writes it; a batch
    /// of one goes out as a plain `add_order`.
    pub(super) fn send_batch(&mut self, feed: &Feed, now_ns: u64, io: &mut impl SessionIo) {
        let strategy = self.batch.strategy;
        let len = self.batch.len;
        let mut intents = [(
            ClientOrderId(0),
            kspin_api::OrderIntent::market(SymbolId(0), kspin_api::Side::Buy, Qty(0)),
        ); MAX_BATCH_ADD];
        for (k, m) in self.batch.messages.iter().take(len).enumerate() {
            if let Some(OrderMessage {
                request: OrderRequest::New { client_id, intent },
                ..
            }) = m
            {
                intents[k] = (*client_id, *intent);
            }
        }
        if len == 1 {
            let (client_id, intent) = intents[0];
            self.batch.len = 0;
            self.batch.messages[0] = None;
            return match self.check_new(strategy, &intent, feed, 0, now_ns) {
                Err(reason) => self.reject(
                    io,
                    strategy,
                    OrderUpdate::rejected(client_id, intent.symbol, reason),
                ),
                Ok(()) => {
                    io.stage(OrderStage::RiskPassed);
                    self.place(
                        strategy,
                        client_id,
                        &intent,
                        intent.symbol.index(),
                        now_ns,
                        io,
                    )
                }
            };
        }
        // Every order checked as if the ones before it were open already.
        let symbol = intents[0].1.symbol;
        let mut verdict = Ok(());
        let n = self.cfg.symbols.len();
        let idx = strategy * n + symbol.index();
        let saved = self.exposure.get(idx).copied();
        for (k, (_, intent)) in intents.iter().take(len).enumerate() {
            if intent.symbol != symbol {
                verdict = Err(RejectReason::BadParameters);
                break;
            }
            verdict = self.check_new(strategy, intent, feed, k as u32, now_ns);
            if verdict.is_err() {
                break;
            }
            if let Some(e) = self.exposure.get_mut(idx) {
                e.open(intent.side, intent.qty.0);
            }
        }
        if let (Some(e), Some(saved)) = (self.exposure.get_mut(idx), saved) {
            *e = saved;
        }
        if verdict.is_ok()
            && self.cfg.enforce_rate_limit
            && self
                .rate
                .get(symbol.index())
                .is_some_and(|r| r.would_exceed(rate::batch_add_cost(len), now_ns))
        {
            verdict = Err(RejectReason::Refused(RiskReason::RateLimit));
        }
        if let Err(reason) = verdict {
            return self.refuse_batch(io, reason);
        }
        io.stage(OrderStage::RiskPassed);
        self.batch.len = 0;
        self.batch.messages = [None; MAX_BATCH_ADD];
        let req_seq = self.next_seq;
        self.next_seq += 1;
        let mut slots = [0u16; MAX_BATCH_ADD];
        let mut ids = [self.codec.encode(0, 0, ClientOrderId(0)); MAX_BATCH_ADD];
        let mut expires = [[0u8; 32]; MAX_BATCH_ADD];
        let mut expire_lens = [0usize; MAX_BATCH_ADD];
        for k in 0..len {
            let (client_id, intent) = intents[k];
            let Some(slot) = self
                .table
                .insert(new_order(strategy, client_id, &intent, now_ns))
            else {
                // Checked above (table room); unwind what was taken.
                for &s in slots.iter().take(k) {
                    self.table.remove(s);
                }
                let reason = RejectReason::Refused(RiskReason::OpenOrders);
                for (c, i) in intents.iter().take(len) {
                    self.reject(io, strategy, OrderUpdate::rejected(*c, i.symbol, reason));
                }
                return;
            };
            slots[k] = slot;
            ids[k] = self.codec.encode(slot, strategy as u16, client_id);
            if let TimeInForce::Gtd { expire_ns } = intent.tif {
                expire_lens[k] = write_rfc3339_utc_digits(expire_ns, 0, &mut expires[k]);
            }
        }
        let req = (req_seq << 16) | u64::from(slots[0]);
        for &s in slots.iter().take(len) {
            if let Some(o) = self.table.get_mut(s) {
                o.req_id = req;
            }
        }
        let Some(sym) = self.cfg.symbols.get(symbol.index()) else {
            return;
        };
        let mut orders = [Self::order_fields(sym, &intents[0].1, &ids[0], &[]); MAX_BATCH_ADD];
        for k in 0..len {
            let expire = expires[k].get(..expire_lens[k]).unwrap_or(&[]);
            orders[k] = Self::order_fields(sym, &intents[k].1, &ids[k], expire);
        }
        let result = match self
            .writer
            .batch_add(req, &sym.name, &orders[..len], self.cfg.validate)
        {
            Ok(frame) => {
                io.stage(OrderStage::Encoded);
                Ok(io.send(frame))
            }
            Err(e) => Err(e),
        };
        let refusal = match result {
            Ok(true) => None,
            Ok(false) => Some(RejectReason::Refused(RiskReason::NotConnected)),
            Err(e) => Some(write_reason(e)),
        };
        if let Some(reason) = refusal {
            for k in 0..len {
                self.table.remove(slots[k]);
                let (c, i) = intents[k];
                self.reject(io, strategy, OrderUpdate::rejected(c, i.symbol, reason));
            }
            return;
        }
        self.counters.orders_sent += len as u64;
        self.counters.requests_sent += 1;
        for (k, (_, intent)) in intents.iter().take(len).enumerate() {
            let cost = if k == 0 { rate::batch_add_cost(len) } else { 0 };
            self.opened(strategy, symbol.index(), intent, now_ns, cost);
        }
    }
}
