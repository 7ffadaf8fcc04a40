#!/usr/bin/env python3
"""Prints the side-by-side table of `cargo bench -p mcp-bench` from criterion's estimates:
the median of each group's `ours` and `rmcp`, and the ratio rmcp / ours (above 1: ours is
faster). Run from the repository root after the bench."""
import glob
import json
import os
import sys

root = os.environ.get("CARGO_TARGET_DIR", "target")


def fmt(ns):
    return f"{ns / 1000:.2f} µs" if ns >= 1000 else f"{ns:.0f} ns"


print("| message | ours (median) | rmcp (median) | rmcp / ours |")
print("|---|---|---|---|")
found = 0
for group_dir in sorted(glob.glob(os.path.join(root, "criterion", "*", ""))):
    medians = {}
    for side in ("ours", "rmcp"):
        path = os.path.join(group_dir, side, "new", "estimates.json")
        if os.path.exists(path):
            with open(path) as f:
                medians[side] = json.load(f)["median"]["point_estimate"]
    if len(medians) == 2:
        found += 1
        group = os.path.basename(os.path.dirname(group_dir)).replace("_", "/")
        ours, rmcp = medians["ours"], medians["rmcp"]
        print(f"| {group} | {fmt(ours)} | {fmt(rmcp)} | {rmcp / ours:.2f}× |")
if not found:
    sys.exit("no results: run `cargo bench -p mcp-bench` first")
