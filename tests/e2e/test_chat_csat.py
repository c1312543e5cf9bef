"""Issue 7's chat delivery acceptance test in real Chromium: a visitor on another origin chats with an agent
and ends the chat; the widget shows the CSAT question inline (score buttons 1-5 and a comment), the visitor
answers there, and the agent sees the score on the ticket."""

from __future__ import annotations

import uuid
from datetime import time

from playwright.sync_api import Browser, expect

from cx.accounts.models import User
from cx.surveys import services as surveys
from cx.surveys.models import Invitation, Response
from cx.tickets.models import Ticket
from tests.e2e.helpers import in_worker_thread
from tests.e2e.test_chat_widget import _open_widget, _page_with_widget, _setup, host_site  # noqa: F401


def _csat_survey() -> None:
    admin = User.objects.filter(role="admin").order_by("-pk").first()
    policy = surveys.policy_get()
    policy.quiet_start = policy.quiet_end = time(0)
    policy.save()
    survey = surveys.survey_create(actor=admin, values={"name": f"CSAT {uuid.uuid4().hex[:4]}", "kind": "csat",
                                                        "trigger": "ticket_solved", "delay_minutes": 0})
    surveys.survey_update(actor=admin, survey=survey, values={"status": "active"})


def test_the_chat_widget_shows_inline_csat_at_chat_end_and_the_score_is_on_the_ticket(
        browser: Browser, server_url, e2e_db, login, host_site):  # noqa: F811
    site, folder = host_site
    inbox, agent = _setup("Noa", online=True, origin=site)
    in_worker_thread(_csat_survey)
    _page_with_widget(folder, server_url, inbox.widget_key)
    email = f"ada-{uuid.uuid4().hex[:6]}@example.com"

    agent_page = browser.new_context().new_page()
    login(agent_page, agent.username)
    agent_page.goto(f"{server_url}/chat/")
    expect(agent_page.locator("#chat-queue")).to_have_attribute("data-live-state", "open")

    visitor = browser.new_context().new_page()
    visitor.goto(f"{site}/index.html")
    _open_widget(visitor)
    visitor.get_by_label("Your name *").fill("Ada")
    visitor.get_by_label("Email *").fill(email)
    visitor.get_by_label("Message *").fill("Where is my parcel?")
    visitor.get_by_role("button", name="Start chat").click()
    agent_page.get_by_role("button", name="Accept chat with Ada").click()
    expect(visitor.get_by_text("Noa is here to help")).to_be_visible()
    agent_page.get_by_label("Message", exact=True).fill("It arrives tomorrow.")
    agent_page.get_by_role("button", name="Send").click()
    expect(visitor.get_by_text("It arrives tomorrow.")).to_be_visible()

    visitor.get_by_role("button", name="End chat").click()
    rating = visitor.get_by_role("region", name="Rate this chat")
    expect(rating).to_be_visible()
    visitor.reload()  # the offer survives a reload of the host page (the widget reopens as it was)
    expect(rating).to_be_visible(timeout=15_000)
    expect(rating.get_by_role("group")).to_contain_text("satisfied")
    rating.get_by_role("button", name="Send rating").click()
    expect(rating.get_by_role("alert")).to_have_text("Choose a score first.")
    rating.get_by_role("button", name="5", exact=False).last.click()
    expect(rating.get_by_role("button", name="5", exact=False).last).to_have_attribute("aria-pressed", "true")
    rating.get_by_role("textbox").fill("Quick answer, thanks")
    rating.get_by_role("button", name="Send rating").click()
    # Tasks run inline on this server: the comment loads the sentiment model (seconds on a busy machine).
    expect(rating.get_by_role("status")).to_contain_text("Thank you", timeout=90_000)

    ticket = Ticket.objects.get(requester__identities__value=email)
    invitation = Invitation.objects.get(ticket=ticket)
    assert invitation.channel == "chat"
    response = Response.objects.get(invitation=invitation)
    assert response.csat_score == 5 and response.comment == "Quick answer, thanks"

    agent_page.goto(f"{server_url}/tickets/{ticket.pk}/")
    card = agent_page.locator(".survey-ticket-card")
    expect(card).to_contain_text("CSAT 5/5")
    expect(card).to_contain_text("Quick answer, thanks")
