"""Insights in a real browser: a team lead opens the service and experience dashboards, the Chart.js charts
are drawn on their canvases, and an exported CSV equals the table on the screen."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta
from pathlib import Path

from django.utils import timezone
from playwright.sync_api import Browser, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from cx.accounts.models import Role
from cx.accounts.services import user_create
from cx.customers.services import customer_create
from cx.insights.tests.factories import answer
from cx.surveys.models import SurveyKind
from cx.tickets.models import TicketStatus
from cx.tickets.services import ticket_open_by_customer, ticket_reply, ticket_statuses_ensure_defaults
from tests.e2e.helpers import in_worker_thread

PASSWORD = "correct-horse-42"


def _user(role: str, first_name: str):
    username = f"{first_name.lower()}-{uuid.uuid4().hex[:6]}"
    return user_create(actor=None, username=username, email=f"{username}@agents.example.test", password=PASSWORD,
                       role=role, first_name=first_name)


def _seed() -> None:
    ticket_statuses_ensure_defaults()
    agent = _user(Role.AGENT, "Ana")
    solved = TicketStatus.objects.get(category="solved", is_default=True)
    now = timezone.now()
    for i in range(4):
        customer = customer_create(actor=None, display_name=f"Customer {i}",
                                   identities=[{"kind": "email", "value": f"c{i}-{uuid.uuid4().hex[:6]}@example.com"}])
        ticket = ticket_open_by_customer(requester=customer, subject=f"Question {i}", body="Help please",
                                         channel="email" if i % 2 else "chat").ticket
        ticket_reply(actor=agent, ticket=ticket, body="Answered", status_id=solved.pk if i < 3 else None)
        answer(kind=SurveyKind.NPS, score=[10, 9, 4, 8][i], at=now - timedelta(days=i * 8), customer=customer)
        answer(kind=SurveyKind.CES, score=[7, 6, 3, 5][i], at=now - timedelta(days=i * 8), customer=customer)
        answer(kind=SurveyKind.CSAT, score=[5, 4, 2, 5][i], at=now, customer=customer, ticket=ticket)


def _chart_is_drawn(page, chart_id: str) -> bool:
    """Chart.js drew on the canvas: it is registered as a chart and has non-transparent pixels (waits up to 10 s
    for the browser to paint)."""
    try:
        page.wait_for_function(_DRAWN, arg=chart_id, timeout=10_000)
    except PlaywrightTimeoutError:
        return False
    return True


_DRAWN = """(id) => {
        const canvas = document.querySelector(`canvas[data-chart="${id}"]`);
        if (!canvas || !window.Chart || !window.Chart.getChart(canvas)) return false;
        const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        for (let i = 3; i < data.length; i += 4) { if (data[i] !== 0) return true; }
        return false;
    }"""


def _screen_table(page, slug: str) -> list[list[str]]:
    return page.evaluate("""(slug) => Array.from(document.querySelectorAll(`#table-${slug} tr`)).map(
        (tr) => Array.from(tr.querySelectorAll('th, td')).map((cell) => cell.textContent.trim()))""", slug)


def test_dashboards_draw_charts_and_the_csv_matches_the_table(browser: Browser, server_url, e2e_db, login):
    in_worker_thread(_seed)
    lead = _user(Role.TEAM_LEAD, "Lena")
    page = browser.new_page(accept_downloads=True)
    login(page, lead.username)

    page.get_by_role("link", name="Insights").click()
    expect(page.get_by_role("heading", name="Insights: service")).to_be_visible()
    page.wait_for_function("document.querySelector('canvas[data-chart=\"chart-volume\"]')"
                           "?.getAttribute('data-chart-rendered') === 'true'")
    assert _chart_is_drawn(page, "chart-volume")
    expect(page.locator('[data-kpi="created"] .kpi-value')).to_have_text("4")

    page.get_by_label("Breakdown by").select_option("agent")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#table-breakdown")).to_contain_text("Ana")
    with page.expect_download() as download_info:
        page.locator("#table-breakdown").get_by_role("link", name="Export CSV").click()
    exported = list(csv.reader(io.StringIO(Path(download_info.value.path()).read_text(encoding="utf-8"))))
    assert exported == _screen_table(page, "breakdown")
    assert exported[0][0] == "Agent" and exported[1][:3] == ["Ana", "4", "3"]

    page.get_by_role("link", name="Experience", exact=True).click()
    expect(page.get_by_role("heading", name="Insights: experience")).to_be_visible()
    for chart in ("chart-nps", "chart-ces"):
        page.wait_for_function(f"document.querySelector('canvas[data-chart=\"{chart}\"]')"
                               "?.getAttribute('data-chart-rendered') === 'true'")
        assert _chart_is_drawn(page, chart)
    with page.expect_download() as download_info:
        page.locator("#table-nps-trend").get_by_role("link", name="Export CSV").click()
    exported = list(csv.reader(io.StringIO(Path(download_info.value.path()).read_text(encoding="utf-8"))))
    assert exported == _screen_table(page, "nps-trend") and len(exported) >= 3
    page.close()
