"""The timeline spine: validated, append-only, idempotent by external id, atomic with its cause."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from cx.core.errors import ValidationFailed
from cx.customers.services import customer_create
from cx.journeys.models import Touchpoint
from cx.journeys.selectors import stage_counts, timeline_page
from cx.journeys.services import touchpoint_record


@pytest.fixture
def ana(agent_user):
    return customer_create(actor=agent_user, display_name="Ana", identities=[{"kind": "email", "value": "a@x.io"}])


def test_touchpoints_are_append_only(ana):
    tp = touchpoint_record(customer=ana, kind="ticket.created", channel="email", stage="support", source="tickets")
    tp.kind = "something.else"
    with pytest.raises(ValueError, match="append-only"):
        tp.save()


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("kind", {"kind": "Not A Slug"}),
        ("channel", {"channel": ""}),
        ("stage", {"stage": "nirvana"}),
        ("occurred_at", {"occurred_at": timezone.now() + timedelta(days=2)}),
        ("properties", {"properties": {"blob": "x" * 20000}}),
        ("properties", {"properties": ["not", "a", "dict"]}),
    ],
)
def test_invalid_touchpoints_are_refused_and_nothing_is_stored(ana, field, kwargs):
    values = {"kind": "page.viewed", "channel": "web", "stage": "awareness", "source": "test", **kwargs}
    with pytest.raises(ValidationFailed) as exc:
        touchpoint_record(customer=ana, **values)
    assert field in exc.value.fields
    assert Touchpoint.objects.count() == 0


def test_the_same_external_id_is_recorded_once(ana):
    first = touchpoint_record(customer=ana, kind="order.completed", channel="web", stage="purchase", source="shop",
                              external_id="order-1")
    again = touchpoint_record(customer=ana, kind="order.completed", channel="web", stage="purchase", source="shop",
                              external_id="order-1")
    assert first.pk == again.pk and Touchpoint.objects.count() == 1


def test_a_rolled_back_cause_leaves_no_touchpoint(ana):
    with pytest.raises(RuntimeError), transaction.atomic():
        touchpoint_record(customer=ana, kind="ticket.created", channel="email", stage="support", source="tickets")
        raise RuntimeError("the ticket could not be saved")
    assert Touchpoint.objects.count() == 0


def test_timeline_pages_newest_first_without_gaps_or_repeats(ana, agent_user):
    base = timezone.now() - timedelta(days=30)
    for n in range(23):
        # Two touchpoints share each timestamp to prove the cursor breaks ties by id.
        touchpoint_record(customer=ana, kind="page.viewed", channel="web", stage="usage", source="test",
                          occurred_at=base + timedelta(hours=n // 2), properties={"n": n})
    seen: list[int] = []
    cursor = None
    while True:
        page = timeline_page(actor=agent_user, customer_id=ana.pk, cursor=cursor, limit=5)
        seen.extend(t.pk for t in page.items)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert len(seen) == len(set(seen)) == 23
    times = [Touchpoint.objects.get(pk=pk).occurred_at for pk in seen]
    assert times == sorted(times, reverse=True)
    assert stage_counts(customer_id=ana.pk)["usage"] == 23


def test_a_tampered_cursor_is_a_clear_error(ana, agent_user):
    with pytest.raises(ValidationFailed) as exc:
        timeline_page(actor=agent_user, customer_id=ana.pk, cursor="not-a-cursor!!")
    assert exc.value.fields == {"cursor": "malformed cursor"}
