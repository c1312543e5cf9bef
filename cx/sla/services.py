"""Writes for SLA configuration: business calendars and SLA policies (admin access).

Every function validates everything before it writes anything, records its audit event, and after commit
queues a recomputation of the open tickets the change can affect (cx.sla.tasks), so due times follow a
calendar or policy edit. The per-ticket clock itself lives in cx.sla.engine.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, time
from functools import lru_cache
from typing import Any
from zoneinfo import available_timezones

from django.db import transaction
from django.db.models import Max

from cx.accounts.models import AccessLevel, Team, User
from cx.accounts.selectors import active_agent_get, is_team_member
from cx.accounts.services import require_access
from cx.core.audit import audit_record
from cx.core.errors import Conflict, ValidationFailed
from cx.customers.models import Organization
from cx.sla.models import (
    WEEKDAYS,
    BusinessCalendarConfig,
    Holiday,
    SlaMetric,
    SlaPolicy,
    SlaTarget,
    parse_clock_time,
)
from cx.tickets.business_hours import BusinessCalendar
from cx.tickets.models import Channel, Priority

MAX_NAME = 100
MAX_TARGET_MINUTES = 366 * 24 * 60
MAX_WARN_MINUTES = 30 * 24 * 60
MAX_HOLIDAYS = 1000
MAX_CONDITION_ITEMS = 200
CALENDAR_FIELDS = {"name", "time_zone", "weekly_hours", "holidays"}
POLICY_FIELDS = {"name", "description", "position", "is_active", "priorities", "organization_ids",
                 "customer_segments", "channels", "calendar_id", "pause_on_pending", "pause_on_hold",
                 "warn_before_minutes", "escalate_notify", "escalate_priority", "escalate_team_id",
                 "escalate_assignee_id", "targets"}

_WEEKDAY_KEYS = {**{day: i for i, day in enumerate(WEEKDAYS)}, **{day[:3]: i for i, day in enumerate(WEEKDAYS)},
                 **{str(i): i for i in range(7)}}


# --- Validation (shared with the admin forms) --------------------------------------------------------------


@lru_cache(maxsize=1)
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones()) | {"UTC"}


def clean_time_zone(value: Any) -> str:
    if not isinstance(value, str) or value not in _known_zones():
        raise ValidationFailed("Unknown time zone.", fields={
            "time_zone": f"unknown time zone {value!r}; use an IANA name such as Europe/Berlin"})
    return value


def _format_time(moment: time, *, end: bool) -> str:
    if end and moment == time(0, 0):
        return "24:00"
    return moment.strftime("%H:%M")


def _day_reason(exc: ValueError) -> str:
    # business_hours prefixes its messages with "weekly[Monday]: "; the field name already says which day.
    message = str(exc)
    return message.split("]: ", 1)[1] if message.startswith("weekly[") and "]: " in message else message


def clean_weekly_hours(value: Any) -> dict[str, list[list[str]]]:
    """Opening hours as {weekday: [["HH:MM", "HH:MM"], ...]}, weekdays as monday..sunday, mon..sun or 0..6
    (0 = Monday). Returns the stored form: every weekday by name, intervals sorted, touching ones joined."""
    if not isinstance(value, dict):
        raise ValidationFailed("Opening hours are invalid.", fields={
            "weekly_hours": 'an object such as {"monday": [["09:00", "17:00"]]}'})
    errors: dict[str, str] = {}
    parsed: dict[int, tuple[tuple[time, time], ...]] = {}
    for key, intervals in value.items():
        index = _WEEKDAY_KEYS.get(str(key).strip().lower())
        if index is None:
            errors[f"weekly_hours.{key}"] = "unknown weekday; use monday ... sunday"
            continue
        day = WEEKDAYS[index]
        if index in parsed:
            errors[f"weekly_hours.{day}"] = "this weekday is given twice"
            continue
        if not isinstance(intervals, list | tuple):
            errors[f"weekly_hours.{day}"] = 'a list of ["HH:MM", "HH:MM"] pairs'
            continue
        pairs: list[tuple[time, time]] = []
        for n, pair in enumerate(intervals):
            if not (isinstance(pair, list | tuple) and len(pair) == 2 and all(isinstance(t, str) for t in pair)):
                errors[f"weekly_hours.{day}.{n}"] = 'a ["HH:MM", "HH:MM"] pair'
                continue
            try:
                if pair[0] == "24:00":
                    raise ValueError(pair[0])
                pairs.append((parse_clock_time(pair[0]), parse_clock_time(pair[1])))
            except ValueError:
                errors[f"weekly_hours.{day}.{n}"] = 'times are "HH:MM" from 00:00 to 24:00 (24:00 only as an end)'
        if any(name.startswith(f"weekly_hours.{day}.") for name in errors):
            continue
        try:
            parsed[index] = BusinessCalendar(time_zone="UTC", weekly={index: pairs}).weekly[index]
        except ValueError as exc:
            errors[f"weekly_hours.{day}"] = _day_reason(exc)
    if errors:
        raise ValidationFailed("Opening hours are invalid.", fields=errors)
    if not any(parsed.values()):
        raise ValidationFailed("Opening hours are invalid.",
                               fields={"weekly_hours": "at least one opening interval is needed"})
    return {day: [[_format_time(a, end=False), _format_time(b, end=True)] for a, b in parsed.get(i, ())]
            for i, day in enumerate(WEEKDAYS)}


def clean_holidays(value: Any) -> list[tuple[str, date]]:
    """Holidays as [{"name": str, "date": date or "YYYY-MM-DD"}, ...]; each date once."""
    if not isinstance(value, list | tuple):
        raise ValidationFailed("Holidays are invalid.", fields={"holidays": 'a list of {"name", "date"} objects'})
    if len(value) > MAX_HOLIDAYS:
        raise ValidationFailed("Too many holidays.", fields={"holidays": f"at most {MAX_HOLIDAYS}"})
    errors: dict[str, str] = {}
    cleaned: list[tuple[str, date]] = []
    seen: set[date] = set()
    for n, item in enumerate(value):
        if not isinstance(item, dict) or "date" not in item:
            errors[f"holidays.{n}"] = 'an object with "date" and an optional "name"'
            continue
        name = item.get("name") or ""
        raw = item["date"]
        day = raw if isinstance(raw, date) else None
        if isinstance(raw, str):
            try:
                day = date.fromisoformat(raw)
            except ValueError:
                day = None
        if day is None:
            errors[f"holidays.{n}.date"] = "a date as YYYY-MM-DD"
        elif day in seen:
            errors[f"holidays.{n}.date"] = f"{day.isoformat()} is listed twice"
        if not isinstance(name, str) or len(name) > MAX_NAME:
            errors[f"holidays.{n}.name"] = f"text of at most {MAX_NAME} characters"
        if day is not None and f"holidays.{n}.date" not in errors and f"holidays.{n}.name" not in errors:
            seen.add(day)
            cleaned.append((name.strip(), day))
    if errors:
        raise ValidationFailed("Holidays are invalid.", fields=errors)
    return sorted(cleaned, key=lambda h: h[1])


def _clean_name(value: Any, model: type[BusinessCalendarConfig] | type[SlaPolicy], exclude_pk: int | None) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed("A name is required.", fields={"name": "required"})
    name = " ".join(value.split())
    if len(name) > MAX_NAME:
        raise ValidationFailed("The name is too long.", fields={"name": f"at most {MAX_NAME} characters"})
    if model.objects.filter(name__iexact=name).exclude(pk=exclude_pk).exists():
        raise Conflict(f"A {model._meta.verbose_name} named {name!r} exists.", fields={"name": "already exists"})
    return name


def _collect(errors: dict[str, str], conflicts: list[Conflict], check: Callable[[], Any]) -> Any:
    """Run one field check, gathering its reasons, so a request learns about every bad field at once."""
    try:
        return check()
    except Conflict as exc:
        conflicts.append(exc)
    except ValidationFailed as exc:
        errors.update(exc.fields or {"body": exc.message})
    return None


def _raise_collected(errors: dict[str, str], conflicts: list[Conflict], message: str) -> None:
    if errors:
        for conflict in conflicts:
            errors.update(conflict.fields)
        raise ValidationFailed(message, fields=errors)
    if conflicts:
        raise conflicts[0]


def _unknown(values: dict[str, Any], allowed: set[str]) -> None:
    unknown = set(values) - allowed
    if unknown:
        raise ValidationFailed("Unknown fields.", fields=dict.fromkeys(sorted(unknown), "unknown field"))


# --- Business calendars ------------------------------------------------------------------------------------


def _schedule_recompute(*, calendar_id: int | None = None) -> None:
    """After commit, recompute open tickets' SLAs (all of them, or those whose policy uses the calendar)."""
    from cx.sla.tasks import sla_recompute

    transaction.on_commit(lambda: sla_recompute.enqueue(calendar_id=calendar_id))


def sla_recompute_schedule(*, calendar_id: int | None = None) -> None:
    """Public entry for callers outside these services (the Django admin) after they changed configuration."""
    _schedule_recompute(calendar_id=calendar_id)


def _calendar_snapshot(calendar: BusinessCalendarConfig) -> dict[str, Any]:
    return {"name": calendar.name, "time_zone": calendar.time_zone, "weekly_hours": calendar.weekly_hours,
            "holidays": [h.date.isoformat() for h in calendar.holidays.all()]}


@transaction.atomic
def business_calendar_create(*, actor: User, values: dict[str, Any],
                             token_scope: AccessLevel | None = None) -> BusinessCalendarConfig:
    """Create a calendar: {name, time_zone, weekly_hours, holidays}; invalid input saves nothing."""
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    _unknown(values, CALENDAR_FIELDS)
    errors: dict[str, str] = {}
    conflicts: list[Conflict] = []
    name = _collect(errors, conflicts, lambda: _clean_name(values.get("name"), BusinessCalendarConfig, None))
    zone = _collect(errors, conflicts, lambda: clean_time_zone(values.get("time_zone", "UTC")))
    weekly = _collect(errors, conflicts, lambda: clean_weekly_hours(values.get("weekly_hours")))
    holidays = _collect(errors, conflicts, lambda: clean_holidays(values.get("holidays", [])))
    _raise_collected(errors, conflicts, "The calendar is invalid.")
    calendar = BusinessCalendarConfig.objects.create(name=name, time_zone=zone, weekly_hours=weekly)
    Holiday.objects.bulk_create([Holiday(calendar=calendar, name=n, date=d) for n, d in holidays])
    audit_record(actor=actor, action="sla.calendar_created", target_type="business_calendar",
                 target_id=calendar.pk, data=_calendar_snapshot(calendar))
    return calendar


@transaction.atomic
def business_calendar_update(*, actor: User, calendar: BusinessCalendarConfig, values: dict[str, Any],
                             token_scope: AccessLevel | None = None) -> BusinessCalendarConfig:
    """Change some fields; ``holidays`` replaces the whole list. Open tickets using it are recomputed."""
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    _unknown(values, CALENDAR_FIELDS)
    calendar = BusinessCalendarConfig.objects.select_for_update().get(pk=calendar.pk)
    before = _calendar_snapshot(calendar)
    errors: dict[str, str] = {}
    conflicts: list[Conflict] = []
    name = zone = weekly = holidays = None
    if "name" in values:
        name = _collect(errors, conflicts, lambda: _clean_name(values["name"], BusinessCalendarConfig, calendar.pk))
    if "time_zone" in values:
        zone = _collect(errors, conflicts, lambda: clean_time_zone(values["time_zone"]))
    if "weekly_hours" in values:
        weekly = _collect(errors, conflicts, lambda: clean_weekly_hours(values["weekly_hours"]))
    if "holidays" in values:
        holidays = _collect(errors, conflicts, lambda: clean_holidays(values["holidays"]))
    _raise_collected(errors, conflicts, "The calendar is invalid.")
    calendar.name = name or calendar.name
    calendar.time_zone = zone or calendar.time_zone
    calendar.weekly_hours = weekly or calendar.weekly_hours
    calendar.save()
    if holidays is not None:
        calendar.holidays.all().delete()
        Holiday.objects.bulk_create([Holiday(calendar=calendar, name=n, date=d) for n, d in holidays])
    after = _calendar_snapshot(calendar)
    changes = {key: [before[key], after[key]] for key in before if before[key] != after[key]}
    if changes:
        audit_record(actor=actor, action="sla.calendar_updated", target_type="business_calendar",
                     target_id=calendar.pk, data={"changes": changes})
        _schedule_recompute(calendar_id=calendar.pk)
    return calendar


@transaction.atomic
def business_calendar_delete(*, actor: User, calendar: BusinessCalendarConfig,
                             token_scope: AccessLevel | None = None) -> None:
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    users = list(SlaPolicy.objects.filter(calendar=calendar).values_list("name", flat=True))
    if users:
        raise Conflict("The calendar is used by SLA policies; change them first.",
                       fields={"calendar": f"used by {', '.join(users)}"})
    snapshot = _calendar_snapshot(calendar)
    calendar_id = calendar.pk
    calendar.delete()
    audit_record(actor=actor, action="sla.calendar_deleted", target_type="business_calendar",
                 target_id=calendar_id, data=snapshot)


# --- SLA policies ------------------------------------------------------------------------------------------


def _choice_list(value: Any, field: str, allowed: list[str]) -> list[str]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValidationFailed("Invalid condition.", fields={field: "a list of strings"})
    bad = [v for v in value if v not in allowed]
    if bad:
        raise ValidationFailed("Invalid condition.",
                               fields={field: f"unknown {', '.join(bad)}; one of {', '.join(allowed)}"})
    return sorted(set(value), key=allowed.index)


def _organization_ids(value: Any) -> list[int]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise ValidationFailed("Invalid condition.", fields={"organization_ids": "a list of organisation ids"})
    if len(value) > MAX_CONDITION_ITEMS:
        raise ValidationFailed("Too many organisations.", fields={"organization_ids": f"at most {MAX_CONDITION_ITEMS}"})
    wanted = sorted(set(value))
    found = set(Organization.objects.filter(pk__in=wanted).values_list("pk", flat=True))
    missing = [str(i) for i in wanted if i not in found]
    if missing:
        raise ValidationFailed("Unknown organisation.",
                               fields={"organization_ids": f"no organisation {', '.join(missing)}"})
    return wanted


def _segments(value: Any) -> list[str]:
    # Matched against ticket tags, so they are normalised the way tags are (lower case, words joined by -).
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValidationFailed("Invalid condition.", fields={"customer_segments": "a list of tag names"})
    if len(value) > MAX_CONDITION_ITEMS:
        raise ValidationFailed("Too many segments.", fields={"customer_segments": f"at most {MAX_CONDITION_ITEMS}"})
    cleaned: list[str] = []
    for raw in value:
        name = "-".join(raw.strip().lower().split())
        if not name or len(name) > 50:
            raise ValidationFailed("Invalid segment.", fields={"customer_segments": "tag names of 1 to 50 characters"})
        if name not in cleaned:
            cleaned.append(name)
    return cleaned


def _bool(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationFailed("Invalid value.", fields={field: "true or false"})
    return value


def _minutes(value: Any, field: str, *, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValidationFailed("Invalid number of minutes.", fields={field: f"a whole number from {low} to {high}"})
    return value


def _calendar_ref(value: Any) -> BusinessCalendarConfig | None:
    if value is None:
        return None
    calendar = BusinessCalendarConfig.objects.filter(pk=value).first() if isinstance(value, int) else None
    if calendar is None:
        raise ValidationFailed("Unknown calendar.", fields={"calendar_id": "no such business calendar"})
    return calendar


def _team_ref(value: Any) -> Team | None:
    if value is None:
        return None
    team = Team.objects.filter(pk=value).first() if isinstance(value, int) else None
    if team is None:
        raise ValidationFailed("Unknown team.", fields={"escalate_team_id": "no such team"})
    return team


def _agent_ref(value: Any) -> User | None:
    if value is None:
        return None
    agent = active_agent_get(user_id=value) if isinstance(value, int) and not isinstance(value, bool) else None
    if agent is None:
        raise ValidationFailed("Unknown agent.", fields={"escalate_assignee_id": "no such active agent"})
    return agent


def _description(value: Any) -> str:
    if not isinstance(value, str) or len(value) > 2000:
        raise ValidationFailed("Invalid description.", fields={"description": "text of at most 2000 characters"})
    return value.strip()


def _escalate_priority(value: Any) -> str:
    if value != "" and value not in Priority.values:
        raise ValidationFailed("Invalid priority.",
                               fields={"escalate_priority": f"empty or one of {', '.join(Priority.values)}"})
    return value


def clean_targets(value: Any) -> list[tuple[str, str, int]]:
    """Targets as [{"priority", "metric", "minutes"}, ...]; one per priority and metric."""
    if not isinstance(value, list | tuple):
        raise ValidationFailed("Targets are invalid.",
                               fields={"targets": 'a list of {"priority", "metric", "minutes"}'})
    errors: dict[str, str] = {}
    cleaned: list[tuple[str, str, int]] = []
    seen: set[tuple[str, str]] = set()
    for n, item in enumerate(value):
        if not isinstance(item, dict):
            errors[f"targets.{n}"] = 'an object with "priority", "metric" and "minutes"'
            continue
        priority, metric, minutes = item.get("priority"), item.get("metric"), item.get("minutes")
        if priority not in Priority.values:
            errors[f"targets.{n}.priority"] = f"one of {', '.join(Priority.values)}"
        if metric not in SlaMetric.values:
            errors[f"targets.{n}.metric"] = f"one of {', '.join(SlaMetric.values)}"
        if not isinstance(minutes, int) or isinstance(minutes, bool) or not 1 <= minutes <= MAX_TARGET_MINUTES:
            errors[f"targets.{n}.minutes"] = f"a whole number of minutes from 1 to {MAX_TARGET_MINUTES}"
        if any(key.startswith(f"targets.{n}.") for key in errors):
            continue
        if (priority, metric) in seen:
            errors[f"targets.{n}"] = f"a second {metric} target for {priority}"
            continue
        seen.add((priority, metric))
        cleaned.append((priority, metric, minutes))
    if errors:
        raise ValidationFailed("Targets are invalid.", fields=errors)
    return cleaned


def _clean_policy(values: dict[str, Any], policy: SlaPolicy | None) -> tuple[dict[str, Any], list | None]:
    """Validated model attributes and targets (None = unchanged); every bad field is reported at once."""
    _unknown(values, POLICY_FIELDS)
    errors: dict[str, str] = {}
    conflicts: list[Conflict] = []
    cleaned: dict[str, Any] = {}
    checks: dict[str, Callable[[Any], Any]] = {
        "name": lambda v: _clean_name(v, SlaPolicy, policy.pk if policy else None),
        "description": _description,
        "position": lambda v: _minutes(v, "position", low=0, high=1_000_000),
        "is_active": lambda v: _bool(v, "is_active"),
        "priorities": lambda v: _choice_list(v, "priorities", Priority.values),
        "organization_ids": _organization_ids,
        "customer_segments": _segments,
        "channels": lambda v: _choice_list(v, "channels", Channel.values),
        "calendar_id": _calendar_ref,
        "pause_on_pending": lambda v: _bool(v, "pause_on_pending"),
        "pause_on_hold": lambda v: _bool(v, "pause_on_hold"),
        "warn_before_minutes": lambda v: _minutes(v, "warn_before_minutes", low=0, high=MAX_WARN_MINUTES),
        "escalate_notify": lambda v: _bool(v, "escalate_notify"),
        "escalate_priority": _escalate_priority,
        "escalate_team_id": _team_ref,
        "escalate_assignee_id": _agent_ref,
    }
    if policy is None and "name" not in values:
        errors["name"] = "required"
    for field, check in checks.items():
        if field in values:
            result = _collect(errors, conflicts, lambda check=check, field=field: (True, check(values[field])))
            if result is not None:
                cleaned[field] = result[1]
    targets = _collect(errors, conflicts, lambda: clean_targets(values["targets"])) if "targets" in values else None
    # The escalation agent must be able to take the escalation team's tickets.
    team = cleaned.get("escalate_team_id", policy.escalate_team if policy else None)
    agent = cleaned.get("escalate_assignee_id", policy.escalate_assignee if policy else None)
    if team is not None and agent is not None and not is_team_member(user_id=agent.pk, team_id=team.pk):
        errors.setdefault("escalate_assignee_id", f"{agent.username} is not a member of {team.name}")
    _raise_collected(errors, conflicts, "The SLA policy is invalid.")
    renamed = {"calendar_id": "calendar", "escalate_team_id": "escalate_team",
               "escalate_assignee_id": "escalate_assignee"}
    return {renamed.get(k, k): v for k, v in cleaned.items()}, targets


def sla_policy_validate(*, values: dict[str, Any], policy: SlaPolicy | None) -> dict[str, Any]:
    """Validate policy fields without saving (the Django admin form uses it); returns model attributes."""
    attributes, _ = _clean_policy(values, policy)
    return attributes


def _policy_snapshot(policy: SlaPolicy) -> dict[str, Any]:
    return {
        "name": policy.name, "position": policy.position, "is_active": policy.is_active,
        "priorities": policy.priorities, "organization_ids": policy.organization_ids,
        "customer_segments": policy.customer_segments, "channels": policy.channels,
        "calendar_id": policy.calendar_id, "pause_on_pending": policy.pause_on_pending,
        "pause_on_hold": policy.pause_on_hold, "warn_before_minutes": policy.warn_before_minutes,
        "escalate_notify": policy.escalate_notify, "escalate_priority": policy.escalate_priority,
        "escalate_team_id": policy.escalate_team_id, "escalate_assignee_id": policy.escalate_assignee_id,
        "targets": sorted([t.priority, t.metric, t.minutes] for t in policy.targets.all()),
    }


def _set_targets(policy: SlaPolicy, targets: list[tuple[str, str, int]]) -> None:
    policy.targets.all().delete()
    SlaTarget.objects.bulk_create([SlaTarget(policy=policy, priority=p, metric=m, minutes=n) for p, m, n in targets])


@transaction.atomic
def sla_policy_create(*, actor: User, values: dict[str, Any], token_scope: AccessLevel | None = None) -> SlaPolicy:
    """Create a policy; without a position it goes last. Open tickets are re-matched after commit."""
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    attributes, targets = _clean_policy(values, None)
    if "position" not in attributes:
        last = SlaPolicy.objects.aggregate(last=Max("position"))["last"]
        attributes["position"] = 10 if last is None else last + 10
    policy = SlaPolicy.objects.create(**attributes)
    _set_targets(policy, targets or [])
    audit_record(actor=actor, action="sla.policy_created", target_type="sla_policy", target_id=policy.pk,
                 data=_policy_snapshot(policy))
    _schedule_recompute()
    return policy


@transaction.atomic
def sla_policy_update(*, actor: User, policy: SlaPolicy, values: dict[str, Any],
                      token_scope: AccessLevel | None = None) -> SlaPolicy:
    """Change some fields; ``targets`` replaces all targets. Open tickets are re-matched after commit."""
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    policy = SlaPolicy.objects.select_for_update().get(pk=policy.pk)
    before = _policy_snapshot(policy)
    attributes, targets = _clean_policy(values, policy)
    for name, value in attributes.items():
        setattr(policy, name, value)
    policy.save()
    if targets is not None:
        _set_targets(policy, targets)
    after = _policy_snapshot(policy)
    changes = {key: [before[key], after[key]] for key in before if before[key] != after[key]}
    if changes:
        audit_record(actor=actor, action="sla.policy_updated", target_type="sla_policy", target_id=policy.pk,
                     data={"changes": changes})
        _schedule_recompute()
    return policy


@transaction.atomic
def sla_policy_delete(*, actor: User, policy: SlaPolicy, token_scope: AccessLevel | None = None) -> None:
    """Delete a policy; its tickets fall to the next matching policy (or none) when recomputed after commit."""
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    snapshot = _policy_snapshot(policy)
    policy_id = policy.pk
    policy.delete()
    audit_record(actor=actor, action="sla.policy_deleted", target_type="sla_policy", target_id=policy_id,
                 data=snapshot)
    _schedule_recompute()

