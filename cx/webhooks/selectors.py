"""Reads for webhooks (admins only): endpoints and their delivery log."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet

from cx.accounts.models import AccessLevel, User
from cx.accounts.services import require_access
from cx.core.errors import NotFound, ValidationFailed
from cx.core.pagination import cursor_decode, cursor_encode
from cx.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

MAX_PAGE_SIZE = 100


def webhook_endpoint_list(*, actor: User, token_scope: AccessLevel | None = None) -> QuerySet[WebhookEndpoint]:
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    return WebhookEndpoint.objects.annotate(
        failed_deliveries=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.FAILED)),
        pending_deliveries=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.PENDING)),
    ).order_by("id")


def webhook_endpoint_get_for(*, actor: User, endpoint_id: int, token_scope: AccessLevel | None = None
                             ) -> WebhookEndpoint:
    endpoint = webhook_endpoint_list(actor=actor, token_scope=token_scope).filter(pk=endpoint_id).first()
    if endpoint is None:
        raise NotFound(f"No webhook with id {endpoint_id}.")
    return endpoint


@dataclass(frozen=True)
class DeliveryPage:
    items: list[WebhookDelivery]
    next_cursor: str | None


def webhook_delivery_page(*, actor: User, endpoint: WebhookEndpoint, status: str | None = None,
                          cursor: str | None = None, limit: int = 50,
                          token_scope: AccessLevel | None = None) -> DeliveryPage:
    """The endpoint's delivery log, newest first, with a keyset cursor (one query whatever the size)."""
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValidationFailed("Page size out of range.", fields={"limit": f"1 to {MAX_PAGE_SIZE}"})
    qs = WebhookDelivery.objects.filter(endpoint=endpoint)
    if status:
        if status not in DeliveryStatus.values:
            raise ValidationFailed("Unknown status.", fields={"status": f"one of {', '.join(DeliveryStatus.values)}"})
        qs = qs.filter(status=status)
    if cursor:
        (last_id,) = cursor_decode(cursor, size=1)
        if isinstance(last_id, bool) or not isinstance(last_id, int):
            raise ValidationFailed("The cursor is not valid.", fields={"cursor": "malformed cursor"})
        qs = qs.filter(pk__lt=last_id)
    rows = list(qs.order_by("-id")[: limit + 1])
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = cursor_encode([rows[-1].pk])
    return DeliveryPage(items=rows, next_cursor=next_cursor)


def webhook_delivery_get_for(*, actor: User, endpoint: WebhookEndpoint, delivery_id: int,
                             token_scope: AccessLevel | None = None) -> WebhookDelivery:
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    delivery = WebhookDelivery.objects.select_related("endpoint").filter(pk=delivery_id, endpoint=endpoint).first()
    if delivery is None:
        raise NotFound(f"No delivery with id {delivery_id} for webhook {endpoint.pk}.")
    return delivery
