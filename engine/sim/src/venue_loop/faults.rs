//! Fault firing for the venue loop: what each [`FaultKind`] does to the connections, the
//! market and the trading side when its time comes, and the end of timed faults.
//!
//! Owns no state (it is part of `VenueLoop`'s methods). Invariants: a fault acts only through
//! the loop's own state and sockets, from the venue thread; the trading faults (`ack-delay`,
//! `reject`) only arm state the exchange consults, and `auth-drop` cuts only connections
//! accepted on the authenticated listener. It never consumes the market's randomness.

use std::net::TcpListener;
use std::sync::atomic::AtomicU64;
use std::time::Instant;

use tungstenite::Utf8Bytes;

use super::VenueLoop;
use crate::fault::{FaultKind, MAX_DEEP, MAX_OVERSIZED};
use crate::frames;
use crate::requests::send_text;
use crate::stats::StatsCounters;

impl VenueLoop {
    fn broadcast(
        &mut self,
        text: Utf8Bytes,
        counter: fn(&StatsCounters) -> &AtomicU64,
        now: Instant,
    ) {
        for conn in self.conns.iter_mut().filter(|c| c.is_open()) {
            send_text(
                conn,
                &self.shared.stats,
                counter(&self.shared.stats),
                text.clone(),
                now,
            );
        }
    }

    fn send_status(&mut self, system: &str, now: Instant) {
        for conn in self.conns.iter_mut().filter(|c| c.is_open()) {
            let mut text = String::new();
            frames::status(&mut text, system, conn.connection_id);
            send_text(
                conn,
                &self.shared.stats,
                &self.shared.stats.status_frames,
                Utf8Bytes::from(text),
                now,
            );
        }
    }

    pub(super) fn fire(&mut self, fault: FaultKind, now: Instant) {
        StatsCounters::add(&self.shared.stats.faults_fired, 1);
        match fault {
            FaultKind::Drop => {
                for c in self.conns.iter_mut().filter(|c| !c.is_closed()) {
                    c.cut();
                    StatsCounters::add(&self.shared.stats.connections_cut, 1);
                }
            }
            FaultKind::TlsNoCloseNotify => {
                for c in self.conns.iter_mut().filter(|c| !c.is_closed()) {
                    c.close_without_notify();
                    StatsCounters::add(&self.shared.stats.connections_cut, 1);
                }
            }
            FaultKind::Truncate => {
                for c in self.conns.iter_mut().filter(|c| !c.is_closed()) {
                    c.truncate_and_cut();
                    StatsCounters::add(&self.shared.stats.connections_cut, 1);
                }
            }
            FaultKind::Stall(d) => {
                self.stall_until = Some(now + d);
            }
            FaultKind::Corrupt(symbol) => match symbol {
                None => self.corrupt_pending.push(None),
                Some(name) => {
                    if let Some(i) = self.pairs.iter().position(|p| p.symbol == name) {
                        self.corrupt_pending.push(Some(i));
                    }
                }
            },
            FaultKind::Malformed => {
                self.broadcast(
                    Utf8Bytes::from_static(frames::malformed_frame()),
                    |s| &s.malformed_frames,
                    now,
                );
            }
            FaultKind::Deep(levels) => {
                let text = Utf8Bytes::from(frames::deep_frame(levels.min(MAX_DEEP)));
                self.broadcast(text, |s| &s.deep_frames, now);
            }
            FaultKind::Oversized(size) => {
                let text = Utf8Bytes::from(frames::oversized_frame(size.min(MAX_OVERSIZED)));
                self.broadcast(text, |s| &s.oversized_frames, now);
            }
            FaultKind::Maintenance(d) => {
                self.maintenance_until = Some(now + d);
                self.send_status("maintenance", now);
            }
            FaultKind::Refuse(d) => {
                self.listener = None;
                self.refuse_until = Some(now + d);
                StatsCounters::add(&self.shared.stats.refuse_windows, 1);
            }
            FaultKind::Burst { factor, duration } => {
                self.burst = Some((now + duration, factor.max(1)));
            }
            FaultKind::AuthDrop => {
                for c in self
                    .conns
                    .iter_mut()
                    .filter(|c| c.auth.is_some() && !c.is_closed())
                {
                    c.cut();
                    StatsCounters::add(&self.shared.stats.connections_cut, 1);
                    StatsCounters::add(&self.shared.stats.auth_drops, 1);
                }
            }
            FaultKind::AckDelay { delay, duration } => {
                if let Some(exchange) = self.shared.state().exchange.as_mut() {
                    exchange.faults.ack_delay = Some((now + duration, delay));
                }
            }
            FaultKind::Reject { count, text } => {
                if let Some(exchange) = self.shared.state().exchange.as_mut() {
                    exchange.faults.reject = Some((count, text));
                }
            }
        }
    }

    pub(super) fn end_timed_faults(&mut self, now: Instant) {
        if self.stall_until.is_some_and(|t| now >= t) {
            self.stall_until = None;
            self.pacer.reset(now);
        }
        if self.maintenance_until.is_some_and(|t| now >= t) {
            self.maintenance_until = None;
            self.send_status("online", now);
        }
        if self.burst.is_some_and(|(t, _)| now >= t) {
            self.burst = None;
        }
        if self.refuse_until.is_some_and(|t| now >= t) {
            // std sets SO_REUSEADDR on Unix listeners, so the same port binds again at once;
            // should it not, try again next iteration.
            if let Ok(l) = TcpListener::bind(self.addr) {
                if l.set_nonblocking(true).is_ok() {
                    self.listener = Some(l);
                    self.refuse_until = None;
                }
            }
        }
    }
}
