"""The delivery log in the Django admin: filters, the redeliver action, the secret shown once at creation."""

from __future__ import annotations

from django.test import Client

from cx.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from cx.webhooks.services import webhook_endpoint_create, webhook_ping


def _admin_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_delivery_log_filters_by_status_and_event(admin_user, receiver, django_capture_on_commit_callbacks):
    issued = webhook_endpoint_create(actor=admin_user, url=receiver.url, event_types=["ticket.created"])
    receiver.answers = [500]
    with django_capture_on_commit_callbacks(execute=True):
        webhook_ping(actor=admin_user, endpoint=issued.endpoint)
        webhook_ping(actor=admin_user, endpoint=issued.endpoint)
    client = _admin_client(admin_user)

    pending = client.get("/admin/webhooks/webhookdelivery/", {"status__exact": "pending", "event_type__exact": "ping"})

    assert pending.status_code == 200
    assert pending.context["cl"].result_count == 1
    detail = client.get(f"/admin/webhooks/webhookdelivery/{WebhookDelivery.objects.first().pk}/change/")
    assert detail.status_code == 200 and issued.secret not in detail.content.decode()


def test_the_redeliver_action_sends_the_event_again(admin_user, receiver, django_capture_on_commit_callbacks):
    issued = webhook_endpoint_create(actor=admin_user, url=receiver.url, event_types=["ticket.created"])
    receiver.answers = [500]
    with django_capture_on_commit_callbacks(execute=True):
        failed = webhook_ping(actor=admin_user, endpoint=issued.endpoint)
    client = _admin_client(admin_user)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/admin/webhooks/webhookdelivery/",
                               {"action": "redeliver", "_selected_action": [failed.pk]}, follow=True)

    assert response.status_code == 200
    again = WebhookDelivery.objects.exclude(pk=failed.pk).get()
    assert again.event_id == failed.event_id and again.status == DeliveryStatus.SUCCEEDED
    assert len(receiver.requests) == 2


def test_creating_an_endpoint_in_the_admin_shows_the_secret_once(admin_user, receiver):
    client = _admin_client(admin_user)
    response = client.post("/admin/webhooks/webhookendpoint/add/", {
        "url": receiver.url, "description": "CRM", "event_types": ["ticket.created", "ticket.merged"],
        "is_active": "on"})

    assert response.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret in response.content.decode()
    assert endpoint.event_types == ["ticket.created", "ticket.merged"]
    change_page = client.get(f"/admin/webhooks/webhookendpoint/{endpoint.pk}/change/").content.decode()
    assert endpoint.secret not in change_page


def test_the_admin_refuses_non_http_urls(admin_user):
    response = _admin_client(admin_user).post("/admin/webhooks/webhookendpoint/add/", {
        "url": "ftp://files.example.com/x", "event_types": ["ticket.created"], "is_active": "on"})
    assert response.status_code == 200 and not WebhookEndpoint.objects.exists()
    assert "http" in response.content.decode()


def test_deleting_an_endpoint_in_the_admin_takes_its_log(admin_user, receiver, django_capture_on_commit_callbacks):
    issued = webhook_endpoint_create(actor=admin_user, url=receiver.url, event_types=["ticket.created"])
    with django_capture_on_commit_callbacks(execute=True):
        webhook_ping(actor=admin_user, endpoint=issued.endpoint)
    response = _admin_client(admin_user).post(f"/admin/webhooks/webhookendpoint/{issued.endpoint.pk}/delete/",
                                              {"post": "yes"})
    assert response.status_code == 302
    assert not WebhookEndpoint.objects.exists() and not WebhookDelivery.objects.exists()


def test_agents_cannot_open_the_webhook_admin(make_user):
    agent = make_user("agent", "staffy")
    agent.is_staff = True
    agent.save(update_fields=["is_staff"])
    response = _admin_client(agent).get("/admin/webhooks/webhookdelivery/")
    assert response.status_code == 403
