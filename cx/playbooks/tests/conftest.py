import shutil

import pytest
from django.conf import settings

from cx.customers.services import customer_create
from cx.playbooks import services


@pytest.fixture(autouse=True)
def _fresh_tracking_state():
    """An empty spool and analytics store per test (they live under CXDESK_HOME)."""
    from cx.tracking import spool
    from cx.tracking.handler import key_cache_clear

    for name in ("tracking", "analytics"):
        shutil.rmtree(settings.CXDESK_HOME / name, ignore_errors=True)
    spool._writer = spool.SpoolWriter()
    key_cache_clear()
    yield
    key_cache_clear()


@pytest.fixture
def source(admin_user):
    from cx.tracking.services import source_create

    return source_create(actor=admin_user, name="Website")


@pytest.fixture
def make_customer(db):
    counter = {"n": 0}

    def _make(name: str | None = None, email: str | None = None):
        counter["n"] += 1
        n = counter["n"]
        return customer_create(actor=None, display_name=name or f"Customer {n}",
                               first_name=(name or f"C{n}").split()[0],
                               identities=[{"kind": "email", "value": email or f"customer{n}@example.com"}])

    return _make


CHECKOUT = {
    "name": "Checkout rescue", "trigger_kind": "event", "trigger_event": "checkout_failed",
    "conditions": [{"field": "event_count", "event": "checkout_failed", "window_hours": 24, "op": ">=", "value": 2}],
    "actions": [{"type": "create_ticket", "subject": "Checkout trouble: {{customer.name}}",
                 "body": "Call {{customer.first_name}} back.", "assign_to": "owner"},
                {"type": "send_email", "subject": "Can we help?", "body": "Hi {{customer.first_name|there}}, ..."}],
    "cooldown_days": 7, "holdout_percent": 0,
}


@pytest.fixture
def make_playbook(admin_user):
    def _make(**values):
        return services.playbook_create(actor=admin_user, values={**CHECKOUT, **values})

    return _make
