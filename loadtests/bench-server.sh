#!/usr/bin/env bash
# Durable (SQLite, synchronous=FULL, group commit) against in-memory create throughput of
# the reference server, and both against the trivial endpoint (loadtests/trivial_endpoint.rs,
# 201 at once: the ceiling of this machine, client and server), measured side by side in
# one run on loopback with oha; then p50 and p99 latency of durable creates at half the
# durable maximum rate.
#
#   loadtests/bench-server.sh                 # 64 connections, 10 s per measurement
#   CONNECTIONS=32 DURATION=5s loadtests/bench-server.sh
#
# Needs oha (`cargo install oha --locked`). Traffic goes to 127.0.0.1 only, bounded in
# time; both servers are stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
source loadtests/common.sh
CONNECTIONS=${CONNECTIONS:-64}
DURATION=${DURATION:-10s}
command -v oha >/dev/null || { echo "oha not found: cargo install oha --locked" >&2; exit 2; }
cargo build --release --quiet --bin devices-harness --example trivial-endpoint
bin=target/release/devices-harness
work=$(mktemp -d)
pids=()
# start() runs in a command substitution (a subshell): it leaves its server's pid in a file.
cleanup() {
  [ -f "$work/pids" ] && pids+=($(cat "$work/pids"))
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
token=bench-token
echo '[{"id":"11111111-2222-4333-8444-555555555555","token":"'"$token"'"}]' >"$work/users.json"

start() { # name, storage args... -> prints the base URL
  local name=$1; shift
  "$bin" serve --addr 127.0.0.1:0 --users "$work/users.json" "$@" >"$work/$name.out" 2>&1 &
  echo $! >>"$work/pids"
  url_from "$work/$name.out"
}

attack() { # url, extra oha args... -> JSON summary
  local url=$1; shift
  oha --no-tui --output-format json -c "$CONNECTIONS" -z "$DURATION" -m POST \
    -H "Authorization: Bearer $token" -H "Content-Type: application/json" \
    -D tests/data/seed-example-request.json "$@" "$url/me/devices"
}

durable=$(start durable --db "$work/devices.db")
memory=$(start memory --memory)
target/release/examples/trivial-endpoint 127.0.0.1:0 >"$work/trivial.out" 2>&1 &
pids+=($!)
trivial=$(url_from "$work/trivial.out")
attack "$trivial" >"$work/trivial.json"
attack "$durable" >/dev/null                     # warm-up
attack "$durable" >"$work/durable.json"
attack "$memory" >"$work/memory.json"
half=$(python3 -c "import json;print(max(1,int(json.load(open('$work/durable.json'))['summary']['requestsPerSec']/2)))")
attack "$durable" -q "$half" >"$work/half.json"

python3 - "$work" "$CONNECTIONS" "$DURATION" <<'PY'
import json, sys
work, conns, dur = sys.argv[1:4]
def load(n): return json.load(open(f"{work}/{n}.json"))
d, m, h, t = load("durable"), load("memory"), load("half"), load("trivial")
def rps(r): return r["summary"]["requestsPerSec"]
def codes(r): return ", ".join(f"{k}: {v}" for k, v in sorted(r.get("statusCodeDistribution", {}).items()))
def pct(r, p): return r["latencyPercentiles"][p] * 1000
print(f"| measurement ({conns} connections, {dur}) | creates/s | p50 ms | p99 ms | statuses |")
print("|---|---:|---:|---:|---|")
print(f"| trivial endpoint (the ceiling), max rate | {rps(t):.0f} | {pct(t,'p50'):.2f} | {pct(t,'p99'):.2f} | {codes(t)} |")
print(f"| in-memory (`--memory`), max rate | {rps(m):.0f} | {pct(m,'p50'):.2f} | {pct(m,'p99'):.2f} | {codes(m)} |")
print(f"| durable (SQLite, synchronous=FULL), max rate | {rps(d):.0f} | {pct(d,'p50'):.2f} | {pct(d,'p99'):.2f} | {codes(d)} |")
print(f"| durable at half its max rate | {rps(h):.0f} | {pct(h,'p50'):.2f} | {pct(h,'p99'):.2f} | {codes(h)} |")
print()
print(f"in-memory / trivial = {rps(m)/rps(t):.2f} (goal: at least 0.50)")
print(f"durable / trivial = {rps(d)/rps(t):.2f}")
print(f"durable / in-memory = {rps(d)/rps(m):.2f} (goal: at least 0.70)")
print(f"durable p99 at half its max rate = {pct(h,'p99'):.2f} ms (goal: under 5 ms)")
PY
