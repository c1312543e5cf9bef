"""Measured outcome: contacted vs holdout goal rates with sample sizes and the difference's 95% interval."""

from datetime import timedelta

import pytest
from django.utils import timezone

from cx.journeys.services import touchpoint_record
from cx.playbooks.models import PlaybookRun, RunStatus
from cx.playbooks.outcomes import group_rate, uplift
from cx.playbooks.selectors import playbook_outcome


def test_newcombe_interval_matches_the_published_worked_example():
    # Newcombe (1998), Statistics in Medicine 17:873, example (a): 56/70 vs 48/80 -> 0.2000 (0.0524, 0.3339).
    result = uplift(contacted_reached=56, contacted_n=70, holdout_reached=48, holdout_n=80)
    assert result.difference == pytest.approx(20.0)
    assert result.ci_low == pytest.approx(5.24, abs=0.01)
    assert result.ci_high == pytest.approx(33.39, abs=0.01)
    assert result.significant


def test_empty_groups_give_no_rate_rather_than_zero():
    assert group_rate(0, 0).rate is None
    result = uplift(contacted_reached=3, contacted_n=10, holdout_reached=0, holdout_n=0)
    assert result.contacted.rate == pytest.approx(30.0) and result.difference is None and not result.significant
    with pytest.raises(ValueError):
        group_rate(5, 3)


@pytest.mark.django_db
def test_outcome_counts_each_customer_once_and_only_after_the_goal_window(make_customer, make_playbook):
    playbook = make_playbook(goal_event="Order Completed", goal_window_days=14)
    now = timezone.now()
    long_ago = now - timedelta(days=30)

    def exposed(status, ordered_after_days=None, when=long_ago, contacted=None):
        customer = make_customer()
        PlaybookRun.objects.create(playbook=playbook, customer=customer, status=status, trigger="event",
                                   trigger_key=f"k{customer.pk}", created_at=when,
                                   contacted=status == RunStatus.ACTED if contacted is None else contacted)
        if ordered_after_days is not None:
            touchpoint_record(customer=customer, kind="order_completed", channel="web", stage="purchase",
                              occurred_at=when + timedelta(days=ordered_after_days),
                              properties={"event": "Order Completed", "total": 30}, source="test")
        return customer

    for _ in range(3):
        exposed(RunStatus.ACTED, ordered_after_days=2)
    first = exposed(RunStatus.ACTED)
    PlaybookRun.objects.create(playbook=playbook, customer=first, status=RunStatus.THROTTLED, trigger="event",
                               trigger_key="again", created_at=long_ago + timedelta(days=1))
    exposed(RunStatus.ACTED, ordered_after_days=20)  # outside the 14-day window: not reached
    exposed(RunStatus.HELD_OUT, ordered_after_days=3)
    exposed(RunStatus.HELD_OUT)
    exposed(RunStatus.HELD_OUT)
    exposed(RunStatus.HELD_OUT)
    exposed(RunStatus.NOT_MATCHED, ordered_after_days=1)  # never exposed
    exposed(RunStatus.FAILED, contacted=False)  # nothing reached the customer: not exposed
    exposed(RunStatus.ACTED, when=now - timedelta(days=2))  # window still open
    exposed(RunStatus.HELD_OUT, when=now - timedelta(days=2))

    outcome = playbook_outcome(playbook=playbook, now=now)
    lift = outcome.uplift
    assert (lift.contacted.n, lift.contacted.reached) == (5, 3)
    assert (lift.holdout.n, lift.holdout.reached) == (4, 1)
    assert lift.difference == pytest.approx(60.0 - 25.0)
    assert lift.ci_low < lift.difference < lift.ci_high
    assert (outcome.pending_contacted, outcome.pending_holdout) == (1, 1)
    assert outcome.goal == "Order Completed within 14 days"


@pytest.mark.django_db
def test_not_churning_as_the_goal(make_customer, make_playbook):
    playbook = make_playbook(goal_kind="not_churned", goal_event="", goal_window_days=30)
    now = timezone.now()
    when = now - timedelta(days=40)
    stayed, left = make_customer(), make_customer()
    for customer in (stayed, left):
        PlaybookRun.objects.create(playbook=playbook, customer=customer, status=RunStatus.ACTED, contacted=True,
                                   trigger="event", trigger_key="k", created_at=when)
        touchpoint_record(customer=customer, kind="page.viewed", channel="web", stage="usage",
                          occurred_at=when - timedelta(days=1), properties={}, source="test")
    touchpoint_record(customer=left, kind="subscription_cancelled", channel="web", stage="usage",
                      occurred_at=when + timedelta(days=5), properties={"event": "Subscription Cancelled"},
                      source="test")
    outcome = playbook_outcome(playbook=playbook, now=now)
    assert (outcome.uplift.contacted.n, outcome.uplift.contacted.reached) == (2, 1)
    assert outcome.goal == "not churned 30 days later"
