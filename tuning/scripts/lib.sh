# Shared helpers for the kspin tuning scripts. Sourced, not run.
#
# Every change goes through `run`: without --apply it only prints what it would do
# ("would: ..."); with --apply it prints and does it. Nothing here changes the host by itself.

APPLY=0

# run CMD...: print and, with --apply, execute CMD.
run() {
    if [ "$APPLY" -eq 1 ]; then
        echo "+ $*"
        "$@"
    else
        echo "would: $*"
    fi
}

# write_file VALUE PATH: write VALUE into PATH (a sysfs/procfs file), or say so.
write_file() {
    if [ "$APPLY" -eq 1 ]; then
        echo "+ echo $1 > $2"
        if ! printf '%s\n' "$1" >"$2" 2>/dev/null; then
            echo "  (refused by the kernel: $2)" >&2
            return 1
        fi
    else
        echo "would: echo $1 > $2"
    fi
}

# expand_cpus LIST: print each CPU of a kernel CPU list (0-3,8) on its own line.
expand_cpus() {
    local item lo hi
    local IFS=,
    for item in $1; do
        case "$item" in
        *-*) lo=${item%-*}; hi=${item#*-}; seq "$lo" "$hi" ;;
        '') ;;
        *) echo "$item" ;;
        esac
    done
}

# cpu_mask LIST: the hex mask (32-bit groups, comma-separated) of a CPU list.
cpu_mask() {
    local cpus max groups g i out word cpu
    cpus=$(expand_cpus "$1")
    max=0
    for cpu in $cpus; do [ "$cpu" -gt "$max" ] && max=$cpu; done
    groups=$((max / 32 + 1))
    out=""
    for ((g = groups - 1; g >= 0; g--)); do
        word=0
        for cpu in $cpus; do
            if [ $((cpu / 32)) -eq "$g" ]; then word=$((word | (1 << (cpu % 32)))); fi
        done
        out+=$(printf '%08x' "$word")
        [ "$g" -gt 0 ] && out+=","
    done
    echo "$out"
}

# invert_cpus LIST: online CPUs not in LIST, as a comma-separated list.
invert_cpus() {
    local online hot cpu out=""
    online=$(expand_cpus "$(cat /sys/devices/system/cpu/online)")
    hot=" $(expand_cpus "$1" | tr '\n' ' ') "
    for cpu in $online; do
        case "$hot" in *" $cpu "*) ;; *) out+="${out:+,}$cpu" ;; esac
    done
    echo "$out"
}

need_value() {
    if [ -z "${2:-}" ]; then
        echo "$1 needs a value" >&2
        exit 2
    fi
}
