#!/usr/bin/env bash
# Does the open model keep its schedule? `devices-harness load --rate R` against the
# trivial loopback endpoint (loadtests/trivial_endpoint.rs, 201 at once), so what is
# measured is the generator: the rate sent against the rate asked for, the requests
# dropped (no free connection), and the scheduling lag (actual start minus scheduled
# start, taken when the request's task first runs), read from the open model's JSON
# report. When oha is installed, oha at the same rate with `--latency-correction` (its
# latency also counts from the scheduled start) is the baseline for the latency
# percentiles.
#
# In rounds, as the other bench scripts: ours and oha alternate in slices of DURATION
# seconds (a different one first each round); each figure is the median of the rounds
# with its range, and the latency ratios are medians of the rounds' ratios.
#
#   loadtests/bench-open.sh                       # 20,000 req/s, 5 rounds of 10 s, 256 connections
#   RATE=5000 ROUNDS=3 loadtests/bench-open.sh
#
# Traffic goes to 127.0.0.1 only, bounded in time; the endpoint is stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
source loadtests/common.sh
RATE=${RATE:-20000}
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-5}
CONNECTIONS=${CONNECTIONS:-256}
cargo build --release --quiet --bin devices-harness --example trivial-endpoint
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
target/release/examples/trivial-endpoint 127.0.0.1:0 >"$work/endpoint.out" &
pid=$!
url=$(url_from "$work/endpoint.out")

steal() { # the machine's stolen time so far (/proc/stat, in 1/100 s): a hypervisor's
  # other guests running on our virtual CPUs; 0 where not virtualized or not reported.
  awk '/^cpu /{print $9 + 0}' /proc/stat
}
ours() { # round
  # Creates only; the endpoint stores nothing, so no read-back and nothing to delete.
  local before; before=$(steal)
  trap 'echo $(( $(steal) - before )) >"$work/steal-$1"' RETURN
  target/release/devices-harness load --target "$url" --token bench-token \
    --user-id 11111111-2222-4333-8444-555555555555 --rate "$RATE" --run-time "${DURATION}s" \
    --max-connections "$CONNECTIONS" --malformed-ratio 0 --integrity off --keep \
    --json "$work/open-$1.json" >"$work/load.out" || true
}
oha_round() { # round
  oha --no-tui --output-format json -c "$CONNECTIONS" -q "$RATE" --latency-correction \
    -z "${DURATION}s" -m POST -H "Authorization: Bearer bench-token" \
    -H "Content-Type: application/json" -D "$work/body.json" "$url/me/devices" >"$work/oha-$1.json"
}
with_oha=
if command -v oha >/dev/null; then
  with_oha=1
  target/release/devices-harness gen --valid --count 1 --seed 1 | python3 -c '
import json, sys
open(sys.argv[1], "wb").write(json.loads(sys.stdin.readline())["body"].encode())' "$work/body.json"
fi
for r in $(seq 0 $((ROUNDS - 1))); do
  if [ -z "$with_oha" ]; then
    ours "$r"
  elif [ $((r % 2)) -eq 0 ]; then
    ours "$r"; oha_round "$r"
  else
    oha_round "$r"; ours "$r"
  fi
done

python3 - "$work" "$ROUNDS" "$with_oha" "$RATE" "$DURATION" "$CONNECTIONS" <<'PY'
import json, os, statistics, sys
work, rounds, with_oha = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
rate, duration, conns = sys.argv[4], sys.argv[5], sys.argv[6]
def summary(xs, fmt):
    return f"{fmt(statistics.median(xs))} ({fmt(min(xs))}-{fmt(max(xs))})"
ms = lambda v: f"{v:.3f}"
ours = [json.load(open(f"{work}/open-{r}.json")) for r in range(rounds)
        if os.path.exists(f"{work}/open-{r}.json")]
if len(ours) < rounds:
    sys.exit(f"only {len(ours)} of {rounds} rounds wrote a report")
print(f"{rounds} rounds of {duration} s at {rate} req/s, {conns} connections; median (range) over the rounds")
print(f"sent / asked: {summary([r['achieved_rate'] / r['target_rate'] for r in ours], lambda v: f'{v:.4f}')}; "
      f"dropped {sum(r['dropped'] for r in ours)} of {sum(r['scheduled'] for r in ours)}")
lag = [r["lag"]["latency_ms"] for r in ours]
print(f"scheduling lag: p50 {summary([l['p50'] for l in lag], ms)} ms, "
      f"p99 {summary([l['p99'] for l in lag], ms)} ms (goal: under 1 ms)")
stolen = [int(open(f"{work}/steal-{r}").read()) * 10 for r in range(rounds)]
print("per round, lag p99 ms (time stolen from this VM by its hypervisor meanwhile, ms): "
      + ", ".join(f"{l['p99']:.3f} ({s})" for l, s in zip(lag, stolen)))
lat = [r["requests"]["all"]["latency_ms"] for r in ours]
print(f"latency from the scheduled start: p50 {summary([a['p50'] for a in lat], ms)} ms, "
      f"p99 {summary([a['p99'] for a in lat], ms)} ms")
if with_oha:
    oha = [json.load(open(f"{work}/oha-{r}.json")) for r in range(rounds)]
    p = [{k: v * 1000 for k, v in o["latencyPercentiles"].items()} for o in oha]
    print(f"oha -q (latency correction): {summary([o['summary']['requestsPerSec'] for o in oha], lambda v: f'{v:,.0f}')} req/s, "
          f"p50 {summary([x['p50'] for x in p], ms)} ms, p99 {summary([x['p99'] for x in p], ms)} ms")
    f2 = lambda v: f"{v:.2f}"
    print(f"ours / oha: p50 {summary([a['p50'] / x['p50'] for a, x in zip(lat, p)], f2)}, "
          f"p99 {summary([a['p99'] / x['p99'] for a, x in zip(lat, p)], f2)} (below 1: ours is lower)")
PY
