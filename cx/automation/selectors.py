"""Reads for automations: rule lists and permission-checked getters, the vocabulary conditions are checked
against, and the plain snapshot of a ticket that conditions are evaluated on."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet

from cx.accounts.models import AccessLevel, User
from cx.accounts.selectors import team_ids_of
from cx.accounts.services import require_access
from cx.core.errors import NotFound
from cx.customers.models import IdentityKind
from cx.tickets.models import (
    PRIORITY_RANK,
    Channel,
    Message,
    Priority,
    StatusCategory,
    Ticket,
    TicketType,
)
from cx.tickets.selectors import custom_field_list, status_list

from .conditions import CHANGE_OPS, CHANGEABLE, CUSTOM_KINDS, FIELD_KINDS, OPS_BY_KIND, Vocabulary
from .models import Macro, TicketStatusEntry, TimeRule, TimeRuleRun, Trigger, TriggerFiring
from .placeholders import PLACEHOLDERS

# The ticket changes triggers run on (hooks also report "merged": a merged ticket is a closed pointer).
TRIGGER_EVENTS = ("created", "updated", "replied", "noted", "customer_replied")
RANK = {"priority": {str(k): v for k, v in PRIORITY_RANK.items()}}


# --- Rules --------------------------------------------------------------------------------------------------


def trigger_list(*, actor: User, token_scope: AccessLevel | None = None) -> QuerySet[Trigger]:
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    return Trigger.objects.select_related("created_by").order_by("position", "id")


def trigger_get_for(*, actor: User, trigger_id: int, token_scope: AccessLevel | None = None) -> Trigger:
    trigger = trigger_list(actor=actor, token_scope=token_scope).filter(pk=trigger_id).first()
    if trigger is None:
        raise NotFound(f"No trigger with id {trigger_id}.")
    return trigger


def time_rule_list(*, actor: User, token_scope: AccessLevel | None = None) -> QuerySet[TimeRule]:
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    return TimeRule.objects.select_related("created_by").order_by("position", "id")


def time_rule_get_for(*, actor: User, time_rule_id: int, token_scope: AccessLevel | None = None) -> TimeRule:
    rule = time_rule_list(actor=actor, token_scope=token_scope).filter(pk=time_rule_id).first()
    if rule is None:
        raise NotFound(f"No time rule with id {time_rule_id}.")
    return rule


def active_triggers() -> list[Trigger]:
    return list(Trigger.objects.filter(is_active=True).order_by("position", "id"))


def active_time_rules() -> list[TimeRule]:
    return list(TimeRule.objects.filter(is_active=True).order_by("position", "id"))


def macro_list_for(*, actor: User, include_inactive: bool = False,
                   token_scope: AccessLevel | None = None) -> QuerySet[Macro]:
    """Macros the actor may see and apply: shared ones (for everyone or for one of the actor's teams; admins
    see every shared macro) and the actor's own personal ones."""
    require_access(actor, AccessLevel.READ, token_scope=token_scope)
    shared = Q(owner__isnull=True)
    if not actor.is_cx_admin:
        shared &= Q(team__isnull=True) | Q(team_id__in=team_ids_of(user=actor))
    qs = Macro.objects.filter(shared | Q(owner=actor)).select_related("owner", "team")
    if not include_inactive:
        qs = qs.filter(is_active=True)
    return qs.order_by("position", "name", "id")


def macro_get_for(*, actor: User, macro_id: int, include_inactive: bool = True,
                  token_scope: AccessLevel | None = None) -> Macro:
    macro = macro_list_for(actor=actor, include_inactive=include_inactive,
                           token_scope=token_scope).filter(pk=macro_id).first()
    if macro is None:
        raise NotFound(f"No macro with id {macro_id}.")
    return macro


def macro_editable_by(*, actor: User, macro: Macro) -> bool:
    """Whether the edit link shows (the services enforce the same rule: owner, or an admin if shared)."""
    if macro.owner_id is None:
        return actor.is_cx_admin
    return macro.owner_id == actor.pk and actor.can_write


def trigger_firings(*, trigger: Trigger, limit: int = 20) -> list[TriggerFiring]:
    """The latest times a trigger acted (or failed), for its page."""
    return list(trigger.firings.order_by("-fired_at", "-id")[:limit])


def time_rule_runs(*, rule: TimeRule, limit: int = 20) -> list[TimeRuleRun]:
    return list(rule.runs.order_by("-fired_at", "-id")[:limit])


# --- What conditions may say ------------------------------------------------------------------------------


def vocabulary() -> Vocabulary:
    """The choices and the active custom fields of this installation, for validating conditions."""
    return Vocabulary(
        choices={
            "status_category": StatusCategory.values,
            "priority": Priority.values,
            "ticket_type": TicketType.values,
            "channel": Channel.values,
            "event": TRIGGER_EVENTS,
        },
        custom_fields={f.key: (f.field_type, list(f.options or [])) for f in custom_field_list()},
    )


# --- Tickets as automations see them ------------------------------------------------------------------------


def automation_ticket(*, ticket_id: int) -> Ticket | None:
    """A ticket with everything conditions, actions and placeholders read, for system work (no actor:
    automations act on every ticket, restricted teams included)."""
    return (
        Ticket.objects.select_related("status", "requester", "requester__organization", "assignee", "team",
                                      "automation_status_entry")
        .prefetch_related("tags", "followers", "requester__identities")
        .filter(pk=ticket_id)
        .first()
    )


def automation_tickets(*, ticket_ids: list[int]) -> list[Ticket]:
    return list(
        Ticket.objects.select_related("status", "requester", "requester__organization", "assignee", "team",
                                      "automation_status_entry")
        .prefetch_related("tags", "followers", "requester__identities")
        .filter(pk__in=ticket_ids)
        .order_by("pk")
    )


def ticket_status_row(*, ticket_id: int) -> dict[str, Any] | None:
    return Ticket.objects.filter(pk=ticket_id).values("status_id", "created_at").first()


def message_body(*, message_id: int | None) -> str:
    """The text of the message that came with a change (for ``body`` conditions)."""
    if message_id is None:
        return ""
    return Message.objects.filter(pk=message_id).values_list("body_text", flat=True).first() or ""


def requester_email(ticket: Ticket) -> str | None:
    """The requester's primary email (identities are prefetched by ``automation_ticket``)."""
    emails = [i for i in ticket.requester.identities.all() if i.kind == IdentityKind.EMAIL]
    primary = next((i for i in emails if i.is_primary), emails[0] if emails else None)
    return primary.value if primary else None


def _hours(now: datetime, then: datetime | None) -> float | None:
    return None if then is None else (now - then).total_seconds() / 3600


def _status_entered_at(ticket: Ticket) -> datetime:
    try:
        return ticket.automation_status_entry.entered_at
    except TicketStatusEntry.DoesNotExist:
        # Not seen by the observer yet (a ticket from before automations): the best known time.
        if ticket.status_category == StatusCategory.SOLVED and ticket.solved_at:
            return ticket.solved_at
        if ticket.status_category == StatusCategory.CLOSED and ticket.closed_at:
            return ticket.closed_at
        return ticket.created_at


def condition_changes(changes: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """A ticket change's ``field -> [old, new]`` in the condition vocabulary: a status change (reported by
    name) becomes ``status_id`` and, when the category moved, ``status_category``; each custom field that
    changed becomes ``custom_fields.<key>``."""
    translated: dict[str, list[Any]] = {}
    for name, pair in changes.items():
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            continue
        old, new = pair
        if name == "status":
            by_name = {s.name: s for s in status_list(include_inactive=True)}
            old_status, new_status = by_name.get(old), by_name.get(new)
            translated["status_id"] = [old_status.pk if old_status else None, new_status.pk if new_status else None]
            old_category = old_status.category if old_status else None
            new_category = new_status.category if new_status else None
            if old_category != new_category:
                translated["status_category"] = [old_category, new_category]
        elif name == "custom_fields":
            old_values, new_values = old or {}, new or {}
            for key in sorted(set(old_values) | set(new_values)):
                if old_values.get(key) != new_values.get(key):
                    translated[f"custom_fields.{key}"] = [old_values.get(key), new_values.get(key)]
        else:
            translated[name] = [old, new]
    return translated


def ticket_snapshot(*, ticket: Ticket, now: datetime, event: str | None = None, body: str = "",
                    changes: dict[str, list[Any]] | None = None) -> dict[str, Any]:
    """The plain dict conditions are evaluated on (see conditions.py)."""
    return {
        "status_category": ticket.status_category,
        "status_id": ticket.status_id,
        "priority": ticket.priority,
        "ticket_type": ticket.ticket_type,
        "channel": ticket.channel,
        "team_id": ticket.team_id,
        "assignee_id": ticket.assignee_id,
        "tags": [t.name for t in ticket.tags.all()],
        "subject": ticket.subject,
        "body": body,
        "requester.email": requester_email(ticket),
        "requester.organization_id": ticket.requester.organization_id,
        "custom_fields": dict(ticket.custom_fields or {}),
        "hours_since_created": _hours(now, ticket.created_at),
        "hours_since_updated": _hours(now, ticket.updated_at),
        "hours_in_status": _hours(now, _status_entered_at(ticket)),
        "hours_since_solved": _hours(now, ticket.solved_at),
        "event": event,
        "changes": condition_changes(changes or {}),
    }


def placeholder_values(*, ticket: Ticket, agent: User | None) -> dict[str, Any]:
    requester = ticket.requester
    return {
        "customer.first_name": requester.first_name or requester.name,
        "customer.last_name": requester.last_name,
        "customer.name": requester.name,
        "customer.email": requester_email(ticket),
        "customer.organization": requester.organization.name if requester.organization else "",
        "ticket.id": ticket.pk,
        "ticket.subject": ticket.subject,
        "ticket.status": ticket.status.name,
        "ticket.priority": ticket.get_priority_display(),
        "ticket.channel": ticket.get_channel_display(),
        "agent.first_name": (agent.first_name or agent.display_name) if agent else "",
        "agent.name": agent.display_name if agent else "",
    }


# --- Time rules ---------------------------------------------------------------------------------------------

_DIRECT_COLUMNS = {"status_category": "status_category", "status_id": "status_id", "ticket_type": "ticket_type",
                   "channel": "channel", "team_id": "team_id", "assignee_id": "assignee_id",
                   "priority": "priority"}
_TIME_COLUMNS = {"hours_since_created": "created_at", "hours_since_updated": "updated_at",
                 "hours_since_solved": "solved_at", "hours_in_status": "automation_status_entry__entered_at"}
# A ticket at least N hours in a state entered at or before now - N: "gte" on hours is "lte" on the time.
_TIME_LOOKUP = {"gt": "lt", "gte": "lte", "lt": "gt", "lte": "gte"}


def _narrow(qs: QuerySet[Ticket], condition: dict[str, Any], now: datetime) -> QuerySet[Ticket]:
    """Narrow candidates in SQL by one ``all`` condition when that is exact; the rest is checked in Python.
    Never excludes a ticket the condition would accept."""
    name, op, value = condition["field"], condition["op"], condition.get("value")
    if name in _TIME_COLUMNS and op in _TIME_LOOKUP:
        return qs.filter(**{f"{_TIME_COLUMNS[name]}__{_TIME_LOOKUP[op]}": now - timedelta(hours=value)})
    column = _DIRECT_COLUMNS.get(name)
    if column is None or (name == "priority" and op not in ("is", "is_not", "in", "not_in")):
        return qs
    if op == "is":
        return qs.filter(**{f"{column}__isnull": True}) if value is None else qs.filter(**{column: value})
    if op == "is_not":
        return qs.filter(**{f"{column}__isnull": False}) if value is None else qs.exclude(**{column: value})
    values = [v for v in value if v is not None]
    with_null = len(values) != len(value)
    if op == "in":
        match = Q(**{f"{column}__in": values}) | (Q(**{f"{column}__isnull": True}) if with_null else Q(pk__in=[]))
        return qs.filter(match)
    if op == "not_in":
        qs = qs.exclude(**{f"{column}__in": values})
        return qs.filter(**{f"{column}__isnull": False}) if with_null else qs
    return qs


def time_rule_candidate_ids(*, rule: TimeRule, now: datetime) -> list[int]:
    """Tickets a time rule might act on now: not closed or merged, not yet acted on in their current status
    stint, narrowed in SQL by the rule's exact conditions (oldest first)."""
    already = TimeRuleRun.objects.filter(rule=rule, ticket_id=OuterRef("pk"),
                                         state_entered_at=OuterRef("automation_status_entry__entered_at"))
    qs = (
        Ticket.objects.exclude(status_category=StatusCategory.CLOSED)
        .filter(merged_into__isnull=True, automation_status_entry__isnull=False)
        .exclude(Exists(already))
    )
    for condition in (rule.conditions or {}).get("all") or []:
        qs = _narrow(qs, condition, now)
    return list(qs.order_by("pk").values_list("pk", flat=True))


def tickets_without_status_entry(*, limit: int) -> list[dict[str, Any]]:
    return list(
        Ticket.objects.filter(automation_status_entry__isnull=True, merged_into__isnull=True)
        .exclude(status_category=StatusCategory.CLOSED)
        .order_by("pk")
        .values("pk", "status_id", "status_category", "created_at", "solved_at")[:limit]
    )


# --- Reference for the editor and the API -------------------------------------------------------------------


def rule_reference() -> dict[str, Any]:
    """What conditions, actions and placeholders exist, for the rule editor's help and the API."""
    from .actions import ACTION_TYPES  # actions builds on these selectors, so it is imported late

    fields = {name: [*OPS_BY_KIND[kind], *(CHANGE_OPS if name in CHANGEABLE else ())]
              for name, kind in FIELD_KINDS.items()}
    custom = {f"custom_fields.{f.key}": [*OPS_BY_KIND[CUSTOM_KINDS[f.field_type]], *CHANGE_OPS]
              for f in custom_field_list() if f.field_type in CUSTOM_KINDS}
    actions = {name: f"{help_text} (keys: {', '.join(keys)})" for name, (keys, help_text) in ACTION_TYPES.items()}
    return {"fields": fields, "custom_fields": custom, "actions": actions, "placeholders": dict(PLACEHOLDERS)}
