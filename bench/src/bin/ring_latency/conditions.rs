//! Run conditions printed with every result (cores, pinning, real-time priority, clock source,
//! load) and the per-thread set-up helpers that produce them. Never changes system settings
//! beyond the calling thread's own affinity and (when asked) its scheduling class.

use serde_json::{json, Value};
use std::fs;

/// What the machine looked like when the benchmark ran.
#[derive(Debug, Clone)]
pub struct RunConditions {
    /// Logical CPUs this process may use.
    pub cores: usize,
    /// CPU model from /proc/cpuinfo.
    pub cpu_model: String,
    /// Whether /proc/cpuinfo lists both `constant_tsc` and `nonstop_tsc` (TSC usable as a shared
    /// cross-core clock).
    pub invariant_tsc: bool,
    /// /sys/devices/system/clocksource/clocksource0/current_clocksource.
    pub clocksource: String,
    /// quanta raw ticks per nanosecond, measured over ~20 ms (≈1.0 means quanta fell back to
    /// the OS monotonic clock; otherwise it reads the TSC).
    pub quanta_ticks_per_ns: f64,
    /// /proc/loadavg (1, 5, 15 minutes) at start.
    pub load_average: String,
    /// Kernel release.
    pub kernel: String,
}

fn read_trimmed(path: &str) -> String {
    fs::read_to_string(path)
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|e| format!("unavailable ({e})"))
}

impl RunConditions {
    /// Reads the conditions now.
    pub fn gather(clock: &quanta::Clock) -> Self {
        let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split(':').nth(1))
            .map(|s| s.trim().to_owned())
            .unwrap_or_else(|| "unknown".to_owned());
        let flags = cpuinfo
            .lines()
            .find(|l| l.starts_with("flags"))
            .unwrap_or("");
        let has = |flag: &str| flags.split_whitespace().any(|f| f == flag);
        let load = read_trimmed("/proc/loadavg");
        Self {
            cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
            cpu_model,
            invariant_tsc: has("constant_tsc") && has("nonstop_tsc"),
            clocksource: read_trimmed(
                "/sys/devices/system/clocksource/clocksource0/current_clocksource",
            ),
            quanta_ticks_per_ns: quanta_ticks_per_ns(clock),
            load_average: load
                .split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" "),
            kernel: read_trimmed("/proc/sys/kernel/osrelease"),
        }
    }

    /// As a JSON object.
    pub fn to_json(&self) -> Value {
        json!({
            "cores": self.cores,
            "cpu_model": self.cpu_model,
            "invariant_tsc": self.invariant_tsc,
            "clocksource": self.clocksource,
            "quanta_ticks_per_ns": self.quanta_ticks_per_ns,
            "load_average": self.load_average,
            "kernel": self.kernel,
        })
    }
}

fn quanta_ticks_per_ns(clock: &quanta::Clock) -> f64 {
    let raw_start = clock.raw();
    let wall_start = std::time::Instant::now();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let raw = clock.raw().wrapping_sub(raw_start) as f64;
    let wall = wall_start.elapsed().as_nanos() as f64;
    raw / wall
}

/// How one benchmark thread was set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreadSetup {
    /// The core asked for.
    pub core: usize,
    /// Whether `sched_setaffinity` to that core succeeded.
    pub pinned: bool,
    /// `None` when real-time priority was not asked for; `Some(Ok)` when SCHED_FIFO was set;
    /// `Some(Err(errno))` when it failed.
    pub realtime: Option<Result<(), i32>>,
}

/// SCHED_FIFO priority used with `--rt`: low in the 1..=99 range, above every SCHED_OTHER task,
/// below kernel threads that run at 50 and above (the usual threaded-IRQ priority on Linux).
const RT_PRIORITY: i32 = 10;

/// Pins the calling thread to `core` and, if `realtime`, moves it to SCHED_FIFO.
pub fn set_up_thread(core: usize, realtime: bool) -> ThreadSetup {
    let pinned = core_affinity::set_for_current(core_affinity::CoreId { id: core });
    let realtime = realtime.then(|| {
        let param = libc::sched_param {
            sched_priority: RT_PRIORITY,
        };
        // SAFETY: `param` is a valid sched_param that outlives the call; pid 0 is this thread.
        let rc = unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) };
        if rc == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(-1))
        }
    });
    ThreadSetup {
        core,
        pinned,
        realtime,
    }
}

impl ThreadSetup {
    /// Short description, e.g. `core 1 pinned, rt off`.
    pub fn describe(&self) -> String {
        let rt = match self.realtime {
            None => "rt off".to_owned(),
            Some(Ok(())) => format!("SCHED_FIFO {RT_PRIORITY}"),
            Some(Err(errno)) => format!("SCHED_FIFO failed (errno {errno})"),
        };
        let pin = if self.pinned { "pinned" } else { "NOT pinned" };
        format!("core {} {pin}, {rt}", self.core)
    }
}

/// CPU time counters, to tell how busy *other* processes kept the machine during a round (a
/// shared VM: other builds steal the cores we measure on).
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuSample {
    /// All CPUs: user+nice+system+irq+softirq jiffies.
    busy: u64,
    /// All CPUs: hypervisor steal jiffies.
    steal: u64,
    /// All CPUs: every jiffy counted (the sum of the first eight fields).
    total: u64,
    /// This process: utime+stime jiffies.
    own: u64,
}

impl CpuSample {
    /// Reads /proc/stat and /proc/self/stat (zeros where unavailable).
    pub fn now() -> Self {
        let stat = fs::read_to_string("/proc/stat").unwrap_or_default();
        let fields: Vec<u64> = stat
            .lines()
            .next()
            .unwrap_or("")
            .split_whitespace()
            .skip(1)
            .take(8)
            .map(|f| f.parse().unwrap_or(0))
            .collect();
        let field = |i: usize| fields.get(i).copied().unwrap_or(0);
        let own_stat = fs::read_to_string("/proc/self/stat").unwrap_or_default();
        // Fields after the ")" closing the command name: state is field 3, utime 14, stime 15.
        let after_name = own_stat.rsplit(')').next().unwrap_or("");
        let own_fields: Vec<u64> = after_name
            .split_whitespace()
            .map(|f| f.parse().unwrap_or(0))
            .collect();
        let own_field = |i: usize| own_fields.get(i).copied().unwrap_or(0);
        Self {
            busy: field(0) + field(1) + field(2) + field(5) + field(6),
            steal: field(7),
            total: fields.iter().sum(),
            own: own_field(11) + own_field(12),
        }
    }

    /// (CPU used by other processes, CPU stolen by the hypervisor) between `self` and `later`,
    /// as percentages of all CPUs.
    pub fn foreign_and_steal_percent(&self, later: &CpuSample) -> (f64, f64) {
        let total = later.total.saturating_sub(self.total).max(1) as f64;
        let busy = later.busy.saturating_sub(self.busy);
        let own = later.own.saturating_sub(self.own);
        let foreign = busy.saturating_sub(own) as f64;
        let steal = later.steal.saturating_sub(self.steal) as f64;
        (100.0 * foreign / total, 100.0 * steal / total)
    }
}
