//! Order entry on the authenticated endpoint: `add_order`, `amend_order`, `cancel_order`,
//! `cancel_all`, `cancel_all_orders_after`, `batch_add` and `batch_cancel` (PROTOCOL.md §1.11),
//! from their params to the exchange and back to Kraken's answers.
//!
//! Owns no state. Order of checks, as Kraken words its limits: maintenance
//! (`EService:Unavailable`), the pair, then the rate counter's fixed count "on receipt" (so a
//! request that fails later validation still counts), the `deadline`, the fields, then the
//! venue-side checks (the `reject` fault, open-order limit, post-only, funds). Choices where the
//! docs are silent: `validate: true` runs every check, reserves nothing and answers `result`
//! without an `order_id` (the rate counter is charged as for any receipt); `batch_add` is all or
//! nothing (any refusal refuses the batch); `batch_cancel` and `cancel_all` are counted like
//! batch cancels, never refused by the rate counter, and count only the orders they found;
//! `cancel_order` answers once per order (an `order_userref` naming several orders gets one
//! answer each) and refuses an unknown id with `EOrder:Unknown order`.
//! Invariants: every answer echoes `req_id`; events reach subscribers through the context.

use std::fmt::Write as _;

use super::decimal::push_timestamp_seconds;
use super::exchange::{errors, OrderRef, Reject, RejectKind};
use super::lifecycle::reasons;
use super::orders::{ExecType, OrderRequest};
use super::params::{self, Params, ADD_ORDER_FIELDS};
use super::requests::{fail, ok, Req, TradingCtx};
use crate::conn::Connection;
use crate::frames::push_str;
use crate::stats::StatsCounters;

/// Orders in a `batch_add` (batch_add.md: "minimum of 2 and maximum 15").
const BATCH_ADD: std::ops::RangeInclusive<usize> = 2..=15;
/// Orders in a `batch_cancel` (batch_cancel.md: "minimum of 2 and maximum 50").
const BATCH_CANCEL: std::ops::RangeInclusive<usize> = 2..=50;
/// `cancel_all_orders_after`: "it should be less than 86400 seconds".
const MAX_TIMEOUT: i64 = 86_400;

fn unavailable(ctx: &TradingCtx) -> Result<(), Reject> {
    if ctx.maintenance {
        Err(Reject::new(RejectKind::Unavailable, errors::UNAVAILABLE))
    } else {
        Ok(())
    }
}

/// `{"order_id":…,"cl_ord_id":…,"order_userref":…}` (the id left out for `validate`).
fn ids_result(order_id: Option<&str>, req: &OrderRequest) -> String {
    let mut out = String::from("{");
    if let Some(id) = order_id {
        out.push_str("\"order_id\":");
        push_str(&mut out, id);
    }
    if let Some(c) = &req.cl_ord_id {
        if out.len() > 1 {
            out.push(',');
        }
        out.push_str("\"cl_ord_id\":");
        push_str(&mut out, c);
    }
    if let Some(u) = req.order_userref {
        if out.len() > 1 {
            out.push(',');
        }
        let _ = write!(out, "\"order_userref\":{u}");
    }
    out.push('}');
    out
}

pub fn add_order(
    ctx: &mut TradingCtx,
    conn: &mut Connection,
    req: &Req,
    p: &Params,
) -> Result<(), Reject> {
    unavailable(ctx)?;
    let symbol = params::symbol(p, ctx.exchange.pairs())?;
    ctx.exchange.charge_add(symbol, None, ctx.at())?;
    params::deadline(p, ctx.now.us)?;
    let validate = params::boolean(p, "validate")?.unwrap_or(false);
    let pair = ctx.exchange.pairs()[symbol];
    let order = params::order(p, symbol, pair, &ADD_ORDER_FIELDS, ctx.now.us)?;
    ctx.exchange
        .check_new(ctx.market, std::slice::from_ref(&order), validate)?;
    if validate {
        StatsCounters::add(&ctx.stats.orders_validated, 1);
        ok(ctx, conn, req, &ids_result(None, &order));
        return Ok(());
    }
    let id = ctx.exchange.place(ctx.market, &order, ctx.now, ctx.events);
    StatsCounters::add(&ctx.stats.orders_placed, 1);
    ok(ctx, conn, req, &ids_result(Some(&id), &order));
    Ok(())
}

const AMEND_FIELDS: [&str; 12] = [
    "order_id",
    "cl_ord_id",
    "order_qty",
    "display_qty",
    "limit_price",
    "limit_price_type",
    "post_only",
    "trigger_price",
    "trigger_price_type",
    "deadline",
    "symbol",
    "token",
];

pub fn amend_order(
    ctx: &mut TradingCtx,
    conn: &mut Connection,
    req: &Req,
    p: &Params,
) -> Result<(), Reject> {
    unavailable(ctx)?;
    params::only(p, &[&AMEND_FIELDS])?;
    for unsimulated in [
        "display_qty",
        "limit_price_type",
        "trigger_price",
        "trigger_price_type",
    ] {
        if p.contains_key(unsimulated) {
            return Err(Reject::invalid(unsimulated));
        }
    }
    let by = match (
        params::string(p, "order_id")?,
        params::string(p, "cl_ord_id")?,
    ) {
        (Some(id), None) => OrderRef::Id(id),
        (None, Some(c)) => OrderRef::ClOrdId(c),
        _ => return Err(Reject::invalid("order_id")),
    };
    let index = ctx
        .exchange
        .find(&by)
        .ok_or_else(|| Reject::new(RejectKind::UnknownOrder, errors::UNKNOWN_ORDER))?;
    ctx.exchange.charge_amend(index, ctx.at())?;
    params::deadline(p, ctx.now.us)?;
    let order = &ctx.exchange.open_orders()[index];
    let (pair, symbol, side) = (order.pair, order.symbol, order.side);
    if params::string(p, "symbol")?.is_some_and(|s| s != pair.symbol) {
        return Err(Reject::invalid("symbol"));
    }
    let qty_text = params::number(p, "order_qty")?.ok_or_else(|| Reject::invalid("order_qty"))?;
    let qty = params::quantity(qty_text, pair, "order_qty")?;
    let price = match params::number(p, "limit_price")? {
        Some(t) => Some(params::price(t, pair, "limit_price")?),
        None => None,
    };
    let post_only = params::boolean(p, "post_only")?.unwrap_or(false) || order.post_only;
    if post_only && price.is_some() && ctx.exchange.would_take(ctx.market, symbol, side, price) {
        return Err(Reject::new(RejectKind::PostOnly, errors::POST_ONLY));
    }
    ctx.exchange.check_amend_funds(index, qty, price)?;
    let amend_id = ctx.exchange.new_amend_id();
    ctx.exchange
        .amend(ctx.market, index, qty, price, ctx.now, ctx.events);
    StatsCounters::add(&ctx.stats.orders_amended, 1);
    let mut result = String::from("{\"amend_id\":");
    push_str(&mut result, &amend_id);
    match &by {
        OrderRef::Id(id) => {
            result.push_str(",\"order_id\":");
            push_str(&mut result, id);
        }
        OrderRef::ClOrdId(c) => {
            result.push_str(",\"cl_ord_id\":");
            push_str(&mut result, c);
        }
        OrderRef::UserRef(_) => {}
    }
    result.push('}');
    ok(ctx, conn, req, &result);
    Ok(())
}

/// Cancels the open order `order_id` for the client; the answer's `result`.
fn cancel_one(ctx: &mut TradingCtx, order_id: &str) -> Result<String, Reject> {
    let by = OrderRef::Id(order_id.to_owned());
    let index = ctx
        .exchange
        .find(&by)
        .ok_or_else(|| Reject::new(RejectKind::UnknownOrder, errors::UNKNOWN_ORDER))?;
    ctx.exchange.charge_cancel(index, ctx.at())?;
    let order = ctx
        .exchange
        .close(
            index,
            ExecType::Canceled,
            Some(reasons::USER),
            ctx.now,
            ctx.events,
        )
        .ok_or_else(|| Reject::new(RejectKind::UnknownOrder, errors::UNKNOWN_ORDER))?;
    StatsCounters::add(&ctx.stats.orders_cancelled, 1);
    let mut result = String::from("{\"order_id\":");
    push_str(&mut result, &order.order_id);
    if let Some(c) = &order.cl_ord_id {
        result.push_str(",\"cl_ord_id\":");
        push_str(&mut result, c);
    }
    result.push('}');
    Ok(result)
}

pub fn cancel_order(ctx: &mut TradingCtx, conn: &mut Connection, req: &Req, p: &Params) {
    let refs = (|| -> Result<Vec<OrderRef>, Reject> {
        unavailable(ctx)?;
        params::only(p, &[&["order_id", "cl_ord_id", "order_userref", "token"]])?;
        let mut refs: Vec<OrderRef> = Vec::new();
        for id in params::strings(p, "order_id")?.unwrap_or_default() {
            refs.push(OrderRef::Id(id));
        }
        for c in params::strings(p, "cl_ord_id")?.unwrap_or_default() {
            refs.push(OrderRef::ClOrdId(c));
        }
        for u in params::integers(p, "order_userref")?.unwrap_or_default() {
            refs.push(OrderRef::UserRef(u));
        }
        if refs.is_empty() {
            return Err(Reject::invalid("order_id"));
        }
        Ok(refs)
    })();
    let refs = match refs {
        Ok(r) => r,
        Err(reject) => return fail(ctx, conn, req, &reject),
    };
    for r in refs {
        let ids: Vec<String> = ctx
            .exchange
            .find_all(&r)
            .into_iter()
            .map(|i| ctx.exchange.open_orders()[i].order_id.clone())
            .collect();
        if ids.is_empty() {
            let reject = Reject::new(RejectKind::UnknownOrder, errors::UNKNOWN_ORDER);
            fail(ctx, conn, req, &reject);
        }
        for id in ids {
            match cancel_one(ctx, &id) {
                Ok(result) => ok(ctx, conn, req, &result),
                Err(reject) => fail(ctx, conn, req, &reject),
            }
        }
    }
}

/// Cancels the open orders at `indices` as one batch, in arrival order; returns how many.
fn cancel_batch(ctx: &mut TradingCtx, mut indices: Vec<usize>) -> usize {
    indices.sort_unstable();
    indices.dedup();
    ctx.exchange.charge_batch_cancel(&indices, ctx.at());
    let ids: Vec<OrderRef> = indices
        .iter()
        .filter_map(|&i| ctx.exchange.open_orders().get(i))
        .map(|o| OrderRef::Id(o.order_id.clone()))
        .collect();
    for id in &ids {
        if let Some(i) = ctx.exchange.find(id) {
            let (now, reason) = (ctx.now, Some(reasons::USER));
            ctx.exchange
                .close(i, ExecType::Canceled, reason, now, ctx.events);
        }
    }
    StatsCounters::add(&ctx.stats.orders_cancelled, ids.len() as u64);
    ids.len()
}

pub fn cancel_all(
    ctx: &mut TradingCtx,
    conn: &mut Connection,
    req: &Req,
    p: &Params,
) -> Result<(), Reject> {
    unavailable(ctx)?;
    params::only(p, &[&["token"]])?;
    let all: Vec<usize> = (0..ctx.exchange.open_orders().len()).collect();
    let count = cancel_batch(ctx, all);
    ok(ctx, conn, req, &format!("{{\"count\":{count}}}"));
    Ok(())
}

pub fn cancel_after(
    ctx: &mut TradingCtx,
    conn: &mut Connection,
    req: &Req,
    p: &Params,
) -> Result<(), Reject> {
    unavailable(ctx)?;
    params::only(p, &[&["timeout", "token"]])?;
    let timeout = params::integer(p, "timeout")?
        .filter(|t| (0..MAX_TIMEOUT).contains(t))
        .ok_or_else(|| Reject::invalid("timeout"))?;
    let armed = ctx
        .exchange
        .set_dead_man(timeout as u64, ctx.at())
        .is_some();
    let mut result = String::from("{\"currentTime\":");
    push_timestamp_seconds(&mut result, ctx.now.us);
    result.push_str(",\"triggerTime\":");
    if armed {
        push_timestamp_seconds(&mut result, ctx.now.us + timeout as u64 * 1_000_000);
    } else {
        // Disarmed: Kraken's REST `CancelAllOrdersAfter` answers "0".
        result.push_str("\"0\"");
    }
    result.push('}');
    StatsCounters::add(&ctx.stats.dead_man_requests, 1);
    ok(ctx, conn, req, &result);
    Ok(())
}

pub fn batch_add(
    ctx: &mut TradingCtx,
    conn: &mut Connection,
    req: &Req,
    p: &Params,
) -> Result<(), Reject> {
    unavailable(ctx)?;
    let symbol = params::symbol(p, ctx.exchange.pairs())?;
    let list = p
        .get("orders")
        .and_then(|raw| params::array(raw))
        .ok_or_else(|| Reject::invalid("orders"))?;
    ctx.exchange
        .charge_add(symbol, Some(list.len()), ctx.at())?;
    if !BATCH_ADD.contains(&list.len()) {
        return Err(Reject::invalid("orders"));
    }
    params::only(p, &[&["symbol", "orders", "validate", "deadline", "token"]])?;
    params::deadline(p, ctx.now.us)?;
    let validate = params::boolean(p, "validate")?.unwrap_or(false);
    let pair = ctx.exchange.pairs()[symbol];
    let mut orders = Vec::with_capacity(list.len());
    for raw in list {
        let o = params::object(raw).ok_or_else(|| Reject::invalid("orders"))?;
        orders.push(params::order(&o, symbol, pair, &[], ctx.now.us)?);
    }
    ctx.exchange.check_new(ctx.market, &orders, validate)?;
    let mut result = String::from("[");
    for (i, order) in orders.iter().enumerate() {
        if i > 0 {
            result.push(',');
        }
        if validate {
            result.push_str(&ids_result(None, order));
        } else {
            let id = ctx.exchange.place(ctx.market, order, ctx.now, ctx.events);
            result.push_str(&ids_result(Some(&id), order));
        }
    }
    result.push(']');
    let counter = if validate {
        &ctx.stats.orders_validated
    } else {
        &ctx.stats.orders_placed
    };
    StatsCounters::add(counter, orders.len() as u64);
    ok(ctx, conn, req, &result);
    Ok(())
}

pub fn batch_cancel(
    ctx: &mut TradingCtx,
    conn: &mut Connection,
    req: &Req,
    p: &Params,
) -> Result<(), Reject> {
    unavailable(ctx)?;
    params::only(p, &[&["orders", "cl_ord_id", "token"]])?;
    let mut refs: Vec<OrderRef> = Vec::new();
    for o in params::strings(p, "orders")?.unwrap_or_default() {
        // "A list containing either client order_userref or Kraken order_id identifiers."
        match o.parse::<i64>() {
            Ok(u) => refs.push(OrderRef::UserRef(u)),
            Err(_) => refs.push(OrderRef::Id(o)),
        }
    }
    for c in params::strings(p, "cl_ord_id")?.unwrap_or_default() {
        refs.push(OrderRef::ClOrdId(c));
    }
    if !BATCH_CANCEL.contains(&refs.len()) {
        return Err(Reject::invalid("orders"));
    }
    let indices: Vec<usize> = refs.iter().flat_map(|r| ctx.exchange.find_all(r)).collect();
    let count = cancel_batch(ctx, indices);
    ok(ctx, conn, req, &format!("{{\"count\":{count}}}"));
    Ok(())
}
