//! [`EventLog`]: structured log events derived from successive [`Snapshot`]s — every disconnect
//! (with its cause), failed connect, resync, book state change, rejected order, rejected message,
//! decode error and lag episode becomes one `tracing` event with its fields.
//!
//! The engine core never logs: it counts, and this compares each snapshot's counters with the
//! previous one's. Owns the previous counters. Invariants: one event per counted occurrence, up to
//! [`MAX_EVENTS_PER_KIND`] per kind and key between two snapshots (then one event saying how many
//! more); the first snapshot is compared with zero (the engine starts with every counter at 0);
//! it emits nothing for a counter that did not move.

use std::collections::BTreeMap;

use crate::model::Snapshot;

/// Events of one kind and key emitted between two snapshots before they are summarised.
pub const MAX_EVENTS_PER_KIND: u64 = 32;

/// Target of the events (filters and the JSON `target` field say where they came from).
pub const TARGET: &str = "kspin::engine";

/// The counters this compares, keyed by what they count.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Counters {
    /// `(connection, what)` → count; `what` is `connects`, `connect_failures` or `cause:NAME`.
    connections: BTreeMap<(String, String), u64>,
    /// symbol → (resyncs, checksum_mismatch, state).
    books: BTreeMap<String, (u64, u64, String)>,
    /// `(strategy, reason)` → rejects; strategy `""` is the live order path.
    rejects: BTreeMap<(String, String), u64>,
    /// strategy → (lag_episodes, events_dropped).
    lag: BTreeMap<String, (u64, u64)>,
    /// reason → rejected messages.
    rejected_messages: BTreeMap<String, u64>,
    /// kind → decode errors.
    decode_errors: BTreeMap<String, u64>,
}

impl Counters {
    fn of(s: &Snapshot) -> Counters {
        let mut c = Counters::default();
        for conn in &s.connections {
            let mut put = |what: String, n: u64| {
                c.connections.insert((conn.name.clone(), what), n);
            };
            put("connects".into(), conn.connects);
            put("connect_failures".into(), conn.connect_failures);
            for (cause, n) in &conn.disconnects_by_cause {
                put(format!("cause:{cause}"), *n);
            }
        }
        for b in &s.books {
            c.books.insert(
                b.symbol.clone(),
                (b.resyncs, b.checksum_mismatch, b.state.clone()),
            );
        }
        for st in &s.strategies {
            for (reason, n) in &st.rejects_by_reason {
                c.rejects.insert((st.name.clone(), reason.clone()), *n);
            }
            c.lag
                .insert(st.name.clone(), (st.lag_episodes, st.events_dropped));
        }
        if let Some(t) = &s.trading {
            for (reason, n) in &t.rejects_by_reason {
                c.rejects.insert((String::new(), reason.clone()), *n);
            }
        }
        c.rejected_messages = s.engine.rejected_by_reason.clone();
        c.decode_errors = s.engine.decode_errors_by_kind.clone();
        c
    }
}

/// See the module docs.
#[derive(Debug, Default)]
pub struct EventLog {
    prev: Counters,
    emitted: u64,
}

/// Calls `emit(i)` for each of `delta` occurrences up to the cap, then `more(rest)` once.
fn each(delta: u64, mut emit: impl FnMut(u64), more: impl FnOnce(u64)) -> u64 {
    let shown = delta.min(MAX_EVENTS_PER_KIND);
    for i in 0..shown {
        emit(i);
    }
    if delta > shown {
        more(delta - shown);
    }
    shown + u64::from(delta > shown)
}

impl EventLog {
    pub fn new() -> EventLog {
        EventLog::default()
    }

    /// Events emitted so far.
    pub fn emitted(&self) -> u64 {
        self.emitted
    }

    /// Emits the events between the previous snapshot and `s`; returns how many.
    pub fn observe(&mut self, s: &Snapshot) -> u64 {
        let now = Counters::of(s);
        let mut n = 0;
        for ((conn, what), total) in &now.connections {
            let before = self
                .prev
                .connections
                .get(&(conn.clone(), what.clone()))
                .copied()
                .unwrap_or(0);
            let delta = total.saturating_sub(before);
            if delta == 0 {
                continue;
            }
            n += match what.strip_prefix("cause:") {
                Some(cause) => each(
                    delta,
                    |i| tracing::warn!(target: TARGET, connection = %conn, cause, disconnects = before + i + 1, "disconnected"),
                    |more| tracing::warn!(target: TARGET, connection = %conn, cause, more, "more disconnects"),
                ),
                None if what == "connects" => each(
                    delta,
                    |i| tracing::info!(target: TARGET, connection = %conn, connects = before + i + 1, "connected"),
                    |more| tracing::info!(target: TARGET, connection = %conn, more, "more connects"),
                ),
                None => each(
                    delta,
                    |i| tracing::warn!(target: TARGET, connection = %conn, connect_failures = before + i + 1, "connect failed"),
                    |more| tracing::warn!(target: TARGET, connection = %conn, more, "more connect failures"),
                ),
            };
        }
        for (symbol, (resyncs, mismatches, state)) in &now.books {
            let (r0, _, s0) = self
                .prev
                .books
                .get(symbol)
                .cloned()
                .unwrap_or((0, 0, String::new()));
            n += each(
                resyncs.saturating_sub(r0),
                |i| tracing::warn!(target: TARGET, symbol = %symbol, resyncs = r0 + i + 1, checksum_mismatch = *mismatches, "resync"),
                |more| tracing::warn!(target: TARGET, symbol = %symbol, more, "more resyncs"),
            );
            if *state != s0 && state != "unknown" {
                let from = if s0.is_empty() { "unknown" } else { &s0 };
                if state == "live" {
                    tracing::info!(target: TARGET, symbol = %symbol, from, to = %state, "book state");
                } else {
                    tracing::warn!(target: TARGET, symbol = %symbol, from, to = %state, "book state");
                }
                n += 1;
            }
        }
        for ((strategy, reason), total) in &now.rejects {
            let before = self
                .prev
                .rejects
                .get(&(strategy.clone(), reason.clone()))
                .copied()
                .unwrap_or(0);
            let source = if strategy.is_empty() {
                "venue"
            } else {
                "paper"
            };
            n += each(
                total.saturating_sub(before),
                |i| tracing::warn!(target: TARGET, strategy = %strategy, reason = %reason, source, rejects = before + i + 1, "order rejected"),
                |more| tracing::warn!(target: TARGET, strategy = %strategy, reason = %reason, source, more, "more orders rejected"),
            );
        }
        for (strategy, (episodes, dropped)) in &now.lag {
            let (e0, _) = self.prev.lag.get(strategy).copied().unwrap_or((0, 0));
            n += each(
                episodes.saturating_sub(e0),
                |i| tracing::warn!(target: TARGET, strategy = %strategy, lag_episodes = e0 + i + 1, events_dropped = *dropped, "strategy lagging"),
                |more| tracing::warn!(target: TARGET, strategy = %strategy, more, "more lag episodes"),
            );
        }
        for (reason, total) in &now.rejected_messages {
            let before = self
                .prev
                .rejected_messages
                .get(reason)
                .copied()
                .unwrap_or(0);
            n += each(
                total.saturating_sub(before),
                |i| tracing::warn!(target: TARGET, reason = %reason, rejected_messages = before + i + 1, "message rejected"),
                |more| tracing::warn!(target: TARGET, reason = %reason, more, "more messages rejected"),
            );
        }
        for (kind, total) in &now.decode_errors {
            let before = self.prev.decode_errors.get(kind).copied().unwrap_or(0);
            n += each(
                total.saturating_sub(before),
                |i| tracing::warn!(target: TARGET, kind = %kind, decode_errors = before + i + 1, "decode error"),
                |more| tracing::warn!(target: TARGET, kind = %kind, more, "more decode errors"),
            );
        }
        self.prev = now;
        self.emitted += n;
        n
    }
}
