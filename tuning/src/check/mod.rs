//! `kspin tune check`: inspects a host for everything that costs a busy-polling engine latency
//! (CPU isolation, tick, RCU, IRQ placement, power management, SMT, THP, sysctls, clocksource,
//! NUMA placement, memory-lock limit) and reports each item as ok / warn / fail / unknown with
//! the value found, the value wanted for the configured hot cores, and the fix.
//!
//! It reads `/proc` and `/sys` below [`CheckInput::root`] and never writes anything: fixes are
//! printed, never applied (the scripts in `tuning/scripts/` apply them, and only with `--apply`).
//! A missing or malformed file makes its item `unknown`; nothing here panics on host input.
//! The only side effect besides reading is the optional IRQ sample, which sleeps on the calling
//! thread for [`CheckInput::irq_sample`].

mod clock;
mod irq;
mod isolation;
pub(crate) mod memory;
mod placement;
mod power;
mod report;
mod sysctl;

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::cmdline::KernelCmdline;
use crate::cores::validate_core_plan;
use crate::cpuset::CpuSet;
use crate::host::{HostError, HostFs};
use crate::topology;

pub use irq::{interrupt_rises, parse_interrupts, InterruptRise, InterruptTable};
pub use memory::CAP_IPC_LOCK_BIT;
pub use report::{Report, VerdictCounts};

/// The outcome of one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// As wanted.
    Ok,
    /// Costs latency or predictability; kspin runs but the user should fix it.
    Warn,
    /// Directly puts interruptions or slow paths on the hot cores.
    Fail,
    /// Could not be determined (file missing or unreadable).
    Unknown,
}

impl Verdict {
    /// Lower-case name as printed and serialised.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Warn => "warn",
            Verdict::Fail => "fail",
            Verdict::Unknown => "unknown",
        }
    }
}

/// One checked item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable identifier (`cmdline.isolcpus`, `sysctl.vm.swappiness`, ...).
    pub id: &'static str,
    /// The verdict.
    pub verdict: Verdict,
    /// What the host has.
    pub found: String,
    /// What kspin wants, for the configured cores.
    pub wanted: String,
    /// The command, kernel parameter or setting that fixes it (empty when ok).
    pub fix: String,
}

impl Finding {
    fn new(
        id: &'static str,
        verdict: Verdict,
        found: impl Into<String>,
        wanted: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        let fix = if verdict == Verdict::Ok {
            String::new()
        } else {
            fix.into()
        };
        Self {
            id,
            verdict,
            found: found.into(),
            wanted: wanted.into(),
            fix,
        }
    }

    /// An `unknown` finding for an unreadable file.
    fn unknown(id: &'static str, err: &HostError, wanted: impl Into<String>) -> Self {
        Self::new(id, Verdict::Unknown, err.short(), wanted, "")
    }
}

/// What to check and for which cores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckInput {
    /// Root of the host tree (`/` for this host; a fake tree in tests).
    pub root: PathBuf,
    /// The engine's core, if configured.
    pub engine_core: Option<usize>,
    /// The strategy cores.
    pub strategy_cores: Vec<usize>,
    /// If set, `/proc/interrupts` is sampled twice this far apart to see whether interrupt
    /// counts rise on the hot cores. `None` skips the item (start-up does not sample).
    pub irq_sample: Option<Duration>,
}

impl CheckInput {
    /// Checks of the running host (`/`) with no cores configured and no IRQ sample.
    pub fn host() -> Self {
        Self {
            root: PathBuf::from("/"),
            engine_core: None,
            strategy_cores: Vec::new(),
            irq_sample: None,
        }
    }
}

/// Where the hot cores of a report came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HotCoreSource {
    /// The engine and strategy cores given in the input.
    Configured,
    /// None given: the host's isolated CPUs.
    IsolatedCpus,
    /// None given and none isolated: the last online CPU, as a stand-in.
    LastOnlineCpu,
    /// Nothing readable: CPU 0, as a stand-in.
    Cpu0,
}

/// Shared, read-once state handed to each group of checks.
pub(crate) struct Ctx<'a> {
    pub fs: HostFs,
    pub input: &'a CheckInput,
    /// Engine and strategy cores: where interruptions cost latency.
    pub hot: CpuSet,
    /// Online CPUs minus hot cores: where the kernel's work should go.
    pub housekeeping: CpuSet,
    pub online: Result<CpuSet, HostError>,
    pub cmdline: Result<KernelCmdline, HostError>,
}

/// Runs every check for `input` and returns the report. Reads only; sleeps for
/// `input.irq_sample` if set.
pub fn run_checks(input: &CheckInput) -> Report {
    let fs = HostFs::new(&input.root);
    let online = topology::online_cpus(&fs);
    let configured = CpuSet::from_cpus(
        input
            .engine_core
            .into_iter()
            .chain(input.strategy_cores.iter().copied()),
    );
    let isolated = fs
        .read_cpu_list(&format!("{}/isolated", topology::CPU_DIR))
        .unwrap_or_default();
    let (hot, source) = if !configured.is_empty() {
        (configured, HotCoreSource::Configured)
    } else if !isolated.is_empty() {
        (isolated, HotCoreSource::IsolatedCpus)
    } else if let Some(last) = online.as_ref().ok().and_then(CpuSet::last) {
        (CpuSet::from_cpus([last]), HotCoreSource::LastOnlineCpu)
    } else {
        (CpuSet::from_cpus([0]), HotCoreSource::Cpu0)
    };
    let housekeeping = online
        .as_ref()
        .map(|o| o.difference(&hot))
        .unwrap_or_default();
    let cmdline = fs.read("/proc/cmdline").map(|t| KernelCmdline::parse(&t));
    let ctx = Ctx {
        fs,
        input,
        hot,
        housekeeping,
        online,
        cmdline,
    };

    let mut findings = vec![core_plan(&ctx, source)];
    isolation::check(&ctx, &mut findings);
    irq::check(&ctx, &mut findings);
    power::check(&ctx, &mut findings);
    placement::check(&ctx, &mut findings);
    memory::check(&ctx, &mut findings);
    sysctl::check(&ctx, &mut findings);
    clock::check(&ctx, &mut findings);

    Report {
        root: input.root.clone(),
        engine_core: input.engine_core,
        strategy_cores: input.strategy_cores.clone(),
        hot_cores: ctx.hot.clone(),
        hot_core_source: source,
        housekeeping: ctx.housekeeping.clone(),
        findings,
    }
}

fn core_plan(ctx: &Ctx<'_>, source: HotCoreSource) -> Finding {
    const ID: &str = "cores.plan";
    let wanted =
        "distinct online cores, no SMT pairs, one NUMA node, at least one housekeeping core";
    let Some(engine) = ctx.input.engine_core else {
        let from = match source {
            HotCoreSource::Configured => "the strategy cores",
            HotCoreSource::IsolatedCpus => "the isolated CPUs",
            HotCoreSource::LastOnlineCpu => "the last online CPU",
            HotCoreSource::Cpu0 => "CPU 0 (topology unreadable)",
        };
        return Finding::new(
            ID,
            Verdict::Warn,
            format!("no engine core given; checking CPUs {} ({from})", ctx.hot),
            wanted,
            "pass --engine-core N and --strategy-cores LIST (the cores in kspin's config)",
        );
    };
    let issues = validate_core_plan(&ctx.input.root, engine, &ctx.input.strategy_cores, false);
    let plan = format!(
        "engine {engine}, strategies {}",
        CpuSet::from_cpus(ctx.input.strategy_cores.iter().copied())
    );
    if issues.is_empty() {
        return Finding::new(ID, Verdict::Ok, format!("{plan}: valid"), wanted, "");
    }
    let verdict = if issues.iter().any(|i| i.is_fatal()) {
        Verdict::Fail
    } else {
        Verdict::Warn
    };
    let text: Vec<String> = issues.iter().map(ToString::to_string).collect();
    Finding::new(
        ID,
        verdict,
        format!("{plan}: {}", text.join("; ")),
        wanted,
        "choose engine and strategy cores on one NUMA node, on distinct physical cores, leaving a housekeeping core",
    )
}

/// Joins up to `limit` items with `; ` and says how many were left out.
pub(crate) fn join_limited(items: &[String], limit: usize) -> String {
    let mut text = items
        .iter()
        .take(limit)
        .cloned()
        .collect::<Vec<_>>()
        .join("; ");
    if items.len() > limit {
        text.push_str(&format!("; +{} more", items.len() - limit));
    }
    text
}

/// Groups per-CPU values into `value on CPUS` phrases: `performance on 1-2; powersave on 3`.
pub(crate) fn group_by_value(values: &[(usize, String)]) -> String {
    let mut groups: Vec<(String, CpuSet)> = Vec::new();
    for (cpu, value) in values {
        match groups.iter_mut().find(|(v, _)| v == value) {
            Some((_, set)) => set.insert(*cpu),
            None => groups.push((value.clone(), CpuSet::from_cpus([*cpu]))),
        }
    }
    groups
        .iter()
        .map(|(v, set)| format!("{v} on cpu {set}"))
        .collect::<Vec<_>>()
        .join("; ")
}
