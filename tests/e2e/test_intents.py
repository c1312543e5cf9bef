"""Intent routing in a real browser: an agent sees the predicted intent on the ticket page and corrects it;
an admin maps an intent to a team and changes the routing threshold."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Browser, expect

from cx.accounts.models import Role
from cx.accounts.services import team_create, user_create
from cx.customers.services import customer_create
from cx.intents.models import ExampleSource, IntentExample, IntentLabel, IntentSettings
from cx.intents.services import intent_examples_import, intent_model_train
from cx.intents.tests.conftest import fixture_rows
from cx.tickets.models import Ticket
from cx.tickets.services import ticket_open_by_customer
from tests.e2e.helpers import in_worker_thread

PASSWORD = "correct-horse-42"


def new_user(role: str) -> tuple:
    username = f"{role}-{uuid.uuid4().hex[:6]}"
    user = user_create(actor=None, username=username, email=f"{username}@agents.example.test", password=PASSWORD,
                       role=role, first_name=role.title())
    return username, user


def train_model(admin) -> None:
    rows = fixture_rows("intents_train.csv")
    intent_examples_import(actor=admin, rows=[(r["text"], r["category"]) for r in rows])
    intent_model_train(trigger="command")


def open_ticket(subject: str, body: str) -> Ticket:
    def work() -> Ticket:
        customer = customer_create(actor=None, display_name=f"Customer {uuid.uuid4().hex[:6]}")
        return ticket_open_by_customer(requester=customer, subject=subject, body=body, channel="web").ticket

    return in_worker_thread(work)


def test_agent_sees_the_predicted_intent_and_corrects_it(browser: Browser, server_url, e2e_db, login):
    _, admin = new_user(Role.ADMIN)
    agent_name, _ = new_user(Role.AGENT)
    train_model(admin)
    ticket = open_ticket("Card still not here", "I ordered my new card two weeks ago and it has not arrived yet")
    page = browser.new_context().new_page()
    login(page, agent_name)
    page.goto(f"{server_url}/tickets/{ticket.pk}/")
    panel = page.locator("#intent-panel")
    expect(panel.locator("#intent-label")).to_have_text("card_arrival")
    expect(panel.locator("#intent-confidence")).to_contain_text("% confident")
    panel.get_by_label("Right intent").select_option(label="lost_or_stolen_card")
    panel.get_by_role("button", name="Confirm / correct").click()
    expect(page.locator("#intent-corrected")).to_contain_text("lost_or_stolen_card")
    example = IntentExample.objects.get(ticket_id=ticket.pk)
    assert example.label.name == "lost_or_stolen_card" and example.source == ExampleSource.CORRECTION


def test_admin_maps_an_intent_to_a_team_and_sets_the_threshold(browser: Browser, server_url, e2e_db, login):
    admin_name, admin = new_user(Role.ADMIN)
    team_create(actor=None, name="Card team")
    train_model(admin)
    page = browser.new_context().new_page()
    login(page, admin_name)
    page.goto(f"{server_url}/intents/")
    expect(page.locator("#active-model")).to_contain_text("4 intents")
    page.get_by_label("Team for exchange_rate").select_option(label="Card team")
    page.get_by_label("Tags for exchange_rate").fill("fx")
    page.get_by_role("row", name=re.compile("exchange_rate")).get_by_role("button", name="Save").click()
    expect(page.locator(".flash")).to_contain_text("Intent saved.")
    page.get_by_label("Confidence threshold for routing (0-1)").fill("0.42")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator(".flash")).to_contain_text("Settings saved.")
    label = IntentLabel.objects.get(name="exchange_rate")
    assert label.team.name == "Card team" and label.tags == ["fx"]
    assert IntentSettings.objects.get(pk=1).threshold == 0.42
