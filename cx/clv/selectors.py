"""Read CLV figures: the latest fit, per-customer values, the top customers and the distribution."""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.db.models import Q

from cx.accounts.models import AccessLevel, User
from cx.accounts.services import require_access
from cx.clv.models import ClvModelFit, CustomerClv, FitStatus
from cx.core.errors import NotFound, ValidationFailed
from cx.core.pagination import cursor_decode, cursor_encode

MAX_PAGE_SIZE = 200


def latest_fit(*, actor: User, token_scope: AccessLevel | None = None) -> ClvModelFit | None:
    """The most recent run, fitted or not (a failed run means there are no current figures)."""
    require_access(actor, AccessLevel.READ, token_scope=token_scope)
    return ClvModelFit.objects.select_related("requested_by").first()


def fit_history(*, actor: User, limit: int = 10) -> list[ClvModelFit]:
    require_access(actor, AccessLevel.READ)
    return list(ClvModelFit.objects.select_related("requested_by")[:limit])


def customer_clv_for(*, actor: User, customer_id: int, token_scope: AccessLevel | None = None) -> CustomerClv | None:
    """The customer's figures from the current fit, or None (no orders, or no current fit)."""
    require_access(actor, AccessLevel.READ, token_scope=token_scope)
    return CustomerClv.objects.select_related("fit").filter(customer_id=customer_id,
                                                            fit__status=FitStatus.FITTED).first()


def customer_clv_get_for(*, actor: User, customer_id: int, token_scope: AccessLevel | None = None) -> CustomerClv:
    row = customer_clv_for(actor=actor, customer_id=customer_id, token_scope=token_scope)
    if row is None:
        raise NotFound("No CLV for this customer: no orders, or the model has not been fitted.")
    return row


def _ordering(fit: ClvModelFit | None) -> str:
    """Rank by CLV when the spend model fitted, else by expected purchases."""
    return "clv" if fit is not None and fit.gamma_gamma else "expected_purchases"


def top_customers(*, actor: User, limit: int = 20) -> list[CustomerClv]:
    fit = latest_fit(actor=actor)
    if fit is None or not fit.is_fitted:
        return []
    key = _ordering(fit)
    return list(CustomerClv.objects.select_related("customer").filter(fit=fit)
                .order_by(f"-{key}", "customer_id")[:limit])


@dataclass
class CustomerClvPage:
    items: list[CustomerClv]
    next_cursor: str | None
    ranked_by: str


def customer_clv_page(*, actor: User, cursor: str | None = None, limit: int = 50,
                      token_scope: AccessLevel | None = None) -> CustomerClvPage:
    """Customers by CLV (or expected purchases without a spend model), highest first, keyset-paginated."""
    fit = latest_fit(actor=actor, token_scope=token_scope)
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValidationFailed("Page size out of range.", fields={"limit": f"1 to {MAX_PAGE_SIZE}"})
    key = _ordering(fit)
    if fit is None or not fit.is_fitted:
        return CustomerClvPage(items=[], next_cursor=None, ranked_by=key)
    qs = CustomerClv.objects.select_related("customer").filter(fit=fit)
    if cursor:
        value, last_id = cursor_decode(cursor, size=2)
        if not isinstance(value, int | float) or isinstance(value, bool) or not isinstance(last_id, int):
            raise ValidationFailed("The cursor is not valid.", fields={"cursor": "malformed cursor"})
        qs = qs.filter(Q(**{f"{key}__lt": value}) | Q(**{key: value, "customer_id__gt": last_id}))
    rows = list(qs.order_by(f"-{key}", "customer_id")[: limit + 1])
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = cursor_encode([getattr(rows[-1], key), rows[-1].customer_id])
    return CustomerClvPage(items=rows, next_cursor=next_cursor, ranked_by=key)


@dataclass(frozen=True)
class Bin:
    low: float
    high: float
    customers: int

    @property
    def label(self) -> str:
        return f"{self.low:,.0f}-{self.high:,.0f}"


def clv_distribution(*, actor: User, bins: int = 12) -> list[Bin]:
    """Customers per CLV band (equal-width bands from 0 to the 99th percentile; the last band takes the rest,
    so a few very large customers do not squash the chart)."""
    fit = latest_fit(actor=actor)
    if fit is None or not fit.is_fitted or not fit.gamma_gamma:
        return []
    values = sorted(v for v in CustomerClv.objects.filter(fit=fit).values_list("clv", flat=True) if v is not None)
    if not values:
        return []
    cap = values[min(len(values) - 1, math.ceil(0.99 * len(values)) - 1)]
    if cap <= 0:
        return [Bin(0.0, values[-1], len(values))]
    width = cap / bins
    counts = [0] * bins
    for value in values:
        counts[min(bins - 1, int(value // width))] += 1
    return [Bin(i * width, (i + 1) * width if i < bins - 1 else max(values[-1], cap), count)
            for i, count in enumerate(counts)]
