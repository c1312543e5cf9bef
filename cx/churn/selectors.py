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


# ----- pages and API: permission-checked reads -----

@dataclass(frozen=True)
class RiskSegment:
    level: str
    label: str
    minimum: float
    customers: int


def risk_segments(*, actor, token_scope=None) -> list[RiskSegment]:
    """How many scored customers are at high (≥ 0.7), medium (≥ 0.4) and low risk."""
    from django.db.models import Count, Q

    from cx.accounts.models import AccessLevel
    from cx.accounts.services import require_access

    require_access(actor, AccessLevel.READ, token_scope=token_scope)
    counts = ChurnScore.objects.aggregate(
        high=Count("id", filter=Q(probability__gte=HIGH_RISK)),
        medium=Count("id", filter=Q(probability__gte=MEDIUM_RISK, probability__lt=HIGH_RISK)),
        low=Count("id", filter=Q(probability__lt=MEDIUM_RISK)))
    return [RiskSegment("high", "High risk", HIGH_RISK, counts["high"]),
            RiskSegment("medium", "Medium risk", MEDIUM_RISK, counts["medium"]),
            RiskSegment("low", "Low risk", 0.0, counts["low"])]


def churn_risk_get_for(*, actor, customer_id: int, token_scope=None) -> ChurnRisk | None:
    """The customer's churn risk if the actor may read the customer (NotFound for an unknown customer)."""
    from cx.customers.selectors import customer_get_for

    customer_get_for(actor=actor, customer_id=customer_id, token_scope=token_scope)
    return churn_risk_for(customer_id=customer_id)


def at_risk_list(*, actor, minimum: float = MEDIUM_RISK, limit: int = 200, token_scope=None) -> list[dict]:
    """Scored customers at or above ``minimum``, riskiest first, with the customer's name and top reason."""
    from cx.accounts.models import AccessLevel
    from cx.accounts.services import require_access

    require_access(actor, AccessLevel.READ, token_scope=token_scope)
    rows = (ChurnScore.objects.filter(probability__gte=minimum, customer__merged_into__isnull=True,
                                      customer__erased_at__isnull=True)
            .select_related("customer").order_by("-probability", "customer_id")[:limit])
    out = []
    for row in rows:
        risk = _risk(row)
        up = [r for r in risk.reasons if r.effect > 0]
        out.append({"customer_id": row.customer_id, "customer": row.customer.name, "probability": row.probability,
                    "level": risk.level, "top_reason": up[0].label if up else None,
                    "reasons": "; ".join(r.label for r in up) or None, "scored_at": row.scored_at,
                    "model_version": row.model_version})
    return out


def model_runs(*, actor, limit: int = 20, token_scope=None):
    from cx.accounts.models import AccessLevel
    from cx.accounts.services import require_access
    from cx.churn.models import ChurnModelRun

    require_access(actor, AccessLevel.READ, token_scope=token_scope)
    return list(ChurnModelRun.objects.defer("artifact").order_by("-created_at", "-id")[:limit])


def latest_ready_run():
    from cx.churn.models import ChurnModelRun, RunStatus

    return (ChurnModelRun.objects.defer("artifact").filter(status=RunStatus.READY)
            .order_by("-finished_at", "-id").first())
