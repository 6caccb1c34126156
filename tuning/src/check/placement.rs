//! Placement items: SMT siblings of the hot cores, the NUMA node(s) of the hot cores, and the
//! NUMA node of each network device relative to them. Reads only.

use super::{join_limited, Ctx, Finding, Verdict};
use crate::topology;

pub(crate) fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    out.push(smt(ctx));
    let nodes = topology::numa_nodes(&ctx.fs);
    out.push(hot_core_nodes(ctx, &nodes));
    out.push(nic_nodes(ctx, &nodes));
}

fn smt(ctx: &Ctx<'_>) -> Finding {
    const ID: &str = "cpu.smt";
    let hot = &ctx.hot;
    let wanted = format!("no online SMT sibling of cpu {hot} (or SMT off)");
    let fix = "echo off > /sys/devices/system/cpu/smt/control (or kernel parameter `nosmt`), or take each sibling offline: echo 0 > /sys/devices/system/cpu/cpuN/online";
    if let Ok(control) = topology::smt_control(&ctx.fs) {
        if matches!(
            control.as_str(),
            "off" | "forceoff" | "notsupported" | "notimplemented"
        ) {
            return Finding::new(ID, Verdict::Ok, format!("SMT {control}"), wanted, "");
        }
    }
    let online = ctx.online.as_ref().ok();
    let mut shared_hot = Vec::new();
    let mut shared = Vec::new();
    for cpu in hot.iter() {
        let siblings = match topology::thread_siblings(&ctx.fs, cpu) {
            Ok(s) => s,
            Err(e) => return Finding::unknown(ID, &e, wanted),
        };
        for sib in siblings.iter().filter(|&s| s != cpu) {
            if hot.contains(sib) {
                if sib > cpu {
                    shared_hot.push(format!("hot cpus {cpu} and {sib} share a core"));
                }
            } else if online.is_none_or(|o| o.contains(sib)) {
                shared.push(format!("cpu {cpu} shares a core with online cpu {sib}"));
            }
        }
    }
    if !shared_hot.is_empty() {
        Finding::new(ID, Verdict::Fail, join_limited(&shared_hot, 4), wanted, fix)
    } else if !shared.is_empty() {
        Finding::new(ID, Verdict::Warn, join_limited(&shared, 4), wanted, fix)
    } else {
        Finding::new(ID, Verdict::Ok, "no online sibling", wanted, "")
    }
}

/// The single node holding every hot core, if they are on one.
fn hot_node(ctx: &Ctx<'_>, nodes: &[(usize, crate::cpuset::CpuSet)]) -> Option<usize> {
    let mut found = None;
    for cpu in ctx.hot.iter() {
        let node = topology::node_of(nodes, cpu)?;
        match found {
            None => found = Some(node),
            Some(n) if n != node => return None,
            Some(_) => {}
        }
    }
    found
}

fn hot_core_nodes(
    ctx: &Ctx<'_>,
    nodes: &Result<Vec<(usize, crate::cpuset::CpuSet)>, crate::host::HostError>,
) -> Finding {
    const ID: &str = "numa.hot_cores";
    let hot = &ctx.hot;
    let wanted = format!("cpu {hot} on one NUMA node");
    let nodes = match nodes {
        Ok(n) => n,
        Err(e) => return Finding::unknown(ID, e, wanted),
    };
    let mut placement = Vec::new();
    for cpu in hot.iter() {
        match topology::node_of(nodes, cpu) {
            Some(node) => placement.push((cpu, node.to_string())),
            None => {
                return Finding::new(
                    ID,
                    Verdict::Unknown,
                    format!("cpu {cpu} is in no node's cpulist"),
                    wanted,
                    "",
                )
            }
        }
    }
    let found = super::group_by_value(&placement).replace(" on cpu ", " holds cpu ");
    let found = format!("node {found}");
    match hot_node(ctx, nodes) {
        Some(_) => Finding::new(ID, Verdict::Ok, found, wanted, ""),
        None => Finding::new(
            ID,
            Verdict::Fail,
            found,
            wanted,
            "pick engine and strategy cores from one node's cpulist (/sys/devices/system/node/nodeN/cpulist)",
        ),
    }
}

fn nic_nodes(
    ctx: &Ctx<'_>,
    nodes: &Result<Vec<(usize, crate::cpuset::CpuSet)>, crate::host::HostError>,
) -> Finding {
    const ID: &str = "numa.nic";
    let node_count = nodes.as_ref().map_or(0, Vec::len);
    let hot_node = nodes.as_ref().ok().and_then(|n| hot_node(ctx, n));
    let wanted = match hot_node {
        Some(n) => format!("the exchange NIC on node {n}, with the hot cores"),
        None => "the exchange NIC on the hot cores' node".to_string(),
    };
    let devices = match topology::net_devices(&ctx.fs) {
        Ok(d) => d,
        Err(e) => return Finding::unknown(ID, &e, wanted),
    };
    if devices.is_empty() {
        return Finding::new(
            ID,
            Verdict::Unknown,
            "no device-backed network interface",
            wanted,
            "",
        );
    }
    let mut found = Vec::new();
    let mut remote = false;
    for dev in &devices {
        match (dev.numa_node, hot_node) {
            (Some(n), Some(h)) if n != h => {
                remote = true;
                found.push(format!("{} on node {n} (remote)", dev.name));
            }
            (Some(n), _) => found.push(format!("{} on node {n}", dev.name)),
            (None, _) if node_count > 1 => {
                remote = true;
                found.push(format!(
                    "{}: node not reported on a {node_count}-node host",
                    dev.name
                ));
            }
            (None, _) => found.push(format!("{}: no node (single-node host)", dev.name)),
        }
    }
    Finding::new(
        ID,
        if remote { Verdict::Warn } else { Verdict::Ok },
        join_limited(&found, 6),
        wanted,
        "run kspin on cores of the NIC's node (/sys/class/net/IF/device/numa_node), or move the NIC to a slot on the hot cores' node",
    )
}
