"""Reading a customer's timeline, newest first, with keyset pagination."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import Count, Q

from cx.accounts.models import AccessLevel, User
from cx.accounts.services import require_access
from cx.core.errors import ValidationFailed
from cx.core.pagination import cursor_decode_time_id, cursor_encode
from cx.journeys.models import Stage, Touchpoint

MAX_PAGE_SIZE = 200
# Customer 360 filters: what kind of interaction a touchpoint is (tracked events, tickets, chats, calls, ...).
CATEGORIES: dict[str, tuple[str, Q]] = {
    "tracked": ("Tracked events", Q(source__startswith="tracking:")),
    "tickets": ("Tickets", Q(kind__startswith="ticket.")),
    "chats": ("Chats", Q(kind__startswith="chat.") | Q(channel="chat")),
    "calls": ("Calls", Q(kind__startswith="call.") | Q(channel="phone")),
    "surveys": ("Survey answers", Q(kind__startswith="survey")),
    "orders": ("Orders", Q(kind__contains="order")),
}


@dataclass(frozen=True)
class TimelinePage:
    items: list[Touchpoint]
    next_cursor: str | None


def timeline_page(*, actor: User, customer_id: int, cursor: str | None = None, limit: int = 25,
                  stage: str | None = None, token_scope: AccessLevel | None = None, category: str | None = None,
                  channel: str | None = None) -> TimelinePage:
    require_access(actor, AccessLevel.READ, token_scope=token_scope)
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValidationFailed("Page size out of range.", fields={"limit": f"1 to {MAX_PAGE_SIZE}"})
    qs = Touchpoint.objects.filter(customer_id=customer_id)
    if stage:
        if stage not in Stage.values:
            raise ValidationFailed("Unknown stage.", fields={"stage": f"one of {', '.join(Stage.values)}"})
        qs = qs.filter(stage=stage)
    if category:
        if category not in CATEGORIES:
            raise ValidationFailed("Unknown kind of touchpoint.",
                                   fields={"category": f"one of {', '.join(CATEGORIES)}"})
        qs = qs.filter(CATEGORIES[category][1])
    if channel:
        qs = qs.filter(channel=channel)
    if cursor:
        occurred, last_id = cursor_decode_time_id(cursor)
        qs = qs.filter(Q(occurred_at__lt=occurred) | Q(occurred_at=occurred, id__lt=last_id))
    rows = list(qs.order_by("-occurred_at", "-id")[: limit + 1])
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = cursor_encode([rows[-1].occurred_at, rows[-1].pk])
    return TimelinePage(items=rows, next_cursor=next_cursor)


def timeline_channels(*, customer_id: int) -> list[str]:
    return sorted(set(Touchpoint.objects.filter(customer_id=customer_id).values_list("channel", flat=True)))


def stage_counts(*, customer_id: int) -> dict[str, int]:
    counts = dict(
        Touchpoint.objects.filter(customer_id=customer_id).values_list("stage").annotate(n=Count("id"))
    )
    return {stage: counts.get(stage, 0) for stage in Stage.values}


# --- Orders: the purchases CLV, spend and repeat-purchase figures are computed from ---------------------

AMOUNT_KEYS = ("revenue", "total", "value", "amount")


@dataclass(frozen=True)
class Order:
    customer_id: int
    occurred_at: datetime
    amount: float | None  # None when the event carries no usable amount


def order_amount(properties: dict) -> float | None:
    """The first numeric property among revenue, total, value, amount (Segment's and common shop names)."""
    for key in AMOUNT_KEYS:
        value = properties.get(key)
        if isinstance(value, bool) or value is None:
            continue
        try:
            return float(value)
        except (TypeError, ValueError):
            continue
    return None


def order_events() -> list[str]:
    return list(settings.CXDESK_ORDER_EVENTS)


def orders(*, since: datetime | None = None, until: datetime | None = None,
           customer_ids: Iterable[int] | None = None) -> list[Order]:
    """Purchases: touchpoints whose tracked event is one of CXDESK_ORDER_EVENTS, oldest first."""
    rows = Touchpoint.objects.filter(properties__event__in=order_events())
    if since is not None:
        rows = rows.filter(occurred_at__gte=since)
    if until is not None:
        rows = rows.filter(occurred_at__lte=until)
    if customer_ids is not None:
        rows = rows.filter(customer_id__in=list(customer_ids))
    return [Order(customer_id=c, occurred_at=at, amount=order_amount(props or {}))
            for c, at, props in rows.order_by("occurred_at", "id").values_list("customer_id", "occurred_at",
                                                                              "properties").iterator()]
