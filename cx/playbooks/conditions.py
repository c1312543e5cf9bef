"""Playbook conditions: what they may say (checked when a playbook is saved, naming the failing path) and
whether a customer meets them now (evaluated against events, churn scores, tickets, SLAs and survey answers).

A condition is ``{"field": ..., "op": ..., "value": ...}`` plus the field's own keys, e.g.
``{"field": "event_count", "event": "checkout_failed", "window_hours": 24, "op": ">=", "value": 2}``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cx.churn.selectors import churn_risk_for
from cx.core.errors import ValidationFailed
from cx.customers.models import Customer, Organization
from cx.journeys.models import Touchpoint
from cx.sla.models import SlaClock
from cx.surveys.models import Response
from cx.tickets.models import StatusCategory, Ticket

from .models import CustomerTag

MAX_CONDITIONS = 20
OPEN_CATEGORIES = (StatusCategory.NEW, StatusCategory.OPEN, StatusCategory.PENDING, StatusCategory.ON_HOLD)
NUMERIC_OPS: dict[str, Callable[[Any, Any], bool]] = {
    ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le, "=": operator.eq, "!=": operator.ne}
TAG_OPS = ("has", "has_not")
ORG_OPS = ("is", "is_not")


@dataclass(frozen=True)
class FieldSpec:
    label: str
    ops: tuple[str, ...]
    value: str  # what the value must be, shown in errors and the reference
    low: float | None = None
    high: float | None = None
    integer: bool = True
    extra: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # key -> (low, high, default)
    needs_event: bool = False


FIELDS: dict[str, FieldSpec] = {
    "event_count": FieldSpec("How often the customer did a tracked event within a window", tuple(NUMERIC_OPS),
                             "a whole number from 0 to 1000", 0, 1000,
                             extra={"window_hours": (1, 24 * 365, 24)}, needs_event=True),
    "churn_risk": FieldSpec("Churn risk (calibrated probability 0-1; unscored customers never match)",
                            tuple(NUMERIC_OPS), "a number from 0 to 1", 0.0, 1.0, integer=False),
    "open_tickets": FieldSpec("Number of the customer's unsolved tickets (new, open, pending, on hold)",
                              tuple(NUMERIC_OPS), "a whole number from 0 to 1000", 0, 1000),
    "sla_breaches": FieldSpec("SLA targets breached on the customer's tickets within a window",
                              tuple(NUMERIC_OPS), "a whole number from 0 to 1000", 0, 1000,
                              extra={"window_hours": (1, 24 * 365, 24 * 7)}),
    "nps_score": FieldSpec("The customer's latest NPS answer (0-10) within a window; detractor: <= 6",
                           tuple(NUMERIC_OPS), "a whole number from 0 to 10", 0, 10,
                           extra={"window_days": (1, 365, 30)}),
    "csat_score": FieldSpec("The customer's latest CSAT answer (1-5) within a window", tuple(NUMERIC_OPS),
                            "a whole number from 1 to 5", 1, 5, extra={"window_days": (1, 365, 30)}),
    "ces_score": FieldSpec("The customer's latest CES answer (1-7) within a window", tuple(NUMERIC_OPS),
                           "a whole number from 1 to 7", 1, 7, extra={"window_days": (1, 365, 30)}),
    "customer_tag": FieldSpec("The customer has (or has not) a tag", TAG_OPS, "a tag"),
    "organization": FieldSpec("The customer's organisation (segment)", ORG_OPS, "an organisation id"),
}


def normal_tag(tag: str) -> str:
    return "-".join(str(tag).strip().lower().split())


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _condition_problems(condition: Any, path: str) -> dict[str, str]:
    if not isinstance(condition, dict):
        return {path: 'an object like {"field": "churn_risk", "op": ">", "value": 0.7}'}
    name = condition.get("field")
    spec = FIELDS.get(name) if isinstance(name, str) else None
    if spec is None:
        return {f"{path}.field": f"unknown field {name!r}; one of {', '.join(FIELDS)}" if name else "required"}
    allowed = {"field", "op", "value", *spec.extra, *(("event",) if spec.needs_event else ())}
    extra = sorted(set(condition) - allowed)
    if extra:
        return {f"{path}.{extra[0]}": f"unknown key for {name} (use {', '.join(sorted(allowed))})"}
    op = condition.get("op")
    if op not in spec.ops:
        return {f"{path}.op": f"one of {', '.join(spec.ops)}" if op is not None else "required"}
    if spec.needs_event:
        event = condition.get("event")
        if not isinstance(event, str) or not event.strip() or len(event) > 200:
            return {f"{path}.event": "the tracked event's name, e.g. checkout_failed (1 to 200 characters)"}
    for key, (low, high, _) in spec.extra.items():
        if key in condition:
            value = condition[key]
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                return {f"{path}.{key}": f"a whole number from {low} to {high}"}
    if "value" not in condition:
        return {f"{path}.value": "required"}
    value = condition["value"]
    if name == "customer_tag":
        ok = isinstance(value, str) and 0 < len(normal_tag(value)) <= 50
        return {} if ok else {f"{path}.value": "a tag of 1 to 50 characters"}
    if name == "organization":
        ok = isinstance(value, int) and not isinstance(value, bool) and Organization.objects.filter(pk=value).exists()
        return {} if ok else {f"{path}.value": "no such organisation"}
    if not _number(value) or (spec.integer and value != int(value)) or not spec.low <= value <= spec.high:
        return {f"{path}.value": f"out of range: {spec.value}"}
    return {}


def conditions_validate(raw: Any, *, path: str = "conditions", required: bool = False) -> list[dict[str, Any]]:
    """The conditions in their stored form (defaults filled in), or ValidationFailed naming every bad path."""
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        raise ValidationFailed("Conditions must be a list.", fields={path: "a list of conditions"})
    if required and not raw:
        raise ValidationFailed("A periodic playbook needs at least one condition.",
                               fields={path: "at least one condition (a sweep without conditions would contact "
                                             "everyone)"})
    if len(raw) > MAX_CONDITIONS:
        raise ValidationFailed("Too many conditions.", fields={path: f"at most {MAX_CONDITIONS}"})
    errors: dict[str, str] = {}
    cleaned = []
    for index, condition in enumerate(raw):
        problems = _condition_problems(condition, f"{path}[{index}]")
        errors.update(problems)
        if problems:
            continue
        spec = FIELDS[condition["field"]]
        item = {key: default for key, (_, _, default) in spec.extra.items()}
        item.update(condition)
        if item["field"] == "customer_tag":
            item["value"] = normal_tag(item["value"])
        if spec.needs_event:
            item["event"] = item["event"].strip()
        cleaned.append(item)
    if errors:
        raise ValidationFailed("Some conditions are invalid.", fields=errors)
    return cleaned


# --- Evaluation -------------------------------------------------------------------------------------------


@dataclass
class Verdict:
    matched: bool
    reason: str


def _measure(condition: dict[str, Any], customer: Customer, at: datetime) -> tuple[Any, str]:
    """The customer's value for the condition's field at ``at`` and how to describe it."""
    name = condition["field"]
    if name == "event_count":
        since = at - timedelta(hours=condition["window_hours"])
        count = Touchpoint.objects.filter(customer_id=customer.pk, properties__event=condition["event"],
                                          occurred_at__gt=since, occurred_at__lte=at).count()
        return count, f"{condition['event']} {count} times in {condition['window_hours']} h"
    if name == "churn_risk":
        risk = churn_risk_for(customer_id=customer.pk)
        return (risk.probability if risk else None), (f"churn risk {risk.probability:.2f}" if risk else
                                                      "no churn score")
    if name == "open_tickets":
        count = Ticket.objects.filter(requester_id=customer.pk, status_category__in=OPEN_CATEGORIES,
                                      merged_into__isnull=True).count()
        return count, f"{count} open ticket(s)"
    if name == "sla_breaches":
        since = at - timedelta(hours=condition["window_hours"])
        count = SlaClock.objects.filter(ticket_sla__ticket__requester_id=customer.pk, breached_at__gt=since,
                                        breached_at__lte=at).count()
        return count, f"{count} SLA breach(es) in {condition['window_hours']} h"
    if name in ("nps_score", "csat_score", "ces_score"):
        since = at - timedelta(days=condition["window_days"])
        score = (Response.objects.filter(customer_id=customer.pk, **{f"{name}__isnull": False},
                                         started_at__gt=since, started_at__lte=at + timedelta(minutes=5))
                 .order_by("-started_at", "-id").values_list(name, flat=True).first())
        label = name.split("_")[0].upper()
        return score, (f"latest {label} {score}" if score is not None else f"no {label} answer in "
                                                                            f"{condition['window_days']} days")
    if name == "customer_tag":
        has = CustomerTag.objects.filter(customer_id=customer.pk, name=condition["value"]).exists()
        return has, f"tag {condition['value']} {'present' if has else 'absent'}"
    if name == "organization":
        return customer.organization_id, f"organisation {customer.organization_id or 'none'}"
    raise ValueError(name)


def condition_holds(condition: dict[str, Any], customer: Customer, at: datetime) -> tuple[bool, str]:
    value, description = _measure(condition, customer, at)
    op = condition["op"]
    if condition["field"] == "customer_tag":
        holds = value if op == "has" else not value
    elif condition["field"] == "organization":
        holds = (value == condition["value"]) == (op == "is")
    elif value is None:
        holds = False
    else:
        holds = NUMERIC_OPS[op](value, condition["value"])
    wanted = f"{op} {condition['value']}"
    return holds, f"{description} ({'meets' if holds else 'not'} {wanted})"


def conditions_evaluate(conditions: list[dict[str, Any]], match: str, customer: Customer,
                        at: datetime) -> Verdict:
    """All (or any) conditions against the customer; the reason lists what was measured."""
    if not conditions:
        return Verdict(True, "no conditions")
    reasons = []
    results = []
    for condition in conditions:
        holds, reason = condition_holds(condition, customer, at)
        results.append(holds)
        reasons.append(reason)
        if match == "all" and not holds:
            break  # the rest cannot change the verdict
        if match == "any" and holds:
            break
    matched = all(results) if match == "all" else any(results)
    return Verdict(matched, "; ".join(reasons))


def condition_candidates(condition: dict[str, Any], now: datetime, limit: int) -> set[int] | None:
    """Customers who may meet one condition (for the periodic sweep); None when the field cannot narrow."""
    name = condition["field"]
    op = condition["op"]
    positive = op in (">", ">=", "=") or op in ("has", "is")
    if not positive or (op in (">", ">=") and condition["value"] <= 0 and name != "churn_risk"):
        return None
    if name == "churn_risk":
        from cx.churn.selectors import customers_at_risk

        minimum = condition["value"] if op != ">" else condition["value"] + 1e-9
        return {r.customer_id for r in customers_at_risk(minimum=minimum, limit=limit)}
    if name == "event_count":
        since = now - timedelta(hours=condition["window_hours"])
        rows = Touchpoint.objects.filter(properties__event=condition["event"], occurred_at__gt=since)
    elif name == "open_tickets":
        rows = Ticket.objects.filter(status_category__in=OPEN_CATEGORIES).values_list("requester_id", flat=True)
        return set(rows.distinct()[:limit])
    elif name == "sla_breaches":
        since = now - timedelta(hours=condition["window_hours"])
        return set(SlaClock.objects.filter(breached_at__gt=since)
                   .values_list("ticket_sla__ticket__requester_id", flat=True).distinct()[:limit])
    elif name in ("nps_score", "csat_score", "ces_score"):
        since = now - timedelta(days=condition["window_days"])
        return set(Response.objects.filter(started_at__gt=since, **{f"{name}__isnull": False})
                   .values_list("customer_id", flat=True).distinct()[:limit])
    elif name == "customer_tag":
        return set(CustomerTag.objects.filter(name=condition["value"]).values_list("customer_id", flat=True)[:limit])
    elif name == "organization":
        return set(Customer.objects.filter(organization_id=condition["value"]).values_list("pk", flat=True)[:limit])
    else:
        return None
    return set(rows.values_list("customer_id", flat=True).distinct()[:limit])
