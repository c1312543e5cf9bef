"""API shapes for chat inboxes and conversations. In-schemas refuse unknown fields and leave value checks
to the services (so the API and the admin pages give the same reasons)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Field, Schema
from pydantic import ConfigDict


class _In(Schema):
    model_config = ConfigDict(extra="forbid")


class ChatInboxIn(_In):
    """Only the fields sent are set (``name`` is required on create)."""

    name: Any = None
    is_active: Any = None
    greeting: Any = None
    offline_message: Any = None
    colour: Any = Field(None, description="#rrggbb")
    allowed_origins: Any = Field(None, description="Origins whose pages may load the widget; empty = any.")
    pre_chat_fields: Any = Field(None, description='[{"name", "label", "type", "required", "options"}]')
    calendar_id: Any = Field(None, description="A business calendar (SLA calendars); null = always staffed.")
    team_id: Any = Field(None, description="The team new chats go to; null = any online agent.")
    agent_chat_limit: Any = Field(None, description="Concurrent chats per agent (1-20); feeds routing capacity.")


class ChatInboxOut(Schema):
    id: int
    name: str
    widget_key: str
    is_active: bool
    greeting: str
    offline_message: str
    colour: str
    allowed_origins: list[str]
    pre_chat_fields: list[dict]
    calendar_id: int | None
    team_id: int | None
    agent_chat_limit: int
    secret_rotated_at: datetime
    created_at: datetime
    updated_at: datetime


class ChatInboxCreatedOut(ChatInboxOut):
    identity_secret: str = Field(description="Shown once: store it on the server that signs visitor identities.")


class ChatTransferIn(_In):
    agent_id: Any = None
    team_id: Any = None


class ChatConversationOut(Schema):
    id: int
    inbox_id: int
    ticket_id: int
    status: str
    agent_id: int | None
    visitor_id: int
    pre_chat: dict
    accepted_at: datetime | None
    ended_at: datetime | None
    ended_by: str
    created_at: datetime


class ChatQueueOut(Schema):
    waiting: list[ChatConversationOut]
    mine: list[ChatConversationOut]
    others: list[ChatConversationOut]
