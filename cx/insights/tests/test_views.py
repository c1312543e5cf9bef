"""The Insights pages through the Django test client: who may see them, bad input, "no data" for empty
periods, and CSV exports that equal the cells on the screen."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from html import unescape

import pytest
from django.test import Client

from cx.insights.models import InsightsSettings
from cx.insights.tests.factories import answer
from cx.surveys.models import SurveyKind

WEEK = {"period": "custom", "from": "2024-06-03", "to": "2024-06-09"}


def at(day: int, hour: int) -> datetime:
    return datetime(2024, 6, day, hour, tzinfo=UTC)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def screen_table(html: str, slug: str) -> list[list[str]]:
    """The header and body cells of one data table as the browser shows them."""
    block = html.split(f'id="table-{slug}"', 1)[1].split("</table>", 1)[0]
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", block, re.S):
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        rows.append([unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in cells])
    return rows


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


@pytest.fixture
def busy_week(desk, customer, clock):
    a = desk.open(at(3, 9), customer)
    desk.reply(a, at(3, 10), solve=True)
    b = desk.open(at(4, 9), customer, channel="chat")
    desk.reply(b, at(4, 12))
    desk.customer_reply(b, at(4, 13))
    desk.reply(b, at(4, 15), solve=True)
    desk.open(at(5, 9), customer)
    answer(kind=SurveyKind.CSAT, score=5, at=at(5, 12), customer=customer, ticket=a)
    for day, score in ((3, 10), (4, 9), (5, 3), (6, 8)):
        answer(kind=SurveyKind.NPS, score=score, at=at(day, 12), customer=customer)
    for day, score in ((3, 6), (4, 7)):
        answer(kind=SurveyKind.CES, score=score, at=at(day, 12), customer=customer)
    clock.set(at(12, 12))
    return a, b


@pytest.mark.parametrize("path", ["/insights/service/", "/insights/experience/", "/insights/link/",
                                  "/insights/digest/"])
def test_agents_may_not_see_insights_but_leads_and_analysts_may(path, agent_user, lead_user, analyst_user,
                                                                admin_user):
    assert client_for(agent_user).get(path).status_code == 403
    for user in (lead_user, analyst_user, admin_user):
        assert client_for(user).get(path).status_code == 200


def test_the_nav_item_shows_only_for_roles_that_may_see_insights(agent_user, analyst_user):
    assert "/insights/" not in client_for(agent_user).get("/tickets/").content.decode()
    assert 'href="/insights/"' in client_for(analyst_user).get("/tickets/").content.decode()


def test_service_dashboard_csv_exports_equal_the_screen(busy_week, lead_user):
    client = client_for(lead_user)
    page = client.get("/insights/service/", WEEK)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-chart="chart-volume"' in html and 'id="chart-volume"' in html
    for slug in ("kpis", "breakdown", "leaderboard", "daily"):
        export = client.get("/insights/service/", {**WEEK, "export": slug})
        assert export.status_code == 200 and export["Content-Type"].startswith("text/csv")
        assert csv_rows(export) == screen_table(html, slug), slug
    kpis = {row[0]: row for row in screen_table(html, "kpis")[1:]}
    assert kpis["First response time (median)"][1] == "2.0h"  # A 1 h, B 3 h
    assert kpis["Next response time (median)"][1] == "2.0h"
    assert kpis["Reopen rate"][1] == "0.0%"
    assert kpis["First response time (median)"][2] == "no data"  # the previous week had no tickets
    assert kpis["CSAT"][1] == "100.0%"


def test_experience_dashboard_renders_trends_heatmap_and_exports(busy_week, analyst_user):
    client = client_for(analyst_user)
    html = client.get("/insights/experience/", WEEK).content.decode()
    assert 'id="chart-nps"' in html and 'id="chart-ces"' in html
    nps = screen_table(html, "nps-trend")
    # One week (Monday 3 June): 2 promoters, 1 passive, 1 detractor of 4 -> NPS 25.
    assert nps[1][:3] == ["2024-06-03", "4", "25.0"]
    for slug in ("headline", "nps-trend", "ces-trend", "heatmap"):
        assert csv_rows(client.get("/insights/experience/", {**WEEK, "export": slug})) == screen_table(html, slug)
    heat = {row[0]: row for row in screen_table(html, "heatmap")[1:]}
    assert heat["Support"][1:3] == ["25.0", "4"]  # every answer follows a support touchpoint (the tickets)


def test_empty_periods_show_no_data_never_zeros_or_errors(lead_user, db):
    client = client_for(lead_user)
    for path in ("/insights/service/", "/insights/experience/", "/insights/link/"):
        response = client.get(path, {"period": "custom", "from": "2001-01-01", "to": "2001-01-31"})
        assert response.status_code == 200
        html = response.content.decode()
        assert "No data for this period." in html
    kpis = screen_table(client.get("/insights/service/", {"period": "7"}).content.decode(), "kpis")
    frt = next(row for row in kpis if row[0] == "First response time (median)")
    assert frt[1:4] == ["no data", "no data", "no data"]


@pytest.mark.parametrize("params, field", [
    ({"period": "14"}, "period"),
    ({"period": "custom", "from": "2024-06-09", "to": "2024-06-01"}, "to"),
    ({"period": "custom", "from": "yesterday", "to": "2024-06-01"}, "from"),
    ({"period": "custom", "from": "2020-01-01", "to": "2024-06-01"}, "to"),
    ({"channel": "pigeon"}, "channel"),
    ({"agent": "abc"}, "agent"),
    ({"breakdown": "mood"}, "breakdown"),
])
def test_bad_filters_are_a_400_with_the_field_named(params, field, lead_user):
    response = client_for(lead_user).get("/insights/service/", params)
    assert response.status_code == 400
    assert f"{field}:" in response.content.decode()


def test_bad_threshold_on_the_link_page(lead_user):
    response = client_for(lead_user).get("/insights/link/", {"hours": "0"})
    assert response.status_code == 400 and "hours:" in response.content.decode()


def test_unknown_export_is_a_404(lead_user):
    assert client_for(lead_user).get("/insights/service/", {"export": "nope"}).status_code == 404


def test_only_admins_choose_the_main_funnel_and_an_invalid_funnel_saves_nothing(lead_user, admin_user):
    denied = client_for(lead_user).post("/insights/experience/main-funnel/", {"name": "x", "query": "step-0-event=a"
                                                                                                   "&step-1-event=b"})
    assert denied.status_code == 403
    admin = client_for(admin_user)
    bad = admin.post("/insights/experience/main-funnel/", {"name": "Checkout", "query": "step-0-event=Viewed"})
    assert bad.status_code == 422 and "query" in bad.content.decode()
    assert not InsightsSettings.objects.exists()
    good = admin.post("/insights/experience/main-funnel/", {
        "name": "Checkout", "query": "/journeys/analytics/?step-0-event=Product+Viewed&step-1-event=Order+Completed"
                                     "&from=2020-01-01&to=2020-02-01"})
    assert good.status_code == 302
    saved = InsightsSettings.objects.get(pk=1)
    assert saved.main_funnel_name == "Checkout"
    assert "from=" not in saved.main_funnel_query and "step-1-event=Order+Completed" in saved.main_funnel_query
    html = admin.get("/insights/experience/").content.decode()
    assert "Checkout" in html
