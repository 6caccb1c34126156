#!/usr/bin/env bash
# Runtime (no reboot) settings for kspin's hot cores: sysctls, cpufreq governor and EPP,
# C-state limit through PM QoS, transparent huge pages, irqbalance, optionally SMT.
#
# usage: runtime-tuning.sh --hot LIST [--smt-off] [--apply]
#   --hot LIST   engine and strategy cores, e.g. 2-3
#   --smt-off    also switch SMT off (halves logical CPUs; the right call on a dedicated box)
#   --apply      do it; sysctls persist in /etc/sysctl.d/90-kspin.conf, the rest until reboot
# Without --apply it prints every command it would run.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

HOT=""
SMT_OFF=0
while [ $# -gt 0 ]; do
    case "$1" in
    --hot) need_value "$1" "${2:-}"; HOT=$2; shift 2 ;;
    --smt-off) SMT_OFF=1; shift ;;
    --apply) APPLY=1; shift ;;
    -h | --help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done
[ -n "$HOT" ] || { echo "--hot LIST is required (e.g. --hot 2-3)" >&2; exit 2; }

SYSCTL_CONF=/etc/sysctl.d/90-kspin.conf
SYSCTLS="net.core.busy_read=50
net.core.busy_poll=50
kernel.numa_balancing=0
kernel.timer_migration=0
kernel.nmi_watchdog=0
vm.stat_interval=10
vm.swappiness=10
kernel.sched_rt_runtime_us=-1"

echo "# sysctls (persisted in $SYSCTL_CONF)"
if [ "$APPLY" -eq 1 ]; then
    echo "+ write $SYSCTL_CONF"
    printf '# kspin: written by tuning/scripts/runtime-tuning.sh\n%s\n' "$SYSCTLS" >"$SYSCTL_CONF"
else
    echo "would: write $SYSCTL_CONF with:"
    printf '%s\n' "$SYSCTLS" | sed 's/^/    /'
fi
for kv in $SYSCTLS; do
    run sysctl -q -w "$kv" || true
done

echo "# cpufreq and C-states on hot cores $HOT"
for cpu in $(expand_cpus "$HOT"); do
    base=/sys/devices/system/cpu/cpu$cpu
    if [ -e "$base/cpufreq/scaling_governor" ]; then
        write_file performance "$base/cpufreq/scaling_governor" || true
    else
        echo "cpu$cpu: no cpufreq (VM or no driver), governor left alone"
    fi
    if [ -e "$base/cpufreq/energy_performance_preference" ]; then
        write_file performance "$base/cpufreq/energy_performance_preference" || true
    fi
    # Resume latency limit 2 us: the idle governor keeps this CPU in C1 or shallower.
    if [ -e "$base/power/pm_qos_resume_latency_us" ]; then
        write_file 2 "$base/power/pm_qos_resume_latency_us" || true
    fi
done

echo "# transparent huge pages"
write_file madvise /sys/kernel/mm/transparent_hugepage/enabled || true
write_file madvise /sys/kernel/mm/transparent_hugepage/defrag || true

echo "# irqbalance (it undoes IRQ steering)"
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet irqbalance 2>/dev/null; then
    run systemctl disable --now irqbalance
else
    echo "irqbalance not running"
fi

if [ "$SMT_OFF" -eq 1 ]; then
    echo "# SMT"
    write_file off /sys/devices/system/cpu/smt/control || true
fi
