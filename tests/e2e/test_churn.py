"""Churn risk in a real browser: an agent opens a customer whose churn model score is stored and sees the
risk card (probability, level, top reasons, when it was scored) load on the customer page."""

from __future__ import annotations

import uuid

from playwright.sync_api import Browser, expect

from cx.accounts.models import Role
from cx.accounts.services import user_create
from cx.churn.selectors import ChurnReason
from cx.churn.services import churn_score_store
from cx.customers.services import customer_create

PASSWORD = "correct-horse-42"


def test_agent_sees_the_churn_risk_card_on_the_customer_page(browser: Browser, server_url, e2e_db, login):
    username = f"agent-{uuid.uuid4().hex[:6]}"
    user_create(actor=None, username=username, email=f"{username}@agents.example.test", password=PASSWORD,
                role=Role.AGENT, first_name="Agent")
    customer = customer_create(actor=None, display_name=f"Risky {uuid.uuid4().hex[:6]}")
    churn_score_store(customer_id=customer.pk, probability=0.78, model_version="churn-v7", reasons=[
        ChurnReason("sla_breaches_90d", "3 SLA breaches in 90 days", 0.18),
        ChurnReason("last_nps", "Last NPS 2 (detractor)", 0.07),
        ChurnReason("orders_90d", "5 orders in 90 days", -0.04)])
    page = browser.new_context().new_page()
    login(page, username)
    page.goto(f"{server_url}/customers/{customer.pk}/")
    card = page.locator("#churn-card")
    expect(card.get_by_role("heading", name="Churn risk")).to_be_visible()
    expect(card.locator("#churn-level")).to_have_text("High risk")
    expect(card.locator("#churn-probability")).to_have_text("78%")
    expect(card.locator("#churn-reasons li").first).to_contain_text("3 SLA breaches in 90 days")
    expect(card).to_contain_text("Last NPS 2 (detractor)")
    expect(card).to_contain_text("Lowering the risk")
    expect(card).to_contain_text("churn-v7")
    card.get_by_role("link", name="Churn insights").click()
    expect(page.get_by_role("heading", name="Churn risk", level=1)).to_be_visible()
    expect(page.locator("#table-churn-at-risk")).to_contain_text(customer.display_name)
