"""API shapes for the customer timeline. Touchpoint kinds and channels are checked by the service."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ninja import Field, Schema
from pydantic import AwareDatetime, ConfigDict, field_validator

from cx.journeys.models import Stage


class TouchpointIn(Schema):
    model_config = ConfigDict(extra="forbid")

    kind: str = Field(max_length=100, description="Lower-case words joined by . _ - or :, e.g. order.completed.")
    channel: str = Field(max_length=32, description="Lower-case word, e.g. email, chat, web, shop.")
    stage: Stage
    occurred_at: AwareDatetime | None = Field(None, description="With a time zone; defaults to now.")
    properties: dict[str, Any] = Field(default_factory=dict)
    external_id: str = Field("", max_length=128,
                             description="Idempotency key: sending the same id again returns the first touchpoint.")

    @field_validator("occurred_at")
    @classmethod
    def _in_utc(cls, value: datetime | None) -> datetime | None:
        # Stored and answered in UTC whatever offset the sender used, like every other time in the API.
        return value.astimezone(UTC) if value is not None else None


class TouchpointOut(Schema):
    id: int
    customer_id: int
    kind: str
    channel: str
    stage: str
    occurred_at: datetime
    recorded_at: datetime
    properties: dict[str, Any]
    source: str
    external_id: str


class TimelinePageOut(Schema):
    next: str | None = Field(description="Pass as `cursor` for older touchpoints; null when there are none.")
    results: list[TouchpointOut]
