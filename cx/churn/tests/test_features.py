"""Per-customer features are point in time: nothing after ``as_of`` leaks in."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cx.churn.features import SCHEMA, customer_features, feature_label
from cx.churn.services import training_set
from cx.churn.tests import builders as b

FIXTURES = Path(__file__).parent / "fixtures"
T = datetime(2026, 6, 1, 12, tzinfo=UTC)


def days(n: float) -> timedelta:
    return timedelta(days=n)


@pytest.mark.django_db
def test_features_use_only_what_happened_by_the_as_of_date(settings):
    settings.CXDESK_ORDER_EVENTS = ["Order Completed"]
    c = b.customer("Timeline")
    b.touchpoint(c, T - days(200), stage="onboarding")
    b.ticket(c, T - days(10), responded=T - days(10) + timedelta(hours=2), solved=T - days(9))
    b.ticket(c, T - days(5), responded=T + days(1))  # answered after as_of: a contact, still open, no FRT yet
    b.ticket(c, T + days(1))  # the future
    b.ticket(c, T - days(100), responded=T - days(100) + timedelta(hours=50), solved=T - days(99))  # too old
    b.ticket(c, T - days(20), responded=T - days(20) + timedelta(hours=6), solved=T - days(19),
             breached=[T - days(3), T + days(2)])  # one breach before as_of, one after
    b.touchpoint(c, T - days(2), kind="ticket.reopened", stage="support")
    b.touchpoint(c, T + days(1), kind="ticket.reopened", stage="advocacy")
    b.survey_answer(c, T - days(30), nps=9)
    b.survey_answer(c, T - days(1), nps=3)
    b.survey_answer(c, T + days(1), nps=10)
    b.survey_answer(c, T - days(20), csat=4)
    b.survey_answer(c, T - days(400), csat=1)  # older than a year
    b.order(c, T - days(20), 50)
    b.order(c, T - days(100), 70)
    b.order(c, T + days(1), 999)

    (row,) = customer_features(as_of=T, customer_ids=[c.pk])
    v = row.values
    assert v["contacts_90d"] == 3  # the tickets created 10, 5 and 20 days before
    assert v["median_first_response_hours"] == pytest.approx(4.0)  # median of 2 h and 6 h
    assert v["open_tickets"] == 1
    assert v["sla_breaches_90d"] == 1
    assert v["reopens_90d"] == 1
    assert v["last_nps"] == 3
    assert v["csat_avg"] == 4
    assert math.isnan(v["last_ces"])
    assert v["orders_90d"] == 1 and v["spend_90d"] == 50
    assert v["days_since_last_touchpoint"] == pytest.approx(2.0)  # the reopen 2 days before
    assert v["touchpoints_90d"] == 2  # the order 20 days before and the reopen
    assert v["tenure_days"] == pytest.approx(200)
    assert v["stage"] == "support"
    assert len(row.row()) == len(SCHEMA.columns)

    (earlier,) = customer_features(as_of=T - days(15), customer_ids=[c.pk])
    e = earlier.values  # 15 days earlier the 100-day-old ticket and order were 85 days old: inside the window
    assert e["contacts_90d"] == 2 and e["sla_breaches_90d"] == 0 and e["reopens_90d"] == 0
    assert e["median_first_response_hours"] == pytest.approx(28.0)  # median of 6 h and 50 h
    assert e["last_nps"] == 9 and e["orders_90d"] == 2 and e["spend_90d"] == 120 and e["csat_avg"] == 4


@pytest.mark.django_db
def test_training_rows_are_features_at_the_snapshot_labelled_at_as_of():
    stays, leaves, gone_before = b.customer("Stays"), b.customer("Leaves"), b.customer("Gone")
    snapshot = T - days(90)
    for c in (stays, leaves):
        b.touchpoint(c, snapshot - days(100))
        b.touchpoint(c, snapshot - days(1))
    b.touchpoint(stays, T - days(10))  # active after the snapshot: stayed
    b.ticket(leaves, snapshot - days(3), breached=[snapshot - days(2)])
    b.ticket(leaves, snapshot + days(5), breached=[snapshot + days(6)] * 2)  # after the snapshot: not a feature
    b.touchpoint(gone_before, snapshot - days(200))  # already churned at the snapshot: not a training row
    ids, X, y = training_set(as_of=T, horizon_days=90)
    assert ids == sorted([stays.pk, leaves.pk])
    labels = dict(zip(ids, y.tolist(), strict=True))
    assert labels == {stays.pk: 0, leaves.pk: 1}
    breaches = dict(zip(ids, X[:, SCHEMA.columns.index("sla_breaches_90d")].tolist(), strict=True))
    assert breaches == {stays.pk: 0, leaves.pk: 1}


def test_feature_labels_read_like_a_person_wrote_them():
    assert feature_label("sla_breaches_90d", 3.0) == "3 SLA breaches in 90 days"
    assert feature_label("sla_breaches_90d", 1.0) == "1 SLA breach in 90 days"
    assert feature_label("last_nps", 4.0) == "Last NPS 4 (detractor)"
    assert feature_label("median_first_response_hours", 0.5) == "Median first response 30 min"
    assert feature_label("days_since_last_touchpoint", 45.2) == "Last activity 45 days ago"
    assert feature_label("csat_avg", float("nan")) == "No CSAT answers in the last year"
    assert feature_label("stage", "support") == "Journey stage: Support"
    assert feature_label("spend_90d", 1234.5) == "Spent 1,234.50 in 90 days"
