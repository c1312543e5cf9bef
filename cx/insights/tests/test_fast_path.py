"""The dashboard's fast path (one read per data set, durations as microsecond integers, numpy) gives exactly the
numbers of the reference definitions (tests/reference.py: one query per figure and group, datetimes, a bisect
per business-hours duration) on the same random history — on SQLite and, with DATABASE_URL, on PostgreSQL.
Equality is exact (==), not approximate: the fast path does the same float operations in the same order."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.db.models.functions import Now
from django.test.utils import CaptureQueriesContext

from cx.accounts.models import Role, Team, User
from cx.customers.models import Customer
from cx.insights.period import ServiceFilters, period_for_days
from cx.insights.selectors import ALL, EpochMicros, _us, service_dashboard, service_figure_sets, service_figures
from cx.insights.tests.factories import answer
from cx.insights.tests.reference import reference_service_figures
from cx.sla.models import BusinessCalendarConfig, Holiday, SlaClock, SlaPolicy, TicketSla
from cx.surveys.models import SurveyKind
from cx.tickets.models import Message, Ticket, TicketStatus
from cx.tickets.services import ticket_statuses_ensure_defaults

BASE = datetime(2024, 4, 1, tzinfo=UTC)
DAYS = 120
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")


def _moment(rng: random.Random, after: datetime, mean_seconds: float) -> datetime:
    moment = after + timedelta(seconds=rng.expovariate(1 / mean_seconds))
    return moment.replace(microsecond=0) if rng.random() < 0.3 else moment  # whole seconds and fractions


def _history(rng: random.Random, tickets: int, *, prefix: str = "") -> None:
    """Tickets of every shape the figures distinguish, bulk-created with their own times (setup, not services):
    unanswered, answered at the very instant of creation, solved, solved-then-reopened (open with a solve time),
    closed, merged; public replies, internal notes, system messages, follow-up waits answered or not, ties;
    SLA policies with a Berlin calendar (holiday, DST change inside the range), a UTC calendar, a 24/7 policy,
    none; settled, breached and running SLA clocks; CSAT answers on tickets."""
    ticket_statuses_ensure_defaults()
    statuses = {s.category: s for s in TicketStatus.objects.filter(is_default=True)}
    agents = list(User.objects.filter(username__startswith="fp-agent-")) or User.objects.bulk_create(
        [User(username=f"fp-agent-{i}", role=Role.AGENT, email=f"fp{i}@example.com") for i in range(4)])
    teams = list(Team.objects.filter(name__startswith="fp-team-")) or [Team.objects.create(name=f"fp-team-{i}")
                                                                       for i in range(2)]
    customers = Customer.objects.bulk_create([Customer(display_name=f"{prefix}Customer {i}") for i in range(12)])
    policies = list(SlaPolicy.objects.filter(name__startswith="fp-"))
    if not policies:
        berlin = BusinessCalendarConfig.objects.create(name="fp-berlin", time_zone="Europe/Berlin", weekly_hours={
            d: [["09:00", "12:30"], ["13:30", "18:00"]] for d in WEEKDAYS} | {"saturday": [["10:00", "14:00"]]})
        Holiday.objects.create(calendar=berlin, name="Whit Monday", date=date(2024, 5, 20))
        utc = BusinessCalendarConfig.objects.create(name="fp-utc", time_zone="UTC", weekly_hours={
            d: [["08:00", "16:00"]] for d in WEEKDAYS})
        policies = [SlaPolicy.objects.create(name="fp-berlin", calendar=berlin),
                    SlaPolicy.objects.create(name="fp-utc", calendar=utc),
                    SlaPolicy.objects.create(name="fp-247")]
    rows, later = [], []
    for i in range(tickets):
        created = _moment(rng, BASE, DAYS * 86400 / 2)
        kind = rng.random()
        first = None if kind < 0.2 else created if kind < 0.24 else _moment(rng, created, 14400)
        solved = None
        if first is not None and rng.random() < 0.75:
            solved = created if rng.random() < 0.03 else _moment(rng, first, 40000)
        category = (rng.choice(["solved", "solved", "closed"]) if solved and rng.random() < 0.9
                    else rng.choice(["new", "open", "pending", "on_hold"]))
        rows.append(Ticket(subject=f"{prefix}{i}", requester=rng.choice(customers), status=statuses[category],
                           status_category=category, channel=rng.choice(["email", "chat", "web", "phone"]),
                           priority=rng.choice(["low", "normal", "high", "urgent"]),
                           assignee=rng.choice([*agents, None]), team=rng.choice([*teams, None]),
                           created_at=created, first_response_at=first, solved_at=solved))
    Ticket.objects.bulk_create(rows)
    for ticket in rows:
        if rng.random() < 0.04 and later:
            later.append((ticket, rng.choice(later)[0]))
        later.append((ticket, None))
    for ticket, survivor in later:
        if survivor is not None:
            Ticket.objects.filter(pk=ticket.pk).update(merged_into=survivor)
    messages, slas = [], []
    for ticket in rows:
        customer, agent = ticket.requester, ticket.assignee or agents[0]

        def say(author: str, at: datetime, visibility: str = "public", ticket=ticket, customer=customer,
                agent=agent) -> None:
            messages.append(Message(ticket=ticket, author_type=author, visibility=visibility, body_text="x",
                                    channel=ticket.channel, created_at=at,
                                    author_customer=customer if author == "customer" else None,
                                    author_agent=agent if author == "agent" else None))

        say("customer", ticket.created_at)
        if rng.random() < 0.2:
            say("agent", ticket.created_at + timedelta(minutes=5), "internal")
        if rng.random() < 0.1:
            say("system", ticket.created_at + timedelta(minutes=1))
        if ticket.first_response_at is not None:
            say("agent", ticket.first_response_at)
            moment = ticket.first_response_at
            for _ in range(rng.choice([0, 0, 1, 1, 2])):
                moment = _moment(rng, moment, 20000)
                say("customer", moment)
                if rng.random() < 0.15:
                    say("customer", moment)  # a tie: two messages at the same instant
                if rng.random() < 0.8:
                    moment = _moment(rng, moment, 7200)
                    say("agent", moment, "internal" if rng.random() < 0.1 else "public")
        policy = rng.choice([*policies, None])
        slas.append(TicketSla(ticket=ticket, policy=policy, status_category=ticket.status_category))
    Message.objects.bulk_create(messages)
    TicketSla.objects.bulk_create(slas)
    clocks = []
    for sla, ticket in zip(slas, rows, strict=True):
        done = ticket.solved_at
        gaps = [[done.isoformat(), done.isoformat()]] if done and rng.random() < 0.15 else []
        clocks.append(SlaClock(ticket_sla=sla, metric="resolution", started_at=ticket.created_at, resumed_gaps=gaps,
                               due_at=ticket.created_at + timedelta(hours=24) if sla.policy else None,
                               achieved_at=done if ticket.status_category in ("solved", "closed") else None,
                               breached_at=ticket.created_at + timedelta(hours=24)
                               if sla.policy and (done is None or done > ticket.created_at + timedelta(hours=24))
                               else None))
        if sla.policy and ticket.first_response_at:
            due = ticket.created_at + timedelta(hours=rng.choice([1, 4]))
            clocks.append(SlaClock(ticket_sla=sla, metric="first_response", started_at=ticket.created_at, due_at=due,
                                   achieved_at=ticket.first_response_at,
                                   breached_at=due if ticket.first_response_at > due else None))
    SlaClock.objects.bulk_create(clocks)
    for ticket in rng.sample(rows, k=len(rows) // 4):
        answer(kind=SurveyKind.CSAT, score=rng.randint(1, 5), at=_moment(rng, ticket.created_at, 86400),
               customer=ticket.requester, ticket=ticket)


@pytest.fixture
def history(db, monkeypatch):
    for model in (Ticket, Message):  # keep the historic times given (bulk setup only)
        monkeypatch.setattr(model._meta.get_field("created_at"), "auto_now_add", False)
    _history(random.Random(20241), 260)


PERIODS = [period_for_days(date(2024, 5, 6), date(2024, 6, 4)), period_for_days(date(2024, 4, 6), date(2024, 5, 5)),
           period_for_days(date(2024, 4, 1), date(2024, 7, 29))]
FILTERS = [ServiceFilters(), ServiceFilters(channel="chat"), ServiceFilters(priority="high")]


def _as_dicts(figures):
    return {key: f.as_dict() for key, f in figures.items()}


@pytest.mark.parametrize("period", PERIODS, ids=["30 days", "previous 30 days", "whole history"])
@pytest.mark.parametrize("group", [None, "agent", "team", "channel", "priority"])
def test_the_fast_path_equals_the_reference_definitions(history, period, group):
    for filters in FILTERS:
        fast = service_figures(filters=filters, period=period, group=group)
        reference = reference_service_figures(filters=filters, period=period, group=group)
        assert _as_dicts(fast) == _as_dicts(reference)
        assert fast == reference  # the CSAT rows' details too


def test_agent_and_team_filters_and_a_backlog_counted_at_now(history):
    agent, team = User.objects.filter(username="fp-agent-1").get(), Team.objects.get(name="fp-team-0")
    now = datetime(2024, 5, 25, 15, 30, tzinfo=UTC)  # inside the period: the backlog is counted now
    for filters in (ServiceFilters(agent_id=agent.pk), ServiceFilters(team_id=team.pk, channel="email")):
        for group in (None, "channel"):
            fast = service_figures(filters=filters, period=PERIODS[0], group=group, now=now)
            assert fast == reference_service_figures(filters=filters, period=PERIODS[0], group=group, now=now)


def test_the_history_exercises_business_hours_ties_and_every_kind_of_figure(history):
    f = service_figures(filters=ServiceFilters(), period=PERIODS[2])[ALL]
    assert 0 < f.first_response.business_hours < f.first_response.n
    assert 0 < f.next_response.business_hours < f.next_response.n
    assert 0 < f.resolution.business_hours < f.resolution.n
    assert f.reopened and f.fcr_count and f.backlog and f.sla_settled > f.sla_met and f.csat.n
    assert Ticket.objects.filter(merged_into__isnull=False).exists()


def test_several_breakdowns_at_once_equal_one_at_a_time(history):
    sets = service_figure_sets(filters=ServiceFilters(), period=PERIODS[0], groups=(None, "team", "agent"))
    for group in (None, "team", "agent"):
        assert sets[group] == service_figures(filters=ServiceFilters(), period=PERIODS[0], group=group)


def test_the_dashboard_is_built_from_the_same_figures(history, admin_user):
    period = PERIODS[0]
    board = service_dashboard(actor=admin_user, filters=ServiceFilters(), period=period, breakdown="team")
    assert board.current == reference_service_figures(filters=ServiceFilters(), period=period)[ALL]
    before = reference_service_figures(filters=ServiceFilters(), period=period.previous())[ALL]
    assert {k.key: k.previous for k in board.kpis}["frt_median"] == before.first_response.median
    by_agent = reference_service_figures(filters=ServiceFilters(), period=period, group="agent")
    assert [(agent_id, f) for _, agent_id, f in board.leaderboard] == sorted(
        ((k, f) for k, f in by_agent.items() if k is not None and f.solved),
        key=lambda item: (-item[1].solved, item[1].resolution.median or 0,
                          User.objects.get(pk=item[0]).display_name))


def test_the_query_count_does_not_grow_with_the_data(db, monkeypatch, admin_user):
    for model in (Ticket, Message):
        monkeypatch.setattr(model._meta.get_field("created_at"), "auto_now_add", False)
    rng = random.Random(7)
    _history(rng, 40)
    period = PERIODS[2]

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            service_dashboard(actor=admin_user, filters=ServiceFilters(), period=period, breakdown="agent")
        return len(captured.captured_queries)

    small = count()
    _history(rng, 200, prefix="more ")
    assert count() == small
    assert small <= 30  # about 20 reads (and on PostgreSQL the savepoints around them)


def test_epoch_microseconds_are_exact_for_every_stored_form(db, customer):
    """Whole seconds, microseconds, and the database's own clock (SQLite writes milliseconds there)."""
    ticket = Ticket.objects.create(subject="t", requester=customer, status=TicketStatus.objects.filter(
        is_default=True).first() or TicketStatus.objects.create(name="Open", category="open", is_default=True))
    for moment in (datetime(2024, 3, 31, 0, 59, 59, tzinfo=UTC), datetime(2024, 6, 3, 9, 0, 0, 1, tzinfo=UTC),
                   datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), None):
        if moment is None:
            Ticket.objects.filter(pk=ticket.pk).update(solved_at=Now())
        else:
            Ticket.objects.filter(pk=ticket.pk).update(solved_at=moment)
        stored = Ticket.objects.get(pk=ticket.pk).solved_at
        assert Ticket.objects.filter(pk=ticket.pk).annotate(us=EpochMicros("solved_at")).get().us == _us(stored)
