"""Fixtures for chat tests: an inbox (with its identity secret in clear), online agents, and a visitor's
widget session opened the way the widget opens it (over HTTP)."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from cx.accounts.models import Role
from cx.accounts.services import user_set_status
from cx.chat.services import chat_inbox_create


@pytest.fixture
def inbox_with_secret(admin_user):
    def _make(**values):
        values.setdefault("name", "Website")
        return chat_inbox_create(actor=admin_user, values=values)

    return _make


@pytest.fixture
def chat_inbox(inbox_with_secret):
    return inbox_with_secret().inbox


@pytest.fixture
def online_agent(make_user):
    def _make(username: str | None = None, role: str = Role.AGENT):
        user = make_user(role, username)
        user_set_status(actor=user, status="online")
        return user

    return _make


@pytest.fixture
def widget(db):
    """widget(inbox).session(...) / .post(path, data) as the widget's fetch() calls make them."""

    class _Widget:
        def __init__(self, inbox, origin: str = "https://shop.example.com"):
            self.inbox = inbox
            self.client = Client()
            self.origin = origin
            self.token = ""

        def post(self, path: str, data=None, raw: bytes | None = None, **headers):
            body = raw if raw is not None else json.dumps(data or {})
            return self.client.post(f"/chat/widget/{self.inbox.widget_key}{path}", data=body,
                                    content_type="application/json", headers={"Origin": self.origin, **headers})

        def session(self, **data):
            data.setdefault("visitor_token", self.token)
            data.setdefault("page_url", "https://shop.example.com/pricing")
            data.setdefault("page_title", "Pricing")
            response = self.post("/session", data)
            if response.status_code == 200:
                self.token = response.json()["visitor_token"]
            return response

    return _Widget
