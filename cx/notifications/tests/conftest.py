"""Fixtures for notification tests: a requester, tickets opened by them, and a second agent."""

from __future__ import annotations

import pytest

from cx.accounts.models import Role
from cx.customers.services import customer_create
from cx.tickets.services import ticket_open_by_customer


@pytest.fixture
def requester(db):
    return customer_create(actor=None, display_name="Rita Requester",
                           identities=[{"kind": "email", "value": "rita@example.com"}])


@pytest.fixture
def open_ticket(requester):
    def _open(subject: str = "My card was declined"):
        return ticket_open_by_customer(requester=requester, subject=subject, body="Why was my card declined?",
                                       channel="email").ticket

    return _open


@pytest.fixture
def bea(make_user):
    return make_user(Role.AGENT, "bea")
