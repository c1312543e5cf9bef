"""An admin refits the CLV model from the page in Chromium against the real server: the distribution chart
renders (Chart.js) and the customer page shows the CLV card loaded by htmx."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import numpy as np
from playwright.sync_api import Page, expect

from cx.accounts.models import Role
from cx.accounts.services import user_create
from cx.clv.tests.conftest import record_order
from cx.customers.services import customer_create
from tests.e2e.helpers import in_worker_thread

PASSWORD = "correct-horse-42"


def seed_orders(customers: int = 40) -> list:
    rng = np.random.default_rng(17)
    end = datetime.now(UTC)
    people = []
    for i in range(customers):
        customer = customer_create(actor=None, display_name=f"Shopper {i:02d}")
        people.append(customer)
        day = end - timedelta(days=int(rng.integers(100, 300)))
        while day < end:
            record_order(customer, day, float(rng.gamma(6.0, 9.0)))
            day += timedelta(days=int(rng.integers(10, 60)))
            if rng.random() < 0.15:
                break
    return people


def test_admin_refits_and_sees_the_clv_chart_and_the_customer_card(page: Page, server_url, e2e_db, login):
    customers = in_worker_thread(seed_orders)
    username = f"admin-{uuid.uuid4().hex[:8]}"
    user_create(actor=None, username=username, email=f"{username}@agents.example.test", password=PASSWORD,
                role=Role.ADMIN)
    login(page, username)
    page.goto(f"{server_url}/insights/clv/")
    expect(page.get_by_test_id("clv-status")).to_contain_text("has not been fitted yet")
    page.get_by_role("button", name="Refit now").click()
    expect(page.locator("ul.flash")).to_contain_text("Model refitted", timeout=30_000)
    chart = page.locator("canvas[data-clv-chart='clv-distribution-chart']")
    expect(chart).to_have_attribute("data-rendered", "true")
    box = chart.bounding_box()
    assert box and box["width"] > 200 and box["height"] > 100
    expect(page.locator("#table-clv-top-customers tbody tr").first).to_be_visible()
    expect(page.locator("#table-clv-parameters")).to_contain_text("BG/NBD")

    page.goto(f"{server_url}/customers/{customers[0].pk}/")
    expect(page.get_by_test_id("clv-expected")).to_be_visible()
    expect(page.get_by_test_id("clv-alive")).to_contain_text("%")
