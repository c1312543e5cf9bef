"""Ticket workspace under load: 1,000,000 tickets with 5,000,000 messages in PostgreSQL, 50 agents at once.

    .venv/bin/python benchmarks/tickets.py --keep-database  # full size (loads 3-10 min), then two 60 s phases
    .venv/bin/python benchmarks/tickets.py --reuse --keep-database   # again, on the database already loaded
    .venv/bin/python benchmarks/tickets.py --tickets 20000 --duration 10   # a quick smoke run

What it does, in one run:
1. starts a throwaway PostgreSQL (scripts/pg-throwaway.sh; --pg-dir, --pg-port, default /tmp/cxdesk-bench-pg
   and 5498; the data-set marker lives in $CXDESK_BENCH_HOME) unless --database-url is given,
   migrates it and bulk-loads agents, customers, tickets and messages with COPY (seeding bypasses the
   services on purpose: it is setup, not the thing measured); --reuse skips loading when the data set is
   already there, --keep-database leaves the cluster running afterwards;
2. starts two real cxdesk web processes (daphne, config.asgi) on 127.0.0.1, as the README's scale-out
   describes, and a bounded load client: 50 agent threads, each with its own API token and session, spread
   over both processes;
3. runs two phases of --duration seconds (--mode): *capacity*, a closed loop with no think time (throughput:
   latency there is mostly queueing), then *realistic*, where each agent waits an exponential think time
   (mean --think-mean, 2 s) between clicks, like a person; the issue's goal is judged on the realistic phase;
4. prints per phase a table of p50/p95/p99 latency and errors per request kind — the queue page (HTML inbox)
   with the two partials the browser loads right after it (sidebar counts, notification badge), the queue
   API (/api/v1/tickets?queue=...) and the ticket API (/api/v1/tickets/N) — then the CPU used by the load
   client, the web processes and PostgreSQL, CPU ms per request, and the machine's load average.

Only 127.0.0.1 is contacted. The goal from issue 3: p95 under 100 ms for a queue page.
"""

from __future__ import annotations

import sys as _sys
from pathlib import Path as _Path

# benchmarks/email.py is named as the issue asks; run as a script, this folder comes first on sys.path and
# would hide the standard library's email package (imported by http.client and Django), so drop it.
_sys.path[:] = [p for p in _sys.path if _Path(p or ".").resolve() != _Path(__file__).resolve().parent]

import argparse
import http.client
import io
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SUBJECTS = [
    "Card declined at checkout", "Refund not received", "Cannot log in to my account", "Change delivery address",
    "Charged twice", "How do I close my account?", "Package arrived damaged", "Invoice needed for my order",
    "App crashes on start", "Upgrade my plan", "Transfer still pending", "Reset my PIN",
]
BODIES = [
    "Hello, I tried to pay this morning and it failed twice. Can you check what is wrong?",
    "Thanks for the quick answer, it works now.",
    "I am still waiting for the refund from last week, please advise.",
    "Could you send me the invoice as a PDF?",
    "We looked into it and the payment provider had an outage; please try again.",
]
CATEGORY_SHARE = [("new", 0.08), ("open", 0.12), ("pending", 0.08), ("on_hold", 0.02), ("solved", 0.2),
                  ("closed", 0.5)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if proc.poll() is not None:
                raise SystemExit(f"server on port {port} exited") from None
            time.sleep(0.2)
    raise SystemExit(f"server on port {port} did not start")


def _copy(cursor, table: str, columns: list[str], rows) -> int:
    """COPY rows (tuples) into a table; None becomes NULL."""
    count = 0
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def load(*, tickets: int, messages_per_ticket: int, customers: int, agents: int, seed: int) -> dict:
    """Create agents with tokens (through the services) and bulk-load customers, tickets and messages."""
    import django

    django.setup()
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import connection

    from cx.accounts.models import Role
    from cx.accounts.services import api_token_create, team_add_member, team_create, user_create
    from cx.tickets.models import Message, Ticket, TicketStatus

    rng = random.Random(seed)
    teams = []
    for name in ("Billing", "Payments", "Accounts", "Shipping"):
        teams.append(team_create(actor=None, name=f"bench-{name}"))
    agent_ids, tokens, sessions = [], [], []
    for n in range(agents):
        user = user_create(actor=None, username=f"bench-agent-{n}", email=f"bench{n}@example.test",
                           password=None, role=Role.AGENT)
        team_add_member(actor=None, team=teams[n % len(teams)], user=user)
        agent_ids.append(user.pk)
        tokens.append(api_token_create(actor=user, name="bench", scope="read").plaintext)
        session = SessionStore()
        session["_auth_user_id"] = str(user.pk)
        session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
        session["_auth_user_hash"] = user.get_session_auth_hash()
        session.create()
        sessions.append(session.session_key)
    statuses = {s.category: s.pk for s in TicketStatus.objects.filter(is_default=True)}
    now = datetime.now(UTC)
    raw = connection.cursor().cursor

    started = time.monotonic()
    customer_table = "customers_customer"
    first_customer = _copy(raw, customer_table,
                           ["display_name", "first_name", "last_name", "language", "time_zone", "notes",
                            "created_at", "updated_at"],
                           ((f"Bench Customer {i}", "Bench", f"Customer {i}", "en", "", "",
                             now - timedelta(days=800), now) for i in range(customers)))
    raw.execute(f"SELECT min(id), max(id) FROM {customer_table}")
    low, high = raw.fetchone()
    print(f"customers: {first_customer:,} in {time.monotonic() - started:.1f}s", flush=True)

    categories = [c for c, _ in CATEGORY_SHARE]
    weights = [w for _, w in CATEGORY_SHARE]

    def ticket_rows():
        for _ in range(tickets):
            category = rng.choices(categories, weights)[0]
            created = now - timedelta(minutes=rng.randrange(2 * 365 * 24 * 60))
            updated = min(now, created + timedelta(minutes=rng.randrange(60 * 24 * 14)))
            assignee = None if category == "new" and rng.random() < 0.7 else rng.choice(agent_ids)
            team = rng.choice(teams).pk
            solved = updated if category in ("solved", "closed") else None
            yield (rng.choice(SUBJECTS), rng.randint(low, high), rng.choice(["email", "chat", "web", "phone"]),
                   statuses[category], category, rng.choice(["low", "normal", "normal", "high", "urgent"]),
                   "question", assignee, team, "{}", "", created, updated,
                   None if category == "new" else created + timedelta(minutes=rng.randrange(1, 600)),
                   solved, solved if category == "closed" else None)

    started = time.monotonic()
    ticket_table = Ticket._meta.db_table
    _copy(raw, ticket_table,
          ["subject", "requester_id", "channel", "status_id", "status_category", "priority", "ticket_type",
           "assignee_id", "team_id", "custom_fields", "language", "created_at", "updated_at",
           "first_response_at", "solved_at", "closed_at"], ticket_rows())
    raw.execute(f"SELECT min(id), max(id) FROM {ticket_table}")
    first_ticket, last_ticket = raw.fetchone()
    print(f"tickets: {tickets:,} in {time.monotonic() - started:.1f}s", flush=True)

    def message_rows():
        for ticket_id in range(first_ticket, last_ticket + 1):
            created = now - timedelta(days=rng.randrange(700))
            for n in range(messages_per_ticket):
                agent = n % 2 == 1
                yield (ticket_id, "internal" if agent and rng.random() < 0.1 else "public",
                       "agent" if agent else "customer", rng.choice(agent_ids) if agent else None,
                       None if agent else rng.randint(low, high), "email", rng.choice(BODIES), "",
                       created + timedelta(minutes=30 * n), "", "", "")

    started = time.monotonic()
    count = _copy(raw, Message._meta.db_table,
                  ["ticket_id", "visibility", "author_type", "author_agent_id", "author_customer_id", "channel",
                   "body_text", "body_html", "created_at", "external_id", "delivery_status", "delivery_error"],
                  message_rows())
    print(f"messages: {count:,} in {time.monotonic() - started:.1f}s", flush=True)
    connection.commit() if not connection.get_autocommit() else None
    # VACUUM as well as ANALYZE: a freshly COPY'd table otherwise gets autovacuumed (visibility map, hint bits,
    # freezing 6M rows) during the measured phases, a tail no instance in steady state has.
    started = time.monotonic()
    raw.execute("VACUUM (ANALYZE)")
    print(f"vacuum analyze: {time.monotonic() - started:.1f}s", flush=True)
    return {"tokens": tokens, "sessions": sessions, "first_ticket": first_ticket, "last_ticket": last_ticket,
            "has_inbox": _has_inbox()}


def _reused(marker: Path, shape: dict) -> dict | None:
    """The data of an earlier load when the database still holds exactly that data set, else None."""
    if not marker.exists():
        return None
    saved = json.loads(marker.read_text())
    loaded = dict(saved.get("shape") or {})
    # Fewer agents than were loaded is fine (e.g. --agents 1 for the cost of one request without queueing).
    if loaded.pop("agents", 0) < shape["agents"] or loaded != {k: v for k, v in shape.items() if k != "agents"}:
        return None
    import django

    django.setup()
    from cx.tickets.models import Ticket

    data = saved["data"]
    if Ticket.objects.filter(pk__gte=data["first_ticket"], pk__lte=data["last_ticket"]).count() != shape["tickets"]:
        return None
    data["has_inbox"] = _has_inbox()
    return data


def _badge_url() -> str:
    """The notification badge partial every page's header loads, when the notifications app is installed."""
    from django.urls import NoReverseMatch, reverse

    try:
        return reverse("notifications:badge")
    except NoReverseMatch:
        return ""


def _has_inbox() -> bool:
    from django.urls import NoReverseMatch, reverse

    try:
        reverse("tickets:inbox")
    except NoReverseMatch:
        return False
    return True


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.samples: dict[str, list[float]] = {}
        self.errors: dict[str, int] = {}

    def add(self, kind: str, seconds: float, ok: bool) -> None:
        with self.lock:
            self.samples.setdefault(kind, []).append(seconds)
            if not ok:
                self.errors[kind] = self.errors.get(kind, 0) + 1


def agent_loop(*, agent: int, ports: list[int], token: str, session: str, first: int, last: int, has_inbox: bool,
               until: float, recorder: Recorder, max_requests: int, think_mean: float, badge_url: str) -> None:
    """One agent: pick a queue page, a queue API page or a ticket; with ``think_mean`` > 0 wait an exponentially
    distributed time (that mean, in seconds) before each click, like a person reading the screen. An HTML queue
    page view also fetches what the page loads right after, as the browser does (htmx ``load`` triggers): the
    sidebar counts and the header's notification badge."""
    rng = random.Random(agent)
    connections = {port: http.client.HTTPConnection("127.0.0.1", port, timeout=30) for port in ports}
    queues = ["my-open", "unassigned", "my-team", "all"]
    done = 0

    def get(kind: str, port: int, path: str, headers: dict[str, str]) -> None:
        started = time.perf_counter()
        ok = False
        try:
            conn = connections[port]
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            ok = response.status == 200
        except (OSError, http.client.HTTPException):
            connections[port].close()
            connections[port] = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        recorder.add(kind, time.perf_counter() - started, ok)

    if think_mean > 0:  # agents do not all click at the same instant when the shift starts
        time.sleep(rng.uniform(0, think_mean))
    while time.monotonic() < until and done < max_requests:
        port = ports[done % len(ports)]
        roll = rng.random()
        if has_inbox and roll < 0.4:
            queue = rng.choice(queues)
            cookie = {"Cookie": f"sessionid={session}"}
            get("queue page (HTML)", port, f"/tickets/?queue={queue}", cookie)
            get("queue counts (HTML partial)", port, f"/tickets/counts/?queue={queue}",
                {**cookie, "HX-Request": "true"})
            if badge_url:
                get("notification badge (HTML partial)", port, badge_url, {**cookie, "HX-Request": "true"})
        elif roll < 0.7:
            get("queue API", port, f"/api/v1/tickets?queue={rng.choice(queues)}&limit=25",
                {"Authorization": f"Bearer {token}"})
        else:
            get("ticket API", port, f"/api/v1/tickets/{rng.randint(first, last)}", {"Authorization": f"Bearer {token}"})
        done += 1
        if think_mean > 0:
            pause = rng.expovariate(1 / think_mean)
            time.sleep(max(0.0, min(pause, until - time.monotonic())))


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its waited-for children (/proc/PID/stat)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _process_tree(pid: int) -> list[int]:
    """pid and its live descendants (gunicorn workers live under the master)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        todo.extend(int(c) for c in children)
    return found


def _machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def _postgres_pids(pg_dir: str) -> list[int]:
    """The benchmark cluster's postmaster and its backends (empty when the database is not ours)."""
    try:
        postmaster = int(Path(pg_dir, "data", "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return []
    return _process_tree(postmaster)


def run_phase(*, name: str, think_mean: float, duration: float, agents: int, ports: list[int], data: dict,
              servers: list[subprocess.Popen], max_requests: int, pg_dir: str = "") -> str:
    """Run the agents for ``duration`` seconds and return a Markdown table with the CPU and load figures."""
    recorder = Recorder()
    load_before = os.getloadavg()
    server_pids = [pid for proc in servers for pid in _process_tree(proc.pid)]
    server_cpu = sum(_cpu_seconds(pid) for pid in server_pids)
    pg_before = {pid: _cpu_seconds(pid) for pid in _postgres_pids(pg_dir)}
    client_cpu = time.process_time()
    busy, total = _machine_busy()
    wall = time.monotonic()
    until = wall + duration
    threads = [
        threading.Thread(target=agent_loop, kwargs={
            "agent": n, "ports": ports, "token": data["tokens"][n], "session": data["sessions"][n],
            "first": data["first_ticket"], "last": data["last_ticket"], "has_inbox": data["has_inbox"],
            "until": until, "recorder": recorder, "max_requests": max_requests, "think_mean": think_mean,
            "badge_url": data.get("badge_url", "")})
        for n in range(agents)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=duration + 120)
    wall = time.monotonic() - wall
    client_cpu = time.process_time() - client_cpu
    server_cpu = sum(_cpu_seconds(pid) for pid in server_pids) - server_cpu
    # Backends that started during the phase count from zero; pooled ones are long-lived.
    pg_cpu = sum(_cpu_seconds(pid) - pg_before.get(pid, 0.0) for pid in _postgres_pids(pg_dir))
    busy_after, total_after = _machine_busy()
    load_after = os.getloadavg()
    out = io.StringIO()
    think = f"exponential think time, mean {think_mean:g} s" if think_mean > 0 else "no think time (closed loop)"
    out.write(f"### {name}: {agents} agents, {think}, {duration:g} s\n\n")
    out.write("| request | count | req/s | p50 ms | p95 ms | p99 ms | errors |\n|---|---|---|---|---|---|---|\n")
    every = 0
    for kind, values in sorted(recorder.samples.items()):
        every += len(values)
        out.write(f"| {kind} | {len(values)} | {len(values) / wall:.1f} | "
                  f"{statistics.median(values) * 1000:.1f} | {percentile(values, 0.95) * 1000:.1f} | "
                  f"{percentile(values, 0.99) * 1000:.1f} | {recorder.errors.get(kind, 0)} |\n")
    def per(seconds: float) -> float:
        return 1000 * seconds / max(1, every)

    out.write(f"\nall requests: {every / wall:.1f} req/s. CPU over the phase (100 % = one core of 2): "
              f"load client {100 * client_cpu / wall:.0f} %, web servers {100 * server_cpu / wall:.0f} %, "
              f"PostgreSQL {100 * pg_cpu / wall:.0f} %, "
              f"whole machine {200 * (busy_after - busy) / max(1, total_after - total):.0f} % of 200 %. "
              f"Load average (1 min) {load_before[0]:.2f} before, {load_after[0]:.2f} after.\n"
              f"CPU per request (independent of other work on the machine): web {per(server_cpu):.1f} ms, "
              f"PostgreSQL {per(pg_cpu):.1f} ms, load client {per(client_cpu):.2f} ms.\n")
    return out.getvalue()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--messages-per-ticket", type=int, default=5)
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--servers", type=int, default=2)
    parser.add_argument("--server", choices=["daphne", "uvicorn", "gunicorn", "gunicorn-gthread"], default="daphne",
                        help="web server: daphne/uvicorn (ASGI, one process per port, --servers processes) or "
                             "gunicorn (WSGI, one port, --servers workers; sync or gthread workers)")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn-gthread worker")
    parser.add_argument("--mode", choices=["both", "capacity", "realistic"], default="both",
                        help="capacity: closed loop, no think time (how many requests/s the servers take); "
                             "realistic: each agent waits an exponential think time between clicks (the goal's "
                             "measure); both (default): capacity first, then realistic")
    parser.add_argument("--think-mean", type=float, default=2.0,
                        help="mean think time in seconds between an agent's clicks in the realistic phase")
    parser.add_argument("--max-requests-per-agent", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep-database", action="store_true",
                        help="leave the benchmark's PostgreSQL running with its data after the run")
    parser.add_argument("--pg-dir", default="/tmp/cxdesk-bench-pg",
                        help="directory of the benchmark's own throwaway PostgreSQL (one per engineer on a shared "
                             "machine; ignored with --database-url)")
    parser.add_argument("--pg-port", default="5498", help="port of that PostgreSQL")
    parser.add_argument("--reuse", action="store_true",
                        help="skip loading when the running benchmark database already holds this data set "
                             "(loaded by an earlier run with --keep-database)")
    args = parser.parse_args()

    pg_dir, pg_port = args.pg_dir, str(args.pg_port)
    own_pg = not args.database_url
    if own_pg:
        subprocess.run([str(REPO / "scripts/pg-throwaway.sh"), "start", pg_dir, pg_port,
                        "/usr/lib/postgresql/15/bin"], check=True)
        args.database_url = f"postgres://cx:cx@127.0.0.1:{pg_port}/cx"
    home = Path(os.environ.get("CXDESK_BENCH_HOME", "/tmp/cxdesk-bench-home"))
    home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "DATABASE_URL": args.database_url, "CXDESK_HOME": str(home),
           "DJANGO_SETTINGS_MODULE": "config.settings", "CXDESK_TASKS": "immediate", "CXDESK_LOG_LEVEL": "WARNING"}
    os.environ.update(env)
    servers: list[subprocess.Popen] = []
    try:
        subprocess.run([sys.executable, str(REPO / "manage.py"), "migrate", "-v0"], check=True, env=env)
        started = time.monotonic()
        marker = home / "bench-data.json"
        shape = {"tickets": args.tickets, "messages_per_ticket": args.messages_per_ticket,
                 "customers": args.customers, "agents": args.agents, "seed": args.seed,
                 "database_url": args.database_url}
        data = _reused(marker, shape) if args.reuse else None
        if data is None:
            data = load(tickets=args.tickets, messages_per_ticket=args.messages_per_ticket,
                        customers=args.customers, agents=args.agents, seed=args.seed)
            marker.write_text(json.dumps({"shape": shape, "data": data}))
        else:
            print("reusing the loaded database", flush=True)
        load_seconds = time.monotonic() - started
        data["badge_url"] = _badge_url()

        if args.server.startswith("gunicorn"):  # one port, --servers worker processes (WSGI, plain HTTP)
            ports = [_free_port()]
            worker = (["--worker-class", "gthread", "--threads", str(args.threads)] if args.server == "gunicorn-gthread"
                      else ["--worker-class", "sync"])
            commands = [[sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{ports[0]}", "--workers",
                         str(args.servers), *worker, "--log-level", "warning", "config.wsgi:application"]]
        else:  # one process per port, as the README's scale-out runs several cxdesk web processes
            ports = [_free_port() for _ in range(args.servers)]
            commands = [[sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"]
                        if args.server == "daphne" else
                        [sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(port),
                         "--no-access-log", "--log-level", "warning", "config.asgi:application"]
                        for port in ports]
        for port, command in zip(ports, commands, strict=True):
            log = open(home / f"bench-server-{port}.log", "wb")  # noqa: SIM115 - lives as long as the server
            servers.append(subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT))
        for port, proc in zip(ports, servers, strict=True):
            _wait_port(port, proc)

        out = io.StringIO()
        out.write(f"tickets={args.tickets:,} messages={args.tickets * args.messages_per_ticket:,} "
                  f"agents={args.agents} servers={args.servers}x{args.server} load={load_seconds:.0f}s "
                  f"date={datetime.now(UTC):%Y-%m-%d %H:%M} UTC cores={os.cpu_count()}\n\n")
        phases = []
        if args.mode in ("both", "capacity"):
            phases.append(("Capacity", 0.0))
        if args.mode in ("both", "realistic"):
            phases.append(("Realistic", args.think_mean))
        for name, think_mean in phases:
            out.write(run_phase(name=name, think_mean=think_mean, duration=args.duration, agents=args.agents,
                                ports=ports, data=data, servers=servers,
                                max_requests=args.max_requests_per_agent, pg_dir=pg_dir if own_pg else ""))
            out.write("\n")
        print(out.getvalue())
    finally:
        for proc in servers:
            proc.terminate()
        for proc in servers:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        if own_pg and not args.keep_database:
            (home / "bench-data.json").unlink(missing_ok=True)
            subprocess.run([str(REPO / "scripts/pg-throwaway.sh"), "stop", pg_dir, pg_port,
                            "/usr/lib/postgresql/15/bin"], check=False)


if __name__ == "__main__":
    main()
