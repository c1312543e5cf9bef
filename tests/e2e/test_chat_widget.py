"""Issue 5's live chat acceptance test in real Chromium: a visitor on a plain HTML page of another origin (a
tiny http.server started by the test) opens the widget and writes; the agent sees the chat arrive live in the
chat console, accepts it, types and replies on the ticket page; the visitor sees the typing indicator and the
reply, and after a reload the history is still there. With every agent offline the widget offers to leave a
message, which becomes a web ticket and a confirmation email (caught by the SMTP sink)."""

from __future__ import annotations

import functools
import http.server
import re
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from cx.accounts.models import Role, User
from cx.accounts.services import user_create, user_set_status
from cx.chat.identity import identity_signature
from cx.chat.services import chat_inbox_create
from cx.customers.services import customer_create
from cx.tickets.models import Channel, Ticket
from tests.e2e.helpers import in_worker_thread
from tests.support import free_port

PASSWORD = "correct-horse-42"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        return


@pytest.fixture
def host_site(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A customer's website: static HTML on its own origin (another port than cxdesk)."""
    port = free_port()
    handler = functools.partial(_QuietHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}", tmp_path
    server.shutdown()
    server.server_close()


def _page_with_widget(folder: Path, server_url: str, widget_key: str, attributes: str = "") -> None:
    (folder / "index.html").write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title>Acme pricing</title>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<style>button { background: hotpink; }</style></head>"
        "<body><h1>Acme plans</h1><p>Pro: 20 € a month.</p>"
        f"<script src='{server_url}/chat/widget.js' data-inbox='{widget_key}' {attributes} async></script>"
        "</body></html>")


def _setup(first_name: str, *, online: bool, origin: str, with_secret: bool = False):
    suffix = uuid.uuid4().hex[:6]

    def work():
        admin = user_create(actor=None, username=f"boss-{suffix}", email=f"boss-{suffix}@agents.example.test",
                            password=None, role=Role.ADMIN)
        created = chat_inbox_create(actor=admin, values={"name": f"Acme {suffix}", "allowed_origins": [origin],
                                                         "greeting": "Hi! Ask us anything."})
        inbox = created if with_secret else created.inbox
        agent = user_create(actor=None, username=f"{first_name.lower()}-{suffix}", password=PASSWORD,
                            email=f"{first_name.lower()}-{suffix}@agents.example.test", role=Role.AGENT,
                            first_name=first_name)
        if online:
            user_set_status(actor=agent, status="online")
        return inbox, agent

    return in_worker_thread(work)


def _open_widget(page: Page) -> None:
    launcher = page.get_by_role("button", name="Open chat")
    expect(launcher).to_be_visible(timeout=15_000)
    launcher.click()


def test_visitor_and_agent_chat_live_and_the_history_survives_a_reload(browser: Browser, server_url, e2e_db, login,
                                                                       host_site):
    site, folder = host_site
    inbox, agent = _setup("Sam", online=True, origin=site)
    _page_with_widget(folder, server_url, inbox.widget_key)

    agent_page = browser.new_context().new_page()
    login(agent_page, agent.username)
    agent_page.goto(f"{server_url}/chat/")
    expect(agent_page.locator("#chat-queue")).to_have_attribute("data-live-state", "open")
    expect(agent_page.get_by_text("No chats waiting.")).to_be_visible()

    visitor_context = browser.new_context(viewport={"width": 1280, "height": 800})
    visitor = visitor_context.new_page()
    visitor.goto(f"{site}/index.html")
    _open_widget(visitor)
    expect(visitor.get_by_text("Hi! Ask us anything.")).to_be_visible()
    visitor.get_by_label("Your name *").fill("Lin")
    visitor.get_by_label("Email *").fill("lin@example.com")
    visitor.get_by_label("Message *").fill("Is the Pro plan billed monthly?")
    visitor.get_by_role("button", name="Start chat").click()
    expect(visitor.get_by_text("Waiting for an agent…")).to_be_visible()

    # The agent's console shows the new chat at once (visual alert) and the agent accepts it.
    expect(agent_page.get_by_role("alert")).to_contain_text("New chat from Lin")
    agent_page.get_by_role("button", name="Accept chat with Lin").click()
    expect(agent_page.get_by_role("heading", level=1)).to_contain_text("Chat with Lin")
    expect(agent_page.locator("#conversation")).to_contain_text("Is the Pro plan billed monthly?")
    expect(agent_page.locator("#chat-panel")).to_contain_text("Acme pricing")  # the visitor's current page
    expect(visitor.get_by_text("Sam is here to help")).to_be_visible()

    # Typing both ways.
    expect(agent_page.locator("#ticket-live")).to_have_attribute("data-live-state", "open")
    visitor.get_by_label("Message", exact=True).press_sequentially("One more thing", delay=20)
    expect(agent_page.locator("#presence-typing")).to_contain_text("Lin (visitor) is typing")
    composer = agent_page.get_by_label("Message", exact=True)
    composer.press_sequentially("Yes, monthly", delay=30)
    expect(visitor.get_by_text(re.compile(r"is typing"))).to_be_visible()
    composer.press_sequentially(" or yearly.", delay=10)
    agent_page.get_by_role("button", name="Send").click()
    expect(visitor.get_by_text("Yes, monthly or yearly.")).to_be_visible()
    visitor.keyboard.press("Enter")
    expect(agent_page.locator("#conversation")).to_contain_text("One more thing")
    expect(visitor.get_by_text("Seen")).to_be_visible()  # the agent's page marked it read

    # A reload keeps the visitor and the conversation.
    visitor.reload()
    expect(visitor.get_by_text("Yes, monthly or yearly.")).to_be_visible(timeout=15_000)
    expect(visitor.get_by_text("Is the Pro plan billed monthly?")).to_be_visible()

    ticket = Ticket.objects.get(chat_conversation__inbox=inbox)
    assert ticket.channel == Channel.CHAT and ticket.assignee_id == agent.pk
    assert list(ticket.messages.order_by("id").values_list("body_text", flat=True))[:3] == [
        "Is the Pro plan billed monthly?", "Yes, monthly or yearly.", "One more thing"]
    visitor_context.close()


def test_with_every_agent_offline_the_message_becomes_a_ticket_and_an_email(browser: Browser, server_url, e2e_db,
                                                                          host_site, smtp_sink):
    site, folder = host_site
    inbox, _agent = _setup("Kim", online=False, origin=site)
    in_worker_thread(lambda: User.objects.filter(status="online").update(status="offline"))
    _page_with_widget(folder, server_url, inbox.widget_key)
    email = f"omar-{uuid.uuid4().hex[:6]}@example.com"

    phone = browser.new_context(viewport={"width": 390, "height": 760}, is_mobile=True, has_touch=True).new_page()
    phone.goto(f"{site}/index.html")
    _open_widget(phone)
    expect(phone.get_by_text("We're away", exact=True)).to_be_visible()
    panel = phone.get_by_role("dialog", name="Chat with us")
    box = panel.bounding_box()
    assert box is not None and box["width"] >= 389  # full screen on a phone
    phone.get_by_role("button", name="Leave a message").click()
    expect(phone.get_by_role("alert")).to_contain_text("email")  # required fields are named
    phone.get_by_label("Your name *").fill("Omar")
    phone.get_by_label("Email *").fill(email)
    phone.get_by_label("Message *").fill("Please call me about my invoice.")
    phone.get_by_role("button", name="Leave a message").click()
    expect(phone.get_by_text(f"will answer by email at {email}")).to_be_visible()

    mail = smtp_sink.wait_for(to=email)
    ticket = Ticket.objects.get(requester__identities__value=email)
    assert ticket.channel == Channel.WEB
    assert f"#{ticket.pk}" in str(mail["Subject"]) or str(ticket.pk) in mail.get_body().get_content()


def test_an_identified_visitor_gets_a_proactive_message_and_chats_as_the_known_customer(
        browser: Browser, server_url, e2e_db, login, host_site):
    site, folder = host_site
    created, agent = _setup("Ria", online=True, origin=site, with_secret=True)
    email = f"grace-{uuid.uuid4().hex[:6]}@example.com"
    known = in_worker_thread(lambda: customer_create(actor=None, display_name="Grace Hopper",
                                                     identities=[{"kind": "email", "value": email}]))
    signature = identity_signature(secret=created.identity_secret, user_id="acct-1", email=email)
    _page_with_widget(folder, server_url, created.inbox.widget_key,
                      f"data-user-id='acct-1' data-user-email='{email}' data-user-name='Grace Hopper' "
                      f"data-user-signature='{signature}'")

    visitor = browser.new_context().new_page()
    visitor.goto(f"{site}/index.html")
    expect(visitor.get_by_role("button", name="Open chat")).to_be_visible(timeout=15_000)
    visitor.evaluate("cxdesk('track', 'Viewed pricing', {plan: 'pro'})")
    queued = visitor.evaluate("JSON.parse(localStorage.getItem('cxdesk.track.queue'))")
    assert queued[-1]["type"] == "track" and queued[-1]["event"] == "Viewed pricing"
    assert queued[-1]["properties"] == {"plan": "pro"} and queued[-1]["anonymousId"]

    agent_page = browser.new_context().new_page()
    login(agent_page, agent.username)
    agent_page.goto(f"{server_url}/chat/")
    agent_page.get_by_label("Message to Grace Hopper").fill("Hi Grace, can I help with the Pro plan?")
    agent_page.get_by_role("button", name="Send").click()
    expect(agent_page.get_by_text("Message sent to Grace Hopper.")).to_be_visible()

    expect(visitor.get_by_text("Hi Grace, can I help with the Pro plan?")).to_be_visible()  # the widget opened
    expect(visitor.get_by_label("Your name *")).to_have_value("Grace Hopper")
    expect(visitor.get_by_label("Email *")).to_have_value(email)
    visitor.get_by_label("Message *").fill("Yes please")
    visitor.get_by_role("button", name="Start chat").click()
    expect(visitor.get_by_text("Waiting for an agent…")).to_be_visible()
    ticket = Ticket.objects.get(chat_conversation__inbox=created.inbox)
    assert ticket.requester_id == known.pk
