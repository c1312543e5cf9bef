"""API shapes of playbooks. In-schemas refuse unknown fields; conditions and actions arrive as plain JSON and
are checked by the services, which name the failing path (``conditions[0].op``, ``actions[1].body``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Field, Schema
from pydantic import ConfigDict

CONDITIONS_HELP = ('[{"field": "event_count", "event": "checkout_failed", "window_hours": 24, "op": ">=", '
                   '"value": 2}, ...]; see GET /api/v1/playbooks/reference')
ACTIONS_HELP = '[{"type": "create_ticket", "subject": ..., "body": ...}, ...]; see GET /api/v1/playbooks/reference'


class _In(Schema):
    model_config = ConfigDict(extra="forbid")


class PlaybookIn(_In):
    name: str
    description: str = ""
    is_active: bool = True
    trigger_kind: str = Field("event", description="event, ticket, survey or sweep")
    trigger_event: str = Field("", description="event: tracked event name; ticket: e.g. ticket.created; "
                                               "survey: nps/csat/ces")
    match: str = Field("all", description="all or any")
    conditions: list[Any] = Field(default_factory=list, description=CONDITIONS_HELP)
    actions: list[Any] = Field(description=ACTIONS_HELP)
    cooldown_days: int = Field(7, description="At most one contact per customer per this many days (0: no limit)")
    holdout_percent: int = Field(10, description="Matching customers deterministically held out (0-50)")
    goal_kind: str = Field("event", description="event or not_churned")
    goal_event: str = "Order Completed"
    goal_window_days: int = 14
    owner_id: int | None = None


class PlaybookPatchIn(_In):
    name: str = None
    description: str = None
    is_active: bool = None
    trigger_kind: str = None
    trigger_event: str = None
    match: str = None
    conditions: list[Any] = Field(None, description=CONDITIONS_HELP)
    actions: list[Any] = Field(None, description=ACTIONS_HELP)
    cooldown_days: int = None
    holdout_percent: int = None
    goal_kind: str = None
    goal_event: str = None
    goal_window_days: int = None
    owner_id: int | None = None


class PlaybookOut(Schema):
    id: int
    name: str
    description: str
    is_active: bool
    trigger_kind: str
    trigger_event: str
    match: str
    conditions: list[dict[str, Any]]
    actions: list[dict[str, Any]]
    cooldown_days: int
    holdout_percent: int
    goal_kind: str
    goal_event: str
    goal_window_days: int
    owner_id: int | None
    created_at: datetime
    updated_at: datetime


class RunOut(Schema):
    id: int
    playbook_id: int
    customer_id: int
    status: str
    reason: str
    trigger: str
    trigger_key: str
    contacted: bool
    results: list[dict[str, Any]]
    created_at: datetime


class GroupOut(Schema):
    n: int
    reached: int
    rate: float | None
    ci_low: float | None
    ci_high: float | None


class OutcomeOut(Schema):
    goal: str
    window_days: int
    contacted: GroupOut
    holdout: GroupOut
    difference: float | None = Field(description="Percentage points, contacted minus holdout")
    ci_low: float | None
    ci_high: float | None
    significant: bool
    pending_contacted: int
    pending_holdout: int
    counts: dict[str, int]


class RunNowIn(_In):
    customer_id: int


class SettingsIn(_In):
    max_contacts: int = None
    window_days: int = None


class SettingsOut(Schema):
    max_contacts: int
    window_days: int


class TagIn(_In):
    tag: str
