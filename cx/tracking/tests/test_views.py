"""Sources page: an admin creates a source and sees its write key once; others are refused."""

import pytest
from django.test import Client

from cx.tracking.handler import key_hash
from cx.tracking.models import Source


def _client(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_admin_creates_rotates_and_revokes_a_source(admin_user):
    client = _client(admin_user)
    assert client.get("/tracking/sources/").status_code == 200
    response = client.post("/tracking/sources/new/", {"name": "Shop", "kind": "server", "channel": "web"})
    assert response.status_code == 200
    html = response.content.decode()
    source = Source.objects.get(name="Shop")
    key = html.split('data-write-key>')[1].split("<")[0]
    assert key.startswith("wk_") and source.key_hash == key_hash(key) and key not in source.key_prefix + "x"
    assert key not in client.get("/tracking/sources/").content.decode()  # shown once
    rotated = client.post(f"/tracking/sources/{source.pk}/rotate/")
    new_key = rotated.content.decode().split('data-write-key>')[1].split("<")[0]
    assert new_key != key
    client.post(f"/tracking/sources/{source.pk}/revoke/")
    source.refresh_from_db()
    assert source.revoked_at is not None


@pytest.mark.django_db
def test_bad_source_input_and_non_admins(admin_user, agent_user):
    bad = _client(admin_user).post("/tracking/sources/new/", {"name": "", "kind": "server", "channel": "Web Site"})
    assert bad.status_code == 422 and not Source.objects.exists()
    assert _client(agent_user).get("/tracking/sources/").status_code == 403
    assert _client(agent_user).post("/tracking/sources/new/", {"name": "X", "kind": "server",
                                                               "channel": "web"}).status_code == 403
