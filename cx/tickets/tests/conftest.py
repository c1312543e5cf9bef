"""Fixtures for ticket tests: a requester and a ticket opened by the customer."""

from __future__ import annotations

import pytest

from cx.customers.services import customer_create
from cx.tickets.services import ticket_open_by_customer


@pytest.fixture
def requester(db):
    return customer_create(actor=None, display_name="Rita Requester", first_name="Rita",
                           identities=[{"kind": "email", "value": "rita@example.com"}])


@pytest.fixture
def open_ticket(requester):
    def _open(subject: str = "My card was declined", body: str = "Why was my card declined at the shop?",
              channel: str = "email"):
        return ticket_open_by_customer(requester=requester, subject=subject, body=body, channel=channel).ticket

    return _open
