"""Hand-built customer timelines for the churn tests: tickets, SLA clocks, survey answers, touchpoints, orders,
each at a chosen moment (rows are written directly so no service stamps them with the real clock)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from itertools import count

from cx.customers.services import customer_create
from cx.journeys.models import Touchpoint
from cx.sla.models import SlaClock, TicketSla
from cx.surveys.models import Invitation, Response, Survey
from cx.tickets.models import StatusCategory, Ticket, TicketStatus

_n = count(1)


def customer(name: str = ""):
    return customer_create(actor=None, display_name=name or f"Customer {next(_n)}")


def touchpoint(cust, at: datetime, *, kind: str = "page.viewed", stage: str = "usage", event: str = "",
               **props) -> Touchpoint:
    properties = {"event": event, **props} if event else props
    return Touchpoint.objects.create(customer=cust, kind=kind, channel="web", stage=stage, occurred_at=at,
                                     properties=properties, source="test")


def order(cust, at: datetime, total: float) -> Touchpoint:
    return touchpoint(cust, at, kind="order_completed", stage="purchase", event="Order Completed", total=total)


def ticket(cust, created: datetime, *, responded: datetime | None = None, solved: datetime | None = None,
           breached: list[datetime] = ()) -> Ticket:
    category = StatusCategory.SOLVED if solved else StatusCategory.OPEN
    status = TicketStatus.objects.filter(category=category).first()
    row = Ticket.objects.create(subject="Help", requester=cust, channel="email", status=status,
                                status_category=category)
    Ticket.objects.filter(pk=row.pk).update(created_at=created, first_response_at=responded, solved_at=solved)
    if breached:
        sla = TicketSla.objects.create(ticket=row, status_category=category)
        for at in breached:
            SlaClock.objects.create(ticket_sla=sla, metric="first_response", started_at=created, breached_at=at,
                                    achieved_at=at + timedelta(minutes=1))
    return row


def survey_answer(cust, at: datetime, *, nps: int | None = None, csat: int | None = None,
                  ces: int | None = None) -> Response:
    kind = "nps" if nps is not None else "csat" if csat is not None else "ces"
    survey = Survey.objects.filter(kind=kind).first() or Survey.objects.create(name=kind.upper(), kind=kind)
    invitation = Invitation.objects.create(survey=survey, customer=cust, nonce=f"n{next(_n)}", source="manual",
                                           send_at=at)
    return Response.objects.create(invitation=invitation, survey=survey, customer=cust, started_at=at,
                                   completed_at=at, nps_score=nps, csat_score=csat, ces_score=ces)


def population(now: datetime, *, customers: int = 60, seed: int = 7, horizon_days: int = 90) -> dict[int, bool]:
    """Customers active at ``now - horizon``; those with poor service before then (SLA breaches, detractor NPS,
    few orders) mostly go quiet afterwards (churn), the others keep buying. Returns customer id → churned."""
    rng = random.Random(seed)
    snapshot = now - timedelta(days=horizon_days)
    outcome = {}
    for i in range(customers):
        cust = customer(f"Pop {i}")
        unhappy = rng.random() < 0.4
        churns = rng.random() < (0.8 if unhappy else 0.15)
        touchpoint(cust, snapshot - timedelta(days=rng.uniform(120, 300)), stage="onboarding")
        for _ in range(rng.randint(1, 2) if unhappy else rng.randint(3, 6)):
            order(cust, snapshot - timedelta(days=rng.uniform(5, 80)), rng.uniform(20, 200))
        if unhappy:
            created = snapshot - timedelta(days=rng.uniform(10, 60))
            ticket(cust, created, responded=created + timedelta(hours=rng.uniform(10, 40)),
                   breached=[created + timedelta(hours=4)] * rng.randint(1, 3))
            survey_answer(cust, created + timedelta(days=2), nps=rng.randint(0, 5))
        else:
            created = snapshot - timedelta(days=rng.uniform(10, 60))
            ticket(cust, created, responded=created + timedelta(minutes=rng.uniform(10, 90)),
                   solved=created + timedelta(hours=5))
            survey_answer(cust, created + timedelta(days=2), nps=rng.randint(8, 10))
        touchpoint(cust, snapshot - timedelta(days=rng.uniform(0.5, 3)), stage="support" if unhappy else "usage")
        if not churns:
            order(cust, now - timedelta(days=rng.uniform(1, 60)), rng.uniform(20, 200))
        outcome[cust.pk] = churns
    return outcome
