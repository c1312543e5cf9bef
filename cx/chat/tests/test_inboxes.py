"""Chat inbox configuration through the API and the admin pages: validation, the identity secret shown
once (and never logged), rotation, and business hours from the SLA calendars."""

from __future__ import annotations

import logging

import pytest
from django.test import Client

from cx.chat.identity import identity_signature
from cx.chat.models import ChatInbox
from cx.core.audit import AuditEvent
from cx.sla.services import business_calendar_create

pytestmark = pytest.mark.django_db


def test_admin_creates_an_inbox_and_sees_the_secret_only_in_the_create_response(api_client, admin_user, token_for,
                                                                                  caplog):
    api = api_client(token_for(admin_user, "admin"))
    caplog.set_level(logging.DEBUG)
    created = api.post("/api/v1/chat/inboxes", {
        "name": "Shop", "colour": "#AA3300", "allowed_origins": ["https://shop.example.com/"],
        "pre_chat_fields": [{"name": "name", "label": "Name", "type": "text", "required": True},
                            {"name": "topic", "label": "Topic", "type": "select", "required": False,
                             "options": ["Billing", "Orders"]}],
        "agent_chat_limit": 4})
    assert created.status_code == 201, created.content
    body = created.json()
    secret = body["identity_secret"]
    assert len(secret) >= 40 and body["colour"] == "#aa3300"
    assert body["allowed_origins"] == ["https://shop.example.com"]
    assert body["widget_key"] and body["agent_chat_limit"] == 4

    fetched = api.get(f"/api/v1/chat/inboxes/{body['id']}")
    assert "identity_secret" not in fetched.json() and secret not in fetched.content.decode()
    assert secret not in api.get("/api/v1/chat/inboxes").content.decode()
    assert secret not in caplog.text
    assert not any(secret in str(e.data) for e in AuditEvent.objects.all())

    rotated = api.post(f"/api/v1/chat/inboxes/{body['id']}/rotate-secret")
    assert rotated.status_code == 200
    assert rotated.json()["identity_secret"] != secret
    assert ChatInbox.objects.get(pk=body["id"]).identity_secret == rotated.json()["identity_secret"]


@pytest.mark.parametrize(("values", "field"), [
    ({"name": ""}, "name"),
    ({"name": "X", "colour": "red"}, "colour"),
    ({"name": "X", "allowed_origins": ["https://shop.example.com/path"]}, "allowed_origins"),
    ({"name": "X", "allowed_origins": "https://shop.example.com"}, "allowed_origins"),
    ({"name": "X", "pre_chat_fields": [{"name": "Bad Name", "label": "x", "type": "text"}]}, "pre_chat_fields"),
    ({"name": "X", "pre_chat_fields": [{"name": "a", "label": "A", "type": "select"}]}, "pre_chat_fields"),
    ({"name": "X", "pre_chat_fields": [{"name": "email", "label": "E", "type": "text"}]}, "pre_chat_fields"),
    ({"name": "X", "agent_chat_limit": 0}, "agent_chat_limit"),
    ({"name": "X", "agent_chat_limit": True}, "agent_chat_limit"),
    ({"name": "X", "calendar_id": 999}, "calendar_id"),
    ({"name": "X", "team_id": 999}, "team_id"),
])
def test_bad_inbox_settings_are_refused_with_the_field_and_nothing_is_stored(api_client, admin_user, token_for,
                                                                              values, field):
    response = api_client(token_for(admin_user, "admin")).post("/api/v1/chat/inboxes", values)
    assert response.status_code == 422, response.content
    assert field in response.json()["error"]["fields"]
    assert not ChatInbox.objects.exists()


def test_agents_cannot_configure_inboxes(api_client, agent_user, token_for, chat_inbox):
    api = api_client(token_for(agent_user))
    assert api.post("/api/v1/chat/inboxes", {"name": "Mine"}).status_code == 403
    assert api.patch(f"/api/v1/chat/inboxes/{chat_inbox.pk}", {"name": "Mine"}).status_code == 403
    assert api.post(f"/api/v1/chat/inboxes/{chat_inbox.pk}/rotate-secret").status_code == 403


def test_inbox_uses_an_sla_business_calendar(api_client, admin_user, token_for, chat_inbox):
    calendar = business_calendar_create(actor=admin_user, values={
        "name": "Weekdays", "time_zone": "Europe/Madrid",
        "weekly_hours": {"monday": [["09:00", "17:00"]]}})
    api = api_client(token_for(admin_user, "admin"))
    response = api.patch(f"/api/v1/chat/inboxes/{chat_inbox.pk}", {"calendar_id": calendar.pk, "name": "Web"})
    assert response.status_code == 200
    assert response.json()["calendar_id"] == calendar.pk
    assert api.patch(f"/api/v1/chat/inboxes/{chat_inbox.pk}", {"unknown": 1}).status_code == 422


def test_admin_pages_create_edit_and_rotate(admin_user, chat_inbox):
    client = Client()
    client.force_login(admin_user)
    page = client.get("/chat/inboxes/")
    assert page.status_code == 200 and b"Website" in page.content
    created = client.post("/chat/inboxes/", {
        "name": "Help centre", "is_active": "on", "greeting": "Hello", "offline_message": "Away",
        "colour": "#112233", "allowed_origins": "https://help.example.com\nhttps://www.example.com",
        "pre_chat_fields": '[{"name": "email", "label": "Email", "type": "email", "required": true}]',
        "calendar_id": "", "team_id": "", "agent_chat_limit": "2"})
    assert created.status_code == 200
    inbox = ChatInbox.objects.get(name="Help centre")
    assert inbox.identity_secret.encode() in created.content  # shown once, on this page
    assert created["Cache-Control"] == "no-store"
    assert b"data-inbox=&quot;" + inbox.widget_key.encode() in created.content
    assert inbox.allowed_origins == ["https://help.example.com", "https://www.example.com"]

    edit = client.get(f"/chat/inboxes/{inbox.pk}/")
    assert edit.status_code == 200 and inbox.identity_secret.encode() not in edit.content
    bad = client.post(f"/chat/inboxes/{inbox.pk}/", {
        "name": "Help centre", "colour": "#112233", "pre_chat_fields": "not json", "agent_chat_limit": "2"})
    assert bad.status_code == 422 and b"Not valid JSON" in bad.content
    bad = client.post(f"/chat/inboxes/{inbox.pk}/", {
        "name": "Help centre", "colour": "#112233", "allowed_origins": "ftp://x",
        "pre_chat_fields": "[]", "agent_chat_limit": "2"})
    assert bad.status_code == 422 and b"is not an origin" in bad.content

    old = inbox.identity_secret
    rotated = client.post(f"/chat/inboxes/{inbox.pk}/rotate-secret/")
    inbox.refresh_from_db()
    assert inbox.identity_secret != old and inbox.identity_secret.encode() in rotated.content
    assert identity_signature(secret=inbox.identity_secret, user_id="1") != identity_signature(secret=old, user_id="1")


def test_agents_get_403_on_the_admin_pages(agent_user, chat_inbox):
    client = Client()
    client.force_login(agent_user)
    assert client.get("/chat/inboxes/").status_code == 403
    assert client.post(f"/chat/inboxes/{chat_inbox.pk}/rotate-secret/").status_code == 403
