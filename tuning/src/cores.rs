//! Validation of the engine's core plan: the engine core and the strategy cores must be distinct,
//! online, not SMT siblings of each other (unless the user asked for it) and on one NUMA node.
//!
//! Reads the topology below a root path (`/` for the running host) and never writes. It reports
//! issues; whether an issue stops the engine is the caller's decision ([`CorePlanIssue::is_fatal`]
//! is the suggested policy). Never panics on missing or malformed sysfs files: those become
//! [`CorePlanIssue::TopologyUnknown`].

use std::path::Path;

use crate::cpuset::CpuSet;
use crate::host::HostFs;
use crate::topology;

/// One problem with a core plan.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CorePlanIssue {
    /// The same core is named twice (engine and a strategy, or two strategies).
    #[error("core {core} is used more than once in the core plan")]
    Duplicate {
        /// The repeated core.
        core: usize,
    },
    /// The core is not in `/sys/devices/system/cpu/online`.
    #[error("core {core} is not online (online cores: {online})")]
    Offline {
        /// The missing core.
        core: usize,
        /// What is online.
        online: CpuSet,
    },
    /// Two planned cores are hardware threads of one physical core.
    #[error("cores {a} and {b} are SMT siblings of one physical core and would slow each other")]
    SmtSiblings {
        /// Lower core.
        a: usize,
        /// Higher core.
        b: usize,
    },
    /// A planned core is on another NUMA node than the engine core.
    #[error("core {core} is on NUMA node {node} but the engine core is on node {engine_node}")]
    CrossNuma {
        /// The remote core.
        core: usize,
        /// Its node.
        node: usize,
        /// The engine core's node.
        engine_node: usize,
    },
    /// The plan uses every online core, leaving none for the kernel, IRQs and other processes.
    #[error(
        "the core plan uses every online core ({online}); leave at least one for housekeeping"
    )]
    NoHousekeepingCore {
        /// What is online.
        online: CpuSet,
    },
    /// Part of the topology could not be read, so part of the plan is unchecked.
    #[error("could not check the core plan fully: {detail}")]
    TopologyUnknown {
        /// What could not be read.
        detail: String,
    },
}

impl CorePlanIssue {
    /// Whether the plan should not be run as is. Duplicates, offline cores, sibling pairs and
    /// NUMA splits are fatal; an unreadable topology and a missing housekeeping core are
    /// warnings (a laptop or a small VM still runs).
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            CorePlanIssue::Duplicate { .. }
                | CorePlanIssue::Offline { .. }
                | CorePlanIssue::SmtSiblings { .. }
                | CorePlanIssue::CrossNuma { .. }
        )
    }
}

/// Checks a core plan against the topology below `root`. An empty result means the plan is
/// valid. `allow_smt_siblings` accepts planned cores that share a physical core.
pub fn validate_core_plan(
    root: &Path,
    engine_core: usize,
    strategy_cores: &[usize],
    allow_smt_siblings: bool,
) -> Vec<CorePlanIssue> {
    let fs = HostFs::new(root);
    let mut issues = Vec::new();
    let planned: Vec<usize> = std::iter::once(engine_core)
        .chain(strategy_cores.iter().copied())
        .collect();

    let mut seen = CpuSet::new();
    let mut reported = CpuSet::new();
    for &core in &planned {
        if seen.contains(core) && !reported.contains(core) {
            issues.push(CorePlanIssue::Duplicate { core });
            reported.insert(core);
        }
        seen.insert(core);
    }
    let planned_set = seen;

    match topology::online_cpus(&fs) {
        Ok(online) => {
            for core in planned_set.iter().filter(|&c| !online.contains(c)) {
                issues.push(CorePlanIssue::Offline {
                    core,
                    online: online.clone(),
                });
            }
            if online.difference(&planned_set).is_empty() {
                issues.push(CorePlanIssue::NoHousekeepingCore { online });
            }
        }
        Err(e) => issues.push(CorePlanIssue::TopologyUnknown { detail: e.short() }),
    }

    if !allow_smt_siblings {
        for a in planned_set.iter() {
            match topology::thread_siblings(&fs, a) {
                Ok(siblings) => {
                    for b in siblings
                        .iter()
                        .filter(|&b| b > a && planned_set.contains(b))
                    {
                        issues.push(CorePlanIssue::SmtSiblings { a, b });
                    }
                }
                Err(e) => issues.push(CorePlanIssue::TopologyUnknown { detail: e.short() }),
            }
        }
    }

    match topology::numa_nodes(&fs) {
        Ok(nodes) => match topology::node_of(&nodes, engine_core) {
            Some(engine_node) => {
                for core in planned_set.iter().filter(|&c| c != engine_core) {
                    match topology::node_of(&nodes, core) {
                        Some(node) if node != engine_node => {
                            issues.push(CorePlanIssue::CrossNuma {
                                core,
                                node,
                                engine_node,
                            });
                        }
                        Some(_) => {}
                        None => issues.push(CorePlanIssue::TopologyUnknown {
                            detail: format!("core {core} is in no NUMA node's cpulist"),
                        }),
                    }
                }
            }
            None => issues.push(CorePlanIssue::TopologyUnknown {
                detail: format!("engine core {engine_core} is in no NUMA node's cpulist"),
            }),
        },
        Err(e) => issues.push(CorePlanIssue::TopologyUnknown { detail: e.short() }),
    }
    issues
}
