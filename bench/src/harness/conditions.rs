//! The run conditions printed with every benchmark: cores, pinning, real-time priority and
//! whether it is usable, load average, clock source and TSC flags.
//!
//! Reads `/proc` and `/sys` only; never changes a system setting (pinning and priority of the
//! benchmark's own threads are done by the phases, which report the outcome here).

use serde_json::{json, Value};

/// What the machine looked like when a benchmark ran.
#[derive(Debug, Clone)]
pub struct RunConditions {
    pub cores: usize,
    pub cpu_model: String,
    /// `constant_tsc` and `nonstop_tsc` both present: the TSC is one clock for every core.
    pub invariant_tsc: bool,
    pub clocksource: String,
    pub load_average: String,
    pub kernel: String,
    /// `kernel.sched_rt_runtime_us`: -1 means a spinning SCHED_FIFO thread is never throttled;
    /// anything else throttles it after that many µs of every second.
    pub sched_rt_runtime_us: Option<i64>,
    /// quanta raw ticks per ns (≈1.0: quanta fell back to the OS clock).
    pub ticks_per_ns: f64,
}

fn read_trimmed(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "unavailable".to_owned())
}

impl RunConditions {
    pub fn gather(clock: &quanta::Clock) -> RunConditions {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let field = |name: &str| {
            cpuinfo
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
                .unwrap_or_default()
        };
        let flags = field("flags");
        let has = |f: &str| flags.split_whitespace().any(|x| x == f);
        let raw0 = clock.raw();
        let t0 = std::time::Instant::now();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let ticks_per_ns =
            clock.raw().wrapping_sub(raw0) as f64 / t0.elapsed().as_nanos().max(1) as f64;
        RunConditions {
            cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
            cpu_model: field("model name"),
            invariant_tsc: has("constant_tsc") && has("nonstop_tsc"),
            clocksource: read_trimmed(
                "/sys/devices/system/clocksource/clocksource0/current_clocksource",
            ),
            load_average: read_trimmed("/proc/loadavg")
                .split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" "),
            kernel: read_trimmed("/proc/sys/kernel/osrelease"),
            sched_rt_runtime_us: read_trimmed("/proc/sys/kernel/sched_rt_runtime_us")
                .parse()
                .ok(),
            ticks_per_ns,
        }
    }

    /// Whether `--rt` can work here, in words.
    pub fn rt_note(&self) -> String {
        match self.sched_rt_runtime_us {
            Some(-1) => "available (kernel.sched_rt_runtime_us = -1; needs CAP_SYS_NICE)".into(),
            Some(us) => format!(
                "not used: kernel.sched_rt_runtime_us = {us} throttles a spinning SCHED_FIFO \
                 thread after {:.2} s of every second (set it to -1 to allow --rt)",
                us as f64 / 1e6
            ),
            None => "unknown (kernel.sched_rt_runtime_us unreadable)".into(),
        }
    }

    pub fn to_json(&self) -> Value {
        json!({
            "cores": self.cores,
            "cpu_model": self.cpu_model,
            "invariant_tsc": self.invariant_tsc,
            "clocksource": self.clocksource,
            "load_average": self.load_average,
            "kernel": self.kernel,
            "sched_rt_runtime_us": self.sched_rt_runtime_us,
            "rt": self.rt_note(),
            "quanta_ticks_per_ns": (self.ticks_per_ns * 1000.0).round() / 1000.0,
        })
    }

    pub fn describe(&self) -> String {
        format!(
            "{} cores ({}), clocksource {}, invariant TSC {}, load {}, kernel {}, real-time priority {}",
            self.cores,
            self.cpu_model,
            self.clocksource,
            if self.invariant_tsc { "yes" } else { "NO" },
            self.load_average,
            self.kernel,
            self.rt_note()
        )
    }
}

/// How one busy thread was set up.
#[derive(Debug, Clone)]
pub struct ThreadSetup {
    pub role: &'static str,
    pub core: usize,
    pub pinned: bool,
    /// `None`: `--rt` not asked; otherwise what `set_fifo_priority` said.
    pub rt: Option<String>,
}

/// SCHED_FIFO priority for `--rt`: low in 1..=99, above every normal task, below threaded IRQs
/// (Linux runs them at 50).
pub const RT_PRIORITY: i32 = 10;

/// Pins the calling thread and, with `rt`, asks for SCHED_FIFO through the throttling guard.
pub fn set_up_thread(role: &'static str, core: usize, rt: bool) -> ThreadSetup {
    let pinned = core_affinity::set_for_current(core_affinity::CoreId { id: core });
    let rt = rt.then(|| {
        kspin_tuning::process::set_fifo_priority(std::path::Path::new("/"), RT_PRIORITY).to_string()
    });
    ThreadSetup {
        role,
        core,
        pinned,
        rt,
    }
}

impl ThreadSetup {
    pub fn to_json(&self) -> Value {
        json!({"role": self.role, "core": self.core, "pinned": self.pinned, "rt": self.rt})
    }

    pub fn describe(&self) -> String {
        format!(
            "{} on core {} ({}{})",
            self.role,
            self.core,
            if self.pinned { "pinned" } else { "NOT pinned" },
            self.rt
                .as_ref()
                .map(|r| format!(", {r}"))
                .unwrap_or_default()
        )
    }
}
