"""Connector configuration in the admin UI and the API: validation, team routing, write-only secrets."""

from __future__ import annotations

import logging

from django.test import Client

from cx.accounts.services import team_create
from cx.core.models import AuditEvent
from cx.messaging.models import Connector
from cx.messaging.tests.conftest import ADAPTERS_DIR, post_webhook
from cx.tickets.models import Ticket

SECRET = "super-secret-app-secret-123"


def _admin_client(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


def test_admin_adds_a_whatsapp_connector_in_the_ui(admin_user, db):
    team = team_create(actor=admin_user, name="Messaging team")
    client = _admin_client(admin_user)
    assert "Add WhatsApp Cloud API" in client.get("/messaging/connectors/").content.decode()
    form = client.get("/messaging/connectors/new/whatsapp/").content.decode()
    assert 'name="secret_app_secret"' in form and 'type="password"' in form
    response = client.post("/messaging/connectors/new/whatsapp/", {
        "name": "WhatsApp support", "team": str(team.pk), "is_active": "on", "setting_phone_number_id": "1122334455667",
        "secret_app_secret": SECRET, "secret_access_token": "tok-abc", "secret_verify_token": "verify-me",
        "templates": "follow_up en_US\nsurvey de"})
    connector = Connector.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/messaging/connectors/{connector.pk}/"
    assert connector.team == team and connector.secrets["app_secret"] == SECRET
    assert connector.templates == [{"name": "follow_up", "language": "en_US"}, {"name": "survey", "language": "de"}]
    page = client.get(response["Location"]).content.decode()
    assert SECRET not in page and "tok-abc" not in page and "verify-me" not in page
    assert f"/messaging/hooks/{connector.webhook_key}/" in page
    assert "Stored — leave empty to keep it." in page and "No signed request received yet." in page
    # Saving again with the secret fields blank keeps the secrets.
    client.post(response["Location"], {"name": "WhatsApp EU", "team": str(team.pk), "is_active": "on",
                                       "setting_phone_number_id": "1122334455667", "templates": ""})
    connector.refresh_from_db()
    assert connector.name == "WhatsApp EU" and connector.secrets["app_secret"] == SECRET
    audit = list(AuditEvent.objects.filter(action__startswith="messaging.").values_list("data", flat=True))
    assert SECRET not in str(audit) and "app_secret" in str(audit)


def test_inbound_messages_are_routed_to_the_connector_team(make_connector, admin_user):
    team = team_create(actor=admin_user, name="WhatsApp desk")
    connector = make_connector("whatsapp", team_id=team.pk)
    post_webhook(connector, (ADAPTERS_DIR / "whatsapp/fixtures/message__text.json").read_bytes())
    ticket = Ticket.objects.get()
    assert ticket.team == team and ticket.channel == "whatsapp"
    assert ticket.requester.identities.filter(kind="whatsapp", value="972987654321").exists()
    assert ticket.requester.identities.filter(kind="phone", value="+972987654321").exists()
    assert ticket.requester.name == "Test Name"
    connector.refresh_from_db()
    assert connector.last_event_at is not None


def test_a_known_customer_is_matched_by_phone(make_connector, admin_user):
    from cx.customers.services import customer_create

    known = customer_create(actor=admin_user, display_name="Dana Cohen",
                            identities=[{"kind": "phone", "value": "+972987654321"}])
    connector = make_connector("whatsapp")
    post_webhook(connector, (ADAPTERS_DIR / "whatsapp/fixtures/message__text.json").read_bytes())
    assert Ticket.objects.get().requester == known
    assert known.identities.filter(kind="whatsapp").exists()
    # A second message continues the same ticket.
    post_webhook(connector, (ADAPTERS_DIR / "whatsapp/fixtures/message__reply.json").read_bytes().replace(
        b'"wamid.xyzxyz"', b'"wamid.second"'))
    assert Ticket.objects.count() == 1 and Ticket.objects.get().messages.count() == 2


def test_invalid_connector_form_says_what_is_missing(admin_user, db):
    client = _admin_client(admin_user)
    response = client.post("/messaging/connectors/new/telegram/", {"name": "", "secret_bot_token": "x",
                                                                    "api_base_url": "ftp://nope"})
    assert response.status_code == 422
    assert not Connector.objects.exists()


def test_agents_cannot_configure_connectors(agent, db):
    client = Client()
    client.force_login(agent)
    assert client.get("/messaging/connectors/").status_code == 403
    assert client.post("/messaging/connectors/new/telegram/", {"name": "x"}).status_code == 403


def test_api_never_returns_secrets(admin_user, token_for, api_client, caplog):
    caplog.set_level(logging.DEBUG)
    api = api_client(token_for(admin_user, "admin"))
    response = api.post("/api/v1/messaging/connectors", {
        "provider": "telegram", "name": "Bot", "settings": {"bot_username": "cx_bot"},
        "secrets": {"bot_token": "123:SECRET-BOT-TOKEN", "webhook_secret": "hook-secret-xyz"}})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["secrets_set"] == {"bot_token": True, "webhook_secret": True}
    assert "SECRET-BOT-TOKEN" not in response.content.decode()
    assert body["webhook_url"].endswith(f"/messaging/hooks/{Connector.objects.get().webhook_key}/")
    listed = api.get("/api/v1/messaging/connectors")
    assert "SECRET-BOT-TOKEN" not in listed.content.decode() and "hook-secret-xyz" not in listed.content.decode()
    patched = api.patch(f"/api/v1/messaging/connectors/{body['id']}", {"secrets": {"webhook_secret": "new-secret"},
                                                                       "is_active": False})
    assert patched.status_code == 200 and patched.json()["is_active"] is False
    connector = Connector.objects.get()
    assert connector.secrets == {"bot_token": "123:SECRET-BOT-TOKEN", "webhook_secret": "new-secret"}
    assert "SECRET-BOT-TOKEN" not in caplog.text and "new-secret" not in caplog.text
    assert api.delete(f"/api/v1/messaging/connectors/{body['id']}").status_code == 204


def test_api_validation_errors(admin_user, agent, token_for, api_client):
    api = api_client(token_for(admin_user, "admin"))
    response = api.post("/api/v1/messaging/connectors", {"provider": "whatsapp", "name": "WA",
                                                         "secrets": {"app_secret": "x"}})
    assert response.status_code == 422
    fields = response.json()["error"]["fields"]
    assert fields["settings.phone_number_id"] == "required" and fields["secrets.access_token"] == "required"
    assert api.post("/api/v1/messaging/connectors", {"provider": "fax", "name": "x"}).status_code == 422
    assert not Connector.objects.exists()
    agent_api = api_client(token_for(agent, "write"))
    assert agent_api.get("/api/v1/messaging/connectors").status_code == 403


def test_a_new_messenger_customer_is_named_from_the_profile_api(make_connector, fake_provider,
                                                                django_capture_on_commit_callbacks):
    connector = make_connector("messenger", page_id="123123123")
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(connector, (ADAPTERS_DIR / "messenger/fixtures/RequestResponse.json").read_bytes())
    customer = Ticket.objects.get().requester
    customer.refresh_from_db()
    assert customer.display_name == "Peter Chang" and customer.first_name == "Peter"
    [lookup] = fake_provider.downloads
    assert lookup.path == "/v21.0/123123123?fields=first_name,last_name"
    assert lookup.headers["Authorization"] == "Bearer page-token"
