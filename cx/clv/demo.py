"""Demo data for CLV. The demo shop's tracked purchases reach customer timelines as ``order_completed`` and
``repeat_order`` touchpoints whose properties carry the total but not the event name, so the order selector
(``properties.event`` in CXDESK_ORDER_EVENTS) does not see them. Each one is mirrored once as an order event
(idempotent by external id), then the model is fitted so ``make run`` shows CLV figures."""

from __future__ import annotations

from django.db import transaction

from cx.clv.models import ClvModelFit
from cx.clv.services import clv_refit
from cx.journeys.models import Touchpoint
from cx.journeys.selectors import order_amount, order_events
from cx.journeys.services import touchpoint_record

DEMO_ORDER_KINDS = ("order_completed", "repeat_order")
SOURCE = "demo:clv"


@transaction.atomic
def clv_demo_seed() -> ClvModelFit | None:
    """Returns the new fit, or None when nothing changed since the last run (running it twice adds nothing)."""
    events = order_events()
    if not events:
        return None
    before = Touchpoint.objects.filter(source=SOURCE).count()
    purchases = (Touchpoint.objects.filter(kind__in=DEMO_ORDER_KINDS, source__startswith="tracking:")
                 .select_related("customer").order_by("pk"))
    for row in purchases.iterator():
        properties = row.properties or {}
        if properties.get("event") in events:
            continue  # already an order event
        touchpoint_record(customer=row.customer, kind="order_completed", channel=row.channel, stage="purchase",
                          occurred_at=row.occurred_at, source=SOURCE, external_id=f"order-{row.pk}",
                          properties={"event": events[0], "total": order_amount(properties),
                                      "demo_kind": row.kind})
    if ClvModelFit.objects.exists() and Touchpoint.objects.filter(source=SOURCE).count() == before:
        return None
    return clv_refit(actor=None, trigger="demo")
