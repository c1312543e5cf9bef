"""Automations in a real browser: an admin writes a trigger in the JSON editor, sees the invalid condition
named inline, fixes it and saves; an agent makes a personal macro and only they see it."""

from __future__ import annotations

import json
import uuid

from playwright.sync_api import Page, expect

from cx.accounts.models import Role
from cx.accounts.services import user_create
from cx.automation.models import Macro, Trigger

PASSWORD = "correct-horse-42"


def new_user(role: str) -> str:
    username = f"{role}-{uuid.uuid4().hex[:8]}"
    user_create(actor=None, username=username, email=f"{username}@agents.example.test", password=PASSWORD, role=role)
    return username


def test_admin_fixes_an_invalid_trigger_condition_in_the_editor(page: Page, server_url, e2e_db, login):
    admin = new_user(Role.ADMIN)
    name = f"Refund tag {uuid.uuid4().hex[:6]}"
    login(page, admin)

    page.goto(f"{server_url}/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Automations").click()
    page.get_by_role("navigation", name="Automations").get_by_role("link", name="Triggers").click()
    page.get_by_role("link", name="New trigger").click()
    page.get_by_label("Name").fill(name)
    page.get_by_label("Conditions").fill(json.dumps(
        {"all": [{"field": "event", "op": "is", "value": "customer_replied"},
                 {"field": "body", "op": "sounds_like", "value": "refund"}]}))
    page.get_by_label("Actions").fill(json.dumps([{"type": "add_tags", "tags": ["refund"]}]))
    page.get_by_role("button", name="Save trigger").click()

    expect(page.get_by_text("conditions.all[1].op: unknown operator 'sounds_like'")).to_be_visible()
    assert not Trigger.objects.filter(name=name).exists()
    conditions = page.get_by_label("Conditions")
    assert "sounds_like" in conditions.input_value()  # what the admin typed is kept for fixing

    conditions.fill(conditions.input_value().replace("sounds_like", "contains"))
    page.get_by_role("button", name="Save trigger").click()

    expect(page.get_by_role("link", name=name, exact=True)).to_be_visible()
    expect(page.get_by_text(f"The trigger “{name}” was saved.")).to_be_visible()
    trigger = Trigger.objects.get(name=name)
    assert trigger.conditions["all"][1] == {"field": "body", "op": "contains", "value": "refund"}


def test_agent_creates_a_personal_macro(page: Page, server_url, e2e_db, login, browser):
    agent = new_user(Role.AGENT)
    colleague = new_user(Role.AGENT)
    name = f"Ask for order {uuid.uuid4().hex[:6]}"
    login(page, agent)

    page.goto(f"{server_url}/automation/")
    expect(page.get_by_role("link", name="Triggers")).to_have_count(0)
    page.get_by_role("link", name="New macro").click()
    page.get_by_label("Name").fill(name)
    page.get_by_label("Actions").fill(json.dumps(
        [{"type": "send_reply", "body": "Hi {{customer.first_name|there}}, what is the order number?"},
         {"type": "set_status", "category": "pending"}]))
    page.get_by_role("button", name="Save macro").click()

    expect(page.get_by_role("cell", name=name, exact=True)).to_be_visible()
    assert Macro.objects.get(name=name).owner.username == agent

    other = browser.new_context()
    other_page = other.new_page()
    login(other_page, colleague)
    other_page.goto(f"{server_url}/automation/")
    expect(other_page.get_by_text("No macros yet.")).to_be_visible()
    other.close()
