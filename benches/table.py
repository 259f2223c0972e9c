#!/usr/bin/env python3
"""Prints the last `cargo bench --bench devices` run as a Markdown table.

Reads criterion's estimates under target/criterion and, per `<operation>/<payload>` group,
shows each implementation's median time, throughput, and speed relative to the group's
baseline (serde_json-value), all from the same run.

    cargo bench --bench devices && python3 benches/table.py
"""
import json
import pathlib
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/criterion")
BASELINE = "serde_json-value"
rows = {}
for bench in sorted(root.glob("*/*/new/benchmark.json")):
    meta = json.loads(bench.read_text())
    est = json.loads((bench.parent / "estimates.json").read_text())
    median_ns = est["median"]["point_estimate"]
    tp = meta.get("throughput") or {}
    nbytes = tp.get("Bytes") or tp.get("BytesDecimal")
    group = meta["group_id"]
    rows.setdefault(group, {})[meta["function_id"]] = (median_ns, nbytes)

print("| benchmark | median | throughput | speed vs serde_json::Value |")
print("|---|---:|---:|---:|")
for group, impls in rows.items():
    base = impls.get(BASELINE, (None, None))[0]
    for name, (ns, nbytes) in sorted(impls.items()):
        t = f"{ns / 1000:.2f} µs" if ns >= 1000 else f"{ns:.0f} ns"
        mbs = f"{nbytes / ns * 1e9 / 1e6:.0f} MB/s" if nbytes else ""
        ratio = f"{base / ns:.2f}x" if base else ""
        print(f"| `{group}/{name}` | {t} | {mbs} | {ratio} |")
