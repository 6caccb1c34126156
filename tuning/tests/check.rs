//! End-to-end host checks on fake `/proc` and `/sys` trees: exact verdicts for every item on a
//! tuned server, a default laptop and a tree with files missing.

mod common;

use std::time::Duration;

use common::FakeHost;
use kspin_tuning::check::{run_checks, CheckInput, HotCoreSource, Report, Verdict};
use kspin_tuning::cpuset::CpuSet;

use Verdict::{Fail, Ok as Good, Unknown, Warn};

fn input(host: &FakeHost, engine: Option<usize>, strategies: &[usize]) -> CheckInput {
    CheckInput {
        root: host.root.clone(),
        engine_core: engine,
        strategy_cores: strategies.to_vec(),
        irq_sample: None,
    }
}

/// Every item id with its verdict, in report order.
fn verdicts(report: &Report) -> Vec<(&'static str, Verdict)> {
    report.findings.iter().map(|f| (f.id, f.verdict)).collect()
}

fn assert_verdicts(report: &Report, expected: &[(&str, Verdict)]) {
    let got = verdicts(report);
    let want: Vec<(&str, Verdict)> = expected.to_vec();
    assert_eq!(got, want, "\n{}", report.render_text());
}

#[test]
fn tuned_host_is_all_ok() {
    let host = FakeHost::tuned();
    let mut inp = input(&host, Some(2), &[3]);
    inp.irq_sample = Some(Duration::from_millis(1));
    let report = run_checks(&inp);
    assert_verdicts(
        &report,
        &[
            ("cores.plan", Good),
            ("cmdline.isolcpus", Good),
            ("cmdline.nohz_full", Good),
            ("cmdline.rcu_nocbs", Good),
            ("cmdline.irqaffinity", Good),
            ("cmdline.skew_tick", Good),
            ("cmdline.tsc", Good),
            ("cpu.isolated", Good),
            ("cpu.nohz_full", Good),
            ("irq.affinity", Good),
            ("irq.default_affinity", Good),
            ("irq.irqbalance", Good),
            ("irq.counts", Good),
            ("cpu.governor", Good),
            ("cpu.epp", Good),
            ("cpu.cstates", Good),
            ("cpu.smt", Good),
            ("numa.hot_cores", Good),
            ("numa.nic", Good),
            ("mm.thp", Good),
            ("mm.hugepages", Good),
            ("mem.memlock", Good),
            ("sysctl.net.core.busy_read", Good),
            ("sysctl.net.core.busy_poll", Good),
            ("sysctl.kernel.numa_balancing", Good),
            ("sysctl.kernel.timer_migration", Good),
            ("sysctl.kernel.nmi_watchdog", Good),
            ("sysctl.vm.stat_interval", Good),
            ("sysctl.vm.swappiness", Good),
            ("sysctl.kernel.sched_rt_runtime_us", Good),
            ("clock.source", Good),
            ("clock.tsc_flags", Good),
        ],
    );
    assert!(!report.has_fail());
    assert!(report.warnings().is_empty());
    assert_eq!(report.hot_cores, CpuSet::from_cpus([2, 3]));
    assert_eq!(report.housekeeping, CpuSet::from_cpus([0, 1]));
    assert_eq!(report.hot_core_source, HotCoreSource::Configured);
    // Found values are the host's, and an ok item carries no fix.
    let f = report.finding("cmdline.isolcpus").unwrap();
    assert_eq!(f.found, "isolcpus=2-3");
    assert!(f.fix.is_empty());
    assert_eq!(
        report.finding("irq.affinity").unwrap().found,
        "3 IRQs, none on 2-3"
    );
    assert_eq!(
        report.finding("mm.hugepages").unwrap().found,
        "512 reserved, 512 free (2048 kB pages)"
    );
    assert_eq!(
        report.finding("cpu.cstates").unwrap().found,
        "driver intel_idle; no deep state reachable on cpu 2-3"
    );
}

#[test]
fn laptop_host_warns_and_fails_with_fixes() {
    let host = FakeHost::laptop();
    let report = run_checks(&input(&host, Some(2), &[3]));
    assert_verdicts(
        &report,
        &[
            ("cores.plan", Good),
            ("cmdline.isolcpus", Fail),
            ("cmdline.nohz_full", Fail),
            ("cmdline.rcu_nocbs", Warn),
            ("cmdline.irqaffinity", Warn),
            ("cmdline.skew_tick", Warn),
            ("cmdline.tsc", Warn),
            ("cpu.isolated", Fail),
            ("cpu.nohz_full", Fail),
            ("irq.affinity", Fail),
            ("irq.default_affinity", Warn),
            ("irq.irqbalance", Warn),
            ("cpu.governor", Warn),
            ("cpu.epp", Warn),
            ("cpu.cstates", Warn),
            ("cpu.smt", Warn),
            ("numa.hot_cores", Good),
            ("numa.nic", Good),
            ("mm.thp", Warn),
            ("mm.hugepages", Good),
            ("mem.memlock", Warn),
            ("sysctl.net.core.busy_read", Warn),
            ("sysctl.net.core.busy_poll", Warn),
            ("sysctl.kernel.numa_balancing", Warn),
            ("sysctl.kernel.timer_migration", Warn),
            ("sysctl.kernel.nmi_watchdog", Warn),
            ("sysctl.vm.stat_interval", Warn),
            ("sysctl.vm.swappiness", Warn),
            ("sysctl.kernel.sched_rt_runtime_us", Warn),
            ("clock.source", Fail),
            ("clock.tsc_flags", Good),
        ],
    );
    assert!(report.has_fail());
    let counts = report.counts();
    assert_eq!(
        (counts.ok, counts.warn, counts.fail, counts.unknown),
        (5, 20, 6, 0)
    );

    let f = |id: &str| report.finding(id).unwrap().clone();
    assert_eq!(f("cmdline.isolcpus").found, "absent");
    assert_eq!(
        f("cmdline.isolcpus").fix,
        "add kernel parameter `isolcpus=managed_irq,domain,2-3` (tuning/scripts/kernel-params.sh --apply, then reboot)"
    );
    assert_eq!(
        f("cmdline.irqaffinity").wanted,
        "irqaffinity=0-1,4-7 (no hot core)"
    );
    assert_eq!(f("cpu.nohz_full").found, "nohz_full = none (misses 2-3)");
    assert_eq!(
        f("irq.affinity").found,
        "1 of 2 IRQs on hot cores: IRQ 120 iwlwifi fires on 3"
    );
    assert_eq!(
        f("irq.default_affinity").fix,
        "echo 000000f3 > /proc/irq/default_smp_affinity (or kernel parameter irqaffinity=0-1,4-7)"
    );
    assert_eq!(f("irq.irqbalance").found, "running (pid 733)");
    assert_eq!(f("cpu.governor").found, "powersave on cpu 2-3");
    assert_eq!(
        f("cpu.cstates").found,
        "driver intel_idle; reachable: cpu2 C1E (10 us); cpu2 C6 (170 us); cpu3 C1E (10 us); cpu3 C6 (170 us)"
    );
    assert_eq!(
        f("cpu.smt").found,
        "cpu 2 shares a core with online cpu 6; cpu 3 shares a core with online cpu 7"
    );
    assert_eq!(f("mm.thp").found, "enabled = always, defrag = madvise");
    assert_eq!(f("mem.memlock").found, "8192 KiB");
    assert_eq!(
        f("sysctl.kernel.sched_rt_runtime_us").fix,
        "sysctl -w kernel.sched_rt_runtime_us=-1 (persist in /etc/sysctl.d/90-kspin.conf)"
    );
    assert_eq!(f("clock.source").found, "hpet (available: hpet acpi_pm)");
    assert_eq!(f("numa.nic").found, "wlan0: no node (single-node host)");

    // The start-up list: every non-ok item, fails first.
    let warnings = report.warnings();
    assert_eq!(warnings.len(), 26);
    assert!(warnings[..6].iter().all(|w| w.starts_with("fail ")));
    assert!(warnings[6..].iter().all(|w| w.starts_with("warn ")));
    assert_eq!(
        warnings[0],
        "fail cmdline.isolcpus: absent (want isolcpus contains 2-3 (isolcpus=managed_irq,domain,2-3))"
    );
}

#[test]
fn laptop_with_hot_siblings_fails_smt_and_plan() {
    let host = FakeHost::laptop();
    let report = run_checks(&input(&host, Some(2), &[6]));
    assert_eq!(report.verdict("cpu.smt"), Some(Fail));
    assert_eq!(
        report.finding("cpu.smt").unwrap().found,
        "hot cpus 2 and 6 share a core"
    );
    assert_eq!(report.verdict("cores.plan"), Some(Fail));
    assert_eq!(
        report.finding("cores.plan").unwrap().found,
        "engine 2, strategies 6: cores 2 and 6 are SMT siblings of one physical core and would slow each other"
    );
}

#[test]
fn sparse_host_reports_unknown_never_panics() {
    let host = FakeHost::sparse();
    let mut inp = input(&host, Some(1), &[]);
    inp.irq_sample = Some(Duration::from_millis(1));
    let report = run_checks(&inp);
    assert_verdicts(
        &report,
        &[
            ("cores.plan", Warn),
            ("cmdline.isolcpus", Fail),
            ("cmdline.nohz_full", Fail),
            ("cmdline.rcu_nocbs", Warn),
            ("cmdline.irqaffinity", Warn),
            ("cmdline.skew_tick", Warn),
            ("cmdline.tsc", Warn),
            ("cpu.isolated", Unknown),
            ("cpu.nohz_full", Unknown),
            ("irq.affinity", Unknown),
            ("irq.default_affinity", Unknown),
            ("irq.irqbalance", Good),
            ("irq.counts", Unknown),
            ("cpu.governor", Unknown),
            ("cpu.epp", Unknown),
            ("cpu.cstates", Unknown),
            ("cpu.smt", Unknown),
            ("numa.hot_cores", Unknown),
            ("numa.nic", Unknown),
            ("mm.thp", Unknown),
            ("mm.hugepages", Unknown),
            ("mem.memlock", Unknown),
            ("sysctl.net.core.busy_read", Unknown),
            ("sysctl.net.core.busy_poll", Unknown),
            ("sysctl.kernel.numa_balancing", Unknown),
            ("sysctl.kernel.timer_migration", Unknown),
            ("sysctl.kernel.nmi_watchdog", Unknown),
            ("sysctl.vm.stat_interval", Unknown),
            ("sysctl.vm.swappiness", Unknown),
            ("sysctl.kernel.sched_rt_runtime_us", Unknown),
            ("clock.source", Unknown),
            ("clock.tsc_flags", Unknown),
        ],
    );
    assert_eq!(
        report.finding("sysctl.vm.swappiness").unwrap().found,
        "/proc/sys/vm/swappiness missing"
    );
    assert_eq!(
        report.finding("cores.plan").unwrap().found,
        "engine 1, strategies none: could not check the core plan fully: \
         /sys/devices/system/cpu/cpu1/topology/thread_siblings_list missing; \
         could not check the core plan fully: /sys/devices/system/node missing"
    );
}

#[test]
fn nonexistent_root_is_all_unknown_with_cpu0_stand_in() {
    let host = FakeHost::empty("nothing");
    let report = run_checks(&CheckInput {
        root: host.root.join("does-not-exist"),
        engine_core: None,
        strategy_cores: Vec::new(),
        irq_sample: None,
    });
    assert_eq!(report.hot_core_source, HotCoreSource::Cpu0);
    assert_eq!(report.verdict("cores.plan"), Some(Warn));
    assert!(
        report.findings.iter().skip(1).all(|f| f.verdict == Unknown),
        "{}",
        report.render_text()
    );
    assert!(!report.has_fail());
}

#[test]
fn hot_cores_default_to_isolated_then_last_online() {
    let tuned = FakeHost::tuned();
    let report = run_checks(&input(&tuned, None, &[]));
    assert_eq!(report.hot_core_source, HotCoreSource::IsolatedCpus);
    assert_eq!(report.hot_cores, CpuSet::from_cpus([2, 3]));
    assert_eq!(report.verdict("cores.plan"), Some(Warn));
    assert_eq!(
        report.finding("cores.plan").unwrap().found,
        "no engine core given; checking CPUs 2-3 (the isolated CPUs)"
    );

    let laptop = FakeHost::laptop();
    let report = run_checks(&input(&laptop, None, &[]));
    assert_eq!(report.hot_core_source, HotCoreSource::LastOnlineCpu);
    assert_eq!(report.hot_cores, CpuSet::from_cpus([7]));
}

#[test]
fn cross_numa_hot_cores_and_remote_nic() {
    let host = FakeHost::tuned();
    host.file("/sys/devices/system/node/node0/cpulist", "0-1")
        .file("/sys/devices/system/node/node1/cpulist", "2-3");
    // Hot cores split over both nodes.
    let report = run_checks(&input(&host, Some(1), &[2]));
    assert_eq!(report.verdict("numa.hot_cores"), Some(Fail));
    assert_eq!(
        report.finding("numa.hot_cores").unwrap().found,
        "node 0 holds cpu 1; 1 holds cpu 2"
    );
    assert_eq!(report.verdict("cores.plan"), Some(Fail));
    // Hot cores on node 1, NIC on node 0.
    let report = run_checks(&input(&host, Some(2), &[3]));
    assert_eq!(report.verdict("numa.hot_cores"), Some(Good));
    assert_eq!(report.verdict("numa.nic"), Some(Warn));
    assert_eq!(
        report.finding("numa.nic").unwrap().found,
        "eth0 on node 0 (remote)"
    );
}

#[test]
fn partial_settings_get_their_own_verdicts() {
    let host = FakeHost::tuned();
    // rcu_nocbs absent but implied by nohz_full; irqaffinity including a hot core; an IRQ
    // allowed (not effective) on a hot core; malformed sysctl; CAP_IPC_LOCK without unlimited.
    host.file(
        "/proc/cmdline",
        "isolcpus=2-3 nohz_full=2-3 irqaffinity=0-2 skew_tick=0 tsc=reliable",
    )
    .file("/proc/irq/24/smp_affinity_list", "0-3")
    .file("/proc/sys/vm/swappiness", "lots")
    .file(
        "/proc/self/limits",
        "Max locked memory         65536                65536                bytes",
    )
    .file("/proc/self/status", "CapEff:\t0000000000004000")
    .file(
        "/sys/devices/system/cpu/cpu2/power/pm_qos_resume_latency_us",
        "0",
    );
    let report = run_checks(&input(&host, Some(2), &[3]));
    let f = |id: &str| report.finding(id).unwrap().clone();
    assert_eq!(f("cmdline.rcu_nocbs").verdict, Good);
    assert_eq!(
        f("cmdline.rcu_nocbs").found,
        "absent (implied by nohz_full)"
    );
    assert_eq!(f("cmdline.irqaffinity").verdict, Fail);
    assert_eq!(
        f("cmdline.irqaffinity").found,
        "irqaffinity=0-2 (includes hot 2)"
    );
    assert_eq!(f("cmdline.skew_tick").verdict, Warn);
    assert_eq!(f("cmdline.skew_tick").found, "skew_tick=0");
    assert_eq!(f("irq.affinity").verdict, Warn);
    assert_eq!(
        f("irq.affinity").found,
        "1 of 3 IRQs allowed on hot cores: IRQ 24 eth0-TxRx-0 may move to 2-3"
    );
    assert_eq!(f("sysctl.vm.swappiness").verdict, Unknown);
    assert_eq!(
        f("sysctl.vm.swappiness").found,
        "/proc/sys/vm/swappiness = \"lots\" (unexpected)"
    );
    assert_eq!(f("mem.memlock").verdict, Good);
    assert_eq!(
        f("mem.memlock").found,
        "64 KiB, but CAP_IPC_LOCK lifts the limit"
    );
    // Without the QoS limit, cpu2 may enter the still-enabled C6.
    assert_eq!(f("cpu.cstates").verdict, Warn);
    assert_eq!(
        f("cpu.cstates").found,
        "driver intel_idle; reachable: cpu2 C6 (170 us)"
    );
}

#[test]
fn json_carries_every_finding() {
    let host = FakeHost::laptop();
    let report = run_checks(&input(&host, Some(2), &[3]));
    let json = report.to_json();
    let findings = json["findings"].as_array().unwrap();
    assert_eq!(findings.len(), report.findings.len());
    assert_eq!(findings[1]["id"], "cmdline.isolcpus");
    assert_eq!(findings[1]["verdict"], "fail");
    assert_eq!(findings[1]["found"], "absent");
    assert!(findings[1]["fix"]
        .as_str()
        .unwrap()
        .contains("isolcpus=managed_irq,domain,2-3"));
    assert_eq!(json["counts"]["fail"], 6);
    assert_eq!(json["hot_cores"], "2-3");
    assert_eq!(json["housekeeping_cores"], "0-1,4-7");
    assert_eq!(json["hot_core_source"], "configured");
    assert_eq!(json["engine_core"], 2);
    // Round-trips as text.
    let text = serde_json::to_string(&json).unwrap();
    let back: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(back, json);
}

#[test]
fn text_rendering_lists_fixes_for_non_ok_items() {
    let host = FakeHost::laptop();
    let text = run_checks(&input(&host, Some(2), &[3])).render_text();
    assert!(text.starts_with("kspin tune check: root "));
    assert!(text.contains("hot cores 2-3 (configured), housekeeping cores 0-1,4-7"));
    assert!(text.contains("fix:  sysctl -w vm.swappiness=10"));
    assert!(text.ends_with("summary: 5 ok, 20 warn, 6 fail, 0 unknown\n"));
}

#[test]
fn cli_check_exit_codes() {
    let run = |host: &FakeHost| {
        kspin_tuning::cli::run(&[
            "check".to_string(),
            "--json".to_string(),
            "--sample-ms".to_string(),
            "0".to_string(),
            "--engine-core".to_string(),
            "2".to_string(),
            "--strategy-cores".to_string(),
            "3".to_string(),
            "--root".to_string(),
            host.root.display().to_string(),
        ])
    };
    assert_eq!(run(&FakeHost::tuned()), 0);
    assert_eq!(run(&FakeHost::laptop()), 1);
}
