//! The venue's side of Kraken's request/response protocol: `ping`, `subscribe` and
//! `unsubscribe` for `book`, `trade`, `ticker` and `instrument` (PROTOCOL.md §1.2–1.8).
//!
//! Owns no state: it reads one client request (with `serde_json`; the venue is a test tool, not
//! the engine core), updates the connection's subscriptions and the view registry, and queues
//! the answers and snapshots. Invariants: one ack per symbol; an unsupported depth gets one
//! error ack with no `result` (as captured from Kraken); `req_id` is echoed when given; any
//! input, however malformed, gets an error ack and never a panic.

use std::sync::atomic::AtomicU64;
use std::time::Instant;

use serde_json::Value;
use tungstenite::Utf8Bytes;

use crate::SUPPORTED_DEPTHS;

use super::book_tap::BookTap;
use super::conn::{Connection, Sent, TickerTrigger};
use super::frames::{self, now_micros, ReqTimes};
use super::pairs::SimPair;
use super::state::MarketState;
use super::stats::StatsCounters;

/// Everything a request may touch besides its connection.
pub struct RequestCtx<'a> {
    pub state: &'a mut MarketState,
    pub stats: &'a StatsCounters,
    /// The configured pairs, index-aligned with the market's symbols.
    pub pairs: &'a [&'static SimPair],
    pub now: Instant,
    /// Where the reference book after every snapshot goes (soaks).
    pub tap: Option<&'a BookTap>,
}

/// Queues `text` on `conn`, counting it under `counter`.
pub fn send_text(
    conn: &mut Connection,
    stats: &StatsCounters,
    counter: &AtomicU64,
    text: Utf8Bytes,
    now: Instant,
) -> Sent {
    let len = text.len() as u64;
    let sent = conn.send(&text, now);
    match sent {
        Sent::Queued => {
            StatsCounters::add(counter, 1);
            StatsCounters::add(&stats.bytes_sent, len);
        }
        Sent::Slow => StatsCounters::add(&stats.connections_dropped_slow, 1),
        Sent::Closed => {}
    }
    sent
}

fn reply(ctx: &RequestCtx, conn: &mut Connection, counter: &AtomicU64, text: String) {
    send_text(conn, ctx.stats, counter, Utf8Bytes::from(text), ctx.now);
}

fn times(time_in: u64) -> ReqTimes {
    ReqTimes {
        time_in,
        time_out: now_micros().max(time_in),
    }
}

struct Req<'t> {
    method: &'t str,
    req_id: Option<String>,
    time_in: u64,
}

fn error(ctx: &RequestCtx, conn: &mut Connection, req: &Req, msg: &str, symbol: Option<&str>) {
    let mut out = String::new();
    frames::ack_err(
        &mut out,
        req.method,
        msg,
        symbol,
        times(req.time_in),
        req.req_id.as_deref(),
    );
    reply(ctx, conn, &ctx.stats.error_acks, out);
}

fn ok(ctx: &RequestCtx, conn: &mut Connection, req: &Req, result: &str) {
    let mut out = String::new();
    frames::ack_ok(
        &mut out,
        req.method,
        result,
        times(req.time_in),
        req.req_id.as_deref(),
    );
    reply(ctx, conn, &ctx.stats.acks, out);
}

/// Handles one text frame from the client.
pub fn handle(ctx: &mut RequestCtx, conn: &mut Connection, text: &str, time_in: u64) {
    StatsCounters::add(&ctx.stats.requests, 1);
    let Ok(v) = serde_json::from_str::<Value>(text) else {
        let req = Req {
            method: "",
            req_id: None,
            time_in,
        };
        return error(ctx, conn, &req, "Malformed request", None);
    };
    let req = Req {
        method: v.get("method").and_then(Value::as_str).unwrap_or(""),
        req_id: v
            .get("req_id")
            .filter(|id| id.is_u64() || id.is_i64())
            .map(|id| id.to_string()),
        time_in,
    };
    match req.method {
        "ping" => {
            let mut out = String::new();
            frames::pong(&mut out, times(time_in), req.req_id.as_deref());
            reply(ctx, conn, &ctx.stats.pongs, out);
        }
        "subscribe" | "unsubscribe" => {
            let subscribe = req.method == "subscribe";
            let params = v.get("params").unwrap_or(&Value::Null);
            match params.get("channel").and_then(Value::as_str) {
                Some("book") => book(ctx, conn, &req, params, subscribe),
                Some("trade") => trade(ctx, conn, &req, params, subscribe),
                Some("ticker") => ticker(ctx, conn, &req, params, subscribe),
                Some("instrument") => instrument(ctx, conn, &req, params, subscribe),
                Some(other) => {
                    let msg = format!("Channel {other} not supported");
                    error(ctx, conn, &req, &msg, None)
                }
                None => error(ctx, conn, &req, "Missing channel", None),
            }
        }
        "" => error(ctx, conn, &req, "Missing method", None),
        _ => error(ctx, conn, &req, "Method not found", None),
    }
}

/// The requested symbols, each resolved to a market index or reported unknown.
fn symbols<'v>(
    ctx: &RequestCtx,
    conn: &mut Connection,
    req: &Req,
    params: &'v Value,
) -> Option<Vec<(&'v str, Option<usize>)>> {
    let list = params.get("symbol").and_then(Value::as_array);
    let Some(list) = list.filter(|l| !l.is_empty()) else {
        error(ctx, conn, req, "Must specify at least one symbol", None);
        return None;
    };
    let mut out = Vec::with_capacity(list.len());
    for s in list {
        let Some(s) = s.as_str() else {
            error(ctx, conn, req, "Symbol must be a string", None);
            return None;
        };
        out.push((s, ctx.pairs.iter().position(|p| p.symbol == s)));
    }
    Some(out)
}

fn flag(params: &Value, name: &str, default: bool) -> Result<bool, ()> {
    match params.get(name) {
        None => Ok(default),
        Some(v) => v.as_bool().ok_or(()),
    }
}

fn book(ctx: &mut RequestCtx, conn: &mut Connection, req: &Req, params: &Value, subscribe: bool) {
    let depth = match params.get("depth") {
        None => Some(10),
        Some(d) => d
            .as_u64()
            .filter(|d| SUPPORTED_DEPTHS.contains(&(*d as u16)) && *d <= 1000),
    };
    let Some(depth) = depth.map(|d| d as u16) else {
        return error(ctx, conn, req, "Subscription depth not supported", None);
    };
    let Ok(snapshot) = flag(params, "snapshot", true) else {
        return error(ctx, conn, req, "Snapshot must be a boolean", None);
    };
    let Some(list) = symbols(ctx, conn, req, params) else {
        return;
    };
    let mut snapshots = Vec::new();
    for (name, index) in list {
        let Some(index) = index else {
            let msg = format!("Currency pair not supported {name}");
            error(ctx, conn, req, &msg, Some(name));
            continue;
        };
        let existing = conn.books.iter().position(|&(s, _)| s == index);
        if subscribe {
            if existing.is_some() {
                error(ctx, conn, req, "Already subscribed", Some(name));
                continue;
            }
            if ctx.state.subscribe_view(index, depth).is_none() {
                error(ctx, conn, req, "Currency pair not supported", Some(name));
                continue;
            }
            conn.books.push((index, depth));
            let mut result = format!(
                "{{\"channel\":\"book\",\"depth\":{depth},\"snapshot\":{snapshot},\"symbol\":"
            );
            frames::push_str(&mut result, name);
            result.push('}');
            ok(ctx, conn, req, &result);
            if snapshot {
                snapshots.push(index);
            }
        } else {
            let Some(at) = existing else {
                error(ctx, conn, req, "Subscription Not Found", Some(name));
                continue;
            };
            let (_, held) = conn.books.remove(at);
            ctx.state.unsubscribe_view(index, held);
            let mut result = format!("{{\"channel\":\"book\",\"depth\":{held},\"symbol\":");
            frames::push_str(&mut result, name);
            result.push('}');
            ok(ctx, conn, req, &result);
        }
    }
    for index in snapshots {
        let Some(vi) = ctx.state.view_index(index, depth) else {
            continue;
        };
        let book = ctx.state.views[vi].view.book();
        let bids: Vec<_> = book.bids().collect();
        let asks: Vec<_> = book.asks().collect();
        let mut out = String::new();
        frames::book(
            &mut out,
            true,
            ctx.pairs[index],
            &bids,
            &asks,
            book.checksum(),
            now_micros(),
        );
        let sent = send_text(
            conn,
            ctx.stats,
            &ctx.stats.book_snapshots,
            Utf8Bytes::from(out),
            ctx.now,
        );
        if let (Some(tap), Sent::Queued) = (ctx.tap, sent) {
            let book = ctx.state.views[vi].view.book();
            tap.record(conn.connection_id, conn.text_frames_queued, index, book);
        }
    }
}

fn trade(ctx: &mut RequestCtx, conn: &mut Connection, req: &Req, params: &Value, subscribe: bool) {
    let Ok(snapshot) = flag(params, "snapshot", false) else {
        return error(ctx, conn, req, "Snapshot must be a boolean", None);
    };
    let Some(list) = symbols(ctx, conn, req, params) else {
        return;
    };
    for (name, index) in list {
        let Some(index) = index else {
            let msg = format!("Currency pair not supported {name}");
            error(ctx, conn, req, &msg, Some(name));
            continue;
        };
        let existing = conn.trades.iter().position(|&s| s == index);
        let mut result = String::from("{\"channel\":\"trade\"");
        if subscribe {
            if existing.is_some() {
                error(ctx, conn, req, "Already subscribed", Some(name));
                continue;
            }
            conn.trades.push(index);
            result.push_str(&format!(",\"snapshot\":{snapshot}"));
        } else if let Some(at) = existing {
            conn.trades.remove(at);
        } else {
            error(ctx, conn, req, "Subscription Not Found", Some(name));
            continue;
        }
        result.push_str(",\"symbol\":");
        frames::push_str(&mut result, name);
        result.push('}');
        ok(ctx, conn, req, &result);
        if subscribe && snapshot {
            if let Some(sym) = ctx.state.market.symbol(index) {
                let mut out = String::new();
                frames::trades(&mut out, true, ctx.pairs[index], sym.tape());
                reply(ctx, conn, &ctx.stats.trade_frames, out);
            }
        }
    }
}

fn ticker(ctx: &mut RequestCtx, conn: &mut Connection, req: &Req, params: &Value, subscribe: bool) {
    let Ok(snapshot) = flag(params, "snapshot", true) else {
        return error(ctx, conn, req, "Snapshot must be a boolean", None);
    };
    let trigger = match params.get("event_trigger").map(|t| t.as_str()) {
        None | Some(Some("trades")) => TickerTrigger::Trades,
        Some(Some("bbo")) => TickerTrigger::Bbo,
        _ => return error(ctx, conn, req, "Invalid event_trigger", None),
    };
    let Some(list) = symbols(ctx, conn, req, params) else {
        return;
    };
    for (name, index) in list {
        let Some(index) = index else {
            let msg = format!("Currency pair not supported {name}");
            error(ctx, conn, req, &msg, Some(name));
            continue;
        };
        let existing = conn.tickers.iter().position(|&(s, _)| s == index);
        let mut result = String::from("{\"channel\":\"ticker\"");
        if subscribe {
            if existing.is_some() {
                error(ctx, conn, req, "Already subscribed", Some(name));
                continue;
            }
            conn.tickers.push((index, trigger));
            let t = if trigger == TickerTrigger::Bbo {
                "bbo"
            } else {
                "trades"
            };
            result.push_str(&format!(
                ",\"event_trigger\":\"{t}\",\"snapshot\":{snapshot}"
            ));
        } else if let Some(at) = existing {
            conn.tickers.remove(at);
        } else {
            error(ctx, conn, req, "Subscription Not Found", Some(name));
            continue;
        }
        result.push_str(",\"symbol\":");
        frames::push_str(&mut result, name);
        result.push('}');
        ok(ctx, conn, req, &result);
        if subscribe && snapshot {
            if let Some(sym) = ctx.state.market.symbol(index) {
                let mut out = String::new();
                frames::ticker(
                    &mut out,
                    true,
                    ctx.pairs[index],
                    &sym.ticker(),
                    now_micros(),
                );
                reply(ctx, conn, &ctx.stats.ticker_frames, out);
            }
        }
    }
}

fn instrument(
    ctx: &mut RequestCtx,
    conn: &mut Connection,
    req: &Req,
    params: &Value,
    subscribe: bool,
) {
    let Ok(snapshot) = flag(params, "snapshot", true) else {
        return error(ctx, conn, req, "Snapshot must be a boolean", None);
    };
    if subscribe {
        if conn.instrument {
            return error(ctx, conn, req, "Already subscribed", None);
        }
        conn.instrument = true;
        let result = format!(
            "{{\"channel\":\"instrument\",\"snapshot\":{snapshot},\
             \"warnings\":[\"tick_size is deprecated, use price_increment\"]}}"
        );
        ok(ctx, conn, req, &result);
        if snapshot {
            let mut out = String::new();
            frames::instrument(&mut out, ctx.pairs);
            reply(ctx, conn, &ctx.stats.instrument_snapshots, out);
        }
    } else if conn.instrument {
        conn.instrument = false;
        ok(ctx, conn, req, "{\"channel\":\"instrument\"}");
    } else {
        error(ctx, conn, req, "Subscription Not Found", None);
    }
}
