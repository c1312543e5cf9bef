"""Webhook delivery against a real HTTP server on 127.0.0.1: signed POSTs after commit, retries with
back-off, failure after the last attempt, and nothing sent for a rolled-back change."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from cx.core.periodic import run_due_jobs
from cx.tickets.services import (
    ticket_customer_reply,
    ticket_open_by_customer,
    ticket_reply,
    ticket_statuses_ensure_defaults,
    ticket_update,
)
from cx.webhooks import protocol, transport
from cx.webhooks.models import DeliveryStatus, WebhookDelivery
from cx.webhooks.services import (
    webhook_delivery_attempt,
    webhook_endpoint_create,
    webhook_endpoint_update,
    webhook_retries_enqueue_due,
)
from cx.webhooks.tasks import deliver_webhook

ALL_TICKET_EVENTS = ["ticket.created", "ticket.updated", "ticket.replied", "ticket.noted",
                     "ticket.customer_replied", "ticket.merged"]


@pytest.fixture
def endpoint(admin_user, receiver):
    return webhook_endpoint_create(actor=admin_user, url=receiver.url, event_types=ALL_TICKET_EVENTS,
                                   description="CRM sync")


def _verified(received, secret: str) -> dict:
    """Check the request the way a receiver must, and return the parsed body."""
    headers = {k.lower(): v for k, v in received.headers.items()}
    assert headers["content-type"] == "application/json"
    assert protocol.verify(secret=secret, timestamp=headers["x-cxdesk-timestamp"], body=received.body,
                           signature=headers["x-cxdesk-signature"])
    body = json.loads(received.body)
    assert headers["x-cxdesk-event"] == body["type"]
    assert headers["x-cxdesk-delivery"] == body["id"]
    return body


def _retry_when_due(delivery: WebhookDelivery, capture) -> WebhookDelivery:
    """Run the periodic retry job at the moment the next attempt is due, and the task it queues."""
    delivery.refresh_from_db()
    with capture(execute=True):
        assert webhook_retries_enqueue_due(delivery.next_attempt_at - timedelta(seconds=1)) == 0
        assert webhook_retries_enqueue_due(delivery.next_attempt_at) == 1
    delivery.refresh_from_db()
    return delivery


def test_a_new_ticket_is_posted_signed_with_the_endpoints_secret(endpoint, receiver, open_ticket,
                                                                  django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        ticket = open_ticket("Refund for order 1234")

    assert len(receiver.requests) == 1
    received = receiver.requests[0]
    assert received.path == "/hooks/cxdesk"
    body = _verified(received, endpoint.secret)
    assert body["type"] == "ticket.created"
    assert body["data"]["ticket"]["id"] == ticket.pk
    assert body["data"]["ticket"]["subject"] == "Refund for order 1234"
    assert body["data"]["actor"] == {"type": "customer", "id": ticket.requester_id}
    assert body["data"]["message"]["body_text"] == "Why was my card declined?"
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempt_count, delivery.response_code) == (DeliveryStatus.SUCCEEDED, 1, 200)
    assert delivery.response_body == '{"ok": true}' and delivery.next_attempt_at is None
    assert str(delivery.event_id) == body["id"]


def test_updates_and_replies_carry_their_changes(endpoint, receiver, open_ticket, agent_user, requester,
                                                 django_capture_on_commit_callbacks):
    ticket = open_ticket()
    with django_capture_on_commit_callbacks(execute=True):
        ticket_update(actor=agent_user, ticket=ticket, changes={"priority": "urgent"})
        ticket_reply(actor=agent_user, ticket=ticket, body="We are on it.")
        ticket_customer_reply(ticket=ticket, customer=requester, body="Thanks!", channel="email")

    bodies = [_verified(r, endpoint.secret) for r in receiver.requests]
    assert [b["type"] for b in bodies] == ["ticket.updated", "ticket.replied", "ticket.customer_replied"]
    assert bodies[0]["data"]["changes"] == {"priority": ["normal", "urgent"]}
    assert bodies[0]["data"]["actor"] == {"type": "agent", "id": agent_user.pk}
    assert bodies[1]["data"]["message"]["body_text"] == "We are on it."
    assert bodies[2]["data"]["actor"]["type"] == "customer"


def test_endpoints_get_only_the_events_they_subscribed_to(admin_user, receiver, open_ticket, agent_user,
                                                          django_capture_on_commit_callbacks):
    webhook_endpoint_create(actor=admin_user, url=receiver.url, event_types=["ticket.customer_replied"])
    disabled = webhook_endpoint_create(actor=admin_user, url=receiver.url, event_types=ALL_TICKET_EVENTS)
    webhook_endpoint_update(actor=admin_user, endpoint=disabled.endpoint, values={"is_active": False})
    with django_capture_on_commit_callbacks(execute=True):
        ticket = open_ticket()
        ticket_update(actor=agent_user, ticket=ticket, changes={"priority": "high"})
    assert receiver.requests == []
    assert not WebhookDelivery.objects.exists()


def test_a_500_is_retried_after_a_minute_and_then_succeeds(endpoint, receiver, open_ticket,
                                                             django_capture_on_commit_callbacks):
    receiver.answers = [500]
    receiver.answer_body = b"database down"
    with django_capture_on_commit_callbacks(execute=True):
        open_ticket()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempt_count, delivery.response_code) == (DeliveryStatus.PENDING, 1, 500)
    assert delivery.response_body == "database down" and delivery.last_error == "HTTP 500"
    assert delivery.next_attempt_at - delivery.last_attempt_at == pytest.approx(timedelta(minutes=1),
                                                                                abs=timedelta(seconds=5))
    receiver.answer_body = b"ok"

    delivery = _retry_when_due(delivery, django_capture_on_commit_callbacks)

    assert (delivery.status, delivery.attempt_count, delivery.response_code) == (DeliveryStatus.SUCCEEDED, 2, 200)
    assert delivery.completed_at is not None and delivery.next_attempt_at is None
    first, second = (_verified(r, endpoint.secret) for r in receiver.requests)
    assert first == second  # the same event, re-signed with a fresh timestamp
    assert receiver.requests[0].headers["X-Cxdesk-Delivery"] == receiver.requests[1].headers["X-Cxdesk-Delivery"]


def test_retries_back_off_and_the_delivery_fails_after_six_attempts(endpoint, receiver, open_ticket,
                                                                     django_capture_on_commit_callbacks):
    receiver.answers = [503] * 10
    with django_capture_on_commit_callbacks(execute=True):
        open_ticket()
    delivery = WebhookDelivery.objects.get()
    waits = []
    while delivery.status == DeliveryStatus.PENDING:
        waits.append(round((delivery.next_attempt_at - delivery.last_attempt_at).total_seconds() / 60))
        delivery = _retry_when_due(delivery, django_capture_on_commit_callbacks)

    assert waits == [1, 5, 30, 120, 720]
    assert (delivery.status, delivery.attempt_count, delivery.response_code) == (DeliveryStatus.FAILED, 6, 503)
    assert delivery.next_attempt_at is None and delivery.completed_at is not None
    assert len(receiver.requests) == 6
    with django_capture_on_commit_callbacks(execute=True):
        assert webhook_retries_enqueue_due(timezone.now() + timedelta(days=30)) == 0
    assert len(receiver.requests) == 6


def test_the_periodic_job_is_registered_and_queues_due_retries(endpoint, receiver, open_ticket,
                                                                django_capture_on_commit_callbacks):
    receiver.answers = [500]
    with django_capture_on_commit_callbacks(execute=True):
        open_ticket()
    delivery = WebhookDelivery.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        ran = run_due_jobs(now=delivery.next_attempt_at + timedelta(seconds=1), only={"webhooks.retry_due"})
    assert ran == ["webhooks.retry_due"]
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED and len(receiver.requests) == 2


def test_no_answer_within_the_timeout_is_a_failed_attempt(endpoint, receiver, open_ticket, monkeypatch,
                                                          django_capture_on_commit_callbacks):
    monkeypatch.setattr(transport, "TIMEOUT_SECONDS", 0.3)
    receiver.delay_seconds = 1.0
    with django_capture_on_commit_callbacks(execute=True):
        open_ticket()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING and delivery.response_code is None
    assert "no answer within 0.3 s" in delivery.last_error


def test_redirects_are_not_followed(endpoint, receiver, open_ticket, django_capture_on_commit_callbacks):
    receiver.answers = [302]
    receiver.redirect_to = receiver.url + "/elsewhere"
    with django_capture_on_commit_callbacks(execute=True):
        open_ticket()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.response_code) == (DeliveryStatus.PENDING, 302)
    assert len(receiver.requests) == 1


def test_only_the_first_kilobyte_of_the_answer_is_kept(endpoint, receiver, open_ticket,
                                                       django_capture_on_commit_callbacks):
    receiver.answer_body = b"x" * 5000 + b"\x00"
    with django_capture_on_commit_callbacks(execute=True):
        open_ticket()
    assert WebhookDelivery.objects.get().response_body == "x" * 1024


def test_an_unreachable_endpoint_is_retried(admin_user, open_ticket, django_capture_on_commit_callbacks):
    webhook_endpoint_create(actor=admin_user, url="http://127.0.0.1:9/nothing-listens", event_types=ALL_TICKET_EVENTS)
    with django_capture_on_commit_callbacks(execute=True):
        open_ticket()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING and delivery.response_code is None
    assert delivery.last_error.startswith("could not connect")


def test_running_an_attempt_twice_sends_once(endpoint, receiver, open_ticket):
    open_ticket()  # no commit callbacks run here: the attempt is made by hand
    delivery = WebhookDelivery.objects.get()
    assert deliver_webhook.call(delivery_id=delivery.pk, attempt=1) == "succeeded"
    assert deliver_webhook.call(delivery_id=delivery.pk, attempt=1) == "skipped"
    assert webhook_delivery_attempt(delivery_id=delivery.pk, attempt=2) is None
    assert len(receiver.requests) == 1


def test_a_lost_task_is_queued_again_by_the_periodic_job(endpoint, receiver, open_ticket,
                                                         django_capture_on_commit_callbacks):
    open_ticket()  # the commit callback (the queued task) is lost, as if the process died
    delivery = WebhookDelivery.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        assert webhook_retries_enqueue_due(timezone.now()) == 0  # its lease has not run out yet
        assert webhook_retries_enqueue_due(delivery.next_attempt_at) == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED and len(receiver.requests) == 1


def test_a_disabled_endpoint_stops_pending_retries(admin_user, endpoint, receiver, open_ticket,
                                                   django_capture_on_commit_callbacks):
    receiver.answers = [500]
    with django_capture_on_commit_callbacks(execute=True):
        open_ticket()
    webhook_endpoint_update(actor=admin_user, endpoint=endpoint.endpoint, values={"is_active": False})
    delivery = _retry_when_due(WebhookDelivery.objects.get(), django_capture_on_commit_callbacks)
    assert delivery.status == DeliveryStatus.FAILED and delivery.last_error == "The endpoint is disabled."
    assert len(receiver.requests) == 1


def test_nothing_is_sent_when_the_transaction_rolls_back(endpoint, receiver, open_ticket, agent_user,
                                                         django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        ticket = open_ticket()
        ticket_update(actor=agent_user, ticket=ticket, changes={"priority": "high"})
        transaction.set_rollback(True)
    assert callbacks == []
    assert not WebhookDelivery.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        assert webhook_retries_enqueue_due(timezone.now() + timedelta(days=1)) == 0
    assert receiver.requests == []


@pytest.mark.django_db(transaction=True)
def test_the_request_waits_for_the_real_commit(admin_user, receiver, requester):
    ticket_statuses_ensure_defaults()  # an earlier transactional test may have flushed them
    issued = webhook_endpoint_create(actor=admin_user, url=receiver.url, event_types=["ticket.created"])
    with transaction.atomic():
        opened = ticket_open_by_customer(requester=requester, subject="Lost parcel", body="Where is it?",
                                         channel="web")
        assert receiver.requests == []  # inside the transaction: nothing has left yet
    assert len(receiver.requests) == 1
    body = _verified(receiver.requests[0], issued.secret)
    assert body["data"]["ticket"]["id"] == opened.ticket.pk
    uuid.UUID(body["id"])
