"""Issue 7's in-app delivery in real Chromium: an admin places an NPS survey on the /pricing.html page of a
customer's website (a plain HTML site on another origin embedding the chat widget) through the survey's
in-app page; a visitor on a non-targeted page sees nothing, on the pricing page gets the NPS card (keyboard
focus inside it), answers it, and the answer shows on the survey's dashboard; a single-page app navigation
(history.pushState) to the pricing page shows it to another visitor, who dismisses it with Escape and does
not see it again; a tracked event (``cxdesk('track', 'checkout_completed', {plan: 'pro'})``) shows an
event-targeted CSAT survey, while the same event with other properties does not."""

from __future__ import annotations

import re
import uuid
from datetime import time

from playwright.sync_api import Browser, Page, expect

from cx.accounts.models import Role
from cx.accounts.services import user_create
from cx.chat.services import chat_inbox_create
from cx.surveys import in_app
from cx.surveys import services as surveys
from cx.surveys.models import Invitation, Response, Survey
from tests.e2e.helpers import in_worker_thread
from tests.e2e.test_chat_widget import PASSWORD, host_site  # noqa: F401

NPS_ZERO = "0 \u2013 Not at all likely"  # score buttons' accessible names: score, dash, end label
CSAT_FIVE = "5 \u2013 Very satisfied"
PAGE = ("<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'></head>"
        "<body><h1>{title}</h1><p><a href='/index.html'>Home</a> <a href='/pricing.html'>Pricing</a></p>"
        "<script src='{server}/chat/widget.js' data-inbox='{key}' async></script></body></html>")


def _setup(origin: str):
    suffix = uuid.uuid4().hex[:6]

    def work():
        admin = user_create(actor=None, username=f"cx-admin-{suffix}", email=f"cx-admin-{suffix}@agents.example.test",
                            password=PASSWORD, role=Role.ADMIN)
        inbox = chat_inbox_create(actor=admin, values={"name": f"Acme site {suffix}",
                                                       "allowed_origins": [origin]}).inbox
        policy = surveys.policy_get()
        policy.quiet_start = policy.quiet_end = time(0)
        policy.monthly_cap = 100
        policy.save()
        nps = surveys.survey_create(actor=admin, values={"name": f"Website NPS {suffix}", "kind": "nps",
                                                         "brand_name": "Acme"})
        surveys.survey_update(actor=admin, survey=nps, values={"status": "active"})
        csat = surveys.survey_create(actor=admin, values={"name": f"Checkout CSAT {suffix}", "kind": "csat"})
        surveys.survey_update(actor=admin, survey=csat, values={"status": "active"})
        in_app.in_app_placement_save(actor=admin, survey=csat, values={
            "inbox_id": inbox.pk, "page_rules": [],
            "event_rules": [{"event": "checkout_completed",
                             "filters": [{"property": "plan", "operator": "equals", "value": "pro"}]}]})
        return admin, inbox, nps, csat

    return in_worker_thread(work)


def _card(page: Page):
    return page.get_by_role("dialog")


def _widget_ready(page: Page) -> None:
    """The widget has fetched the in-app surveys this visitor may see (how many depends on the visitor)."""
    expect(page.locator("[data-cxdesk-chat]")).to_have_attribute("data-surveys", re.compile(r"^\d+$"),
                                                                  timeout=15_000)


def test_in_app_surveys_by_page_and_by_tracked_event(browser: Browser, server_url, e2e_db, login,
                                                     host_site):  # noqa: F811
    site, folder = host_site
    admin, inbox, nps, csat = _setup(site)
    for name, title in (("index.html", "Acme home"), ("pricing.html", "Acme pricing")):
        (folder / name).write_text(PAGE.format(title=title, server=server_url, key=inbox.widget_key))

    # The admin places the NPS survey on the pricing page, in the centre, through the survey's in-app page.
    admin_page = browser.new_context().new_page()
    login(admin_page, admin.username)
    admin_page.goto(f"{server_url}/surveys/{nps.pk}/")
    admin_page.get_by_role("link", name="In-app on your website").click()
    admin_page.get_by_label("Website (chat inbox)").select_option(label=inbox.name)
    admin_page.get_by_label("Page rule 1: match").select_option("exact")
    admin_page.get_by_label("Page rule 1: URL or path").fill("/pricing.html")
    admin_page.get_by_label("Position of the card").select_option("center")
    admin_page.get_by_role("button", name="Save placement").click()
    expect(admin_page.get_by_text("In-app placement saved.")).to_be_visible()
    admin_page.get_by_label("Page address").fill(f"{site}/pricing.html")
    admin_page.get_by_role("button", name="Check").click()
    expect(admin_page.get_by_test_id("test-result")).to_contain_text("This page is targeted")

    # A page that is not targeted shows nothing.
    visitor = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    visitor.goto(f"{site}/index.html")
    _widget_ready(visitor)
    visitor.wait_for_timeout(1500)
    expect(_card(visitor)).to_have_count(0)

    # The pricing page shows the NPS card; the keyboard focus is on its first score.
    visitor.goto(f"{site}/pricing.html")
    card = _card(visitor)
    expect(card).to_be_visible(timeout=15_000)
    expect(card.get_by_role("group")).to_contain_text("How likely are you to recommend Acme")
    expect(card.get_by_role("button", name=NPS_ZERO)).to_be_focused()
    card.get_by_role("button", name="9", exact=True).click()
    expect(card.get_by_label("Anything else you would like to tell us? (optional)")).to_be_visible()
    card.get_by_role("button", name="Skip this question").click()
    expect(card.get_by_role("status")).to_have_text("Thank you for your feedback!")

    invitation = Invitation.objects.get(survey=nps)
    assert invitation.channel == "in_app"
    assert Response.objects.get(invitation=invitation).nps_score == 9
    admin_page.goto(f"{server_url}/surveys/{nps.pk}/dashboard/")
    expect(admin_page.get_by_test_id("overall-score")).to_have_text("100.0")
    expect(admin_page.get_by_text("n = 1")).to_be_visible()

    # Answered: the same visitor does not see it again.
    visitor.reload()
    _widget_ready(visitor)
    visitor.wait_for_timeout(1500)
    expect(_card(visitor)).to_have_count(0)

    # Another visitor navigates inside a single-page app to the pricing page: the card shows; Escape
    # dismisses it (a skip), and it never comes back.
    other = browser.new_context(viewport={"width": 390, "height": 844}).new_page()  # a phone
    other.goto(f"{site}/index.html")
    _widget_ready(other)
    other.evaluate("history.pushState({}, '', '/pricing.html')")
    card = _card(other)
    expect(card).to_be_visible(timeout=15_000)
    expect(card.get_by_role("button", name=NPS_ZERO)).to_be_focused()
    other.keyboard.press("Escape")
    expect(card).to_have_count(0)
    for _ in range(50):
        if Invitation.objects.filter(survey=nps, status_reason="dismissed by the customer").exists():
            break
        other.wait_for_timeout(100)
    dismissed = Invitation.objects.get(survey=nps, status_reason="dismissed by the customer")
    assert Response.objects.get(invitation=dismissed).nps_score is None
    other.goto(f"{site}/pricing.html")
    _widget_ready(other)
    other.wait_for_timeout(1500)
    expect(_card(other)).to_have_count(0)

    # A tracked event shows the event-targeted survey, only with the right properties.
    shopper = browser.new_context().new_page()
    shopper.goto(f"{site}/index.html")
    _widget_ready(shopper)
    shopper.evaluate("window.cxdesk('track', 'checkout_completed', {plan: 'free', total: 20})")
    shopper.wait_for_timeout(1500)
    expect(_card(shopper)).to_have_count(0)
    shopper.evaluate("window.cxdesk('track', 'checkout_completed', {plan: 'pro', total: 120})")
    card = _card(shopper)
    expect(card).to_be_visible(timeout=15_000)
    expect(card.get_by_role("group")).to_contain_text("How satisfied are you")
    card.get_by_role("button", name=CSAT_FIVE).click()
    card.get_by_role("button", name="Skip this question").click()
    expect(card.get_by_role("status")).to_have_text("Thank you for your feedback!")
    answered = Invitation.objects.get(survey=csat)
    assert answered.touchpoint_kind == "checkout_completed"
    assert Response.objects.get(invitation=answered).csat_score == 5
    assert Survey.objects.get(pk=nps.pk).responses.count() == 2
