"""Service metric definitions against hand-computed cases: tickets move through the tickets services at set
times (a frozen clock), and the figures must equal the numbers worked out by hand in each test."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from cx.insights.period import ServiceFilters, period_for_days
from cx.insights.selectors import ALL, service_figures
from cx.insights.tests.factories import answer
from cx.sla.services import business_calendar_create, sla_policy_create
from cx.surveys.models import SurveyKind

H = 3600.0
JUNE_WEEK = period_for_days(datetime(2024, 6, 3).date(), datetime(2024, 6, 9).date())


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2024, 6, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def four_tickets(desk, customer, clock):
    """A: answered and solved in one reply after 1 h. B: first reply after 3 h, the customer asks again and
    waits 2 h, solved after 6 h. C: solved after 4 h, reopened by the customer, answered 1 h later and solved
    again 6 h after creation. D: never answered (backlog)."""
    a = desk.open(at(3, 9), customer)
    desk.reply(a, at(3, 10), solve=True)
    b = desk.open(at(3, 11), customer, channel="chat", priority="high")
    desk.reply(b, at(3, 14))
    desk.customer_reply(b, at(3, 15))
    desk.reply(b, at(3, 17), solve=True)
    c = desk.open(at(4, 9), customer)
    desk.reply(c, at(4, 13), solve=True)
    desk.customer_reply(c, at(4, 14))
    desk.reply(c, at(4, 15), solve=True)
    d = desk.open(at(5, 9), customer)
    clock.set(at(12, 12))
    return a, b, c, d


def test_response_and_resolution_times_are_medians_and_p90s_of_the_hand_computed_durations(four_tickets):
    f = service_figures(filters=ServiceFilters(), period=JUNE_WEEK)[ALL]
    # First response: A 1 h, B 3 h, C 4 h (D unanswered) -> median 3 h, p90 = 3 h + 0.8 x 1 h.
    assert (f.first_response.n, f.first_response.median, f.first_response.p90) == (3, 3 * H, 3.8 * H)
    # Next response: B waited 2 h after its first answer, C 1 h after its reopen -> median 1.5 h, p90 1.9 h.
    assert f.next_response.n == 2
    assert f.next_response.median == pytest.approx(1.5 * H)
    assert f.next_response.p90 == pytest.approx(1.9 * H)
    # Full resolution (creation to last solve): A 1 h, B 6 h, C 6 h.
    assert (f.resolution.n, f.resolution.median, f.resolution.p90) == (3, 6 * H, 6 * H)
    assert f.first_response.business_hours == 0  # no SLA policy: 24/7 time


def test_resolution_rate_fcr_reopen_and_backlog(four_tickets):
    f = service_figures(filters=ServiceFilters(), period=JUNE_WEEK)[ALL]
    assert (f.created, f.resolved_of_created, f.resolution_rate) == (4, 3, 75.0)
    # FCR: of 3 solved tickets with an agent reply only A needed exactly one reply and was never reopened.
    assert (f.fcr_base, f.fcr_count) == (3, 1)
    assert f.fcr_rate == pytest.approx(100 / 3)
    assert (f.solved, f.reopened) == (3, 1)
    assert f.reopen_rate == pytest.approx(100 / 3)
    # Backlog at the end of the period (Mon 10 June 00:00): D, open since Wed 5 June 09:00.
    assert f.backlog == 1
    assert f.backlog_age_median == (timedelta(days=4, hours=15)).total_seconds()
    assert f.sla_attainment is None and f.sla_settled == 0  # no SLA policy: no targets, no data


def test_filters_and_breakdowns_split_the_same_tickets(four_tickets, agent_user):
    by_channel = service_figures(filters=ServiceFilters(), period=JUNE_WEEK, group="channel")
    assert by_channel["chat"].created == 1 and by_channel["email"].created == 3
    assert by_channel["chat"].first_response.median == 3 * H
    high = service_figures(filters=ServiceFilters(priority="high"), period=JUNE_WEEK)[ALL]
    assert (high.created, high.solved, high.resolution.median) == (1, 1, 6 * H)
    by_agent = service_figures(filters=ServiceFilters(), period=JUNE_WEEK, group="agent")
    assert by_agent[agent_user.pk].solved == 3 and by_agent[None].backlog == 1


def test_first_response_counts_business_hours_of_the_tickets_sla_calendar(desk, customer, clock, admin_user):
    office = business_calendar_create(actor=admin_user, values={
        "name": "Office", "time_zone": "UTC", "holidays": [],
        "weekly_hours": {d: [["09:00", "17:00"]] for d in ("monday", "tuesday", "wednesday", "thursday", "friday")}})
    sla_policy_create(actor=admin_user, values={"name": "Office hours", "calendar_id": office.pk, "targets": [
        {"priority": "normal", "metric": "first_response", "minutes": 240}]})
    ticket = desk.open(at(7, 16), customer)  # Friday 16:00
    desk.reply(ticket, at(10, 10))  # Monday 10:00: 66 h elapsed, 2 business hours (Fri 16-17, Mon 9-10)
    f = service_figures(filters=ServiceFilters(), period=period_for_days(at(7, 0).date(), at(10, 0).date()))[ALL]
    assert (f.first_response.n, f.first_response.median, f.first_response.business_hours) == (1, 2 * H, 1)
    # The 4-business-hour target was met: SLA attainment 100 % of 1 settled target.
    assert (f.sla_settled, f.sla_met, f.sla_attainment) == (1, 1, 100.0)


def test_a_breached_target_lowers_sla_attainment(desk, customer, clock, admin_user):
    sla_policy_create(actor=admin_user, values={"name": "Fast", "targets": [
        {"priority": "normal", "metric": "first_response", "minutes": 60}]})
    on_time = desk.open(at(3, 9), customer)
    desk.reply(on_time, at(3, 9, 30))
    late = desk.open(at(3, 10), customer)
    desk.reply(late, at(3, 13))
    f = service_figures(filters=ServiceFilters(), period=JUNE_WEEK)[ALL]
    assert (f.sla_settled, f.sla_met, f.sla_attainment) == (2, 1, 50.0)


def test_csat_uses_the_surveys_wilson_interval(four_tickets, customer):
    a, b, c, _ = four_tickets
    for ticket, score in ((a, 5), (b, 4), (c, 2)):
        answer(kind=SurveyKind.CSAT, score=score, at=at(6, 12), customer=customer, ticket=ticket)
    csat = service_figures(filters=ServiceFilters(), period=JUNE_WEEK)[ALL].csat
    assert (csat.n, round(csat.value, 1)) == (3, 66.7)
    assert (round(csat.ci_low, 1), round(csat.ci_high, 1)) == (20.8, 93.9)  # Wilson 95 % for 2 of 3


def test_an_empty_period_has_no_data_not_zeros(four_tickets):
    f = service_figures(filters=ServiceFilters(), period=period_for_days(at(20, 0).date(), at(26, 0).date()))[ALL]
    assert f.created == 0 and f.solved == 0
    assert f.first_response.median is None and f.resolution.p90 is None and f.next_response.median is None
    assert f.resolution_rate is None and f.fcr_rate is None and f.reopen_rate is None
    assert f.sla_attainment is None and f.csat is None


def test_the_business_clock_equals_the_sla_apps_business_time_on_random_instants():
    import random
    from datetime import date

    from cx.insights.selectors import BusinessClock
    from cx.tickets.business_hours import BusinessCalendar, business_time_between

    weekly = {d: ((time(9), time(12, 30)), (time(13, 30), time(18))) for d in range(5)}
    weekly[5] = ((time(10), time(14)),)
    calendar = BusinessCalendar(time_zone="Europe/Berlin", weekly=weekly,
                                holidays=frozenset({date(2024, 3, 29), date(2024, 4, 1)}))
    low, high = datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 11, 30, tzinfo=UTC)  # both DST changes
    clock = BusinessClock(calendar, low, high)
    rng = random.Random(5)
    for _ in range(300):
        a = low + (high - low) * rng.random()
        b = a + timedelta(hours=rng.expovariate(1 / 60))
        b = min(b, high)
        assert clock.seconds_between(a, b) == pytest.approx(business_time_between(calendar, a, b).total_seconds())
