"""Fixtures for answer bot tests: a help center with published, draft and internal articles, the bot switched on,
and chats opened through the chat services the widget uses."""

from __future__ import annotations

import pytest

from cx.accounts.models import Role
from cx.bot.services import bot_settings_update
from cx.chat.services import chat_conversation_start, chat_inbox_create, chat_session_open, chat_visitor_message
from cx.kb import services as kb
from cx.search.engine import forget_indexes


@pytest.fixture(autouse=True)
def _search_index(settings, tmp_path):
    settings.SEARCH_INDEX_DIR = str(tmp_path / "search-index")
    settings.CXDESK_BASE_URL = "https://help.example.com"
    forget_indexes()
    yield
    forget_indexes()


@pytest.fixture
def articles(make_user):
    editor = make_user(Role.AGENT, "edna")
    category = kb.category_create(actor=editor, name="Account", slug="account")
    section = kb.section_create(actor=editor, category_id=category.pk, name="Sign-in", slug="sign-in")

    def make(title, body, *, status="published", internal=False):
        article = kb.article_create(actor=editor, section_id=section.pk, title=title, body_markdown=body,
                                    is_internal=internal)
        if status != "draft":
            article = kb.article_set_status(actor=editor, article=article, status=status)
        return article

    return make


@pytest.fixture
def bot_on(admin_user):
    def _on(threshold=0.5, **channels):
        values = {"chat_enabled": True, "email_enabled": True, "web_enabled": True, "threshold": threshold}
        values.update(channels)
        return bot_settings_update(actor=admin_user, values=values)

    return _on


@pytest.fixture
def chat(admin_user, django_capture_on_commit_callbacks):
    """chat.start(text) / chat.say(text): a visitor in the widget; bot work (after commit) runs at once."""

    class _Chat:
        def __init__(self):
            self.inbox = chat_inbox_create(actor=admin_user, values={"name": "Website"}).inbox
            self.visitor = chat_session_open(inbox=self.inbox, page_url="https://shop.example.com/").visitor
            self.conversation = None

        def start(self, text):
            with django_capture_on_commit_callbacks(execute=True):
                self.conversation = chat_conversation_start(visitor=self.visitor, body=text,
                                                            fields={"name": "Lin", "email": "lin@example.com"})
            return self.conversation

        def say(self, text):
            with django_capture_on_commit_callbacks(execute=True):
                return chat_visitor_message(visitor=self.visitor, body=text)

        def public_messages(self):
            return [(m.author_type, m.body_text) for m in
                    self.conversation.ticket.messages.filter(visibility="public").order_by("created_at", "id")]

    return _Chat()
