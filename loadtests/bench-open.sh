#!/usr/bin/env bash
# Does the open model keep its schedule? `devices-harness load --rate R` against the
# trivial loopback endpoint (loadtests/trivial_endpoint.rs, 201 at once), so what is
# measured is the generator: the rate sent against the rate asked for, the requests
# dropped (no free connection), and the scheduling lag (actual start minus scheduled
# start, taken when the request's task first runs), read from the open model's JSON
# report. In the same run, when oha is installed, oha at the same rate with
# `--latency-correction` (its latency also counts from the scheduled start) as the
# baseline for the latency percentiles.
#
#   loadtests/bench-open.sh                       # 20,000 req/s for 10 s, 256 connections
#   RATE=5000 DURATION=5 loadtests/bench-open.sh
#
# Traffic goes to 127.0.0.1 only, bounded in time; the endpoint is stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
source loadtests/common.sh
RATE=${RATE:-20000}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-256}
cargo build --release --quiet --bin devices-harness --example trivial-endpoint
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
target/release/examples/trivial-endpoint 127.0.0.1:0 >"$work/endpoint.out" &
pid=$!
url=$(url_from "$work/endpoint.out")
# Creates only; the endpoint stores nothing, so no read-back and nothing to delete.
target/release/devices-harness load --target "$url" --token bench-token \
  --user-id 11111111-2222-4333-8444-555555555555 --rate "$RATE" --run-time "${DURATION}s" \
  --max-connections "$CONNECTIONS" --malformed-ratio 0 --integrity off --keep \
  --json "$work/open.json" >"$work/load.out" || true
python3 - "$work/open.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
lag = r["lag"]["latency_ms"]
ratio = r["achieved_rate"] / r["target_rate"]
print(f"asked {r['target_rate']:.0f} req/s, sent {r['achieved_rate']:.1f} req/s ({ratio:.4f} of it), "
      f"{r['dropped']} dropped of {r['scheduled']}, {r['connections']} connections")
print(f"scheduling lag: p50 {lag['p50']:.3f} ms, p99 {lag['p99']:.3f} ms, p99.9 {lag['p999']:.3f} ms, max {lag['max']:.3f} ms")
a = r["requests"]["all"]["latency_ms"]
print(f"latency from the scheduled start: p50 {a['p50']:.3f} ms, p99 {a['p99']:.3f} ms")
PY
if command -v oha >/dev/null; then
  "target/release/devices-harness" gen --valid --count 1 --seed 1 | python3 -c '
import json, sys
open(sys.argv[1], "wb").write(json.loads(sys.stdin.readline())["body"].encode())' "$work/body.json"
  oha --no-tui --output-format json -c "$CONNECTIONS" -q "$RATE" --latency-correction \
    -z "${DURATION}s" -m POST -H "Authorization: Bearer bench-token" \
    -H "Content-Type: application/json" -D "$work/body.json" "$url/me/devices" >"$work/oha.json"
  python3 - "$work/open.json" "$work/oha.json" <<'PY'
import json, sys
ours = json.load(open(sys.argv[1]))["requests"]["all"]["latency_ms"]
oha = json.load(open(sys.argv[2]))
p = {k: v * 1000 for k, v in oha["latencyPercentiles"].items()}
print(f"oha -q (latency correction): {oha['summary']['requestsPerSec']:.1f} req/s, "
      f"p50 {p['p50']:.3f} ms, p99 {p['p99']:.3f} ms; ours/oha p50 {ours['p50'] / p['p50']:.2f}, "
      f"p99 {ours['p99'] / p['p99']:.2f} (below 1: ours is lower)")
PY
fi
