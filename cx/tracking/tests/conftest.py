import shutil

import pytest
from django.conf import settings

from cx.tracking.handler import key_cache_clear


@pytest.fixture(autouse=True)
def _fresh_tracking_state():
    """Each test starts with an empty spool and analytics store (they live under CXDESK_HOME)."""
    from cx.tracking import spool

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
