"""Writes for outbound webhooks: endpoints (create, update, delete), publishing ticket events as
deliveries, attempting a delivery, retrying due ones, redelivering and test pings.

Deliveries are rows written in the transaction of the change that caused them; the delivery task is
queued with ``transaction.on_commit``, so a rolled-back change sends nothing. The HTTP request runs in the
task, outside any transaction, never in the web request that made the change (django-helpdesk does that).

A delivery attempt is claimed by bumping ``attempt_count`` from n-1 to n in one UPDATE, so an attempt runs
at most once however often its task is queued (the periodic job re-queues attempts whose task was lost).
"""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from cx.accounts.models import AccessLevel, User
from cx.accounts.services import require_access
from cx.core.audit import audit_record
from cx.core.errors import ValidationFailed
from cx.tickets.hooks import TicketChange
from cx.tickets.models import Message, Ticket
from cx.webhooks import protocol, transport
from cx.webhooks.models import (
    SUBSCRIBABLE_EVENTS,
    DeliveryStatus,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from cx.webhooks.tasks import deliver_webhook

SECRET_PREFIX = "whsec_"  # noqa: S105 - a public marker, not a secret
MAX_URL = 500
MAX_DESCRIPTION = 200
# A queued attempt that has not started after this long is queued again by the periodic job.
ENQUEUE_LEASE = timedelta(minutes=5)
RETRY_BATCH = 500
ENDPOINT_FIELDS = {"url", "description", "event_types", "is_active"}
_url_validator = URLValidator(schemes=["http", "https"])


# --- Endpoints ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class IssuedEndpoint:
    endpoint: WebhookEndpoint
    secret: str  # returned once, at creation


def _clean_url(url: Any) -> str:
    if not isinstance(url, str) or not url.strip():
        raise ValidationFailed("A webhook needs a URL.", fields={"url": "required"})
    url = url.strip()
    if len(url) > MAX_URL:
        raise ValidationFailed("The URL is too long.", fields={"url": f"at most {MAX_URL} characters"})
    try:
        _url_validator(url)
    except ValidationError:
        raise ValidationFailed("The URL is not valid.", fields={"url": "an http:// or https:// URL"}) from None
    return url


def _clean_event_types(event_types: Any) -> list[str]:
    if not isinstance(event_types, list) or not all(isinstance(e, str) for e in event_types):
        raise ValidationFailed("Event types must be a list.", fields={"event_types": "a list of event types"})
    unknown = [e for e in event_types if e not in SUBSCRIBABLE_EVENTS]
    if unknown:
        raise ValidationFailed("Unknown event type.", fields={
            "event_types": f"{', '.join(unknown)} unknown; use {', '.join(SUBSCRIBABLE_EVENTS)}"})
    cleaned = list(dict.fromkeys(event_types))
    if not cleaned:
        raise ValidationFailed("Subscribe to at least one event.", fields={"event_types": "at least one"})
    return cleaned


def _clean_description(description: Any) -> str:
    if not isinstance(description, str):
        raise ValidationFailed("The description must be text.", fields={"description": "must be a string"})
    description = description.strip()
    if len(description) > MAX_DESCRIPTION:
        raise ValidationFailed("The description is too long.",
                               fields={"description": f"at most {MAX_DESCRIPTION} characters"})
    return description


@transaction.atomic
def webhook_endpoint_create(*, actor: User, url: str, event_types: list[str], description: str = "",
                            token_scope: AccessLevel | None = None) -> IssuedEndpoint:
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    url = _clean_url(url)
    event_types = _clean_event_types(event_types)
    description = _clean_description(description)
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    endpoint = WebhookEndpoint.objects.create(url=url, event_types=event_types, description=description,
                                              secret=secret, created_by=actor)
    audit_record(actor=actor, action="webhook.created", target_type="webhook_endpoint", target_id=endpoint.pk,
                 data={"url": url, "event_types": event_types})
    return IssuedEndpoint(endpoint=endpoint, secret=secret)


@transaction.atomic
def webhook_endpoint_update(*, actor: User, endpoint: WebhookEndpoint, values: dict[str, Any],
                            token_scope: AccessLevel | None = None) -> WebhookEndpoint:
    """Change the URL, description, subscribed events or the active flag (never the secret)."""
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    unknown = set(values) - ENDPOINT_FIELDS
    if unknown:
        raise ValidationFailed("Unknown fields.", fields=dict.fromkeys(sorted(unknown), "unknown field"))
    cleaned: dict[str, Any] = {}
    if "url" in values:
        cleaned["url"] = _clean_url(values["url"])
    if "event_types" in values:
        cleaned["event_types"] = _clean_event_types(values["event_types"])
    if "description" in values:
        cleaned["description"] = _clean_description(values["description"])
    if "is_active" in values:
        if not isinstance(values["is_active"], bool):
            raise ValidationFailed("is_active must be true or false.", fields={"is_active": "true or false"})
        cleaned["is_active"] = values["is_active"]
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    changes = {name: [getattr(endpoint, name), value] for name, value in cleaned.items()
               if getattr(endpoint, name) != value}
    if changes:
        for name, (_, value) in changes.items():
            setattr(endpoint, name, value)
        endpoint.save(update_fields=[*changes, "updated_at"])
        audit_record(actor=actor, action="webhook.updated", target_type="webhook_endpoint",
                     target_id=endpoint.pk, data={"changes": changes})
    return endpoint


@transaction.atomic
def webhook_endpoint_delete(*, actor: User, endpoint: WebhookEndpoint,
                            token_scope: AccessLevel | None = None) -> None:
    """Remove the endpoint and its delivery log; queued attempts find nothing and stop."""
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    endpoint_id, url = endpoint.pk, endpoint.url
    deliveries = WebhookDelivery.objects.filter(endpoint_id=endpoint_id).count()
    WebhookEndpoint.objects.filter(pk=endpoint_id).delete()
    audit_record(actor=actor, action="webhook.deleted", target_type="webhook_endpoint", target_id=endpoint_id,
                 data={"url": url, "deliveries_deleted": deliveries})


# --- Publishing events ------------------------------------------------------------------------------------

def _queue_attempt_on_commit(delivery: WebhookDelivery) -> None:
    transaction.on_commit(partial(deliver_webhook.enqueue, delivery_id=delivery.pk,
                                  attempt=delivery.attempt_count + 1))


def _new_delivery(*, endpoint: WebhookEndpoint, event_id: uuid.UUID, event_type: str, payload: dict,
                  redelivery_of: WebhookDelivery | None = None) -> WebhookDelivery:
    return WebhookDelivery(endpoint=endpoint, event_id=event_id, event_type=event_type, payload=payload,
                           next_attempt_at=timezone.now() + ENQUEUE_LEASE, redelivery_of=redelivery_of)


@transaction.atomic
def webhook_event_publish(*, event_type: str, data: dict[str, Any]) -> list[WebhookDelivery]:
    """Queue one event for every active endpoint subscribed to it; sent after the caller commits."""
    if event_type not in SUBSCRIBABLE_EVENTS:
        raise ValidationFailed("Unknown event type.", fields={"event_type": f"one of {', '.join(SUBSCRIBABLE_EVENTS)}"})
    endpoints = [e for e in WebhookEndpoint.objects.filter(is_active=True) if event_type in e.event_types]
    if not endpoints:
        return []
    event_id = uuid.uuid4()
    payload = {"id": str(event_id), "type": event_type, "created_at": timezone.now().isoformat(), "data": data}
    deliveries = WebhookDelivery.objects.bulk_create(
        [_new_delivery(endpoint=e, event_id=event_id, event_type=event_type, payload=payload) for e in endpoints])
    for delivery in deliveries:
        _queue_attempt_on_commit(delivery)
    return deliveries


@transaction.atomic
def webhook_ping(*, actor: User, endpoint: WebhookEndpoint, token_scope: AccessLevel | None = None
                 ) -> WebhookDelivery:
    """A test delivery (type ``ping``) to one endpoint, through the same queue, signing and retries."""
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    event_id = uuid.uuid4()
    payload = {"id": str(event_id), "type": WebhookEvent.PING, "created_at": timezone.now().isoformat(),
               "data": {"endpoint_id": endpoint.pk, "requested_by": actor.get_username()}}
    delivery = _new_delivery(endpoint=endpoint, event_id=event_id, event_type=WebhookEvent.PING, payload=payload)
    delivery.save()
    _queue_attempt_on_commit(delivery)
    return delivery


@transaction.atomic
def webhook_redeliver(*, actor: User, delivery: WebhookDelivery, token_scope: AccessLevel | None = None
                      ) -> WebhookDelivery:
    """Send an event again as a new delivery with the same event id and body (receivers can de-duplicate)."""
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    again = _new_delivery(endpoint=delivery.endpoint, event_id=delivery.event_id, event_type=delivery.event_type,
                          payload=delivery.payload, redelivery_of=delivery)
    again.save()
    audit_record(actor=actor, action="webhook.redelivered", target_type="webhook_endpoint",
                 target_id=delivery.endpoint_id, data={"delivery_id": delivery.pk, "new_delivery_id": again.pk})
    _queue_attempt_on_commit(again)
    return again


# --- Delivering -------------------------------------------------------------------------------------------

def _finish(delivery_id: int, attempt: int, **fields: Any) -> None:
    # Only the attempt that claimed the row may record its outcome.
    WebhookDelivery.objects.filter(pk=delivery_id, attempt_count=attempt, status=DeliveryStatus.PENDING).update(
        updated_at=timezone.now(), **fields)


def webhook_delivery_attempt(*, delivery_id: int, attempt: int) -> WebhookDelivery | None:
    """Make attempt number ``attempt`` of a delivery; None if it is not due (already made, finished or gone).

    On a 2xx answer the delivery succeeded; otherwise the next attempt is scheduled after the back-off in
    ``protocol.RETRY_DELAYS`` and, after ``protocol.MAX_ATTEMPTS``, the delivery failed.
    """
    now = timezone.now()
    delay = protocol.retry_delay(attempt) or timedelta(0)
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status=DeliveryStatus.PENDING, attempt_count=attempt - 1,
    ).update(attempt_count=F("attempt_count") + 1, last_attempt_at=now, updated_at=now,
             next_attempt_at=now + delay + ENQUEUE_LEASE)
    if not claimed:
        return None
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    endpoint = delivery.endpoint
    if not endpoint.is_active:
        _finish(delivery_id, attempt, status=DeliveryStatus.FAILED, next_attempt_at=None, completed_at=now,
                last_error="The endpoint is disabled.")
        return WebhookDelivery.objects.get(pk=delivery_id)
    body = protocol.encode_body(delivery.payload)
    timestamp = int(time.time())
    headers = protocol.headers(event_type=delivery.event_type, event_id=str(delivery.event_id), timestamp=timestamp,
                               signature=protocol.sign(secret=endpoint.secret, timestamp=timestamp, body=body))
    started = time.monotonic()
    result = transport.post(url=endpoint.url, body=body, headers=headers)
    finished = timezone.now()
    outcome: dict[str, Any] = {
        "response_code": result.status, "response_body": result.body_excerpt, "last_error": result.error,
        "duration_ms": int((time.monotonic() - started) * 1000),
    }
    if result.ok:
        outcome.update(status=DeliveryStatus.SUCCEEDED, next_attempt_at=None, completed_at=finished)
    else:
        retry_in = protocol.retry_delay(attempt)
        if retry_in is None:
            outcome.update(status=DeliveryStatus.FAILED, next_attempt_at=None, completed_at=finished)
        else:
            outcome.update(next_attempt_at=finished + retry_in)
    _finish(delivery_id, attempt, **outcome)
    return WebhookDelivery.objects.get(pk=delivery_id)


def webhook_retries_enqueue_due(now: datetime | None = None) -> int:
    """The periodic job: queue the next attempt of every pending delivery that is due (a retry whose
    back-off has passed, or an attempt whose task was lost). Returns how many were queued."""
    now = now or timezone.now()
    queued = 0
    with transaction.atomic():
        due = list(WebhookDelivery.objects.select_for_update(skip_locked=True)
                   .filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
                   .order_by("next_attempt_at")[:RETRY_BATCH])
        for delivery in due:
            if delivery.attempt_count >= protocol.MAX_ATTEMPTS:
                # The last attempt was claimed but never recorded (the worker died mid-request).
                delivery.status = DeliveryStatus.FAILED
                delivery.next_attempt_at = None
                delivery.completed_at = now
                delivery.last_error = delivery.last_error or "The last attempt did not finish."
                delivery.save(update_fields=["status", "next_attempt_at", "completed_at", "last_error",
                                             "updated_at"])
                continue
            delivery.next_attempt_at = now + ENQUEUE_LEASE
            delivery.save(update_fields=["next_attempt_at", "updated_at"])
            _queue_attempt_on_commit(delivery)
            queued += 1
    return queued


# --- The tickets observer ---------------------------------------------------------------------------------

def _ticket_data(ticket: Ticket) -> dict[str, Any]:
    return {
        "id": ticket.pk,
        "subject": ticket.subject,
        "status": ticket.status.name,
        "status_category": ticket.status_category,
        "priority": ticket.priority,
        "ticket_type": ticket.ticket_type,
        "channel": ticket.channel,
        "requester": {"id": ticket.requester_id, "name": ticket.requester.name},
        "organization_id": ticket.organization_id,
        "assignee_id": ticket.assignee_id,
        "team_id": ticket.team_id,
        "tags": sorted(t.name for t in ticket.tags.all()),
        "custom_fields": ticket.custom_fields,
        "due_at": ticket.due_at.isoformat() if ticket.due_at else None,
        "created_at": ticket.created_at.isoformat(),
        "updated_at": ticket.updated_at.isoformat(),
        "merged_into_id": ticket.merged_into_id,
    }


def _message_data(message_id: int | None) -> dict[str, Any] | None:
    if message_id is None:
        return None
    message = Message.objects.filter(pk=message_id).first()
    if message is None:
        return None
    return {"id": message.pk, "visibility": message.visibility, "author_type": message.author_type,
            "author_agent_id": message.author_agent_id, "author_customer_id": message.author_customer_id,
            "channel": message.channel, "body_text": message.body_text, "created_at": message.created_at.isoformat(),
            "attachments": [{"filename": a.filename, "content_type": a.content_type, "size": a.size}
                            for a in message.attachments.all()]}


def webhooks_on_ticket_change(change: TicketChange) -> None:
    """Turn a ticket change into a ``ticket.<event>`` delivery for each subscribed endpoint."""
    event_type = f"ticket.{change.event}"
    if event_type not in SUBSCRIBABLE_EVENTS:
        return
    if not any(event_type in e for e in WebhookEndpoint.objects.filter(is_active=True)
               .values_list("event_types", flat=True)):
        return
    ticket = (Ticket.objects.select_related("status", "requester").prefetch_related("tags")
              .filter(pk=change.ticket_id).first())
    if ticket is None:
        return
    data = {
        "ticket": _ticket_data(ticket),
        "actor": {"type": "agent", "id": change.actor_id} if change.actor_id else {"type": "system", "id": None},
        "changes": change.changes,
        "message": _message_data(change.message_id),
        "by_automation": change.automation_depth > 0,
    }
    if change.event == "customer_replied" or (change.event == "created" and change.actor_id is None):
        data["actor"] = {"type": "customer", "id": ticket.requester_id}
    webhook_event_publish(event_type=event_type, data=data)
