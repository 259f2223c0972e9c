#!/usr/bin/env bash
# Is the load generator ever what limits a measurement? `devices-harness load` (with its
# direct client, and with goose's) against `oha` (and `wrk` when installed), side by side
# in one run, at the same connection count, against a trivial loopback endpoint that answers 201 at once
# (loadtests/trivial_endpoint.rs). Prints requests/s of each, their ratio, and how much
# of the load generator's CPU went into generating payloads.
#
#   loadtests/bench-load.sh                      # 32 connections, 10 s each
#   CONNECTIONS=64 DURATION=5 loadtests/bench-load.sh
#
# Needs oha (`cargo install oha --locked`); wrk (Debian package `wrk`) is optional.
# Traffic goes to 127.0.0.1 only, bounded in time; the endpoint is stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
source loadtests/common.sh
CONNECTIONS=${CONNECTIONS:-32}
DURATION=${DURATION:-10}
command -v oha >/dev/null || { echo "oha not found: cargo install oha --locked" >&2; exit 2; }
cargo build --release --quiet --bin devices-harness --example trivial-endpoint
bin=target/release/devices-harness
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

target/release/examples/trivial-endpoint 127.0.0.1:0 >"$work/endpoint.out" &
pid=$!
url=$(url_from "$work/endpoint.out")
token=bench-token
user=11111111-2222-4333-8444-555555555555
# oha and wrk send one body of the mean size of the generated ones (load draws from 4,096).
body=$work/body.json
"$bin" gen --valid --count 4096 --seed 1 | python3 -c '
import json, sys
bodies = [json.loads(line)["body"].encode() for line in sys.stdin]
mean = sum(map(len, bodies)) / len(bodies)
best = min(bodies, key=lambda b: abs(len(b) - mean))
open(sys.argv[1], "wb").write(best)
print(f"body: {len(best)} bytes (mean of the generated: {mean:.0f})")' "$body"

oha_rps=$(oha --no-tui --output-format json -c "$CONNECTIONS" -z "${DURATION}s" -m POST \
  -H "Authorization: Bearer $token" -H "Content-Type: application/json" -D "$body" \
  "$url/me/devices" | python3 -c 'import json,sys; print(round(json.load(sys.stdin)["summary"]["requestsPerSec"]))')

wrk_rps=
if command -v wrk >/dev/null; then
  printf 'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.headers["Authorization"] = "Bearer %s"\nwrk.body = io.open("%s"):read("*a")\n' "$token" "$body" >"$work/post.lua"
  wrk_rps=$(wrk -t2 -c "$CONNECTIONS" -d "${DURATION}s" -s "$work/post.lua" "$url/me/devices" | awk '/Requests\/sec/ {print int($2)}')
fi

load() { # client -> "requests/s generation%"
  "$bin" load --target "$url" --token "$token" --user-id "$user" --client "$1" \
    --users "$CONNECTIONS" --increase-rate "$CONNECTIONS" --run-time "$DURATION" \
    --malformed-ratio 0 --read-ratio 0 --integrity off --keep --quiet --no-print-metrics \
    --json "$work/load-$1.json" >/dev/null
  python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
share = r["generation_seconds"] / r["cpu_seconds"] if r.get("cpu_seconds") else float("nan")
print(round(r["requests_per_second"]), f"{share * 100:.2f}")' "$work/load-$1.json"
}
read -r direct_rps direct_share < <(load auto)
read -r goose_rps goose_share < <(load goose)

echo "connections $CONNECTIONS, $DURATION s each, against $url (201 at once)"
echo "oha:                                  $oha_rps requests/s"
[ -n "$wrk_rps" ] && echo "wrk:                                  $wrk_rps requests/s"
echo "devices-harness load (direct client): $direct_rps requests/s (payload generation: $direct_share% of its CPU)"
echo "devices-harness load --client goose:  $goose_rps requests/s (payload generation: $goose_share% of its CPU)"
python3 -c "import sys; d, g, o = map(int, sys.argv[1:]); print(f'load / oha = {d / o:.2f} (goal: at least 0.8); with goose\'s client {g / o:.2f}')" "$direct_rps" "$goose_rps" "$oha_rps"
