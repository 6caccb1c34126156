#!/usr/bin/env bash
# Kernel command-line parameters for kspin's hot cores (isolation, tickless, RCU offload, IRQ
# default affinity, tick skew, TSC trust, shallow C-states).
#
# usage: kernel-params.sh --hot LIST [--apply]
#   --hot LIST   engine and strategy cores, e.g. 2-3
#   --apply      install them with grubby, or in /etc/default/grub + update-grub / grub2-mkconfig
# Without --apply it prints the parameters and the commands it would run. Reboot afterwards.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

HOT=""
while [ $# -gt 0 ]; do
    case "$1" in
    --hot) need_value "$1" "${2:-}"; HOT=$2; shift 2 ;;
    --apply) APPLY=1; shift ;;
    -h | --help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done
[ -n "$HOT" ] || { echo "--hot LIST is required (e.g. --hot 2-3)" >&2; exit 2; }

HK=$(invert_cpus "$HOT")
[ -n "$HK" ] || { echo "--hot $HOT leaves no housekeeping CPU" >&2; exit 2; }

PARAMS="isolcpus=managed_irq,domain,$HOT nohz_full=$HOT rcu_nocbs=$HOT irqaffinity=$HK skew_tick=1"
# tsc=reliable switches off the TSC watchdog: only safe with an invariant TSC.
if grep -qw constant_tsc /proc/cpuinfo && grep -qw nonstop_tsc /proc/cpuinfo; then
    PARAMS+=" tsc=reliable"
else
    echo "note: no invariant TSC (constant_tsc + nonstop_tsc); leaving out tsc=reliable" >&2
fi
# C-states: C1 at most (intel_idle / acpi_idle).
PARAMS+=" intel_idle.max_cstate=1 processor.max_cstate=1"

echo "hot cores: $HOT   housekeeping cores: $HK"
echo "kernel parameters: $PARAMS"
if command -v grubby >/dev/null 2>&1; then
    run grubby --update-kernel=ALL --args="$PARAMS"
elif [ -f /etc/default/grub ]; then
    run sed -i.kspin-bak "s|^GRUB_CMDLINE_LINUX_DEFAULT=\"\\(.*\\)\"|GRUB_CMDLINE_LINUX_DEFAULT=\"\\1 $PARAMS\"|" /etc/default/grub
    if command -v update-grub >/dev/null 2>&1; then
        run update-grub
    else
        run grub2-mkconfig -o /boot/grub2/grub.cfg
    fi
else
    echo "no grubby and no /etc/default/grub: add the parameters to your boot loader by hand" >&2
fi
[ "$APPLY" -eq 1 ] && echo "reboot for the parameters to take effect" || true
