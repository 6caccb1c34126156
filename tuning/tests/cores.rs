//! Core-plan validation against fake topologies.

mod common;

use common::FakeHost;
use kspin_tuning::cores::{validate_core_plan, CorePlanIssue};
use kspin_tuning::cpuset::CpuSet;

#[test]
fn valid_plan_has_no_issue() {
    let host = FakeHost::tuned();
    assert_eq!(validate_core_plan(&host.root, 2, &[3], false), vec![]);
}

#[test]
fn duplicates_offline_and_siblings_are_fatal() {
    let host = FakeHost::laptop();
    let issues = validate_core_plan(&host.root, 2, &[2, 6, 9, 9], false);
    assert_eq!(
        issues,
        vec![
            CorePlanIssue::Duplicate { core: 2 },
            CorePlanIssue::Duplicate { core: 9 },
            CorePlanIssue::Offline {
                core: 9,
                online: CpuSet::from_cpus(0..8)
            },
            CorePlanIssue::SmtSiblings { a: 2, b: 6 },
            CorePlanIssue::TopologyUnknown {
                detail: "/sys/devices/system/cpu/cpu9/topology/thread_siblings_list missing"
                    .to_string()
            },
            CorePlanIssue::TopologyUnknown {
                detail: "core 9 is in no NUMA node's cpulist".to_string()
            },
        ]
    );
    assert_eq!(
        issues.iter().filter(|i| i.is_fatal()).count(),
        4,
        "{issues:?}"
    );
    assert_eq!(
        issues[3].to_string(),
        "cores 2 and 6 are SMT siblings of one physical core and would slow each other"
    );
}

#[test]
fn siblings_allowed_when_asked() {
    let host = FakeHost::laptop();
    assert_eq!(validate_core_plan(&host.root, 2, &[6], true), vec![]);
}

#[test]
fn cross_numa_is_fatal() {
    let host = FakeHost::tuned();
    host.file("/sys/devices/system/node/node0/cpulist", "0-1")
        .file("/sys/devices/system/node/node1/cpulist", "2-3");
    let issues = validate_core_plan(&host.root, 1, &[2, 3], false);
    assert_eq!(
        issues,
        vec![
            CorePlanIssue::CrossNuma {
                core: 2,
                node: 1,
                engine_node: 0
            },
            CorePlanIssue::CrossNuma {
                core: 3,
                node: 1,
                engine_node: 0
            },
        ]
    );
    assert!(issues.iter().all(CorePlanIssue::is_fatal));
}

#[test]
fn using_every_core_warns_without_being_fatal() {
    let host = FakeHost::tuned();
    let issues = validate_core_plan(&host.root, 0, &[1, 2, 3], false);
    assert_eq!(
        issues,
        vec![CorePlanIssue::NoHousekeepingCore {
            online: CpuSet::from_cpus(0..4)
        }]
    );
    assert!(!issues[0].is_fatal());
}

#[test]
fn missing_topology_is_reported_not_fatal() {
    let host = FakeHost::empty("no-topology");
    let issues = validate_core_plan(&host.root, 0, &[], false);
    assert_eq!(issues.len(), 3, "{issues:?}");
    assert!(issues
        .iter()
        .all(|i| matches!(i, CorePlanIssue::TopologyUnknown { .. }) && !i.is_fatal()));
}
