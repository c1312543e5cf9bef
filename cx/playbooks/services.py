"""Writes of the playbooks app: playbooks and the global cap (admins), customer tags, and the evaluation that
turns a trigger into a run — conditions, per-playbook cooldown, the global contact cap, the holdout group,
then the actions — each run recorded whatever its outcome."""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone

from cx.accounts.models import AccessLevel, User
from cx.accounts.selectors import active_agent_get
from cx.accounts.services import require_access, system_user_get
from cx.core.audit import audit_record
from cx.core.errors import DomainError, ValidationFailed
from cx.customers.models import Customer
from cx.journeys.models import Touchpoint
from cx.tickets.hooks import TicketChange, acting_automation
from cx.tickets.models import Ticket

from .actions import ActionResult, ActionSkipped, action_apply, actions_validate, placeholder_values
from .conditions import condition_candidates, conditions_evaluate, conditions_validate, normal_tag
from .models import (
    CustomerTag,
    EvaluationCursor,
    GoalKind,
    Match,
    Playbook,
    PlaybookRun,
    PlaybookSettings,
    RunStatus,
    TriggerKind,
)

logger = logging.getLogger("cx.playbooks")

SYSTEM_USERNAME = "system-playbooks"
CURSOR = "touchpoints"
MAX_EVENT_AGE = timedelta(hours=48)  # older touchpoints (history backfilled on identify) never trigger outreach
EVENTS_PER_RUN = 5000
SWEEP_CANDIDATES = 2000
MAX_HOLDOUT = 50
FIELDS = ("name", "description", "is_active", "trigger_kind", "trigger_event", "match", "conditions", "actions",
          "cooldown_days", "holdout_percent", "goal_kind", "goal_event", "goal_window_days", "owner_id")


def playbooks_user() -> User:
    return system_user_get(username=SYSTEM_USERNAME, label="Playbooks")


# --- Playbooks ---------------------------------------------------------------------------------------------


def _clean(values: dict[str, Any], current: Playbook | None) -> dict[str, Any]:
    """Every field checked together, so one 422 names every problem; nothing is saved on any problem."""
    merged = {name: getattr(current, name) for name in FIELDS} if current else {
        "description": "", "is_active": True, "trigger_kind": TriggerKind.EVENT, "trigger_event": "",
        "match": Match.ALL, "conditions": [], "cooldown_days": 7, "holdout_percent": 10,
        "goal_kind": GoalKind.EVENT, "goal_event": "Order Completed", "goal_window_days": 14, "owner_id": None}
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:
        raise ValidationFailed("Unknown fields.", fields={unknown[0]: "unknown field"})
    merged.update(values)
    errors: dict[str, str] = {}
    name = merged.get("name")
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > 200:
        errors["name"] = "required, at most 200 characters"
    elif Playbook.objects.filter(name__iexact=name.strip()).exclude(pk=current.pk if current else None).exists():
        errors["name"] = "a playbook with this name exists"
    if not isinstance(merged["description"], str) or len(merged["description"]) > 2000:
        errors["description"] = "text of at most 2000 characters"
    if not isinstance(merged["is_active"], bool):
        errors["is_active"] = "true or false"
    kind = merged["trigger_kind"]
    event = merged["trigger_event"] if isinstance(merged["trigger_event"], str) else None
    if kind not in TriggerKind.values:
        errors["trigger_kind"] = f"one of {', '.join(TriggerKind.values)}"
    elif event is None or len(event) > 200:
        errors["trigger_event"] = "text of at most 200 characters"
    elif kind == TriggerKind.EVENT and not event.strip():
        errors["trigger_event"] = "required: the tracked event that triggers the playbook, e.g. checkout_failed"
    elif kind == TriggerKind.TICKET and event.strip() and not event.strip().startswith("ticket."):
        errors["trigger_event"] = "a ticket event such as ticket.created or ticket.customer_replied (empty: any)"
    elif kind == TriggerKind.SURVEY and event.strip() not in ("", "nps", "csat", "ces"):
        errors["trigger_event"] = "nps, csat, ces or empty (any survey)"
    if merged["match"] not in Match.values:
        errors["match"] = "all or any"
    for key, low, high in (("cooldown_days", 0, 365), ("holdout_percent", 0, MAX_HOLDOUT),
                           ("goal_window_days", 1, 365)):
        value = merged[key]
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            errors[key] = f"a whole number from {low} to {high}"
    if merged["goal_kind"] not in GoalKind.values:
        errors["goal_kind"] = f"one of {', '.join(GoalKind.values)}"
    elif merged["goal_kind"] == GoalKind.EVENT and (not isinstance(merged["goal_event"], str)
                                                    or not merged["goal_event"].strip()
                                                    or len(merged["goal_event"]) > 200):
        errors["goal_event"] = "the tracked event that counts as success, e.g. Order Completed"
    owner_id = merged["owner_id"]
    if owner_id is not None and (not isinstance(owner_id, int) or isinstance(owner_id, bool)
                                 or active_agent_get(user_id=owner_id) is None):
        errors["owner_id"] = "no such active agent"
    for key, check in (("conditions", partial(conditions_validate, required=kind == TriggerKind.SWEEP)),
                       ("actions", actions_validate)):
        try:
            merged[key] = check(merged[key])
        except ValidationFailed as exc:
            errors.update(exc.fields)
    if errors:
        raise ValidationFailed("The playbook is invalid.", fields=errors)
    merged["name"] = name.strip()
    merged["trigger_event"] = event.strip()
    merged["goal_event"] = (merged["goal_event"] or "").strip()
    return merged


def _start_cursor() -> None:
    """Event-driven evaluation starts at the newest touchpoint when the first playbook is made (history is
    never replayed into outreach)."""
    newest = Touchpoint.objects.aggregate(last=Max("pk"))["last"] or 0
    EvaluationCursor.objects.get_or_create(name=CURSOR, defaults={"position": newest})


@transaction.atomic
def playbook_create(*, actor: User, values: dict[str, Any], token_scope: AccessLevel | None = None) -> Playbook:
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    clean = _clean(values, None)
    playbook = Playbook.objects.create(created_by=actor, **clean)
    _start_cursor()
    audit_record(actor=actor, action="playbook.created", target_type="playbook", target_id=playbook.pk,
                 data={"name": playbook.name, "trigger_kind": playbook.trigger_kind})
    return playbook


@transaction.atomic
def playbook_update(*, actor: User, playbook: Playbook, values: dict[str, Any],
                    token_scope: AccessLevel | None = None) -> Playbook:
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    clean = _clean(values, playbook)
    changed = sorted(k for k, v in clean.items() if getattr(playbook, k) != v)
    for key, value in clean.items():
        setattr(playbook, key, value)
    playbook.save()
    _start_cursor()
    audit_record(actor=actor, action="playbook.updated", target_type="playbook", target_id=playbook.pk,
                 data={"changed": changed})
    return playbook


@transaction.atomic
def playbook_delete(*, actor: User, playbook: Playbook, token_scope: AccessLevel | None = None) -> None:
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    audit_record(actor=actor, action="playbook.deleted", target_type="playbook", target_id=playbook.pk,
                 data={"name": playbook.name, "runs": playbook.runs.count()})
    playbook.delete()


def playbook_settings_get() -> PlaybookSettings:
    row = PlaybookSettings.objects.order_by("pk").first()
    return row or PlaybookSettings.objects.create()


@transaction.atomic
def playbook_settings_update(*, actor: User, values: dict[str, Any],
                             token_scope: AccessLevel | None = None) -> PlaybookSettings:
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    row = playbook_settings_get()
    errors = {}
    for key, low, high in (("max_contacts", 0, 100), ("window_days", 1, 365)):
        value = values.get(key, getattr(row, key))
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            errors[key] = f"a whole number from {low} to {high}"
    unknown = sorted(set(values) - {"max_contacts", "window_days"})
    if unknown:
        errors[unknown[0]] = "unknown field"
    if errors:
        raise ValidationFailed("The contact cap is invalid.", fields=errors)
    row.max_contacts = values.get("max_contacts", row.max_contacts)
    row.window_days = values.get("window_days", row.window_days)
    row.save()
    audit_record(actor=actor, action="playbook.settings_updated", target_type="playbook_settings", target_id=row.pk,
                 data={"max_contacts": row.max_contacts, "window_days": row.window_days})
    return row


# --- Customer tags -----------------------------------------------------------------------------------------


@transaction.atomic
def customer_tag_add(*, actor: User, customer: Customer, tag: Any,
                     token_scope: AccessLevel | None = None) -> CustomerTag:
    require_access(actor, AccessLevel.WRITE, token_scope=token_scope)
    name = normal_tag(tag) if isinstance(tag, str) else ""
    if not 0 < len(name) <= 50:
        raise ValidationFailed("The tag is invalid.", fields={"tag": "1 to 50 characters"})
    row, _ = CustomerTag.objects.get_or_create(customer=customer, name=name)
    audit_record(actor=actor, action="customer.tagged", target_type="customer", target_id=customer.pk,
                 data={"tag": name})
    return row


@transaction.atomic
def customer_tag_remove(*, actor: User, customer: Customer, tag: str,
                        token_scope: AccessLevel | None = None) -> None:
    require_access(actor, AccessLevel.WRITE, token_scope=token_scope)
    CustomerTag.objects.filter(customer=customer, name=normal_tag(tag)).delete()
    audit_record(actor=actor, action="customer.untagged", target_type="customer", target_id=customer.pk,
                 data={"tag": normal_tag(tag)})


class CustomerTagDataHandler:
    """Merge, export and erasure reach the tags (and playbook runs, which name the customer)."""

    name = "playbooks"

    def export(self, *, customer_id: int) -> list[dict]:
        tags = [{"tag": t.name, "created_at": t.created_at.isoformat()}
                for t in CustomerTag.objects.filter(customer_id=customer_id)]
        runs = [{"playbook": r.playbook.name, "status": r.status, "reason": r.reason,
                 "created_at": r.created_at.isoformat()}
                for r in PlaybookRun.objects.filter(customer_id=customer_id).select_related("playbook")]
        return [{"tags": tags, "playbook_runs": runs}]

    def reassign(self, *, source_id: int, target_id: int) -> list[int]:
        moved = []
        for tag in CustomerTag.objects.filter(customer_id=source_id):
            if CustomerTag.objects.filter(customer_id=target_id, name=tag.name).exists():
                tag.delete()
            else:
                CustomerTag.objects.filter(pk=tag.pk).update(customer_id=target_id)
                moved.append(tag.pk)
        for run in PlaybookRun.objects.filter(customer_id=source_id):
            if PlaybookRun.objects.filter(playbook_id=run.playbook_id, customer_id=target_id,
                                          trigger_key=run.trigger_key).exists():
                PlaybookRun.objects.filter(pk=run.pk).update(trigger_key=f"{run.trigger_key}:merged:{run.pk}"[:120])
            PlaybookRun.objects.filter(pk=run.pk).update(customer_id=target_id)
        return moved

    def erase(self, *, customer_id: int) -> int:
        # Runs stay (anonymous counts for the outcome); their free text may name the customer.
        PlaybookRun.objects.filter(customer_id=customer_id).update(reason="", results=[])
        return CustomerTag.objects.filter(customer_id=customer_id).delete()[0]


# --- Evaluation --------------------------------------------------------------------------------------------


def in_holdout(*, playbook_id: int, customer_id: int, percent: int) -> bool:
    """Deterministic: the same customer is always in (or out of) a playbook's holdout group."""
    if percent <= 0:
        return False
    digest = hashlib.sha256(f"playbook:{playbook_id}:customer:{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 10_000 < percent * 100


def _throttle_reason(playbook: Playbook, customer_id: int, now: datetime) -> str:
    if playbook.cooldown_days:
        since = now - timedelta(days=playbook.cooldown_days)
        last = (PlaybookRun.objects.filter(playbook=playbook, customer_id=customer_id, created_at__gt=since)
                .filter(Q(status=RunStatus.HELD_OUT) | Q(contacted=True) | Q(status=RunStatus.ACTED))
                .order_by("-created_at").first())
        if last is not None:
            return (f"already {last.get_status_display().lower()} on {last.created_at:%Y-%m-%d %H:%M} UTC: at most "
                    f"once per {playbook.cooldown_days} day(s) per customer")
    cap = playbook_settings_get()
    if cap.max_contacts:
        recent = PlaybookRun.objects.filter(customer_id=customer_id, contacted=True,
                                            created_at__gt=now - timedelta(days=cap.window_days)).count()
        if recent >= cap.max_contacts:
            return (f"global cap: {recent} playbook contact(s) in the last {cap.window_days} day(s) "
                    f"(at most {cap.max_contacts})")
    return ""


def _apply_actions(*, actor: User, playbook: Playbook, customer: Customer, run_key: str) -> list[ActionResult]:
    values = {**placeholder_values(customer), "_run_key": f"playbook:{playbook.pk}:{run_key}"}
    results = []
    for action in playbook.actions:
        try:
            # Marked as automated work: triggers' loop protection counts it, and its tickets never trigger
            # playbooks again.
            with acting_automation(), transaction.atomic():
                results.append(action_apply(actor=actor, playbook=playbook, customer=customer, action=action,
                                            values=values))
        except ActionSkipped as exc:
            results.append(ActionResult(action["type"], False, str(exc)))
        except DomainError as exc:
            detail = "; ".join(f"{k}: {v}" for k, v in exc.fields.items()) or exc.message
            results.append(ActionResult(action["type"], False, f"{exc.message} {detail}".strip()))
        except Exception as exc:  # one broken action must not stop the others or lose the audit
            logger.exception("playbook %s action %s failed", playbook.pk, action["type"])
            results.append(ActionResult(action["type"], False, f"internal error: {type(exc).__name__}"))
    return results


def _record(*, playbook: Playbook, customer: Customer, status: str, reason: str, trigger: str, trigger_key: str,
            now: datetime, results: list[ActionResult] | None = None, actor: User | None = None) -> PlaybookRun:
    contacted = any(r.ok for r in results or [])
    return PlaybookRun.objects.create(playbook=playbook, customer=customer, status=status, reason=reason[:500],
                                      trigger=trigger, trigger_key=trigger_key[:120], contacted=contacted,
                                      results=[r.as_dict() for r in results or []], actor=actor, created_at=now)


def playbook_evaluate(*, playbook: Playbook, customer: Customer, trigger: str, trigger_key: str,
                      at: datetime | None = None, now: datetime | None = None, actor: User | None = None,
                      record_no_match: bool = True) -> PlaybookRun | None:
    """Evaluate one playbook for one customer and record the run. Safe to repeat: a (playbook, customer,
    trigger_key) runs once. Returns the run, or None for a sweep that did not match (not recorded)."""
    now = now or timezone.now()
    at = at or now
    existing = PlaybookRun.objects.filter(playbook=playbook, customer=customer, trigger_key=trigger_key).first()
    if existing is not None:
        return existing
    if not customer.is_active_record:
        return None
    try:
        with transaction.atomic():
            return _evaluate(playbook=playbook, customer=customer, trigger=trigger, trigger_key=trigger_key, at=at,
                             now=now, actor=actor, record_no_match=record_no_match)
    except IntegrityError:  # another worker recorded this trigger meanwhile
        return PlaybookRun.objects.filter(playbook=playbook, customer=customer, trigger_key=trigger_key).first()


def _evaluate(*, playbook: Playbook, customer: Customer, trigger: str, trigger_key: str, at: datetime,
              now: datetime, actor: User | None, record_no_match: bool) -> PlaybookRun | None:
    record = partial(_record, playbook=playbook, customer=customer, trigger=trigger, trigger_key=trigger_key,
                     now=now, actor=actor)
    verdict = conditions_evaluate(playbook.conditions, playbook.match, customer, at)
    if not verdict.matched:
        return record(status=RunStatus.NOT_MATCHED, reason=verdict.reason) if record_no_match else None
    throttled = _throttle_reason(playbook, customer.pk, now)
    if throttled:
        return record(status=RunStatus.THROTTLED, reason=f"{throttled}. Matched: {verdict.reason}")
    if in_holdout(playbook_id=playbook.pk, customer_id=customer.pk, percent=playbook.holdout_percent):
        return record(status=RunStatus.HELD_OUT,
                      reason=f"in the {playbook.holdout_percent}% holdout group: not contacted. "
                             f"Matched: {verdict.reason}")
    results = _apply_actions(actor=actor or playbooks_user(), playbook=playbook, customer=customer,
                             run_key=trigger_key)
    failed = [r for r in results if not r.ok]
    status = RunStatus.FAILED if failed else RunStatus.ACTED
    reason = (f"{len(failed)} of {len(results)} action(s) failed: "
              + "; ".join(f"{r.type}: {r.detail}" for r in failed) + ". ") if failed else ""
    run = record(status=status, reason=f"{reason}Matched: {verdict.reason}", results=results)
    audit_record(actor=actor or playbooks_user(), action=f"playbook.{status}", target_type="customer",
                 target_id=customer.pk, data={"playbook_id": playbook.pk, "run_id": run.pk,
                                              "results": run.results})
    return run


@transaction.atomic
def playbook_run_now(*, actor: User, playbook: Playbook, customer: Customer,
                     token_scope: AccessLevel | None = None) -> PlaybookRun:
    """An agent performs a suggested playbook for one customer (the next-best-action card). Conditions,
    cooldown, the global cap and the holdout group still apply, so the measurement stays honest."""
    require_access(actor, AccessLevel.WRITE, token_scope=token_scope)
    if not playbook.is_active:
        raise ValidationFailed("The playbook is not active.", fields={"playbook_id": "not active"})
    if not customer.is_active_record:
        raise ValidationFailed("The customer was merged or erased.", fields={"customer_id": "not a live customer"})
    now = timezone.now()
    run = playbook_evaluate(playbook=playbook, customer=customer, trigger="manual", actor=actor, now=now,
                            trigger_key=f"manual:{actor.pk}:{now.isoformat()}")
    assert run is not None
    return run


def _trigger_matches(playbook: Playbook, kind: str, properties: dict[str, Any]) -> bool:
    if playbook.trigger_kind == TriggerKind.EVENT:
        return properties.get("event") == playbook.trigger_event or kind == playbook.trigger_event
    if playbook.trigger_kind == TriggerKind.TICKET:
        return kind.startswith("ticket.") and (not playbook.trigger_event or kind == playbook.trigger_event)
    if playbook.trigger_kind == TriggerKind.SURVEY:
        return kind == "survey.answered" and (not playbook.trigger_event
                                              or properties.get("survey") == playbook.trigger_event)
    return False


def playbooks_process_events(*, now: datetime | None = None, limit: int = EVENTS_PER_RUN) -> int:
    """Evaluate event-triggered playbooks for the touchpoints recorded since the last call (tracked events the
    loader put on timelines, ticket events, survey answers). One evaluation per playbook and customer per
    batch, keyed by the customer's latest matching touchpoint. Returns the number of evaluations."""
    now = now or timezone.now()
    playbooks = list(Playbook.objects.filter(is_active=True).exclude(trigger_kind=TriggerKind.SWEEP))
    with transaction.atomic():
        cursor = EvaluationCursor.objects.select_for_update().filter(name=CURSOR).first()
        if cursor is None:
            _start_cursor()
            return 0
        rows = list(Touchpoint.objects.filter(pk__gt=cursor.position).order_by("pk")
                    .values_list("pk", "customer_id", "kind", "properties", "occurred_at")[:limit])
        if not rows:
            return 0
        latest: dict[tuple[int, int], tuple[int, datetime]] = {}
        own_tickets = _playbook_ticket_ids(rows)
        for pk, customer_id, kind, properties, occurred_at in rows:
            if occurred_at < now - MAX_EVENT_AGE or (properties or {}).get("ticket_id") in own_tickets:
                continue
            for playbook in playbooks:
                if _trigger_matches(playbook, kind, properties or {}):
                    latest[(playbook.pk, customer_id)] = (pk, occurred_at)
        cursor.position = rows[-1][0]
        cursor.save(update_fields=["position", "updated_at"])
        by_id = {p.pk: p for p in playbooks}
        customers = Customer.objects.in_bulk({customer_id for _, customer_id in latest})
        evaluated = 0
        for (playbook_id, customer_id), (touchpoint_id, occurred_at) in sorted(latest.items(),
                                                                                 key=lambda i: i[1][0]):
            customer = customers.get(customer_id)
            if customer is None:
                continue
            playbook = by_id[playbook_id]
            try:
                playbook_evaluate(playbook=playbook, customer=customer, trigger=playbook.trigger_kind,
                                  trigger_key=f"tp:{touchpoint_id}", at=max(occurred_at, now), now=now)
            except Exception:  # one broken evaluation must not hold the stream back for every other customer
                logger.exception("playbook %s: evaluating customer %s failed", playbook_id, customer_id)
            evaluated += 1
    return evaluated


def _playbook_ticket_ids(rows: list[tuple]) -> set[int]:
    """Tickets opened by playbooks (outreach, messages): their events never trigger playbooks (no loops)."""
    ids = {(properties or {}).get("ticket_id") for _, _, kind, properties, _ in rows if kind.startswith("ticket.")}
    ids.discard(None)
    if not ids:
        return set()
    return set(Ticket.objects.filter(pk__in=ids, tags__name="playbook").values_list("pk", flat=True))


def playbooks_sweep(*, now: datetime | None = None) -> int:
    """The periodic check of sweep playbooks (churn risk, SLA breaches, open tickets, detractors, tags): the
    customers the conditions can name, at most one run per playbook and customer per day."""
    now = now or timezone.now()
    evaluated = 0
    for playbook in Playbook.objects.filter(is_active=True, trigger_kind=TriggerKind.SWEEP):
        sets = [condition_candidates(c, now, SWEEP_CANDIDATES) for c in playbook.conditions]
        known = [s for s in sets if s is not None]
        if not known:
            continue  # no condition can name candidates: a sweep never scans every customer
        if playbook.match == Match.ALL:
            candidates = set.intersection(*known)
        elif len(known) < len(sets):
            continue  # "any" with a condition that cannot narrow would mean everyone
        else:
            candidates = set.union(*known)
        customers = Customer.objects.filter(pk__in=sorted(candidates)[:SWEEP_CANDIDATES], merged_into__isnull=True,
                                            erased_at__isnull=True).select_related("organization")
        for customer in customers:
            try:
                playbook_evaluate(playbook=playbook, customer=customer, trigger="sweep",
                                  trigger_key=f"sweep:{now:%Y-%m-%d}", now=now, record_no_match=False)
            except Exception:
                logger.exception("playbook %s: sweeping customer %s failed", playbook.pk, customer.pk)
            evaluated += 1
    return evaluated


NOT_MATCHED_KEPT = timedelta(days=30)


def runs_prune(now: datetime) -> int:
    """Daily: "not matched" runs older than 30 days go (they explain recent decisions; matched runs, which the
    outcome is measured on, are kept)."""
    return PlaybookRun.objects.filter(status=RunStatus.NOT_MATCHED, created_at__lt=now - NOT_MATCHED_KEPT).delete()[0]


def events_pending() -> bool:
    cursor = EvaluationCursor.objects.filter(name=CURSOR).values_list("position", flat=True).first()
    if cursor is None:
        return False
    newest = Touchpoint.objects.aggregate(last=Max("pk"))["last"] or 0
    return newest > cursor and Playbook.objects.filter(is_active=True).exclude(
        trigger_kind=TriggerKind.SWEEP).exists()


def events_periodic(now: datetime) -> None:
    """The scheduler's tick: new touchpoints are evaluated by a task after the scheduler's transaction."""
    from .tasks import playbooks_process

    if events_pending():
        transaction.on_commit(playbooks_process.enqueue)


def sweep_periodic(now: datetime) -> None:
    from .tasks import playbooks_sweep_task

    if Playbook.objects.filter(is_active=True, trigger_kind=TriggerKind.SWEEP).exists():
        transaction.on_commit(playbooks_sweep_task.enqueue)


def on_ticket_change(change: TicketChange) -> None:
    """Ticket observer: ticket-triggered playbooks are evaluated right after the change commits (its
    touchpoint is then in the stream), not at the next scheduler tick."""
    from .tasks import playbooks_process

    if change.automation_depth:
        return  # a playbook's own outreach ticket must not trigger playbooks again
    if Playbook.objects.filter(is_active=True, trigger_kind=TriggerKind.TICKET).exists():
        transaction.on_commit(playbooks_process.enqueue)
