//! Memory items: transparent huge pages, hugepage reservations, and whether this process may
//! lock its memory (`ulimit -l` / `CAP_IPC_LOCK`) for `mlockall`. Reads only.

use super::{Ctx, Finding, Verdict};

/// Bit of `CAP_IPC_LOCK` in the capability sets (include/uapi/linux/capability.h).
pub const CAP_IPC_LOCK_BIT: u32 = 14;

pub(crate) fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    out.push(thp(ctx));
    out.push(hugepages(ctx));
    out.push(memlock(ctx));
}

/// The bracketed choice of a sysfs selector such as `always [madvise] never`.
fn selected(text: &str) -> Option<&str> {
    let start = text.find('[')? + 1;
    let end = text[start..].find(']')? + start;
    Some(&text[start..end])
}

fn thp(ctx: &Ctx<'_>) -> Finding {
    const ID: &str = "mm.thp";
    const DIR: &str = "/sys/kernel/mm/transparent_hugepage";
    let wanted = "enabled = madvise or never, defrag not always (khugepaged and direct compaction stall the faulting thread)";
    let fix = format!("echo madvise > {DIR}/enabled; echo madvise > {DIR}/defrag (or kernel parameter transparent_hugepage=madvise)");
    let read = |f: &str| {
        let rel = format!("{DIR}/{f}");
        let text = ctx.fs.read_trimmed(&rel)?;
        selected(&text)
            .map(str::to_string)
            .ok_or_else(|| ctx.fs.malformed(&rel, &text))
    };
    let (enabled, defrag) = match (read("enabled"), read("defrag")) {
        (Ok(e), Ok(d)) => (e, d),
        (Err(e), _) | (_, Err(e)) => return Finding::unknown(ID, &e, wanted),
    };
    let found = format!("enabled = {enabled}, defrag = {defrag}");
    if enabled == "always" || defrag == "always" {
        Finding::new(ID, Verdict::Warn, found, wanted, fix)
    } else {
        Finding::new(ID, Verdict::Ok, found, wanted, "")
    }
}

fn hugepages(ctx: &Ctx<'_>) -> Finding {
    const ID: &str = "mm.hugepages";
    let wanted = "informational: kspin's arenas use normal pages, locked and pre-faulted; reserve hugepages only for other tenants";
    let meminfo = match ctx.fs.read("/proc/meminfo") {
        Ok(m) => m,
        Err(e) => return Finding::unknown(ID, &e, wanted),
    };
    let field = |name: &str| {
        meminfo
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .map(|v| v.trim().to_string())
    };
    match (
        field("HugePages_Total"),
        field("HugePages_Free"),
        field("Hugepagesize"),
    ) {
        (Some(total), Some(free), Some(size)) => Finding::new(
            ID,
            Verdict::Ok,
            format!("{total} reserved, {free} free ({size} pages)"),
            wanted,
            "",
        ),
        _ => Finding::unknown(
            ID,
            &ctx.fs
                .malformed("/proc/meminfo", "no HugePages_Total/Free/Hugepagesize"),
            wanted,
        ),
    }
}

fn memlock(ctx: &Ctx<'_>) -> Finding {
    const ID: &str = "mem.memlock";
    let wanted =
        "Max locked memory unlimited (or CAP_IPC_LOCK), so mlockall can lock the whole engine";
    let fix = "LimitMEMLOCK=infinity in the systemd unit (tuning/systemd/kspin.service), or `ulimit -l unlimited`, or `kspin - memlock unlimited` in /etc/security/limits.conf";
    let limits = match ctx.fs.read("/proc/self/limits") {
        Ok(l) => l,
        Err(e) => return Finding::unknown(ID, &e, wanted),
    };
    let Some(soft) = limits
        .lines()
        .find_map(|l| l.strip_prefix("Max locked memory"))
        .and_then(|rest| rest.split_whitespace().next())
        .map(str::to_string)
    else {
        return Finding::unknown(
            ID,
            &ctx.fs
                .malformed("/proc/self/limits", "no Max locked memory line"),
            wanted,
        );
    };
    if soft == "unlimited" {
        return Finding::new(ID, Verdict::Ok, "unlimited", wanted, "");
    }
    let shown = soft
        .parse::<u64>()
        .map(|b| format!("{} KiB", b / 1024))
        .unwrap_or(soft);
    let has_ipc_lock = ctx
        .fs
        .read("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("CapEff:"))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        })
        .is_some_and(|caps| caps & (1 << CAP_IPC_LOCK_BIT) != 0);
    if has_ipc_lock {
        Finding::new(
            ID,
            Verdict::Ok,
            format!("{shown}, but CAP_IPC_LOCK lifts the limit"),
            wanted,
            "",
        )
    } else {
        Finding::new(ID, Verdict::Warn, shown, wanted, fix)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn selected_reads_the_bracketed_choice() {
        assert_eq!(super::selected("always [madvise] never"), Some("madvise"));
        assert_eq!(super::selected("[always] madvise never"), Some("always"));
        assert_eq!(super::selected("always madvise"), None);
    }
}
