"""API shapes for webhooks. The secret appears only in the response that creates the endpoint."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from ninja import Field, Schema
from pydantic import ConfigDict

from cx.webhooks.models import SUBSCRIBABLE_EVENTS

EventType = Literal[SUBSCRIBABLE_EVENTS]  # type: ignore[valid-type]


class WebhookOut(Schema):
    """An endpoint as admins see it later: never the secret."""

    id: int
    url: str
    description: str
    event_types: list[str]
    is_active: bool
    created_at: datetime
    updated_at: datetime
    pending_deliveries: int = 0
    failed_deliveries: int = 0


class WebhookCreatedOut(WebhookOut):
    secret: str = Field(description="The signing secret, shown only in this response. Store it now.")


class WebhookIn(Schema):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=500, description="http:// or https:// URL that receives POSTs.")
    event_types: list[EventType] = Field(min_length=1, max_length=20)
    description: str = Field("", max_length=200)


class DeliveryOut(Schema):
    id: int
    event_id: UUID = Field(description="Sent as X-Cxdesk-Delivery; the same for a redelivery of the event.")
    event_type: str
    status: Literal["pending", "succeeded", "failed"]
    attempt_count: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    response_code: int | None
    response_body: str = Field(description="The first 1 KB of the last answer.")
    last_error: str
    duration_ms: int | None
    redelivery_of_id: int | None
    created_at: datetime
    completed_at: datetime | None
    payload: dict


class DeliveryPageOut(Schema):
    results: list[DeliveryOut]
    next: str | None
