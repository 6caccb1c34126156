//! The soak's report: what was injected, what the judge found, how recovery went, memory, and
//! Kraken's reconnect limits; as one JSON object (`--json`) or text, and the pass verdict.
//!
//! Owns the tallies. The JSON keys named in issue 14 (`faults_injected`, `wrong_books_published`,
//! `panics`, `recoveries`, `reconnects`, `max_recovery_ms`, `rss_start_kb`, `rss_end_kb`) are
//! contracts; the rest explain them.

use std::fmt::Write as _;
use std::time::Duration;

use kspin_core::feed::FeedCounters;
use kspin_host::{HostReport, StrategyStats};
use kspin_runtime::CoreCounters;
use serde_json::{json, Map, Value};

use super::checker::Judgement;
use super::faults::{FaultClass, KRAKEN_ATTEMPTS_PER_10_MIN};
use super::Outcome;
use crate::app::causes::causes_json;

/// See the module docs.
#[derive(Debug, Default)]
pub struct SoakReport {
    pub faults_requested: u64,
    pub seed: u64,
    injected: Vec<(&'static str, u64)>,
    pub recoveries: u64,
    pub unrecovered: u64,
    pub max_recovery: Duration,
    pub total_recovery: Duration,
    /// Maintenance faults: the shortest time from the drop to the next attempt.
    pub min_after_maintenance: Option<Duration>,
    pub maintenance_drops_measured: u64,
    pub max_attempts_in_window: usize,
    pub rss_start_kb: u64,
    pub rss_end_kb: u64,
    pub panics: u64,
    pub aborted: bool,
    pub counters: CoreCounters,
    pub feed: FeedCounters,
    pub decode_errors: u64,
    pub judgement: Judgement,
    pub lanes: Vec<StrategyStats>,
    pub host: Option<HostReport>,
    pub tap_dropped: u64,
    pub duration: Duration,
}

impl SoakReport {
    pub fn new(faults: u64, seed: u64) -> SoakReport {
        SoakReport {
            faults_requested: faults,
            seed,
            injected: super::class_names().map(|n| (n, 0)).collect(),
            ..SoakReport::default()
        }
    }

    pub fn record(&mut self, class: FaultClass, outcome: Outcome) {
        if let Some(slot) = self.injected.iter_mut().find(|(n, _)| *n == class.name()) {
            slot.1 += 1;
        }
        if outcome.recovered {
            self.recoveries += 1;
        } else {
            self.unrecovered += 1;
        }
        self.max_recovery = self.max_recovery.max(outcome.recovery);
        self.total_recovery += outcome.recovery;
        if let Some(gap) = outcome.after_maintenance {
            self.maintenance_drops_measured += 1;
            self.min_after_maintenance =
                Some(self.min_after_maintenance.map_or(gap, |m| m.min(gap)));
        }
    }

    pub fn injected_total(&self) -> u64 {
        self.injected.iter().map(|(_, n)| n).sum()
    }

    fn limits_respected(&self) -> bool {
        self.max_attempts_in_window <= KRAKEN_ATTEMPTS_PER_10_MIN
            && self
                .min_after_maintenance
                .is_none_or(|gap| gap >= super::after_maintenance_floor())
    }

    fn replica_divergences(&self) -> u64 {
        self.host.as_ref().map_or(0, |h| {
            h.counters.resnapshots_requested + h.counters.assembly_faults
        })
    }

    /// Every target met: all faults injected and recovered, no wrong or unverifiable book, no
    /// panic, no strategy replica divergence, Kraken's limits respected.
    pub fn passed(&self) -> bool {
        !self.aborted
            && self.injected_total() == self.faults_requested
            && self.recoveries == self.faults_requested
            && self.judgement.wrong == 0
            && self.judgement.unverifiable == 0
            && self.panics == 0
            && self.host.is_some()
            && self.replica_divergences() == 0
            && self.limits_respected()
    }

    pub fn progress_line(&self, elapsed: Duration) -> String {
        format!(
            "{:.0}s: {} faults, {} recovered (max {} ms), {} books checked, {} wrong, {} reconnects",
            elapsed.as_secs_f64(),
            self.injected_total(),
            self.recoveries,
            self.max_recovery.as_millis(),
            self.judgement.checked,
            self.judgement.wrong,
            self.counters.reconnects,
        )
    }

    pub fn to_json(&self) -> Value {
        let injected: Map<String, Value> = self
            .injected
            .iter()
            .map(|(n, c)| ((*n).to_owned(), json!(c)))
            .collect();
        let lane = self.lanes.first().map(|s| s.lane).unwrap_or_default();
        let host = self.host.as_ref().map(|h| h.counters).unwrap_or_default();
        let c = &self.counters;
        json!({
            "faults_requested": self.faults_requested,
            "seed": self.seed,
            "duration_s": self.duration.as_secs_f64(),
            "faults_injected": injected,
            "faults_injected_total": self.injected_total(),
            "wrong_books_published": self.judgement.wrong,
            "books_checked": self.judgement.checked,
            "books_unverifiable": self.judgement.unverifiable,
            "first_wrong_book": self.judgement.first_wrong,
            "panics": self.panics,
            "recoveries": self.recoveries,
            "unrecovered": self.unrecovered,
            "aborted": self.aborted,
            "reconnects": c.reconnects,
            "connects": c.connects,
            "max_recovery_ms": self.max_recovery.as_millis() as u64,
            "mean_recovery_ms": if self.recoveries + self.unrecovered > 0 {
                self.total_recovery.as_secs_f64() * 1e3 / (self.recoveries + self.unrecovered) as f64
            } else {
                0.0
            },
            "rss_start_kb": self.rss_start_kb,
            "rss_end_kb": self.rss_end_kb,
            "reconnect_limits": {
                "max_attempts_in_10_min": self.max_attempts_in_window,
                "kraken_limit_per_10_min": KRAKEN_ATTEMPTS_PER_10_MIN,
                "maintenance_drops": self.maintenance_drops_measured,
                "min_ms_from_maintenance_drop_to_attempt":
                    self.min_after_maintenance.map(|d| d.as_millis() as u64),
                "after_maintenance_min_ms": super::AFTER_MAINTENANCE.as_millis() as u64,
                "respected": self.limits_respected(),
            },
            "disconnects": c.disconnects,
            "disconnects_by_cause": causes_json(&c.disconnects_by_cause),
            "connect_failures": c.connect_failures,
            "connect_failures_by_cause": causes_json(&c.connect_failures_by_cause),
            "stalls": c.stalls,
            "resync_timeouts": c.resync_timeouts,
            "decode_errors": self.decode_errors,
            "checksum_mismatch": self.feed.checksum_mismatch,
            "checksum_ok": self.feed.checksum_ok,
            "resyncs": self.feed.resyncs,
            "strategy": {
                "events_published": lane.events_published,
                "events_dropped": lane.events_dropped,
                "lag_episodes": lane.lag_episodes,
                "snapshots_handed": lane.snapshots_handed,
                "events_received": host.events_received,
                "replica_resnapshots": host.resnapshots_requested,
                "assembly_faults": host.assembly_faults,
            },
            "tap_dropped": self.tap_dropped,
            "passed": self.passed(),
        })
    }

    pub fn to_text(&self) -> String {
        let j = self.to_json();
        let mut out = String::new();
        let _ = writeln!(
            out,
            "kspin soak: {} faults in {:.1}s (seed {}): {} recovered (max {} ms), {} books checked, \
             {} wrong, {} unverifiable, {} panics, {} reconnects; RSS {} → {} kB; {}",
            self.injected_total(),
            self.duration.as_secs_f64(),
            self.seed,
            self.recoveries,
            self.max_recovery.as_millis(),
            self.judgement.checked,
            self.judgement.wrong,
            self.judgement.unverifiable,
            self.panics,
            self.counters.reconnects,
            self.rss_start_kb,
            self.rss_end_kb,
            if self.passed() { "PASSED" } else { "FAILED" }
        );
        let _ = writeln!(out, "  faults: {}", j["faults_injected"]);
        let _ = writeln!(out, "  reconnect limits: {}", j["reconnect_limits"]);
        let _ = writeln!(out, "  disconnects by cause: {}", j["disconnects_by_cause"]);
        let _ = writeln!(
            out,
            "  connect failures by cause: {}",
            j["connect_failures_by_cause"]
        );
        let _ = writeln!(out, "  strategy: {}", j["strategy"]);
        if let Some(wrong) = &self.judgement.first_wrong {
            let _ = writeln!(out, "  first wrong book: {wrong}");
        }
        out
    }
}
