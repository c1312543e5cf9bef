"""Training the in-product churn model: too little data, a real training run with reasons, the schedule, and
`cxdesk train churn` next to `cxdesk train intents` in the train registry."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from cx.churn.models import ChurnModelRun, ChurnScore, RunStatus
from cx.churn.selectors import churn_risk_for
from cx.churn.services import churn_model_train, churn_periodic_job
from cx.churn.tests import builders as b
from cx.core.errors import ValidationFailed
from cx.core.training import trainers

pytestmark = pytest.mark.django_db


def add_current_customers(now):
    """One customer with poor recent service and one with good service, both active now."""
    bad, good = b.customer("Bea Breached"), b.customer("Gus Good")
    for c in (bad, good):
        b.touchpoint(c, now - timedelta(days=250), stage="onboarding")
    created = now - timedelta(days=30)
    b.ticket(bad, created, responded=created + timedelta(hours=30), breached=[created + timedelta(hours=4)] * 3)
    b.survey_answer(bad, now - timedelta(days=28), nps=2)
    b.order(bad, now - timedelta(days=40), 30)
    b.touchpoint(bad, now - timedelta(days=2), stage="support")
    b.ticket(good, created, responded=created + timedelta(minutes=20), solved=created + timedelta(hours=3))
    b.survey_answer(good, now - timedelta(days=28), nps=10)
    for day in (5, 20, 35, 50, 70):
        b.order(good, now - timedelta(days=day), 120)
    b.touchpoint(good, now - timedelta(days=1), stage="usage")
    return bad, good


def test_too_little_data_is_a_clear_message_and_a_failed_run():
    now = timezone.now()
    b.population(now, customers=8)
    with pytest.raises(ValidationFailed, match="Too little data to train a churn model: 8 customers") as error:
        churn_model_train(trigger="command")
    assert error.value.code == "not_enough_data"
    run = ChurnModelRun.objects.get()
    assert run.status == RunStatus.FAILED and "At least 30 customers" in run.error and run.customers == 8
    with pytest.raises(CommandError, match="Too little data to train a churn model") as command_error:
        call_command("train", "churn")
    assert command_error.value.returncode == 2
    assert not ChurnScore.objects.exists()


def test_one_class_only_is_a_clear_message():
    now = timezone.now()
    for i in range(35):  # everyone stays
        c = b.customer(f"Loyal {i}")
        b.touchpoint(c, now - timedelta(days=200))
        b.touchpoint(c, now - timedelta(days=91))
        b.touchpoint(c, now - timedelta(days=3))
    with pytest.raises(ValidationFailed, match=r"35 customers \(0 churned, 35 stayed\)"):
        churn_model_train(trigger="command")


def test_train_command_trains_scores_and_explains_with_sensible_reasons():
    now = timezone.now()
    outcome = b.population(now, customers=80)
    bad, good = add_current_customers(now)
    out = io.StringIO()
    call_command("train", "churn", stdout=out)
    text = out.getvalue()
    run = ChurnModelRun.objects.get(status=RunStatus.READY)
    assert f"churn model {run.version} ready: {run.customers} customers" in text
    assert run.customers == 80 and 0 < run.churned < 80
    assert run.cv_auc is not None and run.cv_auc > 0.7
    assert run.scored >= 2 and f"scored {run.scored} active customers" in text
    assert {d["feature"] for d in run.drivers[:5]} & {"sla_breaches_90d", "last_nps", "orders_90d", "spend_90d",
                                                      "median_first_response_hours", "stage"}
    risky, safe = churn_risk_for(customer_id=bad.pk), churn_risk_for(customer_id=good.pk)
    assert risky.probability > safe.probability
    assert 0 <= safe.probability <= 1 and risky.model_version == run.version
    raising = [r for r in risky.reasons if r.effect > 0]
    assert raising and raising == sorted(raising, key=lambda r: -r.effect)
    labels = " | ".join(r.label for r in raising)
    assert any(key in labels for key in ("3 SLA breaches in 90 days", "Last NPS 2 (detractor)", "1 order in 90 days",
                                         "Median first response 30.0 h", "Spent 30.00 in 90 days")), labels
    assert all(r.effect < 0 for r in risky.reasons[len(raising):])
    # Customers who have churned by now are not scored.
    churned = [cid for cid, gone in outcome.items() if gone]
    assert churned and not ChurnScore.objects.filter(customer_id__in=churned).exists()
    assert ChurnScore.objects.filter(customer_id__in=[cid for cid, gone in outcome.items() if not gone]).exists()


def test_the_schedule_retrains_when_due_and_rescores_otherwise(django_capture_on_commit_callbacks):
    now = timezone.now()
    b.population(now, customers=60)
    with django_capture_on_commit_callbacks(execute=True):
        assert churn_periodic_job(now) == "queued"
    run = ChurnModelRun.objects.get()
    assert run.status == RunStatus.READY and run.trigger == "schedule" and run.scored > 0
    ChurnScore.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        assert churn_periodic_job(now + timedelta(days=1)) == "rescoring"
    assert ChurnScore.objects.count() == run.scored
    with django_capture_on_commit_callbacks(execute=True):
        assert churn_periodic_job(now + timedelta(days=8)) == "queued"
    assert ChurnModelRun.objects.filter(status=RunStatus.READY).count() == 2


def test_the_schedule_skips_with_the_reason_when_data_is_too_thin():
    b.population(timezone.now(), customers=4)
    assert churn_periodic_job(timezone.now()).startswith("skipped: Too little data to train a churn model")
    assert not ChurnModelRun.objects.exists()


def test_train_registry_has_both_trainers_and_a_help_per_trainer():
    assert [t.name for t in trainers()][:2] == ["churn", "intents"]
    out = io.StringIO()
    with pytest.raises(SystemExit):
        call_command("train", "churn", "--help", stdout=out)
    with pytest.raises(CommandError, match="--horizon-days must be between 7 and 730"):
        call_command("train", "churn", "--horizon-days", "2")


def test_demo_seed_explains_thin_data_and_is_idempotent():
    from cx.churn.services import demo_seed

    b.population(timezone.now(), customers=3)
    assert demo_seed().startswith("Churn model not trained: Too little data to train a churn model: 3 customers")
    run = ChurnModelRun.objects.get()
    assert run.status == RunStatus.FAILED and run.trigger == "demo"
    ready = ChurnModelRun.objects.create(status=RunStatus.READY, trigger="demo", finished_at=timezone.now())
    assert demo_seed() == f"Churn model {ready.version} already trained."
    assert ChurnModelRun.objects.count() == 2
