"""Webhook endpoints (where to POST which ticket events) and the delivery log (one row per event and
endpoint, with every attempt's outcome)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class WebhookEvent(models.TextChoices):
    TICKET_CREATED = "ticket.created", "A ticket was created"
    TICKET_UPDATED = "ticket.updated", "A ticket's properties changed"
    TICKET_REPLIED = "ticket.replied", "An agent replied publicly"
    TICKET_NOTED = "ticket.noted", "An agent added an internal note"
    TICKET_CUSTOMER_REPLIED = "ticket.customer_replied", "The customer replied"
    TICKET_MERGED = "ticket.merged", "A ticket was merged into another"
    PING = "ping", "Test delivery"


SUBSCRIBABLE_EVENTS = tuple(e for e in WebhookEvent.values if e != WebhookEvent.PING)


class WebhookEndpoint(models.Model):
    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    # Kept in plain text because every delivery is signed with it; shown to the admin once, at creation.
    secret = models.CharField(max_length=100)
    event_types = models.JSONField(default=list)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.description or self.url


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class WebhookDelivery(models.Model):
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    # The event's id (sent as X-Cxdesk-Delivery); a redelivery repeats it so receivers can drop duplicates.
    event_id = models.UUIDField(default=uuid.uuid4, db_index=True)
    event_type = models.CharField(max_length=40, choices=WebhookEvent.choices)
    payload = models.JSONField(encoder=DjangoJSONEncoder)
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempt_count = models.PositiveSmallIntegerField(default=0)
    # When the next attempt is due (pending only). Also a lease: a queued attempt that never ran is
    # re-queued by the periodic job once this passes.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.CharField(max_length=1024, blank=True)  # the first 1 KB of the last answer
    last_error = models.CharField(max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    redelivery_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due_idx"),
            models.Index(fields=["endpoint", "-id"], name="webhook_delivery_endpoint_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.endpoint_id} ({self.status})"
