"""The agent workspace in real browsers against the real server (issue 3's acceptance test), plus the
keyboard shortcuts.

Two agents work in two browser contexts (two separate sessions) of the same Chromium. Tickets are opened in
this test process in a worker thread (helpers.in_worker_thread), so their realtime events go out through the
shared Redis channel layer to the server's WebSockets, as a customer's email would.
"""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Browser, Page, expect

from cx.accounts.models import Role
from cx.accounts.services import user_create
from cx.customers.services import customer_create
from cx.tickets.models import Ticket
from cx.tickets.services import ticket_open_by_customer
from tests.e2e.helpers import in_worker_thread

PASSWORD = "correct-horse-42"


def new_agent(first_name: str) -> tuple[str, str]:
    """A new agent; returns (username, display name)."""
    suffix = uuid.uuid4().hex[:6]
    username = f"{first_name.lower()}-{suffix}"
    user = user_create(actor=None, username=username, email=f"{username}@agents.example.test", password=PASSWORD,
                       role=Role.AGENT, first_name=first_name, last_name=f"Test{suffix}")
    return username, user.display_name


def open_ticket(subject: str) -> Ticket:
    def work() -> Ticket:
        customer = customer_create(actor=None, display_name=f"Customer {uuid.uuid4().hex[:6]}",
                                   identities=[{"kind": "email", "value": f"c-{uuid.uuid4().hex[:8]}@example.com"}])
        return ticket_open_by_customer(requester=customer, subject=subject, body="My order never arrived.",
                                       channel="email").ticket

    return in_worker_thread(work)


def logged_in_page(browser: Browser, login, username: str) -> Page:
    context = browser.new_context()
    page = context.new_page()
    login(page, username)
    return page


def test_two_agents_collide_on_a_ticket_and_the_queue_updates_live(browser: Browser, server_url, e2e_db, login):
    ana_username, ana = new_agent("Ana")
    bo_username, bo = new_agent("Bo")
    subject = f"Parcel lost {uuid.uuid4().hex[:6]}"
    ticket = open_ticket(subject)
    page_a = logged_in_page(browser, login, ana_username)
    page_b = logged_in_page(browser, login, bo_username)

    # Agent A opens the Unassigned queue and the ticket.
    page_a.goto(f"{server_url}/")
    expect(page_a).to_have_url(f"{server_url}/tickets/")
    page_a.get_by_role("link", name=re.compile(r"^Unassigned")).click()
    expect(page_a.get_by_role("heading", level=1)).to_have_text("Unassigned")
    page_a.get_by_role("link", name=subject).click()
    expect(page_a.get_by_role("heading", level=1)).to_have_text(subject)
    expect(page_a.locator("#ticket-live")).to_have_attribute("data-live-state", "open")

    # Agent B opens the same ticket: each sees the other.
    page_b.goto(f"{server_url}/tickets/{ticket.pk}/")
    expect(page_b.locator("#presence-viewers")).to_have_text(f"Also viewing: {ana}", timeout=10_000)
    expect(page_a.locator("#presence-viewers")).to_have_text(f"Also viewing: {bo}", timeout=10_000)
    page_b.evaluate("window.cxSamePage = true")

    # A types a reply: B sees the typing indicator, which goes away after a few seconds.
    composer = page_a.get_by_label("Message", exact=True)
    composer.press_sequentially("Hello! We found your parcel", delay=20)
    expect(page_b.locator("#presence-typing")).to_have_text(f"{ana} is typing…", timeout=10_000)
    expect(page_b.locator("#presence-typing")).to_be_hidden(timeout=10_000)

    # A sends the reply and sets the status to solved.
    page_a.get_by_role("button", name="Send").click()
    expect(page_a.locator("#ticket-flash")).to_have_text("Reply sent.")
    expect(page_a.locator("#conversation")).to_contain_text("Hello! We found your parcel")
    expect(page_a.get_by_label("Message", exact=True)).to_have_value("")
    expect(page_a.locator("#properties")).to_contain_text(f"assigned to {ana}")  # answering took the ticket
    page_a.get_by_label("Status", exact=True).select_option(label="Solved")
    page_a.get_by_role("button", name="Save properties").click()
    expect(page_a.locator("#ticket-status")).to_have_text("Solved")

    # B's page followed along without a reload.
    expect(page_b.locator("#conversation")).to_contain_text("Hello! We found your parcel", timeout=10_000)
    expect(page_b.locator("#ticket-status")).to_have_text("Solved", timeout=10_000)
    assert page_b.evaluate("window.cxSamePage") is True

    # B goes to the Unassigned queue; a new ticket arrives and appears without a reload.
    page_b.get_by_role("navigation", name="Main").get_by_role("link", name="Inbox").click()
    page_b.get_by_role("link", name=re.compile(r"^Unassigned")).click()
    expect(page_b.locator("#ticket-table")).to_have_attribute("data-live-state", "open")
    expect(page_b.get_by_role("link", name=subject)).to_have_count(0)  # assigned to A by the reply
    page_b.evaluate("window.cxSamePage = true")
    second_subject = f"Wrong size {uuid.uuid4().hex[:6]}"
    second = open_ticket(second_subject)
    expect(page_b.get_by_role("link", name=second_subject)).to_be_visible(timeout=10_000)
    expect(page_b.locator("a[data-queue='unassigned'] .queue-count")).to_have_text("1", timeout=10_000)
    assert page_b.evaluate("window.cxSamePage") is True

    Ticket.objects.get(pk=second.pk)  # the row is the committed ticket
    ticket.refresh_from_db()
    assert ticket.status_category == "solved" and ticket.messages.filter(author_type="agent").count() == 1


def test_keyboard_shortcuts_move_through_the_list_and_show_help(page: Page, server_url, e2e_db, login):
    username, name = new_agent("Kai")
    subjects = [f"Shortcut {n} {uuid.uuid4().hex[:4]}" for n in range(3)]
    for subject in subjects:
        open_ticket(subject)
    login(page, username)
    page.goto(f"{server_url}/tickets/?queue=unassigned&sort=oldest")
    rows = page.locator("[data-ticket-row]")
    expect(rows).to_have_count(3)

    page.keyboard.press("j")
    expect(rows.nth(0)).to_be_focused()
    page.keyboard.press("j")
    page.keyboard.press("j")
    expect(rows.nth(2)).to_be_focused()
    page.keyboard.press("k")
    expect(rows.nth(1)).to_be_focused()

    page.keyboard.press("?")
    help_dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(help_dialog).to_be_visible()
    expect(help_dialog).to_contain_text("Next / previous ticket in the list")
    page.keyboard.press("Escape")
    expect(help_dialog).to_be_hidden()

    # Typing in a field is never taken for a shortcut.
    page.get_by_label("Tag", exact=True).fill("jjj")
    expect(rows.nth(1)).not_to_be_focused()

    page.keyboard.press("Escape")
    rows.nth(1).focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(subjects[1])
    expect(page.locator("#ticket-live")).to_have_attribute("data-live-state", "open")

    page.keyboard.press("a")
    expect(page.locator("#properties")).to_contain_text(f"assigned to {name}")

    page.keyboard.press("n")
    expect(page.get_by_label("Message", exact=True)).to_be_focused()
    expect(page.get_by_label("Internal note")).to_be_checked()
    page.get_by_label("Message", exact=True).press("Escape")
    page.locator("h1").click()
    page.keyboard.press("r")
    expect(page.get_by_label("Public reply")).to_be_checked()

    # s solves after a confirmation (an empty composer: the ticket's Solve button is used).
    page.get_by_label("Message", exact=True).press("Escape")
    page.locator("h1").click()
    page.once("dialog", lambda dialog: dialog.accept())
    page.keyboard.press("s")
    expect(page.locator("#ticket-status")).to_have_text("Solved")
