"""Fixtures for SLA tests: a controllable clock, a requester, calendars and policies made through the services."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from cx.customers.services import customer_create
from cx.sla.services import business_calendar_create, sla_policy_create
from cx.tickets.models import TicketStatus
from cx.tickets.services import ticket_open_by_customer


class FrozenClock:
    """``django.utils.timezone.now`` under the test's control: tickets, messages and the SLA engine all read it."""

    def __init__(self, start: datetime):
        self.now = start

    def set(self, moment: datetime) -> datetime:
        self.now = moment.astimezone(UTC)
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock(monkeypatch):
    frozen = FrozenClock(datetime(2024, 6, 3, 9, 0, tzinfo=UTC))  # a Monday
    monkeypatch.setattr(timezone, "now", lambda: frozen.now)
    return frozen


@pytest.fixture
def requester(db):
    return customer_create(actor=None, display_name="Rita Requester", first_name="Rita",
                           identities=[{"kind": "email", "value": "rita@example.com"}])


@pytest.fixture
def open_ticket(requester):
    def _open(subject: str = "My card was declined", channel: str = "email", priority: str = "normal", customer=None):
        return ticket_open_by_customer(requester=customer or requester, subject=subject,
                                       body="Why was my card declined?", channel=channel, priority=priority).ticket

    return _open


@pytest.fixture
def status():
    def _status(category: str) -> TicketStatus:
        return TicketStatus.objects.get(category=category, is_default=True)

    return _status


@pytest.fixture
def make_calendar(admin_user):
    def _make(name: str = "Office", time_zone: str = "UTC", hours: tuple[str, str] = ("09:00", "17:00"),
              holidays: list[dict] | None = None):
        weekly = {day: [list(hours)] for day in ("monday", "tuesday", "wednesday", "thursday", "friday")}
        return business_calendar_create(actor=admin_user, values={
            "name": name, "time_zone": time_zone, "weekly_hours": weekly, "holidays": holidays or []})

    return _make


@pytest.fixture
def make_policy(admin_user):
    def _make(name: str = "Standard", targets: dict[str, int] | None = None,
              target_priorities: tuple[str, ...] = ("low", "normal", "high", "urgent"), **values):
        """``targets`` maps metric -> minutes, the same for each of ``target_priorities``; other keyword
        arguments are policy fields (conditions such as ``priorities=["urgent"]``, escalation, calendar_id)."""
        targets = targets if targets is not None else {"first_response": 60, "resolution": 480}
        rows = [{"priority": p, "metric": m, "minutes": n} for p in target_priorities for m, n in targets.items()]
        return sla_policy_create(actor=admin_user, values={"name": name, "targets": rows, **values})

    return _make

