"""Fixtures shared by the apps' tests: agents of every role, customers, an API client with tokens."""

from __future__ import annotations

import pytest
from django.test import Client

from cx.accounts.models import Role
from cx.accounts.services import api_token_create, user_create


@pytest.fixture
def make_user(db):
    counter = {"n": 0}

    def _make(role: str = Role.AGENT, username: str | None = None, password: str = "correct-horse-42"):  # noqa: S107
        counter["n"] += 1
        name = username or f"{role}{counter['n']}"
        return user_create(actor=None, username=name, email=f"{name}@agents.example.test", password=password,
                           role=role, first_name=name.title())

    return _make


@pytest.fixture
def admin_user(make_user):
    return make_user(Role.ADMIN, "ada")


@pytest.fixture
def agent_user(make_user):
    return make_user(Role.AGENT, "alex")


@pytest.fixture
def analyst_user(make_user):
    return make_user(Role.ANALYST, "nia")


@pytest.fixture
def token_for(db):
    def _token(user, scope: str = "write") -> str:
        return api_token_create(actor=user, name=f"{scope} token", scope=scope).plaintext

    return _token


@pytest.fixture
def api_client(db):
    """A Django test client speaking JSON with a bearer token: api_client(token).get/post/patch/delete."""

    class _ApiClient:
        def __init__(self, token: str | None):
            self.client = Client()
            self.headers = {"Authorization": f"Bearer {token}"} if token else {}

        def _call(self, method: str, path: str, data=None, raw: bytes | str | None = None):
            body = raw if raw is not None else (None if data is None else __import__("json").dumps(data))
            kwargs = {"headers": self.headers}
            if body is not None:
                kwargs.update(data=body, content_type="application/json")
            return getattr(self.client, method)(path, **kwargs)

        def get(self, path, **params):
            return self.client.get(path, params, headers=self.headers)

        def post(self, path, data=None, raw=None):
            return self._call("post", path, data, raw)

        def patch(self, path, data=None, raw=None):
            return self._call("patch", path, data, raw)

        def put(self, path, data=None, raw=None):
            return self._call("put", path, data, raw)

        def delete(self, path):
            return self._call("delete", path)

    return _ApiClient
