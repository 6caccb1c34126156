//! Text of the authenticated channels' frames: `executions` snapshots and updates (field names
//! exactly as executions.md: `order_id`, `cl_ord_id`, `order_userref`, `exec_id`, `exec_type`,
//! `trade_id`, `order_status`, `side`, `order_type`, `order_qty`, `limit_price`, `cum_qty`,
//! `cum_cost`, `avg_price`, `last_qty`, `last_price`, `cost`, `liquidity_ind`, `fees`,
//! `fee_usd_equiv`, `time_in_force`, `post_only`, `expire_time`, `amended`, `reason`,
//! `timestamp`, `symbol`, and `sequence` on the message) and `balances` snapshots and ledger
//! updates (balances.md).
//!
//! Owns no state: pure functions appending to a caller's `String`. Choices where the docs are
//! silent: a `trade` report always says `order_status: partially_filled` (the separate `filled`
//! report completes the order, as PROTOCOL.md §1.10 warns clients); open orders in a snapshot
//! are `exec_type: new` with their current status; `fee_usd_equiv` is the fee in the quote
//! asset unconverted (the venue has no exchange rates; exact for USD pairs); `ratecount` (with
//! `ratecounter: true`) is the pair's rate counter after the event, rounded down to an integer.
//! Invariants: prices and quantities at the pair's precision, money at the asset's precision,
//! trailing zeros kept; every output is valid JSON; strings from clients are escaped.

use std::fmt::Write as _;

use super::decimal::push_amount;
use super::orders::{ExecEvent, ExecType, Fill, LedgerEntry, Order};
use crate::frames::{push_fixed, push_str, push_timestamp};
use crate::pairs::asset_precision;

fn push_ids(out: &mut String, order_id: &str, cl_ord_id: Option<&str>, userref: Option<i64>) {
    out.push_str("\"order_id\":");
    push_str(out, order_id);
    if let Some(c) = cl_ord_id {
        out.push_str(",\"cl_ord_id\":");
        push_str(out, c);
    }
    if let Some(u) = userref {
        let _ = write!(out, ",\"order_userref\":{u}");
    }
}

fn field_str(out: &mut String, name: &str, value: &str) {
    let _ = write!(out, ",\"{name}\":");
    push_str(out, value);
}

fn field_price(out: &mut String, name: &str, value: i64, order: &Order) {
    let _ = write!(out, ",\"{name}\":");
    push_fixed(out, value, order.pair.price_precision);
}

fn field_qty(out: &mut String, name: &str, value: i64, order: &Order) {
    let _ = write!(out, ",\"{name}\":");
    push_fixed(out, value, order.pair.qty_precision);
}

fn field_money(out: &mut String, name: &str, value: i128, asset: &str) {
    let _ = write!(out, ",\"{name}\":");
    push_amount(out, value, asset_precision(asset));
}

fn field_time(out: &mut String, name: &str, unix_micros: u64) {
    let _ = write!(out, ",\"{name}\":");
    push_timestamp(out, unix_micros);
}

/// The order's terms: side, type, quantity, limit, time in force, flags.
fn push_terms(out: &mut String, o: &Order) {
    field_str(out, "side", o.side.as_str());
    field_str(out, "order_type", o.order_type.as_str());
    field_qty(out, "order_qty", o.order_qty, o);
    if let Some(p) = o.limit_price {
        field_price(out, "limit_price", p, o);
    }
    field_str(out, "time_in_force", o.time_in_force.as_str());
    let _ = write!(out, ",\"post_only\":{}", o.post_only);
    if let Some(e) = o.expire_time {
        field_time(out, "expire_time", e);
    }
}

/// What has filled: cum_qty, cum_cost, avg_price, fee_usd_equiv.
fn push_progress(out: &mut String, o: &Order) {
    field_qty(out, "cum_qty", o.cum_qty, o);
    field_money(out, "cum_cost", o.cum_cost, o.pair.quote);
    field_price(out, "avg_price", o.avg_price(), o);
    field_money(out, "fee_usd_equiv", o.fees, o.pair.quote);
}

fn push_ratecount(out: &mut String, centi: Option<i64>) {
    if let Some(c) = centi {
        let _ = write!(out, ",\"ratecount\":{}", c.max(0) / 100);
    }
}

/// One execution report (an element of `data`); `ratecount` when the subscriber asked.
pub fn exec_report(out: &mut String, ev: &ExecEvent, ratecount: bool) {
    let o = &ev.order;
    out.push('{');
    push_ids(out, &o.order_id, o.cl_ord_id.as_deref(), o.order_userref);
    field_str(out, "symbol", o.pair.symbol);
    field_str(out, "exec_type", ev.exec_type.as_str());
    field_str(out, "order_status", o.status.as_str());
    match ev.exec_type {
        ExecType::PendingNew => {
            push_terms(out, o);
            field_qty(out, "cum_qty", o.cum_qty, o);
            field_money(out, "cum_cost", o.cum_cost, o.pair.quote);
            field_money(out, "fee_usd_equiv", o.fees, o.pair.quote);
        }
        ExecType::New => {}
        ExecType::Trade => {
            field_str(out, "side", o.side.as_str());
            field_str(out, "order_type", o.order_type.as_str());
            if let Some(f) = &ev.fill {
                push_fill(out, f);
            }
        }
        ExecType::Filled | ExecType::Canceled | ExecType::Expired => push_progress(out, o),
        ExecType::Amended => {
            out.push_str(",\"amended\":true");
            push_terms(out, o);
            push_progress(out, o);
        }
    }
    if let Some(r) = ev.reason {
        field_str(out, "reason", r);
    }
    push_ratecount(out, ratecount.then_some(ev.ratecount_centi));
    field_time(out, "timestamp", ev.timestamp_us);
    out.push('}');
}

/// An open order in an `executions` snapshot.
pub fn snapshot_order(out: &mut String, o: &Order, ratecount_centi: Option<i64>) {
    out.push('{');
    push_ids(out, &o.order_id, o.cl_ord_id.as_deref(), o.order_userref);
    field_str(out, "symbol", o.pair.symbol);
    out.push_str(",\"exec_type\":\"new\"");
    field_str(out, "order_status", o.status.as_str());
    push_terms(out, o);
    push_progress(out, o);
    let _ = write!(out, ",\"amended\":{}", o.amended);
    push_ratecount(out, ratecount_centi);
    field_time(out, "timestamp", o.placed_us);
    out.push('}');
}

/// A past fill in an `executions` snapshot (`snap_trades`).
pub fn snapshot_fill(out: &mut String, f: &Fill) {
    out.push('{');
    push_ids(out, &f.order_id, f.cl_ord_id.as_deref(), f.order_userref);
    field_str(out, "symbol", f.pair.symbol);
    out.push_str(",\"exec_type\":\"trade\",\"order_status\":\"partially_filled\"");
    field_str(out, "side", f.side.as_str());
    field_str(out, "order_type", f.order_type.as_str());
    push_fill(out, f);
    field_time(out, "timestamp", f.timestamp_us);
    out.push('}');
}

/// A fill's execution fields (`exec_id` … `fees`), at its pair's precisions.
fn push_fill(out: &mut String, f: &Fill) {
    let (pp, qp, quote) = (f.pair.price_precision, f.pair.qty_precision, f.pair.quote);
    let qs = asset_precision(quote);
    field_str(out, "exec_id", &f.exec_id);
    let _ = write!(out, ",\"trade_id\":{},\"last_qty\":", f.trade_id);
    push_fixed(out, f.qty, qp);
    out.push_str(",\"last_price\":");
    push_fixed(out, f.price, pp);
    field_str(out, "liquidity_ind", f.liquidity.as_str());
    out.push_str(",\"cost\":");
    push_amount(out, f.cost, qs);
    out.push_str(",\"cum_qty\":");
    push_fixed(out, f.cum_qty, qp);
    out.push_str(",\"cum_cost\":");
    push_amount(out, f.cum_cost, qs);
    out.push_str(",\"avg_price\":");
    push_fixed(out, f.avg_price, pp);
    out.push_str(",\"fee_usd_equiv\":");
    push_amount(out, f.fee, qs);
    out.push_str(",\"fees\":[{\"asset\":");
    push_str(out, quote);
    out.push_str(",\"qty\":");
    push_amount(out, f.fee, qs);
    out.push_str("}]");
}

/// An `executions` or `balances` message around `items` (already rendered `data` elements).
pub fn message(out: &mut String, channel: &str, snapshot: bool, items: &[String], sequence: u64) {
    let _ = write!(
        out,
        "{{\"channel\":\"{channel}\",\"type\":\"{}\",\"data\":[",
        if snapshot { "snapshot" } else { "update" }
    );
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(item);
    }
    let _ = write!(out, "],\"sequence\":{sequence}}}");
}

/// One asset of a `balances` snapshot.
pub fn balance_item(out: &mut String, asset: &str, balance: i128, scale: u8) {
    out.push_str("{\"asset\":");
    push_str(out, asset);
    out.push_str(",\"asset_class\":\"currency\",\"balance\":");
    push_amount(out, balance, scale);
    out.push_str(",\"wallets\":[{\"type\":\"spot\",\"id\":\"main\",\"balance\":");
    push_amount(out, balance, scale);
    out.push_str("}]}");
}

/// One ledger entry of a `balances` update.
pub fn ledger_item(out: &mut String, e: &LedgerEntry) {
    out.push_str("{\"ledger_id\":");
    push_str(out, &e.ledger_id);
    field_str(out, "ref_id", &e.ref_id);
    field_time(out, "timestamp", e.timestamp_us);
    out.push_str(",\"type\":\"trade\",\"asset\":");
    push_str(out, &e.asset);
    out.push_str(",\"asset_class\":\"currency\",\"category\":\"trade\",\"wallet_type\":\"spot\",\"wallet_id\":\"main\",\"amount\":");
    push_amount(out, e.amount, e.scale);
    out.push_str(",\"fee\":");
    push_amount(out, e.fee, e.scale);
    out.push_str(",\"balance\":");
    push_amount(out, e.balance, e.scale);
    out.push('}');
}
