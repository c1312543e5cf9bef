"""Reads of the playbooks app: playbooks and their run audit (read access), the measured outcome against
the holdout group, and the next-best-action card's facts for one customer."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from cx.accounts.models import AccessLevel, User
from cx.accounts.services import require_access
from cx.churn.selectors import ChurnRisk, churn_outcomes, churn_risk_for
from cx.core.errors import NotFound, ValidationFailed
from cx.customers.models import Customer
from cx.journeys.models import Touchpoint
from cx.surveys.models import FollowUp, LoopState, Response
from cx.tickets.models import Ticket
from cx.tickets.selectors import visible_tickets

from .actions import ACTION_TYPES, CUSTOMER_PLACEHOLDERS
from .conditions import FIELDS, OPEN_CATEGORIES, conditions_evaluate
from .models import CustomerTag, GoalKind, Playbook, PlaybookRun, RunStatus, TriggerKind
from .outcomes import Uplift, uplift

RUN_PAGE = 100
FAILURE_WINDOW = timedelta(days=7)


def playbook_list(*, actor: User, token_scope: AccessLevel | None = None) -> list[Playbook]:
    require_access(actor, AccessLevel.READ, token_scope=token_scope)
    since = timezone.now() - timedelta(days=30)
    rows = Playbook.objects.select_related("owner").annotate(
        **{f"runs_{status}": Count("runs", filter=Q(runs__status=status, runs__created_at__gte=since))
           for status in RunStatus.values})
    return list(rows.order_by("name"))


def playbook_get_for(*, actor: User, playbook_id: int, token_scope: AccessLevel | None = None) -> Playbook:
    require_access(actor, AccessLevel.READ, token_scope=token_scope)
    playbook = Playbook.objects.select_related("owner", "created_by").filter(pk=playbook_id).first()
    if playbook is None:
        raise NotFound(f"No playbook with id {playbook_id}.")
    return playbook


def run_list(*, actor: User, playbook: Playbook, status: str = "", before_id: int | None = None,
             limit: int = RUN_PAGE, token_scope: AccessLevel | None = None) -> list[PlaybookRun]:
    """Newest first; ``before_id`` pages on (the id of the last run shown)."""
    require_access(actor, AccessLevel.READ, token_scope=token_scope)
    if status and status not in RunStatus.values:
        raise ValidationFailed("Unknown status.", fields={"status": f"one of {', '.join(RunStatus.values)}"})
    rows: QuerySet[PlaybookRun] = (PlaybookRun.objects.filter(playbook=playbook).select_related("customer", "actor")
                                   .order_by("-id"))
    if status:
        rows = rows.filter(status=status)
    if before_id:
        rows = rows.filter(pk__lt=before_id)
    return list(rows[:max(1, min(limit, 500))])


def run_counts(*, playbook: Playbook) -> dict[str, int]:
    counts = Counter(dict(PlaybookRun.objects.filter(playbook=playbook).values("status")
                          .annotate(n=Count("id")).values_list("status", "n")))
    result = {status: counts.get(status, 0) for status in RunStatus.values}
    result["matched"] = sum(result[s] for s in (RunStatus.ACTED, RunStatus.HELD_OUT, RunStatus.THROTTLED,
                                                 RunStatus.FAILED))
    return result


def reference() -> dict[str, Any]:
    return {
        "triggers": [{"kind": k, "label": str(label)} for k, label in TriggerKind.choices],
        "fields": [{"field": name, "label": spec.label, "ops": list(spec.ops), "value": spec.value,
                    "keys": {k: {"min": lo, "max": hi, "default": d} for k, (lo, hi, d) in spec.extra.items()}
                    | ({"event": {"required": True}} if spec.needs_event else {})}
                   for name, spec in FIELDS.items()],
        "actions": [{"type": kind, "required": list(req), "optional": list(opt), "label": label}
                    for kind, (req, opt, label) in ACTION_TYPES.items()],
        "placeholders": CUSTOMER_PLACEHOLDERS,
        "run_statuses": [{"status": k, "label": str(label)} for k, label in RunStatus.choices],
    }


# --- Outcome ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    goal: str
    window_days: int
    uplift: Uplift
    pending_contacted: int  # exposed, but their goal window has not ended yet
    pending_holdout: int


def _exposures(playbook: Playbook) -> dict[int, tuple[bool, datetime]]:
    """Each customer's first exposure: contacted (True) or held out (False), and when."""
    rows = (PlaybookRun.objects.filter(playbook=playbook).filter(Q(status=RunStatus.HELD_OUT) | Q(contacted=True))
            .order_by("created_at", "id").values_list("customer_id", "status", "created_at"))
    first: dict[int, tuple[bool, datetime]] = {}
    for customer_id, status, created_at in rows:
        first.setdefault(customer_id, (status != RunStatus.HELD_OUT, created_at))
    return first


def _goal_reached(playbook: Playbook, mature: dict[int, tuple[bool, datetime]], window: timedelta) -> set[int]:
    if not mature:
        return set()
    if playbook.goal_kind == GoalKind.EVENT:
        start = min(t for _, t in mature.values())
        end = max(t for _, t in mature.values()) + window
        events = (Touchpoint.objects.filter(customer_id__in=list(mature), properties__event=playbook.goal_event,
                                            occurred_at__gt=start, occurred_at__lte=end)
                  .values_list("customer_id", "occurred_at"))
        return {c for c, at in events if mature[c][1] < at <= mature[c][1] + window}
    # Not churned by the end of the window: churn_outcomes per day the windows end (one query set per day).
    by_day: dict[Any, list[int]] = {}
    for customer_id, (_, exposed_at) in mature.items():
        by_day.setdefault((exposed_at + window).date(), []).append(customer_id)
    reached = set()
    for _, ids in sorted(by_day.items()):
        as_of = max(mature[c][1] for c in ids) + window
        outcomes = churn_outcomes(as_of=as_of, customer_ids=ids)
        reached.update(c for c in ids if not outcomes.get(c, False))
    return reached


def playbook_outcome(*, playbook: Playbook, now: datetime | None = None) -> Outcome:
    """Goal rate of contacted vs held-out customers whose goal window has ended, with the difference's 95% CI."""
    now = now or timezone.now()
    window = timedelta(days=playbook.goal_window_days)
    exposures = _exposures(playbook)
    mature = {c: e for c, e in exposures.items() if e[1] + window <= now}
    reached = _goal_reached(playbook, mature, window)
    contacted = [c for c, (was_contacted, _) in mature.items() if was_contacted]
    holdout = [c for c, (was_contacted, _) in mature.items() if not was_contacted]
    pending = [e[0] for c, e in exposures.items() if c not in mature]
    goal = (f"{playbook.goal_event} within {playbook.goal_window_days} days"
            if playbook.goal_kind == GoalKind.EVENT else f"not churned {playbook.goal_window_days} days later")
    result = uplift(contacted_reached=len([c for c in contacted if c in reached]), contacted_n=len(contacted),
                    holdout_reached=len([c for c in holdout if c in reached]), holdout_n=len(holdout))
    return Outcome(goal=goal, window_days=playbook.goal_window_days, uplift=result,
                   pending_contacted=sum(1 for p in pending if p), pending_holdout=sum(1 for p in pending if not p))


# --- Next best action -------------------------------------------------------------------------------------


@dataclass
class Suggestion:
    title: str
    detail: str
    playbook_id: int | None = None  # one click runs this playbook for the customer
    url: str = ""
    blocked: str = ""  # why the playbook cannot run now (holdout, cooldown)


@dataclass
class NextBestAction:
    customer: Customer
    risk: ChurnRisk | None
    open_tickets: list[Ticket] = field(default_factory=list)
    follow_ups: list[FollowUp] = field(default_factory=list)
    detractors: list[Response] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    suggestions: list[Suggestion] = field(default_factory=list)

    @property
    def open_loop_count(self) -> int:
        return len(self.open_tickets) + len(self.follow_ups) + len(self.detractors) + len(self.failures)


def next_best_action(*, actor: User, customer: Customer, exclude_ticket_id: int | None = None,
                     now: datetime | None = None, token_scope: AccessLevel | None = None) -> NextBestAction:
    """Churn risk and reasons, open loops and the suggested actions for one customer (the ticket sidebar)."""
    from .services import _throttle_reason, in_holdout

    require_access(actor, AccessLevel.READ, token_scope=token_scope)
    now = now or timezone.now()
    card = NextBestAction(customer=customer, risk=churn_risk_for(customer_id=customer.pk))
    card.open_tickets = list(visible_tickets(actor=actor, token_scope=token_scope)
                             .filter(requester_id=customer.pk, status_category__in=OPEN_CATEGORIES,
                                     merged_into__isnull=True)
                             .exclude(pk=exclude_ticket_id).select_related("status").order_by("-updated_at")[:5])
    card.follow_ups = list(FollowUp.objects.filter(response__customer_id=customer.pk,
                                                   state__in=[LoopState.OPEN, LoopState.CONTACTED])
                           .select_related("response", "ticket").order_by("-created_at")[:5])
    looped = {f.response_id for f in card.follow_ups}
    card.detractors = [r for r in Response.objects.filter(customer_id=customer.pk,
                                                          started_at__gte=now - timedelta(days=30))
                       .filter(Q(nps_score__lte=6) | Q(csat_score__lte=2)).exclude(follow_up__isnull=False)
                       .order_by("-started_at")[:5] if r.pk not in looped]
    failures = (Touchpoint.objects.filter(customer_id=customer.pk, occurred_at__gte=now - FAILURE_WINDOW,
                                          properties__event__icontains="fail")
                .order_by("-occurred_at").values_list("properties", "occurred_at")[:20])
    counted = Counter((props or {}).get("event", "") for props, _ in failures)
    latest = {}
    for props, at in failures:
        latest.setdefault((props or {}).get("event", ""), at)
    card.failures = [{"event": name, "count": n, "last": latest[name]} for name, n in counted.most_common(5)]
    card.tags = list(CustomerTag.objects.filter(customer_id=customer.pk).values_list("name", flat=True))
    for playbook in Playbook.objects.filter(is_active=True).order_by("name")[:25]:
        verdict = conditions_evaluate(playbook.conditions, playbook.match, customer, now)
        if not verdict.matched or not playbook.conditions:
            continue
        suggestion = Suggestion(title=playbook.name, detail=verdict.reason, playbook_id=playbook.pk)
        if in_holdout(playbook_id=playbook.pk, customer_id=customer.pk, percent=playbook.holdout_percent):
            suggestion.blocked = "In this playbook's holdout group: not contacted, so its effect can be measured."
        else:
            suggestion.blocked = _throttle_reason(playbook, customer.pk, now)
        card.suggestions.append(suggestion)
    if not any(not s.blocked for s in card.suggestions):
        card.suggestions.extend(_rule_suggestions(card))
    return card


def _rule_suggestions(card: NextBestAction) -> list[Suggestion]:
    """What to do when no playbook applies: close the open loops first, the riskiest first."""
    from django.urls import reverse

    hints = []
    for follow_up in card.follow_ups[:1]:
        if follow_up.ticket_id:
            hints.append(Suggestion(title=f"Close the feedback loop (ticket #{follow_up.ticket_id})",
                                    detail=follow_up.reason,
                                    url=reverse("tickets:detail", args=[follow_up.ticket_id])))
    if card.detractors:
        response = card.detractors[0]
        score = f"NPS {response.nps_score}" if response.nps_score is not None else f"CSAT {response.csat_score}"
        hints.append(Suggestion(title="Call back the unhappy customer",
                                detail=f"{score} on {response.started_at:%Y-%m-%d} with no follow-up yet."))
    if card.failures:
        failure = card.failures[0]
        hints.append(Suggestion(title=f"Offer help with {failure['event']}",
                                detail=f"{failure['count']} times in the last 7 days, last on "
                                       f"{failure['last']:%Y-%m-%d %H:%M} UTC."))
    if card.risk is not None and card.risk.level == "high":
        reasons = ", ".join(r.label for r in card.risk.reasons[:2]) or "no reasons recorded"
        hints.append(Suggestion(title="Treat as a retention case", detail=f"High churn risk ({reasons})."))
    return hints


def customer_tags(*, customer: Customer) -> list[str]:
    return list(CustomerTag.objects.filter(customer_id=customer.pk).order_by("name").values_list("name", flat=True))


def customer_runs(*, actor: User, customer: Customer, limit: int = 5,
                  token_scope: AccessLevel | None = None) -> list[PlaybookRun]:
    """The customer's latest playbook runs that matched (what was done, or why not)."""
    require_access(actor, AccessLevel.READ, token_scope=token_scope)
    return list(PlaybookRun.objects.filter(customer_id=customer.pk).exclude(status=RunStatus.NOT_MATCHED)
                .select_related("playbook").order_by("-id")[:limit])
