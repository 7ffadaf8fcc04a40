#!/usr/bin/env python3
"""The scale model: what a deployment of infra/template.yaml costs and where it stops, for a
large WebSocket workload, computed from what the functions were measured to do.

    tests/bench/capacity.py DIR...          # DIRs hold the Lambda lane's invocations.jsonl

The per-message figures are not assumed: they are the means the Lambda lane recorded for
each kind of message (warm invocations of ws-message; `$connect`, `$disconnect` and the
authorizer for connection churn): the event-to-reply time (billed per invocation, rounded up
to the millisecond), the DynamoDB reads and writes and the `@connections` posts the lane's
AWS endpoint saw, and the Redis commands the function counted.
The edge's own Redis calls (the rate counter, the in-flight slot), which the function's metrics
line does not count yet, are added (EDGE_REDIS_CALLS). A synthetic workload (connections,
messages a second, their mix, how long a connection lives, one large fan-out) is then replayed
through those figures against AWS's prices and quotas (PRICES, QUOTAS: us-east-1, with the
page each comes from in docs/capacity.md). When the code makes fewer calls, the lane records
fewer and the model moves with it.

Output: Markdown (docs/capacity.md's tables)."""
import argparse
import collections
import glob
import json
import math
import os
import statistics
import sys

# ---------------------------------------------------------------- prices and quotas (us-east-1)
PRICES = {
    # API Gateway WebSocket: messages (sent and received, metered in 32 KB units), first 1 billion a month.
    "apigw_message_per_million": 1.00,
    "apigw_message_per_million_beyond_1b": 0.80,
    "apigw_connection_minute_per_million": 0.25,
    # Lambda, arm64.
    "lambda_gb_second_arm64": 0.0000133334,
    "lambda_request_per_million": 0.20,
    # DynamoDB on demand (after the November 2024 price cut).
    "dynamodb_write_unit_per_million": 0.625,
    "dynamodb_read_unit_per_million": 0.125,
    # ElastiCache Serverless for Valkey.
    "elasticache_ecpu_per_million": 0.0023,
    "elasticache_gb_hour": 0.084,
    # NAT gateway.
    "nat_hour": 0.045,
    "nat_gb": 0.045,
    # What a user would price instead.
    "agentcore_gateway_invocation_per_thousand": 0.005,
    "cloudflare_do_request_per_million": 0.15,
    "cloudflare_do_gb_second": 0.0000125,
    "fargate_arm_vcpu_hour": 0.03238,
    "fargate_arm_gb_hour": 0.00356,
    "alb_hour": 0.0225,
    "alb_lcu_hour": 0.008,
}
QUOTAS = {
    "apigw_new_connections_per_second": 500,
    "apigw_account_requests_per_second": 10_000,
    "apigw_connection_hours": 2,
    "lambda_concurrency": 1_000,
    "lambda_scale_per_10s": 1_000,
    "dynamodb_partition_rcu": 3_000,
    "dynamodb_partition_wcu": 1_000,
    # Not published as a quota (a cache's usage limit is the user's); the order of magnitude
    # AWS quotes for one serverless cache, unverified.
    "elasticache_serverless_ecpu_per_second": 5_000_000,
}
# The edge's Redis calls per message outside the function's count, in the deployed
# configuration (a rate limit and MaxInFlight are on by default): the rate counter, and over
# WebSocket the in-flight slot taken and given back.
EDGE_REDIS_CALLS = {"websocket": 3, "http": 1}
MEMORY_GB = 256 / 1024  # the template's MemorySize default
SECONDS_A_MONTH = 30 * 24 * 3600
# Bytes through the NAT gateway per @connections post (request and response, TLS framing):
# the functions run in the VPC with Redis, and the @connections API is public.
NAT_BYTES_PER_POST = 1_500
# A container serving the same requests: requests a second one vCPU sustains at half load
# (PERFORMANCE.md: about 21 µs of CPU a request in process, i.e. ~47,000 a second a core).
CONTAINER_REQUESTS_PER_VCPU = 20_000
# Cloudflare bills incoming WebSocket messages to a Durable Object 20 to 1 as requests.
CLOUDFLARE_MESSAGES_PER_REQUEST = 20


def kind(record):
    for m in record.get("metrics", []):
        if m.get("event") == "mcp::served" and m.get("method"):
            era = "2026" if m.get("era") == "2026-07-28" else "session"
            return m["method"], m.get("transport", "?"), era
    return None


def measure(dirs):
    """Per (function, method, transport, era) of warm invocations: median duration and calls."""
    records = []
    for d in dirs:
        for path in glob.glob(os.path.join(d, "**", "invocations.jsonl"), recursive=True):
            returned = replies_returned(path)
            with open(path) as f:
                records += [dict(json.loads(line), replies_returned=returned) for line in f if line.strip()]
    groups = collections.defaultdict(list)
    for r in records:
        if r.get("duration_ms") is None or r.get("error") or r.get("cold"):
            continue
        function = r["function"].rsplit("-", 1)[-1]
        k = kind(r)
        label = k if k else (None, None, None)
        groups[(function,) + label].append(r)
    figures = {}
    for key, rs in groups.items():
        is_request = key[1] is not None and not key[1].startswith("notifications/")
        services = [collections.Counter(a.get("service") for a in r.get("aws_requests", [])) for r in rs]
        writes = [sum(1 for a in r.get("aws_requests", []) if a.get("service") == "dynamodb" and is_write(a)) for r in rs]
        redis = [sum(m.get("redis_calls", 0) for m in r.get("metrics", []) if m.get("event") == "mcp::served") for r in rs]
        figures[key] = {
            "n": len(rs),
            "ms": statistics.mean(r["duration_ms"] for r in rs),
            "billed_ms": statistics.mean(math.ceil(r["duration_ms"]) for r in rs),
            "dynamodb": statistics.mean(s.get("dynamodb", 0) for s in services),
            "dynamodb_writes": statistics.mean(writes),
            "redis": statistics.mean(redis),
            "posts": statistics.mean(s.get("execute-api", 0) for s in services),
            # Messages to the client: the posts, and a request's reply when it was returned.
            "out": statistics.mean(
                s.get("execute-api", 0) + (1 if r["replies_returned"] and is_request else 0)
                for s, r in zip(services, rs)
            ),
        }
    return figures


def replies_returned(records_path):
    """Whether the lane run that wrote `records_path` returned replies as `$default`
    responses (its api-gateway.json, beside it, written at the first; without it every reply
    was posted): each such reply is a message out that the lane counts as no post."""
    path = os.path.join(os.path.dirname(records_path), "api-gateway.json")
    if not os.path.exists(path):
        return False
    with open(path) as f:
        return bool(json.load(f).get("replies_returned"))


def is_write(request):
    """Whether a DynamoDB request the lane saw writes (billed in write units)."""
    actions = [c.get("action", "") for c in request.get("calls", [])]
    return any(a.split(":")[-1] in ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem") for a in actions)


def pick(figures, function, method=None, transport=None, era=None):
    f = figures.get((function, method, transport, era))
    if f is None:
        wanted = f"{function} {method or ''} {transport or ''} {era or ''}".strip()
        sys.exit(f"capacity: the lane recorded no warm invocation of {wanted}; run the suites that send it")
    return f


def money(x):
    return f"${x:,.2f}" if x >= 1 else f"${x:,.4f}"


NO_FIGURES = {"ms": 0.0, "billed_ms": 0.0, "dynamodb": 0.0, "dynamodb_writes": 0.0, "redis": 0.0, "posts": 0.0, "out": 0.0}


def scenario(figures, connections, rate, mix, life_s, post_ms):
    """Costs a month and the limits, for `connections` open WebSocket connections sending
    `rate` messages a second in the proportions of `mix`, each connection living `life_s`
    (at most API Gateway's 2 hours). `post_ms`: what a post adds to an invocation on AWS (the
    lane's posts are on loopback)."""
    life_s = min(life_s, QUOTAS["apigw_connection_hours"] * 3600)
    per = dict(NO_FIGURES)
    # Kinds the lane did not record warm are left out of the mix, and the rest weighed up.
    recorded = {kind: share for kind, share in mix.items() if ("WsMessageFunction", kind[0], "websocket", kind[1]) in figures}
    if not recorded:
        sys.exit("capacity: the lane recorded no warm WebSocket tools/call or tools/list; run the suites that send them")
    for (method, era), share in recorded.items():
        f = figures[("WsMessageFunction", method, "websocket", era)]
        for k in per:
            per[k] += share / sum(recorded.values()) * f[k]
    per["redis"] += EDGE_REDIS_CALLS["websocket"]
    per["ms"] += per["posts"] * post_ms
    per["billed_ms"] += per["posts"] * post_ms
    messages_out = per["out"]
    two_way = per["out"] - per["posts"] >= 0.5  # most replies went back as responses
    churn = connections / life_s  # new connections (and as many ends) a second
    connect = pick(figures, "WsConnectFunction")
    disconnect = pick(figures, "WsDisconnectFunction")
    authorizer = figures.get(("AuthorizerFunction", None, None, None), NO_FIGURES)
    starts_and_ends = (connect, disconnect, authorizer)
    p, month = PRICES, SECONDS_A_MONTH
    messages_month = rate * month
    units = rate * (1 + messages_out) * month  # each request in, each message out: one 32 KB unit each
    first = min(units, 1e9)
    apigw_messages = (first * p["apigw_message_per_million"] + (units - first) * p["apigw_message_per_million_beyond_1b"]) / 1e6
    apigw_minutes = connections * month / 60 * p["apigw_connection_minute_per_million"] / 1e6
    # Lambda: one invocation per message, one each per connection start (authorizer,
    # $connect) and end ($disconnect); billed per ms, rounded up.
    invocations = rate + churn * 3
    billed_ms = rate * per["billed_ms"] + churn * sum(f["billed_ms"] for f in starts_and_ends)
    lambda_cost = (billed_ms / 1000 * MEMORY_GB * p["lambda_gb_second_arm64"] + invocations / 1e6 * p["lambda_request_per_million"]) * month
    concurrency = (rate * per["ms"] + churn * sum(f["ms"] for f in starts_and_ends)) / 1000
    # DynamoDB: each request one unit (items here are under 1 KB written, 4 KB read; a strong
    # read is priced as one unit, an eventual one would be half).
    ddb_per_s = rate * per["dynamodb"] + churn * sum(f["dynamodb"] for f in starts_and_ends)
    ddb_writes = rate * per["dynamodb_writes"] + churn * sum(f["dynamodb_writes"] for f in starts_and_ends)
    ddb_cost = month / 1e6 * (
        ddb_writes * p["dynamodb_write_unit_per_million"] + (ddb_per_s - ddb_writes) * p["dynamodb_read_unit_per_million"]
    )
    redis_per_s = rate * per["redis"] + churn * sum(f["redis"] for f in starts_and_ends)
    ecpu_cost = redis_per_s * month / 1e6 * p["elasticache_ecpu_per_million"]
    # Data: a connection's record and session are in DynamoDB; Redis keeps counters and
    # versions (about 200 bytes per connection), at least the 100 MB minimum.
    redis_gb = max(connections * 200 / 1e9, 0.1)
    redis_data_cost = redis_gb * p["elasticache_gb_hour"] * 24 * 30
    nat_gb = rate * per["posts"] * NAT_BYTES_PER_POST * month / 1e9
    nat_cost = nat_gb * p["nat_gb"] + 2 * p["nat_hour"] * 24 * 30
    total = apigw_messages + apigw_minutes + lambda_cost + ddb_cost + ecpu_cost + redis_data_cost + nat_cost
    rows = [
        ("API Gateway messages", apigw_messages, f"{units / 1e9:,.1f} billion 32 KB units"),
        ("API Gateway connection-minutes", apigw_minutes, f"{connections * month / 60 / 1e9:,.1f} billion minutes"),
        ("Lambda", lambda_cost, f"{invocations:,.0f} invocations/s, {concurrency:,.0f} concurrent, {per['ms']:.2f} ms a message ({per['posts']:.2f} posts at {post_ms:g} ms)"),
        ("DynamoDB on demand", ddb_cost, f"{ddb_per_s:,.0f} requests/s, {ddb_writes:,.0f} of them writes ({per['dynamodb']:.2f} a message)"),
        ("ElastiCache Serverless ECPUs", ecpu_cost, f"{redis_per_s:,.0f} commands/s ({per['redis']:.2f} a message)"),
        ("ElastiCache Serverless data", redis_data_cost, f"{redis_gb:,.2f} GB"),
        ("NAT gateway (two AZs)", nat_cost, f"{nat_gb:,.0f} GB of @connections posts"),
    ]
    limits = [
        ("API Gateway new connections/s", churn, QUOTAS["apigw_new_connections_per_second"],
         "raise the quota; spread reconnects (jitter) so the 2-hour ends do not come at once"),
        ("API Gateway requests/s (account)", rate * (1 + per["posts"]), QUOTAS["apigw_account_requests_per_second"],
         "raise the account throttle" if two_way else "raise the account throttle; two-way replies (WebSocketReplies=route-response) post no reply"),
        ("Lambda concurrency", concurrency, QUOTAS["lambda_concurrency"], "raise the account concurrency"),
        ("ElastiCache ECPU/s", redis_per_s, QUOTAS["elasticache_serverless_ecpu_per_second"],
         "fold the edge's counters into one script per message"),
    ]
    return {
        "rows": rows, "total": total, "per_million": total / messages_month * 1e6, "limits": limits,
        "per": per, "churn": churn, "messages_month": messages_month,
    }


def fan_out_model(figures, subscribers, post_ms, shards):
    """One notification to `subscribers`: the posts, their time in one invocation, and the
    subscription rows read."""
    from_notifier = 32  # posts in flight per invocation (notifier.rs FAN_OUT_CONCURRENCY)
    budget_s = 10  # notifier.rs FAN_OUT_BUDGET
    seconds = subscribers / from_notifier * post_ms / 1000
    rows_bytes = subscribers * 200
    read_units = math.ceil(rows_bytes / 4096) / 2  # eventually consistent query
    per_shard = read_units / shards
    cost = subscribers / 1e6 * PRICES["apigw_message_per_million"] + read_units / 1e6 * PRICES["dynamodb_read_unit_per_million"]
    return {
        "seconds": seconds, "budget": budget_s, "delivered_in_budget": min(subscribers, int(budget_s * 1000 / post_ms * from_notifier)),
        "read_units": read_units, "per_shard": per_shard, "cost": cost,
    }


def peers(rate, connections, per_million_ours):
    p = PRICES
    agentcore = p["agentcore_gateway_invocation_per_thousand"] * 1000
    # A Durable Object holding the connections: messages in billed 20:1, replies free; one
    # object per 32,000 connections, hibernating between messages (duration not billed).
    cloudflare = p["cloudflare_do_request_per_million"] / CLOUDFLARE_MESSAGES_PER_REQUEST
    vcpus = math.ceil(rate / CONTAINER_REQUESTS_PER_VCPU)
    # An ALB's capacity units: the largest of its dimensions; with long-lived WebSockets that
    # is the active connections (3,000 per LCU), not new connections or rule evaluations.
    lcus = max(connections / 3_000, rate / 1_000)
    fleet_hour = vcpus * (p["fargate_arm_vcpu_hour"] + 2 * p["fargate_arm_gb_hour"]) + p["alb_hour"] + lcus * p["alb_lcu_hour"]
    container = fleet_hour / (rate * 3600) * 1e6
    return [
        ("this deployment (API Gateway + Lambda + DynamoDB + ElastiCache)", per_million_ours),
        ("AgentCore Gateway, per tool call (gateway only; the tool's own compute extra)", agentcore),
        ("Cloudflare Durable Objects, WebSocket messages in (20:1), hibernating", cloudflare),
        (f"a container fleet (Fargate arm64, {vcpus} vCPU at half load, one ALB holding the connections)", container),
    ]


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dirs", nargs="+")
    ap.add_argument("--connections", type=int, default=1_000_000)
    ap.add_argument("--rates", default="10000,100000")
    ap.add_argument("--connection-minutes", type=float, default=60, help="how long a connection lives")
    ap.add_argument("--fan-out", type=int, default=100_000)
    ap.add_argument("--post-ms", type=float, default=20, help="one PostToConnection round trip on AWS")
    a = ap.parse_args(argv)
    figures = measure(a.dirs)
    # The mix: 2026-07-28 clients mostly call tools; lists are served from the L1 mostly.
    mix = {("tools/call", "2026"): 0.6, ("tools/list", "2026"): 0.1, ("tools/call", "session"): 0.25, ("tools/list", "session"): 0.05}
    out = []
    out.append("Per message, as measured (warm, means of the lane's invocations; messages out: the posts,"
               " and the reply when the lane returned it as the `$default` response):\n")
    out.append("| function | message | n | ms | DynamoDB | Redis (function) | @connections | messages out |")
    out.append("|---|---|---:|---:|---:|---:|---:|---:|")
    for key, f in sorted(figures.items(), key=lambda kv: tuple(str(x) for x in kv[0])):
        function, method, transport, era = key
        label = f"{method} ({transport}, {era})" if method else "-"
        out.append(f"| {function} | {label} | {f['n']} | {f['ms']:.1f} | {f['dynamodb']:.2f} | {f['redis']:.2f} | {f['posts']:.2f} | {f['out']:.2f} |")
    for rate in [int(r) for r in a.rates.split(",")]:
        s = scenario(figures, a.connections, rate, mix, a.connection_minutes * 60, a.post_ms)
        out.append(f"\n### {a.connections:,} connections, {rate:,} messages/s, each connection living {a.connection_minutes:g} min\n")
        for method, era in mix:
            if ("WsMessageFunction", method, "websocket", era) not in figures:
                out.append(f"(no warm {method} over WebSocket in the {era} era was recorded: left out of the mix)\n")
        out.append("| item | a month | what |")
        out.append("|---|---:|---|")
        for name, cost, what in s["rows"]:
            out.append(f"| {name} | {money(cost)} | {what} |")
        out.append(f"| **total** | **{money(s['total'])}** | **{money(s['per_million'])} per million messages** |")
        out.append("\n| limit | needed | quota | first fix |")
        out.append("|---|---:|---:|---|")
        for name, need, quota, fix in sorted(s["limits"], key=lambda x: -x[1] / x[2]):
            mark = " **(exceeded)**" if need > quota else ""
            out.append(f"| {name} | {need:,.0f}{mark} | {quota:,} | {fix} |")
        out.append("\n| instead | per million messages |")
        out.append("|---|---:|")
        for name, cost in peers(rate, a.connections, s["per_million"]):
            out.append(f"| {name} | {money(cost)} |")
    fo = fan_out_model(figures, a.fan_out, a.post_ms, 8)
    out.append(f"\n### One notification to {a.fan_out:,} subscribers\n")
    out.append("| figure | value |")
    out.append("|---|---:|")
    out.append(f"| posts, 32 in flight, {a.post_ms:g} ms each | {fo['seconds']:,.1f} s in one invocation |")
    out.append(f"| delivered within the fan-out's {fo['budget']} s budget | {fo['delivered_in_budget']:,} |")
    out.append(f"| subscription rows read (8 shards) | {fo['read_units']:,.0f} read units, {fo['per_shard']:,.0f} per shard partition |")
    out.append(f"| cost of the fan-out (posts and reads) | {money(fo['cost'])} |")
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
