import pytest

from cx.churn.selectors import ChurnReason, churn_risk_for, churn_risks_for, customers_at_risk
from cx.churn.services import churn_score_store
from cx.customers.services import customer_create


@pytest.mark.django_db
def test_store_and_read_back_a_score(admin_user):
    customer = customer_create(actor=admin_user, display_name="Ana")
    assert churn_risk_for(customer_id=customer.pk) is None
    churn_score_store(customer_id=customer.pk, probability=0.81, model_version="t1",
                      reasons=[ChurnReason("sla_breaches_90d", "2 SLA breaches in 90 days", 0.12)])
    risk = churn_risk_for(customer_id=customer.pk)
    assert risk.level == "high" and risk.reasons[0].label == "2 SLA breaches in 90 days"
    churn_score_store(customer_id=customer.pk, probability=0.2, model_version="t2")
    assert churn_risks_for(customer_ids=[customer.pk])[customer.pk].level == "low"
    assert customers_at_risk() == []
    with pytest.raises(ValueError):
        churn_score_store(customer_id=customer.pk, probability=1.5, model_version="t3")


@pytest.mark.django_db
def test_churn_outcomes_and_orders(admin_user, settings):
    from datetime import UTC, datetime, timedelta

    from cx.churn.selectors import churn_outcomes
    from cx.journeys.selectors import orders
    from cx.journeys.services import touchpoint_record

    settings.CXDESK_CHURN_INACTIVE_DAYS = 90
    now = datetime(2026, 6, 1, tzinfo=UTC)
    stays, sleeps, cancels, wins_back = (customer_create(actor=admin_user, display_name=n) for n in "ABCD")

    def event(customer, name, days_ago, **props):
        touchpoint_record(customer=customer, kind=name.lower().replace(" ", "_"), channel="web", stage="usage",
                          occurred_at=now - timedelta(days=days_ago), properties={"event": name, **props},
                          source="test")

    event(stays, "Order Completed", 10, total="19.5")
    event(sleeps, "Order Completed", 120, revenue=40)
    event(cancels, "Subscription Cancelled", 5)
    event(wins_back, "Subscription Cancelled", 30)
    event(wins_back, "Order Completed", 3, value="oops", amount=7)
    assert churn_outcomes(as_of=now) == {stays.pk: False, sleeps.pk: True, cancels.pk: True, wins_back.pk: False}
    assert churn_outcomes(as_of=now - timedelta(days=60), customer_ids=[sleeps.pk]) == {sleeps.pk: False}
    assert [(o.customer_id, o.amount) for o in orders()] == [(sleeps.pk, 40.0), (stays.pk, 19.5), (wins_back.pk, 7.0)]
    assert [o.customer_id for o in orders(since=now - timedelta(days=11))] == [stays.pk, wins_back.pk]
