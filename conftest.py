"""Test-wide set-up: a throwaway CXDESK_HOME, tasks that run inline unless a test says otherwise, and one
PostgreSQL test database per pytest process."""

import os
import tempfile

import pytest

os.environ.setdefault("CXDESK_HOME", tempfile.mkdtemp(prefix="cxdesk-test-"))
os.environ.setdefault("CXDESK_TASKS", "immediate")
os.environ.setdefault("CXDESK_SECRET_KEY", "test-secret-key-not-for-production-use-0123456789")


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """Give each pytest process its own PostgreSQL test database, so parallel runs never collide."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("postgresql"):
        database.setdefault("TEST", {})["NAME"] = f"test_cx_{os.getpid()}"
