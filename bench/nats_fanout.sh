#!/usr/bin/env bash
# NATS fan-out on loopback, one run, each figure beside its same-run baseline:
# throughput: `kspin run --nats` against the embedded venue at SIM_RATE events/s (more than the
#   bridge carries: its lane conflates) → bridge messages/s, vs. the NATS client alone publishing
#   prepared messages as fast as it goes (same window of acknowledgements);
# latency: the same at LAT_RATE events/s (the bridge keeps up), `kspin mirror` reading live →
#   engine frame read → mirror, vs. the client alone paced at the bridge's message rate →
#   publish → mirror.
# Needs nats-server (Debian package) and release builds:
#   cargo build --release -p kspin && cargo build --release -p kspin-nats --example nats_baseline
#   bash bench/nats_fanout.sh [SECONDS] [SIM_RATE] [LAT_RATE]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-5}
RATE=${2:-50000}
LAT_RATE=${3:-5000}
PORT=14333
URL="nats://127.0.0.1:$PORT"
K=./target/release/kspin
B=./target/release/examples/nats_baseline
STORE=$(mktemp -d)
nats-server -js -a 127.0.0.1 -p $PORT -sd "$STORE" >/dev/null 2>&1 &
NATS_PID=$!
trap 'kill $NATS_PID 2>/dev/null; wait $NATS_PID 2>/dev/null; rm -rf "$STORE" "$CFG"' EXIT
sleep 1
CFG=$(mktemp --suffix .toml)
config() {
cat >"$CFG" <<TOML
[venue]
url = "sim"
[venue.sim]
tls = false
rate = $1
[engine]
lock_memory = false
[[subscription]]
symbols = ["BTC/USD", "ETH/USD", "SOL/USD"]
channels = ["book", "trade", "ticker"]
depth = 10
[nats]
url = "$URL"
TOML
}
# bridge RATE TAG: kspin run --nats with a live mirror; prints the figures, saves msg/s in /tmp/kspin-nats-rate
bridge() {
config "$1"
$K mirror --nats "$URL" --duration $((SECS + 3)) --json >/tmp/kspin-nats-mirror.json &
local m=$!
sleep 0.5
$K run --config "$CFG" --duration "$SECS" --json --quiet 2>/dev/null >/tmp/kspin-nats-run.json
wait $m || true
python3 - "$2" <<'PY'
import json, sys
r = json.load(open("/tmp/kspin-nats-run.json")); m = json.load(open("/tmp/kspin-nats-mirror.json"))
n = r["nats"]; rate = n['published'] / r['duration_s']
print(f"bridge ({sys.argv[1]}): {n['published']} messages in {r['duration_s']:.2f}s = {rate:.0f} msg/s; stored {n['stored']}, lost {n['lost']}, lane drops {n['lane']['events_dropped']} of {n['lane']['events_published']+n['lane']['events_dropped']} wire events, catch-up snapshots {n['lane']['snapshots_handed']}")
l = m["latency_ns"] or {}
print(f"bridge ({sys.argv[1]}): engine read -> mirror: p50 {l.get('p50',0)/1e3:.0f} us, p99 {l.get('p99',0)/1e3:.0f} us, p99.9 {l.get('p99_9',0)/1e3:.0f} us ({l.get('samples',0)} messages); mirror checksum mismatches {sum(v['checksum_mismatch'] for v in m['symbols'].values())}")
open("/tmp/kspin-nats-rate", "w").write(str(int(rate)))
PY
}
echo "== conditions: $(nproc) cores, $(uname -r), nats-server $(nats-server --version | awk '{print $2}'), ${SECS}s per phase"
echo "== throughput: bridge at sim rate $RATE events/s"
bridge "$RATE" throughput
echo "== throughput baseline: NATS client publishing prepared messages, unpaced"
$B "$URL" "$SECS" 0
echo "== latency: bridge at sim rate $LAT_RATE events/s, mirror reading live"
bridge "$LAT_RATE" latency
echo "== latency baseline: NATS client paced at the bridge's message rate, mirror reading live"
$K mirror --nats "$URL" --duration $((SECS + 3)) --json >/tmp/kspin-nats-mirror-base.json &
M=$!
sleep 0.5
$B "$URL" "$SECS" "$(cat /tmp/kspin-nats-rate)"
wait $M || true
python3 - <<'PY'
import json
m = json.load(open("/tmp/kspin-nats-mirror-base.json")); l = m["latency_ns"] or {}
print(f"baseline: publish -> mirror: p50 {l.get('p50',0)/1e3:.0f} us, p99 {l.get('p99',0)/1e3:.0f} us, p99.9 {l.get('p99_9',0)/1e3:.0f} us ({l.get('samples',0)} messages)")
PY
