#!/usr/bin/env python3
"""Prints the last `cargo bench --bench devices` run as a Markdown table.

Reads criterion's estimates under target/criterion and, per `<operation>/<payload>` group,
shows each implementation's median time, throughput, and speed relative to the group's
baseline (serde_json-value, or the proptest strategy for generation), all from the same
run.

    cargo bench --bench devices && python3 benches/table.py
"""
import json
import pathlib
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/criterion")
BASELINES = ("serde_json-value", "proptest")
rows = {}
for bench in sorted(root.glob("*/*/new/benchmark.json")):
    meta = json.loads(bench.read_text())
    est = json.loads((bench.parent / "estimates.json").read_text())
    median_ns = est["median"]["point_estimate"]
    tp = meta.get("throughput") or {}
    group = meta["group_id"]
    rows.setdefault(group, {})[meta["function_id"]] = (median_ns, tp)


def throughput(ns, tp):
    if "Bytes" in tp:
        return f"{tp['Bytes'] / ns * 1e9 / 1e6:.0f} MB/s"
    if "Elements" in tp:
        return f"{tp['Elements'] / ns * 1e9 / 1e3:.0f} k/s"
    return ""


print("| benchmark | median | throughput | speed vs baseline |")
print("|---|---:|---:|---:|")
for group, impls in rows.items():
    base = next((b for b in BASELINES if b in impls), None)
    for name, (ns, tp) in sorted(impls.items()):
        t = f"{ns / 1000:.2f} µs" if ns >= 1000 else f"{ns:.0f} ns"
        ratio = f"{impls[base][0] / ns:.2f}x vs `{base}`" if base else ""
        print(f"| `{group}/{name}` | {t} | {throughput(ns, tp)} | {ratio} |")
