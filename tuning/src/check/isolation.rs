//! Isolation items: the kernel command line (`isolcpus`, `nohz_full`, `rcu_nocbs`,
//! `irqaffinity`, `skew_tick`, `tsc`) and the CPU sets the running kernel applied
//! (`/sys/devices/system/cpu/isolated`, `.../nohz_full`). Reads only.

use super::{Ctx, Finding, Verdict};
use crate::cmdline::KernelCmdline;
use crate::cpuset::CpuSet;
use crate::topology::CPU_DIR;

const KERNEL_PARAM_FIX: &str = "tuning/scripts/kernel-params.sh --apply, then reboot";

pub(crate) fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let hot = &ctx.hot;
    let hk = &ctx.housekeeping;
    match &ctx.cmdline {
        Ok(cmdline) => {
            out.push(covering(
                cmdline,
                "cmdline.isolcpus",
                "isolcpus",
                hot,
                format!("isolcpus=managed_irq,domain,{hot}"),
            ));
            out.push(covering(
                cmdline,
                "cmdline.nohz_full",
                "nohz_full",
                hot,
                format!("nohz_full={hot}"),
            ));
            out.push(rcu_nocbs(cmdline, hot));
            out.push(irqaffinity(cmdline, hot, hk));
            out.push(exact(cmdline, "cmdline.skew_tick", "skew_tick", "1"));
            out.push(exact(cmdline, "cmdline.tsc", "tsc", "reliable"));
        }
        Err(e) => {
            for (id, wanted) in [
                (
                    "cmdline.isolcpus",
                    format!("isolcpus=managed_irq,domain,{hot}"),
                ),
                ("cmdline.nohz_full", format!("nohz_full={hot}")),
                ("cmdline.rcu_nocbs", format!("rcu_nocbs={hot}")),
                ("cmdline.irqaffinity", format!("irqaffinity={hk}")),
                ("cmdline.skew_tick", "skew_tick=1".to_string()),
                ("cmdline.tsc", "tsc=reliable".to_string()),
            ] {
                out.push(Finding::unknown(id, e, wanted));
            }
        }
    }
    out.push(sysfs_set(
        ctx,
        "cpu.isolated",
        "isolated",
        format!("isolcpus=managed_irq,domain,{hot}"),
    ));
    out.push(sysfs_set(
        ctx,
        "cpu.nohz_full",
        "nohz_full",
        format!("nohz_full={hot}"),
    ));
}

/// A CPU-list parameter that must contain every hot core; anything else fails.
fn covering(
    cmdline: &KernelCmdline,
    id: &'static str,
    name: &str,
    hot: &CpuSet,
    param: String,
) -> Finding {
    let wanted = format!("{name} contains {hot} ({param})");
    let fix = format!("add kernel parameter `{param}` ({KERNEL_PARAM_FIX})");
    match cmdline.cpu_list(name) {
        None => Finding::new(id, Verdict::Fail, "absent", wanted, fix),
        Some(Err(raw)) => Finding::new(
            id,
            Verdict::Fail,
            format!("{name}={raw} (not a CPU list kspin can read)"),
            wanted,
            fix,
        ),
        Some(Ok(set)) => {
            let missing = hot.difference(&set);
            if missing.is_empty() {
                Finding::new(id, Verdict::Ok, format!("{name}={set}"), wanted, "")
            } else {
                Finding::new(
                    id,
                    Verdict::Fail,
                    format!("{name}={set} (misses {missing})"),
                    wanted,
                    fix,
                )
            }
        }
    }
}

/// `rcu_nocbs`: wanted on the hot cores; `nohz_full` CPUs are offloaded implicitly, so an absent
/// parameter is fine when `nohz_full` covers them (kernel-parameters.txt, `nohz_full`).
fn rcu_nocbs(cmdline: &KernelCmdline, hot: &CpuSet) -> Finding {
    const ID: &str = "cmdline.rcu_nocbs";
    let wanted = format!("rcu_nocbs contains {hot} (or nohz_full does)");
    let fix = format!("add kernel parameter `rcu_nocbs={hot}` ({KERNEL_PARAM_FIX})");
    let nohz_covers = matches!(cmdline.cpu_list("nohz_full"), Some(Ok(s)) if hot.is_subset(&s));
    match cmdline.cpu_list("rcu_nocbs") {
        Some(Ok(set)) if hot.is_subset(&set) => {
            Finding::new(ID, Verdict::Ok, format!("rcu_nocbs={set}"), wanted, "")
        }
        None if nohz_covers => {
            Finding::new(ID, Verdict::Ok, "absent (implied by nohz_full)", wanted, "")
        }
        None => Finding::new(ID, Verdict::Warn, "absent", wanted, fix),
        Some(Ok(set)) if nohz_covers => Finding::new(
            ID,
            Verdict::Ok,
            format!("rcu_nocbs={set} (hot cores implied by nohz_full)"),
            wanted,
            "",
        ),
        Some(Ok(set)) => Finding::new(
            ID,
            Verdict::Warn,
            format!("rcu_nocbs={set} (misses {})", hot.difference(&set)),
            wanted,
            fix,
        ),
        Some(Err(raw)) => Finding::new(
            ID,
            Verdict::Warn,
            format!("rcu_nocbs={raw} (not a CPU list kspin can read)"),
            wanted,
            fix,
        ),
    }
}

/// `irqaffinity`: the default IRQ affinity at boot must avoid the hot cores.
fn irqaffinity(cmdline: &KernelCmdline, hot: &CpuSet, hk: &CpuSet) -> Finding {
    const ID: &str = "cmdline.irqaffinity";
    let wanted = format!("irqaffinity={hk} (no hot core)");
    let fix = format!("add kernel parameter `irqaffinity={hk}` ({KERNEL_PARAM_FIX})");
    match cmdline.cpu_list("irqaffinity") {
        None => Finding::new(ID, Verdict::Warn, "absent", wanted, fix),
        Some(Err(raw)) => Finding::new(
            ID,
            Verdict::Warn,
            format!("irqaffinity={raw} (not a CPU list kspin can read)"),
            wanted,
            fix,
        ),
        Some(Ok(set)) => {
            let bad = set.intersection(hot);
            if set.is_empty() {
                Finding::new(ID, Verdict::Warn, "irqaffinity= (empty)", wanted, fix)
            } else if bad.is_empty() {
                Finding::new(ID, Verdict::Ok, format!("irqaffinity={set}"), wanted, "")
            } else {
                Finding::new(
                    ID,
                    Verdict::Fail,
                    format!("irqaffinity={set} (includes hot {bad})"),
                    wanted,
                    fix,
                )
            }
        }
    }
}

/// A parameter wanted with an exact value; anything else warns.
fn exact(cmdline: &KernelCmdline, id: &'static str, name: &str, value: &str) -> Finding {
    let wanted = format!("{name}={value}");
    let fix = format!("add kernel parameter `{name}={value}` ({KERNEL_PARAM_FIX})");
    match cmdline.get(name) {
        Some(Some(v)) if v == value => Finding::new(id, Verdict::Ok, wanted.clone(), wanted, ""),
        Some(Some(v)) => Finding::new(id, Verdict::Warn, format!("{name}={v}"), wanted, fix),
        Some(None) => Finding::new(id, Verdict::Warn, format!("{name} (no value)"), wanted, fix),
        None => Finding::new(id, Verdict::Warn, "absent", wanted, fix),
    }
}

/// A CPU set the running kernel exposes in sysfs, which must contain every hot core.
fn sysfs_set(ctx: &Ctx<'_>, id: &'static str, file: &str, param: String) -> Finding {
    let hot = &ctx.hot;
    let rel = format!("{CPU_DIR}/{file}");
    let wanted = format!("{rel} contains {hot}");
    let fix = format!("boot with `{param}` ({KERNEL_PARAM_FIX})");
    let text = match ctx.fs.read_trimmed(&rel) {
        Ok(t) => t,
        Err(e) if e.is_missing() && file == "nohz_full" => {
            return Finding::new(
                id,
                Verdict::Unknown,
                format!("{rel} missing (kernel without CONFIG_NO_HZ_FULL?)"),
                wanted,
                "use a kernel built with CONFIG_NO_HZ_FULL=y",
            )
        }
        Err(e) => return Finding::unknown(id, &e, wanted),
    };
    // Kernels print "(null)" here when the mask was never allocated (nohz_full not in use).
    let parsed = if text == "(null)" {
        Ok(CpuSet::new())
    } else {
        CpuSet::parse_list(&text)
    };
    match parsed {
        Ok(set) if hot.is_subset(&set) => {
            Finding::new(id, Verdict::Ok, format!("{file} = {set}"), wanted, "")
        }
        Ok(set) => Finding::new(
            id,
            Verdict::Fail,
            format!("{file} = {set} (misses {})", hot.difference(&set)),
            wanted,
            fix,
        ),
        Err(_) => Finding::unknown(id, &ctx.fs.malformed(&rel, &text), wanted),
    }
}
