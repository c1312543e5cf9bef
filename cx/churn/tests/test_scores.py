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
