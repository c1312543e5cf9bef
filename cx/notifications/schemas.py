"""API shapes for notifications and preferences. In-schemas refuse unknown fields."""

from __future__ import annotations

from datetime import datetime

from ninja import Field, Schema
from pydantic import ConfigDict

from cx.notifications.models import Notification, NotificationKind
from cx.notifications.selectors import notification_link


class NotificationOut(Schema):
    id: int
    kind: str
    title: str
    body: str
    ticket_id: int | None
    url: str = Field(description="Where the notification points (a path in cxdesk or a URL); may be empty.")
    created_at: datetime
    read_at: datetime | None

    @staticmethod
    def resolve_url(obj: Notification) -> str:
        return notification_link(obj)


class NotificationPageOut(Schema):
    results: list[NotificationOut]
    next: str | None = Field(description="Pass as `cursor` for the next (older) page; null on the last page.")
    unread_count: int


class MarkedOut(Schema):
    marked: int


class PreferenceOut(Schema):
    kind: str
    label: str
    in_app: bool
    email: bool


class PreferenceIn(Schema):
    model_config = ConfigDict(extra="forbid")

    kind: NotificationKind
    in_app: bool = Field(strict=True)
    email: bool = Field(strict=True)


class PreferencesIn(Schema):
    model_config = ConfigDict(extra="forbid")

    preferences: list[PreferenceIn] = Field(
        description="The kinds to set; kinds not listed keep their current setting.", max_length=50)
