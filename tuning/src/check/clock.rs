//! Clock items: the current clocksource and the TSC invariance flags (`constant_tsc`,
//! `nonstop_tsc`) that kspin's TSC timestamps rely on. Reads only.

use super::{Ctx, Finding, Verdict};

const CLOCKSOURCE_DIR: &str = "/sys/devices/system/clocksource/clocksource0";

pub(crate) fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    out.push(clocksource(ctx));
    out.push(tsc_flags(ctx));
}

fn clocksource(ctx: &Ctx<'_>) -> Finding {
    const ID: &str = "clock.source";
    let wanted = "tsc (arch_sys_counter on arm64): read in user space by the vDSO, no syscall";
    let current = match ctx
        .fs
        .read_trimmed(&format!("{CLOCKSOURCE_DIR}/current_clocksource"))
    {
        Ok(c) => c,
        Err(e) => return Finding::unknown(ID, &e, wanted),
    };
    let available = ctx
        .fs
        .read_trimmed(&format!("{CLOCKSOURCE_DIR}/available_clocksource"))
        .unwrap_or_default();
    let found = format!("{current} (available: {available})");
    let fix = format!(
        "echo tsc > {CLOCKSOURCE_DIR}/current_clocksource; kernel parameters `clocksource=tsc tsc=reliable`"
    );
    match current.as_str() {
        "tsc" | "arch_sys_counter" => Finding::new(ID, Verdict::Ok, found, wanted, ""),
        // Paravirtual clocks are vDSO-readable but slower and scaled by the hypervisor.
        "kvm-clock" | "hyperv_clocksource_tsc_page" | "xen" => {
            Finding::new(ID, Verdict::Warn, found, wanted, fix)
        }
        // hpet, acpi_pm, jiffies: every clock_gettime is a syscall or slow MMIO read.
        _ => Finding::new(ID, Verdict::Fail, found, wanted, fix),
    }
}

fn tsc_flags(ctx: &Ctx<'_>) -> Finding {
    const ID: &str = "clock.tsc_flags";
    let wanted = "constant_tsc and nonstop_tsc (invariant TSC: fixed rate, runs in deep C-states)";
    let cpuinfo = match ctx.fs.read("/proc/cpuinfo") {
        Ok(c) => c,
        Err(e) => return Finding::unknown(ID, &e, wanted),
    };
    let Some(flags) = cpuinfo.lines().find_map(|l| {
        let (key, value) = l.split_once(':')?;
        (key.trim() == "flags").then_some(value)
    }) else {
        return Finding::new(
            ID,
            Verdict::Unknown,
            "no x86 flags line in /proc/cpuinfo",
            wanted,
            "",
        );
    };
    let flags: Vec<&str> = flags.split_whitespace().collect();
    let has = |f: &str| flags.contains(&f);
    let shown: Vec<&str> = ["constant_tsc", "nonstop_tsc", "tsc_known_freq"]
        .into_iter()
        .filter(|f| has(f))
        .collect();
    let found = if shown.is_empty() {
        "none of constant_tsc, nonstop_tsc".to_string()
    } else {
        shown.join(" ")
    };
    if has("constant_tsc") && has("nonstop_tsc") {
        Finding::new(ID, Verdict::Ok, found, wanted, "")
    } else {
        Finding::new(
            ID,
            Verdict::Fail,
            found,
            wanted,
            "no software fix: use a CPU with invariant TSC; on a VM expose it (KVM: -cpu host,+invtsc)",
        )
    }
}
