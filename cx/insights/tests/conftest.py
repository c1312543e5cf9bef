"""Fixtures for Insights tests: a controllable clock, tickets driven through the tickets services, and survey
answers (the score columns the reports read)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.utils import timezone

from cx.accounts.models import Role
from cx.customers.services import customer_create
from cx.insights.tests.factories import answer  # noqa: F401 - re-exported for the tests
from cx.tickets.models import TicketStatus
from cx.tickets.services import ticket_customer_reply, ticket_open_by_customer, ticket_reply


class FrozenClock:
    """``django.utils.timezone.now`` under the test's control (tickets, messages and the SLA engine read it)."""

    def __init__(self, start: datetime):
        self.now = start

    def set(self, moment: datetime) -> datetime:
        self.now = moment.astimezone(UTC)
        return self.now


@pytest.fixture
def clock(monkeypatch):
    frozen = FrozenClock(datetime(2024, 6, 3, 9, 0, tzinfo=UTC))  # a Monday
    monkeypatch.setattr(timezone, "now", lambda: frozen.now)
    return frozen


@pytest.fixture
def lead_user(make_user):
    return make_user(Role.TEAM_LEAD, "lena")


@pytest.fixture
def customer(db):
    return customer_create(actor=None, display_name="Rita Requester", first_name="Rita",
                           identities=[{"kind": "email", "value": "rita@example.com"}])


@pytest.fixture
def solved_status(db):
    return TicketStatus.objects.get(category="solved", is_default=True)


class Desk:
    """Tickets as customers and agents move them, at the times the test sets."""

    def __init__(self, clock: FrozenClock, agent, solved: TicketStatus):
        self.clock, self.agent, self.solved = clock, agent, solved

    def open(self, at: datetime, customer, channel: str = "email", priority: str = "normal"):
        self.clock.set(at)
        return ticket_open_by_customer(requester=customer, subject="Help", body="Please help", channel=channel,
                                       priority=priority).ticket

    def reply(self, ticket, at: datetime, *, solve: bool = False, agent=None):
        self.clock.set(at)
        ticket.refresh_from_db()
        ticket_reply(actor=agent or self.agent, ticket=ticket, body="Here is the answer",
                     status_id=self.solved.pk if solve else None)

    def customer_reply(self, ticket, at: datetime):
        self.clock.set(at)
        ticket.refresh_from_db()
        ticket_customer_reply(ticket=ticket, customer=ticket.requester, body="One more thing", channel=ticket.channel)


@pytest.fixture
def desk(clock, agent_user, solved_status):
    return Desk(clock, agent_user, solved_status)
