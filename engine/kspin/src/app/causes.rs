//! Disconnect causes as `kspin run` shows them: the `disconnects_by_cause` and
//! `connect_failures_by_cause` JSON objects (stable snake_case keys, see
//! `kspin_runtime::cause`), and the monitor thread's log line whenever a count grows.
//!
//! Owns the last counts the monitor printed. Runs on the monitor thread only (it formats and
//! allocates); the core just counts. A rejected certificate is printed loudly: it is what a
//! man-in-the-middle looks like, and the core retries it only as slowly as the backoff allows.

use kspin_runtime::{CauseCounts, CoreCounters, EndCause, EndCauses, CAUSE_NAMES};
use serde_json::{Map, Value};

/// `{cause: count}` for every cause counted at least once.
pub fn causes_json(counts: &CauseCounts) -> Value {
    Value::Object(
        counts
            .named()
            .map(|(name, n)| (name.to_owned(), Value::from(n)))
            .collect::<Map<String, Value>>(),
    )
}

/// The monitor's memory of what it last printed, for one connection.
#[derive(Debug, Default)]
pub struct CauseLog {
    /// Names the connection in each line: empty for market data, `"trading link "` for the
    /// order path.
    label: &'static str,
    last: EndCauses,
}

impl CauseLog {
    /// A log whose lines name the connection by `label` (e.g. `"trading link "`).
    pub fn named(label: &'static str) -> CauseLog {
        CauseLog {
            label,
            last: EndCauses::default(),
        }
    }

    /// One line per market-data cause whose count grew since the last call.
    pub fn changes(&mut self, counters: &CoreCounters, venue: &str) -> Vec<String> {
        let now = EndCauses {
            disconnects: counters.disconnects_by_cause,
            connect_failures: counters.connect_failures_by_cause,
        };
        self.changes_of(&now, venue)
    }

    /// One line per cause whose count grew since the last call.
    pub fn changes_of(&mut self, now: &EndCauses, venue: &str) -> Vec<String> {
        let mut lines = Vec::new();
        let label = self.label;
        for (what, now, last) in [
            ("disconnected", &now.disconnects, &mut self.last.disconnects),
            (
                "connection attempt failed",
                &now.connect_failures,
                &mut self.last.connect_failures,
            ),
        ] {
            for name in CAUSE_NAMES {
                let (n, before) = (now.by_name(name), last.by_name(name));
                if n <= before {
                    continue;
                }
                if name == EndCause::CertificateRejected.name() {
                    lines.push(format!(
                        "kspin: WARNING: the certificate of {venue} was REJECTED ({n} time(s) so far): \
                         not the server it claims to be, or not trusted here (venue.trust_pem, \
                         venue.webpki_roots); retrying no faster than the backoff"
                    ));
                } else {
                    lines.push(format!("kspin: {label}{what}: {name} ({n} so far)"));
                }
            }
            *last = *now;
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_each_growth_once_and_the_certificate_loudly() {
        let mut log = CauseLog::default();
        let mut c = CoreCounters::default();
        assert!(log.changes(&c, "wss://x").is_empty());
        c.disconnects_by_cause.add(EndCause::Stall);
        c.connect_failures_by_cause
            .add(EndCause::CertificateRejected);
        let lines = log.changes(&c, "wss://x");
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0], "kspin: disconnected: stall (1 so far)");
        assert!(lines[1].contains("wss://x was REJECTED (1 time(s) so far)"));
        assert!(log.changes(&c, "wss://x").is_empty());
        assert_eq!(
            causes_json(&c.disconnects_by_cause),
            serde_json::json!({"stall": 1})
        );
    }

    #[test]
    fn the_trading_link_is_named_in_its_lines() {
        let mut log = CauseLog::named("trading link ");
        let mut causes = EndCauses::default();
        causes.disconnects.add(EndCause::Stall);
        causes.disconnects.add(EndCause::Stall);
        causes.connect_failures.add(EndCause::CertificateRejected);
        let lines = log.changes_of(&causes, "the trading endpoint");
        assert_eq!(
            lines[0],
            "kspin: trading link disconnected: stall (2 so far)"
        );
        assert!(lines[1].contains("the trading endpoint was REJECTED (1 time(s) so far)"));
        assert!(log.changes_of(&causes, "the trading endpoint").is_empty());
    }
}
