//! Disconnect causes as `kspin run` shows them: the `disconnects_by_cause` and
//! `connect_failures_by_cause` JSON objects (stable snake_case keys, see
//! `kspin_runtime::cause`), and the monitor thread's log line whenever a count grows.
//!
//! Owns the last counts the monitor printed. Runs on the monitor thread only (it formats and
//! allocates); the core just counts. A rejected certificate is printed loudly: it is what a
//! man-in-the-middle looks like, and the core retries it only as slowly as the backoff allows.

use kspin_runtime::{CauseCounts, CoreCounters, EndCause, CAUSE_NAMES};
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

/// The monitor's memory of what it last printed.
#[derive(Debug, Default)]
pub struct CauseLog {
    disconnects: CauseCounts,
    connect_failures: CauseCounts,
}

impl CauseLog {
    /// One line per cause whose count grew since the last call.
    pub fn changes(&mut self, counters: &CoreCounters, venue: &str) -> Vec<String> {
        let mut lines = Vec::new();
        for (what, now, last) in [
            (
                "disconnected",
                &counters.disconnects_by_cause,
                &mut self.disconnects,
            ),
            (
                "connection attempt failed",
                &counters.connect_failures_by_cause,
                &mut self.connect_failures,
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
                    lines.push(format!("kspin: {what}: {name} ({n} so far)"));
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
}
