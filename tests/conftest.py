"""Fixtures for the cross-process tests in tests/: child processes that see the test's data."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from urllib.parse import quote

import pytest
from django.db import connections


def _postgres_url(settings_dict: dict) -> str:
    user = quote(settings_dict["USER"] or "", safe="")
    password = quote(settings_dict["PASSWORD"] or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict["HOST"] or "127.0.0.1"
    port = f":{settings_dict['PORT']}" if settings_dict["PORT"] else ""
    return f"postgres://{credentials}{host}{port}/{settings_dict['NAME']}"


@pytest.fixture
def child_env(transactional_db, tmp_path) -> Iterator[dict[str, str]]:
    """The environment of a child process that must see this test's committed data.

    PostgreSQL: the child connects to this process's test database (test_cx_<pid>). SQLite: pytest-django's
    test database lives in memory, invisible to other processes, so its migrated schema is copied into a
    file under the child's CXDESK_HOME and this thread's connection is pointed at that file until teardown.
    """
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "CXDESK_HOME": str(home),
           "PYTHONUNBUFFERED": "1"}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    original = connections["default"]
    if original.vendor == "postgresql":
        env["DATABASE_URL"] = _postgres_url(original.settings_dict)
        yield env
        return
    env.pop("DATABASE_URL", None)  # the child reads CXDESK_HOME/cxdesk.sqlite3
    database_file = home / "cxdesk.sqlite3"
    original.ensure_connection()
    with closing(sqlite3.connect(database_file)) as target:
        original.connection.backup(target)
    shared = type(original)({**original.settings_dict, "NAME": str(database_file)}, original.alias)
    connections[original.alias] = shared
    try:
        yield env
    finally:
        shared.close()
        connections[original.alias] = original
