"""The demo history makes both dashboards show figures after ``make run``; seeding twice adds nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from cx.accounts.models import Role
from cx.customers.services import customer_create
from cx.insights.demo import demo_seed
from cx.insights.period import ServiceFilters, period_for_days
from cx.insights.selectors import ALL, score_overall, service_figures
from cx.surveys.models import SurveyKind
from cx.tickets.models import Ticket


def test_demo_seed_fills_the_dashboards_once(make_user, admin_user):
    make_user(Role.AGENT, "amara")
    for i in range(30):
        customer_create(actor=None, display_name=f"Demo {i}", identities=[{"kind": "email", "value": f"d{i}@ex.com"}])
    now = datetime(2024, 6, 30, 12, tzinfo=UTC)
    result = demo_seed(now=now, tickets=25)
    assert result["tickets"] > 20 and result["answers"] > 10
    quarter = period_for_days(datetime(2024, 4, 1).date(), datetime(2024, 6, 30).date())
    figures = service_figures(filters=ServiceFilters(), period=quarter, now=now)[ALL]
    assert figures.created == result["tickets"] and figures.first_response.median is not None
    assert score_overall(kind=SurveyKind.NPS, period=quarter).n > 0
    count = Ticket.objects.count()
    assert demo_seed(now=now, tickets=25) == {"tickets": 0, "answers": 0}
    assert Ticket.objects.count() == count
