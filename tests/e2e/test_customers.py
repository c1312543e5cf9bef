"""Customers in a real browser against the real server: search, the live timeline, merge, erasure, phones.

The live-update test records a touchpoint in this test process while the page is open in the browser; the
shared Redis channel layer (tests/e2e/conftest.py) carries the event to the server's WebSocket.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from playwright.sync_api import Page, expect

from cx.accounts.models import Role
from cx.accounts.services import user_create
from cx.customers.models import Customer
from cx.customers.services import customer_create
from cx.journeys.services import touchpoint_record
from tests.e2e.helpers import in_worker_thread

PASSWORD = "correct-horse-42"


def unique(label: str) -> str:
    return f"{label} {uuid.uuid4().hex[:6]}"


def new_user(role: str) -> str:
    username = f"{role}-{uuid.uuid4().hex[:8]}"
    user_create(actor=None, username=username, email=f"{username}@agents.example.test", password=PASSWORD, role=role)
    return username


def new_customer(name: str, *identities: tuple[str, str]) -> Customer:
    return customer_create(actor=None, display_name=name,
                           identities=[{"kind": k, "value": v, "is_primary": True} for k, v in identities])


def record(customer: Customer, kind: str, *, minutes_ago: int = 0, stage: str = "support") -> None:
    in_worker_thread(lambda: touchpoint_record(
        customer=customer, kind=kind, channel="email", stage=stage,
        occurred_at=timezone.now() - timedelta(minutes=minutes_ago), source="e2e"))


def open_customer(page: Page, server_url: str, customer: Customer) -> None:
    page.goto(f"{server_url}/customers/{customer.pk}/")
    expect(page.locator("#timeline .touchpoint, #timeline .empty").first).to_be_visible()


def test_agent_searches_for_a_customer_and_opens_the_page(page: Page, server_url, e2e_db, login):
    agent = new_user(Role.AGENT)
    wanted = new_customer(unique("Zephyrine Quist"), ("email", f"zq-{uuid.uuid4().hex[:6]}@example.com"))
    other = new_customer(unique("Bartholomew Other"))
    login(page, agent)

    page.goto(f"{server_url}/customers/")
    expect(page.get_by_role("link", name=other.name)).to_be_visible()
    page.get_by_label("Search customers").press_sequentially("zephyrine", delay=20)

    expect(page.get_by_role("link", name=other.name)).to_have_count(0)
    expect(page).to_have_url(f"{server_url}/customers/?q=zephyrine")
    page.get_by_role("link", name=wanted.name).click()

    expect(page.get_by_role("heading", level=1)).to_contain_text(wanted.name)
    expect(page.locator(".identity-list")).to_contain_text(wanted.identities.get().value)


def test_timeline_is_newest_first_with_older_pagination(page: Page, server_url, e2e_db, login):
    agent = new_user(Role.AGENT)
    customer = new_customer(unique("Timeline Tess"))
    for n in range(25):
        record(customer, f"step.n{n:02d}", minutes_ago=100 - n)  # step.n24 is the newest
    login(page, agent)

    open_customer(page, server_url, customer)
    kinds = page.locator("#timeline .touchpoint-kind")
    expect(kinds).to_have_count(20)
    expect(kinds.first).to_have_text("step.n24")
    expect(kinds.last).to_have_text("step.n05")

    page.get_by_role("link", name="Older").click()

    expect(kinds).to_have_count(25)
    expect(kinds.last).to_have_text("step.n00")
    expect(page.get_by_role("link", name="Older")).to_have_count(0)
    assert page.url == f"{server_url}/customers/{customer.pk}/"


def test_agent_adds_a_touchpoint_and_filters_by_stage(page: Page, server_url, e2e_db, login):
    agent = new_user(Role.AGENT)
    customer = new_customer(unique("Form Fiona"))
    record(customer, "ticket.created", minutes_ago=5)
    login(page, agent)
    open_customer(page, server_url, customer)

    page.locator("summary", has_text="Add touchpoint").click()
    form = page.locator("form.touchpoint-form")
    form.get_by_label("Kind").fill("order.completed")
    form.get_by_label("Channel").fill("web")
    form.get_by_label("Stage").select_option("purchase")
    form.get_by_label("Properties (JSON)").fill("[1]")
    form.get_by_role("button", name="Add touchpoint").click()
    expect(form.get_by_text("Must be a JSON object")).to_be_visible()
    expect(page.locator("#timeline .touchpoint-kind")).to_have_text(["ticket.created"])

    form.get_by_label("Properties (JSON)").fill('{"order_id": "A-1001"}')
    form.get_by_role("button", name="Add touchpoint").click()
    expect(form.get_by_text("Recorded order.completed.")).to_be_visible()

    kinds = page.locator("#timeline .touchpoint-kind")
    expect(kinds.first).to_have_text("order.completed")
    expect(page.locator("#timeline")).to_contain_text("A-1001")
    page.locator("#timeline-stage").select_option("support")
    expect(kinds).to_have_text(["ticket.created"])


def test_touchpoint_recorded_elsewhere_appears_without_reload(page: Page, server_url, e2e_db, login):
    agent = new_user(Role.AGENT)
    customer = new_customer(unique("Live Lena"))
    record(customer, "ticket.created", minutes_ago=5)
    login(page, agent)
    open_customer(page, server_url, customer)
    expect(page.locator("#timeline")).to_have_attribute("data-live-state", "open")
    page.evaluate("window.cxSamePage = true")

    def commit_touchpoint() -> None:
        with transaction.atomic():
            touchpoint_record(customer=Customer.objects.get(pk=customer.pk), kind="call.live", channel="phone",
                              stage="support", source="e2e")

    in_worker_thread(commit_touchpoint)

    kinds = page.locator("#timeline .touchpoint-kind")
    expect(kinds.first).to_have_text("call.live", timeout=10_000)
    expect(kinds).to_have_text(["call.live", "ticket.created"])
    assert page.evaluate("window.cxSamePage") is True  # updated in place, not reloaded


def test_merge_two_customers_through_the_ui(page: Page, server_url, e2e_db, login):
    agent = new_user(Role.AGENT)
    email, phone = f"keeper-{uuid.uuid4().hex[:6]}@example.com", f"+4915112{uuid.uuid4().int % 10**6:06d}"
    survivor = new_customer(unique("Merge Keeper"), ("email", email))
    duplicate = new_customer(unique("Merge Duplicate"), ("phone", phone))
    record(survivor, "ticket.created", minutes_ago=10)
    record(duplicate, "order.completed", minutes_ago=5, stage="purchase")
    login(page, agent)
    open_customer(page, server_url, survivor)

    page.get_by_role("link", name="Merge another customer into this one").click()
    page.get_by_label("Search for the customer to merge").press_sequentially(duplicate.name, delay=10)
    page.get_by_role("link", name=f"Choose {duplicate.name}").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Merge {duplicate.name} into {survivor.name}")
    expect(page.get_by_text("Timeline: 1 touchpoint (1 purchase).")).to_be_visible()
    page.get_by_role("button", name=f"Merge {duplicate.name} into {survivor.name}").click()

    expect(page).to_have_url(f"{server_url}/customers/{survivor.pk}/")
    identities = page.locator(".identity-list")
    expect(identities).to_contain_text(email)
    expect(identities).to_contain_text(phone)
    expect(page.locator("#timeline .touchpoint-kind")).to_have_text(["order.completed", "ticket.created"])

    page.goto(f"{server_url}/customers/{duplicate.pk}/")
    expect(page.get_by_text("Merged into")).to_be_visible()
    page.get_by_role("link", name=survivor.name).click()
    expect(page).to_have_url(f"{server_url}/customers/{survivor.pk}/")


def test_admin_erases_a_customer_through_the_ui(page: Page, server_url, e2e_db, login):
    admin = new_user(Role.ADMIN)
    email = f"erase-{uuid.uuid4().hex[:6]}@example.com"
    customer = new_customer(unique("Erase Erin"), ("email", email))
    login(page, admin)
    open_customer(page, server_url, customer)

    page.get_by_role("link", name="Erase…").click()
    page.get_by_label("Type ERASE to confirm").fill("erase")
    page.get_by_role("button", name="Erase personal data").click()
    expect(page.get_by_text("Type the word ERASE in capitals")).to_be_visible()

    page.get_by_label("Type ERASE to confirm").fill("ERASE")
    page.get_by_role("button", name="Erase personal data").click()

    expect(page).to_have_url(f"{server_url}/customers/{customer.pk}/")
    expect(page.locator(".erased-notice")).to_contain_text("Erased")
    body = page.locator("body")
    expect(body).not_to_contain_text(customer.name)
    expect(body).not_to_contain_text(email)


def test_customer_list_fits_a_phone_screen(page: Page, server_url, e2e_db, login):
    agent = new_user(Role.AGENT)
    for n in range(5):
        new_customer(unique(f"Phone Customer {n}"),
                     ("email", f"a-very-long-address-{n}-{uuid.uuid4().hex}@subdomain.example-company.com"))
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, agent)

    page.goto(f"{server_url}/customers/")
    expect(page.locator(".customer-table")).to_be_visible()

    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page.get_by_role("link", name="New customer").is_visible()
