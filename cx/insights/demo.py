"""Demo history for the Insights dashboards: three months of tickets and survey answers for the demo company.

The demo company (cx.demo) has customers, journeys and orders but no service history, so the dashboards would
be empty after ``make run``. ``demo_seed`` replays a plausible history through the real services (tickets,
SLA clocks, touchpoints, survey invitations and answers), each step at its historic moment: the services read
``django.utils.timezone.now``, which the replay sets for the duration of the seeding only (a one-off command,
never a running server). Runs once; a second call sees its surveys and does nothing.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from unittest import mock

from django.utils import timezone

from cx.accounts.models import Role, User
from cx.customers.models import Customer
from cx.surveys.models import Survey, SurveyKind
from cx.surveys.services import response_submit, survey_create, survey_invitation_create, survey_update
from cx.tickets.models import Ticket, TicketStatus
from cx.tickets.services import ticket_customer_reply, ticket_open_by_customer, ticket_reply

DEMO_SURVEY_PREFIX = "Insights demo"
CHANNELS = ("email", "email", "email", "chat", "chat", "web", "whatsapp", "phone")
PRIORITIES = ("low", "normal", "normal", "normal", "high", "urgent")


@contextmanager
def _replay_clock(start: datetime) -> Iterator[list[datetime]]:
    """``timezone.now`` returns the replayed moment (``moment[0]``) while the block runs."""
    moment = [start]
    with mock.patch.object(timezone, "now", lambda: moment[0]):
        yield moment


def _ask(*, survey: Survey, customer: Customer, ticket: Ticket | None, score: int, key: str) -> bool:
    invitation = survey_invitation_create(survey=survey, customer=customer, channel="web", ticket=ticket,
                                          source="api", source_key=key, ignore_cooldown=True)
    if invitation.sent_at is None:
        return False  # the monthly cap said no, as it would for a real customer
    headline = survey.questions.order_by("position").first()
    response_submit(invitation=invitation, answers=[{"question_id": headline.pk, "score": score}], complete=True)
    return True


def demo_seed(*, now: datetime | None = None, seed: int = 7, tickets: int = 150) -> dict[str, int]:
    """Seed ``tickets`` tickets over the last 90 days, with replies, solves, reopens and survey answers."""
    if tickets <= 0 or Survey.objects.filter(name__startswith=DEMO_SURVEY_PREFIX).exists():
        return {"tickets": 0, "answers": 0}
    admin = User.objects.filter(is_active=True, is_system=False, role=Role.ADMIN).first() \
        or User.objects.filter(is_active=True, is_superuser=True).first()
    agents = list(User.objects.filter(is_active=True, is_system=False, role__in=[Role.AGENT, Role.TEAM_LEAD])
                  .order_by("pk"))
    customers = list(Customer.objects.filter(merged_into__isnull=True, erased_at__isnull=True).order_by("pk")[:400])
    solved = TicketStatus.objects.filter(category="solved", is_default=True).first()
    if admin is None or not agents or not customers or solved is None:
        return {"tickets": 0, "answers": 0}
    rng = random.Random(seed)
    now = now or timezone.now()
    surveys = {}
    for kind in (SurveyKind.NPS, SurveyKind.CSAT, SurveyKind.CES):
        survey = survey_create(actor=admin, values={"name": f"{DEMO_SURVEY_PREFIX}: {kind.upper()}", "kind": kind})
        surveys[kind] = survey_update(actor=admin, survey=survey, values={"status": "active"})

    # Every step of every ticket, then played in time order.
    steps: list[tuple[datetime, int, str, dict]] = []
    for index in range(tickets):
        opened = now - timedelta(days=rng.uniform(0.2, 90), hours=0)
        customer = rng.choice(customers)
        first_reply = opened + timedelta(hours=rng.expovariate(1 / 4))
        plan = {"customer": customer, "channel": rng.choice(CHANNELS), "priority": rng.choice(PRIORITIES),
                "agent": rng.choice(agents)}
        steps.append((opened, index, "open", plan))
        steps.append((first_reply, index, "reply", {"solve": rng.random() < 0.55}))
        last = first_reply
        if rng.random() < 0.45:
            asked = last + timedelta(hours=rng.uniform(0.5, 20))
            last = asked + timedelta(hours=rng.expovariate(1 / 3))
            steps.append((asked, index, "customer", {}))
            steps.append((last, index, "reply", {"solve": True}))
        if rng.random() < 0.1:
            reopened = last + timedelta(hours=rng.uniform(2, 48))
            last = reopened + timedelta(hours=rng.expovariate(1 / 5))
            steps.append((reopened, index, "customer", {}))
            steps.append((last, index, "reply", {"solve": True}))
        if rng.random() < 0.5:
            hours = (last - opened).total_seconds() / 3600
            score = 5 if hours < 8 else 4 if hours < 24 else rng.choice([2, 3, 4])
            steps.append((last + timedelta(hours=rng.uniform(1, 30)), index, "csat", {"score": score}))
    for index, customer in enumerate(rng.sample(customers, min(len(customers), tickets))):
        when = now - timedelta(days=rng.uniform(0.1, 90))
        nps = min(10, max(0, round(rng.gauss(8, 2.2))))
        steps.append((when, -1 - index, "nps", {"customer": customer, "score": nps}))
        if rng.random() < 0.6:
            steps.append((when + timedelta(minutes=5), -1 - index, "ces",
                          {"customer": customer, "score": min(7, max(1, round(rng.gauss(5.2, 1.4))))}))
    steps.sort(key=lambda step: (step[0], step[1]))

    made: dict[int, Ticket] = {}
    plans: dict[int, dict] = {}
    answers = 0
    with _replay_clock(steps[0][0]) as moment:
        for when, index, action, data in steps:
            if when >= now:
                continue
            moment[0] = when
            if action == "open":
                plans[index] = data
                made[index] = ticket_open_by_customer(requester=data["customer"], subject=f"Demo question {index + 1}",
                                                      body="Could you help me with my account?",
                                                      channel=data["channel"], priority=data["priority"]).ticket
                continue
            if action in ("nps", "ces"):
                answers += _ask(survey=surveys[action], customer=data["customer"], ticket=None, score=data["score"],
                                key=f"insights-demo:{action}:{index}")
                continue
            ticket = made.get(index)
            if ticket is None:
                continue
            ticket.refresh_from_db()
            if action == "reply":
                ticket_reply(actor=plans[index]["agent"], ticket=ticket, body="Thanks for waiting: here is how.",
                             status_id=solved.pk if data["solve"] else None)
            elif action == "customer":
                ticket_customer_reply(ticket=ticket, customer=ticket.requester, body="Thanks, one more question.",
                                      channel=ticket.channel)
            elif action == "csat" and ticket.status_category in ("solved", "closed"):
                answers += _ask(survey=surveys[SurveyKind.CSAT], customer=ticket.requester, ticket=ticket,
                                score=data["score"], key=f"insights-demo:csat:{index}")
    return {"tickets": len(made), "answers": answers}
