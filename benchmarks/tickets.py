"""Ticket workspace under load: 1,000,000 tickets with 5,000,000 messages in PostgreSQL, 50 agents at once.

    .venv/bin/python benchmarks/tickets.py                 # full size (loads ~10 min, then 60 s of load)
    .venv/bin/python benchmarks/tickets.py --tickets 20000 --duration 10   # a quick smoke run

What it does, in one run:
1. starts a throwaway PostgreSQL (scripts/pg-throwaway.sh, port 5498) unless --database-url is given,
   migrates it and bulk-loads agents, customers, tickets and messages with COPY (seeding bypasses the
   services on purpose: it is setup, not the thing measured);
2. starts two real cxdesk web processes (daphne, config.asgi) on 127.0.0.1, as the README's scale-out
   describes, and a bounded load client: 50 agent threads, each with its own API token and session, for
   --duration seconds, spread over both processes;
3. prints a table of p50/p95/p99 latency and errors per request kind: the queue page (HTML inbox, when the
   workspace is installed), the queue API (/api/v1/tickets?queue=...) and the ticket API (/api/v1/tickets/N).

Only 127.0.0.1 is contacted. The goal from issue 3: p95 under 100 ms for a queue page.
"""

from __future__ import annotations

import argparse
import http.client
import io
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
    raw.execute("ANALYZE")
    return {"tokens": tokens, "sessions": sessions, "first_ticket": first_ticket, "last_ticket": last_ticket,
            "has_inbox": _has_inbox()}


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
               until: float, recorder: Recorder, max_requests: int) -> None:
    rng = random.Random(agent)
    connections = {port: http.client.HTTPConnection("127.0.0.1", port, timeout=30) for port in ports}
    queues = ["my-open", "unassigned", "my-team", "all"]
    done = 0
    while time.monotonic() < until and done < max_requests:
        port = ports[done % len(ports)]
        roll = rng.random()
        if has_inbox and roll < 0.4:
            kind, path = "queue page (HTML)", f"/tickets/?queue={rng.choice(queues)}"
            headers = {"Cookie": f"sessionid={session}"}
        elif roll < 0.7:
            kind, path = "queue API", f"/api/v1/tickets?queue={rng.choice(queues)}&limit=25"
            headers = {"Authorization": f"Bearer {token}"}
        else:
            kind, path = "ticket API", f"/api/v1/tickets/{rng.randint(first, last)}"
            headers = {"Authorization": f"Bearer {token}"}
        started = time.perf_counter()
        ok = False
        try:
            conn = connections[port]
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            ok = response.status == 200
        except (OSError, http.client.HTTPException):
            connections[port] = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        recorder.add(kind, time.perf_counter() - started, ok)
        done += 1


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
    parser.add_argument("--server", choices=["daphne", "uvicorn"], default="daphne",
                        help="ASGI server for the web processes (cxdesk run uses daphne)")
    parser.add_argument("--max-requests-per-agent", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    pg_dir, pg_port = "/tmp/cxdesk-bench-pg", "5498"
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
        data = load(tickets=args.tickets, messages_per_ticket=args.messages_per_ticket, customers=args.customers,
                    agents=args.agents, seed=args.seed)
        load_seconds = time.monotonic() - started

        ports = [_free_port() for _ in range(args.servers)]
        for port in ports:
            log = open(home / f"bench-server-{port}.log", "wb")  # noqa: SIM115 - lives as long as the server
            command = ([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"]
                       if args.server == "daphne" else
                       [sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
                        "--log-level", "warning", "config.asgi:application"])
            servers.append(subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT))
        for port, proc in zip(ports, servers, strict=True):
            _wait_port(port, proc)

        recorder = Recorder()
        until = time.monotonic() + args.duration
        threads = [
            threading.Thread(target=agent_loop, kwargs={
                "agent": n, "ports": ports, "token": data["tokens"][n], "session": data["sessions"][n],
                "first": data["first_ticket"], "last": data["last_ticket"], "has_inbox": data["has_inbox"],
                "until": until, "recorder": recorder, "max_requests": args.max_requests_per_agent})
            for n in range(args.agents)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=args.duration + 120)

        out = io.StringIO()
        out.write(f"tickets={args.tickets:,} messages={args.tickets * args.messages_per_ticket:,} "
                  f"agents={args.agents} servers={args.servers}x{args.server} duration={args.duration:g}s "
                  f"load={load_seconds:.0f}s\n\n")
        out.write("| request | count | req/s | p50 ms | p95 ms | p99 ms | errors |\n|---|---|---|---|---|---|---|\n")
        for kind, values in sorted(recorder.samples.items()):
            out.write(f"| {kind} | {len(values)} | {len(values) / args.duration:.0f} | "
                      f"{statistics.median(values) * 1000:.1f} | {percentile(values, 0.95) * 1000:.1f} | "
                      f"{percentile(values, 0.99) * 1000:.1f} | {recorder.errors.get(kind, 0)} |\n")
        print(out.getvalue())
    finally:
        for proc in servers:
            proc.terminate()
        for proc in servers:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        if own_pg:
            subprocess.run([str(REPO / "scripts/pg-throwaway.sh"), "stop", pg_dir, pg_port,
                            "/usr/lib/postgresql/15/bin"], check=False)


if __name__ == "__main__":
    main()
