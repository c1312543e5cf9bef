"""The voice API: IVR menus (admin, auth token write-only) and logging calls on tickets."""

from __future__ import annotations

from cx.customers.services import customer_create
from cx.tickets.services import ticket_open_by_customer
from cx.voice.models import Call, IvrMenu


def test_menus_via_api_never_return_the_token(admin_user, token_for, api_client, teams):
    api = api_client(token_for(admin_user, "admin"))
    response = api.post("/api/v1/voice/menus", {
        "name": "API line", "phone_number": "+18005550101", "account_sid": "AC1", "auth_token": "TOKEN-XYZ",
        "greeting": "Hello.", "options": [{"digit": "1", "label": "sales", "action": "forward",
                                          "team_id": teams["sales"].pk, "forward_number": "+15550003333"}]})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["auth_token_set"] is True and "TOKEN-XYZ" not in response.content.decode()
    assert body["options"] == [{"digit": "1", "label": "sales", "action": "forward", "team_id": teams["sales"].pk,
                                "forward_number": "+15550003333"}]
    assert body["incoming_url"].endswith(f"/voice/hooks/{IvrMenu.objects.get().webhook_key}/incoming/")
    patched = api.patch(f"/api/v1/voice/menus/{body['id']}", {"options": [], "greeting": "Hi."})
    assert patched.status_code == 200 and patched.json()["options"] == []
    assert IvrMenu.objects.get().auth_token == "TOKEN-XYZ"
    bad = api.post("/api/v1/voice/menus", {"name": "x", "phone_number": "123", "account_sid": "A",
                                           "auth_token": "t", "greeting": "g",
                                           "options": [{"digit": "x", "label": "", "action": "dance"}]})
    assert bad.status_code == 422
    fields = bad.json()["error"]["fields"]
    assert {"phone_number", "options.0.digit", "options.0.label", "options.0.action"} <= set(fields)
    assert api.delete(f"/api/v1/voice/menus/{body['id']}").status_code == 204


def test_log_a_call_via_api(agent_user, token_for, api_client, db):
    customer = customer_create(actor=None, display_name="Lee")
    ticket = ticket_open_by_customer(requester=customer, subject="Refund", body="Hi", channel="email").ticket
    api = api_client(token_for(agent_user, "write"))
    response = api.post(f"/api/v1/tickets/{ticket.pk}/calls", {
        "direction": "inbound", "phone_number": "+4915112345678", "started_at": "2026-03-01T09:00:00Z",
        "duration_seconds": 75, "outcome": "answered", "notes": "Refund approved."})
    assert response.status_code == 201, response.content
    assert response.json()["agent_id"] == agent_user.pk and response.json()["from_number"] == "+4915112345678"
    assert api.get(f"/api/v1/tickets/{ticket.pk}/calls").json()[0]["duration_seconds"] == 75
    bad = api.post(f"/api/v1/tickets/{ticket.pk}/calls", {"direction": "inbound", "started_at": "2026-03-01T09:00:00Z",
                                                          "duration_seconds": 5, "outcome": "exploded"})
    assert bad.status_code == 422 and "outcome" in bad.json()["error"]["fields"]
    assert api.post("/api/v1/tickets/999999/calls", {"direction": "inbound", "started_at": "2026-03-01T09:00:00Z",
                                                     "duration_seconds": 5, "outcome": "answered"}).status_code == 404
    assert Call.objects.count() == 1
