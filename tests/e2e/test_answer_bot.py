"""Issue 6's answer bot acceptance test in real Chromium: a visitor asks in the chat widget, the bot answers
from a published help-center article (quoted passage + link) and asks whether that answered the question; the
visitor asks for a person, the bot hands over at once, and an agent accepts the chat with the whole transcript."""

from __future__ import annotations

import uuid

from playwright.sync_api import Browser, expect

from cx.accounts.models import Role
from cx.accounts.services import user_create
from cx.bot.models import BotAnswer, HandoverReason, Outcome
from cx.bot.services import bot_settings_update
from cx.kb import services as kb
from tests.e2e.helpers import in_worker_thread
from tests.e2e.test_chat_widget import _open_widget, _page_with_widget, _setup, host_site  # noqa: F401

ARTICLE = ("To change the email address of your account, open Profile, choose Email and enter the new address. "
           "We send a confirmation link to the new address; the change is made when you open it.")


def test_the_bot_answers_from_an_article_then_hands_over_to_an_agent(browser: Browser, server_url, e2e_db, login,
                                                                     host_site):  # noqa: F811
    site, folder = host_site
    inbox, agent = _setup("Ravi", online=True, origin=site)
    suffix = uuid.uuid4().hex[:6]

    def prepare():
        admin = user_create(actor=None, username=f"kbadmin-{suffix}", email=f"kb-{suffix}@agents.example.test",
                            password=None, role=Role.ADMIN)
        category = kb.category_create(actor=admin, name=f"Account {suffix}", slug=f"account-{suffix}")
        section = kb.section_create(actor=admin, category_id=category.pk, name="Profile", slug="profile")
        article = kb.article_create(actor=admin, section_id=section.pk, title="Change your email address",
                                    body_markdown=ARTICLE, slug=f"change-email-{suffix}")
        kb.article_set_status(actor=admin, article=article, status="published")
        bot_settings_update(actor=admin, values={"chat_enabled": True, "threshold": 0.5})
        return article

    article = in_worker_thread(prepare)
    _page_with_widget(folder, server_url, inbox.widget_key)

    visitor = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    visitor.goto(f"{site}/index.html")
    _open_widget(visitor)
    visitor.get_by_label("Your name *").fill("Mia")
    visitor.get_by_label("Email *").fill(f"mia-{suffix}@example.com")
    visitor.get_by_label("Message *").fill("How do I change the email address of my account?")
    visitor.get_by_role("button", name="Start chat").click()

    # The bot answers with a quoted passage from the article and its link, and asks yes/no.
    bot = visitor.locator('[data-author="system"]').filter(has_text="This article may help")
    expect(bot).to_contain_text("Change your email address", timeout=15_000)
    expect(bot).to_contain_text("> To change the email address of your account")
    expect(bot).to_contain_text(f"/help/en/account-{suffix}/change-email-{suffix}/")
    expect(bot).to_contain_text("Did this answer your question?")
    replies = visitor.get_by_role("group", name="Quick replies")
    expect(replies.get_by_role("button", name="Yes")).to_be_visible()
    expect(replies.get_by_role("button", name="No")).to_be_visible()

    # The visitor wants a person: the bot hands over at once.
    visitor.get_by_label("Message", exact=True).fill("I'd rather talk to a human")
    visitor.keyboard.press("Enter")
    expect(visitor.get_by_text("I'm passing you to one of our agents now.", exact=False)).to_be_visible()
    expect(visitor.get_by_role("group", name="Quick replies")).to_have_count(0)

    # The chat waits for the agents with the transcript; the agent accepts it and sees everything.
    agent_page = browser.new_context().new_page()
    login(agent_page, agent.username)
    agent_page.goto(f"{server_url}/chat/")
    agent_page.get_by_role("button", name="Accept chat with Mia").click()
    conversation = agent_page.locator("#conversation")
    expect(conversation).to_contain_text("How do I change the email address of my account?")
    expect(conversation).to_contain_text("This article may help")
    expect(conversation).to_contain_text("I'd rather talk to a human")
    expect(conversation).to_contain_text("Answer bot handed over")
    expect(visitor.get_by_text("Ravi is here to help")).to_be_visible()
    agent_page.get_by_label("Message", exact=True).fill("Hi Mia, I can change it for you.")
    agent_page.get_by_role("button", name="Send").click()
    expect(visitor.get_by_text("Hi Mia, I can change it for you.")).to_be_visible()

    row = BotAnswer.objects.get(article_id=article.pk)
    assert (row.outcome, row.handover_reason) == (Outcome.HANDED_OVER, HandoverReason.ASKED_FOR_PERSON)
