"""Writes for automations: managing triggers, time rules and macros; running triggers on ticket changes (the
observer registered in apps.py), running time rules (the periodic job) and applying macros.

Automations act as a dedicated system agent, ``cxdesk-automation`` (see ``automation_user``), inside
``acting_automation()``, so their own changes are recognised. Loop protection: a trigger acts at most once
per ticket per chain of changes started by one person or job, and a chain stops at depth
``MAX_AUTOMATION_DEPTH``; both are recorded in the audit log. A failing rule never loses the change that
set it off: its actions run in a savepoint that is rolled back, and the failure is recorded.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone

from cx.accounts.models import AccessLevel, Team, User
from cx.accounts.services import require_access, system_user_get
from cx.core.audit import audit_record
from cx.core.errors import Conflict, DomainError, PermissionDenied, ValidationFailed
from cx.core.models import AuditEvent
from cx.tickets.hooks import TicketChange, acting_automation
from cx.tickets.models import StatusCategory, Ticket

from . import selectors
from .actions import AppliedActions, actions_apply, actions_validate
from .conditions import InvalidConditions, conditions_match, validate_conditions
from .models import Macro, Outcome, TicketStatusEntry, TimeRule, TimeRuleRun, Trigger, TriggerFiring

logger = logging.getLogger("cx.automation")

AUTOMATION_USERNAME = "cxdesk-automation"
MAX_AUTOMATION_DEPTH = 5
MAX_NAME = 200
MAX_DESCRIPTION = 2000
# A time-rule run acts on at most this many tickets per rule; the rest follow five minutes later.
TIME_RULE_BATCH = 200
STATUS_ENTRY_BACKFILL = 2000

# The (trigger id, ticket id) pairs that acted in the current chain of changes.
_chain: contextvars.ContextVar[set[tuple[int, int]] | None] = contextvars.ContextVar("cx_automation_chain",
                                                                                      default=None)


@contextmanager
def automation_chain() -> Iterator[set[tuple[int, int]]]:
    """One chain of changes: everything that follows from one person's action or one rule run."""
    current = _chain.get()
    if current is not None:
        yield current
        return
    token = _chain.set(set())
    try:
        yield _chain.get()
    finally:
        _chain.reset(token)


def automation_user() -> User:
    """The system account automations act as: the tickets services require an actor with write access,
    and the audit log then shows "cxdesk-automation" for every automated change."""
    return system_user_get(username=AUTOMATION_USERNAME, label="Automation")


# --- Managing rules -------------------------------------------------------------------------------------


def _text_errors(values: dict[str, Any], errors: dict[str, str]) -> None:
    if "name" in values:
        name = values["name"]
        if not isinstance(name, str) or not name.strip():
            errors["name"] = "required"
        elif len(name.strip()) > MAX_NAME:
            errors["name"] = f"at most {MAX_NAME} characters"
        else:
            values["name"] = " ".join(name.split())
    if "description" in values:
        description = values["description"]
        if not isinstance(description, str):
            errors["description"] = "text"
        elif len(description) > MAX_DESCRIPTION:
            errors["description"] = f"at most {MAX_DESCRIPTION} characters"
    if "position" in values and values["position"] is not None and (
            not isinstance(values["position"], int) or isinstance(values["position"], bool)
            or not 0 <= values["position"] <= 1_000_000):
        errors["position"] = "a whole number from 0"
    for flag in ("is_active", "fire_once_per_ticket"):
        if flag in values and not isinstance(values[flag], bool):
            errors[flag] = "true or false"


def _nul_path(value: Any, path: str) -> str | None:
    """Where a NUL character hides in JSON-like data (PostgreSQL cannot store it in text or jsonb)."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = path if "\x00" in str(key) else _nul_path(item, f"{path}.{key}")
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _nul_path(item, f"{path}[{index}]")
            if found:
                return found
    return None


def _clean_rule(values: dict[str, Any], *, time_rule: bool, allowed: set[str]) -> dict[str, Any]:
    """Validate the fields given (all for a new rule, some for an update); nothing is saved on error."""
    unknown = set(values) - allowed
    if unknown:
        raise ValidationFailed("Unknown fields.", fields=dict.fromkeys(sorted(unknown), "unknown field"))
    for name, value in values.items():
        found = _nul_path(value, name)
        if found:
            raise ValidationFailed("Text must not contain NUL characters.", fields={found: "contains a NUL character"})
    values = dict(values)
    errors: dict[str, str] = {}
    _text_errors(values, errors)
    vocabulary = selectors.vocabulary()
    if "conditions" in values:
        try:
            values["conditions"] = validate_conditions(values["conditions"], vocabulary, time_rule=time_rule)
        except InvalidConditions as exc:
            errors.update(exc.errors)
    if "actions" in values:
        try:
            values["actions"] = actions_validate(values["actions"], vocabulary)
        except ValidationFailed as exc:
            errors.update(exc.fields)
    if errors:
        raise ValidationFailed("The rule is not valid; nothing was saved.", fields=errors)
    return values


def _next_position(model: type[Trigger] | type[TimeRule] | type[Macro]) -> int:
    highest = model.objects.aggregate(top=Max("position"))["top"]
    return 10 if highest is None else highest + 10


_TRIGGER_FIELDS = {"name", "description", "position", "is_active", "conditions", "actions", "fire_once_per_ticket"}
_TIME_RULE_FIELDS = {"name", "description", "position", "is_active", "conditions", "actions"}


def _require_fields(values: dict[str, Any], names: tuple[str, ...]) -> None:
    missing = [n for n in names if n not in values]
    if missing:
        raise ValidationFailed("Some fields are missing.", fields=dict.fromkeys(missing, "required"))


@transaction.atomic
def trigger_create(*, actor: User, values: dict[str, Any], token_scope: AccessLevel | None = None) -> Trigger:
    """A new trigger; ``values``: name, conditions, actions and optionally description, position, is_active,
    fire_once_per_ticket."""
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    _require_fields(values, ("name", "conditions", "actions"))
    cleaned = _clean_rule(values, time_rule=False, allowed=_TRIGGER_FIELDS)
    if cleaned.get("position") is None:
        cleaned["position"] = _next_position(Trigger)
    trigger = Trigger.objects.create(created_by=actor, **cleaned)
    audit_record(actor=actor, action="trigger.created", target_type="trigger", target_id=trigger.pk,
                 data={"name": trigger.name, "conditions": trigger.conditions, "actions": trigger.actions})
    return trigger


@transaction.atomic
def trigger_update(*, actor: User, trigger: Trigger, values: dict[str, Any],
                   token_scope: AccessLevel | None = None) -> Trigger:
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    cleaned = _clean_rule(values, time_rule=False, allowed=_TRIGGER_FIELDS)
    return _save_changes(actor=actor, rule=trigger, cleaned=cleaned, action="trigger.updated",
                         target_type="trigger")


@transaction.atomic
def trigger_delete(*, actor: User, trigger: Trigger, token_scope: AccessLevel | None = None) -> None:
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    audit_record(actor=actor, action="trigger.deleted", target_type="trigger", target_id=trigger.pk,
                 data={"name": trigger.name, "conditions": trigger.conditions, "actions": trigger.actions})
    trigger.delete()


@transaction.atomic
def time_rule_create(*, actor: User, values: dict[str, Any], token_scope: AccessLevel | None = None) -> TimeRule:
    """A new time rule; its conditions need an hours condition in ``all`` (hours_in_status, ...)."""
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    _require_fields(values, ("name", "conditions", "actions"))
    cleaned = _clean_rule(values, time_rule=True, allowed=_TIME_RULE_FIELDS)
    if cleaned.get("position") is None:
        cleaned["position"] = _next_position(TimeRule)
    rule = TimeRule.objects.create(created_by=actor, **cleaned)
    audit_record(actor=actor, action="time_rule.created", target_type="time_rule", target_id=rule.pk,
                 data={"name": rule.name, "conditions": rule.conditions, "actions": rule.actions})
    return rule


@transaction.atomic
def time_rule_update(*, actor: User, rule: TimeRule, values: dict[str, Any],
                     token_scope: AccessLevel | None = None) -> TimeRule:
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    cleaned = _clean_rule(values, time_rule=True, allowed=_TIME_RULE_FIELDS)
    return _save_changes(actor=actor, rule=rule, cleaned=cleaned, action="time_rule.updated",
                         target_type="time_rule")


@transaction.atomic
def time_rule_delete(*, actor: User, rule: TimeRule, token_scope: AccessLevel | None = None) -> None:
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    audit_record(actor=actor, action="time_rule.deleted", target_type="time_rule", target_id=rule.pk,
                 data={"name": rule.name, "conditions": rule.conditions, "actions": rule.actions})
    rule.delete()


def _save_changes(*, actor: User, rule: Trigger | TimeRule | Macro, cleaned: dict[str, Any], action: str,
                  target_type: str) -> Any:
    if cleaned.get("position", 0) is None:
        del cleaned["position"]
    changed: dict[str, list[Any]] = {}
    for name, value in cleaned.items():
        old = getattr(rule, name)
        if old != value:
            changed[name] = [old, value]
            setattr(rule, name, value)
    if changed:
        rule.save(update_fields=[*changed, "updated_at"])
        audit_record(actor=actor, action=action, target_type=target_type, target_id=rule.pk,
                     data={"changes": changed})
    return rule


# --- Macros -------------------------------------------------------------------------------------------------

_MACRO_FIELDS = {"name", "description", "position", "is_active", "actions", "team_id"}


def _macro_team(team_id: Any) -> Team | None:
    if team_id is None:
        return None
    team = Team.objects.filter(pk=team_id).first() if isinstance(team_id, int) else None
    if team is None:
        raise ValidationFailed("Unknown team.", fields={"team_id": "no such team"})
    return team


@transaction.atomic
def macro_create(*, actor: User, values: dict[str, Any], shared: bool = False,
                 token_scope: AccessLevel | None = None) -> Macro:
    """A personal macro of the actor, or (admins only) a shared one, optionally for one team only."""
    require_access(actor, AccessLevel.WRITE, token_scope=token_scope)
    _require_fields(values, ("name", "actions"))
    values = dict(values)
    team_id = values.pop("team_id", None)
    if shared or team_id is not None:
        try:
            require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
        except PermissionDenied:
            raise PermissionDenied("Only admins create shared macros; create a personal one instead.",
                                   fields={"shared": "admins only"}) from None
    if team_id is not None and not shared:
        raise ValidationFailed("A personal macro cannot belong to a team.",
                               fields={"team_id": "only for shared macros"})
    cleaned = _clean_rule(values, time_rule=False, allowed=_MACRO_FIELDS - {"team_id"})
    team = _macro_team(team_id)
    if cleaned.get("position") is None:
        cleaned["position"] = _next_position(Macro)
    macro = Macro.objects.create(owner=None if shared else actor, team=team, created_by=actor, **cleaned)
    audit_record(actor=actor, action="macro.created", target_type="macro", target_id=macro.pk,
                 data={"name": macro.name, "shared": shared, "team_id": macro.team_id, "actions": macro.actions})
    return macro


def macro_require_editor(*, actor: User, macro: Macro, token_scope: AccessLevel | None = None) -> None:
    """Personal macros are changed by their owner, shared ones by admins."""
    require_access(actor, AccessLevel.WRITE, token_scope=token_scope)
    if macro.owner_id is None:
        try:
            require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
        except PermissionDenied:
            raise PermissionDenied("Only admins change shared macros.") from None
    elif macro.owner_id != actor.pk:
        raise PermissionDenied("This is another agent's personal macro.")


@transaction.atomic
def macro_update(*, actor: User, macro: Macro, values: dict[str, Any],
                 token_scope: AccessLevel | None = None) -> Macro:
    macro_require_editor(actor=actor, macro=macro, token_scope=token_scope)
    values = dict(values)
    changes_team = "team_id" in values
    team_id = values.pop("team_id", None)
    if changes_team and macro.owner_id is not None and team_id is not None:
        raise ValidationFailed("A personal macro cannot belong to a team.",
                               fields={"team_id": "only for shared macros"})
    team = _macro_team(team_id) if changes_team else macro.team
    cleaned = _clean_rule(values, time_rule=False, allowed=_MACRO_FIELDS - {"team_id"})
    new_team_id = team.pk if team else None
    if changes_team and macro.team_id != new_team_id:
        audit_record(actor=actor, action="macro.updated", target_type="macro", target_id=macro.pk,
                     data={"changes": {"team_id": [macro.team_id, new_team_id]}})
        macro.team = team
        macro.save(update_fields=["team", "updated_at"])
    return _save_changes(actor=actor, rule=macro, cleaned=cleaned, action="macro.updated", target_type="macro")


@transaction.atomic
def macro_delete(*, actor: User, macro: Macro, token_scope: AccessLevel | None = None) -> None:
    macro_require_editor(actor=actor, macro=macro, token_scope=token_scope)
    audit_record(actor=actor, action="macro.deleted", target_type="macro", target_id=macro.pk,
                 data={"name": macro.name, "actions": macro.actions})
    macro.delete()


@transaction.atomic
def macro_apply(*, actor: User, ticket: Ticket, macro: Macro,
                token_scope: AccessLevel | None = None) -> AppliedActions:
    """Apply a macro to a ticket the caller has already fetched with a permission-checked selector.

    The actions are the agent's own (the agent is the actor, replies come from them), and all of them
    succeed or none do. Triggers then see one chain of changes."""
    require_access(actor, AccessLevel.WRITE, token_scope=token_scope)
    if not macro.is_active:
        raise ValidationFailed("This macro is switched off.", fields={"macro_id": "inactive macro"})
    # Visibility is checked again here: a macro id from a form is not proof the actor may use it.
    selectors.macro_get_for(actor=actor, macro_id=macro.pk, token_scope=token_scope)
    if ticket.merged_into_id is not None:
        raise Conflict(f"Ticket {ticket.pk} was merged into ticket {ticket.merged_into_id}.")
    with automation_chain():
        result = actions_apply(actor=actor, ticket_id=ticket.pk, actions=macro.actions, agent=actor,
                               automated=False)
    Macro.objects.filter(pk=macro.pk).update(applied_count=F("applied_count") + 1, last_applied_at=timezone.now())
    audit_record(actor=actor, action="macro.applied", target_type="ticket", target_id=ticket.pk,
                 data={"macro_id": macro.pk, "macro": macro.name, "changes": _jsonable(result.changes),
                       "message_ids": result.message_ids})
    return result


def _jsonable(changes: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in changes.items()}


# --- Running rules ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActOutcome:
    outcome: str
    error: str = ""
    result: AppliedActions | None = None


def _act(*, ticket_id: int, actions: list[dict[str, Any]], source: dict[str, Any]) -> ActOutcome:
    """Run a rule's actions as the automation agent in a savepoint; a refusal rolls them back and is kept in
    the audit log instead of undoing the change (or the customer's message) that set the rule off."""
    try:
        with acting_automation(), transaction.atomic():
            actor = automation_user()
            result = actions_apply(actor=actor, ticket_id=ticket_id, actions=actions, agent=None, automated=True)
    except DomainError as exc:
        error = exc.message + "".join(f" {k}: {v}." for k, v in exc.fields.items())
        audit_record(actor=None, action="automation.failed", target_type="ticket", target_id=ticket_id,
                     data={**source, "error": error[:500]})
        return ActOutcome(outcome=Outcome.FAILED, error=error[:500])
    except Exception as exc:
        # A bug in a rule must not lose a customer's message; it is logged loudly and recorded.
        logger.exception("automation %s failed on ticket %s", source, ticket_id)
        audit_record(actor=None, action="automation.failed", target_type="ticket", target_id=ticket_id,
                     data={**source, "error": repr(exc)[:500]})
        return ActOutcome(outcome=Outcome.FAILED, error=repr(exc)[:500])
    audit_record(actor=actor, action="automation.fired", target_type="ticket", target_id=ticket_id,
                 data={**source, "changes": _jsonable(result.changes), "message_ids": result.message_ids})
    return ActOutcome(outcome=Outcome.FIRED, result=result)


def _status_entry_record(change: TicketChange, now: datetime) -> None:
    """Restart the ticket's status clock when it was created, merged away or its status changed."""
    if change.event not in ("created", "merged") and "status" not in change.changes:
        return
    row = selectors.ticket_status_row(ticket_id=change.ticket_id)
    if row is None:
        return
    entered = row["created_at"] if change.event == "created" else now
    TicketStatusEntry.objects.update_or_create(ticket_id=change.ticket_id,
                                               defaults={"status_id": row["status_id"], "entered_at": entered})


def ticket_change_observed(change: TicketChange) -> None:
    """The tickets observer: keep the status clock, then run the active triggers in order."""
    now = timezone.now()
    _status_entry_record(change, now)
    if change.event not in selectors.TRIGGER_EVENTS:
        return
    triggers = selectors.active_triggers()
    if not triggers:
        return
    if change.automation_depth >= MAX_AUTOMATION_DEPTH:
        audit_record(actor=None, action="automation.loop_stopped", target_type="ticket",
                     target_id=change.ticket_id,
                     data={"depth": change.automation_depth, "event": change.event,
                           "reason": f"automations changed this ticket {MAX_AUTOMATION_DEPTH} levels deep"})
        return
    ticket = selectors.automation_ticket(ticket_id=change.ticket_id)
    if ticket is None or ticket.merged_into_id is not None:
        return
    with automation_chain() as fired:
        _run_triggers(ticket=ticket, triggers=triggers, change=change, fired=fired, now=now)


def _run_triggers(*, ticket: Ticket, triggers: list[Trigger], change: TicketChange,
                  fired: set[tuple[int, int]], now: datetime) -> None:
    body = selectors.message_body(message_id=change.message_id)
    snapshot = selectors.ticket_snapshot(ticket=ticket, now=now, event=change.event, body=body,
                                         changes=change.changes)
    for trigger in triggers:
        try:
            matched = conditions_match(trigger.conditions, snapshot, rank=selectors.RANK)
        except Exception:
            logger.exception("trigger %s has conditions that cannot be evaluated", trigger.pk)
            continue
        if not matched:
            continue
        key = (trigger.pk, ticket.pk)
        if key in fired:
            audit_record(actor=None, action="automation.skipped_loop", target_type="ticket", target_id=ticket.pk,
                         data={"trigger_id": trigger.pk, "trigger": trigger.name, "depth": change.automation_depth,
                               "reason": "already acted on this ticket in this chain of changes"})
            continue
        if trigger.fire_once_per_ticket and TriggerFiring.objects.filter(
                trigger=trigger, ticket_id=ticket.pk, outcome=Outcome.FIRED).exists():
            continue
        fired.add(key)
        acted = _act(ticket_id=ticket.pk, actions=trigger.actions,
                     source={"trigger_id": trigger.pk, "trigger": trigger.name, "depth": change.automation_depth})
        TriggerFiring.objects.create(trigger=trigger, ticket_id=ticket.pk, fired_at=timezone.now(),
                                     depth=change.automation_depth, outcome=acted.outcome, error=acted.error)
        if acted.outcome == Outcome.FIRED:
            # Later triggers see the ticket as it is now, still answering to the same change.
            refreshed = selectors.automation_ticket(ticket_id=ticket.pk)
            if refreshed is None or refreshed.merged_into_id is not None:
                return
            ticket = refreshed
            snapshot = selectors.ticket_snapshot(ticket=ticket, now=now, event=change.event, body=body,
                                                 changes=change.changes)


def status_entries_backfill(*, limit: int = STATUS_ENTRY_BACKFILL) -> int:
    """Give tickets the observer has not seen (made before automations existed) a status clock: the last
    status change in the audit log, else when they were solved or created."""
    rows = selectors.tickets_without_status_entry(limit=limit)
    if not rows:
        return 0
    ids = [row["pk"] for row in rows]
    last_change = dict(
        AuditEvent.objects.filter(target_type="ticket", target_id__in=ids, action="ticket.updated",
                                  data__changes__has_key="status")
        .values("target_id").annotate(at=Max("created_at")).values_list("target_id", "at")
    )
    entries = []
    for row in rows:
        entered = last_change.get(row["pk"])
        if entered is None:
            solved = row["status_category"] == StatusCategory.SOLVED and row["solved_at"]
            entered = row["solved_at"] if solved else row["created_at"]
        entries.append(TicketStatusEntry(ticket_id=row["pk"], status_id=row["status_id"], entered_at=entered))
    TicketStatusEntry.objects.bulk_create(entries, ignore_conflicts=True)
    return len(entries)


@dataclass(frozen=True)
class TimeRulesReport:
    fired: int
    failed: int


def time_rules_run(*, now: datetime) -> TimeRulesReport:
    """Apply each active time rule to the tickets it matches at ``now``, once per ticket per status stint
    (a TimeRuleRun row remembers the stint), at most TIME_RULE_BATCH tickets per rule per run."""
    status_entries_backfill()
    fired = failed = 0
    for rule in selectors.active_time_rules():
        done = 0
        candidate_ids = selectors.time_rule_candidate_ids(rule=rule, now=now)
        for start in range(0, len(candidate_ids), 100):
            if done >= TIME_RULE_BATCH:
                break
            for ticket in selectors.automation_tickets(ticket_ids=candidate_ids[start:start + 100]):
                if done >= TIME_RULE_BATCH:
                    break
                snapshot = selectors.ticket_snapshot(ticket=ticket, now=now)
                if not conditions_match(rule.conditions, snapshot, rank=selectors.RANK):
                    continue
                entry = ticket.automation_status_entry
                state_key, state_entered_at = entry.state_key, entry.entered_at
                with automation_chain():
                    acted = _act(ticket_id=ticket.pk, actions=rule.actions,
                                 source={"time_rule_id": rule.pk, "time_rule": rule.name})
                TimeRuleRun.objects.create(rule=rule, ticket_id=ticket.pk, state_key=state_key,
                                           state_entered_at=state_entered_at, fired_at=now,
                                           outcome=acted.outcome, error=acted.error)
                done += 1
                if acted.outcome == Outcome.FIRED:
                    fired += 1
                else:
                    failed += 1
    return TimeRulesReport(fired=fired, failed=failed)
