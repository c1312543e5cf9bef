"""The public web form in a real browser against the real server: a visitor without an account opens a
ticket, sees its number, and the confirmation mail arrives at the SMTP sink."""

from __future__ import annotations

import uuid

from playwright.sync_api import Page, expect

from cx.tickets.models import Ticket
from cx.tickets.services import ticket_statuses_ensure_defaults


def _fill(page: Page, *, email: str, subject: str) -> None:
    page.get_by_label("Your name").fill("Maya Visitor")
    page.get_by_label("Your email address").fill(email)
    page.get_by_label("Subject").fill(subject)
    page.get_by_label("How can we help?").fill("I ordered on Monday and nothing has arrived yet.")


def test_a_visitor_opens_a_ticket_and_the_confirmation_mail_arrives(page: Page, server_url, e2e_db, smtp_sink):
    ticket_statuses_ensure_defaults()  # a flush between tests removes the statuses the migration seeded
    email = f"maya-{uuid.uuid4().hex[:8]}@example.com"
    subject = f"Parcel never arrived {uuid.uuid4().hex[:6]}"

    page.goto(f"{server_url}/support/new/")
    _fill(page, email=email, subject=subject)
    page.get_by_role("button", name="Send request").click()

    expect(page.get_by_role("heading", name="Thank you, we received your request")).to_be_visible()
    number = page.locator("#ticket-number").inner_text()
    ticket = Ticket.objects.select_related("requester").get(pk=int(number.lstrip("#")))
    assert (ticket.subject, ticket.channel) == (subject, "web")
    assert ticket.requester.identities.get().value == email
    mail = smtp_sink.wait_for(to=email)
    assert f"[#{ticket.pk}]" in mail["Subject"]
    assert f"#{ticket.pk}" in mail.get_body(preferencelist=("plain",)).get_content()


def test_missing_fields_are_shown_next_to_the_field_and_nothing_is_opened(page: Page, server_url, e2e_db):
    ticket_statuses_ensure_defaults()
    page.goto(f"{server_url}/support/new/")
    _fill(page, email="not-an-address", subject="Where is my parcel")
    page.get_by_label("How can we help?").fill("")
    page.get_by_role("button", name="Send request").click()

    expect(page.get_by_text("Please correct the fields marked below")).to_be_visible()
    expect(page.get_by_text("Enter a valid email address.")).to_be_visible()
    expect(page.get_by_text("This field is required.")).to_be_visible()
    expect(page.get_by_label("Subject")).to_have_value("Where is my parcel")
    assert not Ticket.objects.filter(subject="Where is my parcel").exists()
