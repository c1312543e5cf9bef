"""Read churn-risk predictions: other apps (playbooks, next best action, dashboards) use only these."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Max

from cx.churn.models import ChurnScore
from cx.journeys.models import Touchpoint
from cx.journeys.selectors import order_events

HIGH_RISK = 0.7
MEDIUM_RISK = 0.4


@dataclass(frozen=True)
class ChurnReason:
    feature: str
    label: str
    effect: float


@dataclass(frozen=True)
class ChurnRisk:
    customer_id: int
    probability: float
    scored_at: datetime
    model_version: str
    reasons: list[ChurnReason] = field(default_factory=list)

    @property
    def level(self) -> str:
        """high (≥ 0.7), medium (≥ 0.4) or low: the segments shown on dashboards and in the sidebar."""
        if self.probability >= HIGH_RISK:
            return "high"
        return "medium" if self.probability >= MEDIUM_RISK else "low"


def _risk(row: ChurnScore) -> ChurnRisk:
    reasons = [ChurnReason(feature=r.get("feature", ""), label=r.get("label", ""), effect=float(r.get("effect", 0)))
               for r in row.reasons or []]
    return ChurnRisk(customer_id=row.customer_id, probability=row.probability, scored_at=row.scored_at,
                     model_version=row.model_version, reasons=reasons)


def churn_risk_for(*, customer_id: int) -> ChurnRisk | None:
    """The customer's latest churn risk, or None when the customer has not been scored (yet)."""
    row = ChurnScore.objects.filter(customer_id=customer_id).first()
    return _risk(row) if row else None


def churn_risks_for(*, customer_ids: Iterable[int]) -> dict[int, ChurnRisk]:
    return {row.customer_id: _risk(row) for row in ChurnScore.objects.filter(customer_id__in=list(customer_ids))}


def customers_at_risk(*, minimum: float = HIGH_RISK, limit: int = 500) -> list[ChurnRisk]:
    rows = ChurnScore.objects.filter(probability__gte=minimum).order_by("-probability", "customer_id")[:limit]
    return [_risk(row) for row in rows]


def churn_outcomes(*, as_of: datetime, customer_ids: Iterable[int] | None = None) -> dict[int, bool]:
    """Who had churned by ``as_of``, for every customer with a touchpoint at or before it.

    Churned: a tracked event in CXDESK_CHURN_EVENTS not followed by a purchase (a win-back), or no touchpoint
    at all in the CXDESK_CHURN_INACTIVE_DAYS before ``as_of``. The one definition every churn figure uses.
    """
    rows = Touchpoint.objects.filter(occurred_at__lte=as_of)
    if customer_ids is not None:
        rows = rows.filter(customer_id__in=list(customer_ids))
    last_seen = dict(rows.values("customer_id").annotate(last=Max("occurred_at")).values_list("customer_id", "last"))
    cancelled = dict(rows.filter(properties__event__in=list(settings.CXDESK_CHURN_EVENTS))
                     .values("customer_id").annotate(at=Max("occurred_at")).values_list("customer_id", "at"))
    last_order = dict(rows.filter(properties__event__in=order_events(), customer_id__in=list(cancelled))
                      .values("customer_id").annotate(at=Max("occurred_at")).values_list("customer_id", "at"))
    inactive_since = as_of - timedelta(days=settings.CXDESK_CHURN_INACTIVE_DAYS)
    outcomes = {}
    for customer_id, last in last_seen.items():
        left = customer_id in cancelled and not (last_order.get(customer_id) and
                                                  last_order[customer_id] > cancelled[customer_id])
        outcomes[customer_id] = left or last < inactive_since
    return outcomes
