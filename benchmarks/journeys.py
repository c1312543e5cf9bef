"""Journeys: sustained tracking ingestion, then a 4-step funnel over 10,000,000 events.

    .venv/bin/python benchmarks/journeys.py                      # full run (60 s ingest, 10M-event funnel)
    .venv/bin/python benchmarks/journeys.py --duration 10 --events 1000000   # a quick smoke run

1. Ingestion: a fresh CXDESK_HOME (SQLite), two web processes (uvicorn --workers 2, config.asgi, so /v1/ takes
   the ASGI fast path) on 127.0.0.1, and a load client of --clients processes with keep-alive connections posting
   Segment batches of --batch track events to /v1/batch for --duration seconds. A 200 means the batch is in
   the fsync'd spool (durable). Prints events/s acknowledged and request latency. Then the loader drains the
   spool into DuckDB (identity resolution included) and the run checks that every acknowledged event is there
   exactly once, and prints the loader's rate.
2. Funnel: --events synthetic events (--people people, 20 event names, 90 days) in a DuckDB file; the 4-step
   funnel through cx.journeys.analytics (the portable SQL the product runs) against a hand-written DuckDB query
   answering the same question, each run --repeat times (best and median), with results compared.

Only 127.0.0.1 is contacted. Goals from issue 8: >= 20,000 events/s acknowledged durably; funnel <= 1.2x the
hand-written query.
"""

from __future__ import annotations

import sys as _sys
from pathlib import Path as _Path

# benchmarks/email.py is named as the issue asks; run as a script, this folder comes first on sys.path and
# would hide the standard library's email package (imported by http.client and Django), so drop it.
_sys.path[:] = [p for p in _sys.path if _Path(p or ".").resolve() != _Path(__file__).resolve().parent]

import argparse
import http.client
import multiprocessing
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CXDESK_"))}
    env.update({"CXDESK_HOME": str(home), "DJANGO_SETTINGS_MODULE": "config.settings", "DATABASE_URL": "",
                "CXDESK_SECRET_KEY": "benchmark-secret-key-0123456789-abcdefghijklmnop", "CXDESK_TASKS": "immediate"})
    return env


def _manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True,
                            check=True)
    return result.stdout


def _client(port: int, key: str, worker: int, batch: int, deadline: float, queue) -> None:
    import base64

    auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    events = ["Page Viewed", "Product Viewed", "Added To Cart", "Checkout Started", "Order Completed"]
    acked = 0
    latencies = []
    errors: dict[int, int] = {}
    acked_ids: list[tuple[int, int]] = []
    n = 0
    while time.time() < deadline:
        n += 1
        items = ",".join(
            f'{{"type":"track","anonymousId":"anon-{worker}-{(n * batch + i) % 5000}","event":"{events[i % 5]}",'
            f'"messageId":"w{worker}-{n}-{i}","properties":{{"plan":"pro","n":{i}}}}}'
            for i in range(batch))
        body = ('{"batch":[' + items + "]}").encode()
        started = time.perf_counter()
        try:
            conn.request("POST", "/v1/batch", body, {"Authorization": auth, "Content-Type": "application/json"})
            response = conn.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            errors[0] = errors.get(0, 0) + 1
            continue
        latencies.append(time.perf_counter() - started)
        if response.status == 200:
            acked += batch
            acked_ids.append((n, batch))
        else:
            errors[response.status] = errors.get(response.status, 0) + 1
            if response.status == 429:
                time.sleep(float(response.getheader("Retry-After") or 1))
    queue.put((worker, acked, latencies, errors, acked_ids))


def ingest(args) -> dict:
    home = Path(tempfile.mkdtemp(prefix="cxdesk-bench-journeys-"))
    env = _env(home)
    print(f"CXDESK_HOME={home}; migrating ...", flush=True)
    _manage(env, "migrate", "--noinput")
    key = _manage(env, "shell", "--no-imports", "-c",
                  "from cx.accounts.services import user_create; from cx.tracking.services import source_create; "
                  "u = user_create(actor=None, username='admin', email='a@example.test', password='pw-123456789x', "
                  "role='admin'); print(source_create(actor=u, name='Bench').write_key)").strip().splitlines()[-1]
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1",
                               "--port", str(port), "--workers", str(args.servers), "--log-level", "warning",
                               "--no-access-log"], cwd=REPO, env=env)
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.2)
        time.sleep(2)  # let every worker start
        queue = multiprocessing.Queue()
        deadline = time.time() + args.duration
        clients = [multiprocessing.Process(target=_client, args=(port, key, w, args.batch, deadline, queue))
                   for w in range(args.clients)]
        started = time.time()
        for c in clients:
            c.start()
        results = [queue.get() for _ in clients]
        for c in clients:
            c.join()
        elapsed = time.time() - started
    finally:
        server.terminate()
        server.wait(timeout=20)
    acked = sum(r[1] for r in results)
    latencies = sorted(x for r in results for x in r[2])
    errors: dict[int, int] = {}
    for r in results:
        for status, count in r[3].items():
            errors[status] = errors.get(status, 0) + count
    spool_bytes = sum(p.stat().st_size for p in (home / "tracking" / "spool").glob("*.spool"))
    print("loading the spool into DuckDB ...", flush=True)
    if args.no_load:
        return {"home": home}
    load_started = time.time()
    out = _manage(env, "tracking_load")
    load_elapsed = time.time() - load_started
    import duckdb

    con = duckdb.connect(str(home / "analytics" / "events.duckdb"), read_only=True)
    stored, distinct = con.execute("SELECT COUNT(*), COUNT(DISTINCT message_id) FROM analytics_events").fetchone()
    con.close()
    pct = lambda q: 1000 * latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else 0  # noqa: E731
    result = {"acked": acked, "elapsed": elapsed, "rate": acked / elapsed, "requests": len(latencies),
              "p50": pct(0.5), "p95": pct(0.95), "p99": pct(0.99), "errors": errors, "stored": stored,
              "distinct": distinct, "load_seconds": load_elapsed, "load_rate": stored / load_elapsed,
              "spool_mb": spool_bytes / 1e6, "loader": out.strip()}
    if not args.keep:
        shutil.rmtree(home, ignore_errors=True)
    return result


def funnel(args) -> dict:
    import duckdb

    from cx.journeys import analytics as A
    from cx.journeys.store import DuckEngine

    home = Path(tempfile.mkdtemp(prefix="cxdesk-bench-funnel-"))
    con = duckdb.connect(str(home / "events.duckdb"))
    engine = DuckEngine(con)
    engine.ensure_schema()
    day = 86_400_000
    start = 1_767_225_600_000  # 2026-01-01
    print(f"generating {args.events:,} events for {args.people:,} people ...", flush=True)
    t = time.time()
    con.execute(f"""
        INSERT INTO analytics_events
        SELECT 'm' || i, 'src:1', 'track', 'E' || CAST(floor(pow(random(), 2) * 20) AS INTEGER),
               CAST(floor(random() * {args.people}) AS BIGINT) + 1, NULL,
               {start} + CAST(floor(random() * 90 * {day}) AS BIGINT), {start}, NULL, NULL,
               '{{"plan":"' || (['free','pro','team'])[1 + CAST(floor(random() * 3) AS INTEGER)] || '"}}'
        FROM range({args.events}) t(i)
    """).fetchall()
    con.execute("CHECKPOINT").fetchall()
    print(f"  generated in {time.time() - t:.1f} s", flush=True)
    steps = ("E0", "E1", "E2", "E3")
    window = 7 * day
    spec = A.FunnelSpec(steps=tuple(A.FunnelStep(s) for s in steps), start_ms=start, end_ms=start + 90 * day,
                        window_seconds=7 * 86400)
    horizon = start + 90 * day + 4 * window
    hand = f"""
        WITH e AS (SELECT person_id, event, ts_ms FROM analytics_events
                   WHERE event IN ('E0','E1','E2','E3') AND ts_ms >= {start} AND ts_ms <= {horizon}),
        s0 AS (SELECT person_id, min(ts_ms) AS t0 FROM e WHERE event = 'E0' AND ts_ms < {start + 90 * day}
               GROUP BY person_id),
        s1 AS (SELECT s0.person_id, s0.t0, min(e.ts_ms) AS t1 FROM s0 LEFT JOIN e ON e.person_id = s0.person_id
               AND e.event = 'E1' AND e.ts_ms > s0.t0 AND e.ts_ms <= s0.t0 + {window} GROUP BY ALL),
        s2 AS (SELECT s1.person_id, s1.t1, min(e.ts_ms) AS t2 FROM s1 LEFT JOIN e ON e.person_id = s1.person_id
               AND e.event = 'E2' AND e.ts_ms > s1.t1 AND e.ts_ms <= s1.t1 + {window} GROUP BY ALL),
        s3 AS (SELECT s2.person_id, s2.t2, min(e.ts_ms) AS t3 FROM s2 LEFT JOIN e ON e.person_id = s2.person_id
               AND e.event = 'E3' AND e.ts_ms > s2.t2 AND e.ts_ms <= s2.t2 + {window} GROUP BY ALL)
        SELECT (SELECT count(*) FROM s0), (SELECT count(t1) FROM s1), (SELECT count(t2) FROM s2),
               (SELECT count(t3) FROM s3)
    """

    def timed(fn):
        times, value = [], None
        for _ in range(args.repeat):
            began = time.perf_counter()
            value = fn()
            times.append(time.perf_counter() - began)
        return times, value

    product_times, product = timed(lambda: A.funnel_run(engine, spec).rows[0].counts)
    hand_times, hand_counts = timed(lambda: list(con.execute(hand).fetchone()))
    con.close()
    shutil.rmtree(home, ignore_errors=True)
    return {"product": product, "hand": hand_counts, "product_times": product_times, "hand_times": hand_times}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=60)
    parser.add_argument("--servers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument("--skip-funnel", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the ingest CXDESK_HOME")
    parser.add_argument("--no-load", action="store_true", help="stop after ingesting (with --keep, to profile)")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("CXDESK_HOME", tempfile.mkdtemp(prefix="cxdesk-bench-"))
    import django

    django.setup()
    if not args.skip_ingest:
        r = ingest(args)
        print()
        print(f"| ingestion ({args.servers} web processes, {args.clients} clients, batches of {args.batch}) | value |")
        print("|---|---|")
        print(f"| events acknowledged (200 = fsync'd) | {r['acked']:,} in {r['elapsed']:.1f} s |")
        print(f"| **events/s acknowledged** | **{r['rate']:,.0f}** |")
        print(f"| requests; latency p50 / p95 / p99 | {r['requests']:,}; {r['p50']:.1f} / {r['p95']:.1f} / "
              f"{r['p99']:.1f} ms |")
        print(f"| non-200 answers | {r['errors'] or 'none'} |")
        print(f"| spool size | {r['spool_mb']:.0f} MB |")
        print(f"| loader: stored / distinct message ids | {r['stored']:,} / {r['distinct']:,} |")
        print(f"| loader run | {r['loader']} |")
        print(f"| loader drain (spool -> DuckDB, identities) | {r['load_seconds']:.1f} s = "
              f"{r['load_rate']:,.0f} events/s |")
        assert r["stored"] == r["distinct"] >= r["acked"], "acknowledged events missing or doubled"
    if not args.skip_funnel:
        f = funnel(args)
        best_p, best_h = min(f["product_times"]), min(f["hand_times"])
        med_p, med_h = statistics.median(f["product_times"]), statistics.median(f["hand_times"])
        print()
        print(f"| 4-step funnel over {args.events:,} events | best s | median s |")
        print("|---|---|---|")
        print(f"| cx.journeys.analytics (portable SQL) | {best_p:.3f} | {med_p:.3f} |")
        print(f"| hand-written DuckDB query | {best_h:.3f} | {med_h:.3f} |")
        print(f"| **ratio** | **{best_p / best_h:.2f}x** | {med_p / med_h:.2f}x |")
        print(f"| counts per step (both) | {f['product']} | {f['hand']} |")
        assert f["product"] == f["hand"], "the two queries disagree"
        print()
        print(f"ingest_rate={r['rate']:.0f} " if not args.skip_ingest else "", end="")
        print(f"funnel_ratio={best_p / best_h:.3f}")


if __name__ == "__main__":
    main()
