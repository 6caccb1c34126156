//! Power-management items on the hot cores: cpufreq governor, energy-performance preference,
//! and C-states (cpuidle driver and states, with the per-CPU PM QoS resume-latency limit the
//! idle governor honours). Reads only.

use super::{group_by_value, join_limited, Ctx, Finding, Verdict};
use crate::topology::CPU_DIR;

/// Deepest idle-state exit latency accepted on a hot core, in µs. Intel's `intel_idle` tables
/// give C1 an exit latency of 1-2 µs and C1E 10 µs; deeper states are tens to hundreds of µs
/// (drivers/idle/intel_idle.c). So this admits POLL and C1 and nothing deeper.
pub const MAX_EXIT_LATENCY_US: u64 = 2;

pub(crate) fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    out.push(cpufreq_value(
        ctx,
        "cpu.governor",
        "scaling_governor",
        "performance",
        "cpupower -c {cpus} frequency-set -g performance (or tuning/scripts/runtime-tuning.sh --apply)",
    ));
    out.push(cpufreq_value(
        ctx,
        "cpu.epp",
        "energy_performance_preference",
        "performance",
        "echo performance > /sys/devices/system/cpu/cpuN/cpufreq/energy_performance_preference for N in {cpus} (or tuning/scripts/runtime-tuning.sh --apply)",
    ));
    out.push(cstates(ctx));
}

/// A per-hot-core cpufreq attribute that should read `want`.
fn cpufreq_value(ctx: &Ctx<'_>, id: &'static str, file: &str, want: &str, fix: &str) -> Finding {
    let hot = &ctx.hot;
    let wanted = format!("{file} = {want} on cpu {hot}");
    let mut values = Vec::new();
    let mut missing = Vec::new();
    for cpu in hot.iter() {
        match ctx
            .fs
            .read_trimmed(&format!("{CPU_DIR}/cpu{cpu}/cpufreq/{file}"))
        {
            Ok(v) => values.push((cpu, v)),
            Err(e) => missing.push(e.short()),
        }
    }
    if values.is_empty() {
        return Finding::new(
            id,
            Verdict::Unknown,
            format!(
                "no cpufreq {file} ({}; a VM or no cpufreq driver)",
                join_limited(&missing, 2)
            ),
            wanted,
            "",
        );
    }
    let found = group_by_value(&values);
    if values.iter().all(|(_, v)| v == want) && missing.is_empty() {
        Finding::new(id, Verdict::Ok, found, wanted, "")
    } else {
        let fix = fix.replace("{cpus}", &hot.to_string());
        Finding::new(id, Verdict::Warn, found, wanted, fix)
    }
}

fn cstates(ctx: &Ctx<'_>) -> Finding {
    const ID: &str = "cpu.cstates";
    let hot = &ctx.hot;
    let wanted = format!(
        "no idle state with exit latency above {MAX_EXIT_LATENCY_US} us reachable on cpu {hot}"
    );
    let driver = match ctx
        .fs
        .read_trimmed(&format!("{CPU_DIR}/cpuidle/current_driver"))
    {
        Ok(d) => d,
        Err(e) => return Finding::unknown(ID, &e, wanted),
    };
    if driver == "none" {
        return Finding::new(ID, Verdict::Ok, "cpuidle driver none", wanted, "");
    }
    let mut deep = Vec::new();
    let mut unreadable = Vec::new();
    for cpu in hot.iter() {
        let dir = format!("{CPU_DIR}/cpu{cpu}/cpuidle");
        let states = match ctx.fs.list_dir(&dir) {
            Ok(s) => s,
            Err(e) => {
                unreadable.push(e.short());
                continue;
            }
        };
        // pm_qos_resume_latency_us: "0" = no limit, "n/a" = no latency at all (polling only)
        // (Documentation/ABI/testing/sysfs-devices-power).
        let limit = match ctx
            .fs
            .read_trimmed(&format!(
                "{CPU_DIR}/cpu{cpu}/power/pm_qos_resume_latency_us"
            ))
            .as_deref()
        {
            Ok("n/a") => Some(0),
            Ok(v) => v.parse::<u64>().ok().filter(|&n| n > 0),
            Err(_) => None,
        };
        for state in states.iter().filter(|s| s.starts_with("state")) {
            let read = |f: &str| ctx.fs.read_trimmed(&format!("{dir}/{state}/{f}"));
            let (Ok(name), Ok(latency), Ok(disable)) =
                (read("name"), read("latency"), read("disable"))
            else {
                unreadable.push(format!("{dir}/{state}"));
                continue;
            };
            let Ok(latency) = latency.parse::<u64>() else {
                unreadable.push(format!("{dir}/{state}/latency"));
                continue;
            };
            let allowed_by_qos = limit.is_none_or(|l| latency <= l);
            if disable == "0" && latency > MAX_EXIT_LATENCY_US && allowed_by_qos {
                deep.push(format!("cpu{cpu} {name} ({latency} us)"));
            }
        }
    }
    let fix = format!(
        "echo {MAX_EXIT_LATENCY_US} > /sys/devices/system/cpu/cpuN/power/pm_qos_resume_latency_us for N in {hot}, or kernel parameters `intel_idle.max_cstate=1 processor.max_cstate=1` (tuning/scripts/runtime-tuning.sh --apply)"
    );
    if !deep.is_empty() {
        Finding::new(
            ID,
            Verdict::Warn,
            format!("driver {driver}; reachable: {}", join_limited(&deep, 6)),
            wanted,
            fix,
        )
    } else if !unreadable.is_empty() {
        Finding::new(
            ID,
            Verdict::Unknown,
            format!(
                "driver {driver}; unreadable: {}",
                join_limited(&unreadable, 3)
            ),
            wanted,
            "",
        )
    } else {
        Finding::new(
            ID,
            Verdict::Ok,
            format!("driver {driver}; no deep state reachable on cpu {hot}"),
            wanted,
            "",
        )
    }
}
