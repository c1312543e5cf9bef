"""API shapes for business calendars, SLA policies and a ticket's SLA. Values are checked by the services,
which name the field and the reason (e.g. ``weekly_hours.monday``, ``targets.0.minutes``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ninja import Field, Schema
from pydantic import ConfigDict

WEEKLY_HOURS_HELP = ('Local opening hours per weekday, e.g. {"monday": [["09:00", "17:00"]], "saturday": []}; '
                     "weekdays as monday..sunday, mon..sun or 0..6 (0 = Monday); 24:00 ends at midnight.")


class _In(Schema):
    model_config = ConfigDict(extra="forbid")


class HolidayIn(_In):
    name: str = Field("", max_length=100)
    date: date


class HolidayOut(Schema):
    name: str
    date: date


class CalendarIn(_In):
    name: str = Field(max_length=100)
    time_zone: str = Field("UTC", max_length=64, description="An IANA zone name such as Europe/Berlin.")
    weekly_hours: dict[str, Any] = Field(description=WEEKLY_HOURS_HELP)
    holidays: list[HolidayIn] = Field(default_factory=list, description="Whole local dates when the clock stops.")


class CalendarPatchIn(_In):
    name: str | None = Field(None, max_length=100)
    time_zone: str | None = Field(None, max_length=64)
    weekly_hours: dict[str, Any] | None = Field(None, description=WEEKLY_HOURS_HELP)
    holidays: list[HolidayIn] | None = Field(None, description="Replaces the whole list.")


class CalendarOut(Schema):
    id: int
    name: str
    time_zone: str
    weekly_hours: dict[str, list[list[str]]]
    holidays: list[HolidayOut]
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_holidays(obj) -> list:
        return list(obj.holidays.all())


class TargetIn(_In):
    priority: str = Field(description="low, normal, high or urgent")
    metric: str = Field(description="first_response, next_response or resolution")
    minutes: int = Field(description="Business minutes when the policy has a calendar, else elapsed minutes.")


class TargetOut(Schema):
    priority: str
    metric: str
    minutes: int


class _PolicyFields(_In):
    description: str = Field("", max_length=2000)
    position: int | None = Field(None, description="Lower goes first; default: after the last policy.")
    is_active: bool = True
    priorities: list[str] = Field(default_factory=list, description="Empty matches every priority.")
    organization_ids: list[int] = Field(default_factory=list, description="Empty matches every organisation.")
    customer_segments: list[str] = Field(default_factory=list,
                                         description="Matched against ticket tags (any one); empty matches all.")
    channels: list[str] = Field(default_factory=list, description="Empty matches every channel.")
    calendar_id: int | None = Field(None, description="Business calendar; null measures 24/7.")
    pause_on_pending: bool = True
    pause_on_hold: bool = True
    warn_before_minutes: int = Field(60, description="Warn this long before a due time; 0 = no warning.")
    escalate_notify: bool = True
    escalate_priority: str = Field("", description="On breach, raise the priority to this (never lower it).")
    escalate_team_id: int | None = Field(None, description="On breach, move the ticket to this team.")
    escalate_assignee_id: int | None = Field(None, description="On breach, assign the ticket to this agent.")
    targets: list[TargetIn] = Field(default_factory=list)


class PolicyIn(_PolicyFields):
    name: str = Field(max_length=100)


class PolicyPatchIn(_In):
    name: str | None = Field(None, max_length=100)
    description: str | None = Field(None, max_length=2000)
    position: int | None = None
    is_active: bool | None = None
    priorities: list[str] | None = None
    organization_ids: list[int] | None = None
    customer_segments: list[str] | None = None
    channels: list[str] | None = None
    calendar_id: int | None = None
    pause_on_pending: bool | None = None
    pause_on_hold: bool | None = None
    warn_before_minutes: int | None = None
    escalate_notify: bool | None = None
    escalate_priority: str | None = None
    escalate_team_id: int | None = None
    escalate_assignee_id: int | None = None
    targets: list[TargetIn] | None = Field(None, description="Replaces all targets.")


class PolicyOut(Schema):
    id: int
    name: str
    description: str
    position: int
    is_active: bool
    priorities: list[str]
    organization_ids: list[int]
    customer_segments: list[str]
    channels: list[str]
    calendar_id: int | None
    pause_on_pending: bool
    pause_on_hold: bool
    warn_before_minutes: int
    escalate_notify: bool
    escalate_priority: str
    escalate_team_id: int | None
    escalate_assignee_id: int | None
    targets: list[TargetOut]
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_targets(obj) -> list:
        return list(obj.targets.all())


class PolicyBriefOut(Schema):
    id: int
    name: str


class SlaClockOut(Schema):
    id: int
    metric: str
    state: str = Field(description="running, paused, breached, achieved, achieved_late or no_target")
    started_at: datetime
    due_at: datetime | None
    achieved_at: datetime | None
    breached_at: datetime | None
    paused_intervals: list[list[datetime | None]] = Field(description="[start, end]; end null while paused")
    business_seconds_left: int | None = Field(description="Business time left while running")
    warning_sent_at: datetime | None
    escalated_at: datetime | None


class SlaEventOut(Schema):
    metric: str
    kind: str
    at: datetime
    detail: dict[str, Any]


class TicketSlaOut(Schema):
    ticket_id: int
    policy: PolicyBriefOut | None
    state: str = Field(description="none, running, paused, breached, met or missed")
    next_due_at: datetime | None
    breached_at: datetime | None
    headline: SlaClockOut | None = Field(description="The target the badge shows")
    clocks: list[SlaClockOut]
    events: list[SlaEventOut]
