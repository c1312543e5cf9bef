"""The dashboards' period and filters, parsed from a query string (pages and API share this parser).

A period is a half-open range of whole local days ``[start, end)``: the presets are the last 7, 30 or 90 days
including today; a custom range gives its first and last day (both included). Its previous period is the
range of equal length right before it. Anything unparseable is a ValidationFailed naming the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from cx.accounts.models import Team, User
from cx.core.errors import ValidationFailed
from cx.tickets.models import Channel, Priority

PRESETS = ("7", "30", "90")
DEFAULT_PRESET = "30"
MAX_DAYS = 731
BREAKDOWNS = {"agent": "Agent", "team": "Team", "channel": "Channel", "priority": "Priority"}
DEFAULT_BREAKDOWN = "channel"


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime
    preset: str  # "7", "30", "90" or "custom"

    @property
    def days(self) -> int:
        return round((self.end - self.start) / timedelta(days=1))

    @property
    def first_day(self) -> date:
        return timezone.localtime(self.start).date()

    @property
    def last_day(self) -> date:
        return timezone.localtime(self.end).date() - timedelta(days=1)

    @property
    def label(self) -> str:
        return f"{self.first_day.isoformat()} - {self.last_day.isoformat()}"

    def previous(self) -> Period:
        length = self.end - self.start
        return Period(start=self.start - length, end=self.start, preset=self.preset)

    def as_dict(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "first_day": self.first_day.isoformat(),
                "last_day": self.last_day.isoformat(), "days": str(self.days)}


def _midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(0, 0)))


def period_for_days(first_day: date, last_day: date, preset: str = "custom") -> Period:
    return Period(start=_midnight(first_day), end=_midnight(last_day + timedelta(days=1)), preset=preset)


def period_from(params: Mapping[str, str], *, now: datetime | None = None) -> Period:
    """``period`` = 7 | 30 | 90 (default 30) or custom with ``from`` and ``to`` (YYYY-MM-DD, inclusive)."""
    today = timezone.localtime(now or timezone.now()).date()
    preset = (params.get("period") or "").strip() or (
        "custom" if params.get("from") or params.get("to") else DEFAULT_PRESET)
    if preset in PRESETS:
        days = int(preset)
        return period_for_days(today - timedelta(days=days - 1), today, preset)
    if preset != "custom":
        raise ValidationFailed("The period is invalid.", fields={"period": "one of 7, 30, 90 or custom"})
    errors: dict[str, str] = {}
    parsed: dict[str, date] = {}
    for name in ("from", "to"):
        raw = (params.get(name) or "").strip()
        if not raw:
            errors[name] = "required for a custom range (YYYY-MM-DD)"
            continue
        try:
            parsed[name] = date.fromisoformat(raw)
        except ValueError:
            errors[name] = "a date like 2026-01-31"
    if not errors:
        if parsed["to"] < parsed["from"]:
            errors["to"] = "on or after the start date"
        elif (parsed["to"] - parsed["from"]).days + 1 > MAX_DAYS:
            errors["to"] = f"at most {MAX_DAYS} days after the start date"
    if errors:
        raise ValidationFailed("The date range is invalid.", fields=errors)
    return period_for_days(parsed["from"], parsed["to"])


@dataclass(frozen=True)
class ServiceFilters:
    """Which tickets the service figures cover: the current assignee, team, channel and priority."""

    agent_id: int | None = None
    team_id: int | None = None
    channel: str = ""
    priority: str = ""

    def ticket_filter(self, prefix: str = "") -> dict[str, object]:
        """Keyword filters for a queryset reaching tickets through ``prefix`` (e.g. "ticket__")."""
        out: dict[str, object] = {f"{prefix}merged_into__isnull": True}
        if self.agent_id is not None:
            out[f"{prefix}assignee_id"] = self.agent_id
        if self.team_id is not None:
            out[f"{prefix}team_id"] = self.team_id
        if self.channel:
            out[f"{prefix}channel"] = self.channel
        if self.priority:
            out[f"{prefix}priority"] = self.priority
        return out

    def as_dict(self) -> dict[str, object]:
        return {"agent": self.agent_id, "team": self.team_id, "channel": self.channel or None,
                "priority": self.priority or None}


def _id(params: Mapping[str, str], name: str, errors: dict[str, str]) -> int | None:
    raw = (params.get(name) or "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        errors[name] = "an id (whole number)"
        return None
    if value <= 0:
        errors[name] = "an id (whole number)"
        return None
    return value


def filters_from(params: Mapping[str, str]) -> ServiceFilters:
    errors: dict[str, str] = {}
    agent_id = _id(params, "agent", errors)
    team_id = _id(params, "team", errors)
    channel = (params.get("channel") or "").strip()
    priority = (params.get("priority") or "").strip()
    if channel and channel not in Channel.values:
        errors["channel"] = f"one of {', '.join(Channel.values)}"
    if priority and priority not in Priority.values:
        errors["priority"] = f"one of {', '.join(Priority.values)}"
    if agent_id is not None and not User.objects.filter(pk=agent_id, is_system=False).exists():
        errors["agent"] = f"no agent with id {agent_id}"
    if team_id is not None and not Team.objects.filter(pk=team_id).exists():
        errors["team"] = f"no team with id {team_id}"
    if errors:
        raise ValidationFailed("The filters are invalid.", fields=errors)
    return ServiceFilters(agent_id=agent_id, team_id=team_id, channel=channel, priority=priority)


def breakdown_from(params: Mapping[str, str]) -> str:
    value = (params.get("breakdown") or "").strip() or DEFAULT_BREAKDOWN
    if value not in BREAKDOWNS:
        raise ValidationFailed("The breakdown is invalid.", fields={"breakdown": f"one of {', '.join(BREAKDOWNS)}"})
    return value


def hours_from(params: Mapping[str, str], default: int = 24) -> int:
    raw = (params.get("hours") or "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= 720:
        raise ValidationFailed("The threshold is invalid.", fields={"hours": "a whole number of hours, 1 to 720"})
    return value
