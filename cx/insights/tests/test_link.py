"""The service ↔ experience link on hand-made customers: retention and repeat purchase by resolution speed,
NPS by number of contacts, churn by SLA breaches, with sample sizes and Wilson intervals."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cx.customers.services import customer_create
from cx.insights.period import period_for_days
from cx.insights.selectors import link_report
from cx.insights.tests.factories import answer
from cx.journeys.services import touchpoint_record
from cx.sla.services import sla_policy_create
from cx.surveys.models import SurveyKind

JUNE = period_for_days(datetime(2024, 6, 1).date(), datetime(2024, 6, 30).date())


def at(day: int, hour: int, month: int = 6) -> datetime:
    return datetime(2024, month, day, hour, tzinfo=UTC)


def person(name: str):
    return customer_create(actor=None, display_name=name, identities=[{"kind": "email", "value": f"{name}@ex.com"}])


def event(customer, when: datetime, name: str, **props):
    touchpoint_record(customer=customer, kind="tracked", channel="web", stage="usage", occurred_at=when,
                      properties={"event": name, **props}, source="test")


@pytest.fixture
def cohort(desk, clock):
    """Fast: Fay (2 h) and Finn (5 h) stay active; Fay buys again. Slow: Sam (30 h) cancels, Sue (48 h) stays
    and buys again; Sid (40 h) cancels."""
    people = {}
    for name, hours in (("fay", 2), ("finn", 5), ("sam", 30), ("sue", 48), ("sid", 40)):
        customer = person(name)
        ticket = desk.open(at(3, 8), customer)
        desk.reply(ticket, at(3 + (8 + hours) // 24, (8 + hours) % 24), solve=True)
        people[name] = customer
    clock.set(at(1, 12, month=7))
    event(people["fay"], at(20, 9), "Order Completed", total=30)
    event(people["sue"], at(21, 9), "Order Completed", total=50)
    event(people["finn"], at(22, 9), "Page Viewed")
    event(people["sam"], at(23, 9), "Subscription Cancelled")
    event(people["sid"], at(23, 9), "Subscription Cancelled")
    clock.set(at(1, 12, month=7))
    return people


def test_retention_and_repeat_purchase_split_by_resolution_speed(cohort, lead_user):
    report = link_report(actor=lead_user, period=JUNE, hours=24)
    fast, slow = report.retention
    assert (fast.n, fast.k, fast.rate) == (2, 2, 100.0)
    assert (slow.n, slow.k) == (3, 1)
    assert slow.rate == pytest.approx(100 / 3)
    assert report.retention_ratio == pytest.approx(3.0)
    assert fast.small_sample and fast.ci_low is not None and fast.ci_high == 100.0
    fast_buy, slow_buy = report.repeat
    assert (fast_buy.k, fast_buy.n, slow_buy.k, slow_buy.n) == (1, 2, 1, 3)
    assert report.repeat_ratio == pytest.approx(1.5)
    # A 48 h threshold puts everyone on the fast side.
    wide = link_report(actor=lead_user, period=JUNE, hours=48)
    assert wide.retention[0].n == 5 and wide.retention[1].n == 0 and wide.retention_ratio is None


def test_nps_by_number_of_contacts_in_the_prior_90_days(desk, clock, lead_user):
    quiet, once, busy = person("quiet"), person("once"), person("busy")
    desk.open(at(5, 9), once)
    for day in (2, 3, 4, 5):
        desk.open(at(day, 9), busy)
    answer(kind=SurveyKind.NPS, score=10, at=at(10, 9), customer=quiet)
    answer(kind=SurveyKind.NPS, score=9, at=at(10, 9), customer=once)
    answer(kind=SurveyKind.NPS, score=2, at=at(10, 9), customer=busy)
    clock.set(at(1, 12, month=7))
    rows = {r.key: r for r in link_report(actor=lead_user, period=JUNE).nps_by_contacts}
    assert (rows["0"].n, rows["0"].value) == (1, 100.0)
    assert (rows["1"].n, rows["1"].value) == (1, 100.0)
    assert rows["2"].n == 0 and rows["2"].value is None
    assert (rows["3+"].n, rows["3+"].value) == (1, -100.0)


def test_churn_rate_by_sla_breaches(desk, clock, admin_user, lead_user):
    sla_policy_create(actor=admin_user, values={"name": "Fast", "targets": [
        {"priority": "normal", "metric": "first_response", "minutes": 60}]})
    kept, lost = person("kept"), person("lost")
    ok = desk.open(at(3, 9), kept)
    desk.reply(ok, at(3, 9))
    late = desk.open(at(3, 9), lost)
    desk.reply(late, at(3, 15))
    clock.set(at(1, 12, month=7))
    event(kept, at(20, 9), "Page Viewed")
    event(lost, at(20, 9), "Account Closed")
    clock.set(at(1, 12, month=7))
    none, one, more = link_report(actor=lead_user, period=JUNE).churn_by_breaches
    assert (none.n, none.k, none.rate) == (1, 0, 0.0)
    assert (one.n, one.k, one.rate) == (1, 1, 100.0)
    assert more.n == 0 and more.rate is None


def test_the_link_page_shows_the_tables_with_sample_sizes(cohort, lead_user, client):
    client.force_login(lead_user)
    html = client.get("/insights/link/", {"period": "custom", "from": "2024-06-01", "to": "2024-06-30"}
                      ).content.decode()
    assert "All issues resolved within 24 h" in html and "3.00x the retention rate" in html
    assert "Fewer than 30 observations" in html
