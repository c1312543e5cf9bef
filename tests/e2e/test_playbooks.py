"""Proactive playbooks end to end (issue 9's acceptance test): an admin builds "checkout_failed twice in a day
→ outreach ticket + email" in the browser; tracked events arrive through the real Tracking API (/v1/batch with
a write key); the loader runs and the playbook fires — an outreach ticket for the owner and an email caught
by the SMTP sink. A second burst inside the throttle window sends nothing, a customer in the holdout group
gets nothing, and the playbook's run audit shows all of it."""

from __future__ import annotations

import base64
import json
import urllib.request
import uuid

from playwright.sync_api import Page, expect

from cx.accounts.models import Role, User
from cx.accounts.services import user_create
from cx.customers.models import Customer
from cx.customers.services import customer_create
from cx.playbooks.models import Playbook, PlaybookRun, RunStatus
from cx.playbooks.services import in_holdout, playbooks_process_events
from cx.tickets.models import Ticket
from cx.tracking.loader import load_all
from cx.tracking.services import source_create
from tests.e2e.helpers import in_worker_thread

PASSWORD = "correct-horse-42"


def _user(role: str, first_name: str) -> User:
    username = f"{first_name.lower()}-{uuid.uuid4().hex[:6]}"
    return user_create(actor=None, username=username, email=f"{username}@agents.example.test", password=PASSWORD,
                       role=role, first_name=first_name)


def _track(server_url: str, write_key: str, messages: list[dict]) -> None:
    request = urllib.request.Request(
        f"{server_url}/v1/batch", data=json.dumps({"batch": messages}).encode(), method="POST",
        headers={"Content-Type": "application/json",
                 "Authorization": "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()})
    with urllib.request.urlopen(request, timeout=20) as response:
        assert response.status == 200


def _checkout_failed(user_id: str, times: int = 2) -> list[dict]:
    return [{"type": "track", "userId": user_id, "event": "checkout_failed", "messageId": uuid.uuid4().hex,
             "properties": {"reason": "card_declined", "cart_total": 89.5}} for _ in range(times)]


def _load_and_evaluate() -> int:
    """What `cxdesk run`'s scheduler does every few seconds: the tracking loader, then the playbook job."""

    def work() -> int:
        load_all()
        return playbooks_process_events()

    return in_worker_thread(work)


def test_a_playbook_fires_on_tracked_events_respects_throttling_and_keeps_its_holdout_untouched(
        page: Page, server_url, e2e_db, smtp_sink, login, settings):
    # The loader and the playbook job run in this process: its mail goes to the same SMTP sink as the server's.
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp_sink.port
    admin = in_worker_thread(lambda: _user(Role.ADMIN, "Ada"))
    owner = in_worker_thread(lambda: _user(Role.AGENT, "Olga"))
    write_key = in_worker_thread(lambda: source_create(actor=admin, name=f"Shop {uuid.uuid4().hex[:4]}").write_key)

    # The admin builds the playbook in the editor (it opens with the checkout example filled in).
    login(page, admin.username)
    page.goto(f"{server_url}/playbooks/")
    page.get_by_role("link", name="New playbook").click()
    page.get_by_label("Name", exact=True).fill("Checkout rescue")
    expect(page.get_by_label("Trigger event")).to_have_value("checkout_failed")
    conditions = page.get_by_label("Conditions")
    expect(conditions).to_contain_text('"window_hours": 24')
    conditions.fill(json.dumps([{"field": "event_count", "event": "checkout_failed", "window_hours": 24,
                                 "op": ">=", "value": 2}], indent=2))
    page.get_by_label("Actions").fill(json.dumps([
        {"type": "create_ticket", "subject": "Checkout trouble: {{customer.name}}",
         "body": "{{customer.first_name}} failed to check out twice today: call them.", "assign_to": "owner"},
        {"type": "send_email", "subject": "Can we help with your order?",
         "body": "Hi {{customer.first_name|there}},\n\nYour checkout did not go through. Reply and we will help."},
    ], indent=2))
    page.get_by_label("Owner").select_option(label=owner.display_name)
    page.get_by_label("Holdout group (%)").fill("50")
    page.get_by_role("button", name="Save playbook").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Checkout rescue")
    playbook = Playbook.objects.get(name="Checkout rescue")

    # Customers of the shop; the holdout assignment is deterministic (a hash of playbook and customer).
    def shoppers() -> list[Customer]:
        made = []
        for index in range(12):
            tag = uuid.uuid4().hex[:6]
            made.append(customer_create(actor=None, display_name=f"Shopper {index}", first_name=f"Shopper{index}",
                                        identities=[{"kind": "email", "value": f"shopper-{tag}@example.com"}]))
        return made

    customers = in_worker_thread(shoppers)
    contacted = next(c for c in customers if not in_holdout(playbook_id=playbook.pk, customer_id=c.pk, percent=50))
    held = next(c for c in customers if in_holdout(playbook_id=playbook.pk, customer_id=c.pk, percent=50))
    email = {c.pk: c.identities.get().value for c in (contacted, held)}

    # The website identifies both shoppers and reports two failed checkouts each, through the Tracking API.
    _track(server_url, write_key, [
        {"type": "identify", "userId": f"shop-{c.pk}", "messageId": uuid.uuid4().hex, "traits": {"email": email[c.pk]}}
        for c in (contacted, held)])
    _track(server_url, write_key, _checkout_failed(f"shop-{contacted.pk}") + _checkout_failed(f"shop-{held.pk}"))
    assert _load_and_evaluate() == 2

    # The playbook fired for the contacted shopper: an outreach ticket for the owner, and the email.
    mail = smtp_sink.wait_for(to=email[contacted.pk])
    assert "Can we help with your order?" in mail["Subject"]
    assert f"Hi {contacted.first_name}," in mail.get_body(preferencelist=("plain",)).get_content()
    outreach = Ticket.objects.get(requester=contacted, subject=f"Checkout trouble: {contacted.name}")
    assert outreach.assignee_id == owner.pk
    # The held-out shopper matched but got nothing.
    assert not Ticket.objects.filter(requester=held).exists()

    # A second burst within the 7-day throttle window does not fire again.
    _track(server_url, write_key, _checkout_failed(f"shop-{contacted.pk}", times=3))
    assert _load_and_evaluate() == 1
    assert Ticket.objects.filter(requester=contacted).count() == 2  # the outreach ticket and the email's ticket
    runs = dict(PlaybookRun.objects.filter(playbook=playbook).values_list("status", "customer_id")
                .order_by("id"))
    assert runs == {RunStatus.ACTED: contacted.pk, RunStatus.HELD_OUT: held.pk, RunStatus.THROTTLED: contacted.pk}
    assert len([m for m in smtp_sink.messages if email[contacted.pk] in str(m["To"])]) == 1
    assert not [m for m in smtp_sink.messages if email[held.pk] in str(m["To"])]

    # The run audit on the playbook's page shows all of it.
    page.goto(f"{server_url}/playbooks/{playbook.pk}/")
    expect(page.locator(".count[data-status='matched']")).to_have_text("3")
    expect(page.locator(".count[data-status='acted']")).to_have_text("1")
    expect(page.locator(".count[data-status='held_out']")).to_have_text("1")
    expect(page.locator(".count[data-status='throttled']")).to_have_text("1")
    audit = page.locator("#table-runs")
    expect(audit).to_contain_text("Acted")
    expect(audit).to_contain_text("outreach ticket #")
    expect(audit).to_contain_text(f"email to {email[contacted.pk]}")
    expect(audit).to_contain_text("Held out")
    expect(audit).to_contain_text("holdout group: not contacted")
    expect(audit).to_contain_text("Throttled")
    expect(audit).to_contain_text("at most once per 7 day(s) per customer")
    page.get_by_label("Result").select_option("held_out")
    page.get_by_role("button", name="Filter").click()
    expect(audit.locator("tbody tr")).to_have_count(1)
    expect(audit).to_contain_text(held.name)
    expect(page.locator("#table-outcome")).to_contain_text("Window not ended yet")

    # The owner opens the outreach ticket: the next-best-action card shows the open loop.
    owner_page = page.context.browser.new_context().new_page()
    login(owner_page, owner.username)
    owner_page.goto(f"{server_url}/tickets/{outreach.pk}/")
    card = owner_page.locator(".nba-card")
    expect(card).to_contain_text("Next best action")
    expect(card).to_contain_text("checkout_failed 5 times in 7 days")
