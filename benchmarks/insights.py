"""Insights dashboards on a large history: how long the service, experience and link figures take.

What it does:
1. migrates a throwaway database (a fresh SQLite file in a temporary CXDESK_HOME, or --database-url, e.g. a
   throwaway PostgreSQL from scripts/pg-throwaway.sh) and bulk-loads --tickets tickets spread over --days days,
   each with a customer message and an agent reply (a third of them with a follow-up wait), 85 % solved, 5 %
   reopened, half of them (high and urgent) under an SLA policy with a Monday-Friday business calendar (so
   their durations go through the business-hours clock), and --answers NPS, CSAT and CES answers. Seeding
   bypasses the services on purpose: it is setup, not the thing measured;
2. times each selector --repeat times over the last 90 days: the service dashboard (4 figure sets: period,
   previous period, breakdown by channel, leaderboard), the same filtered to one agent, the experience
   dashboard and the service-experience link;
3. prints a table (min / median / max wall-clock seconds, the median CPU seconds of this Python process — the
   figure a busy machine disturbs least; the database server's work is not in it — and SQL queries per call)
   and a last line of key=value figures. ``--reuse`` keeps the data of an earlier run on the same
   ``--database-url`` (load once, then time several versions); ``--profile N`` prints the N most expensive
   functions (cProfile) of one service dashboard call first.

    .venv/bin/python benchmarks/insights.py --tickets 50000
    .venv/bin/python benchmarks/insights.py --tickets 200000 --database-url postgres://cx:cx@127.0.0.1:5601/cx
    .venv/bin/python benchmarks/insights.py --tickets 100000 --database-url ... --reuse --profile 30
"""

from __future__ import annotations

import sys as _sys
from pathlib import Path as _Path

# benchmarks/email.py would hide the standard library's email package when this folder leads sys.path.
_sys.path[:] = [p for p in _sys.path if _Path(p or ".").resolve() != _Path(__file__).resolve().parent]

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _setup(database_url: str | None) -> None:
    home = tempfile.mkdtemp(prefix="cx-insights-bench-")
    os.environ["CXDESK_HOME"] = home
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def _load(*, tickets: int, days: int, answers: int, seed: int) -> None:
    from django.db import transaction

    from cx.accounts.models import Role, User
    from cx.customers.models import Customer
    from cx.sla.models import BusinessCalendarConfig, SlaClock, SlaPolicy, TicketSla
    from cx.surveys.models import Invitation, Response, Survey
    from cx.tickets.models import Message, Ticket, TicketStatus
    from cx.tickets.services import ticket_statuses_ensure_defaults

    rng = random.Random(seed)
    now = datetime.now(UTC)
    ticket_statuses_ensure_defaults()
    statuses = {s.category: s for s in TicketStatus.objects.filter(is_default=True)}
    with transaction.atomic():
        agents = User.objects.bulk_create([User(username=f"bench-agent-{i}", role=Role.AGENT, email=f"a{i}@b.test")
                                           for i in range(30)])
        customers = Customer.objects.bulk_create([Customer(display_name=f"Customer {i}")
                                                  for i in range(max(100, tickets // 5))])
        calendar = BusinessCalendarConfig.objects.create(name="Bench office", time_zone="Europe/Berlin", weekly_hours={
            d: [["09:00", "17:00"]] for d in ("monday", "tuesday", "wednesday", "thursday", "friday")})
        policy = SlaPolicy.objects.create(name="Bench", calendar=calendar, priorities=["high", "urgent"])
    for field in ("created_at",):  # keep the historic times given below (bulk setup only)
        Ticket._meta.get_field(field).auto_now_add = False
        Message._meta.get_field(field).auto_now_add = False
    batch = 5000
    for start in range(0, tickets, batch):
        rows, messages, slas = [], [], []
        for _ in range(start, min(start + batch, tickets)):
            created = now - timedelta(seconds=rng.uniform(0, days * 86400))
            first = created + timedelta(seconds=rng.expovariate(1 / 14400))
            solved = first + timedelta(seconds=rng.expovariate(1 / 40000)) if rng.random() < 0.85 else None
            category = "solved" if solved else rng.choice(["new", "open", "pending"])
            rows.append(Ticket(subject="Help", requester=rng.choice(customers), channel=rng.choice(
                ["email", "chat", "web", "phone"]), status=statuses[category], status_category=category,
                priority=rng.choice(["low", "normal", "high", "urgent"]), assignee=rng.choice(agents),
                created_at=created, first_response_at=first if category != "new" else None, solved_at=solved))
        Ticket.objects.bulk_create(rows, batch_size=1000)
        for ticket in rows:
            messages.append(Message(ticket=ticket, author_type="customer", author_customer=ticket.requester,
                                    channel=ticket.channel, body_text="Help", created_at=ticket.created_at))
            if ticket.first_response_at:
                messages.append(Message(ticket=ticket, author_type="agent", author_agent=ticket.assignee,
                                        channel=ticket.channel, body_text="Answer",
                                        created_at=ticket.first_response_at))
                if rng.random() < 0.33:
                    asked = ticket.first_response_at + timedelta(minutes=rng.uniform(5, 600))
                    messages.append(Message(ticket=ticket, author_type="customer", author_customer=ticket.requester,
                                            channel=ticket.channel, body_text="More", created_at=asked))
                    messages.append(Message(ticket=ticket, author_type="agent", author_agent=ticket.assignee,
                                            channel=ticket.channel, body_text="Answer",
                                            created_at=asked + timedelta(seconds=rng.expovariate(1 / 7200))))
            slas.append(TicketSla(ticket=ticket, status_category=ticket.status_category,
                                  policy=policy if ticket.priority in ("high", "urgent") else None))
        Message.objects.bulk_create(messages, batch_size=2000)
        TicketSla.objects.bulk_create(slas, batch_size=2000)
        clocks = []
        for sla, ticket in zip(slas, rows, strict=True):
            done = ticket.solved_at
            clocks.append(SlaClock(ticket_sla=sla, metric="resolution", started_at=ticket.created_at,
                                   due_at=ticket.created_at + timedelta(hours=24) if sla.policy else None,
                                   achieved_at=done, resumed_gaps=[[done.isoformat(), done.isoformat()]]
                                   if done and rng.random() < 0.05 else []))
        SlaClock.objects.bulk_create(clocks, batch_size=2000)
    surveys = {kind: Survey.objects.create(name=f"Bench {kind}", kind=kind, status="active")
               for kind in ("nps", "csat", "ces")}
    for start in range(0, answers, batch):
        invitations, responses = [], []
        for i in range(start, min(start + batch, answers)):
            kind = ("nps", "csat", "ces")[i % 3]
            at = now - timedelta(seconds=rng.uniform(0, days * 86400))
            customer = rng.choice(customers)
            invitation = Invitation(survey=surveys[kind], customer=customer, nonce=f"b{i}", source="api",
                                    send_at=at, sent_at=at, answered_at=at, status="answered")
            invitations.append(invitation)
            score = {"nps": rng.randint(0, 10), "csat": rng.randint(1, 5), "ces": rng.randint(1, 7)}[kind]
            responses.append((invitation, kind, customer, at, score))
        Invitation.objects.bulk_create(invitations, batch_size=2000)
        Response.objects.bulk_create([Response(invitation=inv, survey=surveys[kind], customer=customer, started_at=at,
                                               **{f"{kind}_score": score})
                                      for inv, kind, customer, at, score in responses], batch_size=2000)


def _time(label: str, call, repeat: int) -> tuple[str, list[float], int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    seconds, cpu = [], []
    queries = 0
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as captured:
            started, started_cpu = time.perf_counter(), time.process_time()
            call()
            seconds.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
        queries = len(captured.captured_queries)
    return label, seconds, queries, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tickets", type=int, default=50_000)
    parser.add_argument("--answers", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--reuse", action="store_true",
                        help="keep the data already loaded by an earlier run on the same --database-url")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="print the N most expensive functions (cProfile) of one service dashboard call")
    args = parser.parse_args()
    _setup(args.database_url)
    from cx.accounts.models import User as _User

    started = time.perf_counter()
    if not (args.reuse and _User.objects.filter(username="bench-agent-0").exists()):
        _load(tickets=args.tickets, days=args.days, answers=args.answers, seed=args.seed)
    load_seconds = time.perf_counter() - started

    from cx.accounts.models import Role, User
    from cx.insights.period import ServiceFilters, period_from
    from cx.insights.selectors import experience_dashboard, link_report, service_dashboard

    viewer, _ = User.objects.get_or_create(username="bench-lead", defaults={"role": Role.TEAM_LEAD})
    agent = User.objects.filter(username="bench-agent-0").first()
    period = period_from({"period": "90"})
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.runcall(service_dashboard, actor=viewer, filters=ServiceFilters(), period=period)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.profile)
    results = [
        _time("service dashboard (90 days)", lambda: service_dashboard(actor=viewer, filters=ServiceFilters(),
                                                                        period=period), args.repeat),
        _time("service dashboard, one agent", lambda: service_dashboard(
            actor=viewer, filters=ServiceFilters(agent_id=agent.pk), period=period), args.repeat),
        _time("experience dashboard", lambda: experience_dashboard(actor=viewer, period=period), args.repeat),
        _time("service-experience link", lambda: link_report(actor=viewer, period=period), args.repeat),
    ]
    from django.db import connection

    print(f"Insights on {args.tickets:,} tickets over {args.days} days, {args.answers:,} answers "
          f"({connection.vendor}); load {load_seconds:.1f} s")
    print(f"{'figures':34} {'min s':>8} {'median s':>9} {'max s':>8} {'client CPU s':>13} {'queries':>8}")
    for label, seconds, queries, cpu in results:
        print(f"{label:34} {min(seconds):8.2f} {statistics.median(seconds):9.2f} {max(seconds):8.2f} "
              f"{statistics.median(cpu):13.2f} {queries:8d}")
    figures = " ".join(f"{key}={statistics.median(seconds):.3f}" for key, (_, seconds, _, _) in
                       zip(("service_s", "service_agent_s", "experience_s", "link_s"), results, strict=True))
    print(f"tickets={args.tickets} db={connection.vendor} {figures}")


if __name__ == "__main__":
    main()
