//! IRQ items: the affinity of every IRQ (`/proc/irq/N/`), the default affinity for new IRQs,
//! whether irqbalance is running, and (optionally) whether interrupt counts rise on the hot
//! cores over a short sample of `/proc/interrupts`. Reads only; the sample sleeps the caller.

use super::{join_limited, Ctx, Finding, Verdict};
use crate::cpuset::CpuSet;
use crate::host::HostError;

/// Files in `/proc/irq/N/` (Documentation/core-api/irq/irq-affinity.rst); any other entry is a
/// directory named after the IRQ's handler.
const IRQ_DIR_FILES: [&str; 7] = [
    "affinity_hint",
    "effective_affinity",
    "effective_affinity_list",
    "node",
    "smp_affinity",
    "smp_affinity_list",
    "spurious",
];

pub(crate) fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    out.push(affinity(ctx));
    out.push(default_affinity(ctx));
    out.push(irqbalance(ctx));
    if let Some(sample) = ctx.input.irq_sample {
        out.push(counts(ctx, sample));
    }
}

fn steer_fix(hk: &CpuSet) -> String {
    format!("tuning/scripts/steer-irqs.sh --housekeeping {hk} --apply (writes /proc/irq/N/smp_affinity_list)")
}

fn affinity(ctx: &Ctx<'_>) -> Finding {
    const ID: &str = "irq.affinity";
    let (hot, hk) = (&ctx.hot, &ctx.housekeeping);
    let wanted = format!("every IRQ on housekeeping cores {hk}, none on {hot}");
    let irqs = match ctx.fs.list_dir("/proc/irq") {
        Ok(names) => names,
        Err(e) => return Finding::unknown(ID, &e, wanted),
    };
    let mut firing = Vec::new();
    let mut allowed = Vec::new();
    let mut checked = 0usize;
    for irq in irqs
        .iter()
        .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
    {
        let dir = format!("/proc/irq/{irq}");
        let Ok(smp) = ctx.fs.read_cpu_list(&format!("{dir}/smp_affinity_list")) else {
            continue;
        };
        checked += 1;
        let effective = ctx
            .fs
            .read_cpu_list(&format!("{dir}/effective_affinity_list"))
            .ok();
        let name = ctx
            .fs
            .list_dir(&dir)
            .ok()
            .and_then(|entries| {
                entries
                    .into_iter()
                    .find(|e| !IRQ_DIR_FILES.contains(&e.as_str()))
            })
            .map(|n| format!(" {n}"))
            .unwrap_or_default();
        match effective {
            Some(eff) if !eff.intersection(hot).is_empty() => {
                firing.push(format!(
                    "IRQ {irq}{name} fires on {}",
                    eff.intersection(hot)
                ));
            }
            None if !smp.intersection(hot).is_empty() => {
                firing.push(format!("IRQ {irq}{name} -> {smp}"));
            }
            _ if !smp.intersection(hot).is_empty() => {
                allowed.push(format!(
                    "IRQ {irq}{name} may move to {}",
                    smp.intersection(hot)
                ));
            }
            _ => {}
        }
    }
    if !firing.is_empty() {
        Finding::new(
            ID,
            Verdict::Fail,
            format!(
                "{} of {checked} IRQs on hot cores: {}",
                firing.len(),
                join_limited(&firing, 6)
            ),
            wanted,
            steer_fix(hk),
        )
    } else if !allowed.is_empty() {
        Finding::new(
            ID,
            Verdict::Warn,
            format!(
                "{} of {checked} IRQs allowed on hot cores: {}",
                allowed.len(),
                join_limited(&allowed, 6)
            ),
            wanted,
            steer_fix(hk),
        )
    } else {
        Finding::new(
            ID,
            Verdict::Ok,
            format!("{checked} IRQs, none on {hot}"),
            wanted,
            "",
        )
    }
}

fn default_affinity(ctx: &Ctx<'_>) -> Finding {
    const ID: &str = "irq.default_affinity";
    let (hot, hk) = (&ctx.hot, &ctx.housekeeping);
    let wanted = format!("default_smp_affinity = {hk} (mask {})", hk.to_mask());
    match ctx.fs.read_cpu_mask("/proc/irq/default_smp_affinity") {
        Err(e) => Finding::unknown(ID, &e, wanted),
        Ok(set) if set.intersection(hot).is_empty() => Finding::new(
            ID,
            Verdict::Ok,
            format!("default_smp_affinity = {set}"),
            wanted,
            "",
        ),
        Ok(set) => Finding::new(
            ID,
            Verdict::Warn,
            format!(
                "default_smp_affinity = {set} (includes hot {})",
                set.intersection(hot)
            ),
            wanted,
            format!(
                "echo {} > /proc/irq/default_smp_affinity (or kernel parameter irqaffinity={hk})",
                hk.to_mask()
            ),
        ),
    }
}

fn irqbalance(ctx: &Ctx<'_>) -> Finding {
    const ID: &str = "irq.irqbalance";
    let hot = &ctx.hot;
    let wanted = "not running (it rewrites IRQ affinities)";
    let pids = match ctx.fs.list_dir("/proc") {
        Ok(names) => names,
        Err(e) => return Finding::unknown(ID, &e, wanted),
    };
    let running: Vec<&String> = pids
        .iter()
        .filter(|p| p.bytes().all(|b| b.is_ascii_digit()))
        .filter(|p| {
            ctx.fs
                .read_trimmed(&format!("/proc/{p}/comm"))
                .is_ok_and(|c| c == "irqbalance")
        })
        .collect();
    match running.first() {
        None => Finding::new(ID, Verdict::Ok, "not running", wanted, ""),
        Some(pid) => Finding::new(
            ID,
            Verdict::Warn,
            format!("running (pid {pid})"),
            wanted,
            format!(
                "systemctl disable --now irqbalance, or set IRQBALANCE_BANNED_CPULIST={hot} in /etc/default/irqbalance"
            ),
        ),
    }
}

fn counts(ctx: &Ctx<'_>, sample: std::time::Duration) -> Finding {
    const ID: &str = "irq.counts";
    let hot = &ctx.hot;
    let wanted = format!(
        "no interrupt on {hot} during a {} ms sample",
        sample.as_millis()
    );
    let read = || -> Result<InterruptTable, HostError> {
        let text = ctx.fs.read("/proc/interrupts")?;
        parse_interrupts(&text).ok_or_else(|| ctx.fs.malformed("/proc/interrupts", &text))
    };
    let before = match read() {
        Ok(t) => t,
        Err(e) => return Finding::unknown(ID, &e, wanted),
    };
    std::thread::sleep(sample);
    let after = match read() {
        Ok(t) => t,
        Err(e) => return Finding::unknown(ID, &e, wanted),
    };
    let rises = interrupt_rises(&before, &after, hot);
    if rises.is_empty() {
        return Finding::new(
            ID,
            Verdict::Ok,
            format!("no rise on {hot} over {} ms", sample.as_millis()),
            wanted,
            "",
        );
    }
    let device = rises.iter().any(|r| r.is_device());
    let text: Vec<String> = rises
        .iter()
        .map(|r| format!("{} {} +{} on cpu {}", r.name, r.description, r.delta, r.cpu))
        .collect();
    Finding::new(
        ID,
        if device { Verdict::Fail } else { Verdict::Warn },
        join_limited(&text, 6),
        wanted,
        format!(
            "device IRQs: {}; LOC (tick): nohz_full={hot}; RES/CAL/TLB: keep other threads off {hot} (isolcpus)",
            steer_fix(&ctx.housekeeping)
        ),
    )
}

/// A parsed `/proc/interrupts`: the CPU of each column, and one row per interrupt source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterruptTable {
    /// CPU number of each count column (offline CPUs have no column).
    pub cpus: Vec<usize>,
    /// `(name, per-column counts, description)`; global counters (`ERR`, `MIS`) have one count.
    pub rows: Vec<(String, Vec<u64>, String)>,
}

/// Parses `/proc/interrupts`; `None` if the header has no `CPUn` columns.
pub fn parse_interrupts(text: &str) -> Option<InterruptTable> {
    let mut lines = text.lines();
    let cpus: Vec<usize> = lines
        .next()?
        .split_whitespace()
        .map(|w| w.strip_prefix("CPU").and_then(|n| n.parse().ok()))
        .collect::<Option<Vec<_>>>()?;
    if cpus.is_empty() {
        return None;
    }
    let mut rows = Vec::new();
    for line in lines {
        let Some((name, rest)) = line.split_once(':') else {
            continue;
        };
        let mut words = rest.split_whitespace().peekable();
        let mut counts = Vec::with_capacity(cpus.len());
        while counts.len() < cpus.len() {
            match words.peek().and_then(|w| w.parse::<u64>().ok()) {
                Some(n) => {
                    counts.push(n);
                    words.next();
                }
                None => break,
            }
        }
        let description = words.collect::<Vec<_>>().join(" ");
        rows.push((name.trim().to_string(), counts, description));
    }
    Some(InterruptTable { cpus, rows })
}

/// An interrupt source whose count rose on a hot CPU between two samples.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterruptRise {
    /// Row name (`36`, `LOC`, `RES`).
    pub name: String,
    /// Row description (`PCI-MSIX-0000:00:02.0 1-edge virtio1-req.0`, `Local timer interrupts`).
    pub description: String,
    /// The CPU it rose on.
    pub cpu: usize,
    /// By how much.
    pub delta: u64,
}

impl InterruptRise {
    /// Whether this is a device IRQ (numbered row), as opposed to a per-CPU architecture
    /// interrupt such as `LOC` or `RES`.
    pub fn is_device(&self) -> bool {
        self.name.bytes().all(|b| b.is_ascii_digit())
    }
}

/// Rows whose count rose on a CPU of `hot` from `before` to `after`.
pub fn interrupt_rises(
    before: &InterruptTable,
    after: &InterruptTable,
    hot: &CpuSet,
) -> Vec<InterruptRise> {
    let mut rises = Vec::new();
    for (name, counts, description) in &after.rows {
        if counts.len() < after.cpus.len() {
            continue; // a global counter (ERR, MIS), not per CPU
        }
        let old = before.rows.iter().find(|(n, _, _)| n == name);
        for (col, &count) in counts.iter().enumerate() {
            let Some(&cpu) = after.cpus.get(col) else {
                continue;
            };
            if !hot.contains(cpu) {
                continue;
            }
            let old_count = old
                .and_then(|(_, c, _)| {
                    let old_col = before.cpus.iter().position(|&x| x == cpu)?;
                    c.get(old_col).copied()
                })
                .unwrap_or(0);
            if count > old_count {
                rises.push(InterruptRise {
                    name: name.clone(),
                    description: description.clone(),
                    cpu,
                    delta: count - old_count,
                });
            }
        }
    }
    rises
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEFORE: &str = "           CPU0       CPU1       
 36:          0      13413 PCI-MSIX-0000:00:02.0   1-edge      virtio1-req.0
 38:          0       1928 PCI-MSIX-0000:00:03.0   1-edge      virtio2-input.0
LOC:      58539      64055   Local timer interrupts
ERR:          0
";
    const AFTER: &str = "           CPU0       CPU1       
 36:          0      13420 PCI-MSIX-0000:00:02.0   1-edge      virtio1-req.0
 38:          5       1928 PCI-MSIX-0000:00:03.0   1-edge      virtio2-input.0
LOC:      58600      64056   Local timer interrupts
ERR:          3
";

    #[test]
    fn parses_proc_interrupts() {
        let t = parse_interrupts(BEFORE).unwrap();
        assert_eq!(t.cpus, vec![0, 1]);
        assert_eq!(t.rows.len(), 4);
        assert_eq!(t.rows[0].0, "36");
        assert_eq!(t.rows[0].1, vec![0, 13413]);
        assert_eq!(t.rows[0].2, "PCI-MSIX-0000:00:02.0 1-edge virtio1-req.0");
        assert_eq!(t.rows[3], ("ERR".to_string(), vec![0], String::new()));
        assert!(parse_interrupts("garbage\n1: 2").is_none());
        assert!(parse_interrupts("").is_none());
    }

    #[test]
    fn finds_rises_on_hot_cpus_only() {
        let before = parse_interrupts(BEFORE).unwrap();
        let after = parse_interrupts(AFTER).unwrap();
        let rises = interrupt_rises(&before, &after, &CpuSet::from_cpus([1]));
        let summary: Vec<(String, usize, u64, bool)> = rises
            .iter()
            .map(|r| (r.name.clone(), r.cpu, r.delta, r.is_device()))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("36".to_string(), 1, 7, true),
                ("LOC".to_string(), 1, 1, false)
            ]
        );
        let on_cpu0 = interrupt_rises(&before, &after, &CpuSet::from_cpus([0]));
        assert_eq!(on_cpu0.len(), 2); // 38 and LOC; ERR is global, not per CPU
        assert!(interrupt_rises(&before, &before, &CpuSet::from_cpus([0, 1])).is_empty());
    }
}
