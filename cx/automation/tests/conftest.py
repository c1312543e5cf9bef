"""Fixtures for automation tests: a requester, tickets opened the way customers open them, statuses, teams."""

from __future__ import annotations

import pytest

from cx.accounts.services import team_add_member, team_create
from cx.customers.services import customer_create
from cx.tickets.models import TicketStatus
from cx.tickets.services import ticket_open_by_customer


@pytest.fixture
def requester(db):
    return customer_create(actor=None, display_name="Rita Requester", first_name="Rita", last_name="Requester",
                           identities=[{"kind": "email", "value": "rita@example.com"}])


@pytest.fixture
def open_ticket(requester):
    def _open(subject: str = "My card was declined", body: str = "Why was my card declined at the shop?",
              channel: str = "email", customer=None):
        return ticket_open_by_customer(requester=customer or requester, subject=subject, body=body,
                                       channel=channel).ticket

    return _open


@pytest.fixture
def status_of(db):
    def _status(category: str) -> TicketStatus:
        return TicketStatus.objects.get(category=category, is_default=True)

    return _status


@pytest.fixture
def billing_team(db, agent_user):
    team = team_create(actor=None, name="Billing")
    team_add_member(actor=None, team=team, user=agent_user)
    return team
