"""Self-service in a real browser against the real server: a customer signs in to the portal with the magic
link taken from the SMTP sink, sees only their own requests and replies; a visitor searches the help center
with instant suggestions and marks an article helpful; an agent inserts an article link into a reply."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Page, expect

from cx.accounts.models import Role
from cx.accounts.services import user_create
from cx.customers.services import customer_create
from cx.kb import services as kb
from cx.kb.models import Article, ArticleFeedback
from cx.tickets.models import Message
from cx.tickets.services import ticket_open_by_customer, ticket_reply, ticket_statuses_ensure_defaults
from tests.e2e.helpers import in_worker_thread

PASSWORD = "correct-horse-42"


def _published_article(title: str, body: str) -> Article:
    editor = user_create(actor=None, username=f"editor{uuid.uuid4().hex[:6]}", email="e@agents.example.test",
                         password=PASSWORD, role=Role.AGENT)
    category = kb.category_create(actor=editor, name="Orders", slug=f"orders-{uuid.uuid4().hex[:4]}")
    section = kb.section_create(actor=editor, category_id=category.pk, name="Returns")
    return kb.article_create(actor=editor, section_id=section.pk, title=title, body_markdown=body,
                             status="published")


def test_a_customer_signs_in_by_magic_link_sees_only_own_requests_and_replies(page: Page, server_url, e2e_db,
                                                                              smtp_sink):
    ticket_statuses_ensure_defaults()
    email = f"carla-{uuid.uuid4().hex[:8]}@example.com"

    def setup():
        carla = customer_create(actor=None, display_name="Carla", identities=[{"kind": "email", "value": email}])
        dan = customer_create(actor=None, display_name="Dan",
                              identities=[{"kind": "email", "value": f"dan-{uuid.uuid4().hex[:8]}@example.com"}])
        mine = ticket_open_by_customer(requester=carla, subject="My invoice is missing", body="Where is it?",
                                       channel="email").ticket
        ticket_open_by_customer(requester=dan, subject="Dan private matter", body="Secret", channel="email")
        agent = user_create(actor=None, username=f"agent{uuid.uuid4().hex[:6]}", email="a@agents.example.test",
                            password=PASSWORD, role=Role.AGENT)
        ticket_reply(actor=agent, ticket=mine, body="We sent it again today.")
        ticket_reply(actor=agent, ticket=mine, body="Internal: customer is VIP", visibility="internal")
        return mine

    mine = in_worker_thread(setup)

    page.goto(f"{server_url}/portal/")
    expect(page.get_by_role("heading", name="Sign in to your requests")).to_be_visible()
    page.get_by_label("Email address").fill(email)
    page.get_by_role("button", name="Email me a sign-in link").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()

    mail = smtp_sink.wait_for(to=email)
    link = re.search(r"http://\S+/portal/login/\w+/", mail.get_body(preferencelist=("plain",)).get_content()).group(0)
    page.goto(link)
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("heading", name="My requests")).to_be_visible()
    expect(page.get_by_role("link", name="My invoice is missing")).to_be_visible()
    expect(page.get_by_text("Dan private matter")).to_have_count(0)

    page.get_by_role("link", name="My invoice is missing").click()
    expect(page.get_by_text("We sent it again today.")).to_be_visible()
    expect(page.get_by_text("Internal: customer is VIP")).to_have_count(0)
    page.get_by_label("Your reply").fill("Thanks, it arrived!")
    page.get_by_role("button", name="Send reply").click()
    expect(page.locator(".message-body", has_text="Thanks, it arrived!")).to_be_visible()
    reply = Message.objects.filter(ticket_id=mine.pk).order_by("-id").first()
    assert (reply.body_text, reply.channel, reply.author_type) == ("Thanks, it arrived!", "portal", "customer")

    # The link worked once: using it again is refused.
    page.goto(link)
    expect(page.get_by_text("expired or was already used")).to_be_visible()


def test_a_visitor_searches_the_help_center_and_marks_an_article_helpful(page: Page, server_url, e2e_db):
    article = _published_article("Return a parcel", "Print the **return label** and drop the parcel at any shop.")
    page.goto(f"{server_url}/help/")
    page.get_by_label("Search the help center").press_sequentially("retu", delay=40)
    suggestion = page.locator("#hc-suggestions").get_by_role("link", name="Return a parcel")
    expect(suggestion).to_be_visible()
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("heading", name=re.compile(r"1 result for"))).to_be_visible()
    page.get_by_role("link", name="Return a parcel").click()
    expect(page.get_by_role("heading", name="Return a parcel")).to_be_visible()
    expect(page.locator(".kb-article-body strong", has_text="return label")).to_be_visible()

    page.get_by_role("button", name="Yes").click()
    expect(page.get_by_role("heading", name="Thanks for your feedback!")).to_be_visible()
    page.get_by_label("Anything we should add or fix? (optional)").fill("Very clear.")
    page.get_by_role("button", name="Send comment").click()
    expect(page.get_by_text("Your comment was sent to our team.")).to_be_visible()

    article.refresh_from_db()
    assert (article.helpful_count, article.unhelpful_count, article.view_count) == (1, 0, 1)
    assert ArticleFeedback.objects.get(article=article).comment == "Very clear."


def test_an_agent_inserts_an_article_link_into_a_reply(page: Page, server_url, e2e_db, login):
    ticket_statuses_ensure_defaults()

    def setup():
        _published_article("Reset your password", "Use the reset link on the sign-in page.")
        user_create(actor=None, username="kbagent", email="kbagent@agents.example.test", password=PASSWORD,
                    role=Role.AGENT)
        customer = customer_create(actor=None, display_name="Rita",
                                   identities=[{"kind": "email", "value": f"r-{uuid.uuid4().hex[:6]}@x.test"}])
        return ticket_open_by_customer(requester=customer, subject="Cannot sign in", body="Forgot my password",
                                       channel="email").ticket

    ticket = in_worker_thread(setup)
    login(page, "kbagent", PASSWORD)
    page.goto(f"{server_url}/tickets/{ticket.pk}/")
    page.get_by_text("Knowledge base: link an article").click()
    page.get_by_label("Find an article to link").press_sequentially("reset", delay=40)
    page.get_by_role("button", name="Insert link").click()
    body = page.locator("#composer-form [data-composer='body']")
    link = re.compile(r"\[Reset your password\]\(http://\S+/help/en/orders-\w+/reset-your-password/\)")
    expect(body).to_have_value(link)


def test_searching_from_a_category_page_stays_in_that_category(page: Page, server_url, e2e_db):
    billing = _published_article("Refund to your card", "Card refunds take five days.")
    shipping = _published_article("Refund for a lost parcel", "Parcel refunds need a tracking number.")
    category = shipping.section.category
    page.goto(f"{server_url}/help/en/{category.slug}/")
    scope = page.get_by_label(f"Only in {category.name}")
    expect(scope).to_be_checked()
    page.get_by_label("Search the help center").press_sequentially("refu", delay=40)
    suggestions = page.locator("#hc-suggestions")
    expect(suggestions.get_by_role("link", name="Refund for a lost parcel")).to_be_visible()
    expect(suggestions.get_by_role("link", name=billing.title)).to_have_count(0)
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("heading", name=re.compile(r"1 result for"))).to_be_visible()
    page.get_by_label(f"Only in {category.name}").uncheck()
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("heading", name=re.compile(r"2 results for"))).to_be_visible()
