//! Sysctl items: busy polling of sockets, NUMA balancing, timer migration, the NMI watchdog,
//! vmstat interval, swappiness and real-time throttling. Reads `/proc/sys` only.

use super::{Ctx, Finding, Verdict};

/// One sysctl and the values kspin wants.
struct Knob {
    id: &'static str,
    /// Dotted sysctl name.
    name: &'static str,
    ok: fn(i64) -> bool,
    /// Wanted value, as set by the fix.
    want: &'static str,
    why: &'static str,
}

/// The knobs. Wanted values follow tuned's `network-latency` / `realtime` profiles (busy_read and
/// busy_poll 50, numa_balancing 0, timer_migration 0, nmi_watchdog 0, stat_interval 10) and
/// Documentation/scheduler/sched-rt-group.rst (sched_rt_runtime_us -1 disables throttling).
const KNOBS: [Knob; 8] = [
    Knob {
        id: "sysctl.net.core.busy_read",
        name: "net.core.busy_read",
        ok: |v| v > 0,
        want: "50",
        why: "socket reads poll the NIC queue instead of waiting for its interrupt",
    },
    Knob {
        id: "sysctl.net.core.busy_poll",
        name: "net.core.busy_poll",
        ok: |v| v > 0,
        want: "50",
        why: "poll/select busy-poll the NIC queue",
    },
    Knob {
        id: "sysctl.kernel.numa_balancing",
        name: "kernel.numa_balancing",
        ok: |v| v == 0,
        want: "0",
        why: "NUMA balancing unmaps pages to sample access, causing minor faults on the hot path",
    },
    Knob {
        id: "sysctl.kernel.timer_migration",
        name: "kernel.timer_migration",
        ok: |v| v == 0,
        want: "0",
        why: "timers stay on the CPU that armed them instead of migrating onto busy cores",
    },
    Knob {
        id: "sysctl.kernel.nmi_watchdog",
        name: "kernel.nmi_watchdog",
        ok: |v| v == 0,
        want: "0",
        why: "the watchdog's perf NMI interrupts every core periodically",
    },
    Knob {
        id: "sysctl.vm.stat_interval",
        name: "vm.stat_interval",
        ok: |v| v >= 10,
        want: "10",
        why: "vmstat work runs on every core once per interval",
    },
    Knob {
        id: "sysctl.vm.swappiness",
        name: "vm.swappiness",
        ok: |v| v <= 10,
        want: "10",
        why: "keeps anonymous memory resident (locked memory is never swapped anyway)",
    },
    Knob {
        id: "sysctl.kernel.sched_rt_runtime_us",
        name: "kernel.sched_rt_runtime_us",
        ok: |v| v == -1,
        want: "-1",
        why: "with throttling a busy-polling SCHED_FIFO thread is stopped for the rest of each period; kspin refuses FIFO priority until this is -1",
    },
];

pub(crate) fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    for knob in &KNOBS {
        let rel = format!("/proc/sys/{}", knob.name.replace('.', "/"));
        let wanted = format!("{} = {} ({})", knob.name, knob.want, knob.why);
        let finding = match ctx.fs.read_int(&rel) {
            Err(e) => Finding::unknown(knob.id, &e, wanted),
            Ok(v) if (knob.ok)(v) => Finding::new(
                knob.id,
                Verdict::Ok,
                format!("{} = {v}", knob.name),
                wanted,
                "",
            ),
            Ok(v) => Finding::new(
                knob.id,
                Verdict::Warn,
                format!("{} = {v}", knob.name),
                wanted,
                format!(
                    "sysctl -w {}={} (persist in /etc/sysctl.d/90-kspin.conf)",
                    knob.name, knob.want
                ),
            ),
        };
        out.push(finding);
    }
}
