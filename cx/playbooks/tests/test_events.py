"""Event-driven playbooks end to end through the services: tracked events in through the Tracking API, the
loader puts them on the timeline, the evaluation acts once, throttles the next burst, and leaves the holdout
group alone — every run audited."""

import base64
import json
import uuid

import pytest
from django.core import mail
from django.test import Client

from cx.playbooks.models import EvaluationCursor, PlaybookRun, PlaybookSettings, RunStatus
from cx.playbooks.services import in_holdout, playbooks_process_events
from cx.tickets.models import Ticket
from cx.tracking.loader import load_all


def _send(key, *messages):
    body = json.dumps({"batch": list(messages)}).encode()
    auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    response = Client().generic("POST", "/v1/batch", body, content_type="application/json",
                                headers={"Authorization": auth})
    assert response.status_code == 200, response.content


def _identify(key, customer, user_id):
    _send(key, {"type": "identify", "userId": user_id, "messageId": uuid.uuid4().hex,
                "traits": {"email": customer.identities.first().value}})


def _checkout_failed(key, user_id, times=1):
    _send(key, *[{"type": "track", "userId": user_id, "event": "checkout_failed", "messageId": uuid.uuid4().hex,
                  "properties": {"reason": "card_declined"}} for _ in range(times)])


def _load_and_evaluate(capture):
    load_all()
    with capture(execute=True):
        return playbooks_process_events()


@pytest.mark.django_db
def test_checkout_failed_twice_opens_an_outreach_ticket_and_emails_once_then_throttles(
        source, make_customer, make_playbook, agent_user, django_capture_on_commit_callbacks):
    playbook = make_playbook(owner_id=agent_user.pk)
    customer = make_customer("Bea Buyer", "bea@example.com")
    _identify(source.write_key, customer, "user-bea")

    _checkout_failed(source.write_key, "user-bea")
    _load_and_evaluate(django_capture_on_commit_callbacks)
    first = PlaybookRun.objects.get(playbook=playbook, customer=customer)
    assert first.status == RunStatus.NOT_MATCHED
    assert "checkout_failed 1 times in 24 h" in first.reason
    assert not Ticket.objects.filter(requester=customer).exists()

    _checkout_failed(source.write_key, "user-bea")
    _load_and_evaluate(django_capture_on_commit_callbacks)
    acted = PlaybookRun.objects.get(playbook=playbook, customer=customer, status=RunStatus.ACTED)
    assert acted.contacted and [r["type"] for r in acted.results] == ["create_ticket", "send_email"]
    outreach = Ticket.objects.get(pk=acted.results[0]["ticket_id"])
    assert outreach.assignee_id == agent_user.pk and outreach.subject == "Checkout trouble: Bea Buyer"
    assert {"playbook", "outreach"} <= set(outreach.tags.values_list("name", flat=True))
    assert outreach.messages.get().visibility == "internal"
    sent = [m for m in mail.outbox if "bea@example.com" in m.to]
    assert len(sent) == 1 and "Can we help?" in sent[0].subject and "Hi Bea" in sent[0].body

    # A second burst within the 7-day cooldown matches again but is throttled: nothing new goes out.
    _checkout_failed(source.write_key, "user-bea", times=2)
    _load_and_evaluate(django_capture_on_commit_callbacks)
    throttled = PlaybookRun.objects.filter(playbook=playbook, customer=customer, status=RunStatus.THROTTLED).get()
    assert "at most once per 7 day(s)" in throttled.reason
    assert Ticket.objects.filter(requester=customer).count() == 2  # outreach + email ticket, no more
    assert len([m for m in mail.outbox if "bea@example.com" in m.to]) == 1

    # Evaluating again changes nothing: the cursor moved on and every trigger runs once.
    assert playbooks_process_events() == 0
    assert PlaybookRun.objects.filter(playbook=playbook).count() == 3


@pytest.mark.django_db
def test_holdout_customers_match_but_are_never_contacted(source, make_customer, make_playbook,
                                                         django_capture_on_commit_callbacks):
    playbook = make_playbook(holdout_percent=50)
    customers = [make_customer() for _ in range(8)]
    held = [c for c in customers if in_holdout(playbook_id=playbook.pk, customer_id=c.pk, percent=50)]
    contacted = [c for c in customers if c not in held]
    assert held and contacted  # 8 customers at 50%: both groups are (deterministically) non-empty
    for index, customer in enumerate(customers):
        _identify(source.write_key, customer, f"user-{index}")
        _checkout_failed(source.write_key, f"user-{index}", times=2)
    _load_and_evaluate(django_capture_on_commit_callbacks)

    for customer in held:
        run = PlaybookRun.objects.get(playbook=playbook, customer=customer)
        assert run.status == RunStatus.HELD_OUT and not run.contacted and run.results == []
        assert "holdout group" in run.reason
        assert not Ticket.objects.filter(requester=customer).exists()
    for customer in contacted:
        assert PlaybookRun.objects.get(playbook=playbook, customer=customer).status == RunStatus.ACTED
    held_emails = {c.identities.first().value for c in held}
    assert not [m for m in mail.outbox if set(m.to) & held_emails]
    # The assignment is stable: the same customer is always in the same group.
    assert all(in_holdout(playbook_id=playbook.pk, customer_id=c.pk, percent=50) for c in held)


@pytest.mark.django_db
def test_the_global_cap_throttles_across_playbooks(source, make_customer, make_playbook,
                                                   django_capture_on_commit_callbacks):
    PlaybookSettings.objects.create(max_contacts=1, window_days=7)
    make_playbook(actions=[{"type": "tag_customer", "tags": ["checkout-trouble"]}])
    make_playbook(name="Second", actions=[{"type": "tag_customer", "tags": ["second"]}])
    customer = make_customer()
    _identify(source.write_key, customer, "u1")
    _checkout_failed(source.write_key, "u1", times=2)
    _load_and_evaluate(django_capture_on_commit_callbacks)
    statuses = sorted(PlaybookRun.objects.filter(customer=customer).values_list("status", flat=True))
    assert statuses == [RunStatus.ACTED, RunStatus.THROTTLED]
    assert "global cap" in PlaybookRun.objects.get(customer=customer, status=RunStatus.THROTTLED).reason


@pytest.mark.django_db
def test_history_before_the_playbook_existed_never_triggers_it(source, make_customer, make_playbook,
                                                                django_capture_on_commit_callbacks):
    customer = make_customer()
    _identify(source.write_key, customer, "u1")
    _checkout_failed(source.write_key, "u1", times=2)
    load_all()
    playbook = make_playbook()
    assert EvaluationCursor.objects.get().position > 0
    assert playbooks_process_events() == 0
    assert not PlaybookRun.objects.filter(playbook=playbook).exists()


@pytest.mark.django_db
def test_old_not_matched_runs_are_pruned_and_matched_runs_kept(make_customer, make_playbook):
    from datetime import timedelta

    from django.utils import timezone

    from cx.core.periodic import run_due_jobs

    playbook = make_playbook()
    customer = make_customer()
    old = timezone.now() - timedelta(days=40)
    for status in (RunStatus.NOT_MATCHED, RunStatus.ACTED):
        PlaybookRun.objects.create(playbook=playbook, customer=customer, status=status, trigger="event",
                                   trigger_key=status, created_at=old)
    PlaybookRun.objects.create(playbook=playbook, customer=customer, status=RunStatus.NOT_MATCHED, trigger="event",
                               trigger_key="recent", created_at=timezone.now())
    assert "playbooks.prune" in run_due_jobs(only={"playbooks.prune"})
    assert sorted(PlaybookRun.objects.values_list("trigger_key", flat=True)) == ["acted", "recent"]
