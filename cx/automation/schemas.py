"""API shapes for triggers, time rules and macros.

In-schemas refuse unknown fields. Conditions and actions arrive as plain JSON and are checked by the
services, which name the exact failing path (``conditions.all[1].op``, ``actions[0].tags``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Field, Schema
from pydantic import ConfigDict

CONDITIONS_HELP = ('{"all": [{"field": ..., "op": ..., "value": ...}], "any": [...]}: every condition of all '
                   "and, if any is not empty, one of any. See GET /api/v1/automation/reference.")
ACTIONS_HELP = 'A list like [{"type": "add_tags", "tags": ["vip"]}]. See GET /api/v1/automation/reference.'


class _In(Schema):
    model_config = ConfigDict(extra="forbid")


class TriggerIn(_In):
    name: str
    description: str = ""
    position: int | None = Field(None, description="Order of evaluation (lower first); default: last.")
    is_active: bool = True
    conditions: dict[str, Any] = Field(description=CONDITIONS_HELP)
    actions: list[Any] = Field(description=ACTIONS_HELP)
    fire_once_per_ticket: bool = False


class TriggerPatchIn(_In):
    """Only the fields sent are changed."""

    name: str = None
    description: str = None
    position: int = None
    is_active: bool = None
    conditions: dict[str, Any] = Field(None, description=CONDITIONS_HELP)
    actions: list[Any] = Field(None, description=ACTIONS_HELP)
    fire_once_per_ticket: bool = None


class TriggerOut(Schema):
    id: int
    name: str
    description: str
    position: int
    is_active: bool
    conditions: dict[str, Any]
    actions: list[dict[str, Any]]
    fire_once_per_ticket: bool
    created_at: datetime
    updated_at: datetime


class TimeRuleIn(_In):
    name: str
    description: str = ""
    position: int | None = None
    is_active: bool = True
    conditions: dict[str, Any] = Field(description=CONDITIONS_HELP + " Needs an hours_* condition in all.")
    actions: list[Any] = Field(description=ACTIONS_HELP)


class TimeRulePatchIn(_In):
    name: str = None
    description: str = None
    position: int = None
    is_active: bool = None
    conditions: dict[str, Any] = None
    actions: list[Any] = None


class TimeRuleOut(Schema):
    id: int
    name: str
    description: str
    position: int
    is_active: bool
    conditions: dict[str, Any]
    actions: list[dict[str, Any]]
    created_at: datetime
    updated_at: datetime


class MacroIn(_In):
    name: str
    description: str = ""
    actions: list[Any] = Field(description=ACTIONS_HELP)
    shared: bool = Field(False, description="Shared with everyone (admins only); otherwise your personal macro.")
    team_id: int | None = Field(None, description="A shared macro only this team's members see.")
    is_active: bool = True
    position: int | None = None


class MacroPatchIn(_In):
    name: str = None
    description: str = None
    actions: list[Any] = None
    team_id: int | None = None
    is_active: bool = None
    position: int = None


class MacroOut(Schema):
    id: int
    name: str
    description: str
    actions: list[dict[str, Any]]
    shared: bool
    owner_id: int | None
    team_id: int | None
    is_active: bool
    position: int
    applied_count: int
    last_applied_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_shared(obj) -> bool:
        return obj.owner_id is None


class MacroApplyOut(Schema):
    ticket_id: int
    macro_id: int
    changes: dict[str, Any] = Field(description="The ticket fields the macro changed (new values).")
    message_ids: list[int] = Field(description="Replies and notes the macro added.")
    notified_ids: list[int] = Field(description="Agents who were notified.")


class ReferenceOut(Schema):
    fields: dict[str, list[str]] = Field(description="Condition field -> operators it takes.")
    custom_fields: dict[str, list[str]] = Field(description="custom_fields.<key> -> operators.")
    actions: dict[str, str]
    placeholders: dict[str, str]
