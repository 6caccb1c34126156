#!/usr/bin/env bash
# NATS fan-out on loopback, one run: (1) `kspin run --nats` against the embedded venue at a
# high rate, with `kspin mirror` reading live beside it (bridge messages/s, engine read →
# mirror latency); (2) the same-run baseline: the NATS client alone publishing prepared
# messages, unpaced (messages/s) and paced at the bridge's measured rate with a mirror beside
# it (publish → mirror latency). Needs nats-server (Debian package) and a release build:
#   cargo build --release -p kspin -p kspin-nats --example nats_baseline
#   bash bench/nats_fanout.sh [SECONDS] [SIM_RATE]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-5}
RATE=${2:-50000}
PORT=14333
URL="nats://127.0.0.1:$PORT"
K=./target/release/kspin
B=./target/release/examples/nats_baseline
STORE=$(mktemp -d)
nats-server -js -a 127.0.0.1 -p $PORT -sd "$STORE" >/dev/null 2>&1 &
NATS_PID=$!
trap 'kill $NATS_PID 2>/dev/null; rm -rf "$STORE" "$CFG"' EXIT
sleep 1
CFG=$(mktemp --suffix .toml)
cat >"$CFG" <<TOML
[venue]
url = "sim"
[venue.sim]
tls = false
rate = $RATE
[engine]
lock_memory = false
[[subscription]]
symbols = ["BTC/USD", "ETH/USD", "SOL/USD"]
channels = ["book", "trade", "ticker"]
depth = 10
[nats]
url = "$URL"
TOML
echo "== conditions: $(nproc) cores, $(uname -r), nats-server $(nats-server --version | awk '{print $2}'), ${SECS}s per phase, sim rate $RATE events/s"
echo "== bridge: kspin run --nats (mirror reading live)"
$K mirror --nats "$URL" --duration $((SECS + 3)) --json >/tmp/kspin-nats-mirror-bridge.json &
M=$!
sleep 0.5
$K run --config "$CFG" --duration "$SECS" --json --quiet 2>/dev/null >/tmp/kspin-nats-run.json
wait $M || true
python3 - "$SECS" <<'PY'
import json, sys
secs = float(sys.argv[1])
r = json.load(open("/tmp/kspin-nats-run.json")); m = json.load(open("/tmp/kspin-nats-mirror-bridge.json"))
n = r["nats"]
print(f"bridge: {n['published']} messages in {r['duration_s']:.2f}s = {n['published']/r['duration_s']:.0f} msg/s; stored {n['stored']}, lost {n['lost']}, lane drops {n['lane']['events_dropped']} of {n['lane']['events_published']+n['lane']['events_dropped']} wire events, catch-up snapshots {n['lane']['snapshots_handed']}")
l = m["latency_ns"] or {}
print(f"bridge: engine read -> mirror: p50 {l.get('p50',0)/1e3:.0f} us, p99 {l.get('p99',0)/1e3:.0f} us, p99.9 {l.get('p99_9',0)/1e3:.0f} us ({l.get('samples',0)} messages); mirror checksum mismatches {sum(v['checksum_mismatch'] for v in m['symbols'].values())}")
open("/tmp/kspin-nats-rate", "w").write(str(int(n['published']/r['duration_s'])))
PY
echo "== baseline: NATS client publishing prepared messages, unpaced"
$B "$URL" "$SECS" 0
echo "== baseline: paced at the bridge's rate, mirror reading live"
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
