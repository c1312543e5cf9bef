"""Test-wide set-up: one PostgreSQL test database per pytest process (test defaults live in
config/test_settings.py)."""

import os

import pytest


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """Give each pytest process its own PostgreSQL test database, so parallel runs never collide."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("postgresql"):
        database.setdefault("TEST", {})["NAME"] = f"test_cx_{os.getpid()}"
