//! The authenticated endpoint's side of Kraken's request/response protocol: which requests are
//! trading requests, the token every one of them must carry, the private subscriptions
//! (`executions`, `balances`) with their snapshots, and the answer envelopes (`method`,
//! `req_id`, `success`, `result` or `error`, `time_in`, `time_out`); order entry itself is in
//! [`super::order_entry`].
//!
//! Owns no state. Rules: a request without `params.token` is refused with
//! `EGeneral:Invalid arguments:token`, one whose token was never issued or has expired with
//! `ESession:Invalid session` (Kraken's texts for the v2 endpoint are not in its docs: these are
//! the v1 session error and the v2 argument error's shape); anything that is not a trading
//! request (`ping`, public channels, unknown methods) is left to the public handler, so the
//! authenticated endpoint answers those exactly like the public one. Invariants: every request
//! gets exactly one answer per the docs (cancel_order: one per order); no input panics.

use std::time::Instant;

use serde_json::value::RawValue;

use super::exchange::{errors, Exchange, Now, Reject, RejectKind};
use super::exec_frames;
use super::order_entry;
use super::orders::AccountEvent;
use super::params::{self, Params};
use super::session::{answer, CounterOf, ExecSub};
use crate::conn::Connection;
use crate::frames::{self, now_micros, ReqTimes};
use crate::market::Market;
use crate::stats::StatsCounters;

/// "the last 50 order fills will be included in snapshot" (executions.md).
const SNAP_TRADES: usize = 50;

/// Methods handled here (besides `subscribe`/`unsubscribe` of the private channels).
const TRADING_METHODS: [&str; 8] = [
    "add_order",
    "amend_order",
    "edit_order",
    "cancel_order",
    "cancel_all",
    "cancel_all_orders_after",
    "batch_add",
    "batch_cancel",
];

/// Everything a trading request may touch besides its connection.
pub struct TradingCtx<'a> {
    pub market: &'a Market,
    pub exchange: &'a mut Exchange,
    pub stats: &'a StatsCounters,
    pub now: Now,
    /// The venue is in maintenance: no order entry, no cancels.
    pub maintenance: bool,
    /// Events the request caused, for every subscribed session (the caller fans them out).
    pub events: &'a mut Vec<AccountEvent>,
}

impl TradingCtx<'_> {
    pub fn at(&self) -> Instant {
        self.now.at
    }
}

/// One request being answered.
pub struct Req<'t> {
    pub method: &'t str,
    pub req_id: Option<String>,
    pub time_in: u64,
    /// Answers are subject to the `ack-delay` fault (order entry, not subscriptions).
    pub delayable: bool,
}

fn times(time_in: u64) -> ReqTimes {
    ReqTimes {
        time_in,
        time_out: now_micros().max(time_in),
    }
}

/// Sends a successful answer with `result` (JSON text).
pub fn ok(ctx: &mut TradingCtx, conn: &mut Connection, req: &Req, result: &str) {
    let mut out = String::new();
    frames::ack_ok(
        &mut out,
        req.method,
        result,
        times(req.time_in),
        req.req_id.as_deref(),
    );
    let delay = req
        .delayable
        .then(|| ctx.exchange.faults.ack_delay(ctx.now.at))
        .flatten();
    let counter: CounterOf = |s| &s.trading_acks;
    answer(conn, ctx.stats, counter, out, delay, ctx.now.at);
}

/// Sends an error answer and counts the refusal by kind.
pub fn fail(ctx: &mut TradingCtx, conn: &mut Connection, req: &Req, reject: &Reject) {
    let s = ctx.stats;
    let counter = match reject.kind {
        RejectKind::Invalid => &s.rejected_invalid,
        RejectKind::UnknownOrder => &s.rejected_unknown_order,
        RejectKind::PostOnly => &s.rejected_post_only,
        RejectKind::Funds => &s.rejected_funds,
        RejectKind::OrdersLimit => &s.rejected_orders_limit,
        RejectKind::RateLimit => &s.rejected_rate_limit,
        RejectKind::Fault => &s.rejected_fault,
        RejectKind::Unavailable => &s.rejected_unavailable,
        RejectKind::Session => &s.auth_refused,
    };
    StatsCounters::add(counter, 1);
    let mut out = String::new();
    frames::ack_err(
        &mut out,
        req.method,
        &reject.text,
        None,
        times(req.time_in),
        req.req_id.as_deref(),
    );
    let delay = req
        .delayable
        .then(|| ctx.exchange.faults.ack_delay(ctx.now.at))
        .flatten();
    let counter: CounterOf = |s| &s.error_acks;
    answer(conn, ctx.stats, counter, out, delay, ctx.now.at);
}

/// The `req_id` text when it is an integer.
fn req_id(top: &Params) -> Option<String> {
    let raw = top.get("req_id")?.get().trim();
    let digits = raw.strip_prefix('-').unwrap_or(raw);
    (!digits.is_empty() && digits.len() <= 20 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| raw.to_owned())
}

/// Handles `text` if it is a trading request; `false` leaves it to the public handler.
pub fn handle(ctx: &mut TradingCtx, conn: &mut Connection, text: &str, time_in: u64) -> bool {
    let Ok(top) = serde_json::from_str::<Params>(text) else {
        return false;
    };
    let Some(method) = top
        .get("method")
        .and_then(|m| serde_json::from_str::<String>(m.get()).ok())
    else {
        return false;
    };
    let raw_params: Option<&RawValue> = top.get("params").copied();
    let p = raw_params.and_then(params::object);
    let channel = p
        .as_ref()
        .and_then(|p| params::string(p, "channel").ok().flatten());
    let private_channel = matches!(channel.as_deref(), Some("executions" | "balances"));
    let subscription = matches!(method.as_str(), "subscribe" | "unsubscribe");
    if !(TRADING_METHODS.contains(&method.as_str()) || subscription && private_channel) {
        return false;
    }
    StatsCounters::add(&ctx.stats.trading_requests, 1);
    let req = Req {
        method: &method,
        req_id: req_id(&top),
        time_in,
        delayable: !subscription,
    };
    let Some(p) = p else {
        fail(
            ctx,
            conn,
            &req,
            &Reject::new(RejectKind::Invalid, errors::INVALID),
        );
        return true;
    };
    if let Err(reject) = check_token(ctx, conn, &p) {
        fail(ctx, conn, &req, &reject);
        return true;
    }
    let result = match method.as_str() {
        "subscribe" | "unsubscribe" => {
            subscription_request(ctx, conn, &req, &p, channel.as_deref().unwrap_or(""));
            Ok(())
        }
        "add_order" => order_entry::add_order(ctx, conn, &req, &p),
        "amend_order" => order_entry::amend_order(ctx, conn, &req, &p),
        "cancel_order" => {
            order_entry::cancel_order(ctx, conn, &req, &p);
            Ok(())
        }
        "cancel_all" => order_entry::cancel_all(ctx, conn, &req, &p),
        "cancel_all_orders_after" => order_entry::cancel_after(ctx, conn, &req, &p),
        "batch_add" => order_entry::batch_add(ctx, conn, &req, &p),
        "batch_cancel" => order_entry::batch_cancel(ctx, conn, &req, &p),
        // sim: `edit_order` (superseded by `amend_order`) is not simulated.
        _ => Err(Reject::new(RejectKind::Invalid, "EGeneral:Unknown method")),
    };
    if let Err(reject) = result {
        fail(ctx, conn, &req, &reject);
    }
    true
}

fn check_token(ctx: &TradingCtx, conn: &Connection, p: &Params) -> Result<(), Reject> {
    let token = params::string(p, "token")
        .ok()
        .flatten()
        .ok_or_else(|| Reject::new(RejectKind::Session, errors::TOKEN_MISSING))?;
    let held = conn.auth.as_ref().is_some_and(|s| s.holds(&token));
    if ctx.exchange.token_desk().is_valid(&token, ctx.at(), held) {
        Ok(())
    } else {
        Err(Reject::new(RejectKind::Session, errors::INVALID_SESSION))
    }
}

fn subscription_request(
    ctx: &mut TradingCtx,
    conn: &mut Connection,
    req: &Req,
    p: &Params,
    channel: &str,
) {
    let subscribe = req.method == "subscribe";
    let result = match (subscribe, channel) {
        (true, "executions") => subscribe_executions(ctx, conn, req, p),
        (true, _) => subscribe_balances(ctx, conn, req, p),
        (false, _) => {
            let Some(session) = conn.auth.as_mut() else {
                return;
            };
            let had = if channel == "executions" {
                session.executions.take().is_some()
            } else {
                session.balances.take().is_some()
            };
            if had {
                ok(ctx, conn, req, &format!("{{\"channel\":\"{channel}\"}}"));
                Ok(())
            } else {
                Err(Reject::new(RejectKind::Invalid, "Subscription Not Found"))
            }
        }
    };
    if let Err(r) = result {
        fail(ctx, conn, req, &r);
    }
}

const EXECUTIONS_FIELDS: [&str; 10] = [
    "channel",
    "token",
    "snap_orders",
    "snap_trades",
    "order_status",
    "ratecounter",
    "snapshot",
    "snapshot_trades",
    "rebased",
    "users",
];

fn subscribe_executions(
    ctx: &mut TradingCtx,
    conn: &mut Connection,
    req: &Req,
    p: &Params,
) -> Result<(), Reject> {
    params::only(p, &[&EXECUTIONS_FIELDS])?;
    let flag = |k: &str| params::boolean(p, k);
    let (snapshot, snapshot_trades) = (flag("snapshot")?, flag("snapshot_trades")?);
    flag("rebased")?;
    params::string(p, "users")?;
    // Deprecated names (executions.md): `snapshot_trades: true` = trades only, `false` = orders
    // and trades; `snapshot: false` = no snapshot. The current names win when both are given.
    let (mut snap_orders, mut snap_trades) = (true, false);
    if let Some(t) = snapshot_trades {
        (snap_orders, snap_trades) = (!t, true);
    }
    if snapshot == Some(false) {
        (snap_orders, snap_trades) = (false, false);
    }
    let snap_orders = flag("snap_orders")?.unwrap_or(snap_orders);
    let snap_trades = flag("snap_trades")?.unwrap_or(snap_trades);
    let order_status = flag("order_status")?.unwrap_or(true);
    let ratecounter = flag("ratecounter")?.unwrap_or(false);
    let token = params::string(p, "token")?.unwrap_or_default();
    let Some(session) = conn.auth.as_mut() else {
        return Err(Reject::new(RejectKind::Invalid, errors::INVALID));
    };
    if session.executions.is_some() {
        return Err(Reject::new(RejectKind::Invalid, "Already subscribed"));
    }
    let send_snapshot = snap_orders || snap_trades;
    session.executions = Some(ExecSub {
        snap_orders,
        snap_trades,
        order_status,
        ratecounter,
        seq: u64::from(send_snapshot),
    });
    session.token = Some(token);
    let mut warnings = Vec::new();
    if snapshot.is_some() {
        warnings.push("\"snapshot is deprecated, use snap_orders and snap_trades\"");
    }
    if snapshot_trades.is_some() {
        warnings.push("\"snapshot_trades is deprecated, use snap_trades\"");
    }
    let mut result = format!(
        "{{\"channel\":\"executions\",\"maxratecount\":{},\"snap_orders\":{snap_orders},\"snap_trades\":{snap_trades}",
        ctx.exchange.tier().threshold()
    );
    if !warnings.is_empty() {
        result.push_str(&format!(",\"warnings\":[{}]", warnings.join(",")));
    }
    result.push('}');
    ok(ctx, conn, req, &result);
    if send_snapshot {
        let mut items = Vec::new();
        if snap_orders {
            for o in ctx.exchange.open_orders() {
                let mut item = String::new();
                let rc = ratecounter.then(|| ctx.exchange.ratecount(o.symbol, ctx.at()));
                exec_frames::snapshot_order(&mut item, o, rc);
                items.push(item);
            }
        }
        if snap_trades {
            let fills = ctx.exchange.fills();
            for f in &fills[fills.len().saturating_sub(SNAP_TRADES)..] {
                let mut item = String::new();
                exec_frames::snapshot_fill(&mut item, f);
                items.push(item);
            }
        }
        let mut out = String::new();
        exec_frames::message(&mut out, "executions", true, &items, 1);
        answer(
            conn,
            ctx.stats,
            |s| &s.execution_frames,
            out,
            None,
            ctx.at(),
        );
    }
    Ok(())
}

fn subscribe_balances(
    ctx: &mut TradingCtx,
    conn: &mut Connection,
    req: &Req,
    p: &Params,
) -> Result<(), Reject> {
    params::only(p, &[&["channel", "token", "snapshot", "rebased", "users"]])?;
    let snapshot = params::boolean(p, "snapshot")?.unwrap_or(true);
    params::boolean(p, "rebased")?;
    params::string(p, "users")?;
    let token = params::string(p, "token")?.unwrap_or_default();
    let Some(session) = conn.auth.as_mut() else {
        return Err(Reject::new(RejectKind::Invalid, errors::INVALID));
    };
    if session.balances.is_some() {
        return Err(Reject::new(RejectKind::Invalid, "Already subscribed"));
    }
    session.balances = Some(u64::from(snapshot));
    session.token = Some(token);
    ok(
        ctx,
        conn,
        req,
        &format!("{{\"channel\":\"balances\",\"snapshot\":{snapshot}}}"),
    );
    if snapshot {
        let items: Vec<String> = ctx
            .exchange
            .ledger()
            .all()
            .iter()
            .map(|b| {
                let mut item = String::new();
                exec_frames::balance_item(&mut item, &b.asset, b.amount, b.scale);
                item
            })
            .collect();
        let mut out = String::new();
        exec_frames::message(&mut out, "balances", true, &items, 1);
        answer(conn, ctx.stats, |s| &s.balance_frames, out, None, ctx.at());
    }
    Ok(())
}
