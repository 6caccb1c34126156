//! Fake `/proc` and `/sys` trees for the host-check tests, built under `std::env::temp_dir()`
//! and removed on drop. Three shapes: a well-tuned 4-CPU server, a default 8-thread laptop,
//! and a tree with almost everything missing.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A fake host tree.
pub struct FakeHost {
    pub root: PathBuf,
}

impl FakeHost {
    /// An empty tree with a unique name.
    pub fn empty(name: &str) -> Self {
        let root = std::env::temp_dir().join(format!(
            "kspin-tuning-{name}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        Self { root }
    }

    /// Writes `content` (plus a newline, as the kernel does) to `rel`, creating directories.
    pub fn file(&self, rel: &str, content: &str) -> &Self {
        let path = self.root.join(rel.trim_start_matches('/'));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, format!("{content}\n")).unwrap();
        self
    }

    /// Creates directory `rel`.
    pub fn dir(&self, rel: &str) -> &Self {
        std::fs::create_dir_all(self.root.join(rel.trim_start_matches('/'))).unwrap();
        self
    }

    /// Removes file or directory `rel`.
    pub fn remove(&self, rel: &str) -> &Self {
        let path = self.root.join(rel.trim_start_matches('/'));
        if path.is_dir() {
            std::fs::remove_dir_all(path).unwrap();
        } else {
            std::fs::remove_file(path).unwrap();
        }
        self
    }

    pub fn path(&self) -> &Path {
        &self.root
    }

    fn sysctls(&self, values: &[(&str, &str)]) {
        for (name, value) in values {
            self.file(&format!("/proc/sys/{}", name.replace('.', "/")), value);
        }
    }

    fn idle_state(&self, cpu: usize, index: usize, name: &str, latency: u32, disabled: bool) {
        let dir = format!("/sys/devices/system/cpu/cpu{cpu}/cpuidle/state{index}");
        self.file(&format!("{dir}/name"), name)
            .file(&format!("{dir}/latency"), &latency.to_string())
            .file(&format!("{dir}/disable"), if disabled { "1" } else { "0" });
    }

    fn irq(&self, irq: u32, smp: &str, effective: &str, name: &str) {
        self.file(&format!("/proc/irq/{irq}/smp_affinity_list"), smp)
            .file(
                &format!("/proc/irq/{irq}/effective_affinity_list"),
                effective,
            )
            .file(&format!("/proc/irq/{irq}/node"), "0")
            .dir(&format!("/proc/irq/{irq}/{name}"));
    }

    /// A 4-CPU server tuned for engine core 2 and strategy core 3 (housekeeping 0-1).
    pub fn tuned() -> Self {
        let h = Self::empty("tuned");
        h.file(
            "/proc/cmdline",
            "BOOT_IMAGE=/vmlinuz-6.8 root=/dev/sda1 ro isolcpus=managed_irq,domain,2-3 \
             nohz_full=2-3 rcu_nocbs=2-3 irqaffinity=0-1 skew_tick=1 tsc=reliable \
             intel_idle.max_cstate=1",
        );
        let cpu = "/sys/devices/system/cpu";
        h.file(&format!("{cpu}/online"), "0-3")
            .file(&format!("{cpu}/isolated"), "2-3")
            .file(&format!("{cpu}/nohz_full"), "2-3")
            .file(&format!("{cpu}/smt/control"), "off")
            .file(&format!("{cpu}/cpuidle/current_driver"), "intel_idle");
        for n in 0..4 {
            h.file(
                &format!("{cpu}/cpu{n}/topology/thread_siblings_list"),
                &n.to_string(),
            )
            .file(
                &format!("{cpu}/cpu{n}/cpufreq/scaling_governor"),
                "performance",
            )
            .file(
                &format!("{cpu}/cpu{n}/cpufreq/energy_performance_preference"),
                "performance",
            );
            h.idle_state(n, 0, "POLL", 0, false);
            h.idle_state(n, 1, "C1", 2, false);
            h.idle_state(n, 2, "C1E", 10, true);
            // C6 stays enabled but the PM QoS limit of 2 us keeps the governor out of it.
            h.idle_state(n, 3, "C6", 170, false);
            h.file(&format!("{cpu}/cpu{n}/power/pm_qos_resume_latency_us"), "2");
        }
        h.file("/sys/devices/system/node/node0/cpulist", "0-3")
            .file("/sys/class/net/eth0/device/numa_node", "0")
            .dir("/sys/class/net/lo");
        h.file("/proc/irq/default_smp_affinity", "3");
        h.irq(24, "0-1", "0", "eth0-TxRx-0");
        h.irq(25, "0", "0", "nvme0q1");
        h.irq(26, "1", "1", "ttyS0");
        h.file(
            "/proc/interrupts",
            "           CPU0       CPU1       CPU2       CPU3\n  \
             24:       1000          0          0          0  PCI-MSI 1-edge eth0-TxRx-0\n\
             LOC:       5000       4000          3          2  Local timer interrupts",
        );
        h.file("/proc/1/comm", "systemd")
            .file("/proc/812/comm", "sshd");
        h.file(
            "/sys/kernel/mm/transparent_hugepage/enabled",
            "always madvise [never]",
        )
        .file(
            "/sys/kernel/mm/transparent_hugepage/defrag",
            "always defer defer+madvise [madvise] never",
        )
        .file(
            "/proc/meminfo",
            "MemTotal:       65536000 kB\nHugePages_Total:     512\nHugePages_Free:      512\n\
                 HugePages_Rsvd:        0\nHugepagesize:       2048 kB",
        )
        .file(
            "/proc/self/limits",
            "Limit                     Soft Limit           Hard Limit           Units\n\
                 Max locked memory         unlimited            unlimited            bytes",
        )
        .file(
            "/proc/self/status",
            "Name:\tkspin\nCapEff:\t0000000000000000",
        );
        h.sysctls(&[
            ("net.core.busy_read", "50"),
            ("net.core.busy_poll", "50"),
            ("kernel.numa_balancing", "0"),
            ("kernel.timer_migration", "0"),
            ("kernel.nmi_watchdog", "0"),
            ("vm.stat_interval", "10"),
            ("vm.swappiness", "10"),
            ("kernel.sched_rt_runtime_us", "-1"),
        ]);
        h.file(
            "/sys/devices/system/clocksource/clocksource0/current_clocksource",
            "tsc",
        )
        .file(
            "/sys/devices/system/clocksource/clocksource0/available_clocksource",
            "tsc hpet acpi_pm",
        )
        .file(
            "/proc/cpuinfo",
            "processor\t: 0\nvendor_id\t: GenuineIntel\n\
                 flags\t\t: fpu tsc msr constant_tsc nonstop_tsc tsc_known_freq rdtscp\n",
        );
        h
    }

    /// An 8-thread laptop as installed: no isolation, SMT on (siblings n and n+4), powersave,
    /// deep C-states, THP always, irqbalance running, default sysctls, clocksource hpet.
    pub fn laptop() -> Self {
        let h = Self::empty("laptop");
        h.file(
            "/proc/cmdline",
            "BOOT_IMAGE=/boot/vmlinuz-6.8.0-45-generic root=UUID=0f0e ro quiet splash",
        );
        let cpu = "/sys/devices/system/cpu";
        h.file(&format!("{cpu}/online"), "0-7")
            .file(&format!("{cpu}/isolated"), "")
            .file(&format!("{cpu}/nohz_full"), "(null)")
            .file(&format!("{cpu}/smt/control"), "on")
            .file(&format!("{cpu}/cpuidle/current_driver"), "intel_idle");
        for n in 0..8 {
            let core = n % 4;
            h.file(
                &format!("{cpu}/cpu{n}/topology/thread_siblings_list"),
                &format!("{core},{}", core + 4),
            )
            .file(
                &format!("{cpu}/cpu{n}/cpufreq/scaling_governor"),
                "powersave",
            )
            .file(
                &format!("{cpu}/cpu{n}/cpufreq/energy_performance_preference"),
                "balance_performance",
            )
            .file(&format!("{cpu}/cpu{n}/power/pm_qos_resume_latency_us"), "0");
            h.idle_state(n, 0, "POLL", 0, false);
            h.idle_state(n, 1, "C1", 2, false);
            h.idle_state(n, 2, "C1E", 10, false);
            h.idle_state(n, 3, "C6", 170, false);
        }
        h.file("/sys/devices/system/node/node0/cpulist", "0-7")
            .file("/sys/class/net/wlan0/device/numa_node", "-1")
            .dir("/sys/class/net/lo");
        h.file("/proc/irq/default_smp_affinity", "ff");
        h.irq(120, "0-7", "3", "iwlwifi");
        h.irq(121, "0-7", "0", "i915");
        h.file("/proc/1/comm", "systemd")
            .file("/proc/733/comm", "irqbalance")
            .file("/proc/901/comm", "Xorg");
        h.file(
            "/sys/kernel/mm/transparent_hugepage/enabled",
            "[always] madvise never",
        )
        .file(
            "/sys/kernel/mm/transparent_hugepage/defrag",
            "always defer defer+madvise [madvise] never",
        )
        .file(
            "/proc/meminfo",
            "MemTotal:       16000000 kB\nHugePages_Total:       0\nHugePages_Free:        0\n\
                 Hugepagesize:       2048 kB",
        )
        .file(
            "/proc/self/limits",
            "Limit                     Soft Limit           Hard Limit           Units\n\
                 Max locked memory         8388608              8388608              bytes",
        )
        .file(
            "/proc/self/status",
            "Name:\tkspin\nCapEff:\t0000000000000000",
        );
        h.sysctls(&[
            ("net.core.busy_read", "0"),
            ("net.core.busy_poll", "0"),
            ("kernel.numa_balancing", "1"),
            ("kernel.timer_migration", "1"),
            ("kernel.nmi_watchdog", "1"),
            ("vm.stat_interval", "1"),
            ("vm.swappiness", "60"),
            ("kernel.sched_rt_runtime_us", "950000"),
        ]);
        h.file(
            "/sys/devices/system/clocksource/clocksource0/current_clocksource",
            "hpet",
        )
        .file(
            "/sys/devices/system/clocksource/clocksource0/available_clocksource",
            "hpet acpi_pm",
        )
        .file(
            "/proc/cpuinfo",
            "processor\t: 0\nflags\t\t: fpu tsc constant_tsc nonstop_tsc\n",
        );
        h
    }

    /// A tree with only a kernel command line and the online CPUs: everything else missing.
    pub fn sparse() -> Self {
        let h = Self::empty("sparse");
        h.file("/proc/cmdline", "quiet")
            .file("/sys/devices/system/cpu/online", "0-1");
        h
    }
}

impl Drop for FakeHost {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}
