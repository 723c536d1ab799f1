#!/usr/bin/env python3
"""TSBS devops queries for the TSDB benchmark (tests/bench/tsdb.sh).

  tsdb_queries.py victoriametrics URL --hosts N --start-ms T0 --end-ms T1 [--runs R] [--seed S]
                  [--only A,B] [--pause-us N] [--times-to FILE]
  tsdb_queries.py summarize FILE

Runs each query R times with seeded random hosts and windows inside the
data's span [T0, T1), each run timed from request to the end of the
response, and prints one line: q_<name>_p50_ms=... q_<name>_p99_ms=... for
every query (TSBS's names). A query that fails or returns nothing is an
error: an empty answer would time nothing. --times-to also appends every
timed run to FILE as "<name> <ms>"; summarize prints the same one line from
such a file (tsdb.sh pools blocks of runs into one file per system, the
Steward blocks written by tsdb_steward, so both get one percentile rule).
"""
import argparse
import http.client
import json
import math
import random
import sys
import time
import urllib.parse

HOUR = 3600_000
CPU = ["usage_user", "usage_system", "usage_idle", "usage_nice", "usage_iowait"]


def window(rng, t0, t1, length):
    """A random [start, end) of `length` ms inside [t0, t1), or all of it."""
    if t1 - t0 <= length:
        return t0, t1
    start = rng.randrange(t0, t1 - length)
    return start, start + length


def hosts(rng, n, k):
    return [f"host_{h}" for h in rng.sample(range(n), min(k, n))]


def vm_queries(rng, n_hosts, t0, t1):
    """(name, path) pairs for VictoriaMetrics, one per TSBS query, fresh picks each call."""
    def rng_q(q, start, end, step):
        return "/api/v1/query_range?" + urllib.parse.urlencode(
            {"query": q, "start": start / 1000, "end": end / 1000, "step": f"{step}ms"})

    h = hosts(rng, n_hosts, 8)
    a, b = window(rng, t0, t1, HOUR)
    yield "single-groupby-1-1-1", rng_q(f'max(max_over_time(cpu_usage_user{{hostname="{h[0]}"}}[5m]))', a, b, 300_000)
    one_of_8 = "|".join(h)
    yield "single-groupby-1-8-1", rng_q(f'max(max_over_time(cpu_usage_user{{hostname=~"{one_of_8}"}}[5m]))', a, b, 300_000)
    a12, b12 = window(rng, t0, t1, 12 * HOUR)
    names = "|".join("cpu_" + f for f in CPU)
    yield "single-groupby-5-1-12", rng_q(f'max_over_time({{__name__=~"{names}",hostname="{h[0]}"}}[5m])', a12, b12, 300_000)
    a24, b24 = window(rng, t0, t1, 24 * HOUR)
    yield "double-groupby-1", rng_q('avg by (hostname) (avg_over_time(cpu_usage_user[1h]))', a24, b24, HOUR)
    yield "high-cpu-1", rng_q(f'cpu_usage_user{{hostname="{h[0]}"}} > 90', a12, b12, 10_000)
    yield "lastpoint", "/api/v1/query?" + urllib.parse.urlencode(
        {"query": 'last_over_time({__name__=~"cpu_.*"}[1h])', "time": t1 / 1000})
    end = rng.randrange(t0 + 300_000, t1 + 1)
    yield "groupby-orderby-limit", rng_q("max(max_over_time(cpu_usage_user[1m]))", end - 300_000, end, 60_000)


def percentile(sorted_ms, p):
    """Nearest rank: the smallest value with at least p% of the values at or below it."""
    i = max(0, min(len(sorted_ms) - 1, math.ceil(p / 100 * len(sorted_ms)) - 1))
    return sorted_ms[i]


NAMES = ["single-groupby-1-1-1", "single-groupby-1-8-1", "single-groupby-5-1-12", "double-groupby-1",
         "high-cpu-1", "lastpoint", "groupby-orderby-limit"]


def summary_line(times):
    """q_<name>_p50_ms=... q_<name>_p99_ms=... in TSBS's order, from {name: [ms, ...]}."""
    out = []
    for name in NAMES + sorted(set(times) - set(NAMES)):
        ms = sorted(times.get(name, []))
        if ms:
            out.append(f"q_{name}_p50_ms={percentile(ms, 50):.2f} q_{name}_p99_ms={percentile(ms, 99):.2f}")
    return " ".join(out)


def summarize(path):
    times = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            parts = line.split()
            try:
                name, ms = parts[0], float(parts[1])
                if len(parts) != 2 or not ms >= 0:
                    raise ValueError
            except (IndexError, ValueError):
                sys.exit(f"{path}:{n}: expected '<query> <ms>', got {line.strip()!r}")
            times.setdefault(name, []).append(ms)
    if not times:
        sys.exit(f"{path}: no timed runs")
    print(summary_line(times))


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "summarize":
        return summarize(sys.argv[2])
    ap = argparse.ArgumentParser()
    ap.add_argument("system", choices=["victoriametrics"])
    ap.add_argument("url")
    ap.add_argument("--hosts", type=int, required=True)
    ap.add_argument("--start-ms", type=int, required=True)
    ap.add_argument("--end-ms", type=int, required=True)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--only", default="", help="comma-separated query names to run (default all)")
    ap.add_argument("--pause-us", type=int, default=0, help="idle time before each timed query (profiling)")
    ap.add_argument("--times-to", default="", help='append "<name> <ms>" per timed run to this file')
    args = ap.parse_args()
    u = urllib.parse.urlparse(args.url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
    rng = random.Random(args.seed)
    times = {}
    for run in range(args.runs + 1):  # run 0 warms up and is not counted
        for name, path in vm_queries(rng, args.hosts, args.start_ms, args.end_ms):
            if args.only and name not in args.only.split(","):
                continue
            if args.pause_us:
                time.sleep(args.pause_us / 1e6)
            t = time.perf_counter()
            conn.request("GET", path)
            resp = conn.getresponse()
            body = resp.read()
            ms = (time.perf_counter() - t) * 1000
            if resp.status != 200:
                sys.exit(f"{name}: HTTP {resp.status}: {body[:300]!r}")
            result = json.loads(body)["data"]["result"]
            if not result and name != "high-cpu-1":  # no reading above 90 is possible
                sys.exit(f"{name}: empty result for {path}")
            if run > 0:
                times.setdefault(name, []).append(ms)
    if args.times_to:
        with open(args.times_to, "a") as f:
            f.writelines(f"{name} {ms}\n" for name, v in times.items() for ms in v)
    print(summary_line(times))


if __name__ == "__main__":
    main()
