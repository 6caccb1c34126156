#!/usr/bin/env bash
# Moves every IRQ (and the default affinity of new IRQs) to the housekeeping cores.
#
# usage: steer-irqs.sh --housekeeping LIST [--apply]
#   --housekeeping LIST   cores that take interrupts, e.g. 0-1 (everything but kspin's cores)
#   --apply               write /proc/irq/*/smp_affinity_list and /proc/irq/default_smp_affinity
# Without --apply it prints each IRQ's current affinity and what it would write. Some IRQs
# (per-CPU timers, managed queues) cannot be moved: the kernel refuses and the script says so.
# Not persistent: run it from a boot-time unit, and stop irqbalance (runtime-tuning.sh).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

HK=""
while [ $# -gt 0 ]; do
    case "$1" in
    --housekeeping) need_value "$1" "${2:-}"; HK=$2; shift 2 ;;
    --apply) APPLY=1; shift ;;
    -h | --help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done
[ -n "$HK" ] || { echo "--housekeeping LIST is required (e.g. --housekeeping 0-1)" >&2; exit 2; }

refused=0
for dir in /proc/irq/[0-9]*; do
    irq=${dir##*/}
    current=$(cat "$dir/smp_affinity_list" 2>/dev/null || echo "?")
    [ "$current" = "$HK" ] && continue
    name=$(find "$dir" -mindepth 1 -maxdepth 1 -type d -printf '%f ' 2>/dev/null | sed 's/ $//' || true)
    echo "IRQ $irq ${name:+($name) }$current -> $HK"
    write_file "$HK" "$dir/smp_affinity_list" || refused=$((refused + 1))
done
write_file "$(cpu_mask "$HK")" /proc/irq/default_smp_affinity || refused=$((refused + 1))
[ "$refused" -eq 0 ] || echo "$refused IRQ(s) could not be moved (managed or per-CPU)"
