#!/usr/bin/env bash
# Is the load generator ever what limits a measurement? `devices-harness load` (with its
# direct client, and with goose's) against `oha` (and `wrk` when installed), at the same
# connection count, against a trivial loopback endpoint that answers 201 at once
# (loadtests/trivial_endpoint.rs). Prints requests/s of each, their ratio, and how much
# of the load generator's CPU went into generating payloads.
#
# The ratio that matters (the direct client against oha) is measured in rounds: oha and
# `load` alternate in slices of DURATION seconds (a different one first each round), and
# the ratio is the median of the rounds' ratios with its range, so a slow minute of the
# machine lands on both sides of it. goose's client and wrk are measured once.
#
#   loadtests/bench-load.sh                              # 32 connections, 5 rounds of 5 s
#   CONNECTIONS=64 ROUNDS=3 DURATION=5 loadtests/bench-load.sh
#
# Needs oha (`cargo install oha --locked`); wrk (Debian package `wrk`) is optional.
# Traffic goes to 127.0.0.1 only, bounded in time; the endpoint is stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
source loadtests/common.sh
CONNECTIONS=${CONNECTIONS:-32}
DURATION=${DURATION:-5}
ROUNDS=${ROUNDS:-5}
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

oha_rps() {
  oha --no-tui --output-format json -c "$CONNECTIONS" -z "${DURATION}s" -m POST \
    -H "Authorization: Bearer $token" -H "Content-Type: application/json" -D "$body" \
    "$url/me/devices" | python3 -c 'import json,sys; print(round(json.load(sys.stdin)["summary"]["requestsPerSec"]))'
}

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
read -r goose_rps goose_share < <(load goose)

for r in $(seq 0 $((ROUNDS - 1))); do
  if [ $((r % 2)) -eq 0 ]; then
    o=$(oha_rps); read -r d share < <(load auto)
  else
    read -r d share < <(load auto); o=$(oha_rps)
  fi
  echo "$o $d $share" >>"$work/rounds"
done

echo "connections $CONNECTIONS, $ROUNDS rounds of $DURATION s, against $url (201 at once)"
[ -n "$wrk_rps" ] && echo "wrk (once):                           $wrk_rps requests/s"
python3 - "$work/rounds" "$goose_rps" "$goose_share" <<'PY'
import statistics, sys
rounds = [tuple(map(float, line.split())) for line in open(sys.argv[1])]
goose, goose_share = float(sys.argv[2]), sys.argv[3]
def summary(xs, fmt):
    return f"{fmt(statistics.median(xs))} ({fmt(min(xs))}-{fmt(max(xs))})"
n = lambda v: f"{v:,.0f}"
oha = [o for o, _, _ in rounds]
print(f"oha:                                  {summary(oha, n)} requests/s, median (range)")
print(f"devices-harness load (direct client): {summary([d for _, d, _ in rounds], n)} requests/s "
      f"(payload generation: {statistics.median(s for _, _, s in rounds):.2f}% of its CPU)")
print(f"devices-harness load --client goose:  {n(goose)} requests/s once (payload generation: {goose_share}% of its CPU)")
ratios = [d / o for o, d, _ in rounds]
print(f"load / oha = {summary(ratios, lambda v: f'{v:.2f}')} over the rounds (goal: at least 0.8); "
      f"with goose's client {goose / statistics.median(oha):.2f} of oha's median")
PY
