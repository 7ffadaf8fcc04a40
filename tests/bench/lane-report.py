#!/usr/bin/env python3
"""What the Lambda lane recorded, per function and message: invocations (cold and warm), the
time from the event's handout to the end of its response, and the remote calls each made:
DynamoDB and other AWS requests as the lane's AWS endpoint saw them, Redis commands as the
function counted them (its metrics line). Also checks that no call was one the deployed stack
would deny.

    tests/bench/lane-report.py [--check] DIR...     # DIRs hold invocations.jsonl / denied.jsonl

With --check it exits 1 when any denied.jsonl holds a line, naming each (function, action,
resource). The table goes to stdout (Markdown)."""
import collections
import glob
import json
import os
import statistics
import sys


def kind(record):
    """The message an invocation served: its metrics line's method, else its route."""
    for m in record.get("metrics", []):
        if m.get("event") == "mcp::served" and m.get("method"):
            era = "2026" if m.get("era") == "2026-07-28" else "session"
            return f"{m['method']} ({m.get('transport', '?')}, {era})"
    name = record["function"].rsplit("-", 1)[-1]
    return {
        "WsConnectFunction": "$connect",
        "WsDisconnectFunction": "$disconnect",
        "WsSweeperFunction": "scheduled sweep",
        "AuthorizerFunction": "$connect authorizer",
    }.get(name, "(no message served: a GET stream, a DELETE, a refusal)")


def counts(record):
    """Remote calls of one invocation: DynamoDB, Redis, @connections, Secrets Manager, other."""
    by_service = collections.Counter(r.get("service") or "?" for r in record.get("aws_requests", []))
    redis = sum(m.get("redis_calls", 0) for m in record.get("metrics", []) if m.get("event") == "mcp::served")
    return {
        "dynamodb": by_service.pop("dynamodb", 0),
        "redis": redis,
        "connections": by_service.pop("execute-api", 0),
        "secrets": by_service.pop("secretsmanager", 0),
        "other": sum(by_service.values()),
    }


def spread(values):
    if not values:
        return "-"
    lo, hi, mid = min(values), max(values), statistics.median(values)
    return f"{mid:g}" if lo == hi else f"{mid:g} ({lo:g}-{hi:g})"


def main(argv):
    check = "--check" in argv
    dirs = [a for a in argv if a != "--check"]
    denied, records = [], []
    for d in dirs:
        for path in glob.glob(os.path.join(d, "**", "denied.jsonl"), recursive=True):
            with open(path) as f:
                denied += [json.loads(line) for line in f if line.strip()]
        for path in glob.glob(os.path.join(d, "**", "invocations.jsonl"), recursive=True):
            with open(path) as f:
                records += [json.loads(line) for line in f if line.strip()]
    groups = collections.defaultdict(list)
    for r in records:
        if r.get("duration_ms") is None or r.get("error"):
            continue
        function = r["function"].rsplit("-", 1)[-1]
        groups[(function, kind(r), "cold" if r["cold"] else "warm")].append(r)
    print("| function | message | start | invocations | event to reply, ms (median) | DynamoDB | Redis | @connections | Secrets Manager | other AWS |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for (function, message, start), rs in sorted(groups.items()):
        c = [counts(r) for r in rs]
        durations = [r["duration_ms"] for r in rs]
        print(
            f"| {function} | {message} | {start} | {len(rs)} | {statistics.median(durations):.1f} | "
            + " | ".join(spread([x[k] for x in c]) for k in ("dynamodb", "redis", "connections", "secrets", "other"))
            + " |"
        )
    failed = [r for r in records if r.get("error")]
    print(f"\n{len(records)} invocations recorded, {len(failed)} failed (timeouts, crashes, throttles, function errors; left out of the table)")
    if denied:
        print(f"\n{len(denied)} call(s) the deployed stack would deny:", file=sys.stderr)
        for d in denied:
            print(f"  {d['function']}: {d['action']} on {d['resource']}", file=sys.stderr)
        if check:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
