//! CPU and device topology read from sysfs: online CPUs, SMT siblings, NUMA nodes of CPUs and of
//! network devices.
//!
//! Shared by the host checks and the core-plan validation. Reads only, through [`HostFs`]; a
//! missing file is returned as an error value for the caller to report, never a panic.

use crate::cpuset::CpuSet;
use crate::host::{HostError, HostFs};

/// Sysfs directory of the CPU devices (Documentation/ABI/stable/sysfs-devices-system-cpu).
pub const CPU_DIR: &str = "/sys/devices/system/cpu";
/// Sysfs directory of the NUMA nodes (Documentation/ABI/stable/sysfs-devices-node).
pub const NODE_DIR: &str = "/sys/devices/system/node";

/// CPUs the kernel has online.
pub fn online_cpus(fs: &HostFs) -> Result<CpuSet, HostError> {
    fs.read_cpu_list(&format!("{CPU_DIR}/online"))
}

/// The hardware threads sharing `cpu`'s physical core, `cpu` included.
pub fn thread_siblings(fs: &HostFs, cpu: usize) -> Result<CpuSet, HostError> {
    fs.read_cpu_list(&format!("{CPU_DIR}/cpu{cpu}/topology/thread_siblings_list"))
}

/// The SMT control state (`on`, `off`, `forceoff`, `notsupported`, `notimplemented`).
pub fn smt_control(fs: &HostFs) -> Result<String, HostError> {
    fs.read_trimmed(&format!("{CPU_DIR}/smt/control"))
}

/// Every NUMA node with its CPUs, in node order.
pub fn numa_nodes(fs: &HostFs) -> Result<Vec<(usize, CpuSet)>, HostError> {
    let mut nodes = Vec::new();
    for name in fs.list_dir(NODE_DIR)? {
        let Some(id) = name
            .strip_prefix("node")
            .and_then(|n| n.parse::<usize>().ok())
        else {
            continue;
        };
        nodes.push((id, fs.read_cpu_list(&format!("{NODE_DIR}/{name}/cpulist"))?));
    }
    nodes.sort_by_key(|(id, _)| *id);
    Ok(nodes)
}

/// The NUMA node holding `cpu`, from an already read node list.
pub fn node_of(nodes: &[(usize, CpuSet)], cpu: usize) -> Option<usize> {
    nodes
        .iter()
        .find(|(_, cpus)| cpus.contains(cpu))
        .map(|(id, _)| *id)
}

/// A network interface backed by a device (not `lo`, bridges or other virtual interfaces).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetDevice {
    /// Interface name (`eth0`).
    pub name: String,
    /// NUMA node of the device; `None` when the platform reports none (`-1`) or the file is
    /// absent.
    pub numa_node: Option<usize>,
}

/// Network interfaces that have a `device` link, with their NUMA node. The node is read from
/// the device, or from its parent for devices like virtio-net whose bus device carries it.
pub fn net_devices(fs: &HostFs) -> Result<Vec<NetDevice>, HostError> {
    let mut devices = Vec::new();
    for name in fs.list_dir("/sys/class/net")? {
        let device = format!("/sys/class/net/{name}/device");
        if !fs.exists(&device) {
            continue;
        }
        let node = fs
            .read_int(&format!("{device}/numa_node"))
            .or_else(|_| fs.read_int(&format!("{device}/../numa_node")))
            .ok()
            .and_then(|n| usize::try_from(n).ok());
        devices.push(NetDevice {
            name,
            numa_node: node,
        });
    }
    Ok(devices)
}
