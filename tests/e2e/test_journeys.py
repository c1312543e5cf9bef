"""An analyst builds a funnel with a breakdown and opens the journey map, in Chromium against the real server;
the Chart.js charts render. The analytics store (DuckDB under the shared CXDESK_HOME) is filled first."""

from __future__ import annotations

import shutil
import uuid

import pytest
from django.conf import settings
from playwright.sync_api import Page, expect

from cx.accounts.models import Role
from cx.accounts.services import user_create
from cx.journeys.models import TouchpointDefinition
from cx.journeys.store import COLUMN_NAMES, TABLE, store_engine
from cx.journeys.tests import analytics_data as D

PASSWORD = "correct-horse-42"


@pytest.fixture
def analytics_store(e2e_db):
    shutil.rmtree(settings.CXDESK_HOME / "analytics", ignore_errors=True)
    with store_engine(write=True) as engine:
        engine.insert_rows(TABLE, COLUMN_NAMES, D.as_tuples(D.generate(people=200)))
    for event, name, stage, department in (("A", "Ad click", "awareness", "marketing"),
                                           ("B", "Product page", "consideration", "marketing"),
                                           ("C", "Checkout", "purchase", "sales"),
                                           ("D", "Feature use", "usage", "product")):
        TouchpointDefinition.objects.create(event=event, name=name, stage=stage, channel="web", department=department)
    yield
    shutil.rmtree(settings.CXDESK_HOME / "analytics", ignore_errors=True)


def test_analyst_builds_a_funnel_with_breakdown_and_opens_the_journey_map(page: Page, server_url, analytics_store,
                                                                           login):
    username = f"analyst-{uuid.uuid4().hex[:8]}"
    user_create(actor=None, username=username, email=f"{username}@agents.example.test", password=PASSWORD,
                role=Role.ANALYST)
    login(page, username)
    page.goto(f"{server_url}/journeys/analytics/")
    page.get_by_label("Event").first.fill("A")
    page.locator("#step-1-event").fill("B")
    page.locator("#step-2-event").fill("C")
    page.locator("#step-2-optional").check()
    page.locator("#step-3-event").fill("D")
    page.get_by_label("Breakdown by property").fill("plan")
    page.get_by_label("From", exact=True).fill("2023-11-01")
    page.get_by_label("To", exact=True).fill("2024-02-01")
    page.get_by_role("button", name="Calculate funnel").click()

    expect(page.locator("canvas[data-chart='funnel-chart']")).to_have_attribute("data-chart-rendered", "true")
    expect(page.locator("table.funnel-table caption").first).to_contain_text("plan =")
    expect(page.locator("table.funnel-table")).to_have_count(3)  # free, pro, team
    box = page.locator("canvas[data-chart='funnel-chart']").bounding_box()
    assert box and box["width"] > 200 and box["height"] > 100
    page.get_by_role("link", name="People who dropped off").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Dropped off after step 1")

    page.goto(f"{server_url}/journeys/analytics/")
    page.get_by_role("link", name="Journey map").click()
    page.get_by_label("From", exact=True).fill("2023-11-01")
    page.get_by_label("To", exact=True).fill("2024-02-01")
    page.get_by_role("button", name="Update").click()
    expect(page.locator("canvas[data-chart='stage-chart']")).to_have_attribute("data-chart-rendered", "true")
    awareness = page.locator("section.journey-stage", has=page.get_by_role("heading", name="Awareness"))
    expect(awareness.locator(".touchpoint-card h3")).to_contain_text(["Ad click"])
    expect(awareness).to_contain_text("Marketing")
    support = page.locator("section.journey-stage", has=page.get_by_role("heading", name="Support"))
    expect(support).to_contain_text("ticket.created")
