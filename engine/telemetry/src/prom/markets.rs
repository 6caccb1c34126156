//! The markets' families of the exposition: each book (state, counters, depth, top of book),
//! each strategy's lane (events, lag, snapshots, orders, rejects, positions) and live trading
//! (orders, rejects by reason, positions, tick-to-trade).
//!
//! Owns those names, help texts and labels. Invariants: those of [`super`]; a strategy or trading
//! family whose subject is absent is not written.

use super::*;

pub(super) fn encode_books(enc: &mut Families, s: &Snapshot) {
    let sym = |b: &crate::model::BookView| labels(&[("symbol", &b.symbol)]);
    let per_u = |f: fn(&crate::model::BookView) -> u64| -> Vec<(Labels, u64)> {
        s.books.iter().map(|b| (sym(b), f(b))).collect()
    };
    let per_g = |f: &dyn Fn(&crate::model::BookView) -> Option<Value>| -> Vec<(Labels, Value)> {
        s.books
            .iter()
            .filter_map(|b| f(b).map(|v| (sym(b), v)))
            .collect()
    };
    gauge(
        enc,
        "kspin_book_live",
        "1 while the book is live (its last checksum matched).",
        &per_g(&|b| Some(b.live.into())),
    );
    gauge(
        enc,
        "kspin_book_state",
        "1 for the book's current state (live, awaiting_snapshot, resyncing, unvalidated, halted, inactive).",
        &s.books
            .iter()
            .map(|b| (labels(&[("symbol", &b.symbol), ("state", &b.state)]), 1u64.into()))
            .collect::<Vec<_>>(),
    );
    counter(
        enc,
        "kspin_book_messages",
        "Book messages applied.",
        &per_u(|b| b.book_messages),
    );
    counter(
        enc,
        "kspin_book_snapshots",
        "Book snapshots received.",
        &per_u(|b| b.snapshots),
    );
    counter(
        enc,
        "kspin_book_checksum_ok",
        "Checksums that matched.",
        &per_u(|b| b.checksum_ok),
    );
    counter(
        enc,
        "kspin_book_checksum_mismatch",
        "Checksums that did not match.",
        &per_u(|b| b.checksum_mismatch),
    );
    counter(
        enc,
        "kspin_book_resyncs",
        "Resyncs of this book.",
        &per_u(|b| b.resyncs),
    );
    counter(
        enc,
        "kspin_book_trades",
        "Trades received.",
        &per_u(|b| b.trades),
    );
    gauge(
        enc,
        "kspin_book_depth",
        "Subscribed depth.",
        &per_g(&|b| Some(b.depth.into())),
    );
    gauge(
        enc,
        "kspin_book_levels",
        "Levels held now, per side.",
        &s.books
            .iter()
            .flat_map(|b| {
                [
                    (
                        labels(&[("symbol", &b.symbol), ("side", "bid")]),
                        b.bid_levels.into(),
                    ),
                    (
                        labels(&[("symbol", &b.symbol), ("side", "ask")]),
                        b.ask_levels.into(),
                    ),
                ]
            })
            .collect::<Vec<_>>(),
    );
    gauge(
        enc,
        "kspin_book_best_bid",
        "Best bid price (float, for graphs; exact in /snapshot).",
        &per_g(&|b| float(&b.best_bid).map(Value::from)),
    );
    gauge(
        enc,
        "kspin_book_best_ask",
        "Best ask price (float, for graphs; exact in /snapshot).",
        &per_g(&|b| float(&b.best_ask).map(Value::from)),
    );
    gauge(
        enc,
        "kspin_book_best_bid_qty",
        "Quantity at the best bid.",
        &per_g(&|b| float(&b.best_bid_qty).map(Value::from)),
    );
    gauge(
        enc,
        "kspin_book_best_ask_qty",
        "Quantity at the best ask.",
        &per_g(&|b| float(&b.best_ask_qty).map(Value::from)),
    );
    gauge(
        enc,
        "kspin_book_spread",
        "Best ask minus best bid.",
        &per_g(&|b| float(&b.spread).map(Value::from)),
    )
}

pub(super) fn encode_strategies(enc: &mut Families, s: &Snapshot) {
    use crate::model::StrategyView as V;
    let st = |v: &V| labels(&[("strategy", &v.name)]);
    let per = |f: fn(&V) -> u64| -> Vec<(Labels, u64)> {
        s.strategies.iter().map(|v| (st(v), f(v))).collect()
    };
    counter(
        enc,
        "kspin_strategy_events_offered",
        "Events the engine had for the strategy.",
        &per(|v| v.events_offered),
    );
    counter(
        enc,
        "kspin_strategy_events_published",
        "Events pushed into the strategy's ring.",
        &per(|v| v.events_published),
    );
    counter(
        enc,
        "kspin_strategy_events_received",
        "Events the strategy's host took from its ring.",
        &per(|v| v.events_received),
    );
    counter(
        enc,
        "kspin_strategy_events_dropped",
        "Events dropped because the strategy lagged (its ring was full).",
        &per(|v| v.events_dropped),
    );
    gauge(
        enc,
        "kspin_strategy_events_queued",
        "Events waiting in the strategy's ring: how far behind the engine it is.",
        &s.strategies
            .iter()
            .map(|v| (st(v), v.queued.into()))
            .collect::<Vec<_>>(),
    );
    gauge(
        enc,
        "kspin_strategy_lagging",
        "1 while a book of the strategy waits for a catch-up snapshot.",
        &s.strategies
            .iter()
            .map(|v| (st(v), v.lagging.into()))
            .collect::<Vec<_>>(),
    );
    counter(
        enc,
        "kspin_strategy_lag_episodes",
        "Times the strategy started lagging.",
        &per(|v| v.lag_episodes),
    );
    counter(
        enc,
        "kspin_strategy_snapshots_handed",
        "Catch-up snapshots handed to the strategy.",
        &per(|v| v.snapshots_handed),
    );
    counter(
        enc,
        "kspin_strategy_resnapshots",
        "Fresh snapshots the strategy's host asked for.",
        &per(|v| v.resnapshots),
    );
    counter(
        enc,
        "kspin_strategy_order_updates",
        "Order updates delivered to the strategy.",
        &per(|v| v.order_updates),
    );
    counter(
        enc,
        "kspin_strategy_intents",
        "Order requests taken from the strategy's intent ring (paper).",
        &per(|v| v.intents),
    );
    counter(
        enc,
        "kspin_strategy_fills",
        "Paper fills.",
        &per(|v| v.fills),
    );
    counter(
        enc,
        "kspin_strategy_cancels",
        "Paper orders cancelled.",
        &per(|v| v.cancels),
    );
    let rejects: Vec<(Labels, u64)> = s
        .strategies
        .iter()
        .flat_map(|v| {
            let mut r: Vec<(Labels, u64)> = v
                .rejects_by_reason
                .iter()
                .map(|(reason, n)| (labels(&[("strategy", &v.name), ("reason", reason)]), *n))
                .collect();
            if r.is_empty() {
                r.push((labels(&[("strategy", &v.name), ("reason", "any")]), 0));
            }
            r
        })
        .collect();
    counter(
        enc,
        "kspin_strategy_rejects",
        "Paper orders rejected, by reason.",
        &rejects,
    );
    gauge(
        enc,
        "kspin_strategy_open_orders",
        "Paper orders resting.",
        &s.strategies
            .iter()
            .map(|v| (st(v), v.open_orders.into()))
            .collect::<Vec<_>>(),
    );
    gauge(
        enc,
        "kspin_strategy_position",
        "Paper position per symbol (float, base currency).",
        &s.strategies
            .iter()
            .flat_map(|v| {
                v.positions.iter().filter_map(move |(sym, qty)| {
                    qty.parse::<f64>()
                        .ok()
                        .map(|q| (labels(&[("strategy", &v.name), ("symbol", sym)]), q.into()))
                })
            })
            .collect::<Vec<_>>(),
    );
    counter(
        enc,
        "kspin_strategy_log_lines",
        "Log lines the strategy wrote (all in the log file).",
        &per(|v| v.log_lines),
    );
    counter(
        enc,
        "kspin_strategy_log_lines_suppressed",
        "Log lines the console did not show (rate limit).",
        &per(|v| v.log_lines_suppressed),
    )
}

pub(super) fn encode_trading(enc: &mut Families, s: &Snapshot) {
    let Some(t) = &s.trading else {
        return;
    };
    let none = Labels::new;
    let one = |v: u64| [(none(), v)];
    counter(
        enc,
        "kspin_trading_orders_sent",
        "New orders written to the venue.",
        &one(t.orders_sent),
    );
    counter(
        enc,
        "kspin_trading_requests_sent",
        "Requests written of any kind.",
        &one(t.requests_sent),
    );
    counter(
        enc,
        "kspin_trading_acks",
        "Orders the venue acknowledged.",
        &one(t.acks),
    );
    counter(enc, "kspin_trading_fills", "Fills applied.", &one(t.fills));
    counter(
        enc,
        "kspin_trading_cancels",
        "Orders that ended cancelled or expired.",
        &one(t.cancels),
    );
    counter(
        enc,
        "kspin_trading_amends",
        "Amends that took effect.",
        &one(t.amends),
    );
    counter(
        enc,
        "kspin_trading_reconciliations",
        "Execution snapshots reconciled.",
        &one(t.reconciliations),
    );
    let mut rejects: Vec<(Labels, u64)> = t
        .rejects_by_reason
        .iter()
        .map(|(r, n)| (labels(&[("reason", r)]), *n))
        .collect();
    if rejects.is_empty() {
        rejects.push((labels(&[("reason", "any")]), 0));
    }
    counter(
        enc,
        "kspin_trading_rejects",
        "Orders, amends and cancels refused (pre-trade risk or the venue), by reason.",
        &rejects,
    );
    gauge(
        enc,
        "kspin_trading_open_orders",
        "Orders open on the venue.",
        &[(none(), t.open_orders.into())],
    );
    gauge(
        enc,
        "kspin_trading_killed",
        "1 once the kill switch was thrown.",
        &[(none(), t.killed.into())],
    );
    gauge(
        enc,
        "kspin_trading_position",
        "Position per symbol (float, base currency).",
        &t.positions
            .iter()
            .filter_map(|(sym, q)| {
                q.parse::<f64>()
                    .ok()
                    .map(|q| (labels(&[("symbol", sym)]), q.into()))
            })
            .collect::<Vec<_>>(),
    );
    histogram(
        enc,
        "kspin_trading_tick_to_trade_seconds",
        "Tick-to-trade: read of the market-data frame that triggered an order → its bytes written on the trading socket.",
        &[(none(), &t.tick_to_trade)],
    )
}
