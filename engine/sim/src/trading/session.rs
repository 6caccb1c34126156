//! One authenticated connection's trading session: its private subscriptions (`executions`
//! with its options, `balances`), their sequence numbers, the token it subscribed with, and
//! answers held back by the `ack-delay` fault; plus delivery of the account's events to every
//! subscribed session.
//!
//! Owns [`AuthSession`] (one per connection accepted on the authenticated listener).
//! Invariants: each subscription numbers its messages 1, 2, 3, … from its snapshot on
//! (`sequence`); an `executions` subscriber with `order_status: false` gets only `new`, `trade`,
//! `filled`, `canceled` and `expired` reports; held answers go out in the order they were made
//! once their time has come, while events are never held (so under `ack-delay` the executions a
//! request caused overtake its answer: that is the fault's point). It never decides what
//! happens to an order.

use std::collections::VecDeque;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use tungstenite::Utf8Bytes;

use super::exec_frames;
use super::orders::AccountEvent;
use crate::conn::Connection;
use crate::requests::send_text;
use crate::stats::StatsCounters;

/// Which counter a frame counts under.
pub type CounterOf = fn(&StatsCounters) -> &AtomicU64;

/// An `executions` subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExecSub {
    pub snap_orders: bool,
    pub snap_trades: bool,
    pub order_status: bool,
    pub ratecounter: bool,
    /// Last `sequence` sent.
    pub seq: u64,
}

/// See the module docs.
#[derive(Debug, Default)]
pub struct AuthSession {
    pub executions: Option<ExecSub>,
    /// Last `sequence` sent on the `balances` subscription.
    pub balances: Option<u64>,
    /// The token the connection's private subscriptions were made with.
    pub token: Option<String>,
    held: VecDeque<(Instant, Utf8Bytes, CounterOf)>,
}

impl AuthSession {
    pub fn has_subscriptions(&self) -> bool {
        self.executions.is_some() || self.balances.is_some()
    }

    /// Whether this open connection keeps `token` alive (it subscribed with it and still has a
    /// private subscription).
    pub fn holds(&self, token: &str) -> bool {
        self.has_subscriptions() && self.token.as_deref() == Some(token)
    }
}

/// Sends `text` to `conn` now, or holds it for `delay`.
pub fn answer(
    conn: &mut Connection,
    stats: &StatsCounters,
    counter: CounterOf,
    text: String,
    delay: Option<Duration>,
    now: Instant,
) {
    match (delay, conn.auth.as_mut()) {
        (Some(d), Some(session)) => {
            session
                .held
                .push_back((now + d, Utf8Bytes::from(text), counter));
        }
        _ => {
            send_text(conn, stats, counter(stats), Utf8Bytes::from(text), now);
        }
    }
}

/// Sends the held answers whose time has come.
pub fn release_held(conn: &mut Connection, stats: &StatsCounters, now: Instant) {
    loop {
        let due = match conn.auth.as_mut() {
            Some(s) if s.held.front().is_some_and(|(at, _, _)| *at <= now) => s.held.pop_front(),
            _ => None,
        };
        let Some((_, text, counter)) = due else {
            return;
        };
        send_text(conn, stats, counter(stats), text, now);
    }
}

/// Delivers the account's events to every subscribed session, in order.
pub fn fan_out(
    conns: &mut [Connection],
    events: &[AccountEvent],
    stats: &StatsCounters,
    now: Instant,
) {
    if events.is_empty() {
        return;
    }
    for conn in conns.iter_mut().filter(|c| c.is_open()) {
        for ev in events {
            let Some(session) = conn.auth.as_mut() else {
                break;
            };
            let mut text = String::new();
            let counter: CounterOf = match ev {
                AccountEvent::Exec(e) => {
                    let Some(sub) = session.executions.as_mut() else {
                        continue;
                    };
                    if !sub.order_status && !e.exec_type.is_open_close_or_fill() {
                        continue;
                    }
                    sub.seq += 1;
                    let mut item = String::new();
                    exec_frames::exec_report(&mut item, e, sub.ratecounter);
                    exec_frames::message(&mut text, "executions", false, &[item], sub.seq);
                    |s| &s.execution_frames
                }
                AccountEvent::Ledger(entry) => {
                    let Some(seq) = session.balances.as_mut() else {
                        continue;
                    };
                    *seq += 1;
                    let mut item = String::new();
                    exec_frames::ledger_item(&mut item, entry);
                    exec_frames::message(&mut text, "balances", false, &[item], *seq);
                    |s| &s.balance_frames
                }
            };
            send_text(conn, stats, counter(stats), Utf8Bytes::from(text), now);
        }
    }
}
