"""Server CPU per request of the HTML queue page and its htmx partials, in process (no HTTP, no load client).

    .venv/bin/python benchmarks/queue_page_cpu.py --database-url postgres://cx:cx@127.0.0.1:5498/cx \\
        [--requests 200] [--profile "queue page (HTML)"]

Runs against a database loaded by ``benchmarks/tickets.py --keep-database`` (it logs in as that run's
agents, ``bench-agent-N``) and sends, through Django's request handler with the full middleware stack, the
requests an agent's browser sends to the inbox: the queue page, the sidebar counts partial (served from the
per-agent cache: each measured request comes right after an unmeasured one of the same agent; and
recounted), the rows partial of a live refresh, the next page of rows (Load more) and
the notification badge. Each request kind rotates over the agents and the queues My open, Unassigned, My
teams and All unresolved, as the load benchmark does.

Wall-clock latency on a shared machine says more about the neighbours than about the code, so this measures
``time.process_time()`` around each request — the CPU this process spent on it (view, templates, middleware
and the database driver's Python side; PostgreSQL's own CPU is not included) — and the number of SQL
queries. The table gives the median and mean CPU ms per request kind; the last line is ``key=value`` figures.
``--profile KIND`` prints the functions that took the most time for that request kind (cProfile).
"""

from __future__ import annotations

import sys as _sys
from pathlib import Path as _Path

# Run as a script, this folder comes first on sys.path; benchmarks/email.py would hide the standard library's.
_sys.path[:] = [p for p in _sys.path if _Path(p or ".").resolve() != _Path(__file__).resolve().parent]

import argparse
import cProfile
import gc
import io
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

QUEUES = ["my-open", "unassigned", "my-team", "all"]
HTMX = {"HX-Request": "true"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""),
                        help="the database benchmarks/tickets.py loaded (default: $DATABASE_URL)")
    parser.add_argument("--requests", type=int, default=200, help="measured requests per request kind")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured requests per kind before measuring")
    parser.add_argument("--agents", type=int, default=50, help="agents to rotate over (at most those loaded)")
    parser.add_argument("--profile", default="", help="a request kind to profile with cProfile (CPU time; "
                        "profiling slows it down, so that kind's own figures are not comparable)")
    parser.add_argument("--profile-dump", default="", help="also write that profile to this file (pstats)")
    args = parser.parse_args()
    if not args.database_url:
        parser.error("--database-url (or $DATABASE_URL) is required")

    home = Path(os.environ.get("CXDESK_BENCH_HOME", "/tmp/cxdesk-bench-home"))
    os.environ.update({"DATABASE_URL": args.database_url, "CXDESK_HOME": str(home),
                       "DJANGO_SETTINGS_MODULE": "config.settings", "CXDESK_TASKS": "immediate",
                       "CXDESK_LOG_LEVEL": "WARNING"})
    import django

    django.setup()
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import NoReverseMatch, reverse

    from cx.accounts.models import User

    clients = []
    for user in User.objects.filter(username__startswith="bench-agent-").order_by("pk")[: args.agents]:
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(user)
        clients.append(client)
    if not clients:
        raise SystemExit("no bench-agent-N users: load the database with benchmarks/tickets.py first")

    def cursor_of(html: str) -> str:
        return html.split("cursor=", 1)[1].split('"', 1)[0] if "cursor=" in html else ""

    # The Load more link of each agent's first page of each queue (the rows partial asks for the next page).
    next_pages: dict[tuple[int, str], str] = {}
    for n, client in enumerate(clients):
        for queue in QUEUES:
            rows = client.get(f"/tickets/?queue={queue}", headers={**HTMX, "HX-Target": "ticket-rows"})
            next_pages[(n, queue)] = cursor_of(rows.content.decode())

    def page(n: int) -> tuple[Client, str, dict, bool]:
        return clients[n % len(clients)], f"/tickets/?queue={QUEUES[n % len(QUEUES)]}", {}, False

    def counts_cached(n: int) -> tuple[Client, str, dict, bool]:
        return clients[n % len(clients)], f"/tickets/counts/?queue={QUEUES[n % len(QUEUES)]}", HTMX, False

    def counts_fresh(n: int) -> tuple[Client, str, dict, bool]:
        return clients[n % len(clients)], f"/tickets/counts/?queue={QUEUES[n % len(QUEUES)]}", HTMX, True

    def rows(n: int) -> tuple[Client, str, dict, bool]:
        return (clients[n % len(clients)], f"/tickets/?queue={QUEUES[n % len(QUEUES)]}",
                {**HTMX, "HX-Target": "ticket-rows"}, False)

    def load_more(n: int) -> tuple[Client, str, dict, bool]:
        agent, queue = n % len(clients), QUEUES[n % len(QUEUES)]
        cursor = next_pages.get((agent, queue)) or ""
        return clients[agent], f"/tickets/?queue={queue}&cursor={cursor}", HTMX, False

    kinds = {"queue page (HTML)": page, "queue counts, cached (HTML partial)": counts_cached,
             "queue counts, recounted (HTML partial)": counts_fresh, "rows refresh (HTML partial)": rows,
             "load more (HTML partial)": load_more}
    try:
        badge = reverse("notifications:badge")
        kinds["notification badge (HTML partial)"] = lambda n: (clients[n % len(clients)], badge, HTMX, False)
    except NoReverseMatch:  # the notifications app is optional
        pass

    out = io.StringIO()
    out.write(f"agents={len(clients)} requests={args.requests} per kind, "
              f"load average (1 min) {os.getloadavg()[0]:.2f} before\n\n")
    out.write("| request | n | CPU ms p50 | CPU ms mean | wall ms p50 | queries | KiB |\n"
              "|---|---|---|---|---|---|---|\n")
    summary = {}
    for kind, make in kinds.items():
        for n in range(args.warmup):
            client, path, headers, fresh = make(n)
            if fresh:
                cache.clear()
            assert client.get(path, headers=headers).status_code == 200, (kind, path)
        cpu, wall = [], []
        size = 0
        profiler = cProfile.Profile(time.process_time) if kind == args.profile else None
        gc.collect()
        for n in range(args.requests):
            client, path, headers, fresh = make(n)
            if fresh:
                cache.clear()
            elif kind.startswith("queue counts"):  # cached: this agent's counts were just computed
                client.get(path, headers=headers)
            if profiler:
                profiler.enable()
            started_cpu, started_wall = time.process_time(), time.perf_counter()
            response = client.get(path, headers=headers)
            cpu.append(time.process_time() - started_cpu)
            wall.append(time.perf_counter() - started_wall)
            if profiler:
                profiler.disable()
            if response.status_code != 200:
                raise SystemExit(f"{kind}: {path} answered {response.status_code}")
            size = len(response.content)
        client, path, headers, fresh = make(0)
        if fresh:
            cache.clear()
        with CaptureQueriesContext(connection) as queries:
            client.get(path, headers=headers)
        p50, mean = statistics.median(cpu) * 1000, statistics.fmean(cpu) * 1000
        summary[kind] = p50
        out.write(f"| {kind} | {len(cpu)} | {p50:.2f} | {mean:.2f} | {statistics.median(wall) * 1000:.2f} | "
                  f"{len(queries)} | {size / 1024:.1f} |\n")
        if profiler:
            if args.profile_dump:
                profiler.dump_stats(args.profile_dump)
            stats = io.StringIO()
            pstats.Stats(profiler, stream=stats).sort_stats("cumulative").print_stats(45)
            pstats.Stats(profiler, stream=stats).sort_stats("tottime").print_stats(30)
            print(stats.getvalue())
    out.write(f"\nload average (1 min) {os.getloadavg()[0]:.2f} after\n")
    print(out.getvalue())
    short = {"queue page (HTML)": "page", "queue counts, cached (HTML partial)": "counts_cached",
             "queue counts, recounted (HTML partial)": "counts_fresh", "rows refresh (HTML partial)": "rows",
             "load more (HTML partial)": "load_more", "notification badge (HTML partial)": "badge"}
    print(" ".join(f"{short[k]}_cpu_ms={v:.2f}" for k, v in summary.items()))


if __name__ == "__main__":
    main()
