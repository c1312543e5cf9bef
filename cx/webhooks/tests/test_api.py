"""The webhooks API (admin access): create (secret once), list without secrets, delete, delivery log,
test pings to a real receiver, redelivery, and refusals that change nothing."""

from __future__ import annotations

import json

import pytest

from cx.core.models import AuditEvent
from cx.webhooks import protocol
from cx.webhooks.models import WebhookDelivery, WebhookEndpoint


@pytest.fixture
def admin_api(api_client, token_for, admin_user):
    return api_client(token_for(admin_user, "admin"))


def _create(admin_api, url: str, events=("ticket.created",)):
    return admin_api.post("/api/v1/webhooks", {"url": url, "event_types": list(events), "description": "CRM"})


def test_admins_create_a_webhook_and_see_its_secret_only_once(admin_api, receiver):
    created = _create(admin_api, receiver.url, ["ticket.created", "ticket.customer_replied"])

    assert created.status_code == 201
    body = created.json()
    assert body["secret"].startswith("whsec_") and len(body["secret"]) > 40
    assert body["event_types"] == ["ticket.created", "ticket.customer_replied"] and body["is_active"]
    listed = admin_api.get("/api/v1/webhooks").json()
    assert [w["id"] for w in listed] == [body["id"]]
    assert "secret" not in listed[0]
    assert "secret" not in admin_api.get(f"/api/v1/webhooks/{body['id']}").json()
    assert AuditEvent.objects.filter(action="webhook.created", target_id=body["id"]).exists()


@pytest.mark.parametrize(("payload", "field"), [
    ({"url": "ftp://files.example.com/in", "event_types": ["ticket.created"]}, "url"),
    ({"url": "javascript:alert(1)", "event_types": ["ticket.created"]}, "url"),
    ({"url": "not a url", "event_types": ["ticket.created"]}, "url"),
    ({"url": "https://crm.example.com/in", "event_types": ["ticket.exploded"]}, "event_types.0"),
    ({"url": "https://crm.example.com/in", "event_types": ["ping"]}, "event_types.0"),
    ({"url": "https://crm.example.com/in", "event_types": []}, "event_types"),
    ({"url": "https://crm.example.com/in", "event_types": ["ticket.created"], "secret": "mine"}, "secret"),
])
def test_bad_webhooks_get_a_422_and_nothing_is_created(admin_api, payload, field):
    response = admin_api.post("/api/v1/webhooks", payload)
    assert response.status_code == 422
    assert field in response.json()["error"]["fields"]
    assert not WebhookEndpoint.objects.exists()


def test_only_admins_manage_webhooks(api_client, token_for, admin_user, agent_user, receiver):
    agent = api_client(token_for(agent_user))
    assert agent.get("/api/v1/webhooks").status_code == 403
    assert agent.post("/api/v1/webhooks", {"url": receiver.url, "event_types": ["ticket.created"]}).status_code == 403
    write_token = api_client(token_for(admin_user, "write"))  # an admin's token scoped below admin
    assert write_token.get("/api/v1/webhooks").status_code == 403
    assert not WebhookEndpoint.objects.exists()


def test_the_test_ping_reaches_the_receiver_signed(admin_api, receiver, django_capture_on_commit_callbacks):
    created = _create(admin_api, receiver.url).json()

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_api.post(f"/api/v1/webhooks/{created['id']}/test")

    assert response.status_code == 202
    assert response.json()["event_type"] == "ping" and response.json()["status"] == "pending"
    log = admin_api.get(f"/api/v1/webhooks/{created['id']}/deliveries").json()["results"]
    assert [(d["status"], d["response_code"], d["attempt_count"]) for d in log] == [("succeeded", 200, 1)]
    received = receiver.requests[0]
    assert protocol.verify(secret=created["secret"], timestamp=received.headers["X-Cxdesk-Timestamp"],
                           body=received.body, signature=received.headers["X-Cxdesk-Signature"])
    assert json.loads(received.body)["data"]["endpoint_id"] == created["id"]


def test_the_delivery_log_pages_and_filters(admin_api, receiver, django_capture_on_commit_callbacks):
    created = _create(admin_api, receiver.url).json()
    receiver.answers = [500, 500]
    for _ in range(5):
        with django_capture_on_commit_callbacks(execute=True):
            admin_api.post(f"/api/v1/webhooks/{created['id']}/test")

    failed_first = admin_api.get(f"/api/v1/webhooks/{created['id']}/deliveries", status="pending").json()
    assert [d["response_code"] for d in failed_first["results"]] == [500, 500]
    ids, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = admin_api.get(f"/api/v1/webhooks/{created['id']}/deliveries", **params).json()
        ids += [d["id"] for d in page["results"]]
        cursor = page["next"]
        if not cursor:
            break
    assert ids == sorted(ids, reverse=True) and len(ids) == 5
    bad = admin_api.get(f"/api/v1/webhooks/{created['id']}/deliveries", status="lost")
    assert bad.status_code == 422 and "status" in bad.json()["error"]["fields"]


def test_redelivery_repeats_the_event_id_and_body(admin_api, receiver, django_capture_on_commit_callbacks):
    created = _create(admin_api, receiver.url).json()
    receiver.answers = [500]
    with django_capture_on_commit_callbacks(execute=True):
        first = admin_api.post(f"/api/v1/webhooks/{created['id']}/test").json()

    with django_capture_on_commit_callbacks(execute=True):
        again = admin_api.post(f"/api/v1/webhooks/{created['id']}/deliveries/{first['id']}/redeliver")

    assert again.status_code == 202
    body = again.json()
    assert body["id"] != first["id"] and body["event_id"] == first["event_id"]
    assert body["redelivery_of_id"] == first["id"]
    statuses = {d["id"]: d["status"] for d in
                admin_api.get(f"/api/v1/webhooks/{created['id']}/deliveries").json()["results"]}
    assert statuses == {first["id"]: "pending", body["id"]: "succeeded"}
    assert receiver.requests[0].body == receiver.requests[1].body
    assert AuditEvent.objects.filter(action="webhook.redelivered").count() == 1


def test_deleting_a_webhook_removes_it_and_its_log(admin_api, receiver):
    created = _create(admin_api, receiver.url).json()
    admin_api.post(f"/api/v1/webhooks/{created['id']}/test")

    response = admin_api.delete(f"/api/v1/webhooks/{created['id']}")

    assert response.status_code == 204
    assert admin_api.get(f"/api/v1/webhooks/{created['id']}").status_code == 404
    assert not WebhookDelivery.objects.exists()
    assert admin_api.delete(f"/api/v1/webhooks/{created['id']}").json()["error"]["code"] == "not_found"


def test_deliveries_of_another_webhook_are_not_found(admin_api, receiver):
    one = _create(admin_api, receiver.url).json()
    other = _create(admin_api, receiver.url).json()
    delivery = admin_api.post(f"/api/v1/webhooks/{one['id']}/test").json()
    response = admin_api.post(f"/api/v1/webhooks/{other['id']}/deliveries/{delivery['id']}/redeliver")
    assert response.status_code == 404
