#!/usr/bin/env bash
# Durable (SQLite, synchronous=FULL, group commit) against in-memory create throughput of
# the reference server, and both against the trivial endpoint (loadtests/trivial_endpoint.rs,
# 201 at once: the ceiling of this machine, client and server), measured side by side on
# loopback with oha; then p50 and p99 latency of durable creates at half the durable
# maximum rate.
#
# Ratios that hold on a noisy machine, as the interleaved bench does for the parser: the
# three servers are measured in short slices, round after round (a different one first
# each round), and each ratio is the median of the rounds' ratios with its range, so a
# slow minute of the machine lands on both sides of a ratio. The half-rate latency is
# measured once per round too; its median and range are printed.
#
# Each goal (and, with BASELINE, each comparison) is judged on the median's 95%
# confidence interval from the rounds' order statistics (no assumption on how the rounds
# spread; 6 rounds at least, 9 give the 2nd to 8th of 9): "met" or "missed" only when the
# whole interval is on one side, else "not decided by these rounds". A verdict assumes
# the rounds are alike, which a machine whose speed drifts within minutes only
# approaches; runs minutes apart are the check of that.
#
#   loadtests/bench-server.sh                       # 9 rounds, 3 s slices, 64 connections
#   ROUNDS=15 SLICE=2s CONNECTIONS=32 loadtests/bench-server.sh
#   BASELINE=/tmp/before/devices-harness loadtests/bench-server.sh
#
# Each slice also reads every server thread's CPU time from /proc (user + system, before
# and after) and prints the server's CPU per create, and for the durable servers its
# split by thread (tokio's workers, the store thread, the checkpoint thread): the work a
# create costs, which a change to the store moves directly, beside the rate, which moves
# with everything else on the machine too.
#
# BASELINE, another build of devices-harness (the one before a change), adds its durable
# server to every round, in turn with the others, and prints durable / baseline durable:
# how a change to the store is measured here. Runs of this script minutes apart moved
# durable/in-memory by a tenth, more than most changes to the store are worth, so the two
# builds are compared inside the same rounds, never across runs; with BASELINE the CPU per
# create of the two is compared round by round too.
#
# Needs oha (`cargo install oha --locked`). Traffic goes to 127.0.0.1 only, bounded in
# time (about ROUNDS x 4 slices, plus a warm-up slice each); the servers are stopped at
# the end.
set -euo pipefail
cd "$(dirname "$0")/.."
source loadtests/common.sh
CONNECTIONS=${CONNECTIONS:-64}
ROUNDS=${ROUNDS:-9}
SLICE=${SLICE:-3s}
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
  echo $! >"$work/$name.pid"
  url_from "$work/$name.out"
}

# The CPU time (user + system, clock ticks) each thread of a server has used so far, one
# "name ticks" line per thread (the thread's name from the kernel, 15 characters at most).
cpu() { # pid
  local t
  for t in /proc/"$1"/task/*; do
    [ -r "$t/stat" ] || continue
    printf '%s %s\n' "$(tr ' ' _ <"$t/comm")" "$(sed 's/.*) //' "$t/stat" | awk '{print $12 + $13}')"
  done
}

measure() { # server, file name, extra oha args... -> $work/<file>.json, .cpu0 and .cpu1
  local n=$1 out=$work/$2 pid; shift 2
  pid=$(cat "$work/$n.pid")
  cpu "$pid" >"$out.cpu0"
  attack "${url[$n]}" "$@" >"$out.json"
  cpu "$pid" >"$out.cpu1"
}

attack() { # url, extra oha args... -> JSON summary
  local url=$1; shift
  oha --no-tui --output-format json -c "$CONNECTIONS" -z "$SLICE" -m POST \
    -H "Authorization: Bearer $token" -H "Content-Type: application/json" \
    -D tests/data/seed-example-request.json "$@" "$url/me/devices"
}

declare -A url
url[durable]=$(start durable --db "$work/devices.db")
url[memory]=$(start memory --memory)
target/release/examples/trivial-endpoint 127.0.0.1:0 >"$work/trivial.out" 2>&1 &
pids+=($!)
echo $! >"$work/trivial.pid"
url[trivial]=$(url_from "$work/trivial.out")
names=(trivial memory durable)
if [ -n "${BASELINE:-}" ]; then
  [ -x "$BASELINE" ] || { echo "BASELINE is not an executable: $BASELINE" >&2; exit 2; }
  "$BASELINE" serve --addr 127.0.0.1:0 --users "$work/users.json" --db "$work/baseline.db" \
    >"$work/baseline.out" 2>&1 &
  pids+=($!)
  echo $! >"$work/baseline.pid"
  url[baseline]=$(url_from "$work/baseline.out")
  names+=(baseline)
fi
count=${#names[@]}
for n in "${names[@]}"; do attack "${url[$n]}" >/dev/null; done   # warm-up
for r in $(seq 0 $((ROUNDS - 1))); do
  for i in $(seq 0 $((count - 1))); do
    n=${names[$(((r + i) % count))]}
    measure "$n" "$n-$r"
  done
  # Half of this round's durable maximum.
  half=$(python3 -c "import json;print(max(1,int(json.load(open('$work/durable-$r.json'))['summary']['requestsPerSec']/2)))")
  measure durable "half-$r" -q "$half"
done

python3 - "$work" "$CONNECTIONS" "$SLICE" "$ROUNDS" "${BASELINE:-}" <<'PY'
import functools, json, math, os, statistics, sys
work, conns, slice_, rounds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
baseline = sys.argv[5]
@functools.cache
def load(n, r): return json.load(open(f"{work}/{n}-{r}.json"))
def rps(j): return j["summary"]["requestsPerSec"]
def p99(j): return j["latencyPercentiles"]["p99"] * 1000
def p50(j): return j["latencyPercentiles"]["p50"] * 1000
def statuses(n):
    total = {}
    for r in range(rounds):
        for k, v in load(n, r).get("statusCodeDistribution", {}).items():
            total[k] = total.get(k, 0) + v
    return ", ".join(f"{k}: {v}" for k, v in sorted(total.items()))
def requests(j): return sum(j.get("statusCodeDistribution", {}).values())
TICK_US = 1e6 / os.sysconf("SC_CLK_TCK")
@functools.cache
def threads(f):
    """CPU microseconds each kind of thread used in one slice (the two snapshots' difference)."""
    def read(suffix):
        ticks = {}
        for line in open(f"{work}/{f}.{suffix}"):
            name, t = line.rsplit(None, 1)
            kind = ("workers" if name.startswith("tokio") else
                    {"devices-store": "store", "devices-checkpo": "checkpoint"}.get(name, "other"))
            ticks[kind] = ticks.get(kind, 0) + int(t)
        return ticks
    before, after = read("cpu0"), read("cpu1")
    return {k: (v - before.get(k, 0)) * TICK_US for k, v in after.items()}
def cpu_per_create(n, r, kind=None):
    used = threads(f"{n}-{r}")
    total = used.get(kind, 0) if kind else sum(used.values())
    return total / max(1, requests(load(n, r)))
def summary(xs, fmt):
    return f"{fmt(statistics.median(xs))} ({fmt(min(xs))}-{fmt(max(xs))})"
def median_interval(xs):
    """The median's distribution-free confidence interval, at least 95%: the k-th smallest
    and k-th largest of the rounds for the largest k with P(Binomial(n, 1/2) < k) <= 2.5%,
    and its exact coverage; None for fewer than 6 rounds."""
    n, s = len(xs), sorted(xs)
    k, below = 0, 0.0  # below = P(Binomial(n, 1/2) < k)
    while k < n // 2 and below + math.comb(n, k) / 2**n <= 0.025:
        below += math.comb(n, k) / 2**n
        k += 1
    if k == 0:
        return None
    return s[k - 1], s[n - k], 1 - 2 * below
def judged(xs, fmt, bound, at_least, words=("met", "missed", "not decided")):
    """The median's interval and the verdict against `bound` ("at least" or "under")."""
    ci = median_interval(xs)
    if ci is None:
        return f"{words[2]}: {rounds} rounds give the median no 95% interval (ROUNDS=6 or more)"
    lo, hi, cover = ci
    good, bad = (lo >= bound, hi < bound) if at_least else (hi < bound, lo >= bound)
    verdict = words[0] if good else words[1] if bad else f"{words[2]} by {rounds} rounds"
    return f"the median {fmt(lo)}-{fmt(hi)} ({cover:.0%}): {verdict}"
rows = [("trivial endpoint (the ceiling), max rate", "trivial"),
        ("in-memory (`--memory`), max rate", "memory"),
        ("durable (SQLite, synchronous=FULL), max rate", "durable"),
        ("durable at half its max rate", "half")]
if baseline:
    rows.append((f"baseline durable (`{baseline}`), max rate", "baseline"))
print(f"{rounds} rounds of {slice_} slices, {conns} connections; median (range) over the rounds\n")
print("| measurement | creates/s | p50 ms | p99 ms | server CPU us/create | statuses |")
print("|---|---:|---:|---:|---:|---|")
for label, n in rows:
    js = [load(n, r) for r in range(rounds)]
    print(f"| {label} | {summary([rps(j) for j in js], lambda v: f'{v:,.0f}')} "
          f"| {summary([p50(j) for j in js], lambda v: f'{v:.2f}')} "
          f"| {summary([p99(j) for j in js], lambda v: f'{v:.2f}')} "
          f"| {summary([cpu_per_create(n, r) for r in range(rounds)], lambda v: f'{v:.1f}')} "
          f"| {statuses(n)} |")
def ratio(a, b): return [rps(load(a, r)) / rps(load(b, r)) for r in range(rounds)]
f2 = lambda v: f"{v:.2f}"
print()
def goal(label, xs, bound, at_least, unit=""):
    side = "at least" if at_least else "under"
    print(f"{label} = {summary(xs, f2)}{unit}; goal {side} {f2(bound)}{unit}, "
          f"{judged(xs, f2, bound, at_least)}")
goal("in-memory / trivial", ratio('memory', 'trivial'), 0.5, True)
print(f"durable / trivial = {summary(ratio('durable', 'trivial'), f2)}")
goal("durable / in-memory", ratio('durable', 'memory'), 0.7, True)
goal("durable p99 at half its max rate", [p99(load('half', r)) for r in range(rounds)], 5.0,
     False, " ms")
f1 = lambda v: f"{v:.1f}"
print()
for label, n in rows[2:]:
    per_kind = {k: [cpu_per_create(n, r, k) for r in range(rounds)]
                for k in ["workers", "store", "checkpoint", "other"]}
    split = ", ".join(f"{k} {summary(xs, f1)}" for k, xs in per_kind.items() if any(xs))
    print(f"server CPU us/create by thread, {label}: {split}")
if baseline:
    print()
    faster = ("faster", "slower", "no difference shown")
    cheaper = ("cheaper", "costlier", "no difference shown")
    rate_ratio = ratio('durable', 'baseline')
    print(f"durable / baseline durable = {summary(rate_ratio, f2)}; "
          f"{judged(rate_ratio, f2, 1.0, True, faster)}")
    cpu_ratio = [cpu_per_create("durable", r) / cpu_per_create("baseline", r) for r in range(rounds)]
    print(f"durable CPU / baseline durable CPU per create = {summary(cpu_ratio, f2)}; "
          f"{judged(cpu_ratio, f2, 1.0, False, cheaper)}")
PY
