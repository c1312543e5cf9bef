"""Per-customer churn features computed from the instance's own data *as of* a moment.

Point in time: every figure uses only what had happened at or before ``as_of`` (tickets created, first responses
given, SLA clocks breached, survey answers started, touchpoints and orders that occurred by then), so a model
trained on features as of a past date and labelled with ``churn_outcomes`` a horizon later never sees the
future it predicts.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from cx.churn.schema import Schema
from cx.journeys.models import Stage, Touchpoint
from cx.journeys.selectors import orders
from cx.sla.models import SlaClock
from cx.surveys.models import Response
from cx.tickets.models import Ticket

WINDOW_DAYS = 90
SURVEY_WINDOW_DAYS = 365

NUMERIC = (
    "contacts_90d", "median_first_response_hours", "sla_breaches_90d", "reopens_90d", "open_tickets", "csat_avg",
    "last_nps", "last_ces", "days_since_last_touchpoint", "touchpoints_90d", "orders_90d", "spend_90d",
    "tenure_days",
)
CATEGORICAL = ("stage",)
SCHEMA = Schema(numeric=NUMERIC, categorical=CATEGORICAL)
NO_STAGE = "none"

# What each feature is, for the global "what drives churn" table.
FEATURE_NAMES = {
    "contacts_90d": "Contacts (tickets) in the last 90 days",
    "median_first_response_hours": "Median first response time experienced",
    "sla_breaches_90d": "SLA breaches in the last 90 days",
    "reopens_90d": "Reopened tickets in the last 90 days",
    "open_tickets": "Open tickets",
    "csat_avg": "CSAT average (last year)",
    "last_nps": "Last NPS answer",
    "last_ces": "Last CES answer",
    "days_since_last_touchpoint": "Days since the last touchpoint",
    "touchpoints_90d": "Touchpoints in the last 90 days",
    "orders_90d": "Orders in the last 90 days",
    "spend_90d": "Spend in the last 90 days",
    "tenure_days": "Days since the first touchpoint",
    "stage": "Latest journey stage",
}


@dataclass
class CustomerFeatures:
    customer_id: int
    values: dict[str, float | str]

    def row(self) -> list:
        return [self.values[name] for name in SCHEMA.columns]


def _plural(n: float, one: str, many: str) -> str:
    count = round(n)
    return f"{count} {one if count == 1 else many}"


def feature_label(feature: str, value) -> str:
    """A person's reading of one feature value, e.g. "3 SLA breaches in 90 days"."""
    missing = value is None or (isinstance(value, float) and math.isnan(value))
    if feature == "stage":
        return "No journey stage yet" if value in (None, "", NO_STAGE) else \
            f"Journey stage: {Stage(value).label if value in Stage.values else value}"
    if missing:
        return {"median_first_response_hours": "No answered tickets in 90 days",
                "csat_avg": "No CSAT answers in the last year", "last_nps": "No NPS answer",
                "last_ces": "No CES answer", "days_since_last_touchpoint": "No activity recorded",
                "tenure_days": "No activity recorded"}.get(feature, f"{FEATURE_NAMES.get(feature, feature)}: no data")
    value = float(value)
    if feature == "contacts_90d":
        return _plural(value, "contact", "contacts") + " in 90 days"
    if feature == "median_first_response_hours":
        return f"Median first response {value:.1f} h" if value >= 1 else f"Median first response {value * 60:.0f} min"
    if feature == "sla_breaches_90d":
        return _plural(value, "SLA breach", "SLA breaches") + " in 90 days"
    if feature == "reopens_90d":
        return _plural(value, "reopened ticket", "reopened tickets") + " in 90 days"
    if feature == "open_tickets":
        return _plural(value, "open ticket", "open tickets")
    if feature == "csat_avg":
        return f"CSAT average {value:.1f}/5"
    if feature == "last_nps":
        kind = "promoter" if value >= 9 else "passive" if value >= 7 else "detractor"
        return f"Last NPS {value:.0f} ({kind})"
    if feature == "last_ces":
        return f"Last CES {value:.0f}/7"
    if feature == "days_since_last_touchpoint":
        return "Active today" if value < 1 else f"Last activity {_plural(value, 'day', 'days')} ago"
    if feature == "touchpoints_90d":
        return _plural(value, "touchpoint", "touchpoints") + " in 90 days"
    if feature == "orders_90d":
        return _plural(value, "order", "orders") + " in 90 days"
    if feature == "spend_90d":
        return f"Spent {value:,.2f} in 90 days"
    if feature == "tenure_days":
        return f"Customer for {_plural(value, 'day', 'days')}"
    return f"{FEATURE_NAMES.get(feature, feature)}: {value:g}"


def _median(values: list[float]) -> float:
    return float(statistics.median(values)) if values else math.nan


def _mean(values: list[float]) -> float:
    return float(statistics.fmean(values)) if values else math.nan


def customer_features(*, as_of: datetime, customer_ids: Iterable[int]) -> list[CustomerFeatures]:
    """Features of each given customer as of ``as_of`` (in the given order)."""
    ids = list(dict.fromkeys(customer_ids))
    if not ids:
        return []
    since = as_of - timedelta(days=WINDOW_DAYS)
    contacts: dict[int, int] = defaultdict(int)
    first_response: dict[int, list[float]] = defaultdict(list)
    open_tickets: dict[int, int] = defaultdict(int)
    tickets = Ticket.objects.filter(requester_id__in=ids, created_at__lte=as_of, merged_into__isnull=True)
    for customer_id, created, responded, solved in tickets.values_list("requester_id", "created_at",
                                                                       "first_response_at", "solved_at"):
        if created > since:
            contacts[customer_id] += 1
            if responded is not None and responded <= as_of:
                first_response[customer_id].append((responded - created).total_seconds() / 3600)
        if solved is None or solved > as_of:
            open_tickets[customer_id] += 1
    breaches: dict[int, int] = defaultdict(int)
    for customer_id in SlaClock.objects.filter(ticket_sla__ticket__requester_id__in=ids, breached_at__gt=since,
                                               breached_at__lte=as_of).values_list("ticket_sla__ticket__requester_id",
                                                                                   flat=True):
        breaches[customer_id] += 1

    csat: dict[int, list[float]] = defaultdict(list)
    last_nps: dict[int, float] = {}
    last_ces: dict[int, float] = {}
    responses = Response.objects.filter(customer_id__in=ids, started_at__lte=as_of).order_by("started_at", "id")
    survey_since = as_of - timedelta(days=SURVEY_WINDOW_DAYS)
    for customer_id, started, nps, csat_score, ces in responses.values_list("customer_id", "started_at", "nps_score",
                                                                            "csat_score", "ces_score"):
        if csat_score is not None and started > survey_since:
            csat[customer_id].append(float(csat_score))
        if nps is not None:
            last_nps[customer_id] = float(nps)  # ordered oldest first: the last one wins
        if ces is not None:
            last_ces[customer_id] = float(ces)

    first_seen: dict[int, datetime] = {}
    last_seen: dict[int, datetime] = {}
    stage: dict[int, str] = {}
    touchpoints_90d: dict[int, int] = defaultdict(int)
    reopens: dict[int, int] = defaultdict(int)
    rows = Touchpoint.objects.filter(customer_id__in=ids, occurred_at__lte=as_of).order_by("occurred_at", "id")
    for customer_id, occurred, kind, stage_value in rows.values_list("customer_id", "occurred_at", "kind",
                                                                     "stage").iterator():
        first_seen.setdefault(customer_id, occurred)
        last_seen[customer_id] = occurred
        if stage_value:
            stage[customer_id] = stage_value
        if occurred > since:
            touchpoints_90d[customer_id] += 1
            if kind == "ticket.reopened":
                reopens[customer_id] += 1
    order_count: dict[int, int] = defaultdict(int)
    spend: dict[int, float] = defaultdict(float)
    for order in orders(since=since + timedelta(microseconds=1), until=as_of, customer_ids=ids):
        order_count[order.customer_id] += 1
        spend[order.customer_id] += order.amount or 0.0

    def days(since_when: datetime | None) -> float:
        return (as_of - since_when).total_seconds() / 86400 if since_when else math.nan

    out = []
    for customer_id in ids:
        out.append(CustomerFeatures(customer_id=customer_id, values={
            "contacts_90d": float(contacts[customer_id]),
            "median_first_response_hours": _median(first_response[customer_id]),
            "sla_breaches_90d": float(breaches[customer_id]),
            "reopens_90d": float(reopens[customer_id]),
            "open_tickets": float(open_tickets[customer_id]),
            "csat_avg": _mean(csat[customer_id]),
            "last_nps": last_nps.get(customer_id, math.nan),
            "last_ces": last_ces.get(customer_id, math.nan),
            "days_since_last_touchpoint": days(last_seen.get(customer_id)),
            "touchpoints_90d": float(touchpoints_90d[customer_id]),
            "orders_90d": float(order_count[customer_id]),
            "spend_90d": float(spend[customer_id]),
            "tenure_days": days(first_seen.get(customer_id)),
            "stage": stage.get(customer_id, NO_STAGE),
        }))
    return out
