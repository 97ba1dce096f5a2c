#!/usr/bin/env python3
"""The measurements of bench/run against a seeded database and a running `mljobs serve`.

Writes results.csv and results.md (a markdown section) into --out, and latency.png when
gnuplot is present. Stdlib only. Every figure is measured here; what the binary does not
serve is marked "not available in this build", never estimated.
"""
import argparse
import csv
import json
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request

LIGHT = ("id, job_uuid, owner, model, status, priority, result_label, result_score, error, "
         "attempts, max_attempts, run_after, lease_token, lease_expires_at, worker, created_at, "
         "started_at, completed_at, updated_at")
ALL = LIGHT + ", input_text, metadata"
NA = "not available in this build"


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


class Db:
    """Runs the problem queries on one backend and times them on the database."""

    def __init__(self, backend, url):
        self.backend, self.url = backend, url
        if backend == "sqlite":
            self.conn = sqlite3.connect(url[len("sqlite:"):])

    def text(self, sql):
        return subprocess.run(["psql", self.url, "-qAtX", "-c", sql], check=True,
                              capture_output=True, text=True).stdout.strip()

    def scalar(self, sql):
        if self.backend == "sqlite":
            row = self.conn.execute(sql).fetchone()
            return None if row is None else row[0]
        out = self.text(sql)
        return out.split("\n")[0] if out else None

    def exec(self, sql):
        if self.backend == "sqlite":
            self.conn.executescript(sql)
        else:
            subprocess.run(["psql", self.url, "-qAtX", "-v", "ON_ERROR_STOP=1", "-c", sql],
                           check=True, capture_output=True, text=True)

    def has_table(self, name):
        if self.backend == "sqlite":
            return self.scalar(f"SELECT count(*) FROM sqlite_master WHERE name = '{name}'") == 1
        return self.scalar(f"SELECT to_regclass('{name}') IS NOT NULL") == "t"

    def time_query(self, sql, runs):
        """Median execution time in ms, and the indexes the plan used."""
        times, indexes = [], set()
        for i in range(runs):
            # A naive query of seconds: three runs give its median well enough.
            if i == 3 and min(times) > 1000:
                break
            if self.backend == "sqlite":
                start = time.perf_counter()
                self.conn.execute(sql).fetchall()
                times.append((time.perf_counter() - start) * 1000)
            else:
                out = self.text("EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) " + sql)
                plan = json.loads(out)[0]
                times.append(plan["Execution Time"])
                indexes |= set(re.findall(r'"Index Name": "([^"]+)"', out))
        if self.backend == "sqlite":
            for row in self.conn.execute("EXPLAIN QUERY PLAN " + sql):
                m = re.search(r"INDEX (\w+)", row[-1])
                if m:
                    indexes.add(m.group(1))
        return statistics.median(times), ",".join(sorted(indexes)) or "none (scan)"

    def time_literal(self, micros_or_text):
        return micros_or_text if self.backend == "sqlite" else f"'{micros_or_text}'"


def wrk(port, duration, env, connections=16):
    out = subprocess.run(
        ["wrk", "-t", "2", "-c", str(connections), "-d", duration, "--latency", "-s",
         os.path.join(os.path.dirname(__file__), "wrk.lua"), f"http://127.0.0.1:{port}"],
        env={**os.environ, **env}, check=True, capture_output=True, text=True).stdout
    line = next(l for l in out.splitlines() if l.startswith("WRKJSON "))
    r = json.loads(line[len("WRKJSON "):])
    r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
    return r


def rss_mb(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def http(port, method, path, body=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                 data=body.encode() if body else None,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def walk_cursor(port, depth):
    cursor, seen = None, 0
    while seen < depth:
        limit = min(1000, depth - seen)
        path = f"/jobs?fields=id&limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        status, body = http(port, "GET", path)
        page = json.loads(body)
        seen += len(page["jobs"])
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    return cursor


def pgbench(url, scripts, duration_s, workdir):
    files = []
    for i, sql in enumerate(scripts):
        path = os.path.join(workdir, f"pgbench_{i}.sql")
        with open(path, "w") as f:
            f.write(sql + ";\n")
        files += ["-f", path]
    env = {**os.environ, "PGOPTIONS": "-c plan_cache_mode=force_custom_plan"}
    out = subprocess.run(["pgbench", "-n", "-M", "prepared", "-c", "16", "-j", "2", "-T",
                          str(duration_s)] + files + [url], env=env, check=True,
                         capture_output=True, text=True).stdout
    m = re.search(r"tps = ([\d.]+) \(without initial connection time\)", out)
    return float(m.group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", required=True)
    ap.add_argument("--url", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--server-pid", type=int, required=True)
    ap.add_argument("--restart-server", required=True, help="command that restarts serve, prints the pid")
    ap.add_argument("--rows", type=int, required=True)
    ap.add_argument("--duration", default="10s")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed-line", default="")
    ap.add_argument("--small-port", type=int, help="a server on a small database: stats only")
    ap.add_argument("--small-rows", type=int, default=10_000)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    results = []  # (section, case, variant, metric, value)
    notes = []

    def add(section, case, variant, metric, value):
        results.append((section, case, variant, metric, value))

    db = Db(args.backend, args.url)
    pid = args.server_pid
    duration_s = int(re.sub(r"\D", "", args.duration) or "10")
    rows = int(db.scalar("SELECT count(*) FROM ml_jobs"))
    depth = min(1_000_000, rows // 2)

    # 1. The problem queries, naive vs mljobs, on the same data.
    if not db.has_table("ml_jobs_naive"):
        log("copying ml_jobs to ml_jobs_naive (primary key only)...")
        if args.backend == "sqlite":
            db.exec("CREATE TABLE ml_jobs_naive AS SELECT * FROM ml_jobs; ANALYZE ml_jobs_naive;")
        else:
            db.exec("CREATE TABLE ml_jobs_naive AS SELECT * FROM ml_jobs; "
                    "ALTER TABLE ml_jobs_naive ADD PRIMARY KEY (id)")
            db.exec("VACUUM ANALYZE ml_jobs_naive")
    if args.backend == "sqlite":
        at, at_id = db.conn.execute(
            f"SELECT created_at, id FROM ml_jobs ORDER BY created_at DESC, id DESC "
            f"LIMIT 1 OFFSET {depth}").fetchone()
        newest = db.scalar("SELECT max(created_at) FROM ml_jobs")
        range_from, range_to = newest - 62 * 86400 * 10**6, newest - 31 * 86400 * 10**6
        key = f"({at}, {at_id})"
    else:
        at, at_id = db.scalar(
            f"SELECT created_at || '|' || id FROM ml_jobs ORDER BY created_at DESC, id DESC "
            f"LIMIT 1 OFFSET {depth}").split("|")
        newest = db.scalar("SELECT max(created_at) FROM ml_jobs")
        range_from = db.scalar(f"SELECT timestamptz '{newest}' - interval '62 days'")
        range_to = db.scalar(f"SELECT timestamptz '{newest}' - interval '31 days'")
        key = f"('{at}'::timestamptz, {at_id})"
    t = db.time_literal
    problems = [
        ("pending jobs, newest first (limit 50)",
         "SELECT {cols} FROM {table} WHERE status = 'pending' "
         "ORDER BY created_at DESC, id DESC LIMIT 50", None),
        (f"page {depth:,} rows deep (limit 50)",
         f"SELECT {{cols}} FROM {{table}} ORDER BY created_at DESC, id DESC LIMIT 50 OFFSET {depth}",
         f"SELECT {{cols}} FROM {{table}} WHERE (created_at, id) < {key} "
         f"ORDER BY created_at DESC, id DESC LIMIT 50"),
        ("31 days, status=completed (limit 50)",
         f"SELECT {{cols}} FROM {{table}} WHERE status = 'completed' AND created_at >= "
         f"{t(range_from)} AND created_at < {t(range_to)} ORDER BY created_at DESC, id DESC LIMIT 50",
         None),
    ]
    for case, naive_sql, keyset_sql in problems:
        log(f"timing: {case}")
        ms, idx = db.time_query(naive_sql.format(cols=LIGHT, table="ml_jobs_naive"), args.runs)
        add("queries", case, "naive", "ms", f"{ms:.3f}")
        add("queries", case, "naive", "plan", idx)
        ms, idx = db.time_query((keyset_sql or naive_sql).format(cols=LIGHT, table="ml_jobs"),
                                args.runs)
        add("queries", case, "mljobs", "ms", f"{ms:.3f}")
        add("queries", case, "mljobs", "plan", idx)
    log("timing: counts by status")
    ms, idx = db.time_query("SELECT status, count(*) FROM ml_jobs_naive GROUP BY status", args.runs)
    add("queries", "counts by status", "naive", "ms", f"{ms:.3f}")
    add("queries", "counts by status", "naive", "plan", idx)
    if db.has_table("ml_jobs_counters"):
        ms, idx = db.time_query("SELECT status, sum(jobs) FROM ml_jobs_counters WHERE metric = "
                                "'jobs' AND archive_month = 0 GROUP BY status", args.runs)
        add("queries", "counts by status", "mljobs", "ms", f"{ms:.3f}")
        add("queries", "counts by status", "mljobs", "plan", idx)
    else:
        add("queries", "counts by status", "mljobs", "ms", NA)

    # 2. HTTP under load, 16 connections.
    ids_file = os.path.join(args.out, "ids.txt")
    if args.backend == "sqlite":
        ids = [r[0] for r in db.conn.execute(
            "SELECT job_uuid FROM ml_jobs ORDER BY random() LIMIT 50")]
    else:
        ids = subprocess.run(["psql", args.url, "-qAtX", "-c",
                              "SELECT job_uuid FROM ml_jobs TABLESAMPLE SYSTEM (1) LIMIT 50"],
                             check=True, capture_output=True, text=True).stdout.split()
    with open(ids_file, "w") as f:
        f.write("\n".join(ids) + "\n")
    body_file = os.path.join(args.out, "batch.json")
    with open(body_file, "w") as f:
        jobs = [{"model": "sentiment-en-v3", "input_text": f"bench batch job {i} " + "x" * 100}
                for i in range(100)]
        json.dump({"jobs": jobs}, f)
    log(f"walking {depth:,} rows to the deep page's cursor...")
    cursor = walk_cursor(args.port, depth)
    since = "2000-01-01T00:00:00Z"
    cases = [
        ("first page (limit 50)", {"BENCH_MODE": "get", "BENCH_PATH": "/jobs?limit=50"}, "GET", "/jobs?limit=50"),
        (f"page {depth:,} deep (limit 50)", {"BENCH_MODE": "get", "BENCH_PATH": f"/jobs?limit=50&cursor={cursor}"}, "GET", f"/jobs?limit=50&cursor={cursor}"),
        ("status=failed (limit 50)", {"BENCH_MODE": "get", "BENCH_PATH": "/jobs?limit=50&status=failed"}, "GET", "/jobs?limit=50&status=failed"),
    ]
    if args.backend == "sqlite":
        import datetime
        fmt = lambda us: datetime.datetime.fromtimestamp(us / 1e6, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        rf, rt = fmt(range_from), fmt(range_to)
    else:
        rf = db.scalar(f"SELECT to_char(timestamptz '{range_from}' AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")
        rt = db.scalar(f"SELECT to_char(timestamptz '{range_to}' AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")
    range_path = f"/jobs?limit=50&status=completed&created_after={rf}&created_before={rt}"
    cases += [
        ("31 days, status=completed (limit 50)", {"BENCH_MODE": "get", "BENCH_PATH": range_path}, "GET", range_path),
        ("get by id", {"BENCH_MODE": "get_ids", "BENCH_IDS": ids_file}, "GET", f"/jobs/{ids[0]}"),
        ("stats", {"BENCH_MODE": "get", "BENCH_PATH": "/jobs/stats"}, "GET", "/jobs/stats"),
        ("batch submit (100 jobs per request)", {"BENCH_MODE": "batch", "BENCH_BODY": body_file}, "POST", None),
        ("claim + complete", {"BENCH_MODE": "work"}, "POST", None),
    ]
    for case, env, method, probe in cases:
        if probe is not None:
            status, _ = http(args.port, method, probe)
        elif env["BENCH_MODE"] == "batch":
            status, _ = http(args.port, "POST", "/jobs/batch", json.dumps({"jobs": jobs[:1]}))
        else:
            status, _ = http(args.port, "POST", "/queue/claim", '{"worker":"probe","limit":0}')
            status = 200 if status in (200, 400) else status  # 400: the route exists, limit 0 refused
        if status in (404, 405):
            add("http", case, "mljobs", "req/s", NA)
            continue
        log(f"wrk {args.duration}: {case}")
        r = wrk(args.port, args.duration, env)
        add("http", case, "mljobs", "req/s", f"{r['rps']:.0f}")
        add("http", case, "mljobs", "p50 ms", f"{r['p50_us'] / 1000:.2f}")
        add("http", case, "mljobs", "p99 ms", f"{r['p99_us'] / 1000:.2f}")
        add("http", case, "mljobs", "p99.9 ms", f"{r['p999_us'] / 1000:.2f}")
        add("http", case, "mljobs", "errors", str(r["socket_errors"] + r["non2xx"]))
        add("http", case, "mljobs", "server RSS MB", f"{rss_mb(pid):.1f}")

    # 2b. /jobs/stats at small scale, right after the big one in the same run: its cost must
    # not grow with the table (the issue: p99 within 2x of the small database's).
    big = {m: v for (s, c, var, m, v) in results if s == "http" and c == "stats"}
    if args.small_port and "p99 ms" in big:
        log(f"wrk {args.duration}: stats at {args.small_rows:,} rows (after a 2 s warm-up)")
        env = {"BENCH_MODE": "get", "BENCH_PATH": "/jobs/stats"}
        # Unmeasured: the small server's pool opens its connections here, as the big one's
        # did during the earlier steps.
        wrk(args.small_port, "2s", env)
        r = wrk(args.small_port, args.duration, env)
        small_p99 = r["p99_us"] / 1000
        add("stats scale", "stats p99 ms", f"main, {rows:,} rows", "p99 ms", big["p99 ms"])
        add("stats scale", "stats p99 ms", f"small, {args.small_rows:,} rows", "p99 ms",
            f"{small_p99:.2f}")
        add("stats scale", "stats p99 ms", f"small, {args.small_rows:,} rows", "req/s",
            f"{r['rps']:.0f}")
        add("stats scale", "stats p99 ms", "ratio", "big / small",
            f"{float(big['p99 ms']) / small_p99:.2f}" if small_p99 > 0 else NA)

    # 3. The ceiling: the same SQL straight from pgbench at the same concurrency.
    if args.backend == "postgresql":
        log(f"pgbench {duration_s}s: list and get")
        workdir = args.out
        list_tps = pgbench(args.url, [f"SELECT {LIGHT} FROM ml_jobs ORDER BY created_at DESC, id DESC LIMIT 51"], duration_s, workdir)
        get_tps = pgbench(args.url, [f"SELECT {ALL} FROM ml_jobs WHERE job_uuid = '{u}'::uuid" for u in ids], duration_s, workdir)
        http_rps = {c: v for (s, c, var, m, v) in results if s == "http" and m == "req/s"}
        for case, tps in (("first page (limit 50)", list_tps), ("get by id", get_tps)):
            add("ceiling", case, "pgbench -M prepared", "tps", f"{tps:.0f}")
            try:
                add("ceiling", case, "HTTP / pgbench", "ratio", f"{float(http_rps[case]) / tps:.2f}")
            except (KeyError, ValueError):
                add("ceiling", case, "HTTP / pgbench", "ratio", NA)

    # 4. Export of the whole table as NDJSON, on a freshly started server (so VmHWM is the
    # export's peak, not the load tests').
    pid = int(subprocess.run(["bash", "-c", args.restart_server], check=True,
                             capture_output=True, text=True).stdout.strip())
    total = int(db.scalar("SELECT count(*) FROM ml_jobs"))
    log(f"export of {total:,} rows...")
    start = time.perf_counter()
    out = subprocess.run(["curl", "-fsS", "-o", "/dev/null", "-w", "%{size_download}",
                          f"http://127.0.0.1:{args.port}/jobs/export"], check=True,
                         capture_output=True, text=True).stdout
    seconds = time.perf_counter() - start
    add("export", "whole table as NDJSON", "mljobs", "rows", str(total))
    add("export", "whole table as NDJSON", "mljobs", "rows/s", f"{total / seconds:.0f}")
    add("export", "whole table as NDJSON", "mljobs", "MB/s", f"{int(out) / seconds / 1e6:.1f}")
    add("export", "whole table as NDJSON", "mljobs", "server peak RSS MB", f"{rss_mb(pid, 'VmHWM'):.1f}")
    print(pid, file=open(os.path.join(args.out, "server.pid"), "w"))

    with open(os.path.join(args.out, "results.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["section", "case", "variant", "metric", "value"])
        w.writerows(results)
    write_markdown(args, results)
    plot(args.out, results)


def write_markdown(args, results):
    by = {}
    for s, c, v, m, val in results:
        by.setdefault(s, {}).setdefault(c, {}).setdefault(v, {})[m] = val
    md = []
    md.append("### Problem queries: naive vs mljobs (median of %d, database execution time)\n" % args.runs)
    md.append("| query | naive ms | naive plan | mljobs ms | mljobs plan | speed-up |")
    md.append("|---|---|---|---|---|---|")
    for case, vs in by.get("queries", {}).items():
        n, m = vs.get("naive", {}), vs.get("mljobs", {})
        try:
            ratio = f"{float(n['ms']) / float(m['ms']):,.0f}x"
        except (KeyError, ValueError, ZeroDivisionError):
            ratio = "-"
        md.append(f"| {case} | {n.get('ms', '-')} | {n.get('plan', '-')} | {m.get('ms', '-')} | {m.get('plan', '-')} | {ratio} |")
    md.append("\n### HTTP under load (wrk, 16 connections, %s each)\n" % args.duration)
    md.append("| endpoint | req/s | p50 ms | p99 ms | p99.9 ms | errors | server RSS MB |")
    md.append("|---|---|---|---|---|---|---|")
    for case, vs in by.get("http", {}).items():
        m = vs["mljobs"]
        md.append(f"| {case} | {m.get('req/s')} | {m.get('p50 ms', '-')} | {m.get('p99 ms', '-')} | {m.get('p99.9 ms', '-')} | {m.get('errors', '-')} | {m.get('server RSS MB', '-')} |")
    if "stats scale" in by:
        vs = by["stats scale"]["stats p99 ms"]
        big = next(v for v in vs if v.startswith("main"))
        small = next(v for v in vs if v.startswith("small"))
        md.append("\n### /jobs/stats at both scales (same run, same wrk settings)\n")
        md.append(f"| p99 ms at {big} | p99 ms at {small} | ratio |")
        md.append("|---|---|---|")
        md.append(f"| {vs[big]['p99 ms']} | {vs[small]['p99 ms']} | {vs['ratio']['big / small']} |")
    if "ceiling" in by:
        md.append("\n### Ceiling: the same SQL from pgbench -M prepared, 16 clients\n")
        md.append("| query | pgbench tps | HTTP req/s / pgbench tps |")
        md.append("|---|---|---|")
        for case, vs in by["ceiling"].items():
            md.append(f"| {case} | {vs['pgbench -M prepared']['tps']} | {vs['HTTP / pgbench']['ratio']} |")
    e = by.get("export", {}).get("whole table as NDJSON", {}).get("mljobs", {})
    md.append("\n### Export (GET /jobs/export, curl to /dev/null)\n")
    md.append("| rows | rows/s | MB/s | server peak RSS MB |")
    md.append("|---|---|---|---|")
    md.append(f"| {e.get('rows')} | {e.get('rows/s')} | {e.get('MB/s')} | {e.get('server peak RSS MB')} |")
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write("\n".join(md) + "\n")


def plot(out, results):
    rows = {}
    for s, c, v, m, val in results:
        if s == "queries" and m == "ms":
            try:
                rows.setdefault(c, {})[v] = float(val)
            except ValueError:
                pass
    data = os.path.join(out, "latency.dat")
    with open(data, "w") as f:
        for c, vs in rows.items():
            if "naive" in vs and "mljobs" in vs:
                f.write('"%s" %f %f\n' % (c.replace('"', ""), vs["naive"], vs["mljobs"]))
    script = f"""
set terminal pngcairo size 1000,480 noenhanced font ',10'
set output '{os.path.join(out, "latency.png")}'
set title 'Problem queries: naive vs mljobs (database execution time, ms, log scale)'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set logscale y
set ylabel 'ms'
set grid ytics
set xtics rotate by -12
plot '{data}' using 2:xtic(1) title 'naive', '' using 3 title 'mljobs'
"""
    try:
        subprocess.run(["gnuplot"], input=script, text=True, check=True, capture_output=True)
    except (FileNotFoundError, subprocess.CalledProcessError) as e:
        log(f"no chart: {e}")


if __name__ == "__main__":
    main()
