"""Driver analysis through the page and the API on data with known effects built in."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta

import numpy as np
import pytest
from django.test import Client
from django.utils import timezone

from cx.customers.models import Customer
from cx.journeys.models import Touchpoint
from cx.surveys.models import Invitation, Response, Survey
from cx.tickets.models import Ticket, TicketStatus

pytestmark = pytest.mark.django_db


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def make_customers(n: int, prefix: str) -> list[Customer]:
    return Customer.objects.bulk_create([Customer(display_name=f"{prefix} {i}") for i in range(n)])


def make_tickets(specs: list[tuple[Customer, object, float, bool, str]]) -> None:
    """specs: (customer, created_at, first response hours, SLA breached, channel)."""
    status = TicketStatus.objects.get(category="solved", is_default=True)
    tickets = Ticket.objects.bulk_create([Ticket(subject="Help", requester=c, channel=channel, status=status,
                                                 status_category="solved") for c, _, _, _, channel in specs])
    for ticket, (_, created, hours, breached, _) in zip(tickets, specs, strict=True):
        ticket.created_at = created
        ticket.first_response_at = created + timedelta(hours=hours)
        ticket.solved_at = created + timedelta(hours=hours + 4)
        ticket.sla_breached_at = created + timedelta(hours=1) if breached else None
    Ticket.objects.bulk_update(tickets, ["created_at", "first_response_at", "solved_at", "sla_breached_at"])


def nps_scenario(n: int = 240, seed: int = 11) -> None:
    """NPS answers: an SLA breach costs 3 points, reading a help article adds 1, first response time 0.02/h."""
    rng = np.random.default_rng(seed)
    survey = Survey.objects.create(name="Relationship NPS", kind="nps", status="active")
    now = timezone.now()
    customers = make_customers(n, "Respondent")
    tickets, touchpoints, responses = [], [], []
    for i, customer in enumerate(customers):
        answered = now - timedelta(days=int(rng.integers(5, 100)))
        breached = has_ticket = False
        hours = 0.0
        if rng.random() < 0.7:
            has_ticket = True
            breached = bool(rng.random() < 0.35)
            hours = float(rng.uniform(1, 40))
            tickets.append((customer, answered - timedelta(days=10), hours, breached,
                            "email" if rng.random() < 0.6 else "chat"))
        read_kb = bool(rng.random() < 0.4)
        if read_kb:
            touchpoints.append(Touchpoint(customer=customer, kind="kb.article_viewed", channel="web",
                                          stage="support", occurred_at=answered - timedelta(days=3), source="test"))
        score = 7.5 - 3 * breached + 1.0 * read_kb - 0.02 * hours * has_ticket + rng.normal(0, 0.8)
        invitation = Invitation.objects.create(survey=survey, customer=customer, nonce=f"n{i}", source="test",
                                               send_at=answered)
        responses.append(Response(invitation=invitation, survey=survey, customer=customer, started_at=answered,
                                  nps_score=int(np.clip(round(score), 0, 10))))
    make_tickets(tickets)
    Touchpoint.objects.bulk_create(touchpoints)
    Response.objects.bulk_create(responses)


def test_page_finds_the_sla_breach_as_the_main_nps_driver_and_focus_area(admin_user):
    nps_scenario()
    client = login(admin_user)
    response = client.get("/insights/drivers/?outcome=nps")
    assert response.status_code == 200
    html = response.content.decode()
    assert "What moves NPS" in html and 'data-clv-chart="drivers-effects-chart"' in html
    chart = json.loads(re.search(r'<script id="drivers-effects-chart" type="application/json">(.*?)</script>',
                                 html, re.S).group(1))
    intervals = dict(zip(chart["data"]["labels"], chart["data"]["datasets"][0]["data"], strict=True))
    low, high = intervals["SLA breached"]
    assert low < -3 < high or (-3.6 < low < -2.4)
    assert high < 0
    kb_low, kb_high = intervals["Touchpoint kb.article_viewed (in the 30 days before)"]
    assert kb_low > 0 and kb_low < 1.0 < kb_high + 0.3
    focus = re.search(r'<ol class="drivers-focus">(.*?)</ol>', html, re.S).group(1)
    assert focus.strip().startswith("<li><strong>SLA breached</strong>")
    assert 'data-clv-chart="drivers-focus-chart"' in html
    export = client.get("/insights/drivers/?outcome=nps&export=driver-effects")
    rows = list(csv.reader(io.StringIO(export.content.decode())))
    assert rows[0][:3] == ["Factor", "Effect is", "Effect on NPS"]
    sla = next(row for row in rows if row[0] == "SLA breached")
    assert f">{sla[2]}<" in html  # the CSV cell is the number on the screen


def test_api_reports_effects_with_intervals_and_focus_areas(admin_user, api_client, token_for):
    nps_scenario(seed=12)
    api = api_client(token_for(admin_user, "read"))
    body = api.get("/api/v1/drivers", outcome="nps").json()
    assert body["method"] == "ols" and body["rows"] == 240
    effects = {e["factor"]: e for e in body["effects"]}
    assert effects["sla_breached"]["p_value"] < 0.001 and effects["sla_breached"]["coefficient"] < -2
    assert body["focus_areas"][0] == "sla_breached"
    bad = api.get("/api/v1/drivers", outcome="happiness")
    assert bad.status_code == 422 and bad.json()["error"]["fields"] == {"outcome": "one of nps, csat, churn"}
    assert api.get("/api/v1/drivers", outcome="nps", date_from="2026-13-01").status_code == 422


def test_churn_drivers_from_the_shared_churn_label(admin_user, settings):
    settings.CXDESK_CHURN_INACTIVE_DAYS = 90
    rng = np.random.default_rng(5)
    now = timezone.now()
    customers = make_customers(400, "Subscriber")
    touchpoints, tickets = [], []
    for customer in customers:
        touchpoints.append(Touchpoint(customer=customer, kind="page.viewed", channel="web", stage="usage",
                                      occurred_at=now - timedelta(days=150), source="test"))
        breached = bool(rng.random() < 0.4)
        if rng.random() < 0.8:
            tickets.append((customer, now - timedelta(days=140), float(rng.uniform(1, 10)), breached, "email"))
        else:
            breached = False
        churn_probability = 1 / (1 + np.exp(-(-1.2 + 1.8 * breached)))
        if rng.random() >= churn_probability:  # stays: still active recently
            touchpoints.append(Touchpoint(customer=customer, kind="page.viewed", channel="web", stage="usage",
                                          occurred_at=now - timedelta(days=5), source="test"))
    make_tickets(tickets)
    Touchpoint.objects.bulk_create(touchpoints)
    html = login(admin_user).get("/insights/drivers/?outcome=churn").content.decode()
    assert "Logistic regression of churn" in html and "Odds ratio" in html
    chart = json.loads(re.search(r'<script id="drivers-effects-chart" type="application/json">(.*?)</script>',
                                 html, re.S).group(1))
    intervals = dict(zip(chart["data"]["labels"], chart["data"]["datasets"][0]["data"], strict=True))
    low, high = intervals["SLA breached"]
    assert low < 1.8 < high and low > 0.8
    focus = re.search(r'<ol class="drivers-focus">(.*?)</ol>', html, re.S).group(1)
    assert "SLA breached" in focus


def test_empty_period_says_no_data_and_bad_filters_are_refused(admin_user):
    client = login(admin_user)
    for outcome in ("nps", "csat", "churn"):
        html = client.get(f"/insights/drivers/?outcome={outcome}").content.decode()
        assert '<p class="no-data" data-testid="drivers-message">no data</p>' in html
    bad = client.get("/insights/drivers/?outcome=nps&from=2026-02-10&to=2026-01-01")
    assert bad.status_code == 422 and "on or after the start date" in bad.content.decode()


def test_a_handful_of_answers_gets_a_reason_not_a_crash(admin_user):
    survey = Survey.objects.create(name="CSAT", kind="csat", status="active")
    now = timezone.now()
    for i, customer in enumerate(make_customers(3, "Few")):
        invitation = Invitation.objects.create(survey=survey, customer=customer, nonce=f"f{i}", source="test",
                                               send_at=now)
        Response.objects.create(invitation=invitation, survey=survey, customer=customer,
                                started_at=now - timedelta(days=1), csat_score=3 + i % 2)
    html = login(admin_user).get("/insights/drivers/?outcome=csat").content.decode()
    assert "Not enough data for a driver analysis" in html


def test_tab_is_registered():
    from cx.core.slots import slot_templates

    assert "drivers/partials/tab.html" in slot_templates("insights.tabs")
