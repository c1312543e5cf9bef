"""Property: whatever sequence of pending / on-hold / open moves a ticket goes through, its resolution due time
is what a minute-by-minute count of open, unpaused minutes gives (New York hours, a holiday and the November
DST change inside the range). Tickets move only through the tickets services."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cx.sla.models import SlaClock, SlaMetric
from cx.sla.services import sla_policy_update
from cx.tickets.business_hours import BusinessCalendar, is_open
from cx.tickets.models import Ticket
from cx.tickets.services import ticket_open_by_customer, ticket_update

NEW_YORK = ZoneInfo("America/New_York")
BASE = datetime(2024, 10, 28, 0, 0, tzinfo=NEW_YORK)  # Monday; clocks fall back on Sunday 3 November
MINUTE = timedelta(minutes=1)
PAUSING = {"pending", "on_hold"}


def reference_due(calendar: BusinessCalendar, start: datetime, minutes: int,
                  pauses: list[tuple[datetime, datetime | None]]) -> datetime | None:
    """Count open, unpaused minutes one by one (every boundary here is on a whole minute)."""
    def paused(moment: datetime) -> bool:
        return any(a <= moment and (b is None or moment < b) for a, b in pauses)

    open_ended = [a for a, b in pauses if b is None]
    moment, counted = start, 0
    while counted < minutes:
        if open_ended and moment >= open_ended[0]:
            return None
        if is_open(calendar, moment) and not paused(moment):
            counted += 1
        moment += MINUTE
    return moment


@pytest.fixture
def setup(make_calendar, make_policy):
    office = make_calendar("NY office", time_zone="America/New_York",
                           holidays=[{"name": "Election day off", "date": "2024-11-05"}])
    policy = make_policy(calendar_id=office.pk, targets={"resolution": 60})
    return office, policy


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    start_minutes=st.integers(0, 6 * 24 * 60),
    target=st.integers(1, 2400),
    moves=st.lists(st.tuples(st.integers(1, 2000), st.sampled_from(["pending", "on_hold", "open"])), max_size=6),
)
def test_resolution_due_time_matches_a_minute_by_minute_count(
        clock, setup, admin_user, agent_user, requester, status, start_minutes, target, moves):
    office, policy = setup
    calendar = office.to_calendar()
    with transaction.atomic():
        sla_policy_update(actor=admin_user, policy=policy,
                          values={"targets": [{"priority": "normal", "metric": "resolution", "minutes": target}]})
        clock.set(BASE + timedelta(minutes=start_minutes))
        ticket = ticket_open_by_customer(requester=requester, subject="Help", body="Please", channel="email").ticket
        pauses: list[tuple[datetime, datetime | None]] = []
        paused_since: datetime | None = None
        for gap, category in moves:
            now = clock.advance(minutes=gap)
            ticket_update(actor=agent_user, ticket=ticket, changes={"status_id": status(category).pk})
            if category in PAUSING and paused_since is None:
                paused_since = now
            elif category not in PAUSING and paused_since is not None:
                pauses.append((paused_since, now))
                paused_since = None
        if paused_since is not None:
            pauses.append((paused_since, None))

        expected = reference_due(calendar, ticket.created_at, target, pauses)
        resolution = SlaClock.objects.get(ticket_sla__ticket_id=ticket.pk, metric=SlaMetric.RESOLUTION)
        assert resolution.due_at == expected
        assert Ticket.objects.get(pk=ticket.pk).sla_next_due_at == expected
        transaction.set_rollback(True)
