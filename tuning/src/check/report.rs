//! The result of a host check and its three renderings: a text table for people, JSON for
//! machines, and the short warning list the engine prints at start-up. Pure formatting: no I/O.

use std::fmt::Write as _;
use std::path::PathBuf;

use serde::Serialize;

use super::{Finding, HotCoreSource, Verdict};
use crate::cpuset::CpuSet;

/// Everything one run of [`run_checks`](super::run_checks) found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Root of the tree that was checked.
    pub root: PathBuf,
    /// The engine core given, if any.
    pub engine_core: Option<usize>,
    /// The strategy cores given.
    pub strategy_cores: Vec<usize>,
    /// The cores the checks were made for.
    pub hot_cores: CpuSet,
    /// Where [`Report::hot_cores`] came from.
    pub hot_core_source: HotCoreSource,
    /// Online cores that are not hot.
    pub housekeeping: CpuSet,
    /// One finding per item, in a fixed order.
    pub findings: Vec<Finding>,
}

/// How many findings have each verdict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct VerdictCounts {
    /// `ok` findings.
    pub ok: usize,
    /// `warn` findings.
    pub warn: usize,
    /// `fail` findings.
    pub fail: usize,
    /// `unknown` findings.
    pub unknown: usize,
}

impl Report {
    /// The finding with `id`, if that item was checked.
    pub fn finding(&self, id: &str) -> Option<&Finding> {
        self.findings.iter().find(|f| f.id == id)
    }

    /// The verdict of item `id`, if checked.
    pub fn verdict(&self, id: &str) -> Option<Verdict> {
        self.finding(id).map(|f| f.verdict)
    }

    /// Counts per verdict.
    pub fn counts(&self) -> VerdictCounts {
        let mut c = VerdictCounts::default();
        for f in &self.findings {
            match f.verdict {
                Verdict::Ok => c.ok += 1,
                Verdict::Warn => c.warn += 1,
                Verdict::Fail => c.fail += 1,
                Verdict::Unknown => c.unknown += 1,
            }
        }
        c
    }

    /// Whether any item failed (the `kspin tune check` exit code is 1 then).
    pub fn has_fail(&self) -> bool {
        self.findings.iter().any(|f| f.verdict == Verdict::Fail)
    }

    /// One line per item that is not ok, fails first, for the engine's start-up output:
    /// `fail cmdline.isolcpus: absent (want isolcpus contains 1 ...)`. Unknown items are
    /// listed last as `unknown`, since they may hide a problem.
    pub fn warnings(&self) -> Vec<String> {
        let mut lines: Vec<(Verdict, String)> = self
            .findings
            .iter()
            .filter(|f| f.verdict != Verdict::Ok)
            .map(|f| {
                (
                    f.verdict,
                    format!(
                        "{} {}: {} (want {})",
                        f.verdict.as_str(),
                        f.id,
                        f.found,
                        f.wanted
                    ),
                )
            })
            .collect();
        let rank = |v: Verdict| match v {
            Verdict::Fail => 0,
            Verdict::Warn => 1,
            Verdict::Unknown => 2,
            Verdict::Ok => 3,
        };
        lines.sort_by_key(|(v, _)| rank(*v));
        lines.into_iter().map(|(_, l)| l).collect()
    }

    /// The report as JSON: run conditions, counts, and every finding with `id`, `verdict`,
    /// `found`, `wanted`, `fix`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "root": self.root.display().to_string(),
            "engine_core": self.engine_core,
            "strategy_cores": self.strategy_cores,
            "hot_cores": self.hot_cores.to_string(),
            "hot_core_source": self.hot_core_source,
            "housekeeping_cores": self.housekeeping.to_string(),
            "counts": self.counts(),
            "findings": self.findings,
        })
    }

    /// The report as a text table with the fix under each item that is not ok.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        let source = match self.hot_core_source {
            HotCoreSource::Configured => "configured",
            HotCoreSource::IsolatedCpus => "isolated CPUs, no cores given",
            HotCoreSource::LastOnlineCpu => "last online CPU, no cores given",
            HotCoreSource::Cpu0 => "CPU 0, topology unreadable",
        };
        let _ = writeln!(
            out,
            "kspin tune check: root {}, hot cores {} ({source}), housekeeping cores {}",
            self.root.display(),
            self.hot_cores,
            self.housekeeping
        );
        let width = self.findings.iter().map(|f| f.id.len()).max().unwrap_or(0);
        for f in &self.findings {
            let _ = writeln!(
                out,
                "{:<7} {:<width$}  {}",
                f.verdict.as_str(),
                f.id,
                f.found
            );
            if f.verdict != Verdict::Ok {
                let pad = " ".repeat(width + 10);
                let _ = writeln!(out, "{pad}want: {}", f.wanted);
                if !f.fix.is_empty() {
                    let _ = writeln!(out, "{pad}fix:  {}", f.fix);
                }
            }
        }
        let c = self.counts();
        let _ = writeln!(
            out,
            "summary: {} ok, {} warn, {} fail, {} unknown",
            c.ok, c.warn, c.fail, c.unknown
        );
        out
    }
}
